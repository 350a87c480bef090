"""Every ```python block in README.md runs as written (in order, in a scratch folder)."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_python_blocks_run_in_order(tmp_path, monkeypatch):
    assert len(BLOCKS) >= 3
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}  # later blocks may use names earlier ones defined, as a reader's would
    for index, block in enumerate(BLOCKS):
        try:
            exec(compile(block, f"README python block {index}", "exec"), namespace)
        except Exception:  # noqa: BLE001 - report which block broke, with its traceback
            raise AssertionError(
                f"README python block {index} failed:\n{block}\n{traceback.format_exc()}"
            ) from None

"""toolkit._imports: jsonschema without its iri grammar, in a fresh interpreter."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

SCRIPT = """
import sys
from toolkit._imports import load_jsonschema
load_jsonschema()
import jsonschema
from ema_workbench.analysis import prim  # imports Altair, which imports jsonschema
print("rfc3987_syntax" in sys.modules, jsonschema.validators is not None, hasattr(prim, "Prim"))
"""


def test_jsonschema_is_imported_without_the_iri_grammar():
    """The grammar's package is not imported, the placeholder is gone, and jsonschema and
    PRIM (through Altair) still import; without the call the package would load."""
    if importlib.util.find_spec("rfc3987_syntax") is None:
        pytest.skip("rfc3987_syntax is not installed: nothing to leave out")
    run = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", SCRIPT], capture_output=True, text=True, check=True
    )
    assert run.stdout.split() == ["False", "True", "True"]
    plain = SCRIPT.replace("load_jsonschema()", "pass")
    run = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", plain], capture_output=True, text=True, check=True
    )
    assert run.stdout.split()[0] == "True"  # so the check above can fail

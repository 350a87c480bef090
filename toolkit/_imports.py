"""Third-party imports done the toolkit's way, where the plain import costs seconds for
nothing the toolkit uses."""

from __future__ import annotations

import sys
import threading

__all__ = ["load_jsonschema"]

_LOCK = threading.Lock()  # a run loads the exporter in a second thread


def load_jsonschema() -> None:
    """Import jsonschema without its optional ``iri`` format check.

    When ``rfc3987_syntax`` is installed (jupyterlab brings it), importing jsonschema
    compiles 38 lark grammars for the ``iri``/``iri-reference`` formats: 1 s on a quiet
    machine, several under load, in every process that imports it. Nothing the toolkit
    validates uses such a format: nbformat's notebook schema (the host reading a notebook)
    and Altair, which EMA Workbench's PRIM imports (``sensitivity.sign_boxes``, in a study's
    kernel) and which validates without format checks. So jsonschema is imported with that
    one optional checker left out, as if the package were absent; a jsonschema already
    imported in this process is left as it is.
    """
    with _LOCK:
        if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
            return
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import -> ImportError
        try:
            import jsonschema  # noqa: F401
        finally:
            del sys.modules["rfc3987_syntax"]

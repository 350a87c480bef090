"""Course tools: student versions, executing and rendering the notebooks, the teaching index, figure alt text."""

from __future__ import annotations

import ast
import copy
import html
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.teaching.examples import COURSE_AUDIENCE, TEACHING_NOTEBOOKS, toolkit_api

# --------------------------------------------------------------------------- course tools

SOLUTION_TAG = "solution"
CHECK_TAG = "check"
ANSWER_TAG = "answer"


def _write_atomic(path: Path, text: str) -> None:
    from toolkit._io import replace_text

    replace_text(path, text)


def _notebooks(source: str | os.PathLike) -> list[Path]:
    tk = toolkit_api()
    src = Path(source)
    if not src.is_dir():
        raise tk.InvalidParameterError(
            f"The 'source' parameter of rmt teaching must be a folder of notebooks; got "
            f"{str(src)!r}, which is not a folder."
        )
    found = sorted(p for p in src.glob("*.ipynb") if not p.name.startswith("_"))
    if not found:
        raise tk.InvalidParameterError(
            f"The 'source' parameter of rmt teaching must be a folder of notebooks; "
            f"{str(src)!r} has no .ipynb file."
        )
    return found


def _check_out(out: str | os.PathLike, source: Path) -> Path:
    tk = toolkit_api()
    path = Path(out)
    try:
        is_file = path.exists() and not path.is_dir()
        same = path.resolve() == source.resolve()
    except OSError as exc:  # a name longer than the file system allows, a loop of links
        import errno

        why = (
            f"its name is {len(str(path)):,} characters long, more than the file system allows"
            if exc.errno == errno.ENAMETOOLONG
            else (exc.strerror or type(exc).__name__).lower()
        )
        raise tk.OutputPathError(
            f"The output folder {str(path)[:300]!r} cannot be used: {why}."
        ) from None
    if is_file:
        raise tk.OutputPathError(f"The output folder {str(path)!r} is an existing file.")
    if same:
        raise tk.OutputPathError(
            f"The output folder {str(path)!r} is the source folder; "
            "choose another so the solutions are not overwritten."
        )
    return path


def assigned_names(source: str) -> list[str]:
    """Top-level names a cell assigns, in order (what its blank version must define).

    >>> assigned_names("x = 1\\ny, z = 2, 3\\nanswer: float = 0.5\\nprint(x)")
    ['x', 'y', 'z', 'answer']
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []

    def collect(target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            names.append(target.id)
        elif isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                collect(elt)

    for node in tree.body:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                collect(t)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            collect(node.target)
    return list(dict.fromkeys(names))


def blank_source(source: str) -> str:
    """The student's version of a solution cell: its answer names set to ``...``.

    Answer names start with ``answer`` or ``my_``; a cell with none blanks every name it
    assigns (helper names such as ``a`` and ``b`` are the student's own business).

    >>> print(blank_source("a = 1\\nanswer_1 = a + 1"))
    # Your turn: replace each ... with your answer, then run this cell.
    answer_1 = ...
    """
    names = assigned_names(source)
    answers = [n for n in names if n.startswith(("answer", "my_"))]
    names = answers or names or ["answer"]
    lines = ["# Your turn: replace each ... with your answer, then run this cell."]
    lines += [f"{name} = ..." for name in names]
    return "\n".join(lines)


def student_version(nb: Any) -> Any:
    """A copy of notebook ``nb`` with solution cells blanked and every output removed."""
    from toolkit._imports import load_jsonschema

    load_jsonschema()
    import nbformat

    out = copy.deepcopy(nb)
    cells = []
    for cell in out.cells:
        tags = list(cell.get("metadata", {}).get("tags", []))
        if SOLUTION_TAG in tags:
            new = nbformat.v4.new_code_cell(blank_source(cell.source))
            new.metadata["tags"] = [t for t in tags if t != SOLUTION_TAG] + [ANSWER_TAG]
            cell = new
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i}"
    out.cells = cells
    return out


def build_student_versions(
    source: str | os.PathLike = TEACHING_NOTEBOOKS, out: str | os.PathLike = "build/teaching"
) -> list[Path]:
    """Write a student version of every notebook in ``source`` into ``out``.

    Solution cells (tagged ``solution``) become blank answer cells; outputs are removed.
    The instructor guide is not copied (it discusses the solutions). Files are written to
    a temporary name and renamed. Returns the paths written.
    """
    from toolkit._imports import load_jsonschema

    load_jsonschema()
    import nbformat

    from toolkit._io import staged_folder

    notebooks = _notebooks(source)
    target = _check_out(out, Path(source))
    written = []
    # All files go to a temporary folder made first (an unwritable place is refused
    # before any notebook is read) and move into place together.
    with staged_folder(target) as stage:
        for path in notebooks:
            nb = nbformat.read(path, as_version=4)
            student = student_version(nb)
            nbformat.validate(student)
            _write_atomic(stage / path.name, nbformat.writes(student))
            written.append(target / path.name)
    return written


def execute_notebook(path: str | os.PathLike, *, timeout: int = 300, nb: Any = None) -> Any:
    """Run a notebook top to bottom in a fresh kernel (working folder: its own folder).

    The kernel starts through :func:`toolkit.runs.kernel.execute_notebook`, as study
    kernels do; its figures carry alt text (:func:`use_alt_text`)."""
    from toolkit.runs.kernel import execute_notebook as run_in_kernel

    return run_in_kernel(path, timeout=timeout, nb=nb, setup=_ALT_TEXT_SETUP)


_ALT_TEXT_SETUP = "__import__('toolkit.teaching').teaching.use_alt_text()"


def figure_alt_text(fig: Any) -> str:
    """Alt text for a figure: the text a toolkit plot attached, else one built from its
    titles, axis labels and legend entries (what a sighted reader reads first).

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [1, 2], label="weekly"); _ = ax.legend()
    >>> _ = ax.set(title="Quality by week", xlabel="week", ylabel="quality")
    >>> figure_alt_text(fig)
    'Chart: Quality by week; x axis week, y axis quality; series weekly.'
    >>> plt.close(fig)
    """
    from toolkit.plots import alt_text

    given = alt_text(fig)
    if given:
        return given
    parts = []
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text():
        parts.append(suptitle.get_text())
    for ax in fig.get_axes():
        bits = []
        if ax.get_title():
            bits.append(ax.get_title())
        axes = [
            f"{k} axis {lab}" for k, lab in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())) if lab
        ]
        if axes:
            bits.append(", ".join(axes))
        legend = ax.get_legend()
        if legend is not None:
            labels = [t.get_text() for t in legend.get_texts() if t.get_text()]
            if labels:
                bits.append("series " + ", ".join(labels))
        if bits:
            parts.append("; ".join(bits))
    return ("Chart: " + "; ".join(parts) + ".") if parts else "Chart without title or labels."


def use_alt_text() -> None:
    """In a running IPython kernel, show every matplotlib figure as an ``<img>`` with alt
    text (:func:`figure_alt_text`) besides the plain PNG, so rendered pages are readable
    with a screen reader. Called by :func:`execute_notebook` before the first cell."""
    from IPython import get_ipython
    from matplotlib.figure import Figure

    from toolkit.report import figure_html

    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["text/html"]

    def register() -> None:
        formatter.for_type(Figure, lambda fig: figure_html(fig, "", figure_alt_text(fig)))

    # Activating the inline backend drops every Figure formatter, so register again after
    # each cell, before the backend shows the cell's figures (it registers later).
    register()
    shell.events.register("post_execute", register)


def course_sessions(source: str | os.PathLike = TEACHING_NOTEBOOKS) -> dict[int, int]:
    """Session number -> minutes, read from the instructor guide's "### Session N: ... (M min)".

    >>> course_sessions()[1]
    90
    """
    import re

    guide = Path(source) / "README.md"
    if not guide.is_file():
        return {}
    found = re.findall(
        r"^### Session (\d+):.*\((\d+) min\)", guide.read_text(encoding="utf-8"), flags=re.MULTILINE
    )
    return {int(k): int(m) for k, m in found}


def render_notebooks(
    source: str | os.PathLike = TEACHING_NOTEBOOKS,
    out: str | os.PathLike = "reports/teaching",
    *,
    timeout: int = 300,
) -> list[tuple[Path, float]]:
    """Execute every notebook of ``source`` and write it as HTML into ``out``.

    Also writes ``index.html``, laid out like the study index: each session's title,
    audience and duration, a warning that the pages include the solutions, and a link
    back to the studies. Returns ``(html path, seconds to execute)`` for each notebook.
    Nothing is written for a notebook that fails: its error propagates.
    """
    from toolkit._imports import load_jsonschema

    load_jsonschema()
    from nbconvert import HTMLExporter

    from toolkit.report import page

    notebooks = _notebooks(source)
    target = _check_out(out, Path(source))
    # The "basic" template is cells only: no CDN require.js, MathJax, web fonts or widget
    # manager, so the page opens offline and asks no outside host for anything (widgets
    # show their static fallback figure).
    exporter = HTMLExporter(template_name="basic", embed_images=True)
    done = []
    from toolkit._io import staged_folder

    # The temporary folder is made before any kernel starts (an unwritable place is
    # refused first); the pages move into place only when every notebook has run.
    with staged_folder(target) as stage:
        for path in notebooks:
            start = time.perf_counter()
            nb = _execute_or_refuse(path, timeout)
            seconds = time.perf_counter() - start
            body, _ = exporter.from_notebook_node(nb)
            footer = (
                '<a href="index.html">All teaching notebooks</a>. Generated by the '
                "reverse-mentoring toolkit; numbers are simulated."
            )
            _write_atomic(
                stage / f"{path.stem}.html", page(_title(path), body, footer, notebook=True)
            )
            done.append((target / f"{path.stem}.html", seconds))
        _write_atomic(
            stage / "index.html",
            teaching_index(
                [(dest, src) for (dest, _), src in zip(done, notebooks, strict=True)], source
            ),
        )
    return done


def _execute_or_refuse(path: Path, timeout: int) -> Any:
    """Execute one notebook; a failing cell or a time-out becomes one sentence (CLI exit 1)."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from toolkit.errors import StudyExecutionError
    from toolkit.runs.kernel import cell_location

    try:
        return execute_notebook(path, timeout=timeout)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        raise StudyExecutionError(
            f"The teaching notebook {path.name} failed in {cell_location(exc)}; no page was written."
        ) from None


def teaching_index(
    pages: Sequence[tuple[Path, Path]], source: str | os.PathLike = TEACHING_NOTEBOOKS
) -> str:
    """The teaching index page: one section per notebook (title, audience, duration), a
    warning that the pages include the solutions, and a link back to the study index."""
    import re

    from toolkit.report import page

    esc = html.escape
    minutes = course_sessions(source)
    items = []
    for dest, src in pages:
        number = re.match(r"(\d+)", src.name)
        length = minutes.get(int(number.group(1))) if number else None
        duration = f"{length} minutes" if length else "one session"
        items.append(
            f'<section class="study"><h2><a href="{esc(dest.name)}">'
            f"{esc(_title(src))}</a></h2><p><strong>Audience.</strong> "
            f"{esc(COURSE_AUDIENCE)}. <strong>Duration.</strong> {esc(duration)}."
            "</p></section>"
        )
    body = (
        "<h1>Teaching notebooks: a short course on mentoring design</h1>"
        '<p class="warning"><strong>These pages include the solutions.</strong> They are '
        "for instructors and for reading after class; hand students the versions made by "
        "<code>rmt teaching build</code>, whose answer cells are blank.</p>"
        + "".join(items)
        + '<p><a href="../index.html">Back to the design studies</a></p>'
    )
    return page("Teaching notebooks", body)


def _title(path: Path) -> str:
    from toolkit._imports import load_jsonschema

    load_jsonschema()
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem

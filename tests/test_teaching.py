"""Teaching notebooks: solutions run and pass their checks, student versions fail them,
widgets and static fallbacks work without a browser, and bad answers get a sentence."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from toolkit import ProgramDesign
from toolkit.cli import app
from toolkit.teaching import (
    EXERCISES,
    assigned_names,
    blank_source,
    build_student_versions,
    check_answer,
    execute_notebook,
    explore_policies,
    explore_program,
    explore_weights,
    show_policies,
    show_program,
    show_weights,
    student_version,
    try_design,
)

ROOT = Path(__file__).resolve().parents[1]
TEACHING = ROOT / "toolkit" / "data" / "teaching"
NOTEBOOKS = sorted(TEACHING.glob("*.ipynb"))
PRACTICE_POINTS = (
    "match on expertise, goals, personality and interests",
    "clear expectations on meeting frequency",
    "mentee-led conversations with agendas",
    "regular check-ins",
    "evaluate and adjust",
    "celebrate success",
)


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
        parts.append(out.get("text", ""))
        parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(p for p in parts if p).strip()


# --------------------------------------------------------------------------- structure


def test_six_notebooks_in_course_order():
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_", "05_", "06_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_solution_notebook_is_stripped_and_shaped_for_teaching(path):
    nb = _read(path)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "outputs in git"
    first, last = nb.cells[0].source, nb.cells[-1].source
    assert first.startswith("# ") and "Learning objectives" in first
    assert "## Takeaway" in last
    solutions = [i for i, c in enumerate(nb.cells) if "solution" in _tags(c)]
    checks = [i for i, c in enumerate(nb.cells) if "check" in _tags(c)]
    assert solutions and checks
    # every solution is followed by a check before the next solution
    for a, b in zip(solutions, [*solutions[1:], len(nb.cells)], strict=True):
        assert any(a < i < b for i in checks), f"solution cell {a} has no check cell after it"
    # notebooks use the public API only
    for c in code:
        for node in ast.walk(ast.parse(c.source)):
            if isinstance(node, ast.ImportFrom):
                public = (
                    "toolkit",
                    "toolkit.teaching",
                    *(f"toolkit.{m}" for m in __import__("toolkit").PUBLIC_MODULES),
                )
                assert node.module in public or not node.module.startswith("toolkit"), node.module
                assert not any(a.name.startswith("_") for a in node.names)


def test_every_practice_point_is_taught():
    text = (
        " ".join(c.source for p in NOTEBOOKS for c in _read(p).cells if c.cell_type == "markdown")
        .lower()
        .replace("\n", " ")
    )
    missing = [p for p in PRACTICE_POINTS if p not in text]
    assert not missing


def test_notebook_exercise_keys_exist():
    used = set()
    for path in NOTEBOOKS:
        for cell in _read(path).cells:
            if "check" in _tags(cell):
                call = ast.parse(cell.source).body[0].value
                used.add(call.args[0].value)
    assert used == set(EXERCISES)


# --------------------------------------------------------------------------- execution


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_solution_notebook_runs_and_every_check_passes(path):
    nb = execute_notebook(path, timeout=240)
    checks = [c for c in nb.cells if "check" in _tags(c)]
    for cell in checks:
        text = _output_text(cell)
        assert text.startswith("Correct!"), f"{cell.source!r} said {text!r}"
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.get("output_type") == "error"
    ]
    assert not errors
    # the static fallback: each interactive notebook draws a figure without a widget
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    assert "data:image/png;base64" in html
    if any("explore_" in c.source for c in nb.cells if c.cell_type == "code"):
        fallback = [
            c
            for c in nb.cells
            if c.cell_type == "code" and "show_" in c.source and "import" not in c.source
        ]
        assert fallback and any(
            o.get("data", {}).get("image/png") for c in fallback for o in c.outputs
        )


@pytest.mark.slow
def test_student_notebook_runs_end_to_end_and_its_checks_fail(tmp_path):
    build_student_versions(TEACHING, tmp_path)
    path = tmp_path / "05_design_your_own_program.ipynb"
    nb = execute_notebook(path, timeout=240)
    checks = [c for c in nb.cells if "check" in _tags(c)]
    assert checks
    for cell in checks:
        assert _output_text(cell).startswith("Not yet"), _output_text(cell)


# --------------------------------------------------------------------------- student versions


def test_student_versions_have_no_solutions_and_blank_answers_fail(tmp_path):
    result = CliRunner().invoke(
        app, ["teaching", "build", "--source", str(TEACHING), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        solution = _read(path)
        student = _read(tmp_path / path.name)
        nbformat.validate(student)
        assert not [c for c in student.cells if "solution" in _tags(c)]
        hidden = [c.source for c in solution.cells if "solution" in _tags(c)]
        sources = "\n".join(c.source for c in student.cells)
        for text in hidden:
            for line in text.splitlines():
                if "=" in line and not line.rstrip().endswith("= ..."):
                    assert line not in sources, f"solution line leaked: {line!r}"
        answers = [c for c in student.cells if "answer" in _tags(c)]
        assert len(answers) == len(hidden)
        # run the blank answer cells and the check cells: every check must say "Not yet"
        namespace = {"check_answer": check_answer, "ProgramDesign": ProgramDesign}
        for cell in student.cells:
            if "answer" in _tags(cell):
                exec(cell.source, namespace)  # noqa: S102 - the cell is our own notebook
            elif "check" in _tags(cell):
                feedback = eval(cell.source, namespace)  # noqa: S307
                assert feedback.correct is False
                assert feedback.message.startswith("Not yet"), feedback.message


def test_student_version_keeps_tags_and_strips_outputs():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# T"),
            nbformat.v4.new_code_cell(
                "x = 1\nanswer, other = x, 2", metadata={"tags": ["solution"]}
            ),
            nbformat.v4.new_code_cell(
                "check_answer('nb1_q3', answer)", metadata={"tags": ["check"]}
            ),
        ]
    )
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="Correct!")]
    out = student_version(nb)
    nbformat.validate(out)
    assert out.cells[1].source.splitlines()[1:] == ["answer = ..."]
    assert _tags(out.cells[1]) == ["answer"]
    assert out.cells[2].outputs == []
    assert nb.cells[1].source.startswith("x = 1")  # the original is untouched


def test_blank_source_of_a_cell_without_answer_names():
    assert assigned_names("print(1)") == []
    assert blank_source("print(1)").splitlines()[-1] == "answer = ..."
    assert blank_source("x = 1\ny, z = 2, 3").splitlines()[1:] == ["x = ...", "y = ...", "z = ..."]


def test_build_refuses_bad_folders(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(
        app, ["teaching", "build", "--source", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]
    )
    assert missing.exit_code == 2 and "not a folder" in missing.output
    same = runner.invoke(
        app, ["teaching", "build", "--source", str(TEACHING), "--out", str(TEACHING)]
    )
    assert same.exit_code == 2 and "source folder" in same.output
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(
        app,
        ["teaching", "render", "--source", str(tmp_path / "empty"), "--out", str(tmp_path / "o")],
    )
    assert empty.exit_code == 2 and "no .ipynb" in empty.output
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_render_writes_html_and_index(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# A tiny lesson"),
            nbformat.v4.new_code_cell("print(6 * 7)"),
            nbformat.v4.new_code_cell(
                "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\n"
                "_ = ax.plot([1, 2], label='weekly'); _ = ax.legend()\n"
                "_ = ax.set(title='Quality by week', xlabel='week')"
            ),
        ]
    )
    nbformat.write(nb, src / "01_tiny.ipynb")
    (src / "README.md").write_text("# Guide\n\n### Session 1: A tiny lesson (45 min)\n")
    result = CliRunner().invoke(
        app, ["teaching", "render", "--source", str(src), "--out", str(tmp_path / "html")]
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "html" / "01_tiny.html").read_text()
    assert "42" in page
    # the figure has real alt text, not nbconvert's placeholder
    assert 'alt="Chart: Quality by week; x axis week; series weekly."' in page
    assert "No description has been provided" not in page
    index = (tmp_path / "html" / "index.html").read_text()
    assert "01_tiny.html" in index and "A tiny lesson" in index
    # laid out like the study index: audience, duration, the solutions warning, a way back
    from toolkit.report import PAGE_CSS

    assert PAGE_CSS in index and '<section class="study">' in index
    assert "Audience." in index and "45 minutes" in index
    assert "These pages include the solutions." in index
    assert '<a href="../index.html">' in index


def test_course_sessions_come_from_the_instructor_guide():
    from toolkit.teaching import COURSE_AUDIENCE, course_sessions

    assert course_sessions(TEACHING) == {k: 90 for k in range(1, 7)}
    guide = " ".join((TEACHING / "README.md").read_text().split())
    assert (
        "HR and L&D courses, organisational-behaviour classes and coordinators in training" in guide
        and COURSE_AUDIENCE.startswith("HR and L&D courses")
    )


def test_teaching_commands_default_to_the_notebooks_shipped_in_the_package(tmp_path, monkeypatch):
    """`rmt teaching build` works from any folder: the notebooks are package data."""
    from toolkit.teaching import TEACHING_NOTEBOOKS

    assert TEACHING_NOTEBOOKS == TEACHING
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["teaching", "build", "--out", "student"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "student").iterdir()) == [p.name for p in NOTEBOOKS]


# --------------------------------------------------------------------------- checks

NUMERIC = [k for k, e in EXERCISES.items() if e.kind in ("number", "count")]
BAD_ANSWERS = [
    "text",
    [1, 2],
    {"a": 1},
    pd.DataFrame({"a": [1, 2]}),
    np.array([1.0, 2.0]),
    object(),
    float("nan"),
    True,
    3 + 2j,
]


@pytest.mark.parametrize("key", list(EXERCISES))
@pytest.mark.parametrize("bad", BAD_ANSWERS, ids=lambda b: type(b).__name__)
def test_wrong_type_or_shape_gets_a_friendly_sentence(key, bad):
    if bad is True and EXERCISES[key].kind == "yes_no":
        pytest.skip("True is a valid yes/no answer")
    feedback = check_answer(key, bad)
    assert feedback.correct is False
    assert feedback.message.startswith("Not yet:")
    assert "Traceback" not in feedback.message and "Hint:" in feedback.message


@pytest.mark.parametrize("key", list(EXERCISES))
@pytest.mark.parametrize("blank", [..., None, "  "], ids=["ellipsis", "none", "empty"])
def test_blank_answers_fail(key, blank):
    feedback = check_answer(key, blank)
    assert not feedback and feedback.message.startswith("Not yet: there is no answer")


@pytest.mark.parametrize("key", NUMERIC)
def test_numeric_checks_accept_the_computed_value_and_reject_others(key):
    ex = EXERCISES[key]
    right = ex.value()
    assert check_answer(key, right).correct
    assert check_answer(key, np.float64(right)).correct  # numpy numbers are fine
    if ex.share:  # a share stays in [0, 1] so the check sees a share, not a percentage
        wrong, side = (right - 0.1, "too low") if right > 0.5 else (right + 0.1, "too high")
    else:
        wrong, side = right + 10 * ex.tolerance + 1, "too high"
    feedback = check_answer(key, wrong)
    assert not feedback.correct and side in feedback.message
    assert f"{right:.3g}" not in feedback.message  # the answer is never shown


def test_a_percentage_for_a_share_gets_a_sentence_about_it():
    share = EXERCISES["nb3_q1"].value()
    feedback = check_answer("nb3_q1", round(100 * share) + 0.5)
    assert not feedback.correct and "percentage" in feedback.message


@pytest.mark.parametrize("key", [k for k, e in EXERCISES.items() if e.kind == "choice"])
def test_choice_checks_take_one_letter(key):
    right = EXERCISES[key].value()
    assert check_answer(key, f" {right.upper()}) ").correct
    others = [o for o in "abcd" if o != right]
    assert not any(check_answer(key, o).correct for o in others)
    assert "one of" in check_answer(key, "e").message


def test_name_and_yes_no_checks():
    right = EXERCISES["nb2_q2"].value()
    assert check_answer("nb2_q2", right.upper()).correct
    wrong = next(p for p in ("random", "greedy", "optimal") if p != right)
    assert not check_answer("nb2_q2", wrong).correct
    truth = EXERCISES["nb4_q1"].value()
    assert check_answer("nb4_q1", "Yes" if truth else "no").correct
    assert check_answer("nb4_q1", truth).correct
    assert not check_answer("nb4_q1", not truth).correct


def test_unknown_exercise_is_a_sentence():
    feedback = check_answer("nb9_q9", 1)
    assert not feedback and "no exercise called" in feedback.message


@pytest.mark.parametrize(
    "design",
    [
        ProgramDesign(),
        ProgramDesign(cadence="weekly", structured_agenda=True, checkins="survey_30_60"),
        ProgramDesign(checkins="monthly", on_flag="rematch"),
    ],
    ids=["default", "weekly_agenda", "rematch"],
)
def test_design_check_follows_the_brief(design):
    """Correct exactly when the simulated numbers meet all three parts of the brief."""
    result = try_design(design, "random")
    meets = bool(
        result.within_budget
        and result.gain_difference.ci_low > 0
        and result.completion_difference.ci_high >= 0
    )
    feedback = check_answer("nb5_design", design, policy="random")
    assert feedback.correct is meets
    assert result.defend().count("\n") == 2


def test_design_check_explains_what_is_wrong():
    assert (
        "duration_weeks=26" in check_answer("nb5_design", ProgramDesign(duration_weeks=10)).message
    )
    assert "should be one of" in check_answer("nb5_design", ProgramDesign(), policy="best").message
    assert "ProgramDesign" in repr(try_design({"cadence": "weekly"}))


# --------------------------------------------------------------------------- widgets


def test_static_views_draw_without_a_browser(capsys):
    show_weights("skills_first", "stable")
    show_policies("balanced", 2, "maximin", "optimal")
    show_program("monthly", "survey_30_60", "coach", 20)
    text = capsys.readouterr().out
    assert "20 pairs, mean score" in text and "Figure" in text
    show_weights({"schedule_fit": 0.0})
    assert "cannot be matched" in capsys.readouterr().out


def test_widgets_construct_and_redraw(capsys):
    import ipywidgets as w

    box = explore_weights()
    assert isinstance(box, w.VBox)
    sliders = [c for c in box.children[0].children[0].children if isinstance(c, w.FloatSlider)]
    assert len(sliders) == 6
    capsys.readouterr()
    sliders[0].value = 3.0
    assert "pairs, mean score" in capsys.readouterr().out
    for s in sliders:
        s.value = 0.0
    assert "at least one component" in capsys.readouterr().out

    box = explore_policies()
    dropdowns = [c for row in box.children[:2] for c in row.children]
    capsys.readouterr()
    dropdowns[0].value = "diversity"
    assert "Figure(" in capsys.readouterr().out

    box = explore_program()
    controls = [c for row in box.children[:2] for c in row.children]
    assert {c.description for c in controls} == {"cadence", "check-ins", "on a flag", "weeks"}
    capsys.readouterr()
    controls[0].value = "monthly"
    assert "Figure(" in capsys.readouterr().out


def test_teaching_tables_have_ids_from_their_content():
    """A teaching page rendered twice is the same bytes: its tables' ids come from their
    content (a plain ``frame.style`` gets a random id on every render)."""
    import pandas as pd

    from toolkit.teaching.examples import styled

    frame = pd.DataFrame({"policy": ["optimal", "random"], "score": [0.61, 0.42]})
    first = styled(frame).format(precision=2).to_html()
    assert first == styled(frame.copy()).format(precision=2).to_html()
    assert frame.style.to_html() != frame.style.to_html()  # what pandas does by default
    other = styled(frame.assign(score=[0.6, 0.4])).to_html()
    assert first.split('id="T_')[1][:10] != other.split('id="T_')[1][:10]

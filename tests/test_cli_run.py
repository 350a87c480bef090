"""`rmt run / verify / sweep / reports` from the command line: bad input is refused before
any kernel starts (exit 2, one line), a failing study exits 1, and --help lists parameters."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from toolkit.cli import app

runner = CliRunner()


@pytest.fixture
def no_kernel(monkeypatch):
    """Fail the test if anything tries to execute a notebook."""
    import papermill

    import toolkit.runs.run as run_module

    def refuse(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)
    monkeypatch.setattr(run_module, "start_kernel", refuse)


def _one_error_line(result) -> str:
    # papermill's progress bar (\r-separated tqdm frames) may precede the error
    lines = [
        ln
        for ln in result.stderr.splitlines()
        if ln.strip() and not ln.lstrip().startswith("Executing")
    ]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "no_such_study"], ["Unknown study 'no_such_study'", "meeting_cadence"]),
        (
            ["run", "meeting_cadence", "-p", "replicat=3"],
            ["no parameter 'replicat'", "'replicates'"],
        ),
        (["run", "meeting_cadence", "-p", "replicates=many"], ["an int", "'many'"]),
        (["run", "meeting_cadence", "-p", "replicates=0"], ["[1, 2000]", "got 0"]),
        (
            ["run", "meeting_cadence", "-p", "cadences=weekly,fortnightly"],
            ["'fortnightly'", "item 2"],
        ),
        (["run", "meeting_cadence", "-p", "policy=best"], ["'policy'", "'best'"]),
        (["run", "meeting_cadence", "-p", "replicates"], ["key=value"]),
        (["sweep", "meeting_cadence", "--grid", "policy=random,best"], ["'best'"]),
        (["sweep", "nope", "--grid", "seed=1,2"], ["Unknown study 'nope'"]),
        (
            ["run", "meeting_cadenc"],
            ["Unknown study 'meeting_cadenc'; did you mean meeting_cadence?"],
        ),
        (["sweep", "checkin_cadense", "--grid", "seed=1,2"], ["did you mean checkin_cadence?"]),
        (["verify", "."], ["not a study run"]),
    ],
)
def test_bad_input_is_refused_before_a_kernel_starts(args, words, no_kernel, tmp_path):
    result = runner.invoke(app, [*args, "--out", str(tmp_path)] if args[0] != "verify" else args)
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    for w in words:
        assert w in line
    assert not any(tmp_path.iterdir())


def test_roster_that_fails_validation_gives_the_roster_error(tmp_path, no_kernel):
    roster = tmp_path / "people.csv"
    roster.write_text("id,role\nA,mentor\nA,mentee\n")
    result = runner.invoke(
        app, ["run", "meeting_cadence", "-p", f"roster={roster}", "--out", str(tmp_path / "runs")]
    )
    assert result.exit_code == 2
    assert "repeats the id of line 2" in _one_error_line(result)
    missing = runner.invoke(
        app, ["run", "meeting_cadence", "-p", "roster=nowhere.csv", "--out", str(tmp_path / "runs")]
    )
    assert missing.exit_code == 2 and "must be an existing file" in _one_error_line(missing)


def test_parameter_file_and_overrides(tmp_path, no_kernel):
    from toolkit.runs import check_parameters

    f = tmp_path / "p.yaml"
    f.write_text("replicates: 7\ncadences: [weekly, biweekly]\nseed: 3\n")
    p = check_parameters("meeting_cadence", ["seed=4"], file=f)
    assert (p.replicates, p.cadences, p.seed) == (7, ("weekly", "biweekly"), 4)
    f.write_text("replicats: 7\n")
    result = runner.invoke(app, ["run", "meeting_cadence", "-f", str(f), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no parameter 'replicats'" in _one_error_line(result)


def test_study_help_lists_its_parameters(no_kernel):
    result = runner.invoke(app, ["run", "meeting_cadence", "--help"])
    assert result.exit_code == 0
    for name in (
        "replicates",
        "cadences",
        "roster",
        "seed",
        "default 50",
        "Simulated programs per schedule.",
    ):
        assert name in result.stdout
    plain = runner.invoke(app, ["run", "--help"])
    assert plain.exit_code == 0 and "Studies: " in plain.stdout
    from toolkit.studies import list_studies

    assert plain.stdout.split("Studies: ")[1].split() == [f"{n}," for n in list_studies()[:-1]] + [
        list_studies()[-1]
    ]


def test_output_folder_of_another_study_is_refused(tmp_path, no_kernel, tiny_params):
    from toolkit.runs import plan_run

    plan = plan_run("meeting_cadence", tiny_params["meeting_cadence"], out=tmp_path)
    plan.path.mkdir(parents=True)
    (plan.path / "manifest.json").write_text('{"study": "other_study"}')
    args = [a for p in tiny_params["meeting_cadence"] for a in ("-p", p)]
    result = runner.invoke(app, ["run", "meeting_cadence", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds a run of study 'other_study'" in _one_error_line(result)


def test_failing_study_exits_1_with_the_cell_error(tmp_path):
    import nbformat
    from pydantic import Field

    from toolkit.studies import Study, StudyParameters, register, unregister

    class P(StudyParameters):
        study = "cli_failing_test"
        n: int = Field(1, description="n")

    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}
        }
    )
    nb.cells = [
        nbformat.v4.new_code_cell("seed = 0\nn = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("1 / 0"),
    ]
    nbformat.write(nb, tmp_path / "f.ipynb")
    register(
        Study(
            name="cli_failing_test",
            title="t",
            question="q",
            parameters=P,
            notebook=tmp_path / "f.ipynb",
        )
    )
    try:
        result = runner.invoke(app, ["run", "cli_failing_test", "--out", str(tmp_path / "runs")])
    finally:
        unregister("cli_failing_test")
    assert result.exit_code == 1
    line = _one_error_line(result)
    assert "ZeroDivisionError: division by zero" in line and "failed-" in line
    folder = tmp_path / "runs" / "cli_failing_test"
    assert [p.name[:7] for p in folder.iterdir()] == ["failed-"]


def test_run_then_verify_from_the_command_line(tiny_run):
    result = runner.invoke(app, ["verify", str(tiny_run.path)])
    assert result.exit_code == 0, result.output
    assert "estimates.parquet: identical" in result.stdout
    assert "rtol 1e-09, atol 1e-12" in result.stderr


@pytest.mark.parametrize("where", ["proc", "file", "under_file", "not_a_run"])
def test_bad_output_folders_get_one_sentence_and_exit_2(where, tmp_path, no_kernel, tiny_params):
    afile = tmp_path / "afile.txt"
    afile.write_text("x")
    out = {
        "proc": "/proc/rmt",
        "file": str(afile),
        "under_file": str(afile / "runs"),
        "not_a_run": str(tmp_path / "mine"),
    }[where]
    if where == "not_a_run":
        from toolkit.runs import plan_run

        plan = plan_run("meeting_cadence", tiny_params["meeting_cadence"], out=out)
        plan.path.mkdir(parents=True)
        (plan.path / "thesis.docx").write_text("precious")
    args = [a for p in tiny_params["meeting_cadence"] for a in ("-p", p)]
    result = runner.invoke(app, ["run", "meeting_cadence", *args, "--out", out])
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    assert "Traceback" not in result.output
    expected = {
        "proc": "under /proc",
        "file": "which is a file",
        "under_file": "which is a file",
        "not_a_run": "is not a run of study meeting_cadence",
    }[where]
    assert expected in line
    if where == "not_a_run":
        assert (plan.path / "thesis.docx").read_text() == "precious"

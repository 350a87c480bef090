"""Every registered study: committed notebook clean, defaults in sync, runs through
papermill at tiny parameters, and its report is self-contained, findings first, code-free."""

from __future__ import annotations

import ast
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from toolkit.errors import InvalidParameterError
from toolkit.studies import get_study, list_studies
from toolkit.studies._base import DEFAULT_ANSWER, parse_value

ROOT = Path(__file__).resolve().parents[1]
STUDIES = [s for s in list_studies() if not s.startswith("_")]


def test_every_study_has_tiny_parameters_for_the_suite(tiny_params):
    assert set(STUDIES) <= set(tiny_params), (
        "add tiny parameters for each new study to tests/conftest.py"
    )


@pytest.mark.parametrize("name", STUDIES)
def test_committed_notebook_has_no_outputs_and_a_parameters_cell_first(name):
    nb = nbformat.read(get_study(name).notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert all(c.outputs == [] and c.execution_count is None for c in code)


@pytest.mark.parametrize("name", STUDIES)
def test_notebook_parameter_defaults_equal_declared_defaults(name):
    import papermill

    study = get_study(name)
    inferred = papermill.inspect_notebook(str(study.notebook))
    declared = study.parameters.defaults()
    assert list(inferred) == list(declared)
    for key, spec in inferred.items():
        value = ast.literal_eval(spec["default"])
        assert study.parameters.from_values({key: value}).to_dict()[key] == declared[key], key


def test_notebook_defaults_check_can_fail(tmp_path):
    """The defaults check sees a drifted default (it compares values, not just names)."""
    study = get_study("meeting_cadence")
    nb = nbformat.read(study.notebook, as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace("replicates = 50", "replicates = 51")
    assert "replicates = 51" in nb.cells[1].source
    import papermill

    path = tmp_path / "drift.ipynb"
    nbformat.write(nb, path)
    inferred = papermill.inspect_notebook(str(path))
    assert (
        ast.literal_eval(inferred["replicates"]["default"])
        != study.parameters.defaults()["replicates"]
    )


@pytest.mark.parametrize(
    ("text", "annotation", "expected"),
    [
        ("weekly,monthly", tuple[str, ...], ("weekly", "monthly")),
        ('["weekly", "monthly"]', tuple[str, ...], ("weekly", "monthly")),
        ("[weekly, monthly]", tuple[str, ...], ("weekly", "monthly")),
        ("7", int, 7),
        ("0.5", float, 0.5),
        ("true", bool, True),
        ("none", str | None, None),
    ],
)
def test_parse_value_reads_command_line_strings(text, annotation, expected):
    assert parse_value(text, annotation) == expected


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"replicat": 3}, ["has no parameter 'replicat'", "'replicates'"]),
        ({"replicates": "many"}, ["'replicates'", "an int in the range [1, 2000]", "'many'"]),
        ({"replicates": 0}, ["'replicates'", "got 0"]),
        (
            {"cadences": ["weekly", "fortnightly"]},
            ["'cadences'", "'fortnightly'", "item 2", "'monthly'"],
        ),
        ({"policy": "best"}, ["'policy'", "'optimal'", "'best'"]),
        ({"cadences": ["weekly", "monthly"]}, ["'reference'", "'biweekly'"]),
        ({"meeting_minutes": 200.0, "hours": "matched"}, ["240 minutes"]),
    ],
)
def test_bad_parameters_one_sentence(values, words):
    with pytest.raises(InvalidParameterError) as info:
        get_study("meeting_cadence").parameters.from_values(values)
    msg = str(info.value)
    assert "\n" not in msg and msg.endswith(".")
    for w in words:
        assert w in msg


def test_matched_hours_equal_the_reference():
    from toolkit.studies.meeting_cadence import Parameters, plan_table

    plan = plan_table(Parameters())
    matched = plan[plan.hours == "matched"]
    ref = plan.loc[plan.arm == "biweekly", "planned_monthly_hours"].iloc[0]
    assert len(matched) == 5
    assert (matched.planned_monthly_hours - ref).abs().max() < 0.01
    unmatched = plan[plan.hours == "unmatched"].set_index("arm")
    assert unmatched.loc["weekly", "planned_monthly_hours"] == pytest.approx(2 * ref, abs=0.01)


class _Resources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.loads, self.imgs = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        for key in ("src", "href"):
            if tag in ("script", "link", "img", "iframe", "source", "video", "audio") and a.get(
                key
            ):
                self.loads.append(a[key])


def check_report(text: str) -> None:
    """What every report must be: no outside resource, alt text, findings first, no code."""
    parser = _Resources()
    parser.feed(text)
    assert not [u for u in parser.loads if re.match(r"(https?:)?//", u)], parser.loads
    assert "@import" not in text and "url(http" not in text
    assert parser.imgs, "a report without figures"
    assert all(i.get("alt", "").strip() for i in parser.imgs)
    assert all(i["src"].startswith("data:image/") for i in parser.imgs)
    assert 0 <= text.index('id="findings"') < text.index("<img")
    for code_marker in ("jp-InputArea", "input_area", "study_params =", "from toolkit"):
        assert code_marker not in text
    for section in ('id="methods"', 'id="limitations"', 'id="reproduce"', "<table"):
        assert section in text


def test_report_is_self_contained_findings_first_and_code_free(tiny_run):
    check_report((tiny_run.path / "report.html").read_text(encoding="utf-8"))


def test_report_check_catches_an_outside_script():
    good = (
        '<section id="findings"></section><img src="data:image/png;base64,AA" alt="x">'
        '<section id="methods"></section><section id="limitations"></section>'
        '<section id="reproduce"></section><table></table>'
    )
    check_report(good)
    with pytest.raises(AssertionError):
        check_report(good + '<script src="https://cdn.example.org/require.js"></script>')
    with pytest.raises(AssertionError):
        check_report(good.replace('alt="x"', ""))


def test_run_writes_tables_findings_and_the_reproduce_command(tiny_run):
    run = tiny_run.path
    assert {p.name for p in (run / "tables").iterdir()} >= {
        "estimates.parquet",
        "arms.parquet",
        "arms.csv",
        "outcomes.parquet",
    }
    saved = json.loads((run / "findings.json").read_text())
    findings = saved["findings"]
    assert findings and all(f.startswith("Across the 24 models") for f in findings)
    assert all("completion" in f for f in saved["more"][DEFAULT_ANSWER])
    text = (run / "report.html").read_text()
    assert "Across the 24 models consistent with the evidence, the weekly schedule" in text
    assert {
        "across_models.parquet",
        "model_answers.parquet",
        "spread_drivers.parquet",
        "sign_boxes.parquet",
        "at_horizon.parquet",
        "closure_reasons.parquet",
    } <= {p.name for p in (run / "tables").iterdir()}
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["command"] in text.replace("&#x27;", "'")
    arms = pd.read_parquet(run / "tables" / "arms.parquet")
    assert set(arms["arm"]) == {
        "weekly",
        "biweekly",
        "monthly",
        "weekly_matched",
        "monthly_matched",
    }


def test_plain_papermill_validates_inside_the_kernel(tmp_path):
    """papermill alone runs the notebook with string-valued lists, and refuses bad values."""
    import papermill

    nb = get_study("meeting_cadence").notebook
    papermill.execute_notebook(
        str(nb),
        str(tmp_path / "ok.ipynb"),
        cwd=str(tmp_path),
        parameters={
            "cadences": "weekly,biweekly",
            "replicates": 2,
            "n_mentors": 20,
            "n_mentees": 16,
            "hours": "unmatched",
        },
        progress_bar=False,
        kernel_name="python3",
    )
    assert (tmp_path / "tables" / "estimates.parquet").is_file()
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(
            str(nb),
            str(tmp_path / "bad.ipynb"),
            cwd=str(tmp_path),
            parameters={"cadences": "weekly,fortnightly"},
            progress_bar=False,
            kernel_name="python3",
        )
    assert info.value.ename == "InvalidParameterError"
    assert "'fortnightly'" in info.value.evalue


def test_roster_run_never_shows_names_or_emails(tmp_path):
    from toolkit.runs import run_study

    first = [
        "Zebulon",
        "Philippa",
        "Ingeborg",
        "Caspian",
        "Ottoline",
        "Barnaby",
        "Seraphina",
        "Leopoldine",
        "Thaddeus",
        "Wilhelmina",
        "Ignatius",
        "Rosalind",
    ]
    last = [
        "Quixotewright",
        "Marchbanks",
        "Thistlewaite",
        "Wolstenholme",
        "Farquharson",
        "Rutherglen",
        "Aldcroft",
        "Pemberton",
        "Vexley",
        "Oyelaran",
        "Strathmore",
        "Kilbride",
    ]
    depts = ["IT", "Sales", "HR", "Finance"]
    people = [
        (
            f"{'M' if k < 12 else 'E'}{k}",
            "mentor" if k < 12 else "mentee",
            f"{first[k % 12]} {last[(k * 5) % 12]}",
            f"{first[k % 12].lower()}{k}@example.org",
            depts[k % 4],
        )
        for k in range(22)
    ]
    roster = tmp_path / "people.csv"
    roster.write_text(
        "id,role,name,email,department\n" + "".join(",".join(p) + "\n" for p in people),
        encoding="utf-8",
    )
    res = run_study(
        "meeting_cadence",
        ["roster=" + str(roster), "replicates=10", "cadences=weekly,monthly", "reference=monthly"],
        out=tmp_path / "runs",
        progress=False,
    )
    secrets = [w for p in people for w in (p[2].split()[0], p[2].split()[-1], p[3])]
    texts = [
        (res.path / "report.html").read_text(),
        (res.path / "findings.json").read_text(),
        (res.path / "manifest.json").read_text(),
    ]
    for table in (res.path / "tables").glob("*.parquet"):
        texts.append(pd.read_parquet(table).to_csv())
    for table in (res.path / "tables").glob("*.csv"):
        texts.append(table.read_text())
    for text in texts:
        for s in secrets:
            assert s not in text
    check_report(texts[0])
    assert "roster=people.csv" in texts[0] and str(tmp_path) not in texts[0]
    manifest = json.loads(texts[2])
    assert manifest["inputs"]["roster"]["file"] == "people.csv"
    assert len(manifest["inputs"]["roster"]["sha256"]) == 64


def test_a_kernel_checks_parameters_once_builds_the_spec_once_and_reads_a_roster_once(
    tmp_path, monkeypatch
):
    """Inside a kernel: the parameters are validated once (the class defaults once more, for
    the parameters table), the experiment spec is built once, the roster read once."""
    import pydantic

    import toolkit.experiment as ex
    from toolkit.studies import _params
    from toolkit.studies._common import _read_roster
    from toolkit.studies.matching_policies import MatchingPolicies

    roster = tmp_path / "people.csv"
    roster.write_text(
        "id,role,department\n"
        + "".join(
            f"{'M' if k < 8 else 'E'}{k},{'mentor' if k < 8 else 'mentee'},{['IT', 'HR'][k % 2]}\n"
            for k in range(14)
        ),
        encoding="utf-8",
    )
    counts = {"params": 0, "specs": 0}
    init, post = pydantic.BaseModel.__init__, ex.ExperimentSpec.__post_init__

    def count_params(self, *args, **kwargs):
        counts["params"] += isinstance(self, _params.StudyParameters)
        init(self, *args, **kwargs)

    def count_specs(self):
        counts["specs"] += 1
        post(self)

    monkeypatch.setattr(pydantic.BaseModel, "__init__", count_params)
    monkeypatch.setattr(ex.ExperimentSpec, "__post_init__", count_specs)
    monkeypatch.chdir(tmp_path)
    _read_roster.cache_clear()
    namespace = {
        "seed": 0,
        "roster": str(roster),
        "replicates": 2,
        "examples": 0,
        "policies": ["random", "optimal"],
    }
    study = MatchingPolicies.from_notebook(namespace)
    result = study.simulate()
    estimates = study.analyse(result)
    study.show_findings(study.findings(estimates, study.summary_table(result)))
    study.show_sections(
        aims="a", estimands=["b"], methods="c", performance=study.performance_text(estimates)
    )
    assert counts["params"] == 1
    assert counts["specs"] == 2  # the spec, and its copy holding the roster read in memory
    assert _read_roster.cache_info().misses == 1

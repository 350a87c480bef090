"""Free text never leaves the roster (issue 21, "Privacy").

Every study that accepts a roster is run on one whose people carry distinctive free-text
interests, names and e-mails; every file the run writes is then searched for them: text
files as they are, Parquet tables by their decoded contents (every cell as text, column
names, the schema's and the file's key-value metadata), since a Parquet file stores its
strings compressed and dictionary-encoded, where a byte search would miss them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from toolkit.studies import get_study, list_studies

ROSTER_STUDIES = [name for name in list_studies() if "roster" in get_study(name).inputs]
FIRST = ["Zebulon", "Philippa", "Ingeborg", "Caspian", "Ottoline", "Barnaby"]
INTERESTS = ["zymurgyquokka", "origamimarzipan", "xylophonewombat"]


def write_roster(path: Path) -> list[str]:
    """A 24-mentor, 20-mentee roster; returns the texts no output may contain."""
    rows = []
    for k in range(44):
        role = "mentor" if k < 24 else "mentee"
        # each person has two of the three interests, so pairs share some and reasons cite them
        interests = ";".join(INTERESTS[(k + j) % 3] + str(k % 2) for j in range(2))
        rows.append(
            f"P{k},{role},{FIRST[k % 6]} Farquharson{k},p{k}@privacy.example,"
            f"{['IT', 'Sales', 'HR', 'Finance'][k % 4]},{['woman', 'man'][k % 2]},{interests}"
        )
    path.write_text(
        "id,role,name,email,department,gender,interests\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    return [*INTERESTS, *FIRST, "Farquharson", "privacy.example"]


def parquet_text(path: Path) -> str:
    """Everything a Parquet file holds that could carry text, as one string."""
    table = pq.read_table(path)
    parts = [" ".join(table.column_names)]
    for meta in (table.schema.metadata, pq.read_metadata(path).metadata):
        for key, value in (meta or {}).items():
            parts += [key.decode("utf-8", "replace"), value.decode("utf-8", "replace")]
    frame = table.to_pandas()
    parts.append(" ".join(map(str, frame.index)))
    for column in frame.columns:
        parts.append(" ".join(str(v) for v in frame[column].tolist()))
    return "\n".join(parts)


def leaks(folder: Path, secrets: list[str]) -> dict[str, list[str]]:
    """The secrets found in each file under ``folder`` (relative path -> secrets)."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            text = parquet_text(path)
        else:
            text = path.read_bytes().decode("utf-8", "replace")
        hits = [s for s in secrets if s.lower() in text.lower()]
        if hits:
            found[str(path.relative_to(folder))] = hits
    return found


def test_the_leak_search_finds_text_inside_parquet_cells_and_metadata(tmp_path):
    """The search itself: a secret in a dictionary-encoded column, in the metadata, in a
    list cell or in a text file is found; a clean folder passes."""
    clean = pd.DataFrame(
        {
            "pair": [1, 2],
            "reason": pd.Categorical(["interest #1", "x"]),
            "share": pd.Categorical([0.5, None]),
        }
    )
    clean.to_parquet(tmp_path / "clean.parquet")
    (tmp_path / "report.html").write_text("<p>shared interests: interest #1</p>")
    assert leaks(tmp_path, INTERESTS) == {}

    cell = clean.assign(reason=pd.Categorical(["interest #1", "Zymurgyquokka"]))
    cell.to_parquet(tmp_path / "cell.parquet")
    listed = pa.table({"reasons": [["a"], ["b", "origamimarzipan"]]})
    pq.write_table(listed, tmp_path / "listed.parquet")
    meta = pa.table({"x": [1]}).replace_schema_metadata({"note": "xylophonewombat"})
    pq.write_table(meta, tmp_path / "meta.parquet")
    (tmp_path / "notebook.ipynb").write_text(json.dumps({"text": "zymurgyquokka"}))
    assert leaks(tmp_path, INTERESTS) == {
        "cell.parquet": ["zymurgyquokka"],
        "listed.parquet": ["origamimarzipan"],
        "meta.parquet": ["xylophonewombat"],
        "notebook.ipynb": ["zymurgyquokka"],
    }


def tiny(study: str, tiny_params: dict[str, list[str]]) -> list[str]:
    """The study's tiny parameters without the synthetic cohort's sizes (the roster's rule)."""
    return [p for p in tiny_params[study] if not p.startswith(("n_mentors=", "n_mentees="))]


def test_every_study_that_takes_a_roster_is_searched():
    assert {"matching_policies", "meeting_cadence", "advise"} <= set(ROSTER_STUDIES)


@pytest.mark.slow
@pytest.mark.parametrize("study", ROSTER_STUDIES)
def test_free_text_interests_names_and_emails_are_absent_from_every_output(
    study, tmp_path, tiny_params
):
    from toolkit.runs import run_study

    roster = tmp_path / "people.csv"
    secrets = write_roster(roster)
    res = run_study(
        study,
        [f"roster={roster}", *tiny(study, tiny_params)],
        out=tmp_path / "runs",
        progress=False,
    )
    files = [p for p in res.path.rglob("*") if p.is_file()]
    # the run read this roster and wrote its usual outputs, so the search below is not vacuous
    manifest = json.loads((res.path / "manifest.json").read_text())
    assert manifest["inputs"]["roster"]["sha256"] == hashlib.sha256(roster.read_bytes()).hexdigest()
    names = {p.name for p in files}
    assert {"report.html", "notebook.ipynb", "findings.json"} <= names
    assert any(p.suffix == ".parquet" for p in files)
    assert leaks(res.path, secrets) == {}

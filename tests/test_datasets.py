"""synthetic_data/: regeneration is byte-identical; checksums and dictionary agree."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from toolkit.datasets import CANONICAL_COHORTS, canonical_cohort, package_versions, write_canonical

DATA = Path(__file__).resolve().parents[1] / "synthetic_data"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    write_canonical(out)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_regeneration_is_byte_identical_to_the_committed_files(regenerated):
    manifest = json.loads((DATA / "manifest.json").read_text())
    if manifest["package_versions"] != package_versions():
        pytest.skip(
            "installed package versions differ from those in synthetic_data/"
            "manifest.json; byte identity is promised for the same versions only "
            f"(made with {manifest['package_versions']}, have {package_versions()})"
        )
    assert _files(regenerated) == _files(DATA)


def test_regeneration_is_byte_identical_run_to_run(regenerated, tmp_path):
    write_canonical(tmp_path)
    assert _files(tmp_path) == _files(regenerated)


def test_checksums_match_the_files():
    for line in (DATA / "CHECKSUMS.sha256").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_committed_data_match_their_specs_and_dictionary():
    readme = (DATA / "README.md").read_text()
    for name, (spec, _) in CANONICAL_COHORTS.items():
        frame = pd.read_csv(DATA / f"{name}.csv")
        assert len(frame) == spec.n_participants
        assert (frame["role"] == "mentor").sum() == spec.n_mentors
        for column in frame.columns:
            assert f"`{column}`" in readme, column
    assert 20 <= CANONICAL_COHORTS["cohort_small"][0].n_participants <= 30
    small = canonical_cohort("cohort_small").participants
    assert (
        small["participant_id"].tolist()
        == pd.read_csv(DATA / "cohort_small.csv")["participant_id"].tolist()
    )

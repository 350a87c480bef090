"""The Ensemble container: validation, files (same seed, same bytes), refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from toolkit._synthetic import ToySimulator, toy_prior, toy_targets
from toolkit.behavior import BehaviorModel
from toolkit.ensemble import Ensemble
from toolkit.errors import InvalidParameterError
from toolkit.history_matching import history_match

SIM = ToySimulator(replicates=10, units=10)


def _build(seed: int = 5) -> Ensemble:
    targets = toy_targets(np.array([0.55, 2.0, 3.0, 0.2]), seed=3, obs_sd=0.04)
    return history_match(toy_prior(), targets, SIM, points=600, waves=2, seed=seed, progress=False)


@pytest.fixture(scope="module")
def ens():
    return _build()


def test_same_seed_same_bytes_and_round_trip(ens, tmp_path):
    a = ens.save(tmp_path / "a.parquet").read_bytes()
    b = _build().save(tmp_path / "b.parquet").read_bytes()
    assert a == b
    back = Ensemble.load(tmp_path / "a.parquet")
    assert back == ens and back.fingerprint == ens.fingerprint
    assert back.save(tmp_path / "c.parquet").read_bytes() == a
    pd.testing.assert_frame_equal(back.models, ens.models)
    assert back.diagnostics == json.loads(json.dumps(ens.diagnostics))


def test_fingerprint_is_of_inputs(ens):
    other = _build(seed=6)
    assert other.fingerprint != ens.fingerprint
    assert (
        Ensemble(ens.models.iloc[:3], ens.prior, ens.targets, ens.procedure, ens.seed).fingerprint
        == ens.fingerprint
    )


def test_to_behaviors_sets_the_varied_parameters(ens):
    models = ens.to_behaviors(BehaviorModel(closure_base=-4.0))
    assert len(models) == len(ens)
    assert models[0].quality_base == ens.models["quality_base"][0]
    assert {m.closure_base for m in models} == {-4.0}


def test_take(ens):
    assert len(ens.take(3)) == 3
    for bad in (0, len(ens) + 1, 2.5):
        with pytest.raises(InvalidParameterError, match="'models' parameter of Ensemble.take"):
            ens.take(bad)


def test_empty_and_unknown_refused(ens):
    with pytest.raises(InvalidParameterError, match="at least one model"):
        Ensemble(ens.models.iloc[:0], ens.prior, ens.targets, ens.procedure, 0)
    with pytest.raises(InvalidParameterError, match="not_a_parameter"):
        Ensemble(
            ens.models.rename(columns={"meet_base": "not_a_parameter"}),
            ens.prior,
            ens.targets,
            ens.procedure,
            0,
        )
    with pytest.raises(InvalidParameterError, match="allowed range"):
        Ensemble(ens.models.assign(quality_base=2.0), ens.prior, ens.targets, ens.procedure, 0)


def _rewrite(src, dst, change_meta=None, rows=None, rename=None):
    table = pq.read_table(src)
    original = dict(table.schema.metadata)
    meta = json.loads(original[b"toolkit.ensemble"])
    if change_meta:
        change_meta(meta)
    if rows is not None:
        table = table.slice(0, rows)
    if rename:
        table = table.rename_columns([rename.get(c, c) for c in table.column_names])
    table = table.replace_schema_metadata(
        {**original, b"toolkit.ensemble": json.dumps(meta).encode()}
    )
    pq.write_table(table, dst)
    return dst


def test_load_refuses_other_version_unknown_parameter_empty_and_foreign(ens, tmp_path):
    src = ens.save(tmp_path / "e.parquet")

    def version(m):
        m["toolkit_version"] = "0.0.1"

    with pytest.raises(InvalidParameterError, match="built by toolkit '0.0.1'"):
        Ensemble.load(_rewrite(src, tmp_path / "v.parquet", version))

    def unknown(m):
        m["parameters"][0] = "mystery"

    with pytest.raises(InvalidParameterError, match="unknown parameter 'mystery'"):
        Ensemble.load(
            _rewrite(src, tmp_path / "u.parquet", unknown, rename={"quality_base": "mystery"})
        )
    with pytest.raises(InvalidParameterError, match="holds no model"):
        Ensemble.load(_rewrite(src, tmp_path / "z.parquet", rows=0))
    pq.write_table(pa.table({"x": [1.0]}), tmp_path / "plain.parquet")
    with pytest.raises(InvalidParameterError, match="no ensemble metadata"):
        Ensemble.load(tmp_path / "plain.parquet")
    (tmp_path / "text.parquet").write_text("hello")
    with pytest.raises(InvalidParameterError, match="Parquet file"):
        Ensemble.load(tmp_path / "text.parquet")
    with pytest.raises(InvalidParameterError, match="existing ensemble file"):
        Ensemble.load(tmp_path / "missing.parquet")


def test_summary_shows_narrowing(ens):
    s = ens.summary().set_index("parameter")
    assert (s["share_of_prior_range"] <= 1).all()
    assert s["share_of_prior_range"].min() < 0.9  # the toy's targets narrow something


def test_priors_table():
    p = BehaviorModel.priors()
    assert list(p.columns) == ["parameter", "distribution", "low", "high", "source", "reason"]
    assert len(p) == len(BehaviorModel().to_dict())
    assert (p["low"] <= p["high"]).all() and set(p["distribution"]) == {"uniform"}
    plaus = {f: BehaviorModel.__dataclass_fields__[f].metadata["plausible"] for f in p.parameter}
    default = p["reason"].str.startswith("uniform over the plausible range")
    # a prior is the plausible range unless the field states another one, with its reason
    assert default.any() and (~default).any()
    assert all(plaus[r.parameter] == (r.low, r.high) for r in p[default].itertuples())
    assert p.loc[~default, "reason"].str.len().gt(20).all()

"""run_experiment(): common random numbers, replicates, control arm, tidy tables, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import CohortSpec, generate_cohort
from toolkit.errors import InvalidParameterError
from toolkit.experiment import Arm, run_experiment
from toolkit.program import ProgramDesign
from toolkit.simulation import simulate

SPEC = CohortSpec(n_mentors=36, n_mentees=30)
BUSY = ProgramDesign(cadence="weekly", checkins="monthly", on_flag="rematch", no_meeting_weeks=3)


def fixed_random(cohort, seed):
    g = np.random.default_rng(seed)
    mentors = cohort.mentors["participant_id"].to_numpy()
    n = min(len(mentors), len(cohort.mentees))
    return pd.DataFrame({"mentee_id": cohort.mentees["participant_id"].to_numpy()[:n],
                         "mentor_id": g.permutation(mentors)[:n]})


def _arm(frame, name):
    return frame[frame["arm"] == name].drop(columns="arm").reset_index(drop=True)


def test_identical_arms_give_identical_outcomes():
    res = run_experiment(SPEC, {"a": Arm(fixed_random, BUSY), "b": Arm(fixed_random, BUSY),
                                "c": Arm(fixed_random, BUSY.replace(cadence="monthly"))},
                         replicates=3, seed=5, progress=False)
    for table in ("weeks", "outcomes", "events", "surveys"):
        frame = getattr(res, table)
        pd.testing.assert_frame_equal(_arm(frame, "a"), _arm(frame, "b"))
    assert not _arm(res.outcomes, "a")["meetings_held"].equals(_arm(res.outcomes, "c")["meetings_held"])


def test_common_random_numbers_make_a_lever_effect_monotone():
    """With shared draws, switching cadence changes every replicate's mean the same way."""
    res = run_experiment(SPEC, {"weekly": Arm(fixed_random, ProgramDesign(cadence="weekly")),
                                "monthly": Arm(fixed_random, ProgramDesign(cadence="monthly"))},
                         replicates=4, seed=2, progress=False)
    means = res.outcomes.groupby(["replicate", "arm"], observed=True)["meetings_held"].mean().unstack()
    assert (means["weekly"] > means["monthly"]).all()


def test_replicates_are_independent_and_seeded():
    a = run_experiment(SPEC, {"x": Arm(fixed_random)}, replicates=3, seed=9, progress=False)
    b = run_experiment(SPEC, {"x": Arm(fixed_random)}, replicates=3, seed=9, progress=False)
    pd.testing.assert_frame_equal(a.outcomes, b.outcomes)
    by_rep = a.outcomes.groupby("replicate")["final_quality"].apply(lambda s: tuple(s.round(6)))
    assert by_rep.nunique() == 3
    assert a.pairs.groupby("replicate").size().tolist() == [30, 30, 30]


def test_experiment_replicate_equals_simulate_with_that_replicate():
    cohort = generate_cohort(SPEC)
    res = run_experiment(cohort, {"x": Arm(fixed_random, BUSY)}, replicates=2, seed=4,
                         progress=False)
    pairs = res.pairs[res.pairs["replicate"] == 1][["mentee_id", "mentor_id"]]
    single = simulate(cohort, pairs, BUSY, seed=4, replicate=1, arm="x")
    got = res.outcomes[res.outcomes["replicate"] == 1].reset_index(drop=True)
    cols = ["pair_id", "meetings_held", "final_quality", "mentee_gain", "hours_coordinator"]
    pd.testing.assert_frame_equal(got[cols], single.outcomes[cols])


def test_control_arm_is_unpaired_with_pre_post_surveys():
    res = run_experiment(SPEC, {"x": Arm(fixed_random)}, replicates=2, seed=1, control=True,
                         progress=False)
    ctrl = res.outcomes[res.outcomes["arm"] == "control"]
    assert len(ctrl) == 60 and ctrl["mentor_id"].isna().all()
    assert (ctrl["meetings_held"] == 0).all() and (ctrl["mentee_gain"] == 0).all()
    s = res.surveys[res.surveys["arm"] == "control"]
    assert set(s["item"].astype(str)) == {"digital_skill"}
    assert set(s["phase"].astype(str)) == {"pre", "post"}
    assert list(res.outcomes["arm"].cat.categories) == ["x", "control"]


def test_random_policy_through_matching():
    res = run_experiment(SPEC, {"r": Arm("random", ProgramDesign(duration_weeks=6))},
                         replicates=2, seed=3, progress=False)
    assert res.outcomes.groupby("replicate").size().tolist() == [30, 30]


def test_progress_bar_runs(capsys):
    run_experiment(SPEC, ProgramDesign(duration_weeks=3), replicates=2, seed=0, progress=True)
    assert "experiment" in capsys.readouterr().err


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"replicates": 0}, "replicates"), ({"arms": {}}, "arms"),
    ({"arms": {"control": ProgramDesign()}}, "arms"), ({"arms": {"a": 3}}, "arms"),
    ({"seed": -2}, "seed"), ({"control": "yes"}, "control"), ({"behavior": 1}, "behavior"),
])
def test_bad_input(kwargs, name):
    args = {"arms": {"a": Arm(fixed_random)}, "replicates": 1, "seed": 0, "progress": False,
            **kwargs}
    # The keywords build an ExperimentSpec, whose checks name it; behavior is run_experiment's.
    with pytest.raises(InvalidParameterError,
                       match=f"'{name}' parameter of (ExperimentSpec|run_experiment)"):
        run_experiment(SPEC, **args)


def test_tables_selection_builds_only_what_is_asked_with_the_same_numbers():
    from toolkit import CohortSpec, ProgramDesign
    from toolkit.experiment import Arm, run_experiment

    spec = CohortSpec(n_mentors=30, n_mentees=25, seed=4)
    arms = {"weekly": Arm("random", ProgramDesign(cadence="weekly", checkins="monthly",
                                                   on_flag="rematch")),
            "biweekly": Arm("random", ProgramDesign())}
    full = run_experiment(spec, arms, replicates=3, seed=9, control=True, progress=False)
    lean = run_experiment(spec, arms, replicates=3, seed=9, control=True, progress=False,
                          tables=("outcomes",))
    pd.testing.assert_frame_equal(lean.outcomes, full.outcomes)
    assert lean.weeks is None and lean.surveys is None and lean.events is None
    assert lean.pairs is None and set(lean.tables()) == {"outcomes"}
    events_only = run_experiment(spec, arms, replicates=3, seed=9, control=True,
                                 progress=False, tables="events")
    pd.testing.assert_frame_equal(events_only.events, full.events)


@pytest.mark.parametrize("tables", [(), ("outcome",), "pairz", 3])
def test_bad_tables_selection_is_refused(tables):
    from toolkit import CohortSpec, InvalidParameterError, ProgramDesign
    from toolkit.experiment import run_experiment

    with pytest.raises(InvalidParameterError, match="'tables'"):
        run_experiment(CohortSpec(n_mentors=5, n_mentees=5), ProgramDesign(), replicates=1,
                       progress=False, tables=tables)

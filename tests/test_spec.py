"""Specifications as data: round trips through dicts, JSON and YAML; stable fingerprints."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit import (
    Arm,
    BehaviorModel,
    CohortSpec,
    Constraints,
    ExperimentSpec,
    InvalidParameterError,
    MatchSpec,
    ProgramDesign,
    RosterSource,
)
from toolkit._spec import loads
from toolkit.compatibility import WEIGHT_PROFILES, WEIGHT_TERMS

POLICY_OPTIONS = {
    "random": st.just({}),
    "greedy": st.just({}),
    "optimal": st.just({}),
    "maximin": st.just({}),
    "stable": st.fixed_dictionaries(
        {}, optional={"proposer": st.sampled_from(["mentee", "mentor"])}
    ),
    "mentee_choice": st.fixed_dictionaries(
        {}, optional={"shortlist": st.integers(1, 10), "fallback": st.booleans()}
    ),
    "max_participation": st.fixed_dictionaries(
        {}, optional={"min_score": st.floats(0, 1, allow_nan=False)}
    ),
    "diverse": st.fixed_dictionaries(
        {}, optional={"require": st.sampled_from(["department", "location", "both"])}
    ),
}

weights = st.one_of(
    st.none(),
    st.sampled_from(sorted(WEIGHT_PROFILES)),
    st.dictionaries(
        st.sampled_from(list(WEIGHT_TERMS)), st.floats(0.1, 5, allow_nan=False), min_size=1
    ),
)
constraints = st.one_of(
    st.none(),
    st.builds(
        Constraints,
        same_department=st.sampled_from(["allowed", "forbidden", "required"]),
        cross_location=st.booleans(),
        forbidden_pairs=st.lists(
            st.tuples(
                st.sampled_from(["P000001", "P000002"]), st.sampled_from(["P000003", "P000004"])
            ),
            max_size=2,
        ).map(tuple),
    ),
)


@st.composite
def match_specs(draw):
    policy = draw(st.sampled_from(sorted(POLICY_OPTIONS)))
    return MatchSpec(
        policy=policy,
        weights=draw(weights),
        capacity=draw(st.integers(1, 4)),
        constraints=draw(constraints),
        options=draw(POLICY_OPTIONS[policy]),
    )


@st.composite
def designs(draw):
    duration = draw(st.integers(4, 52))
    cadence = draw(
        st.one_of(
            st.sampled_from(["weekly", "biweekly", "every_3_weeks", "monthly", "front_loaded"]),
            st.lists(st.integers(1, duration), min_size=1, max_size=6, unique=True).map(tuple),
        )
    )
    return ProgramDesign(
        duration_weeks=duration,
        cadence=cadence,
        meeting_minutes=draw(st.sampled_from([30, 45.0, 60, 90.5])),
        checkins=draw(st.sampled_from(["none", "monthly", "survey_30_60"])),
        flag_rating=draw(st.sampled_from([1, 2.0, 2.5, 3])),
        no_meeting_weeks=draw(st.one_of(st.none(), st.integers(1, duration))),
        on_flag=draw(st.sampled_from(["coach", "rematch", "close"])),
        goal_setting=draw(st.booleans()),
        virtual=draw(st.booleans()),
    )


cohort_specs = st.builds(
    CohortSpec,
    n_mentors=st.integers(1, 500),
    n_mentees=st.integers(1, 500),
    seed=st.integers(0, 2**63 - 1),
    departments=st.lists(
        st.sampled_from(["Sales", "IT", "HR", "Ops"]), min_size=1, unique=True
    ).map(tuple),
    locales=st.sampled_from([("en_US",), ("en_US", "de_DE"), ("pt_BR",)]),
)
behavior_overrides = st.dictionaries(
    st.sampled_from(["meet_base", "closure_base", "quality_deep", "learn_mentee"]),
    st.floats(0.0, 1.0, allow_nan=False),
    max_size=3,
)


@st.composite
def experiment_specs(draw):
    names = draw(
        st.lists(st.text("abcdefgh_", min_size=1, max_size=8), min_size=1, max_size=3, unique=True)
    )
    arms = {n: Arm(draw(match_specs()), draw(designs())) for n in names}
    return ExperimentSpec(
        cohort=draw(cohort_specs),
        arms=arms,
        replicates=draw(st.integers(1, 1000)),
        seed=draw(st.integers(0, 10**9)),
        control=draw(st.booleans()),
        behavior=draw(behavior_overrides),
    )


ANY_SPEC = st.one_of(
    match_specs(),
    designs(),
    cohort_specs,
    experiment_specs(),
    st.builds(Arm, match_specs(), designs()),
    behavior_overrides.map(lambda o: BehaviorModel(**o)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_SPEC)
def test_every_spec_round_trips_through_dict_json_and_yaml(spec):
    cls = type(spec)
    assert cls.from_dict(spec.to_dict()) == spec
    assert cls.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    import yaml

    assert cls.from_dict(yaml.safe_load(spec.to_yaml())) == spec
    assert cls.from_dict(loads(spec.to_json())) == spec
    assert cls.from_dict(loads(spec.to_yaml())) == spec
    assert cls.from_dict(spec.to_dict()).fingerprint == spec.fingerprint


@settings(max_examples=40, deadline=None)
@given(experiment_specs(), st.data())
def test_fingerprint_differs_when_any_field_differs(spec, data):
    changes = {
        "replicates": spec.replicates % 1000 + 1,
        "seed": spec.seed + 1,
        "control": not spec.control,
        "behavior": {**spec.behavior, "closure_quality": 4.5},
        "cohort": spec.cohort.replace(n_mentees=spec.cohort.n_mentees % 500 + 1)
        if hasattr(spec.cohort, "replace")
        else CohortSpec(n_mentees=spec.cohort.n_mentees % 500 + 1),
        "arms": {**spec.arms, "extra_arm": Arm()},
    }
    field = data.draw(st.sampled_from(sorted(changes)))
    other = spec.replace(**{field: changes[field]})
    assert other != spec and other.fingerprint != spec.fingerprint
    first = next(iter(spec.arms))
    arm = spec.arms[first]
    deeper = {
        first: Arm(arm.match, arm.design.replace(meeting_minutes=arm.design.meeting_minutes + 1))
    }
    assert spec.replace(arms={**spec.arms, **deeper}).fingerprint != spec.fingerprint
    capacity = {
        first: Arm(MatchSpec(**{**vars(arm.match), "capacity": arm.match.capacity + 1}), arm.design)
    }
    assert spec.replace(arms={**spec.arms, **capacity}).fingerprint != spec.fingerprint


def test_fingerprint_is_the_same_in_another_process_with_another_hash_seed():
    spec = ExperimentSpec(
        cohort=CohortSpec(n_mentors=30, n_mentees=25, departments=("A", "B")),
        arms={
            "w": Arm(
                MatchSpec("stable", weights={"deep_similarity": 2}, options={"proposer": "mentor"}),
                ProgramDesign(cadence="weekly"),
            ),
            "b": Arm("optimal"),
        },
        replicates=7,
        seed=3,
        behavior={"meet_base": 1.5},
    )
    code = (
        "import sys; from toolkit import ExperimentSpec; "
        "print(ExperimentSpec.from_yaml(sys.stdin.read()).fingerprint)"
    )
    for hash_seed in ("0", "12345"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            input=spec.to_yaml(),
            text=True,
            capture_output=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert out.stdout.strip() == spec.fingerprint


def test_save_and_load(tmp_path):
    spec = ExperimentSpec(
        arms={"a": Arm("greedy", ProgramDesign(checkins="monthly"))}, replicates=2, control=True
    )
    for name in ("spec.yaml", "spec.json"):
        path = spec.save(tmp_path / name)
        assert ExperimentSpec.load(path) == spec
    with pytest.raises(InvalidParameterError, match="'path' parameter"):
        spec.save(tmp_path / "spec.txt")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (
            {"arms": {"a": {}}, "replicate": 3},
            ["Unknown key 'replicate' in experiment", "replicates"],
        ),
        (
            {"arms": {"a": {"design": {"cadense": "weekly"}}}},
            ["Unknown key 'cadense' in experiment.arms.a.design", "cadence"],
        ),
        (
            {"arms": {"a": {"match": {"policy": "stable", "options": {"shortlist": 3}}}}},
            ["experiment.arms.a.match", "'options'", "'proposer'", "got 'shortlist'"],
        ),
        (
            {"arms": {"a": {"match": {"policy": "best"}}}},
            ["'policy' parameter", "'optimal'", "got 'best'"],
        ),
        ({"arms": {"a": {"match": {"capacity": 0}}}}, ["'capacity' parameter", "got 0"]),
        ({"arms": {"a": {"match": {"capacity": "2"}}}}, ["'capacity' parameter", "got '2'"]),
        (
            {"arms": {"a": {}}, "cohort": {"roster": "/no/such/roster.csv"}},
            ["'roster' parameter of RosterSource", "existing roster file"],
        ),
        ({"arms": {"a": {}}, "cohort": {"n_mentors": 0}}, ["'n_mentors' parameter", "got 0"]),
        (
            {"arms": {"a": {}}, "behavior": {"meet_bass": 1}},
            ["Unknown key 'meet_bass'", "ExperimentSpec.behavior"],
        ),
        ({"arms": {"a": {}}, "behavior": {"learn_mentee": -1}}, ["'learn_mentee'", "got -1"]),
        (
            {"arms": {"a": {"match": {"constraints": {"same_dept": "forbidden"}}}}},
            ["Unknown key 'same_dept' in experiment.arms.a.match.constraints"],
        ),
        ({"arms": []}, ["'experiment.arms' entry must be a mapping"]),
        ({"arms": {"a": {}}, "replicates": 1.5}, ["'replicates' parameter", "got 1.5"]),
        ({"arms": {"a": {}}, "control": "yes"}, ["'control' parameter", "True or False"]),
    ],
)
def test_bad_specs_are_refused_with_one_sentence(data, words):
    with pytest.raises(InvalidParameterError) as info:
        ExperimentSpec.from_dict(data, "experiment")
    text = str(info.value)
    assert "\n" not in text
    for w in words:
        assert w in text, (w, text)


def test_tiny_numbers_survive_json_and_yaml():
    model = BehaviorModel(meet_base=1e-12, closure_base=-1e-300)
    assert BehaviorModel.from_dict(loads(model.to_json())) == model
    assert BehaviorModel.from_dict(loads(model.to_yaml())) == model


def test_yaml_syntax_error_is_one_sentence():
    with pytest.raises(
        InvalidParameterError, match=r"not valid YAML or JSON at line \d+, column \d+\.$"
    ):
        ExperimentSpec.from_yaml("arms:\n  a: [unclosed\n")


def test_callable_policy_cannot_be_saved_and_takes_no_match_options():
    def fixed(cohort, seed):
        raise AssertionError("not run")

    spec = ExperimentSpec(arms={"a": Arm(fixed)})
    with pytest.raises(InvalidParameterError, match="callable policy .* cannot be saved"):
        spec.to_dict()
    with pytest.raises(InvalidParameterError, match="callable policy"):
        _ = spec.fingerprint
    with pytest.raises(InvalidParameterError, match="'weights' parameter of MatchSpec"):
        MatchSpec(fixed, weights="balanced")


def test_roster_source_round_trips(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("id,role\nA,mentor\nB,mentee\n")
    spec = ExperimentSpec(cohort=RosterSource(str(path)), arms={"a": Arm()})
    assert ExperimentSpec.from_yaml(spec.to_yaml()) == spec
    assert len(spec.cohort.checksum()) == 64

"""Teaching helpers: small program simulations, the study and robustness examples, and the design test of notebook 5."""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from toolkit.teaching.examples import (
    BASELINE,
    BRIEF,
    CADENCE_CHOICES,
    CHECKIN_CHOICES,
    FLAG_CHOICES,
    OUTCOME_LABELS,
    POLICY_CHOICES,
    PROGRAM_COHORT,
    close_figure,
    styled,
    toolkit_api,
)

# --------------------------------------------------------------------------- programs


def _design(spec: Mapping[str, Any] | Any) -> Any:
    tk = toolkit_api()
    return spec if isinstance(spec, tk.ProgramDesign) else tk.ProgramDesign(**dict(spec))


def _run(
    arms: Mapping[str, tuple[str, Any]],
    replicates: int,
    seed: int,
    behavior: Any = None,
    tables: tuple[str, ...] = ("outcomes", "events"),
) -> Any:
    tk = toolkit_api()
    spec = tk.CohortSpec(
        n_mentors=PROGRAM_COHORT["n_mentors"], n_mentees=PROGRAM_COHORT["n_mentees"]
    )
    built = {name: tk.Arm(policy, _design(design)) for name, (policy, design) in arms.items()}
    return tk.run_experiment(
        spec,
        built,
        replicates=replicates,
        seed=seed,
        behavior=behavior,
        progress=False,
        tables=tables,
    )


def program_summary(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per arm: completion, meetings, gains, quality, coordinator hours per pair and per
    program (all replicates averaged)."""
    g = outcomes.groupby("arm", observed=True, sort=False)
    table = g[
        [
            "completed",
            "meetings_held",
            "mentee_gain",
            "mentor_gain",
            "final_quality",
            "hours_coordinator",
        ]
    ].mean()
    per_program = (
        outcomes.groupby(["arm", "replicate"], observed=True, sort=False)["hours_coordinator"]
        .sum()
        .groupby("arm", observed=True, sort=False)
        .mean()
    )
    table["coordinator hours per program"] = per_program
    return table.rename(columns=OUTCOME_LABELS)


@functools.lru_cache(maxsize=4)
def cadence_experiment(replicates: int = 8, seed: int = 3) -> Any:
    """Five small programs on the same cohorts: three cadences, then check-ins and what
    the coordinator does with a flag. Returns the experiment result (cached)."""
    arms = {
        "weekly": ("optimal", {"cadence": "weekly"}),
        "biweekly": ("optimal", {"cadence": "biweekly"}),
        "monthly": ("optimal", {"cadence": "monthly"}),
        "biweekly + check-ins": (
            "optimal",
            {"cadence": "biweekly", "checkins": "monthly", "on_flag": "coach"},
        ),
        # 36 mentors for 30 mentees: six are free for rematches, one mentee each.
        "biweekly + check-ins + rematch": (
            "optimal",
            {"cadence": "biweekly", "checkins": "monthly", "on_flag": "rematch"},
        ),
    }
    return _run(arms, replicates, seed, tables=("weeks", "outcomes", "events"))


@functools.lru_cache(maxsize=32)
def _program_run(
    cadence: str, checkins: str, on_flag: str, weeks: int, replicates: int, seed: int
) -> Any:
    arms = {
        "baseline": ("optimal", {"cadence": "biweekly", "duration_weeks": weeks}),
        "your design": (
            "optimal",
            {"cadence": cadence, "checkins": checkins, "on_flag": on_flag, "duration_weeks": weeks},
        ),
    }
    return _run(arms, replicates, seed)


def show_program(
    cadence: str = "weekly",
    checkins: str = "monthly",
    on_flag: str = "coach",
    weeks: int = 26,
    replicates: int = 4,
    seed: int = 1,
) -> None:
    """Simulate one design against the biweekly, no-check-in baseline; draw survival
    curves and the summary table."""
    from IPython.display import display

    tk = toolkit_api()
    try:
        res = _program_run(cadence, checkins, on_flag, weeks, replicates, seed)
    except tk.ToolkitError as exc:
        print(f"This design cannot run: {exc}")
        return
    fig = tk.km_plot(
        res.outcomes,
        title=f"Pairs still meeting: {cadence}, check-ins {checkins} vs the biweekly baseline",
    )
    display(fig)
    close_figure(fig)
    display(styled(program_summary(res.outcomes).T).format(precision=2))


def explore_program() -> Any:
    """Drop-downs for cadence, check-ins and flag action and a program-length slider."""
    import ipywidgets as w

    controls = {
        "cadence": w.Dropdown(options=CADENCE_CHOICES, value="weekly", description="cadence"),
        "checkins": w.Dropdown(options=CHECKIN_CHOICES, value="monthly", description="check-ins"),
        "on_flag": w.Dropdown(options=FLAG_CHOICES, value="coach", description="on a flag"),
        "weeks": w.IntSlider(value=26, min=12, max=52, step=2, description="weeks"),
    }
    out = w.interactive_output(show_program, controls)
    return w.VBox([w.HBox(list(controls.values())[:2]), w.HBox(list(controls.values())[2:]), out])


@functools.lru_cache(maxsize=4)
def study_example(replicates: int = 10, seed: int = 11) -> Any:
    """A four-arm study of practice levers on the same cohorts (cached)."""
    base = {"cadence": "biweekly"}
    arms = {
        "baseline": ("optimal", base),
        "goal setting": ("optimal", {**base, "goal_setting": True}),
        "mentee-led agenda": ("optimal", {**base, "structured_agenda": True}),
        "recognition": ("optimal", {**base, "recognition": True}),
    }
    return _run(arms, replicates, seed, tables=("outcomes",))


@functools.lru_cache(maxsize=8)
def robustness_example(
    parameter: str = "meet_overload",
    values: tuple[float, ...] | None = None,
    outcome: str = "completed",
    replicates: int = 8,
    seed: int = 13,
) -> pd.DataFrame:
    """Weekly minus biweekly on ``outcome`` when one assumption takes each of ``values``.

    ``values`` defaults to the two ends of the parameter's plausible range
    (``BehaviorModel.plausible_ranges()``). Each value runs the same cohorts and random
    draws with ``BehaviorModel().replace(parameter=value)``; the table has one row per
    value with the difference, its 95% Monte Carlo interval (simulation noise) and its sign.
    """
    tk = toolkit_api()
    if values is None:
        ranges = tk.BehaviorModel.plausible_ranges().set_index("parameter")
        values = (float(ranges.loc[parameter, "low"]), float(ranges.loc[parameter, "high"]))
    rows = []
    for value in values:
        behavior = tk.BehaviorModel().replace(**{parameter: value})
        res = _run(
            {
                "weekly": ("optimal", {"cadence": "weekly"}),
                "biweekly": ("optimal", {"cadence": "biweekly"}),
            },
            replicates,
            seed,
            behavior=behavior,
            tables=("outcomes",),
        )
        est = tk.compare_arms(res.outcomes, outcome, reference="biweekly")
        effect = "risk_difference" if "risk_difference" in set(est.effect) else "difference"
        row = est[(est.effect == effect) & (est.group == "weekly")].iloc[0]
        rows.append(
            {
                parameter: value,
                "weekly minus biweekly": row.estimate,
                "ci_low": row.ci_low,
                "ci_high": row.ci_high,
                "sign": "+" if row.estimate > 0 else "-" if row.estimate < 0 else "0",
                "clear": bool(row.ci_low > 0 or row.ci_high < 0),
            }
        )
    return pd.DataFrame(rows)


def robustness_verdict(table: pd.DataFrame) -> str:
    """One sentence on a :func:`robustness_example` table: robust, unclear or dependent.

    >>> t = pd.DataFrame({"sign": ["+", "+"], "clear": [True, True]})
    >>> robustness_verdict(t).startswith("Robust")
    True
    >>> robustness_verdict(t.assign(sign=["+", "-"], clear=[True, True])).startswith("Not robust")
    True
    """
    clear = table["clear"].to_numpy(bool)
    signs = set(table.loc[clear, "sign"])
    if clear.all() and len(signs) == 1:
        return (
            "Robust: the difference is clear and points the same way at every value of "
            "the assumption (its size still changes)."
        )
    if len(signs) > 1:
        return (
            "Not robust: the difference is clearly positive at one value and clearly "
            "negative at another, so the conclusion depends on this assumption."
        )
    if clear.any():
        return (
            "Fragile: the difference is clear at some values of the assumption but not "
            "at others; a report must say the finding depends on it."
        )
    return (
        "No clear difference at any value: the intervals include 0 everywhere, so there "
        "is no finding to be robust about (which is itself worth reporting)."
    )


# --------------------------------------------------------------------------- notebook 5


@dataclass(frozen=True)
class DesignTest:
    """A proposed design tested against the baseline on the brief's cohort."""

    design: Any
    policy: str
    summary: pd.DataFrame
    gain: pd.DataFrame
    completion: pd.DataFrame
    hours_per_program: float
    budget: float

    @property
    def within_budget(self) -> bool:
        return self.hours_per_program <= self.budget

    def _row(self, table: pd.DataFrame, effect: str) -> Any:
        return table[(table.effect == effect) & (table.group == "proposal")].iloc[0]

    @property
    def gain_difference(self) -> Any:
        """Row of the mentee-gain difference (proposal minus baseline)."""
        return self._row(self.gain, "difference")

    @property
    def completion_difference(self) -> Any:
        """Row of the completion risk difference (proposal minus baseline)."""
        return self._row(self.completion, "risk_difference")

    def _repr_html_(self) -> str:
        g, c = self.gain_difference, self.completion_difference
        verdict = "within" if self.within_budget else "over"
        return (
            f"<p><b>Your design ({html.escape(self.policy)} matching)</b> uses "
            f"{self.hours_per_program:.1f} coordinator hours per program: <b>{verdict}</b> the "
            f"budget of {self.budget:g} hours.</p>"
            f"<p>Mentee gain, proposal minus baseline: {g.estimate:+.3f} (95% Monte Carlo "
            f"interval {g.ci_low:+.3f} to {g.ci_high:+.3f}). Completion: {100 * c.estimate:+.1f} "
            f"percentage points (95% Monte Carlo interval {100 * c.ci_low:+.1f} to "
            f"{100 * c.ci_high:+.1f}; simulation noise over the simulated cohorts).</p>"
            + self.summary.T.to_html(float_format=lambda x: f"{x:.2f}")
        )

    def defend(self) -> str:
        """The numbers to defend the design with, in three plain sentences."""
        g, c = self.gain_difference, self.completion_difference
        return "\n".join(
            [
                f"Coordinator time: {self.hours_per_program:.1f} of the {self.budget:g} hours "
                f"budgeted per program ({'within' if self.within_budget else 'over'} budget).",
                f"Mentee digital-skill gain: {100 * g.estimate:+.1f} points on a 0-100 scale "
                f"compared with the baseline (95% Monte Carlo interval {100 * g.ci_low:+.1f} to "
                f"{100 * g.ci_high:+.1f}).",
                f"Pairs completing: {100 * c.estimate:+.1f} percentage points compared with the "
                f"baseline (95% Monte Carlo interval {100 * c.ci_low:+.1f} to "
                f"{100 * c.ci_high:+.1f}).",
            ]
        )

    def __repr__(self) -> str:
        g = self.gain_difference
        return (
            f"DesignTest(hours per program {self.hours_per_program:.1f} of "
            f"{self.budget:g}; mentee gain difference {g.estimate:+.3f})"
        )


class NoDesign:
    """What :func:`try_design` returns when it was not given a ProgramDesign."""

    def __init__(self, message: str) -> None:
        self.message = message

    def defend(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return self.message


@functools.lru_cache(maxsize=32)
def _try(design: Any, policy: str) -> DesignTest:
    tk = toolkit_api()
    baseline_policy, baseline = BASELINE
    res = _run(
        {
            "baseline": (baseline_policy, {**baseline, "duration_weeks": BRIEF["weeks"]}),
            "proposal": (policy, design),
        },
        BRIEF["replicates"],
        BRIEF["seed"],
        tables=("outcomes",),
    )
    out = res.outcomes
    summary = program_summary(out)
    hours = float(summary.loc["proposal", "coordinator hours per program"])
    return DesignTest(
        design=design,
        policy=policy,
        summary=summary,
        gain=tk.compare_arms(out, "mentee_gain", reference="baseline"),
        completion=tk.compare_arms(out, "completed", reference="baseline"),
        hours_per_program=hours,
        budget=BRIEF["coordinator_hours"],
    )


def try_design(design: Any, policy: str = "optimal") -> DesignTest | NoDesign:
    """Run ``design`` (a ProgramDesign) with ``policy`` matching against the baseline
    (random matching, biweekly, no check-ins) on the brief's cohort. Anything else than a
    ProgramDesign gets a sentence back, not an error."""
    tk = toolkit_api()
    if design is ... or design is None:
        return NoDesign("No design yet: set my_design = ProgramDesign(...) and run the cell again.")
    if not isinstance(design, tk.ProgramDesign):
        return NoDesign(
            f"my_design should be a ProgramDesign(...), not a "
            f"{type(design).__name__}; see the examples above."
        )
    if design.duration_weeks != BRIEF["weeks"]:
        return NoDesign(
            f"The brief is for a {BRIEF['weeks']}-week program; your design lasts "
            f"{design.duration_weeks} weeks. Set duration_weeks={BRIEF['weeks']}."
        )
    if policy not in POLICY_CHOICES:
        return NoDesign(
            f"The matching policy should be one of {', '.join(POLICY_CHOICES)}; got {policy!r}."
        )
    return _try(design, policy)

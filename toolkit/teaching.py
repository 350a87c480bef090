"""Helpers for the teaching notebooks shipped in ``toolkit/data/teaching/``.

The notebooks stay thin: the small simulations they run, the interactive widgets, the
exercise checks and the tools that turn solution notebooks into student versions and
HTML all live here. Everything is built on the public ``toolkit`` API only.

- **Small, fixed examples** (cached, so a notebook and its check cells share one run):
  :func:`teaching_cohort`, :func:`policy_table`, :func:`gains_and_losses`,
  :func:`cadence_experiment`, :func:`study_example`, :func:`robustness_example`,
  :func:`try_design`.
- **Views** that draw one static result (``show_*``) and **widgets** that re-run it when a
  slider or drop-down moves (``explore_*``). Calling a ``show_*`` function once with its
  defaults is the static fallback that HTML renderings keep.
- **Exercise checks**: :func:`check_answer` compares an answer with a value computed from
  the toolkit (never a number typed into this file), says whether it is right and gives a
  hint, never the answer. A wrong type or shape gets a sentence, never a traceback.
- **Course tools**: :func:`build_student_versions` (solution cells, tagged ``solution``,
  become blank answer cells), :func:`execute_notebook` and :func:`render_notebooks`. The
  notebooks ship inside the package (:data:`TEACHING_NOTEBOOKS`), so both work from any
  folder of an installed toolkit; kernels start through :mod:`toolkit.runs.kernel`, pages
  use :func:`toolkit.report.page`.

>>> check_answer("nb1_q3", "b").correct
True
>>> print(check_answer("nb1_q3", ...).message.split(":")[0])
Not yet
>>> print(check_answer("nb1_q3", [1, 2]).message)   # doctest: +ELLIPSIS
Not yet: this answer should be one letter ...
"""

from __future__ import annotations

import ast
import copy
import functools
import html
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "BASELINE",
    "BRIEF",
    "COURSE_AUDIENCE",
    "EXERCISES",
    "Exercise",
    "Feedback",
    "build_student_versions",
    "cadence_experiment",
    "check_answer",
    "execute_notebook",
    "explore_policies",
    "explore_program",
    "explore_weights",
    "gains_and_losses",
    "policy_table",
    "program_summary",
    "render_notebooks",
    "robustness_example",
    "robustness_verdict",
    "show_policies",
    "show_program",
    "show_weights",
    "study_example",
    "TEACHING_NOTEBOOKS",
    "teaching_cohort",
    "try_design",
    "weights_summary",
]

# Where the solution notebooks and the instructor guide ship (package data).
TEACHING_NOTEBOOKS = Path(__file__).resolve().parent / "data" / "teaching"
# Who the course is for (the instructor guide, README.md beside the notebooks, says the same).
COURSE_AUDIENCE = ("HR and L&D courses, organisational-behaviour classes and coordinators in "
                   "training; no programming needed")

# The course's cohort: small enough that every notebook runs in seconds.
COHORT = {"n_mentors": 24, "n_mentees": 20, "seed": 2024}
# Cohort template for the simulated programs (one fresh cohort per replicate).
PROGRAM_COHORT = {"n_mentors": 36, "n_mentees": 30}
POLICY_CHOICES = ("random", "greedy", "optimal", "stable", "maximin", "mentee_choice")
WEIGHT_CHOICES = ("balanced", "skills_first", "similarity_first", "diversity")
CADENCE_CHOICES = ("weekly", "biweekly", "every_3_weeks", "monthly", "front_loaded")
CHECKIN_CHOICES = ("none", "monthly", "survey_30_60")
FLAG_CHOICES = ("coach", "rematch", "close")
OUTCOME_LABELS = {
    "completed": "share of pairs completing",
    "meetings_held": "meetings held per pair",
    "mentee_gain": "mentee digital-skill gain (0-1 scale)",
    "mentor_gain": "mentor leadership gain (0-1 scale)",
    "final_quality": "relationship quality at the end (0-1)",
    "hours_coordinator": "coordinator hours per pair",
}
# Notebook 5's brief: what the program must achieve and what it may cost.
BRIEF: dict[str, Any] = {
    "mentees": PROGRAM_COHORT["n_mentees"],
    "mentors": PROGRAM_COHORT["n_mentors"],
    "weeks": 26,
    "coordinator_hours": 40.0,   # budget for the whole cohort over the program
    "replicates": 10,
    "seed": 5,
}
BASELINE = ("random", {"cadence": "biweekly", "checkins": "none"})


def _tk():
    """The public toolkit namespace (imported late: ``toolkit`` imports nothing from here)."""
    import toolkit

    return toolkit


# --------------------------------------------------------------------------- examples

@functools.lru_cache(maxsize=8)
def teaching_cohort(seed: int = COHORT["seed"]) -> Any:
    """The course's small cohort: 20 senior mentees and 24 junior mentors.

    >>> cohort = teaching_cohort()
    >>> cohort.participants["role"].value_counts().sort_index().tolist()
    [20, 24]
    """
    tk = _tk()
    return tk.generate_cohort(tk.CohortSpec(n_mentors=COHORT["n_mentors"],
                                            n_mentees=COHORT["n_mentees"], seed=seed))


def _weights_key(weights: str | Mapping[str, float]) -> Any:
    return weights if isinstance(weights, str) else tuple(sorted(dict(weights).items()))


@functools.lru_cache(maxsize=64)
def _match(weights_key: Any, policy: str, capacity: int = 1) -> Any:
    weights = weights_key if isinstance(weights_key, str) else dict(weights_key)
    return _tk().match(teaching_cohort(), policy, weights=weights, capacity=capacity, seed=1)


def matching(weights: str | Mapping[str, float] = "balanced", policy: str = "optimal",
             capacity: int = 1) -> Any:
    """The course cohort matched under ``policy`` with ``weights`` (cached)."""
    return _match(_weights_key(weights), policy, capacity)


def weights_summary(weights: str | Mapping[str, float] = "balanced",
                    policy: str = "optimal") -> pd.DataFrame:
    """Mean of each score component over the matched pairs and over all possible pairs,
    with the component's share of the total weight.

    >>> table = weights_summary("skills_first")
    >>> list(table.columns)
    ['component', 'matched pairs', 'all possible pairs', 'weight']
    """
    tk = _tk()
    m = matching(weights, policy)
    pairs = m.pairs
    every = tk.compatibility_matrix(teaching_cohort(), weights="balanced").components
    used = m.weights
    rows = []
    for name in tk.COMPONENTS:
        rows.append({"component": name.replace("_", " "),
                     "matched pairs": float(pairs[f"score_{name}"].mean()),
                     "all possible pairs": float(np.mean(every[name])),
                     "weight": float(used.get(name, 0.0))})
    return pd.DataFrame(rows)


def show_weights(weights: str | Mapping[str, float] = "balanced", policy: str = "optimal",
                 n_reasons: int = 5) -> None:
    """Draw what a weight profile does: component means, the mean score, a few reasons."""
    from IPython.display import display

    try:
        m = matching(weights, policy)
    except _tk().ToolkitError as exc:
        print(f"This combination cannot be matched: {exc}")
        return
    table = weights_summary(weights, policy)
    fig = _component_figure(table, f"What the {policy} matching with these weights favours")
    print(f"{m.metrics['n_pairs']} pairs, mean score {m.metrics['mean_score']:.3f}, "
          f"lowest pair {m.metrics['min_score']:.3f}.")
    display(fig)
    _close(fig)
    display(m.explain(top=2).head(n_reasons).style.hide(axis="index")
            .format({"score": "{:.3f}"}).set_properties(subset=["reasons"],
                                                         **{"text-align": "left"}))


def _component_figure(table: pd.DataFrame, title: str) -> Any:
    import matplotlib.pyplot as plt

    tk = _tk()
    tk.set_theme()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    y = np.arange(len(table))
    ax.barh(y + 0.2, table["matched pairs"], height=0.4, label="matched pairs", color="#0072B2")
    ax.barh(y - 0.2, table["all possible pairs"], height=0.4, label="all possible pairs",
            color="#BBBBBB")
    ax.set_yticks(y, [f"{c} ({w:.0%} of the weight)" for c, w in zip(
        table.component, table.weight, strict=True)])
    ax.set_xlim(0, 1)
    ax.set_xlabel("mean component score (0-1)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


def _close(fig: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


def explore_weights() -> Any:
    """Sliders for each component's weight and a policy drop-down; re-matches on change."""
    import ipywidgets as w

    tk = _tk()
    sliders = {name: w.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.5,
                                   description=name.replace("_", " "),
                                   style={"description_width": "170px"},
                                   layout=w.Layout(width="420px"))
               for name in tk.COMPONENTS}
    policy = w.Dropdown(options=POLICY_CHOICES, value="optimal", description="policy")

    def view(policy: str, **weights: float) -> None:
        if not any(v > 0 for v in weights.values()):
            print("Give at least one component a weight above 0.")
            return
        show_weights({k: v for k, v in weights.items() if v > 0}, policy)

    out = w.interactive_output(view, {"policy": policy, **sliders})
    return w.VBox([w.HBox([w.VBox(list(sliders.values())), policy]), out])


@functools.lru_cache(maxsize=16)
def policy_table(weights: str = "balanced", capacity: int = 1,
                 policies: tuple[str, ...] = POLICY_CHOICES) -> pd.DataFrame:
    """One row per policy on the course cohort: welfare, stability and fairness numbers.

    >>> table = policy_table()
    >>> bool(table.loc["optimal", "total score"] >= table["total score"].max() - 1e-9)
    True
    """
    rows = {}
    for p in policies:
        m = matching(weights, p, capacity)
        x = m.metrics
        rows[p] = {"pairs": x["n_pairs"], "total score": x["total_score"],
                   "mean score": x["mean_score"], "lowest pair score": x["min_score"],
                   "blocking pairs": x["blocking_pairs"],
                   "mentee's rank of partner": x["mean_mentee_rank"],
                   "mentor's rank of partner": x["mean_mentor_rank"],
                   "score gap by gender": x["score_gap"]}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("policy")


def gains_and_losses(policy: str = "stable", reference: str = "optimal",
                     weights: str = "balanced") -> pd.DataFrame:
    """Each mentee's pair score under ``policy`` and ``reference``, and the change.

    >>> table = gains_and_losses("stable", "optimal")
    >>> sorted(table.columns)
    ['change', 'mentee_id', 'score under optimal', 'score under stable']
    """
    a = matching(weights, policy).pairs.set_index("mentee_id")["score"]
    b = matching(weights, reference).pairs.set_index("mentee_id")["score"]
    ids = sorted(set(a.index) | set(b.index))
    out = pd.DataFrame({"mentee_id": ids,
                        f"score under {policy}": a.reindex(ids).to_numpy(),
                        f"score under {reference}": b.reindex(ids).to_numpy()})
    out["change"] = out[f"score under {policy}"] - out[f"score under {reference}"]
    return out


def show_policies(weights: str = "balanced", capacity: int = 1, policy: str = "stable",
                  reference: str = "optimal") -> None:
    """Draw the policy table and who gains and who loses moving from reference to policy."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(policy_table(weights, capacity).style.format(precision=3))
    if capacity != 1:
        print("(Who gains and who loses is shown for one mentee per mentor.)")
    g = gains_and_losses(policy, reference, weights).sort_values("change")
    _tk().set_theme()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    colors = np.where(g["change"].fillna(0) >= 0, "#009E73", "#D55E00")
    ax.bar(np.arange(len(g)), g["change"].fillna(0), color=colors)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("mentees, sorted by change")
    ax.set_ylabel("change in pair score")
    won = int((g["change"] > 1e-9).sum())
    lost = int((g["change"] < -1e-9).sum())
    ax.set_title(f"{policy} instead of {reference}: {won} mentees gain, {lost} lose")
    fig.tight_layout()
    display(fig)
    _close(fig)


def explore_policies() -> Any:
    """Drop-downs for weights, two policies and mentor capacity; redraws the comparison."""
    import ipywidgets as w

    controls = {
        "weights": w.Dropdown(options=WEIGHT_CHOICES, value="balanced", description="weights"),
        "capacity": w.IntSlider(value=1, min=1, max=2, description="capacity"),
        "policy": w.Dropdown(options=POLICY_CHOICES, value="stable", description="policy"),
        "reference": w.Dropdown(options=POLICY_CHOICES, value="optimal",
                                description="compared with"),
    }
    out = w.interactive_output(show_policies, controls)
    return w.VBox([w.HBox(list(controls.values())[:2]), w.HBox(list(controls.values())[2:]),
                   out])


# --------------------------------------------------------------------------- programs

def _design(spec: Mapping[str, Any] | Any) -> Any:
    tk = _tk()
    return spec if isinstance(spec, tk.ProgramDesign) else tk.ProgramDesign(**dict(spec))


def _run(arms: Mapping[str, tuple[str, Any]], replicates: int, seed: int,
         behavior: Any = None, tables: tuple[str, ...] = ("outcomes", "events")) -> Any:
    tk = _tk()
    spec = tk.CohortSpec(n_mentors=PROGRAM_COHORT["n_mentors"],
                         n_mentees=PROGRAM_COHORT["n_mentees"])
    built = {name: tk.Arm(policy, _design(design)) for name, (policy, design) in arms.items()}
    return tk.run_experiment(spec, built, replicates=replicates, seed=seed, behavior=behavior,
                             progress=False, tables=tables)


def program_summary(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per arm: completion, meetings, gains, quality, coordinator hours per pair and per
    program (all replicates averaged)."""
    g = outcomes.groupby("arm", observed=True, sort=False)
    table = g[["completed", "meetings_held", "mentee_gain", "mentor_gain",
               "final_quality", "hours_coordinator"]].mean()
    per_program = (outcomes.groupby(["arm", "replicate"], observed=True, sort=False)
                   ["hours_coordinator"].sum().groupby("arm", observed=True, sort=False).mean())
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
        "biweekly + check-ins": ("optimal", {"cadence": "biweekly", "checkins": "monthly",
                                             "on_flag": "coach"}),
        # 36 mentors for 30 mentees: six are free for rematches, one mentee each.
        "biweekly + check-ins + rematch": ("optimal", {
            "cadence": "biweekly", "checkins": "monthly", "on_flag": "rematch"}),
    }
    return _run(arms, replicates, seed, tables=("weeks", "outcomes", "events"))


@functools.lru_cache(maxsize=32)
def _program_run(cadence: str, checkins: str, on_flag: str, weeks: int,
                 replicates: int, seed: int) -> Any:
    arms = {"baseline": ("optimal", {"cadence": "biweekly", "duration_weeks": weeks}),
            "your design": ("optimal", {"cadence": cadence, "checkins": checkins,
                                        "on_flag": on_flag, "duration_weeks": weeks})}
    return _run(arms, replicates, seed)


def show_program(cadence: str = "weekly", checkins: str = "monthly", on_flag: str = "coach",
                 weeks: int = 26, replicates: int = 4, seed: int = 1) -> None:
    """Simulate one design against the biweekly, no-check-in baseline; draw survival
    curves and the summary table."""
    from IPython.display import display

    tk = _tk()
    try:
        res = _program_run(cadence, checkins, on_flag, weeks, replicates, seed)
    except tk.ToolkitError as exc:
        print(f"This design cannot run: {exc}")
        return
    fig = tk.km_plot(res.outcomes, title=f"Pairs still meeting: {cadence}, check-ins "
                     f"{checkins} vs the biweekly baseline")
    display(fig)
    _close(fig)
    display(program_summary(res.outcomes).T.style.format(precision=2))


def explore_program() -> Any:
    """Drop-downs for cadence, check-ins and flag action and a program-length slider."""
    import ipywidgets as w

    controls = {
        "cadence": w.Dropdown(options=CADENCE_CHOICES, value="weekly", description="cadence"),
        "checkins": w.Dropdown(options=CHECKIN_CHOICES, value="monthly",
                               description="check-ins"),
        "on_flag": w.Dropdown(options=FLAG_CHOICES, value="coach", description="on a flag"),
        "weeks": w.IntSlider(value=26, min=12, max=52, step=2, description="weeks"),
    }
    out = w.interactive_output(show_program, controls)
    return w.VBox([w.HBox(list(controls.values())[:2]), w.HBox(list(controls.values())[2:]),
                   out])


@functools.lru_cache(maxsize=4)
def study_example(replicates: int = 10, seed: int = 11) -> Any:
    """A four-arm study of practice levers on the same cohorts (cached)."""
    base = {"cadence": "biweekly"}
    arms = {"baseline": ("optimal", base),
            "goal setting": ("optimal", {**base, "goal_setting": True}),
            "mentee-led agenda": ("optimal", {**base, "structured_agenda": True}),
            "recognition": ("optimal", {**base, "recognition": True})}
    return _run(arms, replicates, seed, tables=("outcomes",))


@functools.lru_cache(maxsize=8)
def robustness_example(parameter: str = "meet_overload", values: tuple[float, ...] | None = None,
                       outcome: str = "completed", replicates: int = 8, seed: int = 13
                       ) -> pd.DataFrame:
    """Weekly minus biweekly on ``outcome`` when one assumption takes each of ``values``.

    ``values`` defaults to the two ends of the parameter's plausible range
    (``BehaviorModel.plausible_ranges()``). Each value runs the same cohorts and random
    draws with ``BehaviorModel().replace(parameter=value)``; the table has one row per
    value with the difference, its 95% CI and its sign.
    """
    tk = _tk()
    if values is None:
        ranges = tk.BehaviorModel.plausible_ranges().set_index("parameter")
        values = (float(ranges.loc[parameter, "low"]), float(ranges.loc[parameter, "high"]))
    rows = []
    for value in values:
        behavior = tk.BehaviorModel().replace(**{parameter: value})
        res = _run({"weekly": ("optimal", {"cadence": "weekly"}),
                    "biweekly": ("optimal", {"cadence": "biweekly"})},
                   replicates, seed, behavior=behavior, tables=("outcomes",))
        est = tk.compare_arms(res.outcomes, outcome, reference="biweekly")
        effect = "risk_difference" if "risk_difference" in set(est.effect) else "difference"
        row = est[(est.effect == effect) & (est.group == "weekly")].iloc[0]
        rows.append({parameter: value, "weekly minus biweekly": row.estimate,
                     "ci_low": row.ci_low, "ci_high": row.ci_high,
                     "sign": "+" if row.estimate > 0 else "-" if row.estimate < 0 else "0",
                     "clear": bool(row.ci_low > 0 or row.ci_high < 0)})
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
        return ("Robust: the difference is clear and points the same way at every value of "
                "the assumption (its size still changes).")
    if len(signs) > 1:
        return ("Not robust: the difference is clearly positive at one value and clearly "
                "negative at another, so the conclusion depends on this assumption.")
    if clear.any():
        return ("Fragile: the difference is clear at some values of the assumption but not "
                "at others; a report must say the finding depends on it.")
    return ("No clear difference at any value: the intervals include 0 everywhere, so there "
            "is no finding to be robust about (which is itself worth reporting).")


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
            f"<p>Mentee gain, proposal minus baseline: {g.estimate:+.3f} (95% CI "
            f"{g.ci_low:+.3f} to {g.ci_high:+.3f}). Completion: {100 * c.estimate:+.1f} "
            f"percentage points (95% CI {100 * c.ci_low:+.1f} to {100 * c.ci_high:+.1f}).</p>"
            + self.summary.T.to_html(float_format=lambda x: f"{x:.2f}"))

    def defend(self) -> str:
        """The numbers to defend the design with, in three plain sentences."""
        g, c = self.gain_difference, self.completion_difference
        return "\n".join([
            f"Coordinator time: {self.hours_per_program:.1f} of the {self.budget:g} hours "
            f"budgeted per program ({'within' if self.within_budget else 'over'} budget).",
            f"Mentee digital-skill gain: {100 * g.estimate:+.1f} points on a 0-100 scale "
            f"compared with the baseline (95% CI {100 * g.ci_low:+.1f} to "
            f"{100 * g.ci_high:+.1f}).",
            f"Pairs completing: {100 * c.estimate:+.1f} percentage points compared with the "
            f"baseline (95% CI {100 * c.ci_low:+.1f} to {100 * c.ci_high:+.1f}).",
        ])

    def __repr__(self) -> str:
        g = self.gain_difference
        return (f"DesignTest(hours per program {self.hours_per_program:.1f} of "
                f"{self.budget:g}; mentee gain difference {g.estimate:+.3f})")


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
    tk = _tk()
    baseline_policy, baseline = BASELINE
    res = _run({"baseline": (baseline_policy, {**baseline, "duration_weeks": BRIEF["weeks"]}),
                "proposal": (policy, design)}, BRIEF["replicates"], BRIEF["seed"],
               tables=("outcomes",))
    out = res.outcomes
    summary = program_summary(out)
    hours = float(summary.loc["proposal", "coordinator hours per program"])
    return DesignTest(design=design, policy=policy, summary=summary,
                      gain=tk.compare_arms(out, "mentee_gain", reference="baseline"),
                      completion=tk.compare_arms(out, "completed", reference="baseline"),
                      hours_per_program=hours, budget=BRIEF["coordinator_hours"])


def try_design(design: Any, policy: str = "optimal") -> DesignTest | NoDesign:
    """Run ``design`` (a ProgramDesign) with ``policy`` matching against the baseline
    (random matching, biweekly, no check-ins) on the brief's cohort. Anything else than a
    ProgramDesign gets a sentence back, not an error."""
    tk = _tk()
    if design is ... or design is None:
        return NoDesign("No design yet: set my_design = ProgramDesign(...) and run the cell "
                        "again.")
    if not isinstance(design, tk.ProgramDesign):
        return NoDesign(f"my_design should be a ProgramDesign(...), not a "
                        f"{type(design).__name__}; see the examples above.")
    if design.duration_weeks != BRIEF["weeks"]:
        return NoDesign(f"The brief is for a {BRIEF['weeks']}-week program; your design lasts "
                        f"{design.duration_weeks} weeks. Set duration_weeks={BRIEF['weeks']}.")
    if policy not in POLICY_CHOICES:
        return NoDesign(f"The matching policy should be one of {', '.join(POLICY_CHOICES)}; "
                        f"got {policy!r}.")
    return _try(design, policy)


# --------------------------------------------------------------------------- checks

@dataclass(frozen=True)
class Feedback:
    """The verdict of a check cell: ``correct`` and a message (never the answer)."""

    key: str
    correct: bool
    message: str

    def __repr__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        color = "#e6f4ea" if self.correct else "#fdecea"
        border = "#009E73" if self.correct else "#D55E00"
        return (f'<div class="rmt-check" style="background:{color};border-left:4px solid '
                f'{border};padding:6px 10px;margin:4px 0">{html.escape(self.message)}</div>')

    def __bool__(self) -> bool:
        return self.correct


class _Unanswered(Exception):
    """Internal: the answer is still the blank placeholder."""


class _WrongForm(Exception):
    """Internal: the answer has the wrong type or shape; the message is for the student."""


def _is_blank(answer: Any) -> bool:
    return answer is ... or answer is None or (isinstance(answer, str) and not answer.strip())


def _as_number(answer: Any, integer: bool = False) -> float:
    what = "a whole number" if integer else "a number"
    if isinstance(answer, bool):
        raise _WrongForm(f"this answer should be {what}, not True or False.")
    if isinstance(answer, np.ndarray) and answer.size == 1:
        answer = answer.item()
    if isinstance(answer, pd.Series | pd.DataFrame | np.ndarray | list | tuple | dict | set):
        raise _WrongForm(f"this answer should be a single number, not a "
                         f"{type(answer).__name__} of several values; pick out the one "
                         "number asked for.")
    if isinstance(answer, str):
        raise _WrongForm(f"this answer should be {what}, not text in quotes; write it "
                         "without quotes, e.g. answer = 0.42.")
    if not isinstance(answer, Real) or not math.isfinite(float(answer)):
        raise _WrongForm(f"this answer should be {what}; got a {type(answer).__name__}.")
    value = float(answer)
    if integer and value != round(value):
        raise _WrongForm("this answer should be a whole number (a count), not a fraction.")
    return value


def _as_choice(answer: Any, options: Sequence[str]) -> str:
    letters = ", ".join(repr(o) for o in options)
    if not isinstance(answer, str):
        raise _WrongForm(f"this answer should be one letter in quotes ({letters}); got a "
                         f"{type(answer).__name__}.")
    text = answer.strip().strip(").").strip().lower()
    if text not in options:
        raise _WrongForm(f"this answer should be one of {letters}; got {answer!r}.")
    return text


def _as_name(answer: Any, options: Sequence[str]) -> str:
    names = ", ".join(repr(o) for o in options)
    if not isinstance(answer, str):
        raise _WrongForm(f"this answer should be a name in quotes, one of {names}; got a "
                         f"{type(answer).__name__}.")
    text = answer.strip().strip("'\"").lower().replace(" ", "_")
    if text not in options:
        raise _WrongForm(f"this answer should be one of {names}; got {answer!r}.")
    return text


def _as_yes_no(answer: Any) -> bool:
    if isinstance(answer, bool | np.bool_):
        return bool(answer)
    if isinstance(answer, str) and answer.strip().lower() in ("yes", "no"):
        return answer.strip().lower() == "yes"
    raise _WrongForm(f"this answer should be 'yes' or 'no' (or True or False); got "
                     f"{answer!r}.")


@dataclass(frozen=True)
class Exercise:
    """One exercise: how to read an answer and how to know the right one.

    ``kind`` is ``number``, ``count``, ``choice`` (a letter), ``name`` (one of
    ``options``), ``yes_no`` or ``design``. ``expected`` computes the right value from the
    toolkit when called (for ``choice`` it may be a fixed letter). ``tolerance`` is
    absolute for numbers; ``share`` marks a number between 0 and 1 (a percentage given
    instead gets a sentence saying so).
    """

    key: str
    kind: str
    expected: Callable[[], Any] | str
    hint: str
    why: str = ""
    tolerance: float = 0.0
    options: tuple[str, ...] = ()
    share: bool = False

    def value(self) -> Any:
        return self.expected() if callable(self.expected) else self.expected


def _nb1_q1() -> float:
    return matching("skills_first", "optimal").metrics["mean_score"]


def _nb1_q2() -> int:
    a = matching("balanced", "optimal").pairs.set_index("mentee_id")["mentor_id"]
    b = matching("similarity_first", "optimal").pairs.set_index("mentee_id")["mentor_id"]
    ids = sorted(set(a.index) | set(b.index))
    return int((a.reindex(ids) != b.reindex(ids)).sum())


def _nb2_q1() -> int:
    return int(policy_table().loc["optimal", "blocking pairs"])


def _nb2_q2() -> str:
    return str(policy_table()["lowest pair score"].idxmax())


def _nb2_q3() -> int:
    return int((gains_and_losses("stable", "optimal")["change"] < -1e-9).sum())


def _nb3_q1() -> float:
    out = cadence_experiment().outcomes
    return float(out.loc[out.arm == "monthly", "completed"].mean())


def _nb3_q2() -> float:
    return float(program_summary(cadence_experiment().outcomes).loc[
        "biweekly + check-ins", "coordinator hours per program"])


def _contrast(table: pd.DataFrame, group: str, reference: str, effect: str = "difference"
              ) -> Any:
    return table[(table.effect == effect) & (table.group == group)
                 & (table.reference == reference)].iloc[0]


@functools.lru_cache(maxsize=1)
def _study_gain() -> pd.DataFrame:
    return _tk().compare_arms(study_example().outcomes, "mentee_gain", reference="baseline",
                              adjust="holm")


def _nb4_q1() -> bool:
    row = _contrast(_study_gain(), "recognition", "baseline")
    return bool(row.ci_low > 0 or row.ci_high < 0)


def _nb4_q2() -> int:
    return int((_study_gain().effect == "difference").sum())


def _nb4_q3() -> float:
    tk = _tk()
    # Simulation i uses the same seed at every size, so power at n = 100 alone equals the
    # notebook's curve at 100 (the bootstrap only sets the MCSE, which is not checked).
    curve = tk.power_curve(tk.TwoArmNormal(effect=0.3), tk.DifferenceInMeans(),
                           sizes=[100], sims=200, seed=4, executor="serial",
                           progress=False, bootstrap=2)
    return float(curve[(curve.diagnosand == "power") & (curve.n == 100)].estimate.iloc[0])


_power_curve_example = functools.lru_cache(maxsize=1)(_nb4_q3)


def _nb5_design() -> str:
    return ("a design within the budget whose mentee gain is clearly above the baseline's "
            "and whose completion is not clearly below it")


EXERCISES: dict[str, Exercise] = {e.key: e for e in (
    Exercise("nb1_q1", "number", _nb1_q1, tolerance=0.0015,
             hint="Match the course cohort with policy 'optimal' and weights 'skills_first', "
                  "then read 'mean_score' from the matching's metrics.",
             why="Weights change what 'a good pair' means, so they change the scores too."),
    Exercise("nb1_q2", "count", _nb1_q2,
             hint="Compare the mentor_id of each mentee in the two matchings' pairs tables "
                  "(balanced vs similarity_first, both 'optimal'); count the differences.",
             why="Changing the weights re-draws a good share of the pairs."),
    Exercise("nb1_q3", "choice", "b", options=("a", "b", "c", "d"),
             hint="Which component measures what the mentor can teach in the mentee's goal "
                  "domains?",
             why="Complementarity is the heart of reverse mentoring: each side brings what "
                 "the other wants to learn."),
    Exercise("nb2_q1", "count", _nb2_q1,
             hint="Look at the 'blocking pairs' column of policy_table() in the 'optimal' row.",
             why="Maximising the total can leave pairs who would both rather swap."),
    Exercise("nb2_q2", "name", _nb2_q2, options=POLICY_CHOICES,
             hint="Which row of policy_table() has the largest 'lowest pair score'?",
             why="Protecting the worst-off pair is a different goal from the best total."),
    Exercise("nb2_q3", "count", _nb2_q3,
             hint="In gains_and_losses('stable', 'optimal'), count the mentees whose "
                  "'change' is below zero.",
             why="Every policy has winners and losers; a fair choice says who they are."),
    Exercise("nb2_q4", "choice", "c", options=("a", "b", "c", "d"),
             hint="Think about what a blocking pair is: two people who both prefer each "
                  "other to their current partners.",
             why="Stability is about nobody having a reason to walk away together, not about "
                 "totals or equality."),
    Exercise("nb3_q1", "number", _nb3_q1, tolerance=0.0051, share=True,
             hint="Take the outcomes table of cadence_experiment(), keep the 'monthly' arm, "
                  "and average the 'completed' column (a share between 0 and 1).",
             why="Completion alone can hide that rarer meetings teach less."),
    Exercise("nb3_q2", "number", _nb3_q2, tolerance=0.051,
             hint="Look at the 'coordinator hours per program' column of the summary table "
                  "in the 'biweekly + check-ins' row.",
             why="Check-ins are not free: every one costs coordinator time."),
    Exercise("nb3_q3", "choice", "d", options=("a", "b", "c", "d"),
             hint="A survival curve counts pairs still active; what makes a curve drop?",
             why="A steep early drop means pairs end before they have really started: a "
                 "first-meeting check-in targets exactly that."),
    Exercise("nb4_q1", "yes_no", _nb4_q1,
             hint="Find the 'difference' row for recognition vs baseline in the adjusted "
                  "table; does its 95% interval include 0?",
             why="A clear difference is one whose interval leaves out zero."),
    Exercise("nb4_q2", "count", _nb4_q2,
             hint="Count the rows whose effect is 'difference' in compare_arms' output: one "
                  "per pair of arms.",
             why="With k arms there are k(k-1)/2 comparisons, and each one is a chance of "
                 "a false alarm."),
    Exercise("nb4_q3", "number", _power_curve_example, tolerance=0.0051, share=True,
             hint="Read the 'power' row at n = 100 from the power curve above.",
             why="Power is the share of simulated studies that find the true effect."),
    Exercise("nb4_q4", "choice", "a", options=("a", "b", "c", "d"),
             hint="Which sentence reports an estimate with its uncertainty and no more?",
             why="A report may state estimates with intervals on the simulated population; "
                 "it may not promise results for a real program."),
    Exercise("nb5_design", "design", _nb5_design,
             hint="Keep the coordinator hours within the budget (fewer check-ins, or coach "
                  "rather than rematch), use levers that raise learning (matching, agenda, "
                  "goals, training) and watch that more meetings do not cost completion.",
             why="A design earns its place with numbers: a clear gain at a cost you can "
                 "afford."),
)}


def _verdict(ex: Exercise, answer: Any, policy: Any) -> tuple[bool, str]:
    if ex.kind == "design":
        result = try_design(answer, policy)
        if isinstance(result, NoDesign):
            raise _WrongForm(result.message[0].lower() + result.message[1:])
        if not result.within_budget:
            return False, (f"your design needs {result.hours_per_program:.1f} coordinator "
                           f"hours per program, over the budget of {result.budget:g}.")
        if not result.gain_difference.ci_low > 0:
            return False, ("your design is within the budget, but its mentee gain is not "
                           "clearly above the baseline's (the interval includes 0).")
        if result.completion_difference.ci_high < 0:
            return False, ("your design raises learning within the budget, but clearly more "
                           "pairs end early than under the baseline.")
        return True, ""
    # Read the answer first: a wrong type or shape needs no simulation to be told so.
    if ex.kind in ("number", "count"):
        value = _as_number(answer, integer=ex.kind == "count")
        expected = float(ex.value())
        if abs(value - expected) <= ex.tolerance + 1e-12:
            return True, ""
        if ex.share and 1 < value <= 100:
            return False, ("that looks like a percentage; give it as a share between 0 and "
                           "1 (e.g. 0.25 for 25%).")
        side = "high" if value > expected else "low"
        return False, f"that is too {side}."
    if ex.kind == "choice":
        return _as_choice(answer, ex.options) == ex.value(), "that is not the best option."
    if ex.kind == "name":
        return _as_name(answer, ex.options) == ex.value(), "that is not the one."
    if ex.kind == "yes_no":
        return _as_yes_no(answer) == bool(ex.value()), "look again at the interval."
    raise ValueError(f"unknown exercise kind {ex.kind!r}")


def check_answer(key: str, answer: Any, *, policy: Any = "optimal") -> Feedback:
    """Check ``answer`` to exercise ``key``; a Feedback that says right or not, with a hint.

    ``policy`` is the matching policy of a proposed design (notebook 5 only).

    Never raises for a student's answer: a blank, a wrong type or shape, or a value the
    check cannot read all come back as a sentence. An unknown ``key`` is the notebook's
    mistake and also comes back as a sentence.

    >>> check_answer("nb1_q1", "0.5").message.startswith("Not yet: this answer should be")
    True
    """
    ex = EXERCISES.get(key) if isinstance(key, str) else None
    if ex is None:
        return Feedback(str(key), False, f"There is no exercise called {key!r}; the check "
                        f"cell may have been edited. Exercises: {', '.join(EXERCISES)}.")
    if _is_blank(answer):
        return Feedback(key, False, "Not yet: there is no answer here. Replace ... with your "
                        "answer in the cell above, run it, then run this check again.")
    try:
        correct, why_not = _verdict(ex, answer, policy)
    except _WrongForm as exc:
        return Feedback(key, False, f"Not yet: {exc} Hint: {ex.hint}")
    except Exception as exc:  # noqa: BLE001 - a check cell must never show a traceback
        return Feedback(key, False, f"Not yet: the check could not read this answer "
                        f"({type(exc).__name__}). Hint: {ex.hint}")
    if correct:
        return Feedback(key, True, f"Correct! {ex.why}".strip())
    return Feedback(key, False, f"Not yet: {why_not} Hint: {ex.hint}")


# --------------------------------------------------------------------------- course tools

SOLUTION_TAG = "solution"
CHECK_TAG = "check"
ANSWER_TAG = "answer"


def _write_atomic(path: Path, text: str) -> None:
    from toolkit._io import replace_text

    replace_text(path, text)


def _notebooks(source: str | os.PathLike) -> list[Path]:
    tk = _tk()
    src = Path(source)
    if not src.is_dir():
        raise tk.InvalidParameterError(
            f"The 'source' parameter of rmt teaching must be a folder of notebooks; got "
            f"{str(src)!r}, which is not a folder.")
    found = sorted(p for p in src.glob("*.ipynb") if not p.name.startswith("_"))
    if not found:
        raise tk.InvalidParameterError(
            f"The 'source' parameter of rmt teaching must be a folder of notebooks; "
            f"{str(src)!r} has no .ipynb file.")
    return found


def _check_out(out: str | os.PathLike, source: Path) -> Path:
    tk = _tk()
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise tk.OutputPathError(f"The output folder {str(path)!r} is an existing file.")
    if path.resolve() == source.resolve():
        raise tk.OutputPathError(f"The output folder {str(path)!r} is the source folder; "
                                 "choose another so the solutions are not overwritten.")
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


def build_student_versions(source: str | os.PathLike = TEACHING_NOTEBOOKS,
                           out: str | os.PathLike = "build/teaching") -> list[Path]:
    """Write a student version of every notebook in ``source`` into ``out``.

    Solution cells (tagged ``solution``) become blank answer cells; outputs are removed.
    The instructor guide is not copied (it discusses the solutions). Files are written to
    a temporary name and renamed. Returns the paths written.
    """
    import nbformat

    notebooks = _notebooks(source)
    target = _check_out(out, Path(source))
    written = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        student = student_version(nb)
        nbformat.validate(student)
        dest = target / path.name
        _write_atomic(dest, nbformat.writes(student))
        written.append(dest)
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
        axes = [f"{k} axis {lab}" for k, lab in (("x", ax.get_xlabel()), ("y", ax.get_ylabel()))
                if lab]
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
    found = re.findall(r"^### Session (\d+):.*\((\d+) min\)", guide.read_text(encoding="utf-8"),
                       flags=re.MULTILINE)
    return {int(k): int(m) for k, m in found}


def render_notebooks(source: str | os.PathLike = TEACHING_NOTEBOOKS,
                     out: str | os.PathLike = "reports/teaching", *,
                     timeout: int = 300) -> list[tuple[Path, float]]:
    """Execute every notebook of ``source`` and write it as HTML into ``out``.

    Also writes ``index.html``, laid out like the study index: each session's title,
    audience and duration, a warning that the pages include the solutions, and a link
    back to the studies. Returns ``(html path, seconds to execute)`` for each notebook.
    Nothing is written for a notebook that fails: its error propagates.
    """
    from nbconvert import HTMLExporter

    from toolkit.report import page

    notebooks = _notebooks(source)
    target = _check_out(out, Path(source))
    # The "basic" template is cells only: no CDN require.js, MathJax, web fonts or widget
    # manager, so the page opens offline and asks no outside host for anything (widgets
    # show their static fallback figure).
    exporter = HTMLExporter(template_name="basic", embed_images=True)
    done = []
    for path in notebooks:
        start = time.perf_counter()
        nb = execute_notebook(path, timeout=timeout)
        seconds = time.perf_counter() - start
        body, _ = exporter.from_notebook_node(nb)
        dest = target / f"{path.stem}.html"
        footer = ('<a href="index.html">All teaching notebooks</a>. Generated by the '
                  "reverse-mentoring toolkit; numbers are simulated.")
        _write_atomic(dest, page(_title(path), body, footer, notebook=True))
        done.append((dest, seconds))
    _write_atomic(target / "index.html", teaching_index(
        [(dest, src) for (dest, _), src in zip(done, notebooks, strict=True)], source))
    return done


def teaching_index(pages: Sequence[tuple[Path, Path]],
                   source: str | os.PathLike = TEACHING_NOTEBOOKS) -> str:
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
        items.append(f'<section class="study"><h2><a href="{esc(dest.name)}">'
                     f"{esc(_title(src))}</a></h2><p><strong>Audience.</strong> "
                     f"{esc(COURSE_AUDIENCE)}. <strong>Duration.</strong> {esc(duration)}."
                     "</p></section>")
    body = ("<h1>Teaching notebooks: a short course on mentoring design</h1>"
            '<p class="warning"><strong>These pages include the solutions.</strong> They are '
            "for instructors and for reading after class; hand students the versions made by "
            "<code>rmt teaching build</code>, whose answer cells are blank.</p>"
            + "".join(items)
            + '<p><a href="../index.html">Back to the design studies</a></p>')
    return page("Teaching notebooks", body)


def _title(path: Path) -> str:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


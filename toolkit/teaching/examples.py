"""Teaching helpers: the course's constants, small matching examples, their views and widgets."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Where the solution notebooks and the instructor guide ship (package data).
TEACHING_NOTEBOOKS = Path(__file__).resolve().parents[1] / "data" / "teaching"
# Who the course is for (the instructor guide, README.md beside the notebooks, says the same).
COURSE_AUDIENCE = (
    "HR and L&D courses, organisational-behaviour classes and coordinators in "
    "training; no programming needed"
)

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
    "coordinator_hours": 40.0,  # budget for the whole cohort over the program
    "replicates": 10,
    "seed": 5,
}
BASELINE = ("random", {"cadence": "biweekly", "checkins": "none"})


def toolkit_api():
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
    tk = toolkit_api()
    return tk.generate_cohort(
        tk.CohortSpec(n_mentors=COHORT["n_mentors"], n_mentees=COHORT["n_mentees"], seed=seed)
    )


def _weights_key(weights: str | Mapping[str, float]) -> Any:
    return weights if isinstance(weights, str) else tuple(sorted(dict(weights).items()))


@functools.lru_cache(maxsize=64)
def _match(weights_key: Any, policy: str, capacity: int = 1) -> Any:
    weights = weights_key if isinstance(weights_key, str) else dict(weights_key)
    return toolkit_api().match(
        teaching_cohort(), policy, weights=weights, capacity=capacity, seed=1
    )


def matching(
    weights: str | Mapping[str, float] = "balanced", policy: str = "optimal", capacity: int = 1
) -> Any:
    """The course cohort matched under ``policy`` with ``weights`` (cached)."""
    return _match(_weights_key(weights), policy, capacity)


def weights_summary(
    weights: str | Mapping[str, float] = "balanced", policy: str = "optimal"
) -> pd.DataFrame:
    """Mean of each score component over the matched pairs and over all possible pairs,
    with the component's share of the total weight.

    >>> table = weights_summary("skills_first")
    >>> list(table.columns)
    ['component', 'matched pairs', 'all possible pairs', 'weight']
    """
    tk = toolkit_api()
    m = matching(weights, policy)
    pairs = m.pairs
    every = tk.compatibility_matrix(teaching_cohort(), weights="balanced").components
    used = m.weights
    rows = []
    for name in tk.COMPONENTS:
        rows.append(
            {
                "component": name.replace("_", " "),
                "matched pairs": float(pairs[f"score_{name}"].mean()),
                "all possible pairs": float(np.mean(every[name])),
                "weight": float(used.get(name, 0.0)),
            }
        )
    return pd.DataFrame(rows)


def show_weights(
    weights: str | Mapping[str, float] = "balanced", policy: str = "optimal", n_reasons: int = 5
) -> None:
    """Draw what a weight profile does: component means, the mean score, a few reasons."""
    from IPython.display import display

    try:
        m = matching(weights, policy)
    except toolkit_api().ToolkitError as exc:
        print(f"This combination cannot be matched: {exc}")
        return
    table = weights_summary(weights, policy)
    fig = _component_figure(table, f"What the {policy} matching with these weights favours")
    print(
        f"{m.metrics['n_pairs']} pairs, mean score {m.metrics['mean_score']:.3f}, "
        f"lowest pair {m.metrics['min_score']:.3f}."
    )
    display(fig)
    close_figure(fig)
    display(
        styled(m.explain(top=2).head(n_reasons))
        .hide(axis="index")
        .format({"score": "{:.3f}"})
        .set_properties(subset=["reasons"], **{"text-align": "left"})
    )


def _component_figure(table: pd.DataFrame, title: str) -> Any:
    import matplotlib.pyplot as plt

    tk = toolkit_api()
    tk.set_theme()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    y = np.arange(len(table))
    ax.barh(y + 0.2, table["matched pairs"], height=0.4, label="matched pairs", color="#0072B2")
    ax.barh(
        y - 0.2,
        table["all possible pairs"],
        height=0.4,
        label="all possible pairs",
        color="#BBBBBB",
    )
    ax.set_yticks(
        y,
        [
            f"{c} ({w:.0%} of the weight)"
            for c, w in zip(table.component, table.weight, strict=True)
        ],
    )
    ax.set_xlim(0, 1)
    ax.set_xlabel("mean component score (0-1)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


def close_figure(fig: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


def explore_weights() -> Any:
    """Sliders for each component's weight and a policy drop-down; re-matches on change."""
    import ipywidgets as w

    tk = toolkit_api()
    sliders = {
        name: w.FloatSlider(
            value=1.0,
            min=0.0,
            max=3.0,
            step=0.5,
            description=name.replace("_", " "),
            style={"description_width": "170px"},
            layout=w.Layout(width="420px"),
        )
        for name in tk.COMPONENTS
    }
    policy = w.Dropdown(options=POLICY_CHOICES, value="optimal", description="policy")

    def view(policy: str, **weights: float) -> None:
        if not any(v > 0 for v in weights.values()):
            print("Give at least one component a weight above 0.")
            return
        show_weights({k: v for k, v in weights.items() if v > 0}, policy)

    out = w.interactive_output(view, {"policy": policy, **sliders})
    return w.VBox([w.HBox([w.VBox(list(sliders.values())), policy]), out])


@functools.lru_cache(maxsize=16)
def policy_table(
    weights: str = "balanced", capacity: int = 1, policies: tuple[str, ...] = POLICY_CHOICES
) -> pd.DataFrame:
    """One row per policy on the course cohort: welfare, stability and fairness numbers.

    >>> table = policy_table()
    >>> bool(table.loc["optimal", "total score"] >= table["total score"].max() - 1e-9)
    True
    """
    rows = {}
    for p in policies:
        m = matching(weights, p, capacity)
        x = m.metrics
        rows[p] = {
            "pairs": x["n_pairs"],
            "total score": x["total_score"],
            "mean score": x["mean_score"],
            "lowest pair score": x["min_score"],
            "blocking pairs": x["blocking_pairs"],
            "mentee's rank of partner": x["mean_mentee_rank"],
            "mentor's rank of partner": x["mean_mentor_rank"],
            "score gap by gender": x["score_gap"],
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("policy")


def gains_and_losses(
    policy: str = "stable", reference: str = "optimal", weights: str = "balanced"
) -> pd.DataFrame:
    """Each mentee's pair score under ``policy`` and ``reference``, and the change.

    >>> table = gains_and_losses("stable", "optimal")
    >>> sorted(table.columns)
    ['change', 'mentee_id', 'score under optimal', 'score under stable']
    """
    a = matching(weights, policy).pairs.set_index("mentee_id")["score"]
    b = matching(weights, reference).pairs.set_index("mentee_id")["score"]
    ids = sorted(set(a.index) | set(b.index))
    out = pd.DataFrame(
        {
            "mentee_id": ids,
            f"score under {policy}": a.reindex(ids).to_numpy(),
            f"score under {reference}": b.reindex(ids).to_numpy(),
        }
    )
    out["change"] = out[f"score under {policy}"] - out[f"score under {reference}"]
    return out


def styled(frame: pd.DataFrame) -> Any:
    """``frame.style`` with an id made from the table's content, not a random one, so a page
    rendered twice is the same bytes (pandas gives every Styler a random id by default)."""
    import hashlib

    digest = hashlib.sha256(frame.to_csv().encode("utf-8")).hexdigest()[:10]
    return frame.style.set_uuid(digest)


def show_policies(
    weights: str = "balanced", capacity: int = 1, policy: str = "stable", reference: str = "optimal"
) -> None:
    """Draw the policy table and who gains and who loses moving from reference to policy."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(styled(policy_table(weights, capacity)).format(precision=3))
    if capacity != 1:
        print("(Who gains and who loses is shown for one mentee per mentor.)")
    g = gains_and_losses(policy, reference, weights).sort_values("change")
    toolkit_api().set_theme()
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
    close_figure(fig)


def explore_policies() -> Any:
    """Drop-downs for weights, two policies and mentor capacity; redraws the comparison."""
    import ipywidgets as w

    controls = {
        "weights": w.Dropdown(options=WEIGHT_CHOICES, value="balanced", description="weights"),
        "capacity": w.IntSlider(value=1, min=1, max=2, description="capacity"),
        "policy": w.Dropdown(options=POLICY_CHOICES, value="stable", description="policy"),
        "reference": w.Dropdown(
            options=POLICY_CHOICES, value="optimal", description="compared with"
        ),
    }
    out = w.interactive_output(show_policies, controls)
    return w.VBox([w.HBox(list(controls.values())[:2]), w.HBox(list(controls.values())[2:]), out])

"""The course's exercises: each question and how its answer is computed from the toolkit
(never a number typed into this file)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from toolkit.teaching.examples import (
    POLICY_CHOICES,
    gains_and_losses,
    matching,
    policy_table,
    toolkit_api,
)
from toolkit.teaching.programs import (
    cadence_experiment,
    program_summary,
    study_example,
)

# --------------------------------------------------------------------------- checks


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
    return float(
        program_summary(cadence_experiment().outcomes).loc[
            "biweekly + check-ins", "coordinator hours per program"
        ]
    )


def _contrast(table: pd.DataFrame, group: str, reference: str, effect: str = "difference") -> Any:
    return table[
        (table.effect == effect) & (table.group == group) & (table.reference == reference)
    ].iloc[0]


@functools.lru_cache(maxsize=1)
def _study_gain() -> pd.DataFrame:
    return toolkit_api().compare_arms(
        study_example().outcomes, "mentee_gain", reference="baseline", adjust="holm"
    )


def _nb4_q1() -> bool:
    row = _contrast(_study_gain(), "recognition", "baseline")
    return bool(row.ci_low > 0 or row.ci_high < 0)


def _nb4_q2() -> int:
    return int((_study_gain().effect == "difference").sum())


def _nb4_q3() -> float:
    tk = toolkit_api()
    # Simulation i uses the same seed at every size, so power at n = 100 alone equals the
    # notebook's curve at 100 (the bootstrap only sets the MCSE, which is not checked).
    curve = tk.power_curve(
        tk.TwoArmNormal(effect=0.3),
        tk.DifferenceInMeans(),
        sizes=[100],
        sims=200,
        seed=4,
        executor="serial",
        progress=False,
        bootstrap=2,
    )
    return float(curve[(curve.diagnosand == "power") & (curve.n == 100)].estimate.iloc[0])


_power_curve_example = functools.lru_cache(maxsize=1)(_nb4_q3)


def _nb5_design() -> str:
    return (
        "a design within the budget whose mentee gain is clearly above the baseline's "
        "and whose completion is not clearly below it"
    )


# Notebook 6 fits the example program's logs with a small reference table (the notebook
# uses the same settings; ``rmt fit`` uses 10,000 simulations).
NB6_POINTS = 600
NB6_WEEK = 14
NB6_PROGRAMS = 4


@functools.lru_cache(maxsize=1)
def _own_program() -> tuple[Any, Any, Any]:
    from toolkit.fitting import example_logs, fit_program
    from toolkit.logs import read_logs
    from toolkit.watch import watch_list

    logs = read_logs(example_logs())
    fit = fit_program(logs, points=NB6_POINTS, progress=False)
    watch = watch_list(logs, fit.ensemble, week=NB6_WEEK, programs=NB6_PROGRAMS)
    return logs, fit, watch


def _nb6_q1() -> int:
    pairs = _own_program()[0].pairs
    return int((pairs["end"].notna() & (pairs["reason"] != "completed")).sum())


def _nb6_q2() -> str:
    table = _own_program()[1].parameters
    return str(table.sort_values("contraction").iloc[0]["parameter"])


def _nb6_q3() -> int:
    return int((_own_program()[2].table.head(10)["bucket"] == "needs a check-in").sum())


def _nb6_q4() -> bool:
    scores = _own_program()[2].scores.set_index("score")["brier"]
    return bool(scores["model"] <= 0.9 * scores.drop("model").min())


EXERCISES: dict[str, Exercise] = {
    e.key: e
    for e in (
        Exercise(
            "nb1_q1",
            "number",
            _nb1_q1,
            tolerance=0.0015,
            hint="Match the course cohort with policy 'optimal' and weights 'skills_first', "
            "then read 'mean_score' from the matching's metrics.",
            why="Weights change what 'a good pair' means, so they change the scores too.",
        ),
        Exercise(
            "nb1_q2",
            "count",
            _nb1_q2,
            hint="Compare the mentor_id of each mentee in the two matchings' pairs tables "
            "(balanced vs similarity_first, both 'optimal'); count the differences.",
            why="Changing the weights re-draws a good share of the pairs.",
        ),
        Exercise(
            "nb1_q3",
            "choice",
            "b",
            options=("a", "b", "c", "d"),
            hint="Which component measures what the mentor can teach in the mentee's goal domains?",
            why="Complementarity is the heart of reverse mentoring: each side brings what "
            "the other wants to learn.",
        ),
        Exercise(
            "nb2_q1",
            "count",
            _nb2_q1,
            hint="Look at the 'blocking pairs' column of policy_table() in the 'optimal' row.",
            why="Maximising the total can leave pairs who would both rather swap.",
        ),
        Exercise(
            "nb2_q2",
            "name",
            _nb2_q2,
            options=POLICY_CHOICES,
            hint="Which row of policy_table() has the largest 'lowest pair score'?",
            why="Protecting the worst-off pair is a different goal from the best total.",
        ),
        Exercise(
            "nb2_q3",
            "count",
            _nb2_q3,
            hint="In gains_and_losses('stable', 'optimal'), count the mentees whose "
            "'change' is below zero.",
            why="Every policy has winners and losers; a fair choice says who they are.",
        ),
        Exercise(
            "nb2_q4",
            "choice",
            "c",
            options=("a", "b", "c", "d"),
            hint="Think about what a blocking pair is: two people who both prefer each "
            "other to their current partners.",
            why="Stability is about nobody having a reason to walk away together, not about "
            "totals or equality.",
        ),
        Exercise(
            "nb3_q1",
            "number",
            _nb3_q1,
            tolerance=0.0051,
            share=True,
            hint="Take the outcomes table of cadence_experiment(), keep the 'monthly' arm, "
            "and average the 'completed' column (a share between 0 and 1).",
            why="Completion alone can hide that rarer meetings teach less.",
        ),
        Exercise(
            "nb3_q2",
            "number",
            _nb3_q2,
            tolerance=0.051,
            hint="Look at the 'coordinator hours per program' column of the summary table "
            "in the 'biweekly + check-ins' row.",
            why="Check-ins are not free: every one costs coordinator time.",
        ),
        Exercise(
            "nb3_q3",
            "choice",
            "d",
            options=("a", "b", "c", "d"),
            hint="A survival curve counts pairs still active; what makes a curve drop?",
            why="A steep early drop means pairs end before they have really started: a "
            "first-meeting check-in targets exactly that.",
        ),
        Exercise(
            "nb4_q1",
            "yes_no",
            _nb4_q1,
            hint="Find the 'difference' row for recognition vs baseline in the adjusted "
            "table; does its 95% interval include 0?",
            why="A clear difference is one whose interval leaves out zero.",
        ),
        Exercise(
            "nb4_q2",
            "count",
            _nb4_q2,
            hint="Count the rows whose effect is 'difference' in compare_arms' output: one "
            "per pair of arms.",
            why="With k arms there are k(k-1)/2 comparisons, and each one is a chance of "
            "a false alarm.",
        ),
        Exercise(
            "nb4_q3",
            "number",
            _power_curve_example,
            tolerance=0.0051,
            share=True,
            hint="Read the 'power' row at n = 100 from the power curve above.",
            why="Power is the share of simulated studies that find the true effect.",
        ),
        Exercise(
            "nb4_q4",
            "choice",
            "a",
            options=("a", "b", "c", "d"),
            hint="Which sentence reports an estimate with its uncertainty and no more?",
            why="A report may state estimates with intervals on the simulated population; "
            "it may not promise results for a real program.",
        ),
        Exercise(
            "nb6_q1",
            "count",
            _nb6_q1,
            hint="In logs.pairs, count the rows that have an end date and a reason other "
            "than 'completed'.",
            why="Every early ending is one pair the program lost; the fit learns from when "
            "and why they ended.",
        ),
        Exercise(
            "nb6_q2",
            "name",
            _nb6_q2,
            options=(
                "meet_base",
                "meet_gap",
                "engagement_miss",
                "closure_base",
                "closure_outside",
                "closure_gap",
                "mentee_hours_month",
            ),
            hint="Sort fit.parameters by the 'contraction' column; the smallest is the input "
            "the logs narrowed most.",
            why="How often pairs hold their meetings is written all over the logs; what a "
            "missed meeting costs is not.",
        ),
        Exercise(
            "nb6_q3",
            "count",
            _nb6_q3,
            hint="Take the first 10 rows of watch.table and count the rows whose 'bucket' is "
            "'needs a check-in'.",
            why="The rule and the model mostly agree on who is at risk; the model adds a "
            "probability you can check against what happened.",
        ),
        Exercise(
            "nb6_q4",
            "yes_no",
            _nb6_q4,
            hint="In watch.scores, compare the model's Brier score with 0.9 times the "
            "smallest Brier score of the three rules.",
            why="Most endings in this program come from outside events that nothing in the "
            "logs foretells, so no score can do much better than the base rate.",
        ),
        Exercise(
            "nb5_design",
            "design",
            _nb5_design,
            hint="Keep the coordinator hours within the budget (fewer check-ins, or coach "
            "rather than rematch), use levers that raise learning (matching, agenda, "
            "goals, training) and watch that more meetings do not cost completion.",
            why="A design earns its place with numbers: a clear gain at a cost you can afford.",
        ),
    )
}

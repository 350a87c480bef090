"""The early-warning part of study ``checkin_cadence``: watch arms whose flags change nothing,
each rule's warning per planned check-in (``toolkit.analysis.checkin_warning``) and, secondary,
its ever-flagged warning (``toolkit.analysis.early_warning``), with their sentences; and the
note on lever effects. A mixin of :class:`~toolkit.studies.checkin_cadence.CheckinCadence`
(it uses the study's ``params``, ``_design``, ``run``, ``spec``, ``labels`` and ``plan``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

from toolkit.studies._words import cap

__all__ = ["EarlyWarning"]


class EarlyWarning:
    """Early warning of closure, per check-in and ever-flagged, for a check-in study."""

    params: Any
    if TYPE_CHECKING:  # the study's (BaseStudy.labels)

        @property
        def labels(self) -> dict[str, str]: ...

    plan: pd.DataFrame
    spec: Any
    _design: Callable[..., Any]
    run: Callable[..., Any]

    def watch_arms(self) -> dict[str, Any]:
        """Arms that record flags and do nothing about them (``on_flag="none"``), one per
        check-in plan: monthly always (trigger rules are judged at its check-ins), the
        30/60-day surveys when compared."""
        from toolkit.experiment import Arm, MatchSpec

        p = self.params
        plans = ["monthly"] + (["survey_30_60"] if "survey_30_60" in p.schedules else [])
        match = MatchSpec(p.policy, capacity=p.capacity)
        return {f"watch+{c}": Arm(match, self._design(checkins=c, on_flag="none")) for c in plans}

    @cached_property
    def _watch(self) -> Any:
        """The watch arms run on the study's cohorts and seed (same matchings)."""
        from toolkit.experiment import ExperimentSpec

        p = self.params
        return self.run(
            ("weeks", "outcomes", "events"),
            spec=ExperimentSpec(
                cohort=self.spec.cohort,
                arms=self.watch_arms(),
                replicates=p.replicates,
                seed=p.seed,
            ),
        )

    def checkin_warning_table(self) -> pd.DataFrame:
        """Per planned check-in (person-period), how well each rule warns of closure within
        8 weeks (``toolkit.analysis.checkin_warning``): the check-in rating at or below
        ``flag_rating``, ``no_meeting_weeks`` weeks without a meeting, and a rule that flags
        at random at the rating rule's flag rate (no information: LR+ about 1, AUC about
        0.5; the reference)."""
        from toolkit.analysis import checkin_warning

        p, res = self.params, self._watch
        rating = {f"rating <= {p.flag_rating:g}": ("rating", p.flag_rating)}
        first = checkin_warning(res.events, res.outcomes, rating, lead_weeks=8, seed=p.seed)
        rate = float(first.n_flagged.sum() / max(int(first.n_checkins.sum()), 1))
        rules = {
            **rating,
            f"no meeting for {p.no_meeting_weeks} weeks": (
                "weeks_since_meeting",
                p.no_meeting_weeks,
            ),
            f"random at {rate:.0%}": ("random", rate),
        }
        out = checkin_warning(
            res.events, res.outcomes, rules, lead_weeks=8, seed=p.seed, weeks=res.weeks
        )
        out["arm"] = out["arm"].astype(str).str.replace("watch+", "", regex=False)
        return out.rename(columns={"arm": "checkins"})

    def early_warning_table(self) -> pd.DataFrame | None:
        """SECONDARY: each rule's ever-flagged early warning (``toolkit.analysis.
        early_warning``): sensitivity, precision against the base rate, median lead time.
        A pair counts as flagged if the rule ever fired, so long-lived pairs are flagged
        eventually (exposure bias); judge rules by :meth:`checkin_warning_table`. None with
        no rule."""
        from toolkit.analysis import early_warning

        p = self.params
        plan = {
            "monthly": "monthly",
            "survey_30_60": "survey_30_60",
            "no_first_meeting": "none",
            "no_meeting_streak": "none",
        }
        rules = {
            "monthly": ("rating", p.flag_rating),
            "survey_30_60": ("rating", p.flag_rating),
            "no_first_meeting": ("no_first_meeting", p.first_meeting_week),
            "no_meeting_streak": ("weeks_since_meeting", p.no_meeting_weeks),
        }
        watched = [s for s in p.schedules if s != "none"]
        if not watched:
            return None
        res = self._watch
        rows = []
        for schedule in watched:
            at = "checkins" if plan[schedule] != "none" else "every_week"
            arm = f"watch+{plan[schedule] if plan[schedule] != 'none' else 'monthly'}"
            pick = [t[t["arm"].astype(str) == arm] for t in (res.weeks, res.outcomes, res.events)]
            table = early_warning(
                pick[0], pick[1], {schedule: rules[schedule]}, events=pick[2], at=at
            )
            rows.append(
                table.drop(columns=["arm"]).assign(
                    evaluated=("at planned check-ins" if at == "checkins" else "every week")
                )
            )
        return pd.concat(rows, ignore_index=True).rename(columns={"rule": "schedule"})

    @staticmethod
    def warning_findings(warning: pd.DataFrame) -> list[str]:
        """One sentence per check-in plan and rule of :meth:`checkin_warning_table`."""
        from toolkit.report import fmt_number

        return [
            f"At {r.checkins.replace('_', ' ')} check-ins, {r.rule}: sensitivity "
            f"{fmt_number(100 * r.sensitivity, 0)}%, specificity "
            f"{fmt_number(100 * r.specificity, 0)}%, LR+ {fmt_number(r.lr_positive, 2)}, "
            f"PPV {fmt_number(100 * r.ppv, 0)}% against a base rate of "
            f"{fmt_number(100 * r.base_rate, 0)}%, AUC {fmt_number(r.auc, 2)} "
            f"({r.n_checkins} check-ins)."
            for r in warning.itertuples(index=False)
        ]

    def closure_findings(self, closures: pd.DataFrame) -> list[str]:
        """Per arm, the reason most closures were recorded as."""
        from toolkit.report import fmt_number

        order = {a: k for k, a in enumerate(self.plan["arm"])}
        top = (
            closures.sort_values("share", ascending=False, kind="stable")
            .drop_duplicates("arm")
            .sort_values("arm", key=lambda a: a.map(order))
        )
        return [
            f"{cap(self.labels.get(r.arm, r.arm))}: most closures were recorded as "
            f"{r.reason.replace('_', ' ')} ({fmt_number(100 * r.share, 0)}% of "
            f"{int(closures[closures.arm == r.arm].closures.sum())})."
            for r in top.itertuples(index=False)
        ]

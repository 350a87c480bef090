"""The prose part of the study contract: :class:`Prose`, the mixin of
:class:`~toolkit.studies._base.BaseStudy` that names arms, words the mechanism's shared
sentences (cohort, models, levers, Monte Carlo error), lists the limitations, saves the tables
and shows the findings, figures and standard closing sections of the report."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from toolkit.studies._notebook import (
    save_table,
    show_figure,
    show_findings,
    show_limitations,
    show_methods,
    show_parameters,
    show_reproduce,
)

__all__ = ["DEFAULT_ANSWER", "Prose"]

MODEL_LIMITATION = "The numbers come from a simulation model, not from observed programs: "
ROSTER_NOTE = (
    "With a real roster every replicate uses the same people, so the intervals "
    "describe this roster, not programs in general."
)
MODELS_NOTE = (
    "The findings first give each headline over the plausible models (the ensemble "
    "the calibration targets do not rule out); every table and figure after them, "
    "and every further finding, is the answer of the default model alone."
)
DEFAULT_ANSWER = (
    "The default model's answer (one parameter set; its Monte Carlo error is "
    "simulation noise, not an interval about programs)"
)


class Prose:
    """Words, limitations and the report's standard sections (mixed into ``BaseStudy``)."""

    params: Any
    spec: Any
    if TYPE_CHECKING:  # AcrossModels' (the mixin before this one in BaseStudy)

        @property
        def models_enabled(self) -> bool: ...

    arms: Callable[[], dict[str, Any]]
    arm_words: Callable[[str], str]
    mechanism_text: Callable[[], str]
    model_limitation: ClassVar[str | None] = None  # completes MODEL_LIMITATION
    notes: ClassVar[tuple[str, ...]] = ()  # further limitations ({params.x} is filled in)
    roster_note: ClassVar[str] = ROSTER_NOTE

    @cached_property
    def labels(self) -> dict[str, str]:
        """Each arm in words (:meth:`arm_words`), in the spec's order."""
        return {a: self.arm_words(a) for a in self.arms()}

    @staticmethod
    def closure_table(result: Any) -> Any:
        """Closures by recorded reason per arm (``toolkit.analysis.closure_reasons``)."""
        from toolkit.analysis import closure_reasons

        return closure_reasons(result.events.assign(arm=result.events["arm"].astype(str)))

    def levers_words(self) -> str:
        """Which lever effects (scenario inputs, never findings) the arms use, in words."""
        from toolkit.studies._words import scenario_note

        return scenario_note(a.design for a in self.arms().values())

    def models_words(self, per: str) -> str:
        """Which model runs what, for the mechanism text (``per``: an arm, in words)."""
        p = self.params
        return (
            "The week-by-week model (meetings held or missed, quality, two-way learning, "
            "engagement, fading and closure) runs under every plausible model of the ensemble "
            f"for the headlines ({p.n_models} models, {p.model_replicates} programs per {per} "
            "and model) and under its default parameters for everything else."
        )

    def completion_error_text(
        self, estimates: Any, per: str, tail: str, se: str = "se", **where: Any
    ) -> str:
        """:meth:`mc_error_text` of the completion contrasts (rows with a reference) among
        ``estimates`` (columns equal to ``where``; ``se``: the standard error column)."""
        from toolkit.studies._common import contrasts

        rows = contrasts(estimates, "completed", "risk_difference", **where)
        return self.mc_error_text(rows[se].to_numpy() * 100, per, tail)

    def mc_error_text(self, se_points: Any, per: str, tail: str = "") -> str:
        """The Monte Carlo error of the completion differences (standard errors in
        percentage points) in words."""
        from toolkit.studies._words import se_span

        return (
            f"All uncertainty here is Monte Carlo error from {self.params.replicates} "
            f"replicates {per}. The standard error of the completion differences is "
            f"{se_span(se_points)}; it shrinks with the square root of the number of "
            f"replicates{tail}"
        )

    def limitations(self) -> list[str]:
        """The assumptions the findings depend on: the model's, the study's own notes, what
        the across-model run covers, and what a roster means."""
        out = [MODEL_LIMITATION + self.model_limitation] if self.model_limitation else []
        out += [n.format(params=self.params) for n in self.notes]
        if self.models_enabled:
            out.append(MODELS_NOTE)
        if getattr(self.params, "roster", None) is not None:
            out.append(self.roster_note)
        return out

    def cohort_words(self) -> str:
        """Who the programs are run with, in words (for the mechanism text)."""
        p = self.params
        if getattr(p, "roster", None) is not None:
            return "the people of a real roster (the same cohort in every replicate, matched anew)"
        return (
            f"a fresh synthetic cohort of {p.n_mentors} mentors and {p.n_mentees} mentees "
            "per replicate"
        )

    def save_tables(self, **tables: Any) -> None:
        """Save each named table under ``tables/`` (None is skipped)."""
        for name, frame in tables.items():
            if frame is not None:
                save_table(frame, name)

    def show_findings(
        self, findings: list[str], more: Mapping[str, list[str]] | None = None, across: Any = None
    ) -> None:
        """The findings section. With ``across`` (:attr:`across`) the findings lead with each
        headline over the plausible models and ``findings`` (the default model's answers)
        follow under their own label; otherwise ``findings`` alone."""
        if across is None:
            show_findings(findings, more=more)
            return
        show_findings(
            across.sentences,
            more={
                "Each verdict with its Monte Carlo error": list(across.details),
                DEFAULT_ANSWER: list(findings),
                **(more or {}),
            },
            across=across.records(),
        )

    @staticmethod
    def show_figures(figures: list[tuple]) -> None:
        """Save and show each (figure, name, caption)."""
        for fig, name, caption in figures:
            show_figure(fig, name, caption)

    def show_sections(
        self, *, aims: str, estimands: list[str], methods: str, performance: str
    ) -> None:
        """The standard closing sections: methods (ADEMP) with the mechanism, the parameters,
        the limitations and the command that reproduces the run."""
        show_methods(
            aims=aims,
            mechanism=self.mechanism_text(),
            estimands=estimands,
            methods=methods,
            performance=performance,
            params=self.params,
        )
        show_parameters(self.params)
        show_limitations(self.limitations())
        show_reproduce(self.params)

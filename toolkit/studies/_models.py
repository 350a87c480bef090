"""The across-model part of the study contract: :class:`AcrossModels`, the mixin of
:class:`~toolkit.studies._base.BaseStudy` that runs every headline over the plausible models
(``ModelsGroup``: ``models``, ``n_models``, ``model_replicates``; the machinery is in
``toolkit.studies._across``) and words, tables, draws and shows the result."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, ClassVar

from toolkit.studies._notebook import show_figure, show_table
from toolkit.studies._params import ModelsGroup

__all__ = ["OUTCOME_WORDS", "AcrossModels", "across_figure"]

#: How a headline's outcome reads: verb phrases, unit, scale, and which way is better.
OUTCOME_WORDS = {
    "completed": {
        "more": "keeps more pairs to the end",
        "less": "keeps fewer pairs to the end",
        "unit": "points",
        "scale": 100.0,
        "higher_is_better": True,
    },
}


class AcrossModels:
    """Every headline over the plausible models (mixed into ``BaseStudy``)."""

    name: ClassVar[str]
    params: Any
    spec: Any
    headlines: Callable[[], list[Any]]  # of Headline (toolkit.studies._base)
    _in_memory: Callable[[Any], Any]

    @property
    def models_enabled(self) -> bool:
        """Whether the study runs its headlines over plausible models (``ModelsGroup``)."""
        return isinstance(self.params, ModelsGroup)

    @cached_property
    def ensemble(self) -> Any:
        """The plausible models (``models``, default the committed ensemble): its first
        ``n_models`` (read once per process)."""
        from toolkit.errors import InvalidParameterError
        from toolkit.studies._common import load_models

        ens = load_models(self.params.models)
        if self.params.n_models > len(ens):
            raise InvalidParameterError(
                f"The 'n_models' parameter of study {self.name} must be at most the "
                f"{len(ens)} models of the ensemble; got {self.params.n_models}."
            )
        ens = ens.take(self.params.n_models)
        held = self.held_inputs(ens)
        if held:  # scenario inputs are the user's to set: never varied across models
            from dataclasses import replace as copy

            ens = copy(ens, models=ens.models.drop(columns=held))
        return ens

    @staticmethod
    def held_inputs(ensemble: Any) -> list[str]:
        """The scenario inputs (levers, ``BehaviorModel.scenario_inputs()``) an ensemble
        varies: the studies hold them at the values the design sets instead."""
        from toolkit.behavior import BehaviorModel

        levers = set(BehaviorModel.scenario_inputs())
        return [c for c in ensemble.parameters if c in levers]

    def ensemble_spec(self) -> Any:
        """The spec the across-model run starts from (the study's, roster in memory)."""
        return self._in_memory(self.spec)

    @cached_property
    def across(self) -> Any:
        """Every headline over the plausible models (``toolkit.studies._across``), run once."""
        from toolkit.studies._across import across_models

        return across_models(self)

    #: Outcome columns :meth:`derive` reads besides the headlines' outcomes (the across-model
    #: run keeps only these and the headlines' own, ``run_experiment(outcome_columns=...)``).
    derive_inputs: ClassVar[tuple[str, ...]] = ()

    def derive(self, outcomes: Any) -> Any:
        """The across-model run's outcomes with any column a headline's outcome needs
        (default: unchanged)."""
        return outcomes

    def arm_words(self, arm: str) -> str:
        """An arm named in a sentence (a singular noun phrase)."""
        return arm

    @staticmethod
    def outcome_words(headline: Any) -> dict[str, Any]:
        """How a headline's outcome reads: more, less, unit, scale, higher_is_better."""
        name = headline.outcome.replace("_", " ")
        return OUTCOME_WORDS.get(
            headline.outcome,
            {
                "more": f"gives more {name}",
                "less": f"gives less {name}",
                "unit": "",
                "scale": 100.0 if headline.effect == "risk_difference" else 1.0,
                "higher_is_better": True,
            },
        )

    def across_tables(self) -> dict[str, Any]:
        """The across-model tables to save: the numbers per headline, every model's answer,
        the spread drivers and the PRIM boxes."""
        from toolkit.studies._across import across_table

        a = self.across
        return {
            "across_models": across_table(a),
            "model_answers": a.per_model(),
            "spread_drivers": a.drivers_table(),
            "sign_boxes": a.boxes_table(),
        }

    def across_methods(self) -> str:
        """How the across-model findings were computed, with the Monte Carlo check."""
        from toolkit.studies._across import methods_text

        return methods_text(self.across)

    def show_across(self) -> None:
        """The across-model section: the readable table and the figure of every model's
        answer to every headline."""
        from toolkit.studies._across import across_report

        def scale(h: Any) -> float:
            return float(self.outcome_words(h)["scale"])

        units = {self.outcome_words(h)["unit"] for h in self.headlines()}
        show_table(
            across_report(self.across, self.arm_words, scale),
            f"Each headline over the {self.across.models} plausible models: the median "
            "and the share of models above zero with their Monte Carlo error (±), the "
            "interval that holds 90% of the models' answers, and the verdict",
        )
        show_figure(
            across_figure(
                self.across,
                self.arm_words,
                scale,
                " / ".join(sorted(u for u in units if u)) or "outcome units",
            ),
            "across_models",
            "Each plausible model's answer to each headline (a dot per model: the mean "
            "over its replicates); black: the median and the 90% interval over models. "
            "The spread is disagreement between models the evidence allows, not "
            "simulation noise.",
        )


def across_figure(result: Any, words: Any, scale: Any, unit: str) -> Any:
    """Each headline's answer in every plausible model (a dot per model), with the median and
    the 90% interval over models; the dashed line is no difference. ``result`` is a
    ``toolkit.studies._across.AcrossModels``."""
    import textwrap

    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heads = result.headlines
    fig, ax = plt.subplots(figsize=(8.5, 0.75 * len(heads) + 1.4))
    rng = np.random.default_rng(0)  # jitter only: no result depends on it
    labels = []
    for i, (h, f) in enumerate(zip(heads, result.findings, strict=True)):
        y = len(heads) - 1 - i
        est = f.per_model.estimate.to_numpy() * scale(h)
        ax.scatter(
            est,
            y + rng.uniform(-0.18, 0.18, len(est)),
            s=6,
            alpha=0.35,
            color="#4c72b0",
            linewidths=0,
        )
        s = f.summary
        ax.plot([s["q05"] * scale(h), s["q95"] * scale(h)], [y, y], color="black", lw=2)
        ax.plot([s["median"] * scale(h)], [y], "o", color="black", ms=6)
        labels.append(f"{words(h.arm)} vs {words(h.reference)}")
    ax.axvline(0, color="grey", ls="--", lw=1)
    # long arm names wrap, so the plot keeps most of the width
    ax.set_yticks(range(len(heads)), [textwrap.fill(x, 40) for x in labels[::-1]])
    ax.set_xlabel(f"difference ({unit})")
    fig.suptitle("Each headline over the plausible models")
    fig.alt_text = (  # type: ignore[attr-defined]  # read by the report
        "Dot plot: for each headline contrast, one dot per plausible model, with "
        "the median and the 90% interval over models; "
        + "; ".join(
            f"{lab}: median {f.summary['median'] * scale(h):.3g}, "
            f"{f.summary['share_positive']:.0%} of models above zero"
            for lab, h, f in zip(labels, heads, result.findings, strict=True)
        )
    )
    fig.tight_layout()
    return fig

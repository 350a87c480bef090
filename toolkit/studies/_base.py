"""The study contract: :class:`BaseStudy`, the base class every study subclasses, and the
:class:`Study` record the host side (``toolkit.runs``) reads.

Like Mesa's ``Model``, the base class owns the plumbing and a study declares only its own
parts. A study declares

- ``name``, ``title``, ``question`` and ``Parameters`` (a :class:`StudyParameters` subclass,
  usually built from the shared groups :class:`CohortGroup`, :class:`RosterGroup` and
  :class:`ModelsGroup`);
- :meth:`BaseStudy.arms`: the experiment's arms (name -> ``toolkit.experiment.Arm``);
- :meth:`BaseStudy.headlines`: its headline contrasts (arm, reference, outcome), the one
  place a study names them; each runs over the plausible models (:attr:`BaseStudy.across`), and
  the sweep table's rows are the estimates of all of them;
- its analysis, findings, figures and prose (``mechanism_text``, ``performance_text``,
  ``model_limitation`` and ``notes``), as plain methods the notebook calls.

The base class builds the experiment spec once (:attr:`BaseStudy.spec`), reads a roster once
per process, simulates (:meth:`BaseStudy.run`), runs every headline over the plausible models
(:attr:`BaseStudy.across`, ``toolkit.studies._across``) and gives the sweep rows; its prose
mixin (``toolkit.studies._prose``) writes the shared sentences, the limitations and the
standard sections of the report (:meth:`BaseStudy.show_sections`). ``CONTRIBUTING.md`` has the
recipe for a new study.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from toolkit.studies._models import AcrossModels
from toolkit.studies._notebook import (
    FINDINGS_FILE,
    figure_html,
    output_dir,
    read_findings,
    save_figure,
    save_table,
    show_figure,
    show_findings,
    show_html,
    show_limitations,
    show_methods,
    show_parameters,
    show_reproduce,
    show_table,
)
from toolkit.studies._params import (
    SEED_STREAMS,
    Cadence,
    Capacity,
    CohortGroup,
    ModelsGroup,
    Policy,
    RosterGroup,
    StudyParameters,
    canonical_json,
    cli_text,
    is_list_annotation,
    parse_value,
)
from toolkit.studies._prose import DEFAULT_ANSWER, Prose

# the contract and the notebook helpers (``toolkit.studies`` re-exports every name)
__all__ = [
    "DEFAULT_ANSWER",
    "BaseStudy",
    "Cadence",
    "Capacity",
    "CohortGroup",
    "Headline",
    "ModelsGroup",
]
__all__ += ["Policy", "RosterGroup", "SEED_STREAMS", "Study", "StudyParameters", "cli_text"]
__all__ += ["canonical_json", "is_list_annotation", "notebook_path", "parse_value"]
__all__ += ["FINDINGS_FILE", "figure_html", "output_dir", "read_findings", "save_figure"]
__all__ += ["save_table", "show_figure", "show_findings", "show_html", "show_limitations"]
__all__ += ["show_methods", "show_parameters", "show_reproduce", "show_table"]


def notebook_path(name: str) -> Path:
    """The study's notebook, shipped inside the package: ``toolkit/data/studies/<name>.ipynb``."""
    return Path(__file__).resolve().parents[1] / "data" / "studies" / f"{name}.ipynb"


def read_parameters(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The parameters a finished run recorded in its ``manifest.json``."""
    manifest = Path(run_dir) / "manifest.json"
    return dict(json.loads(manifest.read_text(encoding="utf-8"))["parameters"])


def _no_estimates(run_dir: str | os.PathLike) -> Any:
    import pandas as pd

    return pd.DataFrame(columns=["estimate_name", "estimate", "ci_low", "ci_high"])


@dataclass(frozen=True)
class Study:
    """A registered study: what the host side reads.

    ``headline(run_dir)`` gives the plain-language headline findings of a finished run
    (default: the ones the notebook saved with :func:`show_findings`);
    ``estimates(run_dir)`` gives a tidy frame (``estimate_name, estimate, ci_low,
    ci_high``) of the numbers a sweep compares across runs; ``kind`` is the
    :class:`BaseStudy` subclass (None for a hand-made record).
    """

    name: str
    title: str
    question: str
    parameters: type[StudyParameters]
    notebook: Path
    headline: Callable[[Path], list[str]] = read_findings
    estimates: Callable[[Path], Any] = _no_estimates
    inputs: tuple[str, ...] = field(default=())  # parameters naming input files (checksummed)
    kind: type[BaseStudy] | None = None


@dataclass(frozen=True)
class Headline:
    """A headline contrast: ``arm`` minus ``reference`` (arms of the study's spec) on
    ``outcome``. ``text`` names it in a sentence ("the completion difference between A and
    B"); ``rows`` is how the study's estimates table labels it (column -> value; default
    ``group=arm, reference=reference``); ``effect`` is the row's effect type."""

    arm: str
    reference: str
    outcome: str = "completed"
    text: str = ""
    rows: Mapping[str, str] | None = None
    effect: str = "risk_difference"

    def where(self) -> dict[str, str]:
        """Column -> value identifying this contrast's rows in the estimates table."""
        return (
            dict(self.rows)
            if self.rows is not None
            else {"group": self.arm, "reference": self.reference}
        )


class BaseStudy(AcrossModels, Prose):
    """Subclass to make a study (see the module docstring and ``CONTRIBUTING.md``).

    ``study = MyStudy(params)`` (a ``Parameters`` object or a mapping, checked once); in a
    notebook ``study = MyStudy.from_notebook(globals())``.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    question: ClassVar[str]
    Parameters: ClassVar[type[StudyParameters]]
    inputs: ClassVar[tuple[str, ...]] = ()  # default: the parameter groups' input files
    notebook: ClassVar[Path | None] = None  # default: toolkit/data/studies/<name>.ipynb
    # sweep row names: a format string over the estimates row's columns
    sweep_name: ClassVar[str] = "completion: {group} vs {reference} (points)"

    def __init__(
        self, params: StudyParameters | Mapping[str, Any] | None = None, **values: Any
    ) -> None:
        if isinstance(params, self.Parameters) and not values:
            self.params: Any = params
        else:
            given = params.to_dict() if isinstance(params, StudyParameters) else params
            self.params = self.Parameters.from_values(given, **values)

    @classmethod
    def from_notebook(cls, namespace: Mapping[str, Any]) -> BaseStudy:
        """The study with the parameters a notebook's ``parameters`` cell (and papermill) set."""
        return cls(cls.Parameters.from_notebook(namespace))

    @classmethod
    def record(cls) -> Study:
        """The :class:`Study` record registered as the module's ``STUDY``."""
        return Study(
            name=cls.name,
            title=cls.title,
            question=cls.question,
            parameters=cls.Parameters,
            notebook=cls.notebook or notebook_path(cls.name),
            estimates=cls.sweep_estimates,
            kind=cls,
            inputs=cls.inputs
            or tuple(
                dict.fromkeys(
                    f for k in cls.Parameters.__mro__ for f in vars(k).get("input_files", ())
                )
            ),
        )

    # -- declared by a study -------------------------------------------------------------
    def arms(self) -> dict[str, Any]:
        """The experiment's arms, name -> ``toolkit.experiment.Arm``."""
        raise NotImplementedError(f"study {self.name} declares no arms")

    def headlines(self) -> list[Headline]:
        """The headline contrasts (each runs over the plausible models)."""
        raise NotImplementedError(f"study {self.name} declares no headline contrasts")

    def headline(self, arm: str, reference: str, **more: Any) -> Headline:
        """A headline of ``arm`` against ``reference`` named by :attr:`labels` (``more``: the
        other fields of :class:`Headline`; default: completion)."""
        text = f"the completion difference between {self.labels[arm]} and {self.labels[reference]}"
        return Headline(arm, reference, text=text, **more)

    def mechanism_text(self) -> str:
        """The data-generating mechanism in words, for the methods section."""
        return ""

    # -- the experiment --------------------------------------------------------------------
    def cohort_source(self) -> Any:
        """A CohortSpec (a fresh synthetic cohort per replicate) or the roster file."""
        from toolkit.cohort import CohortSpec
        from toolkit.experiment import RosterSource

        if getattr(self.params, "roster", None) is not None:
            return RosterSource(self.params.roster)
        return CohortSpec(n_mentors=self.params.n_mentors, n_mentees=self.params.n_mentees)

    @cached_property
    def roster_cohort(self) -> Any:
        """The roster's people as a Cohort (read once per process), or None."""
        from toolkit.studies._common import read_roster_once

        roster = getattr(self.params, "roster", None)
        return None if roster is None else read_roster_once(roster)

    @cached_property
    def spec(self) -> Any:
        """The study's ExperimentSpec (built once): cohort, arms, replicates, seed."""
        from toolkit.experiment import ExperimentSpec

        return ExperimentSpec(
            cohort=self.cohort_source(),
            arms=self.arms(),
            replicates=self.replicates,
            seed=self.params.seed,
        )

    @property
    def replicates(self) -> int:
        """Replicates per arm of the spec."""
        return int(self.params.replicates)

    def _in_memory(self, spec: Any) -> Any:
        from toolkit.experiment import RosterSource

        if isinstance(spec.cohort, RosterSource) and self.roster_cohort is not None:
            return replace(spec, cohort=self.roster_cohort)  # the roster is read once
        return spec

    def run(self, tables: tuple[str, ...] = ("outcomes",), spec: Any = None) -> Any:
        """``run_experiment`` of the spec (or ``spec``): the ExperimentResult."""
        from toolkit.experiment import run_experiment

        return run_experiment(self._in_memory(spec or self.spec), progress=False, tables=tables)

    @staticmethod
    def without_ids(frame: Any, *columns: str) -> Any:
        """A table without participant id columns, its ``arm`` as plain text."""
        out = frame.drop(columns=list(columns or ("mentee_id", "mentor_id")))
        out["arm"] = out["arm"].astype(str)
        return out

    def simulate(self) -> Any:
        """Run every arm over the replicates; the outcomes table without participant ids."""
        return self.without_ids(self.run().outcomes)

    # -- sweeps ---------------------------------------------------------------------------
    def sweep_rows(self, estimates: Any) -> Any:
        """The estimates of the headline contrasts as sweep rows (``estimate_name, estimate,
        ci_low, ci_high``; risk differences in percentage points), in the table's order."""
        import numpy as np

        from toolkit.studies._common import sweep_rows

        keep = np.zeros(len(estimates), bool)
        for h in self.headlines():
            mask = (estimates.outcome == h.outcome) & (estimates.effect == h.effect)
            for column, value in h.where().items():
                mask &= estimates[column] == value
            keep |= mask.to_numpy(dtype=bool, na_value=False)
        rows = estimates[keep]
        return sweep_rows(
            rows,
            self.sweep_name,
            scale=rows.effect.map({"risk_difference": 100.0}).fillna(1.0).to_numpy(),
        )

    @classmethod
    def sweep_estimates(cls, run_dir: str | os.PathLike) -> Any:
        """The sweep rows of a finished run (its manifest's parameters, its estimates table)."""
        import pandas as pd

        est = pd.read_parquet(Path(run_dir) / "tables" / "estimates.parquet")
        values = read_parameters(run_dir)
        # a manifest names an input file (roster, models) by its file name only, so it cannot
        # be read back from here; the headline rows need the declared arms, not the file
        values.update(dict.fromkeys(cls.record().inputs))
        return cls(values).sweep_rows(est)

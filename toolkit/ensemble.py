"""An ensemble of plausible models: the parameter sets the evidence does not rule out.

An :class:`Ensemble` is a frame with one row per model and one float column per varied
parameter, plus what it came from: the toolkit version, the prior table, the targets, the
procedure (its name and settings), the root seed and a fingerprint of those inputs. It is
saved as one Parquet file whose schema metadata carries everything but the frame, so a
file is self-describing; :meth:`Ensemble.load` refuses a file written by another toolkit
version or naming a parameter the toolkit does not know, with one sentence.

Parameters are :class:`~toolkit.behavior.BehaviorModel` fields or the cohort and program
constants listed in :data:`OTHER_PARAMETERS` (the study layer reads those with
:meth:`Ensemble.other_values`); :meth:`Ensemble.to_behaviors` gives one validated
BehaviorModel per model, the varied fields set on top of a base model.

>>> import pandas as pd
>>> from toolkit.behavior import BehaviorModel
>>> prior = BehaviorModel.priors().query("parameter in ['quality_base', 'meet_base']")
>>> ens = Ensemble(pd.DataFrame({"quality_base": [0.5, 0.6], "meet_base": [1.5, 2.5]}),
...                prior=prior, targets=pd.DataFrame({"target_id": ["t"]}),
...                procedure={"name": "example"}, seed=1)
>>> [round(b.quality_base, 2) for b in ens.to_behaviors()]
[0.5, 0.6]
>>> len(ens.take(1))
1
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import check_int, fail, quote
from toolkit._version import __version__
from toolkit.behavior import BehaviorModel
from toolkit.errors import InvalidParameterError

__all__ = [
    "COMMITTED_ENSEMBLE",
    "ENSEMBLE_FORMAT",
    "OTHER_PARAMETERS",
    "Ensemble",
    "from_evidence",
    "known_parameters",
    "load_models",
]

ENSEMBLE_FORMAT = 1
_META_KEY = b"toolkit.ensemble"
_OWNER = "Ensemble"
#: Cohort and program constants an ensemble may vary besides BehaviorModel fields
#: (name -> (allowed low, allowed high)). Empty until the study layer declares them (the
#: cohort's availability, say); an ensemble naming anything else is refused.
OTHER_PARAMETERS: dict[str, tuple[float | None, float | None]] = {}
_PRIOR_COLUMNS = ("parameter", "distribution", "low", "high")


def known_parameters() -> dict[str, tuple[float | None, float | None]]:
    """Every parameter an ensemble may vary, with its allowed (low, high) range."""
    out = {f.name: (f.metadata["low"], f.metadata["high"]) for f in fields(BehaviorModel)}
    out.update(OTHER_PARAMETERS)
    return out


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars to Python, NaN to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return _plain(frame.to_dict(orient="records"))


def _canonical(obj: Any) -> str:
    return json.dumps(_plain(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True, eq=False)
class Ensemble:
    """Plausible models, one row each, with the inputs that produced them.

    Parameters
    ----------
    models : DataFrame
        One row per model, one float column per varied parameter (at least one row).
    prior : DataFrame
        The prior table (parameter, distribution, low, high and any further columns such
        as source and reason); it must cover every column of ``models``.
    targets : DataFrame
        The targets the models were matched against (at least a ``target_id`` column).
    procedure : dict
        The procedure's name and settings (JSON-ready); part of the fingerprint.
    seed : the root seed.
    diagnostics : dict
        What the procedure reported (models per wave, ...); not part of the fingerprint.
    toolkit_version : the version that built it (the running one by default).
    """

    models: pd.DataFrame
    prior: pd.DataFrame
    targets: pd.DataFrame
    procedure: dict[str, Any]
    seed: int
    diagnostics: dict[str, Any] = field(default_factory=dict)
    toolkit_version: str = __version__

    def __post_init__(self) -> None:
        if not isinstance(self.models, pd.DataFrame) or self.models.shape[1] == 0:
            raise fail(
                "models",
                _OWNER,
                "a DataFrame with one column per parameter",
                type(self.models).__name__,
            )
        if len(self.models) == 0:
            raise InvalidParameterError(
                "The 'models' parameter of Ensemble must hold at least one model; got an "
                "empty frame (no model survived)."
            )
        known = known_parameters()
        unknown = [c for c in self.models.columns if c not in known]
        if unknown:
            raise fail(
                "models",
                _OWNER,
                "columns that are BehaviorModel parameters or declared cohort constants",
                unknown[0],
            )
        values = self.models.to_numpy(dtype="float64", copy=True)
        if not np.isfinite(values).all():
            raise fail("models", _OWNER, "finite numbers", "a non-finite value")
        for k, name in enumerate(self.models.columns):
            low, high = known[name]
            col = values[:, k]
            if (low is not None and (col < low).any()) or (high is not None and (col > high).any()):
                bad = col[
                    (col < (-np.inf if low is None else low))
                    | (col > (np.inf if high is None else high))
                ][0]
                raise fail(name, _OWNER, f"within its allowed range [{low}, {high}]", float(bad))
        models = pd.DataFrame(values, columns=[str(c) for c in self.models.columns])
        object.__setattr__(self, "models", models)
        if not isinstance(self.prior, pd.DataFrame) or not set(_PRIOR_COLUMNS) <= set(
            self.prior.columns
        ):
            raise fail(
                "prior",
                _OWNER,
                "a prior table with columns " + ", ".join(_PRIOR_COLUMNS),
                type(self.prior).__name__,
            )
        missing = [c for c in models.columns if c not in set(self.prior["parameter"])]
        if missing:
            raise fail(
                "prior",
                _OWNER,
                "a table with a row for every varied parameter",
                f"no row for {missing[0]!r}",
            )
        if not isinstance(self.targets, pd.DataFrame) or "target_id" not in self.targets:
            raise fail(
                "targets",
                _OWNER,
                "a DataFrame with a 'target_id' column",
                type(self.targets).__name__,
            )
        if not isinstance(self.procedure, dict) or "name" not in self.procedure:
            raise fail("procedure", _OWNER, "a dict with at least a 'name' entry", self.procedure)
        check_int(self.seed, "seed", _OWNER, low=0, high=2**63 - 1)
        object.__setattr__(self, "prior", self.prior.reset_index(drop=True))
        object.__setattr__(self, "targets", self.targets.reset_index(drop=True))

    # ----------------------------------------------------------------- reading
    def __len__(self) -> int:
        return len(self.models)

    @property
    def parameters(self) -> list[str]:
        """The varied parameters, in column order."""
        return list(self.models.columns)

    @property
    def fingerprint(self) -> str:
        """sha256 of the inputs: toolkit version, parameters, prior, targets, procedure, seed.

        Two ensembles with one fingerprint were built from the same inputs; the models
        themselves are the procedure's output and are not part of it.
        """
        return hashlib.sha256(_canonical(self._inputs()).encode()).hexdigest()

    def _inputs(self) -> dict[str, Any]:
        return {
            "format": ENSEMBLE_FORMAT,
            "toolkit_version": self.toolkit_version,
            "parameters": self.parameters,
            "prior": _records(self.prior),
            "targets": _records(self.targets),
            "procedure": self.procedure,
            "seed": int(self.seed),
        }

    def take(self, models: int) -> Ensemble:
        """The first ``models`` models (the order is the procedure's sampling order).

        >>> import pandas as pd
        >>> from toolkit.behavior import BehaviorModel
        >>> e = Ensemble(pd.DataFrame({"meet_base": [1.0, 2.0]}), BehaviorModel.priors(),
        ...              pd.DataFrame({"target_id": ["t"]}), {"name": "x"}, 0)
        >>> e.take(0)
        Traceback (most recent call last):
        ...
        toolkit.errors.InvalidParameterError: The 'models' parameter of Ensemble.take must be an int in the range [1, 2]; got 0.
        """
        n = check_int(models, "models", "Ensemble.take", low=1, high=len(self))
        return Ensemble(
            self.models.iloc[:n],
            self.prior,
            self.targets,
            self.procedure,
            self.seed,
            self.diagnostics,
            self.toolkit_version,
        )

    def to_behaviors(self, base: BehaviorModel | None = None) -> list[BehaviorModel]:
        """One validated BehaviorModel per model: ``base`` (the defaults) with the varied
        BehaviorModel parameters set; cohort constants are left to :meth:`other_values`."""
        base = BehaviorModel() if base is None else base
        names = [c for c in self.parameters if c not in OTHER_PARAMETERS]
        rows = self.models[names].to_dict(orient="records")
        return [base.replace(**row) for row in rows]

    def other_values(self) -> pd.DataFrame:
        """The varied cohort and program constants (columns of :data:`OTHER_PARAMETERS`)."""
        return self.models[[c for c in self.parameters if c in OTHER_PARAMETERS]].copy()

    def summary(self) -> pd.DataFrame:
        """Per varied parameter: prior low and high, ensemble 5%, 50%, 95% and the share
        of the prior range the ensemble's 90% range covers (how much the evidence
        narrowed it: 1 means not at all)."""
        q = self.models.quantile([0.05, 0.5, 0.95]).T
        prior = self.prior.set_index("parameter").loc[self.parameters]
        width = (prior["high"] - prior["low"]).replace(0, np.nan)
        return pd.DataFrame(
            {
                "parameter": self.parameters,
                "prior_low": prior["low"].to_numpy(float),
                "prior_high": prior["high"].to_numpy(float),
                "q05": q[0.05].to_numpy(),
                "median": q[0.5].to_numpy(),
                "q95": q[0.95].to_numpy(),
                "share_of_prior_range": ((q[0.95] - q[0.05]).to_numpy() / width.to_numpy()),
            }
        )

    # ----------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> Path:
        """Write one Parquet file atomically: the models, with every input and the
        fingerprint in the schema metadata. Same ensemble, same package versions: same
        bytes."""
        import tempfile

        import pyarrow as pa
        import pyarrow.parquet as pq

        from toolkit._io import check_output_path, file_mode

        p = check_output_path(path, formats=(".parquet",))
        meta = {
            **self._inputs(),
            "diagnostics": _plain(self.diagnostics),
            "fingerprint": self.fingerprint,
        }
        table = pa.Table.from_pandas(self.models, preserve_index=False)
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), _META_KEY: _canonical(meta).encode()}
        )
        # atomic: a temporary file beside the target, renamed onto it when complete
        fd, tmp = tempfile.mkstemp(
            prefix=f".{p.name}.", suffix=".tmp", dir=p.parent if str(p.parent) else "."
        )
        os.close(fd)
        try:
            os.chmod(tmp, file_mode())
            pq.write_table(table, tmp)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return p

    @classmethod
    def load(cls, path: str | os.PathLike) -> Ensemble:
        """Read an ensemble file; refuse another toolkit version, an unknown parameter, a
        file that is not an ensemble, or an empty one, with one sentence each."""
        import pyarrow.parquet as pq

        p = Path(path)
        if not p.is_file():
            raise fail("path", "Ensemble.load", "an existing ensemble file", str(path))
        try:
            table = pq.read_table(p)
        except Exception:  # pyarrow raises several types for a file that is not Parquet
            raise fail(
                "path", "Ensemble.load", "a Parquet file written by Ensemble.save", str(path)
            ) from None
        raw = (table.schema.metadata or {}).get(_META_KEY)
        if raw is None:
            raise fail(
                "path",
                "Ensemble.load",
                "a Parquet file written by Ensemble.save (this one has no ensemble metadata)",
                str(path),
            )
        meta = json.loads(raw)
        if meta.get("toolkit_version") != __version__:
            raise InvalidParameterError(
                f"The ensemble file {quote(str(path))} was built by toolkit "
                f"{quote(meta.get('toolkit_version'))}; this is toolkit {__version__}, so "
                "rebuild it with `rmt calibrate` (or use an ensemble of this version)."
            )
        unknown = [c for c in meta["parameters"] if c not in known_parameters()]
        if unknown:
            raise InvalidParameterError(
                f"The ensemble file {quote(str(path))} varies the unknown parameter "
                f"{quote(unknown[0])}; allowed are BehaviorModel parameters and declared "
                "cohort constants."
            )
        if table.num_rows == 0:
            raise InvalidParameterError(
                f"The ensemble file {quote(str(path))} holds no model; an ensemble needs "
                "at least one."
            )
        models = table.to_pandas()[meta["parameters"]]
        return cls(
            models,
            pd.DataFrame(meta["prior"]),
            pd.DataFrame(meta["targets"]),
            meta["procedure"],
            int(meta["seed"]),
            meta.get("diagnostics", {}),
            meta["toolkit_version"],
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ensemble):
            return NotImplemented
        return self.fingerprint == other.fingerprint and self.models.equals(other.models)

    __hash__ = None  # type: ignore[assignment]


#: The committed ensemble shipped with the package (``rmt calibrate`` rebuilds it).
COMMITTED_ENSEMBLE = Path(__file__).resolve().parent / "data" / "ensemble.parquet"


def load_models(path: str | os.PathLike | None = None) -> Ensemble:
    """The ensemble of plausible models in ``path`` (None: the committed one), read once per
    process and file version (the one loader of studies, ``rmt advise`` and the CLI). Every
    refusal (no file, another toolkit version, an unknown parameter, not a consistent
    ensemble) is one sentence naming the 'models' parameter."""
    p = COMMITTED_ENSEMBLE if path is None else Path(path).expanduser().resolve()
    if not p.is_file():
        where = (
            "the committed ensemble (toolkit/data/ensemble.parquet; rmt calibrate rebuilds it)"
            if path is None
            else "an existing ensemble file"
        )
        raise InvalidParameterError(
            f"The 'models' parameter must be {where}; got {str(path if path is not None else p)!r}"
            ", which does not exist."
        )
    st = p.stat()
    return _load_models(str(p), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _load_models(path: str, size: int, mtime: int) -> Ensemble:
    try:
        return Ensemble.load(path)
    except InvalidParameterError:
        raise
    except (KeyError, ValueError, TypeError) as exc:  # metadata and columns disagree
        raise InvalidParameterError(
            f"The 'models' parameter must be an ensemble file written by rmt calibrate; "
            f"{path!r} is not a consistent one ({type(exc).__name__})."
        ) from None


def from_evidence(models: Ensemble) -> bool:
    """Whether ``models`` came from evidence (False only for a prior-sample stand-in, which
    a report must say)."""
    return not str(models.procedure.get("name", "")).startswith("prior sample")

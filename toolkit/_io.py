"""Table and text output: validated paths, atomic writes, safe CSV cells.

Every file is written to a temporary file beside the target and renamed into place
only when complete, with the mode a plain ``open(path, "w")`` would give under the
current umask. A folder of several files is written into a temporary folder first
(:func:`staged_folder`), so a failure leaves nothing new behind.

CSV cells holding text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return get a leading apostrophe, as OWASP advises against formula injection: a
spreadsheet shows the text instead of running it. Text that begins with an apostrophe
gets one more, so :func:`read_table` (and the roster reader) can drop exactly one
leading apostrophe and give back the original text. Numbers are never touched and
Parquet keeps the raw values.

>>> escape_cell("=1+2"), escape_cell("'quoted"), escape_cell("Ana"), escape_cell(-3)
("'=1+2", "''quoted", 'Ana', -3)
>>> unescape_cell(escape_cell("@e1"))
'@e1'
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit._validation import quote
from toolkit.errors import OutputPathError

if TYPE_CHECKING:  # pandas loads when a table is read or written, not on import
    import pandas as pd

TABLE_FORMATS = (".csv", ".parquet")
# Leading characters a spreadsheet may read as the start of a formula (OWASP), plus the
# apostrophe itself so that escaping can always be undone.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = (*FORMULA_TRIGGERS, "'")


# --------------------------------------------------------------------------- cells


def escape_cell(value: Any) -> Any:
    """``value`` with a leading apostrophe if it is text a spreadsheet could run."""
    if isinstance(value, str) and value.startswith(_ESCAPED):
        return "'" + value
    return value


def unescape_cell(value: Any) -> Any:
    """Undo :func:`escape_cell`: drop one leading apostrophe from text."""
    if isinstance(value, str) and value.startswith("'"):
        return value[1:]
    return value


def _map_text(frame: pd.DataFrame, func: Any) -> pd.DataFrame:
    """``frame`` with ``func`` applied to every text cell and column name (numbers kept)."""
    import pandas as pd

    out = frame.copy(deep=False)
    out.columns = [func(c) for c in out.columns]
    for k in range(out.shape[1]):
        col = out.iloc[:, k]
        if isinstance(col.dtype, pd.CategoricalDtype):
            if col.cat.categories.inferred_type in ("string", "mixed"):
                col = col.cat.rename_categories([func(c) for c in col.cat.categories])
                out.isetitem(k, col)
        elif col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            out.isetitem(k, col.map(func, na_action="ignore"))
    return out


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are safe to open in a spreadsheet."""
    return _map_text(frame, escape_cell)


def unescape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`escape_formulas` (one leading apostrophe dropped from each text cell)."""
    return _map_text(frame, unescape_cell)


# --------------------------------------------------------------------------- modes


def _umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # pragma: no cover - systems without /proc
    os.umask(mask)  # pragma: no cover
    return mask  # pragma: no cover


def file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0o666 minus the umask."""
    return 0o666 & ~_umask()


def folder_mode() -> int:
    """The mode ``mkdir`` gives a new folder: 0o777 minus the umask."""
    return 0o777 & ~_umask()


# --------------------------------------------------------------------------- paths


def _cannot(what: str, path: Path, exc: OSError, folder: Path) -> OutputPathError:
    """One sentence for an OS error met while creating a file in ``folder``."""
    code = exc.errno
    if code == errno.ENAMETOOLONG:
        why = f"its name is {len(str(path)):,} characters long, more than the file system allows"
    elif code in (errno.EACCES, errno.EPERM):
        why = f"the folder {quote(str(folder))} is not writable"
    elif code == errno.EROFS:
        why = f"the folder {quote(str(folder))} is on a read-only file system"
    elif code == errno.ENOSPC:
        why = "the disk is full"
    elif code in (errno.ENOENT, errno.EINVAL, errno.EOPNOTSUPP):
        # The folder exists (checked first), so it is one that refuses new files (/proc).
        why = f"the folder {quote(str(folder))} does not accept new files"
    else:
        why = (exc.strerror or str(exc)).lower()
    return OutputPathError(f"The {what} {quote(str(path))} cannot be written: {why}.")


def _existing_ancestor(path: Path) -> Path:
    """The nearest ancestor of ``path`` that exists (``.`` for a bare relative name)."""
    current = path.parent if str(path.parent) else Path(".")
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _probe(what: str, path: Path, folder: Path) -> None:
    """Create (and remove) a temporary file in ``folder``: the only sure writability test.

    ``os.access`` is not enough: as root it says yes to every folder, and folders such
    as ``/proc`` exist but accept no new file.
    """
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _cannot(what, path, exc, folder) from None
    os.close(fd)
    os.unlink(tmp)


def check_output_path(path: str | os.PathLike, *, formats: tuple[str, ...] = TABLE_FORMATS) -> Path:
    """Check that ``path`` can be written, by creating a temporary file beside it.

    Run before any expensive work: a bad extension, a folder at ``path``, a missing or
    non-folder parent and an unwritable folder each give one sentence.
    """
    p = Path(path)
    if p.suffix.lower() not in formats:
        raise OutputPathError(
            f"The output path {quote(str(p))} has extension {quote(p.suffix or '(none)')}; "
            f"allowed extensions are {', '.join(formats)}."
        )
    if p.is_dir():
        raise OutputPathError(
            f"The output path {quote(str(p))} is an existing directory; give a file name."
        )
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        ancestor = _existing_ancestor(p)
        if ancestor.exists() and not ancestor.is_dir():
            raise OutputPathError(
                f"The output path {quote(str(p))} is under "
                f"{quote(str(ancestor))}, which is a file, not a folder."
            )
        raise OutputPathError(
            f"The output path {quote(str(p))} is in a folder that does not exist."
        )
    _probe("output path", p, parent)
    return p


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[str]:
    """A temporary file beside ``path`` (mode as a plain write), renamed onto it on success."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _cannot("output path", path, exc, folder) from None
    os.close(fd)
    try:
        os.chmod(tmp, file_mode())
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(text: str, path: str | os.PathLike, *, formats: tuple[str, ...]) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically: a temporary file, then rename."""
    p = check_output_path(path, formats=formats)
    with _atomic(p) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return p


def replace_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically, creating its folder.

    For files whose name the toolkit chooses (manifests, reports, notebooks), so no
    extension check: a temporary file beside ``path``, renamed onto it when complete.
    """
    p = Path(path)
    if str(p.parent) not in ("", "."):
        p.parent.mkdir(parents=True, exist_ok=True)
    with _atomic(p) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return p


def sha256_file(path: str | os.PathLike) -> str:
    """The sha256 hex digest of a file's bytes (read in 1 MiB chunks).

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = pathlib.Path(d) / "x.txt"; _ = f.write_bytes(b"abc")
    ...     sha256_file(f)[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    """The sha256 hex digest of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``frame`` as CSV or Parquet (by extension), atomically.

    The data go to a temporary file beside the target, renamed into place only when
    complete, so an interrupted or failing write leaves nothing half-written. CSV text
    cells are made safe to open in a spreadsheet (see the module docstring).
    """
    p = check_output_path(path)
    with _atomic(p) as tmp:
        if p.suffix.lower() == ".csv":
            safe = escape_formulas(frame)
            # Python < 3.12 leaves a field holding a lone carriage return unquoted when
            # lines end in "\n", which splits the row on reading: quote text then.
            quoting = csv.QUOTE_NONNUMERIC if _has_carriage_return(safe) else csv.QUOTE_MINIMAL
            safe.to_csv(tmp, index=False, lineterminator="\n", quoting=quoting)
        else:
            frame.to_parquet(tmp, index=False)
    return p


def _has_carriage_return(frame: pd.DataFrame) -> bool:
    import pandas as pd

    if any("\r" in str(c) for c in frame.columns):
        return True
    for k in range(frame.shape[1]):
        col = frame.iloc[:, k]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            if col.map(lambda v: isinstance(v, str) and "\r" in v).any():
                return True
    return False


def read_table(path: str | os.PathLike, **read_csv_options: Any) -> pd.DataFrame:
    """Read a table the toolkit wrote (CSV or Parquet, by extension).

    CSV text cells lose the one leading apostrophe :func:`write_table` added, so the
    text is what was written.
    """
    import pandas as pd

    p = Path(path)
    if p.suffix.lower() == ".parquet":
        return pd.read_parquet(p)
    return unescape_formulas(pd.read_csv(p, **read_csv_options))


# --------------------------------------------------------------------------- folders


def _replace(source: Path, target: Path) -> None:
    """Rename ``source`` onto ``target``; an existing folder is swapped out, then removed."""
    if source.is_dir() and target.is_dir():
        old = target.with_name(f".{target.name}.old.tmp")
        shutil.rmtree(old, ignore_errors=True)
        os.rename(target, old)
        os.rename(source, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(source, target)


@contextlib.contextmanager
def staged_folder(path: str | os.PathLike, *, what: str = "output folder") -> Iterator[Path]:
    """Write several files as one: yield a temporary folder, then move it into place.

    The temporary folder is created at once (so an unwritable location is found before
    any work). On success a new ``path`` is the temporary folder renamed; an existing
    folder receives the files by rename, all written before the first one moves. On
    failure the temporary folder is removed and nothing new is left behind.
    """
    target = Path(path)
    try:
        is_file = target.exists() and not target.is_dir()
        base = target if target.is_dir() else _existing_ancestor(target)
    except OSError as exc:  # a name longer than the file system allows, a loop of links
        raise _cannot(what, target, exc, target.parent) from None
    if is_file:
        raise OutputPathError(f"The {what} {quote(str(target))} is an existing file, not a folder.")
    if not base.is_dir():
        raise OutputPathError(
            f"The {what} {quote(str(target))} is under "
            f"{quote(str(base))}, which is a file, not a folder."
        )
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name or 'out'}.", suffix=".tmp", dir=base))
    except OSError as exc:
        raise _cannot(what, target, exc, base) from None
    try:
        yield stage
        if target.is_dir():
            for item in sorted(stage.iterdir()):
                _replace(item, target / item.name)
            stage.rmdir()
        else:
            created = []
            for folder in reversed(target.parents):
                if str(folder) not in ("", ".") and not folder.exists():
                    folder.mkdir()
                    created.append(folder)
            os.chmod(stage, folder_mode())
            try:
                os.rename(stage, target)
            except BaseException:
                for folder in reversed(created):
                    with contextlib.suppress(OSError):
                        folder.rmdir()
                raise
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise

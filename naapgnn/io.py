"""Small file helpers: reading text, atomic writes, and the append-only log that long jobs resume from."""
from __future__ import annotations

import contextlib
import contextvars
import errno
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterator

from naapgnn.errors import NaapgnnError


def cannot_write(path, exc: OSError) -> NaapgnnError:
    """The one-line error for an output that could not be written: ``PATH: cannot write: REASON``."""
    if isinstance(exc, FileExistsError) and exc.filename:  # a folder to make where a file (or a device) stands
        return NaapgnnError(f"{path}: cannot write: {exc.filename} is not a folder")
    return NaapgnnError(f"{path}: cannot write: {exc.strerror or exc}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; flush it to disk and rename it over ``path`` on success.

    The temporary file keeps the suffix of ``path`` (plotting libraries pick the
    format from it) and the permissions of the file it replaces, or the usual ones
    (``0666 & ~umask``) for a new file. On any exception it is removed and ``path``
    is untouched. A symbolic link is kept and the file it points to replaced; a path
    that is no regular file (``/dev/stdout``, a named pipe, a device) is written
    through, never replaced. A hard link to ``path`` keeps the former content, as
    after any replacing write.
    """
    path = Path(path)
    if _special(path):
        with _written_through(path) as tmp:
            yield tmp
        return
    path = Path(os.path.realpath(path)) if path.is_symlink() else path
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if path not in _CLEARED:  # once a process: later leftovers of this output could only be its own
            for stale in stale_temporaries(folder, path.name):  # a killed writer's (a 96 MB import)
                stale.unlink(missing_ok=True)
            _CLEARED.add(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp{os.getpid()}.", suffix=path.suffix or ".tmp", dir=folder)
    except OSError as exc:
        raise cannot_write(path, exc) from None
    os.close(fd)
    tmp = Path(tmp)
    os.chmod(tmp, _mode_for(path))
    staged = _STAGED.get()
    try:
        yield tmp
        fsync_file(tmp)
        if staged is None:
            os.replace(tmp, path)
        else:
            staged.append((tmp, path))
    except OSError as exc:  # a full disk, a quota: name the output, not the temporary file
        raise cannot_write(path, exc) from None
    finally:
        if tmp.exists() and (staged is None or (tmp, path) not in staged):
            tmp.unlink()


def _mode_for(path: Path) -> int:
    """The permissions of the file at ``path``, or ``0666 & ~umask`` where there is none (mkstemp makes 0600):
    a private output stays private when rewritten."""
    import stat

    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


_STAGED: contextvars.ContextVar = contextvars.ContextVar("naapgnn_staged_writes", default=None)


JOURNAL = ".naapgnn.staged.json"


@contextlib.contextmanager
def staged_writes() -> Iterator[None]:
    """Let the atomic writes made inside land together when it ends: each is written to its temporary file
    first; then a journal listing them (:data:`JOURNAL`, in the folder they share) is written, all are renamed
    into place, and the journal removed. A run killed before the journal leaves the former set whole; one killed
    while renaming leaves the journal, and the next run that holds the folder
    (:func:`naapgnn.folders.held_folder`) completes the renames: never half of each set. A rename that fails (a
    permission, a folder in the way) puts back the files of the set renamed before it, from hard links made while
    the set lands; on a file system without hard links those stay new, and the error says so. Nested, the
    outermost one renames."""
    if _STAGED.get() is not None:
        yield
        return
    staged: list = []
    token = _STAGED.set(staged)
    try:
        yield
    except BaseException:
        _unlink_all(staged)
        raise
    finally:
        _STAGED.reset(token)
    if staged:
        _commit(staged)


def _commit(staged: list) -> None:
    in_the_way = next((p for _, p in staged if p.is_dir()), None)
    if in_the_way is not None:  # refused before any rename, so the set is not mixed with the former one
        _unlink_all(staged)
        raise cannot_write(in_the_way, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))
    journal = Path(os.path.commonpath([str(p.parent) for _, p in staged])) / JOURNAL
    with atomic_path(journal) as tmp:  # not staged: the journal lands first
        tmp.write_text(json.dumps([[str(t), str(p)] for t, p in staged]))
    existed = [path.is_file() for _, path in staged]
    former = [_second_name(path) if there else None for (_, path), there in zip(staged, existed)]
    try:
        for i, (tmp, path) in enumerate(staged):
            try:
                os.replace(tmp, path)
            except OSError as exc:  # a permission, a busy file: the set is put back as it was
                journal.unlink(missing_ok=True)
                _unlink_all(staged[i:])
                kept_new = _put_back(staged[:i], former, existed)
                error = cannot_write(path, exc)
                if kept_new:  # a file system without hard links: said, not hidden
                    error = NaapgnnError(f"{error}; {len(kept_new)} file(s) of the set written before it could not "
                                         f"be put back and hold the new content (first: {kept_new[0]})")
                raise error from None
        journal.unlink()
    finally:
        for name in former:
            if name is not None:
                name.unlink(missing_ok=True)


_TEMPORARY = re.compile(r"\.(.+)\.tmp(\d+)\.[a-z0-9_]{8}(\.[^.]+)")
_CLEARED: set = set()  # the outputs whose killed writers' temporary files this process has removed


def stale_temporaries(folder: str | Path, name: str | None = None) -> list[Path]:
    """The temporary files :func:`atomic_path` leaves in ``folder`` when its process is killed outright
    (``.NAME.tmpPID.XXXXXXXX.SUFFIX`` beside ``NAME``; of output ``name`` only, when given) whose process is gone:
    a live writer's and any other hidden file are left out."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return [f for f in folder.iterdir() if (match := _TEMPORARY.fullmatch(f.name)) and f.is_file()
            and (Path(match.group(1)).suffix or ".tmp") == match.group(3)
            and (name is None or match.group(1) == name) and not process_alive(int(match.group(2)))]


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` may still write (this process's own id: no, a file of it is an earlier run's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # another user's process (PermissionError), or no pid this system has
        return True
    return pid != os.getpid()


def _second_name(path: Path) -> Path | None:
    """A hard link to the file at ``path``, named as :func:`atomic_path`'s temporary files are (so a killed run's
    is removed as they are), to put it back if a later rename of its set fails; None where the file system makes
    no hard links."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp{os.getpid()}.", suffix=path.suffix or ".tmp",
                                    dir=path.parent)
        os.close(fd)
        os.unlink(name)
        os.link(path, name)
    except OSError:
        return None
    return Path(name)


def _put_back(renamed: list, former: list, existed: list) -> list:
    """Undo the renames of a set that failed part-way: each file back to its former content, or removed where the
    set made it. Returns the files that stay new (the file system kept no second name of their former content)."""
    kept_new = []
    for (_, path), name, there in zip(renamed, former, existed):
        try:
            if name is not None:
                os.replace(name, path)
            elif there:
                kept_new.append(path)
            else:
                path.unlink()
        except OSError:
            kept_new.append(path)
    return kept_new


def _unlink_all(staged: list) -> None:
    for tmp, _ in staged:
        tmp.unlink(missing_ok=True)


def finish_staged(folder: str | Path) -> int:
    """Complete the renames of a set of outputs whose run was killed while renaming them (its journal is left in
    ``folder``); for a run that holds the folder alone. Returns how many were renamed now."""
    journal = Path(folder) / JOURNAL
    if not journal.is_file():
        return 0
    try:
        pairs = [(Path(t), Path(p)) for t, p in json.loads(journal.read_text())]
    except (OSError, ValueError, TypeError):  # a torn journal: its renames had not begun
        pairs = []
    done = 0
    for tmp, path in pairs:
        if tmp.is_file():
            os.replace(tmp, path)
            done += 1
    journal.unlink()
    return done


def _special(path: Path) -> bool:
    """Whether ``path`` (its links followed) exists as something other than a regular file or a folder."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


@contextlib.contextmanager
def _written_through(path: Path) -> Iterator[Path]:
    """A temporary file in the system's temporary folder, copied into ``path`` on success (a stream or a device
    cannot take a rename, and renaming over it would delete it)."""
    import shutil

    fd, tmp = tempfile.mkstemp(prefix=".naapgnn.", suffix=path.suffix or ".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        try:
            with open(tmp, "rb") as source, open(path, "wb") as target:
                shutil.copyfileobj(source, target)
        except OSError as exc:
            raise cannot_write(path, exc) from None
    finally:
        os.unlink(tmp)


def fsync_file(path: Path) -> None:
    """Flush a written file to disk (before a rename puts it in place); nothing for what is no regular file."""
    if path.is_file():
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def current_umask() -> int:
    """The process umask (read without changing it for longer than the call)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read_text(path: str | Path, prefix: str = "", what: str = "cannot read") -> str:
    """A UTF-8 file's text, past a byte-order mark (as Windows tools write it, which no JSON or log format
    reads); a file that cannot be read or is no UTF-8 raises ``PREFIXPATH: WHAT: reason`` in one line (for
    non-UTF-8 text the reason names the first bad byte's offset)."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise NaapgnnError(f"{prefix}{path}: {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise NaapgnnError(f"{prefix}{path}: {what}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None


def loads_json(text: str, where: str = "", line: bool = True) -> Any:
    """Decode ``text`` as JSON, refusing an object that repeats a key (:func:`unique_keys`); a failure is one
    :class:`NaapgnnError` that starts with ``where`` (a file, an option) and gives the line (unless not ``line``,
    for one-line text) and column."""
    prefix = f"{where}: " if where else ""
    try:
        return json.loads(text, object_pairs_hook=unique_keys)
    except NaapgnnError as exc:
        raise NaapgnnError(f"{prefix}{exc}") from None
    except json.JSONDecodeError as exc:
        at = f"line {exc.lineno} column {exc.colno}" if line else f"column {exc.colno}"
        raise NaapgnnError(f"{prefix}invalid JSON at {at}: {exc.msg}") from None


def unique_keys(pairs: list) -> dict:
    """``object_pairs_hook`` of :func:`json.loads` that refuses an object giving a key twice (plain ``json``
    keeps the last silently: ``{"width": 16, "width": 32}`` would read 32 with no word)."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise NaapgnnError(f"duplicate key {key!r} in one JSON object")
        out[key] = value
    return out


def comma_items(text: str, option: str) -> list[str]:
    """The stripped items of the comma-separated value ``text`` of ``option`` ([] when it is blank): an empty
    item (``0,,3``, a trailing comma) is refused in one line, not dropped, as it may be a typo."""
    items = [s.strip() for s in text.split(",")]
    if not any(items):
        return []
    if not all(items):
        raise NaapgnnError(f"{option}: empty item in {text.strip()!r}")
    return items


def json_lines(text: str) -> list[str]:
    """The lines of a JSON Lines text, split at ``\\n`` only (and a ``\\r`` before it): JSON strings may hold
    U+2028, U+0085 and other characters that :meth:`str.splitlines` splits at, which would tear one record
    in two and shift every later line number."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def write_text_atomic(path: str | Path, text: str, newline: str = "\n") -> None:
    """Write ``text`` to ``path`` atomically (``newline`` as in :func:`open`)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline=newline) as f:
            f.write(text)


def read_progress_jsonl(path: str | Path | None) -> list[Any]:
    """The records of an append-only JSON Lines progress file (``[]`` when there is none yet).

    A line cut short by an interrupted run, or otherwise damaged (not JSON, not UTF-8), is skipped: its work is
    simply done again.
    """
    if path is None or not Path(path).is_file():
        return []
    records = []
    for line in json_lines(Path(path).read_bytes().decode("utf-8", errors="replace")):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


class ResumeLog:
    """Finished units of a long job, one JSON line each, keyed by a string.

    The one resume store of naapgnn: a job asks :meth:`get` before computing a
    unit and :meth:`put` after, so a run that is killed resumes where it was.
    Lines are appended and flushed to disk one at a time; a line cut short by a
    kill is ignored (that unit is computed again). ``path=None`` keeps nothing. A value read back keeps its keys'
    order, so a resumed job writes its tables with the columns of a fresh one.

    Parameters
    ----------
    path : str or Path or None
        The JSON Lines file (created with its folder on the first :meth:`put`).
    kind : type, optional
        The type every saved value has (``dict``, say): a line whose value is of another type, as a damaged file
        may hold, is ignored like a torn one.
    """

    def __init__(self, path: str | Path | None, kind: type | None = None):
        self.path = None if path is None else Path(path)
        self._done = {}
        for entry in read_progress_jsonl(self.path):
            if isinstance(entry, dict) and isinstance(entry.get("key"), str) and "value" in entry and (
                    kind is None or isinstance(entry["value"], kind)):
                self._done[entry["key"]] = entry["value"]
        self._torn = _ends_inside_a_line(self.path)

    def __len__(self) -> int:
        return len(self._done)

    def __contains__(self, key: str) -> bool:
        return key in self._done

    def get(self, key: str, default: Any = None) -> Any:
        """The value saved under ``key``, or ``default``."""
        return self._done.get(key, default)

    def put(self, key: str, value: Any) -> None:
        """Save ``value`` (JSON-serialisable) under ``key`` and flush it to disk."""
        if self.path is None:
            self._done[key] = value
            return
        line = json.dumps({"key": key, "value": value}, default=_json_default) + "\n"
        self._done[key] = value
        if self._torn:  # end the line a kill cut short, or this one would be lost with it
            line = "\n" + line
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise cannot_write(self.path, exc) from None
        self._torn = False

    def clear(self) -> None:
        """Forget every saved unit (``--fresh``) and remove the file."""
        self._done.clear()
        if self.path is not None and self.path.exists():
            self.path.unlink()

    def discard(self, keys) -> None:
        """Forget the units saved under ``keys`` (a job that finished); the file goes when nothing else is left in
        it, and otherwise is rewritten (atomically) with the units of other runs kept, so they still resume."""
        for key in keys:
            self._done.pop(key, None)
        if self.path is None or not self.path.exists():
            return
        if not self._done:
            self.path.unlink()
            return
        lines = [json.dumps({"key": k, "value": v}, default=_json_default) for k, v in self._done.items()]
        write_text_atomic(self.path, "\n".join(lines) + "\n")
        self._torn = False


class LoggedRows(list):
    """Rows a job computed through a :class:`ResumeLog` under ``keys``, with :meth:`discard`: its caller forgets
    their units once its outputs are written, so that a failure writing them loses none (other jobs' units
    stay, to resume)."""

    def __init__(self, rows, log: ResumeLog, keys):
        super().__init__(rows)
        self._log, self._keys = log, list(keys)

    def discard(self) -> None:
        self._log.discard(self._keys)


def _ends_inside_a_line(path: Path | None) -> bool:
    if path is None or not path.is_file() or path.stat().st_size == 0:
        return False
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) != b"\n"


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"cannot save {type(value).__name__} in a resume log")

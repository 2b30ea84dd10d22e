"""An output folder held by one run: its lock, and the clean-up of what a killed or earlier run left in it (its
temporary files, its outputs that this run does not write). The files themselves are written by
:mod:`naapgnn.io`."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from naapgnn.errors import NaapgnnError
from naapgnn.io import cannot_write, finish_staged, stale_temporaries, write_text_atomic


LOCK_NAME = ".naapgnn.lock"
# The outputs the runs in a folder wrote, one name a line: what a later run may remove as no longer its own
OUTPUTS_NAME = ".naapgnn-outputs"


@contextlib.contextmanager
def held_folder(folder: str | Path, busy: str, lock_name: str = LOCK_NAME, also: tuple = ()) -> Iterator[Path]:
    """Hold ``folder`` (made if missing) for one run: a second run on it meanwhile is refused in one line,
    ``busy`` saying what the first one does (two runs would race to write the same files). Once held, the
    temporary files of a killed run are removed from it and from its subfolders ``also``. A folder that cannot
    be written is a one-line error here, before any work; one made here and left with nothing in it is removed.
    No lock where ``fcntl`` is missing (Windows)."""
    folder = Path(folder)
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # the folders made here, deepest first
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / lock_name, "a+")
    except OSError as exc:
        raise cannot_write(folder, exc) from None
    try:
        with handle:
            _lock(handle, folder, busy)
            finish_staged(folder)  # before the temporaries it renames could be taken for stale ones
            for part in (folder, *(folder / name for name in also)):
                remove_stale_temporaries(part)
            try:
                yield folder
            finally:  # still held: the file stays (unlinking a locked file races), saying no run writes there
                with contextlib.suppress(OSError):
                    handle.seek(0)
                    handle.truncate()
    finally:
        with contextlib.suppress(OSError):  # folders made for the lock alone go with it
            if made and [p.name for p in folder.iterdir()] == [lock_name]:
                (folder / lock_name).unlink()
                for part in made:
                    part.rmdir()


def _lock(handle, folder: Path, busy: str) -> None:
    """Take the lock, or refuse naming what the run holding it does (its line in the lock file: pid, tab, that)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        pid, _, doing = handle.read().strip().partition("\t")
        process = f" (process {pid})" if pid.isdigit() else ""
        raise NaapgnnError(f"{folder}: another {doing or busy}{process}; wait for it to end or give another "
                           "--out") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\t{busy}")
    handle.flush()  # the lock goes with the handle when it is closed


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove from ``folder`` the temporary files :func:`naapgnn.io.atomic_path` leaves when its process is killed
    outright whose process is gone (:func:`naapgnn.io.stale_temporaries`): a live writer's (another command writing
    there) and any other hidden file are left alone. Returns those removed."""
    stale = stale_temporaries(folder)
    for file in stale:
        file.unlink(missing_ok=True)
    return stale


def remove_former(folder: str | Path, names, written) -> list[Path]:
    """Remove from ``folder`` the files among ``names`` (a command's outputs) that an earlier run wrote and this
    one did not (``written``, paths or names): an official run's figure beside a repeated run's report would read
    as this run's. Only a file the folder's list of outputs (:data:`OUTPUTS_NAME`) names is an earlier run's: a
    user's file of the same name stays. The list then names what this run wrote beside other commands' outputs.
    Returns the files removed."""
    folder, kept, names = Path(folder), {Path(p).name for p in written}, set(names)
    listed = folder / OUTPUTS_NAME
    earlier = set(listed.read_text().split()) if listed.is_file() else set()
    former = [folder / name for name in sorted((names & earlier) - kept) if (folder / name).is_file()]
    for path in former:
        path.unlink()
    write_text_atomic(listed, "".join(f"{name}\n" for name in sorted((earlier - names) | kept)))
    return former

"""Training runs a log folder holds unfinished: the trainer (:mod:`naapgnn.trainer`) keeps a run's checkpoint in
``CHECKPOINT_DIR`` until its last epoch, so a log beside a checkpoint stops where an interrupted run stood."""
from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Sequence

from naapgnn.errors import NaapgnnError, NaapgnnWarning

__all__ = ["CHECKPOINT_DIR", "check_finished"]

CHECKPOINT_DIR = "checkpoints"
_CHECKPOINT_NAME = re.compile(r"^scheme_(\d+)\.pt$")


def check_finished(folder: Path, log_names: Sequence[str], cut: bool) -> None:
    """Refuse, in one line, logs whose run is still training (a checkpoint beside them): their targets would be read
    from an unfinished run. With ``cut`` (a number of epochs asked for every log) a warning instead."""
    held = {m.group(1) for m in map(_CHECKPOINT_NAME.match, _listed(folder / CHECKPOINT_DIR)) if m}
    unfinished = [name for name in log_names if name[len("scheme_"):-len(".txt")] in held]
    if not unfinished:
        return
    what = (f"{folder}: {len(unfinished)} of the {len(log_names)} logs are of runs still training (first: "
            f"{unfinished[0]}, its checkpoint in {CHECKPOINT_DIR}/)")
    if cut:
        warnings.warn(f"{what}; read to the epochs asked, as logged so far", NaapgnnWarning, stacklevel=3)
        return
    raise NaapgnnError(f"{what}: their targets would be an unfinished run's; finish them with naapgnn regenerate "
                       "(the --epochs they started with), or give --epochs N to read N epochs of every log")


def _listed(folder: Path) -> list[str]:
    try:
        return sorted(p.name for p in folder.iterdir())
    except OSError:  # no checkpoint folder: every run finished, or the logs come from elsewhere
        return []

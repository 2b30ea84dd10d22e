"""Curve channels: which is the learning rate, which are losses, and the values of diverged runs.

A run that diverges often logs its loss as NaN or Infinity from then on (and
some loggers write null). In a benchmark file such a value is read as the
channel's worst finite value in the file (the highest loss, the lowest
accuracy): the run is worse than every run that kept finite values, which is
what a ranking needs, and no NaN reaches a model. :func:`fill_diverged` does
it and says so in one line; the learning rate (``lr``) is a schedule, never a
measurement, so a non-finite rate is an error.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from naapgnn.data.hparams import finite_number
from naapgnn.errors import NaapgnnError

__all__ = ["SCHEDULE_CHANNEL", "is_loss_channel", "measured_channels", "curve_value", "fill_diverged"]

SCHEDULE_CHANNEL = "lr"


def is_loss_channel(name: str) -> bool:
    """Whether lower is better on a curve channel: its name holds ``loss`` (``loss_mean``, ``train_loss``,
    ``val_loss``, ...)."""
    return "loss" in name.lower()


def measured_channels(curve) -> list[str]:
    """The non-empty channels of a record's ``curve`` but the learning rate (a schedule, not a measurement)."""
    return [c for c, v in curve.items() if len(v) and c != SCHEDULE_CHANNEL]


def curve_value(value: Any, channel: str, where: str, diverged_ok: bool) -> float:
    """One per-epoch value: a finite number, or (``diverged_ok``, a channel other than ``lr``) NaN for
    NaN, Infinity, -Infinity or null."""
    non_finite = value is None or (isinstance(value, float) and not math.isfinite(value))
    if non_finite and diverged_ok and channel != SCHEDULE_CHANNEL:
        return math.nan
    return finite_number(value, where)


def fill_diverged(records: Sequence, name: str, lines: Sequence[int]) -> str | None:
    """Replace, in place, each NaN of the records' curves by its channel's worst finite value over the records.

    Parameters
    ----------
    records : sequence of Record
        Curves may hold NaN (:func:`curve_value`).
    name : str
        The file, for messages.
    lines : sequence of int
        Each record's line in the file.

    Returns
    -------
    str or None
        A one-line notice of what was replaced (None when nothing was).

    Raises
    ------
    NaapgnnError
        When a channel with a non-finite value has no finite value in any record.
    """
    hit = [(i, c) for i, r in enumerate(records) for c, v in r.curve.items() if np.isnan(v).any()]
    if not hit:
        return None
    first, channel = hit[0]
    epoch = int(np.flatnonzero(np.isnan(records[first].curve[channel]))[0])
    worst = {}
    for c in dict.fromkeys(c for _, c in hit):
        values = np.concatenate([r.curve[c] for r in records if c in r.curve])
        if not np.isfinite(values).any():
            raise NaapgnnError(f"{name}: curve channel {c!r} has no finite value in any record")
        worst[c] = float(np.nanmax(values) if is_loss_channel(c) else np.nanmin(values))
    for i, c in hit:
        records[i].curve[c] = np.where(np.isnan(records[i].curve[c]), worst[c], records[i].curve[c])
    return (f"{name}: {len({i for i, _ in hit})} record(s) with non-finite curve values (first: line {lines[first]}, "
            f"curve.{channel}[{epoch}]) read as diverged runs, each such value as its channel's worst finite value in "
            f"the file ({', '.join(f'{c} {v:g}' for c, v in worst.items())})")

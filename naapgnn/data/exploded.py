"""Losses that exploded: finite values a diverging run logged before (or instead of) NaN.

A run that diverges often logs its loss growing by orders of magnitude (``2.3e12``) before it overflows, and some
loggers never write NaN at all. Such a value is finite, so it passes every check, but read as it is it wrecks every
model that standardises the channel: the other runs' losses then differ in the tenth decimal of their column, and
a diverged run filled with "the channel's worst finite value" is filled with ``2.3e12`` too.

No healthy run's loss grows a hundredfold over its first logged value: the first epochs hold a loss near chance, a
warm restart or an overfitting network raise it again by a few times at most. So a loss channel's value over
:data:`EXPLODED_FACTOR` times the run's first positive logged value of that channel reads as an exploded run:
each such value becomes NaN, and :func:`naapgnn.data.gaps.fill_non_finite` reads it as it reads a NaN (a run
diverged to the end of its curve, or an epoch not logged where the loss comes back below the bar). The rule reads
each run by itself, so a prediction reads a run as its training records were read, whatever file it comes in.
Error rates (bounded) and accuracies are never touched.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from naapgnn.data.channels import is_error_channel, is_loss_channel

__all__ = ["mark_exploded", "EXPLODED_FACTOR"]

EXPLODED_FACTOR = 100.0


def mark_exploded(records: Sequence, name: str, lines: Sequence[int], read_epochs: int | None = None) -> str | None:
    """Set, in place, each exploded loss value of the records' curves to NaN (see the module docstring).

    Parameters
    ----------
    records : sequence of Record
    name : str
        The file, for messages.
    lines : sequence of int
        Each record's line in the file.
    read_epochs : int, optional
        The epochs a reader reads (a checkpoint's budget): an explosion after them is replaced without a word.

    Returns
    -------
    str or None
        A one-line notice of the runs read as exploded (None when none was, or none within ``read_epochs``).
    """
    hits = []
    for i, record in enumerate(records):
        for channel, values in record.curve.items():
            if not is_loss_channel(channel) or is_error_channel(channel):
                continue
            over = _exploded(values)
            if over.any():
                hits.append((i, channel, int(np.flatnonzero(over)[0]), float(values[over].max())))
                values[over] = np.nan
    said = [h for h in hits if read_epochs is None or h[2] < read_epochs]
    if not said:
        return None
    i, channel, epoch, _ = said[0]
    runs = len({h[0] for h in said})
    return (f"{name}: {runs} record(s) logged a loss over {EXPLODED_FACTOR:g} times their first value (first: line "
            f"{lines[i]}, curve.{channel}[{epoch}]; up to {max(h[3] for h in said):.3g}), read as exploded: from that "
            "epoch on as a non-finite value, a diverged run if it never comes back")


def _exploded(values: np.ndarray) -> np.ndarray:
    """Which epochs' values exceed :data:`EXPLODED_FACTOR` times the first positive finite value (a boolean mask)."""
    positive = np.flatnonzero(np.isfinite(values) & (values > 0))
    if not len(positive):
        return np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values > EXPLODED_FACTOR * values[positive[0]])

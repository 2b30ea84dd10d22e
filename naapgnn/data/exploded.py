"""Losses that exploded: huge finite values a diverging run logged before (or instead of) NaN, named in a warning.

A run that diverges often logs its loss growing by orders of magnitude (``2.3e12`` after ``2.19``) before it
overflows, and some loggers never write NaN at all. Such a value is finite and passes every check. It is read as
logged: a model that standardises the channel then sees the other runs' values of it nearly equal, and a run
diverged to NaN elsewhere in the file is filled with it (the channel's worst finite value). A loss channel's value
over :data:`EXPLODED_FACTOR` times the run's first positive logged value of that channel is named in a one-line
warning, which says how to have such a run read as diverged instead: log NaN from there. No healthy run's loss
grows a hundredfold over its first value (the first epochs hold a loss near chance; a warm restart or an
overfitting network raise it again by a few times at most). Error rates (bounded) and accuracies are never named.

Reading them as NaN was measured and not adopted (README, "Losses that explode"): on the files whose runs explode,
it raised Baker's nu-SVR's tau and lowered the GNN's, which reads the raw values well.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from naapgnn.data.channels import is_error_channel, is_loss_channel

__all__ = ["exploded_notice", "exploded_epochs", "EXPLODED_FACTOR"]

EXPLODED_FACTOR = 100.0


def exploded_notice(records: Sequence, name: str, lines: Sequence[int], read_epochs: int | None = None) -> str | None:
    """A one-line notice of the records whose loss exploded (see the module docstring); the records are unchanged.

    Parameters
    ----------
    records : sequence of Record
    name : str
        The file, for messages.
    lines : sequence of int
        Each record's line in the file.
    read_epochs : int, optional
        The epochs a reader reads (a checkpoint's budget): an explosion after them is no news.

    Returns
    -------
    str or None
        None when no loss exploded within ``read_epochs``.
    """
    hits = []
    for i, record in enumerate(records):
        for channel, values in record.curve.items():
            if not is_loss_channel(channel) or is_error_channel(channel):
                continue
            read = values[:read_epochs]
            over = exploded_epochs(read)
            if over.any():
                hits.append((i, channel, int(np.flatnonzero(over)[0]), float(read[over].max())))
    if not hits:
        return None
    i, channel, epoch, _ = hits[0]
    return (f"{name}: {len({h[0] for h in hits})} record(s) logged a loss over {EXPLODED_FACTOR:g} times their first "
            f"value (first: line {lines[i]}, curve.{channel}[{epoch}]; up to {max(h[3] for h in hits):.3g}), read as "
            "logged; to read such a run as diverged, log NaN (or null) from the epoch it diverged on")


def exploded_epochs(values: np.ndarray) -> np.ndarray:
    """Which epochs' values exceed :data:`EXPLODED_FACTOR` times the first positive finite value (a boolean mask)."""
    values = np.asarray(values, dtype=float)
    positive = np.flatnonzero(np.isfinite(values) & (values > 0))
    if not len(positive):
        return np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values > EXPLODED_FACTOR * values[positive[0]])

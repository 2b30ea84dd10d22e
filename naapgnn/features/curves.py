"""Curve features aligned to the cyclic learning rate: the one computation of
cycle-end values, cycle gains and their geometric extrapolation.

NAAP-440 trains with a cyclic learning rate (0.1, 0.01, 0.001 repeating), so
epochs ``cycle, 2 * cycle, ...`` end a cycle at the lowest, least noisy rate.
:func:`cycle_summary` turns per-epoch values into cycle-end values, gains and
an extrapolated final value; :func:`curve_features` (the GNN's, per channel of
a :class:`naapgnn.data.records.Record` curve) and
:func:`naapgnn.features.tabular.cycle_features` (the per-layer forest's) both use
it. Only epochs ``<= budget`` are ever read.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from naapgnn.errors import NaapgnnError

__all__ = ["cycle_summary", "geometric_tail", "curve_features", "curve_feature_names"]


def geometric_tail(gains: np.ndarray) -> np.ndarray:
    """What the cycle gains still add if they keep shrinking geometrically, per row.

    The ratio of the last two gains ``r`` (clipped to [0, 0.9]; 0.5 with one
    gain; 0 when the two gains differ in sign) continues the series: the tail
    is ``last * r / (1 - r)``; no gain gives 0.

    The tail keeps the sign of the gains: a curve that falls by shrinking
    steps, (-0.02, -0.01), extrapolates to -0.01 more, just as (0.02, 0.01)
    extrapolates to +0.01. A geometric series does not depend on the sign of
    its terms, and the same function serves losses, whose gains are
    negative; the former forest variant that kept only rising accuracy
    tails (giving 0 there) was a special case that silently dropped this.
    """
    n = len(gains)
    if gains.shape[1] == 0:
        return np.zeros(n)
    last = gains[:, -1]
    if gains.shape[1] == 1:
        ratio = np.full(n, 0.5)
    else:
        prev = gains[:, -2]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(prev * last > 0, last / prev, 0.0)
        ratio = np.clip(ratio, 0.0, 0.9)
    return last * ratio / (1.0 - ratio)


def cycle_summary(values: np.ndarray, cycle: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Cycle-end values, cycle gains and the extrapolated value of an ``(n, budget)`` curve.

    Returns
    -------
    end_values : numpy.ndarray of shape (n, budget // cycle)
        The values at epochs ``cycle, 2 * cycle, ...``.
    gains : numpy.ndarray of shape (n, budget // cycle - 1)
        Each cycle end minus the previous one.
    extrapolated : numpy.ndarray of shape (n,) or None
        The last cycle end plus :func:`geometric_tail` of the gains (None when
        no cycle is complete).
    """
    ends = np.arange(cycle, values.shape[1] + 1, cycle) - 1
    end_values = values[:, ends]
    gains = np.diff(end_values, axis=1)
    extrapolated = end_values[:, -1] + geometric_tail(gains) if len(ends) else None
    return end_values, gains, extrapolated


def curve_feature_names(budget: int, channels: Sequence[str], cycle: int = 3, raw: bool = False) -> list[str]:
    """Names of :func:`curve_features` columns, in order."""
    if budget == 0:
        return []
    n_ends = budget // cycle
    names = []
    for c in channels:
        names += [f"{c}_present", f"{c}_last", f"{c}_best"]
        if raw or not n_ends:
            names += [f"{c}_e{e}" for e in range(1, budget + 1)]
        names += [f"{c}_cycle{i + 1}" for i in range(n_ends)]
        names += [f"{c}_gain{i + 1}" for i in range(1, n_ends)]
        if n_ends:
            names.append(f"{c}_extrapolated")
    return names


def curve_features(records: Sequence, budget: int, channels: Sequence[str], cycle: int = 3,
                   raw: bool = False) -> np.ndarray:
    """Cycle-aligned curve features of the first ``budget`` epochs, ``(n, len(names))``.

    Per channel: a presence flag, last value, best value (max for accuracy,
    min for losses), optionally the raw values (always while no cycle is
    complete), and the :func:`cycle_summary` columns. A channel a record
    lacks contributes zeros. Every record needs at least one channel with
    ``budget`` epochs; a channel shorter than that is an error.
    """
    if budget == 0:
        return np.zeros((len(records), 0))
    blocks = []
    for c in channels:
        values, present = _channel(records, c, budget)
        best = values.min(axis=1) if c.startswith("loss") else values.max(axis=1)
        cols = [present, values[:, -1], best]
        end_values, gains, extrapolated = cycle_summary(values, cycle)
        if raw or extrapolated is None:
            cols += list(values.T)
        cols += list(end_values.T) + list(gains.T)
        if extrapolated is not None:
            cols.append(extrapolated)
        blocks.append(np.column_stack(cols))
    for r in records:
        if not any(len(r.curve.get(c, ())) for c in channels):
            raise NaapgnnError(
                f"record {r.id!r}: budget {budget} needs the first {budget} epochs of its curve "
                f"({', '.join(channels)}), it has none")
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(records), 0))


def _channel(records: Sequence, channel: str, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Epochs ``1..budget`` of one channel (zeros where absent) and a presence flag."""
    values = np.zeros((len(records), budget))
    present = np.zeros(len(records))
    for i, r in enumerate(records):
        v = r.curve.get(channel)
        if v is None or len(v) == 0:
            continue
        if len(v) < budget:
            raise NaapgnnError(
                f"record {r.id!r}: curve channel {channel!r} has {len(v)} epochs, budget {budget} needs {budget}")
        values[i] = v[:budget]
        present[i] = 1.0
    return values, present

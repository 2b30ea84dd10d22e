"""Curve features: schedule-free ones for any channel and any length, and the cycle-aligned
ones only for records that declare a cyclic learning rate.

The default features of a channel assume no schedule: presence, last and
best value, the mean of the last three epochs, the last first and second
differences, the slope over the last half of the epochs, and a fit of
``a + b * log(epoch)`` (its slope ``b`` and its value at four times the
budget), and whether it never changed over two or more epochs (``flat``: a
diverged or stuck run; after one epoch, whether it reads the training records'
worst value of the channel, when a model gives it). They work for accuracy,
losses, train accuracy or any other named channel of any length.

A cyclic learning rate is never assumed: the cycle features (the value at the
last complete cycle end, the last cycle gain and their geometric
extrapolation; :func:`cycle_summary`) are added only when the records carry a
per-epoch ``lr`` channel, and each record's period is read from it
(:func:`lr_period`: the smallest period with which its ``lr`` repeats; none for
a constant, step-decay or cosine schedule, whose cycle columns then repeat the
schedule-free ones). The ``lr`` channel itself, read up to the budget, is an
input like any other channel: the schedule is a hyperparameter, known before
training. NAAP-440's cyclic rate (0.1, 0.01, 0.001 repeating) ends a cycle
every 3 epochs at the lowest, least noisy rate. Only epochs ``<= budget`` of
the measured channels are ever read, as fractions: an accuracy or error rate
logged in percent is divided by 100 (its unit is read from every value the
records hold: a unit is the file's, not an epoch's).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np

from naapgnn.data.channels import (SCHEDULE_CHANNEL, accuracy_candidates, fraction_scale, is_cost_channel,
                                   is_loss_channel, is_training_channel, measured_channels, target_channel)
from naapgnn.errors import NaapgnnError

__all__ = ["cycle_summary", "geometric_tail", "curve_features", "curve_feature_names", "channel_columns", "lr_period",
           "curve_channels", "check_logged", "declares_cycle", "is_loss_channel", "ranking_channel",
           "values_and_differences", "require_curve", "values_and_differences_names", "columns_beyond",
           "SCHEDULE_CHANNEL"]

_FREE = ("present", "last", "best", "mean_last3", "diff1", "diff2", "slope", "logfit_slope", "logfit_x4", "flat")
_CYCLE = ("cycle_end", "cycle_gain", "cycle_extrapolated")
_USUAL = ("accuracy", "loss_mean", "loss_median")


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


def curve_channels(records: Sequence) -> list[str]:
    """Every curve channel some record has, the usual NAAP-440 ones first, then by name."""
    seen = {c for r in records for c, v in r.curve.items() if v is not None and len(v)}
    return [c for c in _USUAL if c in seen] + sorted(seen - set(_USUAL))


def ranking_channel(records: Sequence) -> tuple[str, float]:
    """The curve channel whose epoch-``k`` value best stands for progress, and its sign (+1: higher is better).

    The channel that holds the accuracy (:func:`naapgnn.data.channels.target_channel`, told apart by the
    records' targets when several could: ``val_acc`` rather than ``train_acc`` when the targets are
    validation accuracies; an error rate negated); else the first accuracy-like one shared, in
    :func:`curve_channels` order, a name holding ``acc`` first; else a shared lower-is-better channel
    (:func:`is_loss_channel`: a loss, a cross-entropy), negated; else the first shared channel that logs
    no cost (an epoch's time, a norm), else the first. Early stopping's curve rule compares candidates on it.
    """
    shared = [c for c in curve_channels(records) if c != SCHEDULE_CHANNEL
              and all(len(r.curve.get(c, ())) for r in records)]
    if not shared:
        raise NaapgnnError("the records share no measured curve channel (accuracy, a loss, ...) to compare epochs on")
    targets = [r.target for r in records]
    found = target_channel(records, None if None in targets else targets)
    if found is None:
        factors = accuracy_candidates(records)
        named = sorted((c for c in shared if c in factors),  # stable
                       key=lambda c: (is_training_channel(c, list(factors)), "acc" not in c.lower()))
        found = (named[0], factors[named[0]]) if named else None
    if found is not None:
        return found[0], 1.0 if found[1] > 0 else -1.0
    lower = [c for c in shared if is_loss_channel(c)]
    others = sorted(shared, key=is_cost_channel)  # stable: a cost last
    return (lower[0], -1.0) if lower else (others[0], 1.0)


def declares_cycle(records: Sequence, period: int) -> bool:
    """Whether every record has an ``lr`` channel that repeats with ``period`` (:func:`lr_period`)."""
    return all(len(r.curve.get(SCHEDULE_CHANNEL, ())) and lr_period(r.curve[SCHEDULE_CHANNEL]) == period
               for r in records)


def shared_schedule(records: Sequence) -> list[float] | None:
    """The ``lr`` channel when every record has the same one (a benchmark trained with one recipe), else None."""
    first = records[0].curve.get(SCHEDULE_CHANNEL) if records else None
    if first is None or not len(first):
        return None
    same = all(len(r.curve.get(SCHEDULE_CHANNEL, ())) == len(first)
               and np.allclose(r.curve[SCHEDULE_CHANNEL], first, rtol=1e-9, atol=0.0) for r in records)
    return [float(v) for v in first] if same else None


def with_schedule(records: Sequence, schedule: Sequence[float] | None) -> list:
    """``records`` where each one without an ``lr`` channel gets ``schedule`` (None: unchanged).

    A predictor trained on one recipe reads a new record without a schedule as
    trained with that recipe: its own ``lr`` channel, when given, wins.
    """
    if not schedule:
        return list(records)
    return [r if len(r.curve.get(SCHEDULE_CHANNEL, ())) else
            replace(r, curve={**r.curve, SCHEDULE_CHANNEL: np.asarray(schedule, dtype=float)}) for r in records]


def lr_period(lr) -> int | None:
    """The period of a cyclic learning-rate schedule, or None when it does not repeat.

    The smallest ``p >= 2`` such that ``lr[i] == lr[i + p]`` for every epoch
    (to a relative 1e-9), the schedule changes within a period, and at least
    two periods are seen.
    """
    lr = np.asarray(lr, dtype=float)
    for p in range(2, len(lr) // 2 + 1):
        if np.ptp(lr[:p]) > 0 and np.allclose(lr[p:], lr[:-p], rtol=1e-9, atol=0.0):
            return p
    return None


def curve_feature_names(budget: int, channels: Sequence[str], raw: bool = False) -> list[str]:
    """Names of :func:`curve_features` columns, in order.

    The cycle columns appear when ``channels`` holds ``"lr"``, with each record's own period.
    """
    return [name for _, names in _names_by_channel(budget, channels, raw) for name in names]


def channel_columns(budget: int, channels: Sequence[str], raw: bool = False) -> dict[str, list[int]]:
    """Each channel's columns among :func:`curve_feature_names` (the same arguments)."""
    out, start = {}, 0
    for c, names in _names_by_channel(budget, channels, raw):
        out[c], start = list(range(start, start + len(names))), start + len(names)
    return out


def _names_by_channel(budget: int, channels: Sequence[str], raw: bool) -> list[tuple[str, list[str]]]:
    """Each channel with its curve feature names, in the order :func:`curve_features` writes them."""
    cyclic = SCHEDULE_CHANNEL in channels
    out = []
    for c in channels:
        names = [] if budget == 0 else [f"{c}_{f}" for f in _FREE]
        if raw and budget:
            names += [f"{c}_e{e}" for e in range(1, budget + 1)]
        if cyclic and budget and c != SCHEDULE_CHANNEL:
            names += [f"{c}_{f}" for f in _CYCLE]
        out.append((c, names))
    return out


def curve_features(records: Sequence, budget: int, channels: Sequence[str], raw: bool = False,
                   worst: Mapping[str, float] | None = None) -> np.ndarray:
    """Curve features of the first ``budget`` epochs, ``(n, len(curve_feature_names(...)))``.

    See the module docstring. Best is the minimum for a lower-is-better channel
    (:func:`is_loss_channel`: a loss, an error rate, a cross-entropy, ...), else the maximum. A
    channel a record lacks contributes zeros (and presence 0). Every record needs at least one channel with
    ``budget`` epochs; a channel shorter than that is an error. ``worst``: each channel's worst value
    in the training records (:func:`naapgnn.data.channels.worst_values`); at one epoch, where no run
    can be seen not to change, ``flat`` says whether the value is that worst one.
    """
    if budget == 0:
        return np.zeros((len(records), 0))
    require_curve(records, budget, channels)
    periods = _periods(records) if SCHEDULE_CHANNEL in channels else None
    blocks = []
    for c in channels:
        values, present = _channel(records, c, budget)
        blocks.append(_free_features(values, present, is_loss_channel(c), (worst or {}).get(c)))
        if raw:
            blocks.append(values * present[:, None])
        if periods is not None and c != SCHEDULE_CHANNEL:
            blocks.append(_cycle_features(values, periods) * present[:, None])
    return np.concatenate(blocks, axis=1)


def require_curve(records: Sequence, budget: int, channels: Sequence[str]) -> None:
    """One-line NaapgnnError naming the first record with none of the measured ``channels`` (a per-epoch ``lr``
    alone is no curve) that a budget >= 1 reads."""
    measured = [c for c in channels if c != SCHEDULE_CHANNEL] or list(channels)
    for r in records:
        if not any(len(r.curve.get(c, ())) for c in measured):
            has = measured_channels(r.curve)
            raise NaapgnnError(
                f"record {r.id!r}: budget {budget} reads the first {budget} epochs of the curve channel(s) "
                f"{', '.join(measured)}; " + (f"it has {', '.join(has)} only" if has else "it has no curve"))


def values_and_differences_names(budget: int, channels: Sequence[str]) -> list[str]:
    """Names of :func:`values_and_differences` columns, in order."""
    names = []
    for c in channels:
        names += [f"{c}_e{e}" for e in range(1, budget + 1)]
        names += [f"{c}_d1_{e}" for e in range(2, budget + 1)] + [f"{c}_d2_{e}" for e in range(3, budget + 1)]
    return names


def values_and_differences(records: Sequence, budget: int, channels: Sequence[str]) -> np.ndarray:
    """Baker et al. 2018's curve columns: per channel the first ``budget`` values and their first and
    second differences, ``(n, 3 * budget - 3)`` per channel (none at budget 0); NaN where a record
    lacks the channel. A channel shorter than ``budget``, or a record with none of them, is an error.
    """
    if budget and channels:
        require_curve(records, budget, channels)
    blocks = []
    for c in channels:
        values, present = _channel(records, c, budget)
        block = np.concatenate([values, np.diff(values, axis=1), np.diff(values, n=2, axis=1)], axis=1)
        block[present == 0] = np.nan
        blocks.append(block)
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(records), 0))


def columns_beyond(values: np.ndarray, features: np.ndarray) -> list[int]:
    """Indices of the columns of ``values`` (no NaN) that vary and are no affine copy of a column of ``features``
    (up to float rounding): at one epoch Baker's value is the last, the best and the mean of the last three, and
    the last differences are two more curve features, columns which would weigh twice in a kernel's distance."""
    def standardised(a):
        a = a - a.mean(axis=0)
        norm = np.linalg.norm(a, axis=0)
        return a / np.where(norm > 0, norm, 1.0), norm > 1e-12 * (1.0 + np.abs(a).max(initial=0.0))

    v, varies = standardised(np.asarray(values, dtype=float))
    f, f_varies = standardised(np.asarray(features, dtype=float))
    copies = np.abs(v.T @ f[:, f_varies]).max(axis=1, initial=0.0) > 1 - 1e-9
    return [int(j) for j in np.flatnonzero(varies & ~copies)]


def _free_features(values: np.ndarray, present: np.ndarray, lower_is_better: bool,
                   worst: float | None = None) -> np.ndarray:
    """The schedule-free columns (:data:`_FREE`) of an ``(n, k)`` curve; zeros where absent."""
    n, k = values.shape
    best = values.min(axis=1) if lower_is_better else values.max(axis=1)
    diff1 = values[:, -1] - values[:, -2] if k >= 2 else np.zeros(n)
    diff2 = values[:, -1] - 2 * values[:, -2] + values[:, -3] if k >= 3 else np.zeros(n)
    half = max(2, (k + 1) // 2)
    slope = _slopes(np.arange(k - half, k, dtype=float), values[:, k - half:]) if k >= 2 else np.zeros(n)
    log_t = np.log(np.arange(1, k + 1, dtype=float))
    log_slope = _slopes(log_t, values) if k >= 2 else np.zeros(n)
    at_x4 = values.mean(axis=1) + log_slope * (np.log(4.0 * k) - log_t.mean())
    # a channel that never changed is a dead run (diverged, stuck at chance); a smooth kernel on the values alone
    # cannot tell it from a run that starts slowly. After one epoch, a run reading the training records' worst
    # value is dead: the diverged runs' accuracy 0 or carried NaN, against chance for a slow start
    if k >= 2:
        flat = (np.ptp(values, axis=1) == 0).astype(float)
    else:
        flat = np.zeros(n) if worst is None else _at_worst(values[:, 0], worst, lower_is_better)
    cols = [present, values[:, -1], best, values[:, -min(3, k):].mean(axis=1), diff1, diff2, slope, log_slope, at_x4,
            flat]
    return np.column_stack(cols) * np.c_[np.ones(n), np.repeat(present[:, None], len(cols) - 1, axis=1)]


def _at_worst(values: np.ndarray, worst: float, lower_is_better: bool) -> np.ndarray:
    """1 where ``values`` are at ``worst`` or beyond it (up to float rounding), else 0."""
    tolerance = 1e-9 * max(1.0, abs(worst))
    return (values >= worst - tolerance if lower_is_better else values <= worst + tolerance).astype(float)


def _slopes(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row of ``values`` against ``x``."""
    xc = x - x.mean()
    return (values - values.mean(axis=1, keepdims=True)) @ xc / float(xc @ xc)


def _periods(records: Sequence) -> list[int | None]:
    """Each record's learning-rate period, read from its whole ``lr`` channel (a schedule, known in advance);
    records sharing a schedule share one computation."""
    found: dict[bytes, int | None] = {}
    out = []
    for r in records:
        lr = r.curve.get(SCHEDULE_CHANNEL, ())
        if not len(lr):
            out.append(None)
            continue
        key = np.asarray(lr, dtype=float).tobytes()
        if key not in found:
            found[key] = lr_period(lr)
        out.append(found[key])
    return out


def _cycle_features(values: np.ndarray, periods: Sequence[int | None]) -> np.ndarray:
    """Last cycle end, last cycle gain and the extrapolated value per row (:data:`_CYCLE`).

    A row without a period or without a complete cycle within the budget gets
    its last value, no gain and its last value.
    """
    out = np.column_stack([values[:, -1], np.zeros(len(values)), values[:, -1]])
    for p in sorted({q for q in periods if q is not None and q <= values.shape[1]}):
        rows = np.array([q == p for q in periods])
        ends, gains, extrapolated = cycle_summary(values[rows], p)
        last_gain = gains[:, -1] if gains.shape[1] else np.zeros(int(rows.sum()))
        out[rows] = np.column_stack([ends[:, -1], last_gain, extrapolated])
    return out


def _channel(records: Sequence, channel: str, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Epochs ``1..budget`` of one channel (zeros where absent), an accuracy or error rate in fractions
    (:func:`naapgnn.data.channels.fraction_scale`), and a presence flag."""
    scale = fraction_scale(records, channel)
    values = np.zeros((len(records), budget))
    present = np.zeros(len(records))
    for i, r in enumerate(records):
        v = r.curve.get(channel)
        if v is None or len(v) == 0:
            continue
        if len(v) < budget:
            raise NaapgnnError(
                f"record {r.id!r}: curve channel {channel!r} has {len(v)} epochs, budget {budget} needs {budget}")
        check_logged(r, budget, channel)
        values[i] = np.asarray(v[:budget], dtype=float) * scale
        present[i] = 1.0
    return values, present


def check_logged(record, budget: int, channel: str | None = None) -> None:
    """Fail with one line when ``record`` logs ``channel`` (default: any channel) first after epoch ``budget``:
    its epochs up to ``budget`` hold a later value (:attr:`naapgnn.data.records.Record.logged_from`)."""
    late = record.unlogged(budget, None if channel is None else (channel,))
    if late is not None:
        raise NaapgnnError(f"record {record.id!r}: curve channel {late[0]!r} logs its first value at epoch "
                           f"{late[1]}; budget {budget} would read epochs 1..{budget}, before it")

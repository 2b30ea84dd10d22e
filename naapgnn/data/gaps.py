"""Non-finite curve values: epochs not logged, or a run that diverged; and a curve read as it stood at a budget.

A run that diverges often logs its loss as NaN or Infinity from then on (and
some loggers write null). In a benchmark file a channel that stays non-finite
to the end of its curve is read as a diverged run: each such value becomes the
channel's worst finite value in the file (the highest loss or error, the lowest
accuracy), so the run ranks below every run that kept finite values, which is
what a ranking needs, and no NaN reaches a model. A run that logs finite
values again later did not diverge: its non-finite values are epochs not
logged (a validation every few epochs, one overflowed epoch under mixed
precision), read as the last logged value before them, what the run had
logged by then (an interpolation would read the next logged value, an epoch
a budget has not reached). So are its last epochs after its last logged value
when they are no more than its longest such gap (a log every other epoch that
ends on an unlogged one), or when at each of them fewer than half the records
of the file that reach it log a value (a log at fixed epochs, as NAS-Bench-101's
4, 12, 36 and 108). Epochs before a channel's first logged value hold that value,
and the record notes the epoch (``Record.logged_from``): no budget below it
reads the channel (:func:`naapgnn.features.curves.curve_features` and the other
readers refuse it). :func:`fill_non_finite` does all this on loading a file and
says so in one line; the record keeps which epochs were non-finite
(``Record.non_finite``).

Whether a run of non-finite values is a gap or a divergence is decided above on
the whole curve, by what the run logs later. A budget ``k`` may not know that:
:func:`as_seen_at` reads the first ``k`` epochs again as a log cut after epoch
``k`` reads (what ``naapgnn predict`` gets from a run in progress), so that a
replay of full runs predicts from nothing a run had not logged by then. The
evaluation engine and the search apply it for every predictor;
:class:`naapgnn.models.gnn.GNNPredictor` and ``baselines.baker.BakerPredictor``
apply it themselves, with their training runs' worst values and unlogged epochs.
"""
from __future__ import annotations

import bisect
from dataclasses import replace
from types import SimpleNamespace
from typing import Mapping, Sequence

import numpy as np

from naapgnn.data.channels import SCHEDULE_CHANNEL, in_logged_unit, logged_by_most, measured_channels, worst_values
from naapgnn.errors import NaapgnnError

__all__ = ["fill_non_finite", "as_seen_at", "training_reading", "unlogged_epochs", "carried_epochs", "worst_logged",
           "never_logged_notice", "budgets_within", "logged_epochs", "moved_budgets_words"]


def fill_non_finite(records: Sequence, name: str, lines: Sequence[int], worst: dict | None = None,
                    read_epochs: int | None = None) -> str | None:
    """Replace, in place, each NaN of the records' curves: the last logged value inside a curve, the channel's
    worst finite value over the records from the last finite value on (see the module docstring), or the value
    ``worst`` gives the channel; note each record's non-finite epochs in ``Record.non_finite``.

    Parameters
    ----------
    records : sequence of Record
        Curves may hold NaN (:func:`naapgnn.data.channels.curve_value`).
    name : str
        The file, for messages.
    lines : sequence of int
        Each record's line in the file.
    worst : dict of str to float, optional
        A diverged run's value per channel, in place of the file's worst, accuracies and error rates in fractions
        and read in the unit the file logs the channel in (a checkpoint's ``curve_worst_``: its training records'
        worst, so that a prediction does not depend on the other records of the file it is read from).
    read_epochs : int, optional
        The epochs a reader reads (a checkpoint's budget): a value first non-finite after them is replaced without
        a word, as nothing reads it.

    Returns
    -------
    str or None
        A one-line notice of what was replaced that a reader reads (None when nothing was).

    Raises
    ------
    NaapgnnError
        When a channel that a diverged run stops logging has no finite value in any record.
    """
    hit = [(i, c) for i, r in enumerate(records) for c, v in r.curve.items() if np.isnan(v).any()]
    if not hit:
        return None
    for i, c in hit:
        records[i].non_finite[c] = np.flatnonzero(np.isnan(records[i].curve[c]))
    masks = {c: unlogged_epochs(records, c, max(len(r.curve.get(c, ())) for r in records)) for c in {c for _, c in hit}}
    gaps, diverged = [], []
    for i, c in hit:
        values = records[i].curve[c]
        inside, first_diverged = _reading(values, masks[c])
        if len(inside):
            gaps.append((i, c, int(inside[0])))
            first_logged = int(np.flatnonzero(np.isfinite(values))[0])
            if first_logged > 0:
                records[i].logged_from[c] = first_logged + 1
            _carry_last_logged(values, inside)
        if first_diverged is not None:
            diverged.append((i, c, first_diverged))
    values, given = _fill_diverged(records, diverged, name, worst)
    cut = []
    if read_epochs is not None:  # what a checkpoint never reads is no news
        gaps, diverged = [h for h in gaps if h[2] < read_epochs], [h for h in diverged if h[2] < read_epochs]
        cut = [h for h in gaps if _non_finite_through(records[h[0]].non_finite[h[1]], h[2], read_epochs)]
        gaps = [h for h in gaps if h not in cut]
    parts = []
    if cut:  # the checkpoint reads its first epochs as they stood then (as_seen_at): a run diverged by then
        parts.append(f"{_first_and_count(cut, lines)} logged finite values only after the {read_epochs} "
                     f"epoch{'s' * (read_epochs != 1)} the checkpoint reads, which read as a run diverged by epoch "
                     f"{read_epochs}, as they stood then")
    if gaps:
        parts.append(f"{_first_and_count(gaps, lines)} logged finite values later, so each non-finite value "
                     "before the last finite one was read as an epoch not logged (the last logged value; after it, "
                     "as many epochs as the record's longest gap or epochs most records leave unlogged, the last "
                     "value; no budget reads a channel before its first logged epoch)")
    if diverged:
        channels = dict.fromkeys(c for _, c, _ in diverged)
        said = [f"{c} {values[c]:g}" for c in channels if c not in given]
        from_checkpoint = [f"{c} {values[c]:g}" for c in channels if c in given]
        said = ([f"its channel's worst finite value in the file ({', '.join(said)})"] if said else []) + (
            [f"the checkpoint's training worst ({', '.join(from_checkpoint)})"] if from_checkpoint else [])
        parts.append(f"{_first_and_count(diverged, lines)} stayed non-finite to the end, read as diverged runs, "
                     f"each such value as {' or '.join(said)}")
    if not parts:
        return None
    return f"{name}: " + "; ".join(parts)


def _fill_diverged(records: Sequence, diverged: list, name: str, worst: dict | None) -> tuple[dict, dict]:
    """Each diverged run's values from its first non-finite epoch on, as its channel's ``worst`` or else its worst
    finite value in ``records``; the values read per channel, and those of them ``worst`` gave."""
    channels = dict.fromkeys(c for _, c, _ in diverged)
    given = in_logged_unit({c: float(worst[c]) for c in channels if worst and c in worst}, records)
    found = worst_values(records, [c for c in channels if c not in given])
    lacking = [c for c in channels if c not in given and c not in found]
    if lacking:
        raise NaapgnnError(f"{name}: curve channel {lacking[0]!r} has no finite value in any record")
    values = {**found, **given}
    for i, c, epoch in diverged:
        records[i].curve[c][epoch:] = values[c]
    return values, given


def as_seen_at(records: Sequence, budget: int, worst: Mapping[str, float] | None = None,
               unlogged: Mapping[str, Sequence[int]] | None = None) -> list:
    """The records as a log cut after epoch ``budget`` reads their first ``budget`` epochs.

    A record whose file held non-finite values before ``budget`` is copied with those epochs read again from its
    first ``budget`` epochs alone (the module docstring's rules, the open gap at its end included; a diverged run
    reads the worst value of the records' first ``budget`` epochs): the first ``budget`` epochs of a file cut
    after epoch ``budget`` read the same. Its later epochs stay as the file reads them (a budget reads none of
    them). A channel first logged after ``budget`` reads as a diverged run where most records have logged it by
    then, as a cut file reads it; else it stays as it is, and the budget is refused
    (:func:`naapgnn.data.channels.late_logs`).

    Parameters
    ----------
    records : sequence of Record
        As loaded (:func:`fill_non_finite` noted their non-finite epochs).
    budget : int
        Epochs read; below 1, the records are returned as they are.
    worst : dict of str to float, optional
        A diverged run's value per channel (a checkpoint's ``diverged_values_``); else the worst of the records'
        first ``budget`` epochs.
    unlogged : dict of str to sequence of int, optional
        Per channel, the 0-based epochs that most of a model's training records left unlogged
        (:func:`unlogged_epochs`); else those of ``records``.

    Returns
    -------
    list of Record
        ``records`` itself when no record changes, else a new list (the changed records copied).
    """
    touched = [i for i, r in enumerate(records)
               if any(len(e) and e[0] < budget for e in r.non_finite.values())] if budget >= 1 else []
    if not touched:
        return records
    out, masks, values_of, logged_by = list(records), {}, dict(worst or {}), {}
    for i in touched:
        record, curve, logged_from = records[i], dict(records[i].curve), dict(records[i].logged_from)
        for c in record.non_finite:
            length = min(budget, len(curve[c]))
            end = min(length, record.stopped_at or length)  # a run that stopped early logged nothing after its stop
            raw = _as_logged(record, c, end)
            if not np.isnan(raw).any():
                continue
            if logged_from.get(c, 1) > budget:  # no value yet: refused while most runs have none either
                if c not in logged_by:
                    logged_by[c] = logged_by_most(records, c, budget)
                if not logged_by[c]:
                    continue
                del logged_from[c]
            if c not in masks:
                masks[c] = (np.isin(np.arange(budget), unlogged.get(c, ())) if unlogged is not None
                            else unlogged_epochs(records, c, budget))
            inside, first_diverged = _reading(raw, masks[c])
            _carry_last_logged(raw, inside)
            if first_diverged is not None:
                if c not in values_of:
                    values_of.update(worst_logged(records, [c], budget))
                raw[first_diverged:] = values_of[c]
            curve[c] = np.r_[raw, np.full(length - end, raw[-1]), curve[c][length:]]  # after a stop, its last value
        out[i] = replace(record, curve=curve, logged_from=logged_from)
    return out


def training_reading(records: Sequence, channels: Sequence[str], budget: int) -> tuple[dict, dict]:
    """What a model keeps of its training records to read any run as it stood at ``budget``
    (:func:`as_seen_at`'s ``worst`` and ``unlogged``): each channel's worst value over their first ``budget``
    epochs (:func:`worst_logged`), and the epochs of those most of them left unlogged (:func:`unlogged_epochs`)."""
    unlogged = {c: np.flatnonzero(unlogged_epochs(records, c, budget)).tolist() for c in channels}
    return worst_logged(records, channels, budget), unlogged


def unlogged_epochs(records: Sequence, channel: str, length: int) -> np.ndarray:
    """Per epoch ``0..length - 1``, whether fewer than half the records that reach it (two or more; a run
    stopped early reaches its last logged epoch) log a finite value of ``channel`` there: the file's own gaps, no
    divergence. Not "no record": one run that logs an extra epoch would make every other run's gap there a
    divergence."""
    reach, logs = np.zeros(length, dtype=int), np.zeros(length, dtype=int)
    for r in records:
        values = r.curve.get(channel, ())
        n = min(r.stopped_at or len(values), len(values), length)  # a record without the channel reaches none
        logged = np.isfinite(np.asarray(values[:n], dtype=float))
        was_non_finite = r.non_finite.get(channel, np.zeros(0, dtype=int))
        logged[was_non_finite[was_non_finite < n]] = False
        reach[:n] += 1
        logs[:n] += logged
    return (2 * logs < reach) & (reach >= 2)


def carried_epochs(records: Sequence, channel: str, budget: int) -> np.ndarray:
    """``(len(records), budget)``: whether each record's epoch of ``channel`` holds a value carried from an
    earlier (or, before its first log, a later) logged epoch, the record's file having left it unlogged; False
    where it was logged, where it reads as diverged (the worst value is a reading of the run), and past the
    record's curve. A fit of the curve's shape reads only the other epochs."""
    out = np.zeros((len(records), budget), dtype=bool)
    file_unlogged = None
    for i, record in enumerate(records):
        epochs = record.non_finite.get(channel, np.zeros(0, dtype=int))
        if not len(epochs) or epochs[0] >= budget or not len(record.curve.get(channel, ())):
            continue
        if file_unlogged is None:
            file_unlogged = unlogged_epochs(records, channel, budget)
        raw = _as_logged(record, channel, budget)
        inside, first_diverged = _reading(raw, file_unlogged[:len(raw)])
        out[i, :len(raw)] = np.isnan(raw) if first_diverged is None else np.isin(np.arange(len(raw)), inside)
    return out


def _as_logged(record, channel: str, budget: int) -> np.ndarray:
    """The first ``budget`` epochs of a record's channel as its file gave them (NaN where non-finite)."""
    values = np.array(record.curve[channel][:budget], dtype=float)
    epochs = record.non_finite.get(channel, np.zeros(0, dtype=int))
    values[epochs[epochs < budget]] = np.nan
    return values


def worst_logged(records: Sequence, channels: Sequence[str], budget: int) -> dict:
    """Each channel's worst finite value over the records' first ``budget`` epochs as their files gave them
    (:func:`naapgnn.data.channels.worst_values`; what a diverged run reads at that budget); over their whole
    curves when those epochs hold none (a budget before any record's first log, at which no other record can be
    read)."""
    out = {}
    for channel in channels:
        logged = [SimpleNamespace(curve={channel: _as_logged(r, channel, budget)}) for r in records
                  if len(r.curve.get(channel, ()))]
        found = worst_values(logged, [channel]) or worst_values(records, [channel])
        out.update(found)
    return out


def _reading(values: np.ndarray, file_unlogged: np.ndarray) -> tuple[np.ndarray, int | None]:
    """Of one curve holding NaN: its epochs read as not logged, and the first one read as diverged (None when
    none is). ``file_unlogged``: per epoch, whether most records leave it unlogged (:func:`unlogged_epochs`)."""
    finite = np.flatnonzero(np.isfinite(values))
    last = finite[-1] if len(finite) else -1
    inside = np.flatnonzero(np.isnan(values[:last + 1]))
    trailing = np.arange(last + 1, len(values))
    if not len(trailing):
        return inside, None
    if len(finite) and (len(trailing) <= _longest_gap(inside) or file_unlogged[trailing].all()):
        return np.r_[inside, trailing], None  # a sparse log whose last epochs were not logged
    return inside, int(last + 1)


def _carry_last_logged(values: np.ndarray, epochs: np.ndarray) -> None:
    """Each of ``epochs`` reads, in place, the last logged value before it (the first one for epochs before it):
    what a run logs by that epoch, never a later value."""
    finite = np.flatnonzero(np.isfinite(values))
    values[epochs] = values[finite[np.maximum(np.searchsorted(finite, epochs) - 1, 0)]]


def _longest_gap(epochs: np.ndarray) -> int:
    """The longest run of consecutive numbers in sorted ``epochs`` (0 when empty)."""
    if not len(epochs):
        return 0
    breaks = np.flatnonzero(np.diff(epochs) > 1)
    starts, ends = np.r_[0, breaks + 1], np.r_[breaks, len(epochs) - 1]
    return int((ends - starts + 1).max())


def never_logged_notice(records: Sequence, name: str, lines: Sequence[int]) -> str | None:
    """A one-line notice naming the records that log no value of a channel (leave it out, or give an empty list)
    which most records log: every budget reads them as runs that diverged before logging it (:func:`as_seen_at`),
    as a log cut short reads, which a file should not leave unsaid. None when there are none."""
    logged = [set(measured_channels(r.curve)) - {SCHEDULE_CHANNEL} for r in records]
    counts = {c: sum(c in have for have in logged) for c in set().union(*logged)}
    parts = []
    for channel in sorted(counts):
        lacking = [i for i, have in enumerate(logged) if channel not in have]
        if lacking and len(lacking) * 2 < len(records):
            shown = ", ".join(str(lines[i]) for i in lacking[:3]) + (
                f" and {len(lacking) - 3} more" if len(lacking) > 3 else "")
            parts.append(f"curve.{channel}: {len(lacking)} record(s) log no value (line {shown}) while "
                         f"{len(records) - len(lacking)} do{_misspelt(channel, lacking, logged, lines, counts)}")
    if not parts:
        return None
    return (f"{name}: " + "; ".join(parts) + ": read as runs that diverged before logging it, the channel's worst "
            "value at every budget (give its values, or null for each epoch not logged)")


def _misspelt(channel: str, lacking: list, logged: list, lines: Sequence[int], counts: dict) -> str:
    """`` (line L logs 'valid_acuracy', a channel few records log: a misspelling of it?)`` when a record lacking
    ``channel`` logs a channel of a close name that fewer than half the records log; else empty."""
    from naapgnn.data.names import close_name

    for i in lacking:
        close = close_name(channel, (c for c in logged[i] if 2 * counts[c] < len(logged)))
        if close:
            return (f" (line {lines[i]} logs {close!r}, which {counts[close]} record(s) log: a misspelling of "
                    f"{channel!r}?)")
    return ""


def _non_finite_through(non_finite, first: int, end: int) -> bool:
    """Whether every epoch from ``first`` to ``end`` (exclusive) is among the ``non_finite`` ones."""
    return set(range(first, end)) <= {int(e) for e in non_finite}


def _first_and_count(hits: list, lines: Sequence[int]) -> str:
    """``N record(s) with non-finite curve values (first: line L, curve.C[E])`` of ``(record, channel, epoch)``."""
    i, c, epoch = hits[0]
    return (f"{len({h[0] for h in hits})} record(s) with non-finite curve values (first: line {lines[i]}, "
            f"curve.{c}[{epoch}])")


def budgets_within(defaults, last: int, first_logged: int = 1, logged: Sequence[int] | None = None) -> list[int]:
    """The ``defaults`` a curve of ``last`` epochs holds that read no value logged after them (none of
    1..``first_logged - 1``). Where that leaves no budget >= 1 and the logs start late (a validation every tenth
    epoch, say), the positive defaults scaled by ``first_logged`` instead: 1..9 become 10, 20, ..., 90, the same
    question asked in the benchmark's own logging steps. With ``logged`` (:func:`logged_epochs`), each positive
    budget then moves down to the last logged epoch at or before it, each once: a budget between two logged epochs
    reads what the earlier one read, for more training (NAS-Bench-101's log at epochs 4, 12, 36 and 108 holds
    nothing at 5-9 that 4 did not)."""
    held = [b for b in defaults if b <= last and (b == 0 or b >= first_logged)]
    if first_logged > 1 and not any(held):
        held = [0] * (0 in defaults) + [b * first_logged for b in defaults if 0 < b * first_logged <= last]
    if logged is None:
        return held
    at_logged = []
    for b in held:
        before = bisect.bisect_right(logged, b)
        moved = b if b == 0 else logged[before - 1] if before else None
        if moved is not None and moved not in at_logged:
            at_logged.append(moved)
    return at_logged


def moved_budgets_words(logged: Sequence[int]) -> str:
    """Why :func:`budgets_within` moved budgets to ``logged`` (:func:`logged_epochs`), the first eight named."""
    shown = ", ".join(map(str, logged[:8])) + (", ..." if len(logged) > 8 else "")
    return (f"the records log values at epochs {shown} only, and a budget between two of them reads what the earlier "
            "one read, for more training")


def logged_epochs(records: Sequence) -> list[int]:
    """The epochs (1-based, ascending) at which some record logs a finite value of a measured channel (its learning
    rate aside, a schedule set before training): those a budget reads something new at."""
    seen = np.zeros(max((r.num_epochs for r in records), default=0), dtype=bool)
    for r in records:
        for channel in measured_channels(r.curve):
            n = min(len(r.curve[channel]), r.stopped_at or len(r.curve[channel]))
            logged = np.ones(n, dtype=bool)
            logged[:r.logged_from.get(channel, 1) - 1] = False
            unlogged = np.asarray(r.non_finite.get(channel, ()), dtype=int)
            logged[unlogged[unlogged < n]] = False
            seen[:n] |= logged
    return (np.flatnonzero(seen) + 1).tolist()

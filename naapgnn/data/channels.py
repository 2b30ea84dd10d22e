"""Curve channels: which is the learning rate, which are lower-is-better (losses, error rates), which holds the
accuracy, and the values of diverged runs.

Non-finite values (epochs not logged, diverged runs) are read in :mod:`naapgnn.data.gaps`; the learning rate
(``lr``) is a schedule, never a measurement, so a non-finite rate is an error.

A record with a target finished its training; when its curve ends before the
longest such curve of the file, the run stopped early (an early-stopping rule,
a divergence its trainer caught) and stood still from then on:
:func:`carry_stopped_runs` carries each channel's last value to the longest
length, so a budget past its last epoch reads what the run ended with. A
record without a target may still be training, and a budget past its curve
stays an error.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from naapgnn.data.hparams import finite_number
from naapgnn.data.names import name_words
from naapgnn.errors import NaapgnnError

__all__ = ["SCHEDULE_CHANNEL", "ACCURACY_CHANNEL", "is_loss_channel", "is_error_channel", "is_cost_channel",
           "read_at_mean_when_lacking", "measured_channels", "accuracy_channels", "accuracy_candidates",
           "accuracy_factor", "fraction_scale",
           "as_accuracy", "in_logged_unit", "target_channel", "is_training_channel", "worst_values", "logged_by_most",
           "late_logs", "first_logged_epoch", "curve_value", "curve_values", "carry_stopped_runs",
           "curves_cut_short", "cut_short_note", "check_full_epochs", "run_lengths", "is_schedule_name",
           "schedule_alias", "read_schedule_alias", "missing_schedule_notice"]

SCHEDULE_CHANNEL = "lr"
ACCURACY_CHANNEL = "accuracy"
# How far outside [0, 1] an accuracy channel's values may stray (noise added to a logged accuracy, say)
ACCURACY_SLACK = 0.05
# Mean gap between a channel's last values and the targets within which the targets are that channel's end
TARGET_END_GAP = 1e-3
# How far above its curve's best value a target lies when the run went on after the logged epochs (one point of
# accuracy: more than NAAP-440's gap between the last logged epoch and the final accuracy, 0.002 on average)
CUT_SHORT_MARGIN = 0.01
# An error rate read as fractions that ends this far below the final accuracy is likely in percent.
LOW_PERCENT_GAP = 0.25


# Name parts that mark a channel where lower is better (an error rate aside, :func:`is_error_channel`): anywhere
# in the name ...
LOWER_IS_BETTER_PARTS = ("loss", "entropy", "perplexity", "regret")
# ... or as a whole word of it (split at non-letters and camelCase), where a bare substring would be ambiguous
LOWER_IS_BETTER_WORDS = frozenset({"nll", "mse", "mae", "rmse", "ppl", "ce", "wer", "cer"})


def is_loss_channel(name: str) -> bool:
    """Whether lower is better on a curve channel (a loss, in the wide sense).

    Its name holds ``loss``, ``error``, ``entropy``, ``perplexity`` or
    ``regret`` (``loss_mean``, ``val_loss``, ``valid_error``,
    ``val_cross_entropy``), or one of its words is ``nll``, ``mse``,
    ``mae``, ``rmse``, ``ppl``, ``ce``, ``wer`` or ``cer``, or ends in
    ``err`` (``top1_err``, ``valErr``). Everything else (``accuracy``,
    ``val_acc``, ``f1``, ...) is higher-is-better.
    """
    if is_error_channel(name) or any(part in name.lower() for part in LOWER_IS_BETTER_PARTS):
        return True
    return any(w in LOWER_IS_BETTER_WORDS for w in name_words(name))


def measured_channels(curve) -> list[str]:
    """The non-empty channels of a record's ``curve`` but the learning rate (a schedule, not a measurement)."""
    return [c for c, v in curve.items() if len(v) and c != SCHEDULE_CHANNEL]


# Words of a channel name that mark a cost or a count, never an accuracy (though its values may lie in [0, 100])
COST_WORDS = frozenset({"time", "times", "seconds", "secs", "sec", "duration", "runtime", "flops", "macs", "params",
                        "memory", "mem", "epoch", "epochs", "step", "steps", "norm"})


def read_at_mean_when_lacking(name: str) -> bool:
    """Whether a channel a model reads may be missing from a record it predicts, read at its training mean: a loss
    or a cost; an accuracy lacking is refused (the curve would then say nothing of how the run fares)."""
    return is_loss_channel(name) or is_cost_channel(name)


def is_cost_channel(name: str) -> bool:
    """Whether a channel logs a cost or a count (``epoch_time``, ``train_seconds``, ``grad_norm``, ``step``) or a
    learning rate (:func:`is_schedule_name`): never an accuracy, even when its values lie in [0, 100]; a name with
    a word starting ``acc`` is none."""
    words = name_words(name)
    return (any(w in COST_WORDS for w in words) or is_schedule_name(name)) and not any(w.startswith("acc")
                                                                                       for w in words)


def is_schedule_name(name: str) -> bool:
    """Whether a channel's name says it logs a learning rate: a word ``lr`` (``lr``, ``LR``, ``head_lr``) or the
    words ``learning`` and ``rate`` (``learning_rate``, ``learningRate``), and no word starting ``acc`` and no
    loss (``lr_acc``, ``accuracy_at_lr`` log an accuracy)."""
    words = name_words(name)
    if any(w.startswith("acc") for w in words) or is_loss_channel(name):
        return False
    return "lr" in words or ("learning" in words and "rate" in words)


def schedule_alias(curves: Sequence) -> str | None:
    """The channel that a file's ``curves`` (each a record's channel names) log the schedule ``lr`` under though
    named otherwise (``learning_rate``): the only such name in the file, logged by no record beside an ``lr``;
    else None (several such names stay as they are, each read as a cost, never as an accuracy)."""
    named = {c for names in curves for c in names if is_schedule_name(c)} - {SCHEDULE_CHANNEL}
    if len(named) != 1:
        return None
    (alias,) = named
    return None if any(alias in names and SCHEDULE_CHANNEL in names for names in curves) else alias


def read_schedule_alias(records: Sequence, name: str) -> str | None:
    """Rename, in place, the channel :func:`schedule_alias` finds to ``lr`` in every record; a one-line note
    saying so, or None."""
    alias = schedule_alias([r.curve for r in records])
    if alias is None:
        return None
    for r in records:
        if alias in r.curve:
            r.curve[SCHEDULE_CHANNEL] = r.curve.pop(alias)
    return (f"{name}: curve channel {alias!r} read as the learning-rate schedule {SCHEDULE_CHANNEL!r}, never as an "
            "accuracy")


def missing_schedule_notice(records: Sequence, name: str, lines: Sequence[int]) -> str | None:
    """A one-line warning when some records log an ``lr`` channel and others neither one nor an ``lr`` in their
    ``hparams``: a model reads the latter's learning rate as unknown (its peak as the training records' mean),
    which a file rarely means."""
    logs = [bool(len(r.curve.get(SCHEDULE_CHANNEL, ()))) for r in records]
    lacking = [line for r, line, logged in zip(records, lines, logs)
               if not logged and SCHEDULE_CHANNEL not in r.hparams]
    logging = sum(logs)
    if not lacking or not logging:
        return None
    return (f"{name}: {len(lacking)} record(s) (first: line {lacking[0]}) log no {SCHEDULE_CHANNEL!r} channel, which "
            f"{logging} other(s) log: their learning rate is read as unknown (its peak as the training records' "
            "mean)")


def is_error_channel(name: str) -> bool:
    """Whether a channel is an error rate, one minus an accuracy: its name holds ``error`` or one of its words
    ends in ``err`` (``valid_error``, ``top1_err``)."""
    return "error" in name.lower() or any(w.endswith("err") for w in name_words(name))


def accuracy_channels(records: Sequence) -> list[str]:
    """The measured channels every record has that a target could be the end of (sorted): those where higher is
    better, or, when none of them logs held-out data (:func:`is_training_channel`), also the held-out error rates
    (:func:`is_error_channel`, read as one minus an accuracy: ``val_error`` beside ``train_accuracy``), or, when
    none is higher-is-better, every error rate; never a cost (:func:`is_cost_channel`)."""
    if not records:
        return []
    common = {c for c in set.intersection(*(set(measured_channels(r.curve)) for r in records))
              if not is_cost_channel(c)}
    higher = sorted(c for c in common if not is_loss_channel(c))
    errors = sorted(c for c in common if is_error_channel(c))
    if not higher or any(not is_training_channel(c, higher) for c in higher):
        return higher or errors
    return sorted(higher + [c for c in errors if not is_training_channel(c, errors)])


def target_channel(records: Sequence, targets=None) -> tuple[str, float] | None:
    """The curve channel whose end the target is, and the factor from its units to the target's.

    Of :func:`accuracy_channels` whose values read as accuracies: one whose last value (read by
    :func:`as_accuracy`) is the target (within :data:`TARGET_END_GAP` on average: full curves); else those that
    log no training data (:func:`is_training_channel`: not ``train_acc``, nor Keras's ``accuracy`` beside
    ``val_accuracy``; all when every one does; on curves cut short a training accuracy may lie closer to the
    final one); of several, the one whose last value lies closest to ``targets`` on average, or without
    targets ``accuracy``. The factor (:func:`accuracy_factor`) is 0.01 for a channel in
    percent, else 1, negated for an error rate; a channel whose values, so scaled, leave [0, 1] by more than
    :data:`ACCURACY_SLACK` (a time, a norm) is no accuracy. None when no channel qualifies, or several do and
    neither targets nor names tell them apart.
    """
    factors = accuracy_candidates(records)
    gap = {}
    if len(factors) > 1 and targets is not None:
        y = np.asarray(targets, dtype=float)
        gap = {c: float(np.mean(np.abs(as_accuracy([r.curve[c][-1] for r in records], f) - y)))
               for c, f in factors.items()}
    candidates = [c for c in factors if gap.get(c, 1.0) <= TARGET_END_GAP]  # a channel that ends on the targets
    candidates = candidates or [c for c in factors if not is_training_channel(c, list(factors))] or list(factors)
    if len(candidates) > 1 and gap:
        candidates = [min(candidates, key=gap.get)]
    if len(candidates) > 1 and ACCURACY_CHANNEL in candidates:
        candidates = [ACCURACY_CHANNEL]
    return (candidates[0], factors[candidates[0]]) if len(candidates) == 1 else None


def curves_cut_short(records: Sequence, targets) -> bool:
    """Whether the curves evidently hold only the first epochs of longer runs: half or more of ``targets`` lie
    above the best value of the channel they are the end of (:func:`target_channel`) by more than
    :data:`CUT_SHORT_MARGIN` (the runs went on improving after their last logged epoch). False when no channel
    reads as an accuracy."""
    found = target_channel(records, targets)
    if found is None or not all(len(r.curve.get(found[0], ())) for r in records):
        return False
    best = np.array([as_accuracy(r.curve[found[0]], found[1]).max() for r in records])
    return bool(np.mean(np.asarray(targets, dtype=float) > best + CUT_SHORT_MARGIN) >= 0.5)


def cut_short_note(records: Sequence, full_epochs: int) -> str | None:
    """The note for costs counted against full trainings of ``full_epochs``, the curves' length, when the curves
    evidently hold only the first epochs of longer runs (:func:`curves_cut_short`, on the records with a target);
    else None. ``search`` and ``evaluate`` say it when no ``--full-epochs`` is given."""
    scored = [r for r in records if r.target is not None]
    if not scored or not curves_cut_short(scored, [r.target for r in scored]):
        return None
    return (f"the costs assume the curves are full trainings ({full_epochs} epochs), but most targets lie above "
            "their curve's best value, as when the curves hold only the first epochs of longer runs; give "
            "--full-epochs N, the epochs of a full training")


def check_full_epochs(full_epochs: int | None, longest: int | None = None) -> None:
    """Refuse in one line a ``--full-epochs`` below 1, or (``longest`` given: the data read) shorter than the
    longest curve, ``longest`` epochs."""
    if full_epochs is not None and full_epochs < 1:
        raise NaapgnnError(f"--full-epochs: {full_epochs} is not a number of epochs (>= 1)")
    if full_epochs is not None and longest is not None and (not longest or full_epochs < longest):
        raise NaapgnnError(f"--full-epochs: {full_epochs} is shorter than the longest curve ({longest or 0} epochs)")


def run_lengths(records: Sequence, full_epochs: int | None = None) -> list[int]:
    """Epochs of each record's own run: its ``Record.stopped_at`` where it stopped early (its curve carried to the
    longest by :func:`carry_stopped_runs`), else ``full_epochs`` (given: ``--full-epochs``), else its curve's length."""
    return [r.stopped_at if r.stopped_at is not None else full_epochs or r.num_epochs for r in records]


# Prefixes that mark a held-out channel (Keras logs ``accuracy`` for training beside ``val_accuracy``)
HELD_OUT_PREFIXES = ("val_", "valid_", "validation_", "test_", "eval_")
HELD_OUT_WORDS = frozenset({"val", "valid", "validation", "test", "eval", "evaluation", "holdout", "dev"})


def is_training_channel(name: str, channels: Sequence[str] = ()) -> bool:
    """Whether ``name`` logs the training data: a word ``train`` or ``training`` and none of held-out data
    (``train_acc``; LCBench's ``Train/val_accuracy`` is held out, its ``Train/train_accuracy`` not), or another of
    ``channels`` is the same name with a held-out prefix (``accuracy`` beside ``val_accuracy``)."""
    words = name_words(name)
    if any(w in ("train", "training") for w in words):
        return not any(w in HELD_OUT_WORDS for w in words)
    return any(f"{prefix}{name}" in channels for prefix in HELD_OUT_PREFIXES)


def accuracy_candidates(records: Sequence) -> dict[str, float]:
    """The channels :func:`target_channel` chooses among, each with its :func:`accuracy_factor`: every one of
    :func:`accuracy_channels` whose values read as accuracies."""
    factors = {c: accuracy_factor(records, c) for c in accuracy_channels(records)}
    return {c: f for c, f in factors.items() if f is not None}


def accuracy_factor(records: Sequence, channel: str) -> float | None:
    """The factor :func:`as_accuracy` reads ``channel`` with: 0.01 when a value exceeds 1 + :data:`ACCURACY_SLACK`
    (percent), else 1, negated for an error rate (:func:`is_error_channel`); None when its values, so scaled,
    leave [0, 1] by more than that slack (no accuracy). It reads the finite values only (a file not yet filled,
    :mod:`naapgnn.data.gaps`); None when there are none."""
    values = np.concatenate([r.curve[channel] for r in records])
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    low, high = float(values.min()), float(values.max())
    factor = 0.01 if high > 1.0 + ACCURACY_SLACK else 1.0
    if not (-ACCURACY_SLACK <= low * factor and high * factor <= 1.0 + ACCURACY_SLACK):
        return None
    return -factor if is_error_channel(channel) else factor


def fraction_scale(records: Sequence, channel: str) -> float:
    """What turns ``channel`` into fractions: 0.01 for an accuracy or an error rate logged in percent (its
    :func:`accuracy_factor` over the records that have it), else 1 (a loss, a cost, the learning rate, a
    channel in fractions). Curve features read accuracies in one unit whatever a file logs, so a model
    trained on a file in percent reads a file in fractions as it should."""
    if not _reads_as_accuracy(channel):
        return 1.0
    having = [r for r in records if len(r.curve.get(channel, ()))]
    factor = accuracy_factor(having, channel) if having else None
    return 0.01 if factor is not None and abs(factor) == 0.01 else 1.0


def in_logged_unit(fractions: Mapping[str, float], records: Sequence) -> dict:
    """Per-channel values given in fractions (a checkpoint's ``curve_worst_``) in the unit ``records`` log each
    channel in (:func:`fraction_scale`): a model trained on a file in percent reads a file in fractions at its
    training values, and the other way round."""
    return {c: v / fraction_scale(records, c) for c, v in fractions.items()}


def _reads_as_accuracy(channel: str) -> bool:
    """Whether ``channel`` may hold an accuracy or an error rate (in fractions or percent), by its name."""
    return not (is_cost_channel(channel) or (is_loss_channel(channel) and not is_error_channel(channel)))


def as_accuracy(values, factor: float) -> np.ndarray:
    """Curve values as accuracy fractions: ``values * factor``, or for an error rate (a negative factor)
    ``1 + values * factor``."""
    scaled = np.asarray(values, dtype=float) * factor
    return scaled if factor > 0 else 1.0 + scaled


def logged_by_most(records: Sequence, channel: str, budget: int) -> bool:
    """Whether more than half the records with ``channel`` have logged it by epoch ``budget``: then a record that
    logs it first later reads, at that budget, as a run stopped there shows it (no value yet: a diverged run,
    :func:`naapgnn.data.gaps.as_seen_at`) rather than refusing the budget."""
    having = [r for r in records if len(r.curve.get(channel, ()))]
    return 2 * sum(r.logged_from.get(channel, 1) > budget for r in having) < len(having)


def late_logs(records: Sequence, budget: int) -> list[tuple]:
    """``(record, channel, first logged epoch)`` for each of ``records`` that logs a channel first after epoch
    ``budget >= 1`` (:meth:`naapgnn.data.records.Record.unlogged`) while most records have not logged it by then
    either (:func:`logged_by_most`), in order: the budget reads no such channel."""
    late = [(r, *found) for r in records if (found := r.unlogged(budget)) is not None]
    refused = {c: not logged_by_most(records, c, budget) for c in {c for _, c, _ in late}}
    return [(r, c, e) for r, c, e in late if refused[c]]


def first_logged_epoch(records: Sequence) -> int:
    """The first epoch by which the records have logged their channels (1 unless some log starts later,
    :attr:`naapgnn.data.records.Record.logged_from`, :func:`late_logs`): the smallest budget >= 1 that reads no
    value logged after it."""
    starts = sorted({1, *(e for r in records for e in r.logged_from.values())})
    return next(b for b in starts if not late_logs(records, b))


def curve_values(values: list, channel: str, diverged_ok: bool) -> np.ndarray:
    """A channel's per-epoch values, each read by :func:`curve_value`; at once when every one is a finite JSON
    number below 2**53 (the common case: a value-by-value read was most of a 3,000-record file's loading)."""
    if all(type(v) is float or type(v) is int for v in values):
        try:
            array = np.array(values, dtype=float)
        except OverflowError:  # an integer beyond any float: the read below names it
            array = None
        if array is not None and (not array.size or (np.isfinite(array).all() and np.abs(array).max() < 2.0 ** 53)):
            return array
    return np.array([curve_value(v, channel, f"curve.{channel}[{i}] (epoch {i + 1})", diverged_ok)
                     for i, v in enumerate(values)],
                    dtype=float)


def curve_value(value: Any, channel: str, where: str, diverged_ok: bool) -> float:
    """One per-epoch value: a finite number, or (``diverged_ok``, a channel other than a learning rate,
    :func:`is_schedule_name`) NaN for NaN, Infinity, -Infinity or null."""
    non_finite = value is None or (isinstance(value, float) and not math.isfinite(value))
    if non_finite and diverged_ok and not is_schedule_name(channel):  # learning_rate is read as lr after
        return math.nan
    return finite_number(value, where)


def carry_stopped_runs(records: Sequence, name: str, lines: Sequence[int]) -> str | None:
    """Extend, in place, the curves of the records with a target that end before the longest such curve, each
    channel by its last value (the ``lr`` schedule as that of a full-length run it follows up to its stop, when one
    does), noting the logged length in ``Record.stopped_at``.

    Returns
    -------
    str or None
        A one-line notice of what was extended (None when nothing was).
    """
    finished = [i for i, r in enumerate(records) if r.target is not None and r.num_epochs]
    longest = max((records[i].num_epochs for i in finished), default=0)
    stopped = [i for i in finished if records[i].num_epochs < longest]
    if not stopped:
        return None
    schedules = sorted({tuple(records[i].curve[SCHEDULE_CHANNEL]) for i in finished
                        if len(records[i].curve.get(SCHEDULE_CHANNEL, ())) == longest})
    for i in stopped:
        record = records[i]
        record.stopped_at = record.num_epochs
        record.curve = {c: np.r_[v, np.full(longest - len(v), v[-1])] if len(v) else v for c, v in record.curve.items()}
        rates = record.curve.get(SCHEDULE_CHANNEL, ())
        if len(rates):  # a schedule goes on as a full run's that it follows up to its stop (a cyclic rate stays cyclic)
            full = next((s for s in schedules if np.allclose(s[:record.stopped_at], rates[:record.stopped_at],
                                                                     rtol=1e-9, atol=0.0)), None)
            if full is not None:
                record.curve[SCHEDULE_CHANNEL] = np.array(full, dtype=float)
    first = min(stopped, key=lambda i: records[i].stopped_at)
    full_length = [lines[i] for i in sorted(set(finished) - set(stopped))]
    few = (f"; only {len(full_length)} reach it (line {full_length[0]}{' ...' if len(full_length) > 1 else ''}): "
           "the odd ones out?" if _few_longer(len(full_length), len(stopped)) else "")
    return (f"{name}: {len(stopped)} record(s) with a target end their curve before epoch {longest}, the longest "
            f"(shortest: line {lines[first]}, {records[first].stopped_at} epochs): read as runs stopped early, "
            f"each channel's last value carried to the end (an lr channel instead goes on as the schedule of a "
            f"full-length run whose rates it matched up to its stop, where there is one){few}")


def _few_longer(longer: int, stopped: int) -> bool:
    """Whether the runs of the longest curve are few enough to be a mistake (a run logged past the others' end)
    rather than an early-stopping benchmark's runs that reached its cap (30 of 80 in a probe's)."""
    return longer < stopped and (longer <= 2 or 10 * longer < longer + stopped)


def worst_values(records: Sequence, channels) -> dict:
    """Each of ``channels``' worst finite value over the records (highest for a loss, lowest otherwise; the
    learning rate and a channel without a finite value left out): what a diverged run reads, in the file
    (:func:`fill_non_finite`) or for a checkpoint (its ``worst``)."""
    out = {}
    for c in channels:
        values = np.concatenate([np.asarray(r.curve[c], dtype=float) for r in records if len(r.curve.get(c, ()))]
                                or [np.zeros(0)])
        values = values[np.isfinite(values)]
        if c != SCHEDULE_CHANNEL and len(values):
            out[c] = float(values.max() if is_loss_channel(c) else values.min())
    return out

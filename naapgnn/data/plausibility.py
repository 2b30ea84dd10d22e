"""Values a record cannot mean: a negative accuracy, a negative learning rate; and a file's records that look
unlike one another (:func:`mixed_classes_notice`).

Only channels whose name says what they hold are checked: an accuracy (a word ``acc``, ``accuracy``, ..., or a
top-k such as ``valid_top1``; not a difference of accuracies such as ``acc_gain``, nor a loss) lies in [0, 1] or
in percent, up to :data:`~naapgnn.data.channels.ACCURACY_SLACK` below 0 (noise added to a logged accuracy); a
learning rate logged as ``lr`` or ``learning_rate`` (not ``log_lr``, a logarithm), in the curve or in ``hparams``,
is 0 or more. A channel of unknown meaning (``reward``, ``val_r2``) may hold any finite value, a loss any
non-negative one.

A learning rate given both in ``hparams`` and as a per-epoch channel is checked against it too
(:func:`lr_mismatch_notice`, a warning): the ``hparams`` value should be one the schedule takes, within
:data:`LR_RATIO`. Not its first value alone (a warmup starts low; a schedule logged after the epoch's step has
already decayed), nor its peak alone (a cyclic schedule's base rate is its lowest); so any value from the channel's
lowest to its highest passes, as does one above a channel still rising at its end (a warmup cut before its peak).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from naapgnn.data.channels import ACCURACY_SLACK, accuracy_candidates, as_accuracy, is_cost_channel, is_loss_channel
from naapgnn.data.names import name_words
from naapgnn.errors import NaapgnnError

__all__ = ["is_accuracy_name", "is_learning_rate_name", "negative_learning_rate", "check_plausible",
           "lr_mismatch_notice", "lr_contradiction", "describe_lr_contradiction", "reversed_target_notice",
           "mixed_classes_notice", "LR_RATIO", "REVERSED_RHO"]

# Words of a name that make an accuracy channel a difference, a ratio or a transform, which may be negative
_NOT_AN_ACCURACY = frozenset({"delta", "diff", "difference", "gain", "change", "improvement", "drop", "log", "logit",
                              "rel", "relative", "minus", "vs", "z", "zscore", "rank", "slope"})
LR_RATIO = 1.25
"""How far (a factor) an ``hparams`` learning rate may lie outside its ``lr`` channel's range before it is said to
contradict it: a schedule sampled once an epoch may miss its peak by some percent."""
REVERSED_RHO = -0.8
"""A rank correlation of the targets with every accuracy-like channel's last value at or below which the targets
read as error rates (:func:`reversed_target_notice`): an error rate against its own run's accuracy gives near -1."""


def is_accuracy_name(name: str) -> bool:
    """Whether a channel's name says it holds an accuracy (``accuracy``, ``val_acc``, ``top1_acc``,
    ``Train/val_accuracy``, ``valid_top1``, ``top5``): a word starting ``acc`` or a top-k (``top`` and a number),
    no word of a difference or a transform, no loss (``top1_err``), no cost."""
    words = name_words(name)
    top_k = any(w == "top" and nxt.isdigit() for w, nxt in zip(words, words[1:]))
    return ((top_k or any(w.startswith("acc") for w in words)) and not any(w in _NOT_AN_ACCURACY for w in words)
            and not is_loss_channel(name) and not is_cost_channel(name))


def is_learning_rate_name(name: str) -> bool:
    """Whether ``name`` is a learning rate itself: ``lr``, ``LR``, ``learning_rate``, ``learningRate``."""
    return name_words(name) in (["lr"], ["learning", "rate"])


def check_plausible(curve: Mapping[str, np.ndarray], hparams: Mapping[str, float], record_id: str) -> None:
    """One-line NaapgnnError naming the channel, the epoch and the record for a negative accuracy or learning
    rate in ``curve``, or naming the record for a negative learning rate in ``hparams``."""
    for channel, values in curve.items():
        if is_accuracy_name(channel):
            bad, what = np.flatnonzero(values < -ACCURACY_SLACK), "an accuracy lies in [0, 1] or in percent"
        elif is_learning_rate_name(channel):
            bad, what = np.flatnonzero(values < 0), "a learning rate is 0 or more"
        else:
            continue
        if len(bad):
            i = int(bad[0])
            raise NaapgnnError(f"curve.{channel}[{i}] (epoch {i + 1}, record {record_id!r}): {values[i]:g} is "
                               f"negative; {what}")
    key = negative_learning_rate(hparams)
    if key is not None:
        raise NaapgnnError(f"hparams.{key} (record {record_id!r}): {hparams[key]:g} is negative; a learning rate is 0 "
                           "or more")


def negative_learning_rate(hparams: Mapping[str, float]) -> str | None:
    """The first name of ``hparams`` that is a learning rate (:func:`is_learning_rate_name`) with a negative value;
    None when there is none."""
    return next((key for key, value in hparams.items() if is_learning_rate_name(key) and value < 0), None)


def lr_mismatch_notice(records: Sequence, name: str, lines: Sequence[int], listed: int = 3) -> str | None:
    """A one-line warning naming the line, the id and both values of the records of file ``name`` whose
    ``hparams`` learning rate contradicts their learning-rate channel (:func:`lr_contradiction`); None when none
    does. A model reads the ``hparams`` value as the rate, the curve features the channel."""
    found = [(line, r.id, hit) for r, line in zip(records, lines) if (hit := lr_contradiction(r))]
    if not found:
        return None
    line, record_id, hit = found[0]
    more = [str(n) for n, _, _ in found[1:]]
    rest = (f"; and {len(more)} more record(s) (line {', '.join(more[:listed])}{', ...' if len(more) > listed else ''})"
            if more else "")
    return f"{name} line {line} (record {record_id!r}): {describe_lr_contradiction(hit, 'a model')}{rest}"


def describe_lr_contradiction(hit: tuple, reader: str) -> str:
    """What :func:`lr_contradiction`'s ``hit`` says, in words; ``reader``: who reads the ``hparams`` value."""
    key, rate, channel, low, high = hit
    span = f"{low:g}" if low == high else f"{low:g} to {high:g}"
    return (f"hparams.{key} {rate:g} contradicts curve.{channel} ({span}), a rate its schedule never takes; "
            f"{reader} reads hparams.{key} as the learning rate")


def lr_contradiction(record) -> tuple | None:
    """``(key, rate, channel, lowest, highest)`` when ``record``'s ``hparams`` learning rate lies outside its
    learning-rate channel's range by more than :data:`LR_RATIO` (above it only if the channel does not end at its
    highest value above where it started, or after one epoch: a warmup may peak later); else None."""
    key = next((k for k, v in record.hparams.items() if is_learning_rate_name(k) and np.isfinite(v)), None)
    channel = next((c for c, v in record.curve.items() if is_learning_rate_name(c) and len(v)), None)
    if key is None or channel is None:
        return None
    rate, rates = float(record.hparams[key]), np.asarray(record.curve[channel], dtype=float)
    rates = rates[np.isfinite(rates)]
    if not len(rates):
        return None
    low, high = float(rates.min()), float(rates.max())
    rising = rates[-1] >= high and (len(rates) == 1 or rates[-1] > rates[0])
    if rate * LR_RATIO < low or (rate > high * LR_RATIO and not rising):
        return key, rate, channel, low, high
    return None


def reversed_target_notice(records: Sequence, name: str, least: int = 10) -> str | None:
    """A warning when the targets fall as the curves' final accuracy rises: the Spearman correlation of the targets
    with the last value of every channel read as an accuracy (an error rate as one minus it) is at most
    :data:`REVERSED_RHO`, as when the targets are final error rates where naapgnn reads the final accuracy (higher is
    better; its top-k figures would then name the worst). None with fewer than ``least`` targets or no such channel."""
    from scipy.stats import spearmanr

    scored = [r for r in records if r.target is not None]
    if len(scored) < least:
        return None
    targets = np.array([r.target for r in scored], dtype=float)
    rhos = {}
    for channel, factor in accuracy_candidates(scored).items():
        last = np.array([as_accuracy(r.curve[channel], factor)[-1] if len(r.curve.get(channel, ())) else np.nan
                         for r in scored])
        given = np.isfinite(last)
        if given.sum() >= least and np.ptp(last[given]) > 0 and np.ptp(targets[given]) > 0:
            rhos[channel] = float(spearmanr(last[given], targets[given])[0])
    if not rhos or max(rhos.values()) > REVERSED_RHO:
        return None
    channel = min(rhos, key=rhos.get)
    return (f"{name}: the targets fall as the curves' final {channel} rises (Spearman {rhos[channel]:.2f} over "
            f"{len(scored)} records): error rates? naapgnn's target is the final accuracy, higher is better (give 1 - "
            "the error), or its top-k figures name the worst architectures")


def mixed_classes_notice(records: Sequence, name: str, lines: Sequence[int], listed: int = 3) -> str | None:
    """A warning when the records' architectures end in different numbers of classes, naming the lines of those
    that differ from most: a benchmark is one task, and the format refuses no such record (a classifier to
    ``num_classes`` is appended where a layer graph's last layer gives another width), so a typo would pass unseen.
    None where every record gives the same number."""
    from collections import Counter

    counts = Counter(int(r.arch.num_classes) for r in records)
    if len(counts) < 2:
        return None
    common = counts.most_common(1)[0][0]
    odd = [(line, int(r.arch.num_classes)) for r, line in zip(records, lines) if int(r.arch.num_classes) != common]
    shown = ", ".join(f"line {line} ({classes})" for line, classes in odd[:listed])
    more = f" and {len(odd) - listed} more" if len(odd) > listed else ""
    return (f"{name}: num_classes differ: {common} in {counts[common]} of {len(records)} records, another on "
            f"{shown}{more}: one benchmark is one task (a typo? a classifier to num_classes is appended where a "
            "record's last layer gives another width)")

"""Values a record cannot mean: a negative accuracy, a negative learning rate.

Only channels whose name says what they hold are checked: an accuracy (a word ``acc``, ``accuracy``, ..., or a
top-k such as ``valid_top1``; not a difference of accuracies such as ``acc_gain``, nor a loss) lies in [0, 1] or
in percent, up to :data:`~naapgnn.data.channels.ACCURACY_SLACK` below 0 (noise added to a logged accuracy); a
learning rate logged as ``lr`` or ``learning_rate`` (not ``log_lr``, a logarithm), in the curve or in ``hparams``,
is 0 or more. A channel of unknown meaning (``reward``, ``val_r2``) may hold any finite value, a loss any
non-negative one.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from naapgnn.data.channels import ACCURACY_SLACK, _words as words_of, is_cost_channel, is_loss_channel
from naapgnn.errors import NaapgnnError

__all__ = ["is_accuracy_name", "is_learning_rate_name", "negative_learning_rate", "check_plausible"]

# Words of a name that make an accuracy channel a difference, a ratio or a transform, which may be negative
_NOT_AN_ACCURACY = frozenset({"delta", "diff", "difference", "gain", "change", "improvement", "drop", "log", "logit",
                              "rel", "relative", "minus", "vs", "z", "zscore", "rank", "slope"})


def is_accuracy_name(name: str) -> bool:
    """Whether a channel's name says it holds an accuracy (``accuracy``, ``val_acc``, ``top1_acc``,
    ``Train/val_accuracy``, ``valid_top1``, ``top5``): a word starting ``acc`` or a top-k (``top`` and a number),
    no word of a difference or a transform, no loss (``top1_err``), no cost."""
    words = words_of(name)
    top_k = any(w == "top" and nxt.isdigit() for w, nxt in zip(words, words[1:]))
    return ((top_k or any(w.startswith("acc") for w in words)) and not any(w in _NOT_AN_ACCURACY for w in words)
            and not is_loss_channel(name) and not is_cost_channel(name))


def is_learning_rate_name(name: str) -> bool:
    """Whether ``name`` is a learning rate itself: ``lr``, ``LR``, ``learning_rate``, ``learningRate``."""
    return words_of(name) in (["lr"], ["learning", "rate"])


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

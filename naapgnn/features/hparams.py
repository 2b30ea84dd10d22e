"""Hyperparameters as model inputs: the record's own, the learning-rate schedule's peak, and log scales.

A benchmark may give the learning rate only as a per-epoch ``lr`` channel (a
schedule logged with the curve), not in ``hparams``. The curve features read
that channel up to the budget, so at budget 0 the rate would be lost, though a
schedule is set before training. :func:`hparam_input_names` then adds
:data:`SCHEDULE_PEAK`, the highest rate of the record's whole schedule, when
it varies between the training records and ``hparams`` has no ``lr``. The
peak is what a schedule is built from (a warmup's target, a step or cosine
decay's start, a cyclic rate's top); a scheduler that lowers the rate on a
plateau only lowers it, so the peak holds nothing measured.

A positive hyperparameter spread over at least :data:`LOG_RATIO` (two
decades) in training, as learning rates and weight decays are drawn, is read
in log10 (:func:`log_columns`): on a linear scale the rates 1e-4 and 1e-3 are
both "about 0" next to 0.1, and a kernel or a network would not tell them apart.
"""
from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np

from naapgnn.data.channels import SCHEDULE_CHANNEL
from naapgnn.data.hparams import MAX_MAGNITUDE, hparam_value, is_seed, read_as
from naapgnn.errors import TrainingRecordsWarning

__all__ = ["SCHEDULE_PEAK", "LOG_RATIO", "hparam_input_names", "record_hparam", "model_hparams", "hparam_inputs",
           "log_columns", "to_log", "hparam_reading", "training_mean", "schedule_peak_epoch", "peak_maybe_later"]

SCHEDULE_PEAK = "lr_schedule_peak"
LOG_RATIO = 100.0


def record_hparam(record, name: str, hparams=None) -> float:
    """The value of hyperparameter ``name`` for ``record`` (NaN when the record does not give it);
    :data:`SCHEDULE_PEAK` is read from the record's ``lr`` channel, unless its ``hparams`` give that name.
    ``hparams``: the record's as a model reads them (:func:`model_hparams`), default its own."""
    hparams = record.hparams if hparams is None else hparams
    if name == SCHEDULE_PEAK and name not in hparams:
        rates = record.curve.get(SCHEDULE_CHANNEL)
        return float(np.max(rates)) if rates is not None and len(rates) else math.nan
    return hparam_value(hparams, name)


def schedule_peak_epoch(records: Sequence) -> int | None:
    """The latest epoch (1-based) at which a record's ``lr`` channel first reaches its highest rate (a warmup's
    end; 1 for a schedule that starts at its peak), over the records that log one; None when none does."""
    epochs = [int(np.argmax(r.curve[SCHEDULE_CHANNEL])) + 1 for r in records if len(r.curve.get(SCHEDULE_CHANNEL, ()))]
    return max(epochs) if epochs else None


def peak_maybe_later(record, peak_epoch: int | None) -> bool:
    """Whether ``record``'s ``lr`` channel ends before ``peak_epoch`` (:func:`schedule_peak_epoch` of the training
    records) at its highest rate so far: still in a warmup, its :data:`SCHEDULE_PEAK` may lie later."""
    rates = record.curve.get(SCHEDULE_CHANNEL, ())
    return bool(peak_epoch and SCHEDULE_PEAK not in record.hparams and 0 < len(rates) < peak_epoch
                and rates[-1] >= np.max(rates))


def model_hparams(record, names: Sequence[str]) -> dict[str, float]:
    """``record.hparams`` as a model that reads ``names`` reads them (:func:`naapgnn.data.hparams.read_as`): a
    file alone may read a name's number-like strings as numbers that the model's training file held as
    categories, or the other way round."""
    return read_as(record.hparams, names)


def hparam_input_names(records: Sequence) -> list[str]:
    """The hyperparameters a model trained on ``records`` reads: every name of their ``hparams`` (sorted) that
    some record gives (one null in every record has no value to learn from or fill in with: left out, with a
    warning), then :data:`SCHEDULE_PEAK` when it varies between them and no record gives an ``lr``."""
    names = sorted({k for r in records for k in r.hparams if not is_seed(k)})  # a seed is no part of the recipe
    never = [k for k in names if all(math.isnan(r.hparams.get(k, math.nan)) for r in records)]
    if never:
        warnings.warn(f"hparams {', '.join(never)}: null in every training record, not read (a prediction "
                      "that gives a value is flagged out of domain)", TrainingRecordsWarning, stacklevel=3)
        names = [k for k in names if k not in never]
    if SCHEDULE_CHANNEL in names or SCHEDULE_PEAK in names:
        return names
    peaks = np.array([record_hparam(r, SCHEDULE_PEAK) for r in records])
    peaks = peaks[np.isfinite(peaks)]
    return names + [SCHEDULE_PEAK] if len(peaks) and peaks.max() > peaks.min() else names


def hparam_reading(records: Sequence) -> tuple[list[str], list[bool]]:
    """How a model trained on ``records`` reads hyperparameters: :func:`hparam_input_names` and which of them
    in log10 (:func:`log_columns` of their training values)."""
    names = hparam_input_names(records)
    values = hparam_inputs(records, names)
    log = log_columns(values)
    zeros = [name for name, flag, column in zip(names, log, values.T) if not flag and _log_spread_but_zero(column)]
    if zeros:
        warnings.warn(f"hparams {', '.join(zeros)}: positive values spread over {LOG_RATIO:g}x or more, but some "
                      "training records give 0, so read on a linear scale, not in log10 (to read it in log10, give "
                      "'none' a positive value below the others, e.g. a tenth of the smallest)",
                      TrainingRecordsWarning, stacklevel=2)
    return names, log


def _log_spread_but_zero(column: np.ndarray) -> bool:
    given = column[np.isfinite(column)]
    positive = given[given > 0]
    return bool(len(positive) and given.min() == 0 and positive.max() >= LOG_RATIO * positive.min())


def hparam_inputs(records: Sequence, names: Sequence[str], log: Sequence[bool] | None = None) -> np.ndarray:
    """The ``(n, len(names))`` values of ``names`` for ``records`` (NaN where missing), columns flagged in
    ``log`` in log10 (:func:`to_log`)."""
    out = np.array([[record_hparam(r, name, hp) for name in names] for r, hp in
                    ((r, model_hparams(r, names)) for r in records)], dtype=float).reshape(len(records), len(names))
    return to_log(out, log) if log is not None and any(log) else out


def log_columns(values: np.ndarray) -> list[bool]:
    """Per column of ``values`` (NaN = missing): whether every value given is positive and the largest is at
    least :data:`LOG_RATIO` times the smallest."""
    flags = []
    for column in np.asarray(values, dtype=float).reshape(len(values), -1).T:
        given = column[np.isfinite(column)]
        flags.append(bool(len(given) and given.min() > 0 and given.max() >= LOG_RATIO * given.min()))
    return flags


def to_log(values: np.ndarray, log: Sequence[bool]) -> np.ndarray:
    """``values`` with the flagged columns in log10; a value <= 0 there (never seen in training) reads as
    log10 of ``1 / MAX_MAGNITUDE``, far below any training value, so the domain check reports it."""
    out = np.array(values, dtype=float, copy=True)
    flags = np.asarray(log, dtype=bool)
    with np.errstate(invalid="ignore"):
        out[:, flags] = np.log10(np.where(out[:, flags] > 0, out[:, flags], 1.0 / MAX_MAGNITUDE))
    out[:, flags] = np.where(np.isnan(values[:, flags]), np.nan, out[:, flags])
    return out


def training_mean(values: np.ndarray) -> np.ndarray:
    """Per column of ``values`` (NaN = not given), the mean of the values given; 0 for a column that gives none
    (a model reads a missing hyperparameter as this mean)."""
    values = np.asarray(values, dtype=float)
    given = np.isfinite(values)
    total = np.where(given, values, 0.0).sum(axis=0)
    return np.divide(total, given.sum(axis=0), out=np.zeros(values.shape[1]), where=given.any(axis=0))

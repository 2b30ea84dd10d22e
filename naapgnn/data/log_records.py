"""Training logs -> benchmark records: what ``naapgnn import logs`` writes.

A folder of ``scheme_<id>.txt`` logs (:mod:`naapgnn.data.logs`, the companion
trainer's output or NAAP-440's ``raw_data/``) becomes one :class:`~naapgnn.data.records.Record`
per log, the way :func:`~naapgnn.data.records.records_from_naap440` reads the CSV that
``naapgnn build-csv`` would build from it: id ``str(ModelId)``, the curve channels
``accuracy``, ``loss_mean`` and ``loss_median`` plus the logged ``lr``, target the
maximum test accuracy over the epochs written, and the CSV's IsTest split. Unlike the
CSV, any logged architecture (a layer graph too) is kept, and the losses keep the log's
five decimals (the CSV rounds them to four).
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from naapgnn.arch.format import parse_architecture
from naapgnn.data.logs import (
    TrainingLog, check_model_ids, check_profile, read_log_folder, split_by_accuracy, written_epochs,
)
from naapgnn.data.records import Record
from naapgnn.data.splits import check_test_fraction, seeded_test_flags

LOG_CHANNELS = ("accuracy", "loss_mean", "loss_median", "lr")
"""The curve channels of a record read from a log: NAAP-440's three and the logged learning rate."""


def records_from_logs(logs: Sequence[TrainingLog], epochs: int | None = None, test_fraction: float | None = None,
                      seed: int = 0) -> list[Record]:
    """One record per training log, sorted by model id.

    Parameters
    ----------
    logs : sequence of TrainingLog
        In the order the test split breaks accuracy ties in (:func:`~naapgnn.data.logs.read_log_folder`'s
        file-name order, as ``build-csv``).
    epochs : int, optional
        Epochs of every log to keep (longer logs are cut); default: the logs' common length, logs of different
        lengths refused (:func:`~naapgnn.data.logs.common_length`).
    test_fraction : float, optional
        Draw this share of the records as test, seeded by ``seed`` (in model-id order), instead of build-csv's
        split (bins of ``round(n / 40)`` logs, the middle of each to test), which marks half of 60-99 logs test and
        every one below 60 (bins of one log).
    seed : int
        Seed of the ``test_fraction`` draw.

    Returns
    -------
    list of Record

    Raises
    ------
    NaapgnnError
        One line naming the log: no logs, a log shorter than ``epochs`` or than the others, a log not named
        ``scheme_<id>.txt``, two logs of one id, an architecture that does not parse or whose parameter or MAC
        count differs from the logged one.
    """
    epochs = written_epochs(logs, epochs, "benchmark")
    check_model_ids(logs)
    targets, flags = split_by_accuracy(logs, epochs)
    if test_fraction is not None:
        flags = _drawn_flags(logs, seed, test_fraction)
    records = [_record(log, epochs, target, flag) for log, target, flag in zip(logs, targets, flags)]
    return sorted(records, key=lambda r: int(r.id))


def read_log_records(raw_dir: str | os.PathLike, epochs: int | None = None, test_fraction: float | None = None,
                     seed: int = 0) -> list[Record]:
    """:func:`records_from_logs` of every ``scheme_<id>.txt`` in ``raw_dir`` (file-name order)."""
    if test_fraction is not None:
        check_test_fraction(test_fraction)  # before reading hundreds of logs
    return records_from_logs(read_log_folder(raw_dir, cut_end=epochs is not None), epochs, test_fraction, seed)


def _drawn_flags(logs: Sequence[TrainingLog], seed: int, test_fraction: float) -> list[int]:
    """IsTest flags in the order of ``logs``, drawn over the logs in model-id order (so the folder listing does
    not change them)."""
    order = sorted(range(len(logs)), key=lambda i: logs[i].model_id)
    drawn = seeded_test_flags(len(logs), seed, test_fraction)
    flags = [0] * len(logs)
    for rank, i in enumerate(order):
        flags[i] = int(drawn[rank])
    return flags


def _record(log: TrainingLog, epochs: int, target: float, is_test: int) -> Record:
    kept = log.epochs[:epochs]
    curve = {channel: np.array([getattr(e, channel) for e in kept], dtype=float) for channel in LOG_CHANNELS}
    arch = parse_architecture(log.scheme, source=f"{log.path}: logged network")
    check_profile(log, arch)
    return Record(str(log.model_id), arch, curve, target=float(target), split="test" if is_test else "train")

"""Training logs in the NAAP-440 text format, and the dataset CSV built from them.

One log per architecture, ``scheme_<id>.txt``; every line is a 14-digit
timestamp (``YYYYmmddHHMMSS``), a space and one message::

    20220901141247 Network scheme: [{"kernel_size": 3, ...}]
    20220901141250 Network has been init on device cuda:0
    20220901141250 Network #params: 2566, #MACs: 231600
    20220901141251 Training set is ready
    20220901141251 Ready to start training
    20220901141252 Epoch 1, LR: 0.1
    20220901141310 Loss mean, median: 1.86513, 1.81158
    20220901141314 Test accuracy: 0.3625
    ...

:func:`parse_log` reads the original logs and the ones :mod:`naapgnn.trainer.training`
writes; :func:`build_csv` turns a folder of them into ``naap440.csv`` (version 1)
or ``naap440v2.csv`` (version 2), IsTest split included.
"""
from __future__ import annotations

import json
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from naapgnn.arch.format import parse_architecture
from naapgnn.arch.profiling import architecture_statistics, profile
from naapgnn.data.naap440 import SCHEME_COLUMNS_V1, SCHEME_COLUMNS_V2, curve_columns
from naapgnn.data.unfinished import check_finished
from naapgnn.errors import NaapgnnError, NaapgnnWarning
from naapgnn.io import read_text, unique_keys, write_text_atomic

LOG_NAME = re.compile(r"^scheme_(\d+)\.txt$")
_LOG_LIKE = re.compile(r"^scheme_.*\.txt$", re.IGNORECASE)  # named like a log: warned of when not a LOG_NAME
TEST_BINS = 40
CSV_VERSIONS = (1, 2)

_LINE = re.compile(r"^(\d{14}) (.*)$")
_NUMBER = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf|-inf)"
_MESSAGES = {
    "scheme": re.compile(r"^Network scheme: (.+)$"),
    "device": re.compile(r"^Network has been init on device (\S+)$"),
    "profile": re.compile(r"^Network #params: (\d+), #MACs: (\d+)$"),
    "trainset": re.compile(r"^Training set is ready$"),
    "ready": re.compile(r"^Ready to start training$"),
    "epoch": re.compile(rf"^Epoch (\d+), LR: {_NUMBER}$"),
    "loss": re.compile(rf"^Loss mean, median: {_NUMBER}, {_NUMBER}$"),
    "accuracy": re.compile(rf"^Test accuracy: {_NUMBER}$"),
}


# --- formatting: the original trainer's number formats -----------------------------


def timestamp(now: datetime | None = None) -> str:
    """The log's timestamp, e.g. ``20220901141247``."""
    return (now or datetime.now()).strftime("%Y%m%d%H%M%S")


def format_lr(lr: float) -> str:
    """``0.1``, ``0.01``, ``0.001`` (``%g``, as the original)."""
    return "{0:g}".format(lr)


def format_loss(value: float) -> str:
    """A batch-loss statistic rounded to 5 decimals, e.g. ``1.5621``."""
    return str(round(float(value), 5))


def format_accuracy(correct: int, total: int) -> str:
    """Fraction of correct test images, e.g. ``0.3625``."""
    return str(correct / float(total))


# --- log records --------------------------------------------------------------------


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch logged. ``lr``, ``loss_*`` and ``accuracy`` are the parsed values;
    the ``*_text`` fields keep the exact text, so a log round-trips byte for byte."""

    epoch: int
    lr: float
    loss_mean: float
    loss_median: float
    accuracy: float
    lr_text: str = ""
    loss_mean_text: str = ""
    loss_median_text: str = ""
    accuracy_text: str = ""


@dataclass
class TrainingLog:
    """A parsed training log.

    Attributes
    ----------
    path : str or None
        The file it was read from.
    model_id : int or None
        ``<id>`` of ``scheme_<id>.txt``.
    scheme : list or dict or None
        The architecture as logged (a NAAP-440 scheme list or a layer graph).
    device : str or None
    params, macs, profile_line : int or None
        The logged counts, and the line number of their ``#params`` line.
    epochs : list of EpochRecord
        Complete epochs in order, numbered 1, 2, ...
    """

    path: str | None = None
    model_id: int | None = None
    scheme: Any = None
    device: str | None = None
    params: int | None = None
    macs: int | None = None
    profile_line: int | None = None
    epochs: list[EpochRecord] = field(default_factory=list)

    @property
    def max_accuracy(self) -> float:
        return max((e.accuracy for e in self.epochs), default=0.0)


def log_model_id(path: str | Path) -> int | None:
    """The ``<id>`` of a ``scheme_<id>.txt`` file name, else None."""
    match = LOG_NAME.match(Path(path).name)
    return int(match.group(1)) if match else None


def parse_log(path: str | Path, cut_end: bool = False) -> TrainingLog:
    """Read one training log.

    Parameters
    ----------
    path : str or Path
    cut_end : bool
        Keep the complete epochs of a log that ends inside an epoch (written when it was copied, say) instead of
        refusing it; ``--epochs N`` of build-csv and ``import logs`` reads them so.

    Returns
    -------
    TrainingLog

    Raises
    ------
    NaapgnnError
        One line naming the file and line number of the first malformed line
        (unknown message, bad number or JSON, epochs out of order, an epoch
        missing its loss or accuracy line, a negative LR, a missing scheme or profile line).
    """
    path = Path(path)
    text = read_text(path)
    log = TrainingLog(path=str(path), model_id=log_model_id(path))
    pending: dict[str, Any] | None = None  # the epoch being read
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        where = f"{path}: line {number}"
        if not line.strip():
            continue
        match = _LINE.match(line)
        if not match:
            raise NaapgnnError(f"{where}: expected '<14-digit timestamp> <message>', got {_clip(line)!r}")
        kind, values = _message(match.group(2), where)
        if kind == "scheme":
            if log.scheme is not None:
                raise NaapgnnError(f"{where}: second 'Network scheme' line")
            try:
                log.scheme = json.loads(values[0], object_pairs_hook=unique_keys)
            except NaapgnnError as exc:
                raise NaapgnnError(f"{where}: scheme: {exc}") from None
            except json.JSONDecodeError as exc:
                raise NaapgnnError(f"{where}: invalid scheme JSON: {exc.msg} at column {exc.colno}") from None
        elif kind == "device":
            log.device = values[0]
        elif kind == "profile":
            log.params, log.macs, log.profile_line = int(values[0]), int(values[1]), number
        elif kind == "epoch":
            if pending is not None:
                raise NaapgnnError(f"{where}: epoch {pending['epoch']} has no {_missing(pending)} line")
            epoch = int(values[0])
            expected = len(log.epochs) + 1
            if epoch != expected:
                raise NaapgnnError(f"{where}: expected epoch {expected}, got epoch {epoch}")
            _check_lr(values[1], where)
            pending = {"epoch": epoch, "lr_text": values[1]}
        elif kind == "loss":
            if pending is None or "loss_mean_text" in pending:
                raise NaapgnnError(f"{where}: loss line outside an epoch")
            pending["loss_mean_text"], pending["loss_median_text"] = values
        elif kind == "accuracy":
            if pending is None or "loss_mean_text" not in pending:
                raise NaapgnnError(f"{where}: test accuracy line before the epoch's loss line")
            pending["accuracy_text"] = values[0]
            if not 0.0 <= float(values[0]) <= 1.0:
                raise NaapgnnError(f"{where}: test accuracy {values[0]} outside [0, 1] (the logs give fractions)")
            log.epochs.append(_record(pending))
            pending = None
    end = f"{path}: line {len(lines)}" if lines else f"{path}: empty log"
    if pending is not None and not cut_end:
        before = f"; --epochs {pending['epoch'] - 1} reads the epochs before it" if pending["epoch"] > 1 else ""
        raise NaapgnnError(f"{end}: the log ends inside epoch {pending['epoch']} (no {_missing(pending)} line"
                           f"{before})")
    if log.scheme is None:
        raise NaapgnnError(f"{end}: no 'Network scheme' line in the log")
    if log.params is None:
        raise NaapgnnError(f"{end}: no 'Network #params: P, #MACs: M' line in the log")
    return log


def _message(message: str, where: str) -> tuple[str, tuple[str, ...]]:
    for kind, pattern in _MESSAGES.items():
        match = pattern.match(message)
        if match:
            return kind, match.groups()
    raise NaapgnnError(f"{where}: unknown log message {_clip(message)!r}")


def _check_lr(text: str, where: str) -> None:
    """Refuse a negative or non-finite LR (a record's ``lr`` channel would be refused when loaded)."""
    lr = float(text)
    if lr < 0 or not math.isfinite(lr):
        raise NaapgnnError(f"{where}: LR {text} is {'negative' if lr < 0 else 'not a finite number'}")


def _missing(pending: dict) -> str:
    return "'Test accuracy'" if "loss_mean_text" in pending else "'Loss mean, median'"


def _record(pending: dict) -> EpochRecord:
    texts = {key: pending[f"{key}_text"] for key in ("lr", "loss_mean", "loss_median", "accuracy")}
    return EpochRecord(pending["epoch"], **{k: float(v) for k, v in texts.items()},
                       **{f"{k}_text": v for k, v in texts.items()})


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


# --- writing ------------------------------------------------------------------------


def header_lines(scheme: Any, device: str, params: int, macs: int, stamps: Sequence[str] | None = None) -> list[str]:
    """The five lines a log starts with (scheme, device, profile, data, ready)."""
    messages = [
        f"Network scheme: {json.dumps(scheme)}",
        f"Network has been init on device {device}",
        f"Network #params: {int(params)}, #MACs: {int(macs)}",
        "Training set is ready",
        "Ready to start training",
    ]
    stamps = list(stamps) if stamps else [timestamp()] * len(messages)
    return [f"{s} {m}" for s, m in zip(stamps, messages)]


def epoch_lines(epoch: int, lr: float, loss_mean: float, loss_median: float, correct: int, total: int,
                stamps: Sequence[str] | None = None) -> list[str]:
    """The three lines of one epoch, formatted as the original trainer did."""
    messages = [
        f"Epoch {epoch}, LR: {format_lr(lr)}",
        f"Loss mean, median: {format_loss(loss_mean)}, {format_loss(loss_median)}",
        f"Test accuracy: {format_accuracy(correct, total)}",
    ]
    stamps = list(stamps) if stamps else [timestamp()] * len(messages)
    return [f"{s} {m}" for s, m in zip(stamps, messages)]


# --- the dataset CSV ------------------------------------------------------------------


def csv_header(version: int, epochs: int) -> list[str]:
    """Column names of the NAAP-440 CSV (``version`` 1 or 2)."""
    scheme_columns = SCHEME_COLUMNS_V2 if version == 2 else SCHEME_COLUMNS_V1
    return [*scheme_columns, "MaxAccuracy", *curve_columns(epochs)]


def split_bin_size(n: int, bins: int = TEST_BINS) -> int:
    """Records per bin of :func:`assign_test_split` for ``n`` records: ``round(n / bins)``, at least 1."""
    return max(int(round(n / bins)), 1)


def assign_test_split(max_accuracies: Sequence[float], bins: int = TEST_BINS) -> list[int]:
    """IsTest flags (0/1) in input order.

    Records sorted by max accuracy (stable) are cut into bins of
    ``round(n / bins)``; the middle record of each bin goes to the test set.
    """
    n = len(max_accuracies)
    order = sorted(range(n), key=lambda i: max_accuracies[i])
    size = split_bin_size(n, bins)
    middle = size // 2
    flags = [0] * n
    for rank, i in enumerate(order):
        flags[i] = int(rank - middle >= 0 and (rank - middle) % size == 0)
    return flags


def csv_rows(logs: Sequence[TrainingLog], version: int = 1,
             epochs: int | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and rows (as text fields) of the dataset CSV for ``logs``.

    ``logs`` should be in the order the test split breaks ties in (the original
    listed the folder in name order); rows come back sorted by ModelId.
    """
    if version not in CSV_VERSIONS:
        raise NaapgnnError(f"unknown CSV version {version} (expected 1 or 2)")
    epochs = written_epochs(logs, epochs, "CSV")
    check_model_ids(logs)
    targets, flags = split_by_accuracy(logs, epochs)
    rows = []
    for log, target, is_test in zip(logs, targets, flags):
        rows.append([str(log.model_id), str(is_test), *(str(v) for v in _scheme_fields(log, version)),
                     str(target), *_epoch_fields(log, epochs)])
    rows.sort(key=lambda r: int(r[0]))
    return csv_header(version, epochs), rows


def written_epochs(logs: Sequence[TrainingLog], epochs: int | None = None, what: str = "CSV") -> int:
    """The epochs to write of every log: ``epochs`` (longer logs are cut), or by default their common length
    (:func:`common_length`).

    Raises
    ------
    NaapgnnError
        One line for no logs, an ``epochs`` below 1, or a log shorter than ``epochs`` (naming its file);
        ``what`` (``"CSV"``) names what the logs were to become.
    """
    if not logs:
        raise NaapgnnError(f"no training logs (scheme_<id>.txt) to build a {what} from")
    if epochs is not None and epochs < 1:
        raise NaapgnnError(f"--epochs must be >= 1, got {epochs}")
    if epochs is None:
        return common_length(logs)
    for log in logs:
        if len(log.epochs) < epochs:
            raise NaapgnnError(f"{log.path}: has {len(log.epochs)} complete epochs, the {what} needs {epochs}")
    return epochs


def check_model_ids(logs: Sequence[TrainingLog]) -> None:
    """One line for a log without a model id (not named ``scheme_<id>.txt``) or with the id of an earlier one
    (``scheme_3.txt`` and ``scheme_03.txt``), naming both files."""
    seen: dict[int, str | None] = {}
    for log in logs:
        if log.model_id is None:
            raise NaapgnnError(f"{log.path}: not named scheme_<id>.txt, so it has no model id")
        if log.model_id in seen:
            raise NaapgnnError(f"{log.path}: model id {log.model_id} again (also {seen[log.model_id]})")
        seen[log.model_id] = log.path


def check_profile(log: TrainingLog, arch) -> None:
    """One line naming the file and line when the logged ``#params`` or ``#MACs`` differ from the counts of ``arch``
    (the logged network) by :func:`~naapgnn.arch.profiling.profile`, as the trainer and all NAAP-440 logs give them."""
    params, macs = profile(arch)
    where = f"{log.path}: line {log.profile_line}" if log.profile_line else str(log.path)
    if log.params != params:
        raise NaapgnnError(f"{where}: #params {log.params}, but the scheme has {params} parameters")
    if log.macs != macs:
        raise NaapgnnError(f"{where}: #MACs {log.macs}, but the scheme has {macs} MACs")


def split_by_accuracy(logs: Sequence[TrainingLog], epochs: int) -> tuple[list[float], list[int]]:
    """Each log's MaxAccuracy over its first ``epochs`` and its IsTest flag (:func:`assign_test_split`), in the
    order of ``logs`` (the order that breaks accuracy ties)."""
    targets = [max((e.accuracy for e in log.epochs[:epochs]), default=0.0) for log in logs]
    return targets, assign_test_split(targets)


def common_length(logs: Sequence[TrainingLog]) -> int:
    """The number of complete epochs every log has; logs of different lengths are refused, as cutting every log
    to the shortest silently changes MaxAccuracy and the test split."""
    shortest = min(logs, key=lambda log: len(log.epochs))
    if not shortest.epochs:
        raise NaapgnnError(f"{shortest.path}: no complete epoch to write")
    longest = max(len(log.epochs) for log in logs)
    short = [log for log in logs if len(log.epochs) < longest]
    if short:
        named = ", ".join(f"{Path(log.path).name} ({len(log.epochs)})" for log in short[:3])
        more = f" and {len(short) - 3} more" if len(short) > 3 else ""
        raise NaapgnnError(f"{len(short)} of {len(logs)} logs have fewer complete epochs than the longest "
                           f"({longest}): {named}{more}; finish their training (naapgnn regenerate resumes) or "
                           f"pass --epochs {len(shortest.epochs)} to cut every log to the shortest")
    return longest


def _scheme_fields(log: TrainingLog, version: int) -> list[int]:
    """NumParams ... LastLayerWidth (and the v2 columns): the logged profile, the rest from the scheme."""
    blocks = log.scheme
    if not isinstance(blocks, list) or not blocks or not all(isinstance(b, dict) for b in blocks):
        raise NaapgnnError(f"{log.path}: the logged network is not a NAAP-440 scheme (list of blocks)")
    arch = parse_architecture(blocks, source=f"{log.path}: logged scheme")
    check_profile(log, arch)
    statistics = architecture_statistics(arch)
    columns = (SCHEME_COLUMNS_V2 if version == 2 else SCHEME_COLUMNS_V1)[4:]
    return [log.params, log.macs, *(statistics[c] for c in columns)]


def _epoch_fields(log: TrainingLog, epochs: int) -> list[str]:
    return [str(v) for e in log.epochs[:epochs] for v in (round(e.loss_mean, 4), round(e.loss_median, 4), e.accuracy)]


def read_log_folder(folder: str | Path, cut_end: bool = False) -> list[TrainingLog]:
    """Parse every ``scheme_<id>.txt`` of ``folder`` in file-name order (``cut_end``: see :func:`parse_log`); other
    files are skipped, with one warning naming those named like a log but not by a number (``scheme_x.txt``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NaapgnnError(f"{folder}: not a folder")
    listed = sorted(os.listdir(folder))
    names = [name for name in listed if LOG_NAME.match(name)]
    odd = [name for name in listed if _LOG_LIKE.match(name) and name not in names]
    if odd:
        more = f" and {len(odd) - 3} more" if len(odd) > 3 else ""
        warnings.warn(f"{folder}: skipped {', '.join(odd[:3])}{more}: not named scheme_<id>.txt with a number as id",
                      NaapgnnWarning, stacklevel=2)
    if not names:
        raise NaapgnnError(f"{folder}: no training logs (scheme_<id>.txt)")
    check_finished(folder, names, cut_end)
    return [parse_log(folder / name, cut_end) for name in names]


def build_csv(raw_dir: str | Path, out_csv: str | Path, version: int = 1, epochs: int | None = None,
              line_terminator: str = "\r\n") -> int:
    """Build the NAAP-440 dataset CSV from the ``scheme_<id>.txt`` logs of ``raw_dir``; return the rows written.

    ``out_csv`` is written atomically. ``version`` 2 adds NumSkipConnections and NumPartialRFLayers. ``epochs``:
    the epoch columns to write (longer logs are cut); default: the logs' common length (90 for NAAP-440), logs of
    different lengths refused. ``line_terminator``: ``"\\r\\n"`` as in the published CSVs.
    """
    logs = read_log_folder(raw_dir, cut_end=epochs is not None)
    header, rows = csv_rows(logs, version=version, epochs=epochs)
    text = "".join(",".join(fields) + line_terminator for fields in [header, *rows])
    write_text_atomic(out_csv, text, newline="")  # its folder made as import's is; one line if it cannot be
    return len(rows)


def epoch_values(log: TrainingLog) -> list[tuple[float, float, float, float]]:
    """``(lr, loss_mean, loss_median, accuracy)`` per epoch, for comparisons."""
    return [(e.lr, e.loss_mean, e.loss_median, e.accuracy) for e in log.epochs]


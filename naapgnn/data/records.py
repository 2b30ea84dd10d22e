"""Benchmark records: one common form for NAAP-440 and user benchmarks.

A :class:`Record` holds one architecture with whatever is known about it: the
first epochs of its training curve, numeric training hyperparameters, its final
accuracy (the target) and its split.

User benchmarks are JSON Lines, one record per line::

    {"id": "net-7", "arch": <scheme list or layer graph>,
     "curve": {"accuracy": [...], "loss_mean": [...], "loss_median": [...]},
     "hparams": {"lr": 0.001}, "target": 0.587, "split": "train"}

``id`` and ``arch`` are required; ``curve`` (any named channels, e.g. the
NAAP-440 ones of :data:`CURVE_CHANNELS` or ``loss``, ``train_accuracy``,
``lr``, each a list of numbers, all of the same length; NaN, Infinity or null
read as an epoch not logged when a finite value follows, as a diverged run's
otherwise; a record with a target whose curve ends before others' as a run
stopped early, :mod:`naapgnn.data.channels`), ``hparams``
(numbers, booleans, or categories such as ``"optimizer": "adam"``: see :mod:`naapgnn.data.hparams`),
``target`` (the final accuracy as a fraction in [0, 1]; with
``target_scale="percent"`` a percentage in [0, 100], divided by 100) and
``split`` (``"train"`` or ``"test"``) are optional. Blank lines are skipped.
Every invalid record is reported by line number in one error; none is
silently dropped.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from naapgnn.data.channels import carry_stopped_runs, curve_values, missing_schedule_notice, read_schedule_alias
from naapgnn.data.exploded import exploded_notice
from naapgnn.data.gaps import fill_non_finite, never_logged_notice
from naapgnn.data.hparams import (complete_categories, hparams_notices, hparams_to_json, json_kind, mixed_kinds,
                                  name_problems, number_strings_notice, parse_hparams, same_hparams)
from naapgnn.data.plausibility import check_plausible, lr_mismatch_notice, mixed_classes_notice, reversed_target_notice
from naapgnn.data.targets import (TARGET_SCALES, check_scale, check_target, mixed_target_units,  # noqa: F401
                                  percent_notice, read_target)
from naapgnn.data.units import low_percent_notice, mixed_units_notice
from naapgnn.errors import NaapgnnError, NaapgnnWarning, invalid_lines, unknown_fields
from naapgnn.io import json_lines, loads_json, read_text, unique_keys, write_text_atomic

CURVE_CHANNELS = ("accuracy", "loss_mean", "loss_median")
"""The channels of NAAP-440 (a benchmark's curve may hold any other named channel too)."""
_CHANNEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_./:-]*\Z")  # LCBench's Train/val_accuracy
SPLITS = ("train", "test")
_CSV_METRIC = {"accuracy": "Accuracy", "loss_mean": "LossMean", "loss_median": "LossMedian"}
_FIELDS = ("id", "arch", "curve", "hparams", "target", "split")
_MAX_LISTED_LINES = 10


@dataclass(eq=False)
class Record:
    """One architecture of a benchmark.

    Attributes
    ----------
    id : str
        Unique within its benchmark (ModelId for NAAP-440).
    arch : naapgnn.arch.format.Architecture
        The parsed architecture.
    curve : dict of str to numpy.ndarray
        Per-epoch values (epoch 1 first) of named channels (:data:`CURVE_CHANNELS`
        for NAAP-440; in a user benchmark any name of letters, digits and _ . / : -).
    hparams : dict of str to float
        Training hyperparameters as numbers (a category as indicators ``name=value``,
        :mod:`naapgnn.data.hparams`).
    target : float or None
        Final accuracy in [0, 1], when known.
    split : str or None
        ``"train"``, ``"test"`` or None (counts as train).
    logged_from : dict of str to int
        Per channel whose log starts later than epoch 1, its first logged epoch
        (:func:`naapgnn.data.gaps.fill_non_finite`); the epochs before it
        hold that first value, so no budget below it reads the channel.
    stopped_at : int or None
        The logged length of a finished run's curve that ended early, its last values carried to the
        file's longest curve (:func:`naapgnn.data.channels.carry_stopped_runs`).
    non_finite : dict of str to numpy.ndarray
        Per channel that held non-finite values in its file, their epochs (0-based, sorted): what a budget reads
        again as a log cut there reads them (:func:`naapgnn.data.gaps.as_seen_at`).
    line : int or None
        Its line in the JSON Lines file it was read from (1-based), for messages.
    declared_percent : bool
        Read from a file declared in percent: an accuracy channel below 1.05 is a run dead near chance there.
    """

    id: str
    arch: Any
    curve: dict[str, np.ndarray] = field(default_factory=dict)
    hparams: dict[str, float] = field(default_factory=dict)
    target: float | None = None
    split: str | None = None
    logged_from: dict[str, int] = field(default_factory=dict)
    stopped_at: int | None = None
    non_finite: dict[str, np.ndarray] = field(default_factory=dict)
    line: int | None = None
    declared_percent: bool = False

    def place(self, file: str) -> str:
        """Where a message finds it: ``FILE line N (record 'id')``, or ``record 'id' of FILE`` without a line."""
        return f"{file} line {self.line} (record {self.id!r})" if self.line else f"record {self.id!r} of {file}"

    @property
    def num_epochs(self) -> int:
        """Length of the curve (0 when there is none)."""
        return max((len(v) for v in self.curve.values()), default=0)

    def unlogged(self, budget: int, channels=None) -> tuple[str, int] | None:
        """The first of ``channels`` (default: all) whose log starts after epoch ``budget >= 1``, with that
        epoch; None when every one has a logged value by then."""
        late = [(c, e) for c, e in self.logged_from.items() if e > budget >= 1 and (channels is None or c in channels)]
        return min(late, key=lambda ce: ce[1]) if late else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (
            self.id == other.id
            and self.arch == other.arch
            and _nonempty(self.curve).keys() == _nonempty(other.curve).keys()
            and all(np.array_equal(v, other.curve[k]) for k, v in _nonempty(self.curve).items())
            and same_hparams(self.hparams, other.hparams)
            and self.target == other.target
            and self.split == other.split
        )

    def to_dict(self) -> dict:
        """The JSON Lines form (the scheme form for NAAP-440 schemes); an epoch its file gave as non-finite or
        that precedes its channel's first log is null again, so the file reads back the same."""
        arch = self.arch.scheme if self.arch.scheme is not None else self.arch.to_dict()
        out: dict[str, Any] = {"id": self.id, "arch": arch}
        curve = {k: self._written(k, v) for k, v in _nonempty(self.curve).items()}
        if curve:
            out["curve"] = curve
        if self.hparams:
            out["hparams"] = hparams_to_json(self.hparams)
        if self.target is not None:
            out["target"] = float(self.target)
        if self.split is not None:
            out["split"] = self.split
        return out

    def _written(self, channel: str, values: np.ndarray) -> list:
        """A channel's logged epochs as JSON values: null where :meth:`to_dict` says, or still non-finite."""
        unlogged = set(self.non_finite.get(channel, np.zeros(0, dtype=int)).tolist())
        first = self.logged_from.get(channel, 1)
        return [None if e < first or e - 1 in unlogged or not np.isfinite(x) else float(x)
                for e, x in enumerate(values[:self.stopped_at], 1)]


def _nonempty(curve: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v for k, v in curve.items() if len(v)}


# --- NAAP-440 --------------------------------------------------------------------


def records_from_naap440(df) -> list[Record]:
    """The list of Record of :func:`naapgnn.data.naap440.load_naap440`'s frame ``df``, in row order: ``id`` is
    ``str(ModelId)``, the curve holds all 90 epochs of the three logged channels plus the declared learning-rate
    schedule (``lr``), ``target`` is MaxAccuracy and ``split`` follows IsTest."""
    from naapgnn.arch.format import parse_architecture
    from naapgnn.data.naap440 import NUM_EPOCHS, curve_columns, learning_rates

    curves = {channel: df[curve_columns(NUM_EPOCHS, [metric])].to_numpy(dtype=float)
              for channel, metric in _CSV_METRIC.items()}
    lr = np.array(learning_rates(NUM_EPOCHS))
    records = []
    for i, (model_id, is_test, target, scheme) in enumerate(zip(df["ModelId"], df["IsTest"], df["MaxAccuracy"],
                                                                df["scheme"])):
        try:
            check_target(target)
        except NaapgnnError as exc:
            raise NaapgnnError(f"NAAP-440 ModelId {model_id}: MaxAccuracy: {exc}") from None
        arch = parse_architecture(scheme, source=f"NAAP-440 ModelId {model_id}")
        curve = {**{channel: values[i].copy() for channel, values in curves.items()}, "lr": lr.copy()}
        split = "test" if is_test else "train"
        records.append(Record(str(int(model_id)), arch, curve, target=float(target), split=split))
    return records


# --- JSON Lines --------------------------------------------------------------------


TRAINING_NEEDS = 'training reads every record whose split is not "test"'  # why need_target=True refuses a record


def load_jsonl(path: str | os.PathLike, target_scale: str = "fraction", need_target: bool | str = False,
               diverged_values: Mapping[str, float] | None = None,
               hparam_names: Sequence[str] | None = None, read_epochs: int | None = None) -> list[Record]:
    """Read a JSON Lines benchmark.

    Parameters
    ----------
    path : str or path-like
        One JSON object per line (see the module docstring); blank lines are allowed.
    target_scale : {"fraction", "percent"}
        How the file gives ``target``: a fraction in [0, 1], or a percentage in
        [0, 100] (divided by 100 here).
    need_target : bool or str
        Refuse, by line, a record that training reads (split not ``"test"``) without a target; a string: every
        record without a target, the string saying why (``"search needs every final accuracy"``).
    diverged_values : dict of str to float, optional
        What a diverged run reads per channel, accuracies and error rates in fractions (a checkpoint's
        ``curve_worst_``), each read in the unit the file logs its channel in, not the file's worst value
        (:func:`naapgnn.data.gaps.fill_non_finite`): a prediction then does not depend on the other records.
    hparam_names : sequence of str, optional
        The hyperparameters a checkpoint reads (its ``hparam_names_``): no number-string warning for a name it
        reads as categories (:func:`naapgnn.data.hparams.number_strings_notice`).
    read_epochs : int, optional
        The epochs a checkpoint reads (its budget): non-finite values after them are read without a word.

    Returns
    -------
    list of Record
        In file order.

    Raises
    ------
    NaapgnnError
        One line naming the first invalid record's line and problem, and the
        line numbers of the others.
    """
    path = Path(path)
    text = read_text(path)
    return _parse_lines(json_lines(text), str(path), target_scale, need_target, diverged_values, hparam_names,
                        read_epochs)


def _parse_lines(lines: Iterable[str], name: str, target_scale: str = "fraction", need_target: bool | str = False,
                 diverged_values: Mapping[str, float] | None = None, hparam_names=None,
                 read_epochs: int | None = None) -> list[Record]:
    check_scale(target_scale)
    records, problems, lines_of, raw_hparams, raw_targets = [], [], [], [], []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = _loads(line)
            raw_targets.append((lineno, obj.get("target") if isinstance(obj, Mapping) else None))
            record = record_from_dict(obj, target_scale, diverged_ok=True)
            if record.id in seen:
                raise NaapgnnError(f"id: duplicate id {record.id!r} (first on line {seen[record.id]})")
        except NaapgnnError as exc:
            problems.append((lineno, str(exc)))
            continue
        seen[record.id] = lineno
        record.line = lineno
        records.append(record)
        lines_of.append(lineno)
        raw_hparams.append((lineno, obj.get("hparams")))
        if record.target is None and need_target and (isinstance(need_target, str) or record.split != "test"):
            why = need_target if isinstance(need_target, str) else TRAINING_NEEDS
            problems.append((lineno, f"target: missing ({why})"))
    problems = sorted(problems + (name_problems(records) if records else []), key=lambda p: p[0])
    if not problems and hparam_names is None:  # a checkpoint reads each record by itself (read_as)
        problems = mixed_kinds(raw_hparams)
    mixed = mixed_target_units(raw_targets, name, target_scale)  # declared percent: a warning (near chance)
    refused = mixed if target_scale == "fraction" else None
    if problems or refused:
        raise NaapgnnError(refused or invalid_lines(name, problems, _MAX_LISTED_LINES))
    if not records:
        raise NaapgnnError(f"{name}: no records (the file is empty)")
    numbers = number_strings_notice([r.hparams for r in records], name, hparam_names, lines_of)  # before categories
    complete_categories(r.hparams for r in records)
    # targets that --target-scale percent made tiny are the cause; the curves then merely look off against them
    fractions_already = percent_notice([r.target for r in records], target_scale, name)
    for notice in (read_schedule_alias(records, name), missing_schedule_notice(records, name, lines_of), numbers,
                   *hparams_notices([r.hparams for r in records], name, lines_of),
                   lr_mismatch_notice(records, name, lines_of),  # as logged, before a stopped run's is carried on
                   exploded_notice(records, name, lines_of, read_epochs),  # before NaNs are filled
                   fill_non_finite(records, name, lines_of, diverged_values, read_epochs),
                   carry_stopped_runs(records, name, lines_of), never_logged_notice(records, name, lines_of),
                   None if target_scale != "percent" or fractions_already or mixed  # the targets' notice says it
                   else low_percent_notice(records, name),
                   mixed_units_notice(records, name, lines_of, target_scale == "percent"), fractions_already, mixed,
                   reversed_target_notice(records, name), mixed_classes_notice(records, name, lines_of)):
        if notice:
            warnings.warn(notice, NaapgnnWarning, stacklevel=2)
    return records


def _loads(text: str) -> Any:
    return loads_json(text, line=False)


def record_from_dict(obj: Any, target_scale: str = "fraction", diverged_ok: bool = False) -> Record:
    """Validate one JSON Lines record (already decoded) and build a :class:`Record`.

    ``target_scale`` is ``"fraction"`` (``target`` in [0, 1]) or ``"percent"``
    (``target`` in [0, 100], divided by 100). With ``diverged_ok``, a non-finite curve value (but the learning
    rate's) is kept as NaN for :func:`naapgnn.data.gaps.fill_non_finite`; otherwise it is an error.
    """
    from naapgnn.arch.format import parse_architecture

    if not isinstance(obj, Mapping):
        raise NaapgnnError(f"expected a JSON object, got {json_kind(obj)}")
    unknown = sorted(set(obj) - set(_FIELDS))
    if unknown:
        raise NaapgnnError(f"{unknown_fields(unknown)} (expected {', '.join(_FIELDS)})")
    for required in ("id", "arch"):
        if required not in obj:
            raise NaapgnnError(f"missing field {required!r}")
    record_id = obj["id"]
    if isinstance(record_id, bool) or not isinstance(record_id, (str, int)) or record_id == "":
        raise NaapgnnError(f"id: expected a non-empty string or an integer, got {record_id!r}")
    try:
        arch = parse_architecture(obj["arch"])
    except NaapgnnError as exc:
        raise NaapgnnError(f"arch: {exc}") from None
    curve, hparams = _curve(obj.get("curve"), diverged_ok), parse_hparams(obj.get("hparams"))
    check_plausible(curve, hparams, str(record_id))
    return Record(id=str(record_id), arch=arch, curve=curve, hparams=hparams,
                  target=None if obj.get("target") is None else read_target(obj["target"], target_scale),
                  split=_split(obj.get("split")), declared_percent=target_scale == "percent")


def parse_curve(curve: Any, diverged_ok: bool = False) -> dict[str, np.ndarray]:
    """Validate a decoded ``curve`` object (channel name -> list of finite numbers, equal lengths), a learning rate
    named otherwise read as ``lr`` as in a file (:func:`naapgnn.data.channels.read_schedule_alias`); with
    ``diverged_ok``, null, NaN and Infinity as NaN (but a learning rate's), as a file's records hold them.

    Raises :class:`NaapgnnError` naming the channel and epoch of the first problem.
    """
    record = Record("curve", None, _curve(curve, diverged_ok))
    read_schedule_alias([record], "--curve")
    return record.curve


def _curve(curve: Any, diverged_ok: bool = False) -> dict[str, np.ndarray]:
    if curve is None:
        return {}
    if not isinstance(curve, Mapping):
        raise NaapgnnError(f"curve: expected an object of channels, got {json_kind(curve)}")
    out = {}
    for channel, values in curve.items():
        if not _CHANNEL_NAME.match(channel):
            raise NaapgnnError(f"curve: channel name {channel!r}: expected a letter or _ followed by letters, digits "
                               "or _ . / : -")
        if not isinstance(values, list):
            raise NaapgnnError(f"curve.{channel}: expected a list of per-epoch values, got {json_kind(values)}")
        out[channel] = curve_values(values, channel, diverged_ok)
    lengths = {k: len(v) for k, v in out.items() if len(v)}
    if len(set(lengths.values())) > 1:
        raise NaapgnnError(f"curve: channels differ in length ({', '.join(f'{k} {n}' for k, n in lengths.items())} "
                           "epochs); give each the same epochs, null where not logged (a longer lr: pad the others)")
    return out


def _split(split: Any) -> str | None:
    if split is not None and split not in SPLITS:
        raise NaapgnnError(f"split: expected \"train\" or \"test\", got {split!r}")
    return split


def write_jsonl(records: Iterable[Record], path: str | os.PathLike) -> None:
    """Write ``records`` as JSON Lines to ``path``, atomically (temporary file, then rename); :func:`load_benchmark`
    reads them back."""
    write_text_atomic(path, "".join(json.dumps(r.to_dict(), allow_nan=False) + "\n" for r in records))


# --- dispatch and splits -----------------------------------------------------------


def load_benchmark(source: str | os.PathLike | None = None, target_scale: str = "fraction",
                   need_target: bool | str = False,
                   diverged_values: Mapping[str, float] | None = None,
                   hparam_names: Sequence[str] | None = None, read_epochs: int | None = None) -> list[Record]:
    """Read a benchmark from any supported source: the one place that does.

    Parameters
    ----------
    source : str or path-like or None
        None: NAAP-440 from its default location (``$NAAPGNN_DATA``, the
        user cache, or a checksummed download). A NAAP-440 folder or one of its CSVs; a JSON Lines file (``.jsonl``,
        ``.ndjson``); or a ``.json`` file holding either JSON Lines records or a
        single architecture (which becomes one record whose id is the file stem).
    target_scale : {"fraction", "percent"}
        How a benchmark file gives ``target`` (see :func:`load_jsonl`); a target
        outside the scale's range is refused. NAAP-440 is always a fraction.
    need_target : bool or str
        Refuse a file's records without a target that training reads, or (a string saying why) every one
        without a target (see :func:`load_jsonl`).
    diverged_values, hparam_names, read_epochs
        How a checkpoint reads a file (see :func:`load_jsonl`).

    Returns
    -------
    list of Record
    """
    check_scale(target_scale)
    if source is None:
        from naapgnn.data.naap440 import load_naap440

        return records_from_naap440(load_naap440(None))
    path = Path(source)
    if not path.exists():
        raise NaapgnnError(f"{path}: no such file or directory")
    suffix = path.suffix.lower()
    if path.is_dir() or suffix == ".csv":
        from naapgnn.data.naap440 import load_naap440

        return records_from_naap440(load_naap440(path))
    if suffix in (".jsonl", ".ndjson"):
        return load_jsonl(path, target_scale, need_target, diverged_values, hparam_names, read_epochs)
    if suffix == ".json":
        return _load_json(path, target_scale, need_target, diverged_values, hparam_names, read_epochs)
    raise NaapgnnError(f"{path}: unknown benchmark format (expected a NAAP-440 folder or .csv, "
                       f"a .jsonl benchmark or a .json architecture)")


def _load_json(path: Path, target_scale: str, need_target: bool | str = False, diverged_values=None,
               hparam_names=None, read_epochs=None) -> list[Record]:
    from naapgnn.arch.format import parse_architecture

    text = read_text(path)
    try:
        obj = json.loads(text, object_pairs_hook=unique_keys)
    except NaapgnnError as exc:
        raise NaapgnnError(f"{path}: {exc}") from None
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # several values: JSON Lines
            return _parse_lines(json_lines(text), str(path), target_scale, need_target, diverged_values,
                                hparam_names, read_epochs)
        raise NaapgnnError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if isinstance(obj, Mapping) and "arch" in obj:
        return _parse_lines([json.dumps(obj)], str(path), target_scale, need_target, diverged_values, hparam_names,
                            read_epochs)
    if need_target:
        raise NaapgnnError(f"{path}: a single architecture, without a target to train on")
    return [Record(id=path.stem, arch=parse_architecture(obj, source=str(path)))]


def split_records(records: Iterable[Record], split: str) -> list[Record]:
    """The list of ``records`` (in their order) of ``split``: ``"train"`` (including records without a split),
    ``"test"`` or ``"all"``."""
    if split == "all":
        return list(records)
    if split not in SPLITS:
        raise NaapgnnError(f"unknown split {split!r} (expected train, test or all)")
    return [r for r in records if (r.split or "train") == split]

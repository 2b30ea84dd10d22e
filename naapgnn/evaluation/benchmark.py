"""What an evaluation runs on: the records, their targets, the official test flags and the curves' length."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from naapgnn.data.digest import records_digest
from naapgnn.errors import NaapgnnError

__all__ = ["Benchmark", "load_benchmark_for_evaluation", "benchmark_from_table", "compute_zero_cost"]


@dataclass
class Benchmark:
    """What the engine evaluates on.

    Attributes
    ----------
    records : list of Record
        Every architecture (with target and curve).
    table : DataFrame or list of Record
        Input of the tabular features: the NAAP-440 frame when there is one
        (its own columns are read), else the records.
    y : numpy.ndarray
        Final accuracies, in record order.
    is_test : numpy.ndarray of bool
        The official test flags.
    name : str
        For the report.
    max_epochs : int
        Epochs of curve every record has (the largest usable budget).
    zero_cost : dict
        Seed -> {score name: raw scores}, filled by :func:`compute_zero_cost`.
    """

    records: list
    table: Any
    y: np.ndarray
    is_test: np.ndarray
    name: str
    max_epochs: int
    zero_cost: dict = field(default_factory=dict)
    zero_cost_source: str = ""
    zero_cost_seconds: dict = field(default_factory=dict)  # score -> seconds per architecture
    _fingerprint: str = field(default="", repr=False, init=False)
    _groups: Any = field(default=False, repr=False, init=False)

    @property
    def file(self) -> str:
        """The file the records were read from, as errors name it: :attr:`name` without its ``" (...)"`` note."""
        return self.name.split(" (")[0]

    @property
    def groups(self) -> np.ndarray | None:
        """Per record, the index of its configuration (architecture and hyperparameters), when some configuration
        has more than one record (repeated runs of it); None when every record is its own."""
        if self._groups is False:
            from naapgnn.data.configurations import configuration_groups

            self._groups = configuration_groups(self.records)
        return self._groups

    def repeated_configurations(self) -> str | None:
        """One line on the configurations run more than once and on the official split's test records that share
        one with a training record (None when every record is its own configuration)."""
        groups = self.groups
        if groups is None:
            return None
        _, counts = np.unique(groups, return_counts=True)
        repeated = counts > 1
        twin = next(i for i in range(len(groups)) if counts[groups[i]] > 1)
        other = next(j for j in range(twin + 1, len(groups)) if groups[j] == groups[twin])
        text = (f"{int(repeated.sum())} configurations (architecture and hyperparameters) appear in more than one "
                f"record, {int(counts[repeated].sum())} records in all (first: {self.records[twin].id!r} and "
                f"{self.records[other].id!r}): the repeated and kfold splits keep each one's records on one side")
        straddle = np.isin(groups[self.is_test], groups[~self.is_test]).sum() if self.is_test.any() else 0
        if straddle:
            text += (f"; {int(straddle)} records marked test share theirs with a training record, which the "
                     "official split scores as new")
        return text

    def fingerprint(self) -> str:
        """A digest of ids, architectures, hyperparameters, targets, test flags and curves (cache keys depend on it)."""
        if not self._fingerprint:
            self._fingerprint = records_digest(self.records, self.y, self.is_test)
        return self._fingerprint

    def architectures_fingerprint(self) -> str:
        """A digest of ids and architectures only (what zero-cost scores depend on)."""
        text = json.dumps([[r.id, r.arch.to_dict()] for r in self.records], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def zero_cost_inputs(self, seed: int) -> dict[str, np.ndarray]:
        """The seed's zero-cost scores as finite model inputs (see :func:`naapgnn.models.zero_cost.finite_inputs`)."""
        from naapgnn.models.zero_cost import finite_inputs

        if seed not in self.zero_cost:
            raise NaapgnnError(f"zero-cost scores for seed {seed} were not computed")
        return finite_inputs(self.zero_cost[seed])


def benchmark_from_table(df, name: str | None = None) -> Benchmark:
    """A NAAP-440 DataFrame (rows in the order given) as a :class:`Benchmark`."""
    from naapgnn.data.records import records_from_naap440

    records = records_from_naap440(df)
    name = name or f"NAAP-440 ({len(df)} architectures, {int(df['IsTest'].sum())} in the official test split)"
    return _checked(records, df, name, "NAAP-440")


def load_benchmark_for_evaluation(source=None, target_scale: str = "fraction") -> Benchmark:
    """Read NAAP-440 (folder or CSV; None: the default location) or a JSON Lines benchmark
    (targets read as ``target_scale``, see :func:`naapgnn.data.records.load_benchmark`).

    Every record needs a target; the official protocol needs some records
    marked ``"split": "test"``.
    """
    from naapgnn.data.records import load_benchmark

    path = None if source is None else Path(source)
    if path is None or path.is_dir() or path.suffix.lower() == ".csv":
        from naapgnn.data.naap440 import load_naap440

        return benchmark_from_table(load_naap440(path))
    records = load_benchmark(path, target_scale=target_scale,
                             need_target="evaluation needs every final accuracy; remove the records without one")
    scale = "; targets in percent, read as fractions: MAEs and predictions are fractions" if (
        target_scale == "percent") else ""
    return _checked(records, records, f"{path.name} ({len(records)} architectures{scale})", source)


def _checked(records, table, name, source) -> Benchmark:
    missing = [r.id for r in records if r.target is None]
    if missing:
        raise NaapgnnError(f"{source}: record {missing[0]!r} has no target (evaluation needs every final accuracy)")
    y = np.array([r.target for r in records], dtype=float)
    is_test = np.array([r.split == "test" for r in records], dtype=bool)
    return Benchmark(records, table, y, is_test, name, min(r.num_epochs for r in records))


# --- zero-cost scores ----------------------------------------------------------------------

CHUNK = 32  # architectures scored between two writes of the resume log
# What NASWOT codes, in the scores' key: scores cached when it read ReLUs alone differ on networks mixing in others
CODED_ACTIVATIONS = "sign-keeping activations"


def _scores_in_chunks(records, score: str, store, key: str, images, batch_size: int, seed: int, device: str,
                      progress: bool) -> tuple[list, list]:
    """:func:`score_architectures` of ``records`` in chunks of :data:`CHUNK`, each kept in ``store`` under
    ``key:start`` as soon as it is done (a score depends only on the architecture, the seed and the
    images, so an interrupted run resumes at the first missing chunk with the same numbers)."""
    from tqdm.auto import tqdm

    from naapgnn.models.zero_cost import score_architectures

    values, times = [], []
    with tqdm(total=len(records), desc=score, disable=not progress, leave=False) as bar:
        for start in range(0, len(records), CHUNK):
            part = store.get(f"{key}:{start}")
            if part is None:
                v, t = score_architectures(records[start:start + CHUNK], score, images=images, batch_size=batch_size,
                                           seed=seed, device=device, return_times=True)
                part = {"values": v.tolist(), "seconds": t.tolist()}
                store.put(f"{key}:{start}", part)
            values += part["values"]
            times += part["seconds"]
            bar.update(len(part["values"]))
    return values, times


def compute_zero_cost(bench, seeds: Sequence[int], store, cifar_root=None, batch_size: int = 64,
                      device: str = "cpu", progress: bool = True, max_seconds: float | None = None) -> float | None:
    """NASWOT and synflow of every architecture of ``bench`` for each seed.

    ``bench`` is a :class:`naapgnn.evaluation.benchmark.Benchmark` (its
    ``zero_cost``, ``zero_cost_seconds`` and ``zero_cost_source`` are filled);
    ``store`` a :class:`naapgnn.io.ResumeLog` that keeps the scores between runs.

    With ``max_seconds``, the first :data:`CHUNK` architectures are scored
    first (for the first seed, kept in ``store`` like any chunk) and the time
    the scores still missing would take is projected from theirs; above
    ``max_seconds`` nothing more is scored and that projection is returned
    (None when every score was computed or found in ``store``).
    """
    from naapgnn.models.zero_cost import SCORES

    plan = [_zero_cost_plan(bench, int(seed), cifar_root, batch_size) for seed in seeds]
    if max_seconds is not None:
        projected = _projected_seconds(bench, plan, store, batch_size, device, progress)
        if projected > max_seconds:
            return projected
    for seed, images, source, key in plan:
        cached = store.get(key)
        if cached is None:
            scores, seconds = {}, {}
            for score in SCORES:
                values, times = _scores_in_chunks(bench.records, score, store, f"{key}:{score}", images, batch_size,
                                                  seed, device, progress)
                scores[score], seconds[score] = values, float(np.mean(times))
            cached = {"source": source, "scores": scores, "seconds_per_arch": seconds}
            store.put(key, cached)
        bench.zero_cost[seed] = {k: np.asarray(v, dtype=float) for k, v in cached["scores"].items()}
        bench.zero_cost_seconds = cached["seconds_per_arch"]
        bench.zero_cost_source = (images.source.replace(f"(seed {seed})", "(seed = the run's seed)")
                                  if images else source)
    return None


def _zero_cost_plan(bench, seed: int, cifar_root, batch_size: int) -> tuple:
    """``(seed, images, source, key)``: NASWOT's images (None: the fallback noise), their description and the
    resume key of one seed's scores (the architectures, the seed, the images and the batch size)."""
    from naapgnn.models.zero_cost import load_images

    images = load_images(cifar_root, n=batch_size, seed=seed) if cifar_root else None
    source = images.source if images else (f"FALLBACK: Gaussian noise N(0, 1), {batch_size} images per input "
                                           f"shape (seed = the run's seed); no CIFAR-10 folder given")
    key = "zero_cost:" + hashlib.sha256(json.dumps([bench.architectures_fingerprint(), seed, source, batch_size,
                                                    CODED_ACTIVATIONS]).encode()).hexdigest()[:20]
    return seed, images, source, key


def _projected_seconds(bench, plan, store, batch_size: int, device: str, progress: bool) -> float:
    """Seconds the zero-cost scores missing from ``store`` would take, from the first chunk's times (scored
    now for the first seed if missing)."""
    from naapgnn.models.zero_cost import SCORES

    seed, images, _, key = plan[0]
    n = len(bench.records)

    def missing(score: str) -> int:
        return sum(min(CHUNK, n - start) for *_, k in plan if store.get(k) is None
                   for start in range(0, n, CHUNK) if store.get(f"{k}:{score}:{start}") is None)

    total = 0.0
    for score in SCORES:
        if missing(score):
            _, times = _scores_in_chunks(bench.records[:CHUNK], score, store, f"{key}:{score}", images, batch_size,
                                         seed, device, progress)
            total += float(np.mean(times)) * missing(score)
    return total

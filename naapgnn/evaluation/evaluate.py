"""``naapgnn evaluate``: every predictor at every budget under every protocol.

It answers one question: how many epochs must an architecture train before
its final accuracy can be predicted well enough, and how much training does
that save? The predictors are registry entries (:mod:`naapgnn.models.registry`):

* learned: the GNN (``gnn``; ``gnn+zero_cost`` adds the NASWOT and synflow
  scores as inputs), the best rows of the paper (``paper_gb100``,
  ``paper_rf200``; any of the 24 as ``paper:<name>``), the per-layer random
  forest (``forest``) and its cycle-feature variant (``forest+cycle``);
* curve heuristics with no learning (``curve_*``, :mod:`naapgnn.models.heuristics`);
* zero-training scores (``naswot``, ``synflow``, :mod:`naapgnn.models.zero_cost`),
  budget 0 only. They only rank: their rank metrics use the raw score, and
  their MAE is that of a least-squares line (score -> accuracy) fitted on the
  training split.

Runs: ``official`` and ``extrapolate`` have one fixed split, so each seeded
predictor is fitted once per seed (``n_seeds``: seeds 20220905, ..., the
paper's); ``repeated`` and ``kfold`` fit once per split with the first seed
(the splits provide the spread). Metrics are averaged over the runs. Every
run goes through the engine (:mod:`naapgnn.evaluation.engine`), which keeps
finished runs in ``OUT/cache/runs.jsonl``: a second invocation computes only
what is missing.

The budget advice never sees a test architecture: inside the training part of
each split of the headline protocol (:func:`naapgnn.evaluation.analysis.headline_protocol`;
for ``official`` the records not marked "test") every predictor is also run on
``inner_folds`` seeded folds (protocol ``inner:<protocol>``, same engine and
cache), and the advice is read from those runs alone by
:mod:`naapgnn.evaluation.analysis`; the outer test runs only score it. The
report is written by :mod:`naapgnn.evaluation.report`.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from naapgnn.data.channels import check_full_epochs, run_lengths
from naapgnn.errors import NaapgnnError
from naapgnn.evaluation.analysis import cells_lacking, headline_protocol, nothing_to_run
from naapgnn.evaluation.benchmark import Benchmark, load_benchmark_for_evaluation
from naapgnn.evaluation.engine import Predictor
from naapgnn.runtime import cpu_threads

RESULT_COLUMNS = ("predictor", "budget", "protocol", "mae", "violations", "monotonicity_score",
                  "kendall_tau", "spearman", "precision_at_5", "precision_at_10", "top5_regret")
METRICS = RESULT_COLUMNS[3:]
STD_COLUMNS = tuple(f"{m}_std" for m in METRICS) + ("n_runs",)
"""Added after :data:`RESULT_COLUMNS` in results.csv: the std over runs (ddof=1) of each metric, and the run count."""
RUN_COLUMNS = ("predictor", "budget", "protocol", "split", "seed", "seconds", "mae", "violations", "max_violations",
               "monotonicity_score", "kendall_tau", "spearman", "precision_at_5", "precision_at_10", "top5_regret")
DEFAULT_BUDGETS = tuple(range(10))
DEFAULT_PROTOCOLS = ("official",)
DEFAULT_INNER_FOLDS = 5
SEED_BASE = 20220905

__all__ = [
    "RESULT_COLUMNS", "PREDICTORS", "GROUPS", "Benchmark", "Predictor", "load_benchmark_for_evaluation",
    "make_predictors", "select_predictors", "run_evaluation", "EvaluationResult", "inner_splits", "STD_COLUMNS",
    "check_targets_vary",
]

PREDICTORS = ("gnn", "gnn+zero_cost", "paper_gb100", "paper_rf200", "forest", "forest+cycle", "forest+zero_cost",
              "curve_last", "curve_best", "curve_power_law", "curve_exponential", "curve_power_law_cycle",
              "curve_exponential_cycle", "naswot", "synflow")
"""Keys of :func:`make_predictors`, in report order."""
GROUPS = {
    "default": ("gnn", "paper_gb100", "paper_rf200", "forest", "forest+cycle", "curve_last", "curve_best",
                "curve_power_law", "curve_exponential", "curve_power_law_cycle", "curve_exponential_cycle",
                "naswot", "synflow"),
    "all": PREDICTORS,
    "learned": ("gnn", "paper_gb100", "paper_rf200", "forest", "forest+cycle"),
    "baselines": ("paper_gb100", "paper_rf200", "forest", "forest+cycle"),
    "heuristics": tuple(p for p in PREDICTORS if p.startswith("curve_")),
    "zero_cost": ("naswot", "synflow"),
}


def _gnn_label(gnn_params: dict) -> str:
    """"GNN", naming the forest blended in and the curve gate where the settings include them."""
    import inspect

    from naapgnn.models.gnn import GNNPredictor

    setting = {k: gnn_params.get(k, p.default) for k, p in inspect.signature(GNNPredictor).parameters.items()}
    blend, forest = float(setting["blend_forest"]), str(setting["forest"]).replace("_", "-")
    share = ", share chosen on held-out" if setting["choose_blend"] else f" at {100 * blend:.0f}%"
    parts = [f"{forest} forest blended{share}"] * (blend > 0) + ["curve gate"] * (setting["curve_mode"] != "network")
    return f"GNN ({'; '.join(parts)})" if parts else "GNN"


def make_predictors(gnn_params: dict | None = None) -> dict[str, Predictor]:
    """Every named predictor of :data:`PREDICTORS`, the GNNs with ``gnn_params`` (``GNNPredictor`` keywords)."""
    gnn_params = dict(gnn_params or {})
    gnn = _gnn_label(gnn_params)
    labels = {"gnn": gnn, "gnn+zero_cost": f"{gnn} + NASWOT/synflow inputs"}
    return {key: Predictor(key, gnn_params if key in labels else {}, labels.get(key, "")) for key in PREDICTORS}


def select_predictors(spec: str = "default", gnn_params: dict | None = None) -> list[Predictor]:
    """Predictors from a comma-separated list of keys, groups (:data:`GROUPS`),
    ``paper:<model name>`` (any of the paper's 24 regressors) and any other
    registry key (e.g. ``baker``, ``baker_rf``)."""
    from naapgnn.io import comma_items
    from naapgnn.models.registry import available

    named = make_predictors(gnn_params)
    chosen: list[Predictor] = []
    for item in comma_items(spec, "--predictors"):
        if item.startswith("paper:"):
            if item not in available():
                raise NaapgnnError(f"--predictors: {item[len('paper:'):]!r} is not one of the paper's models "
                                   f"({', '.join(k[len('paper:'):] for k in available() if k.startswith('paper:'))})")
            found = [Predictor(item)]
        elif item in GROUPS:
            found = [named[k] for k in GROUPS[item]]
        elif item in named:
            found = [named[item]]
        elif item in available():  # registered by a plugin, e.g. baselines' "baker"
            found = [Predictor(item)]
        else:
            raise NaapgnnError(f"--predictors: unknown predictor {item!r} (groups: {', '.join(GROUPS)}; "
                               f"predictors: {', '.join(PREDICTORS)}; registered: "
                               f"{', '.join(k for k in available() if not k.startswith('paper:'))}; "
                               f"or paper:<model name>)")
        chosen += [p for p in found if p.key not in {c.key for c in chosen}]
    if not chosen:
        raise NaapgnnError("--predictors: no predictor selected")
    return chosen


@dataclass
class EvaluationResult:
    """What :func:`run_evaluation` produced.

    Attributes
    ----------
    results : DataFrame
        results.csv: :data:`RESULT_COLUMNS`, means over runs.
    runs : DataFrame
        One row per run (split, seed) with every metric and the fit time.
    predictions : dict
        ``(predictor, budget, protocol) -> list of run rows`` with test indices and predictions.
    computed, reused : int
        Runs computed now and taken from the cache.
    inner_runs : DataFrame
        runs.csv-shaped rows of the inner folds (protocol ``inner:<advice_protocol>``;
        outer split = ``split // inner_folds``); empty when ``inner_folds`` is 0.
    advice_protocol : str
        The outer protocol the inner folds are nested in.
    full_epochs : int or None
        Epochs of a full training: the longest curve of the benchmark (None without curves).
    zero_cost_skipped : dict
        Zero-cost predictors left out by ``zero_cost_limit`` -> the seconds their scores were projected to take.
    unfit : dict
        Predictors left out at every budget (:func:`naapgnn.evaluation.analysis.cells_lacking`) -> why.
    run_epochs : tuple of int or None
        Each run's epochs (:func:`naapgnn.data.channels.run_lengths`) where some stopped early; None if none did.
    """

    results: Any
    runs: Any
    predictions: dict
    computed: int
    reused: int
    wall_seconds: float
    bench: Benchmark
    predictors: list
    budgets: list
    protocols: list
    seeds: list
    inner_runs: Any = None
    inner_folds: int = 0
    advice_protocol: str = ""
    full_epochs: int | None = None
    zero_cost_skipped: dict = field(default_factory=dict)
    unfit: dict = field(default_factory=dict)
    run_epochs: tuple | None = None

    def advice(self, tolerance: float = 0.0) -> dict | None:
        """:func:`naapgnn.evaluation.analysis.advise` on the inner runs (None without them)."""
        from naapgnn.evaluation.analysis import advise
        from naapgnn.evaluation.engine import FIXED_SPLIT_PROTOCOLS

        if self.inner_runs is None or self.inner_runs.empty:
            return None
        test_runs = self.runs[self.runs["protocol"] == self.advice_protocol]
        answer = advise(self.inner_runs, test_runs, self.inner_folds, self.full_epochs, tolerance,
                        fixed_split=self.advice_protocol in FIXED_SPLIT_PROTOCOLS, run_epochs=self.run_epochs)
        return {**answer, "protocol": self.advice_protocol}


def run_evaluation(
    bench: Benchmark,
    out: str | os.PathLike,
    predictors: Sequence[Predictor] | None = None,
    budgets: Sequence[int] = DEFAULT_BUDGETS,
    protocols: Sequence[str] = DEFAULT_PROTOCOLS,
    n_seeds: int = 3,
    n_repeats: int = 10,
    n_folds: int = 10,
    split_seed: int = 0,
    inner_folds: int = DEFAULT_INNER_FOLDS,
    cifar_root=None,
    zc_batch_size: int = 64,
    device: str = "cpu",
    jobs: int = 1,
    threads: int | None = 1,
    progress: bool = True,
    full_epochs: int | None = None,
    zero_cost_limit: float | None = None,
    train_size: int | None = None,
) -> EvaluationResult:
    """Run (or resume) every predictor at every budget under every protocol.

    Parameters
    ----------
    bench : Benchmark
    out : path
        Output folder; runs are kept in ``out/cache``.
    predictors : list of Predictor, optional
        Default: :func:`select_predictors` ``("default")``.
    budgets : sequence of int
        Epochs of curve, each between 0 and the benchmark's curve length.
    protocols : sequence of str
        Any of :data:`naapgnn.evaluation.protocols.PROTOCOLS`.
    n_seeds : int
        Fits per seeded predictor on the fixed-split protocols.
    n_repeats, n_folds, split_seed
        Sizes and seed of the ``repeated`` and ``kfold`` splits.
    inner_folds : int
        Folds (seeded, shuffled K-fold with ``split_seed``) inside the training part of every split
        of the headline protocol, from which the budget advice is read; 0 runs none (no advice).
    cifar_root : path, optional
        CIFAR-10 folder for NASWOT's minibatch (else Gaussian noise, labelled).
    zc_batch_size : int
        NASWOT minibatch size.
    device : str
        Device of the zero-cost scores.
    jobs : int
        Worker processes (joblib); 1 runs everything in this process.
    threads : int, optional
        Torch CPU threads per worker.
    progress : bool
        tqdm bars on stderr.
    full_epochs : int, optional
        Epochs of a full training, what a budget saves is counted against (default: the longest curve;
        give it when the records hold only the first epochs of longer runs).
    zero_cost_limit : float, optional
        Seconds the zero-cost scores may take: when the first architectures' times project more, the
        predictors reading them are left out (``zero_cost_skipped``) and nothing more is scored. None: no limit.
    train_size : int, optional
        ``repeated`` protocol: training architectures per split, every other one tested (train N, predict many).

    Returns
    -------
    EvaluationResult
    """
    started = time.perf_counter()
    predictors = list(predictors) if predictors is not None else select_predictors("default")
    budgets = [int(b) for b in budgets]
    seeds = _check(bench, budgets, protocols, n_seeds, inner_folds)
    longest = max(r.num_epochs for r in bench.records) or None
    check_full_epochs(full_epochs, longest)
    full_epochs = full_epochs or longest
    predictors = [p.extrapolating_to(full_epochs) if full_epochs != longest else p for p in predictors]
    split_lists = _split_lists(bench, protocols, split_seed, n_repeats, n_folds, inner_folds, train_size)
    with cpu_threads(threads):
        skipped = _zero_cost(bench, Path(out), predictors, budgets, seeds, cifar_root, zc_batch_size, device, progress,
                             zero_cost_limit)
        unfit = cells_lacking(bench, [p for p in predictors if p.key not in skipped])  # not NAS-Bench-201 cells
        predictors = [p for p in predictors if p.key not in skipped and p.key not in unfit]
        rows, computed = _run(bench, Path(out), predictors, budgets, split_lists, seeds, zc_batch_size, jobs, threads,
                              progress)
    test_rows = [r for r in rows if r["protocol"] in protocols]
    runs, results, predictions = _tables(test_rows)
    inner_runs = _run_table([r for r in rows if r["protocol"] not in protocols])
    lengths = tuple(run_lengths(bench.records, full_epochs)) if full_epochs else ()
    return EvaluationResult(results, runs, predictions, computed, len(rows) - computed,
                            time.perf_counter() - started, bench, predictors, budgets, list(protocols), seeds,
                            inner_runs, inner_folds, headline_protocol(protocols), full_epochs, skipped, unfit,
                            lengths if any(n < full_epochs for n in lengths) else None)


def check_targets_vary(y, name: str) -> None:
    """Refuse targets that are all equal, naming ``name``: there is nothing to rank."""
    y = np.asarray(y, dtype=float)
    if len(y) and np.ptp(y) == 0:
        raise NaapgnnError(f"{name}: all {len(y)} targets are {y[0]:g}: nothing to rank")


def _check(bench, budgets, protocols, n_seeds, inner_folds) -> list[int]:
    """Budgets against the benchmark's own curve length (90 epochs on NAAP-440, 140 for the deep ResNets)."""
    from naapgnn.data.channels import late_logs

    file = bench.file
    for b in budgets:
        if b < 0:
            raise NaapgnnError(f"--budgets: {b} is not a number of epochs (>= 0)")
        if b > bench.max_epochs:
            short = min(bench.records, key=lambda r: r.num_epochs)
            raise NaapgnnError(f"--budgets: budget {b} needs {b} epochs of curve, "
                               f"{short.place(file)} has {short.num_epochs}")
        late = late_logs(bench.records, b)
        if late:
            record, channel, epoch = late[0]
            raise NaapgnnError(f"--budgets: budget {b} reads epochs 1..{b}, but {record.place(file)} logs {channel!r} "
                               f"first at epoch {epoch}")
    check_targets_vary(bench.y, bench.name)
    check_options(protocols, n_seeds, inner_folds)
    return [SEED_BASE + i for i in range(n_seeds)]


def check_options(protocols, n_seeds: int, inner_folds: int, full_epochs: int | None = None) -> None:
    """One line for an option that cannot work whatever the data: an unknown protocol, ``--seeds`` below 1,
    ``--inner-folds`` 1 or negative, ``--full-epochs`` below 1 (the ``naapgnn evaluate`` CLI checks them before
    reading the data)."""
    from naapgnn.evaluation.protocols import PROTOCOLS

    for p in protocols:
        if p not in PROTOCOLS:
            raise NaapgnnError(f"--protocol: unknown protocol {p!r} (expected {', '.join(PROTOCOLS)})")
    if n_seeds < 1:
        raise NaapgnnError(f"--seeds must be >= 1, got {n_seeds}")
    if inner_folds == 1 or inner_folds < 0:
        raise NaapgnnError(f"--inner-folds must be 0 (no advice) or >= 2, got {inner_folds}")
    check_full_epochs(full_epochs)


def _split_lists(bench, protocols, split_seed, n_repeats, n_folds, inner_folds, train_size=None) -> dict:
    """Protocol -> (train, test) pairs, with ``inner:<headline>``: ``inner_folds`` folds inside each
    training part of the headline protocol (outer-major order)."""
    from naapgnn.evaluation.analysis import headline_protocol, inner_protocol
    from naapgnn.evaluation.protocols import MIN_TESTED, splits

    if train_size is not None and "repeated" not in protocols:
        raise NaapgnnError("--train-size: sizes the repeated protocol's splits; add --protocol repeated")
    if train_size is not None and not 1 <= train_size <= len(bench.y) - MIN_TESTED:
        raise NaapgnnError(f"--train-size: must be between 1 and {len(bench.y) - MIN_TESTED} (the benchmark has "
                           f"{len(bench.y)} architectures, at least {MIN_TESTED} tested), got {train_size}")
    lists = {p: splits(p, bench.y, bench.is_test, seed=split_seed, n_repeats=n_repeats, n_folds=n_folds,
                       train_size=train_size if p == "repeated" else None, groups=bench.groups) for p in protocols}
    if inner_folds:
        outer = headline_protocol(protocols)
        lists[inner_protocol(outer)] = [pair for train, _ in lists[outer]
                                        for pair in inner_splits(train, inner_folds, split_seed, bench.groups)]
    return lists


def inner_splits(train, n_folds: int, seed: int = 0, groups=None) -> list:
    """Seeded, shuffled K-fold pairs inside ``train`` (indices into the benchmark; ``groups`` of the whole
    benchmark, :func:`naapgnn.evaluation.protocols.splits`); nothing outside it is read."""
    import numpy as np

    from naapgnn.evaluation.protocols import MIN_TESTED, splits

    train = np.asarray(train, dtype=np.int64)
    if not 2 <= n_folds <= len(train) // MIN_TESTED:
        raise NaapgnnError(f"--inner-folds: {n_folds} folds need at least {MIN_TESTED * n_folds} training "
                           f"architectures ({MIN_TESTED} ranked per fold), got {len(train)}")
    inner = None if groups is None else groups[train]
    configurations = len(train) if inner is None else len(np.unique(inner))
    if configurations == len(train):
        inner = None  # every run its own configuration: plain folds
    elif n_folds > configurations:
        raise NaapgnnError(f"--inner-folds: {n_folds} folds need at least {n_folds} configurations in a training "
                           f"split, got {configurations} (the runs of one configuration share a fold)")
    return [(train[a], train[b]) for a, b in splits("kfold", np.zeros(len(train)), seed=seed, n_folds=n_folds,
                                                    groups=inner)]


def _zero_cost(bench, out, predictors, budgets, seeds, cifar_root, zc_batch_size, device, progress,
               limit) -> dict[str, float]:
    """Compute the zero-cost scores the predictors read (at budget 0); the keys of those left out by ``limit``,
    each with the projected seconds."""
    from naapgnn.evaluation.benchmark import compute_zero_cost
    from naapgnn.io import ResumeLog

    uses_zero_cost = [p.key for p in predictors if p.entry.zero_cost]
    if not (0 in budgets and uses_zero_cost):
        return {}
    projected = compute_zero_cost(bench, seeds, ResumeLog(out / "cache" / "zero_cost.jsonl"), cifar_root,
                                  zc_batch_size, device, progress, max_seconds=limit)
    return {} if projected is None else {key: projected for key in uses_zero_cost}


def _run(bench, out, predictors, budgets, split_lists, seeds, zc_batch_size, jobs, threads, progress):
    from naapgnn.evaluation.engine import plan_units, run_units
    from naapgnn.io import ResumeLog

    uses_zero_cost = [p.key for p in predictors if p.entry.zero_cost]
    extra = {key: bench.zero_cost_source + str(zc_batch_size) for key in uses_zero_cost}
    lacking = channels_lacking(bench, predictors)
    units = [u for protocol in split_lists for p in predictors for b in budgets
             if p.entry.applies(b) and not (b > 0 and p.key in lacking)
             for u in plan_units(p, b, protocol, len(split_lists[protocol]), seeds)]
    if not units:
        raise nothing_to_run("--predictors", budgets, bench.file, lacking, bench.records)
    return run_units(bench, predictors, units, split_lists, ResumeLog(out / "cache" / "runs.jsonl", dict), jobs=jobs,
                     threads=threads, progress=progress, desc="evaluate", extra=extra)


def channels_lacking(bench, predictors) -> dict[str, list[str]]:
    """Predictor key -> the curve channels it reads (``Entry.channels``) that some record of ``bench`` lacks, and
    ``"lr (cyclic, period P)"`` when it reads the cycle ends of a rate (``Entry.cycle``) that some record does not
    declare, ``"accuracy (under any name)"`` when it reads the accuracy (``Entry.reads_accuracy``) and no channel
    of every record holds one (:func:`naapgnn.data.channels.accuracy_candidates`); :func:`run_evaluation` leaves those
    predictors out at budgets >= 1."""
    from naapgnn.data.channels import accuracy_candidates
    from naapgnn.features.curves import SCHEDULE_CHANNEL, declares_cycle

    common = set.intersection(*(set(r.curve) for r in bench.records)) if bench.records else set()
    has_accuracy = bool(accuracy_candidates(bench.records))
    out = {}
    for p in predictors:
        missing = [c for c in p.entry.channels if c not in common]
        if p.entry.reads_accuracy and not has_accuracy:
            missing.append("accuracy (under any name)")
        if p.entry.cycle and not declares_cycle(bench.records, p.entry.cycle):
            missing.append(f"{SCHEDULE_CHANNEL} (cyclic, period {p.entry.cycle})")
        if missing:
            out[p.key] = missing
    return out


def _run_table(rows: list[dict]):
    import pandas as pd

    return pd.DataFrame([{c: _metric(r, c) for c in RUN_COLUMNS} for r in rows], columns=list(RUN_COLUMNS))


def _tables(rows: list[dict]):
    runs = _run_table(rows)
    grouped = runs.groupby(["predictor", "budget", "protocol"], sort=False)[list(METRICS)]
    results = grouped.mean().join(grouped.std(ddof=1).add_suffix("_std"))
    results["n_runs"] = grouped.size()
    predictions: dict = {}
    for r in rows:
        predictions.setdefault((r["predictor"], r["budget"], r["protocol"]), []).append(r)
    return runs, results.reset_index()[list(RESULT_COLUMNS + STD_COLUMNS)], predictions


def _metric(row: dict, column: str):
    value = row.get("top_5_regret" if column == "top5_regret" else column, float("nan"))
    return float(value) if column in ("violations", "max_violations") else value

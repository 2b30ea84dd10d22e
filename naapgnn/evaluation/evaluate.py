"""The comparison engine behind ``naapgnn evaluate``.

It answers one question: how many epochs must an architecture train before
its final accuracy can be predicted well enough, and how much training does
that save? Every predictor is run at every budget (epochs of training curve
it may read) under every protocol, scored with :mod:`naapgnn.evaluation.metrics`, and
the results are written as a table, a report and figures.

Predictors (keys of :data:`PREDICTORS`):

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
predictor is fitted once per seed (``--seeds N``: seeds 20220905, ...,
the paper's); ``repeated`` and ``kfold`` fit once per split with the first
seed (the splits provide the spread). Metrics are averaged over the runs.

Every run is cached as one small JSON file under ``OUT/cache`` (written
atomically, keyed by the data, the predictor's settings, the split and the
seed); a second invocation reuses finished runs and computes only the rest.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from naapgnn.errors import NaapgnnError
from naapgnn.runtime import torch_threads

RESULT_COLUMNS = ("predictor", "budget", "protocol", "mae", "violations", "monotonicity_score",
                  "kendall_tau", "spearman", "precision_at_5", "precision_at_10", "top5_regret")
METRICS = RESULT_COLUMNS[3:]
FULL_TRAINING_EPOCHS = 90
DEFAULT_BUDGETS = tuple(range(10))
DEFAULT_PROTOCOLS = ("official",)
SEED_BASE = 20220905
FIXED_SPLIT_PROTOCOLS = ("official", "extrapolate")
CACHE_VERSION = 1

__all__ = [
    "RESULT_COLUMNS", "PREDICTORS", "GROUPS", "Benchmark", "Predictor", "load_benchmark_for_evaluation",
    "select_predictors", "run_evaluation", "EvaluationResult", "good_enough_budget",
]


# --- data ------------------------------------------------------------------------------------


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
    """

    records: list
    table: Any
    y: np.ndarray
    is_test: np.ndarray
    name: str
    max_epochs: int
    zero_cost: dict = field(default_factory=dict)  # seed -> {score: array}
    zero_cost_source: str = ""
    zero_cost_seconds: dict = field(default_factory=dict)  # score -> seconds per architecture
    _fingerprint: str = field(default="", repr=False, init=False)

    def fingerprint(self) -> str:
        """A digest of ids, architectures, targets, test flags and accuracy curves (cache keys depend on it)."""
        if not self._fingerprint:
            self._fingerprint = self._digest()
        return self._fingerprint

    def _digest(self) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps([[r.id, r.arch.to_dict()] for r in self.records], sort_keys=True).encode())
        digest.update(np.ascontiguousarray(self.y, dtype=float).tobytes())
        digest.update(np.ascontiguousarray(self.is_test, dtype=bool).tobytes())
        for r in self.records:
            acc = r.curve.get("accuracy")
            if acc is not None:
                digest.update(np.ascontiguousarray(acc, dtype=float).tobytes())
        return digest.hexdigest()[:16]


def load_benchmark_for_evaluation(source=None) -> Benchmark:
    """Read NAAP-440 (folder or CSV; None: the default location) or a JSON Lines benchmark.

    Every record needs a target; the official protocol needs some records
    marked ``"split": "test"``.
    """
    from naapgnn.data.records import load_benchmark, records_from_naap440

    path = None if source is None else Path(source)
    if path is None or path.is_dir() or path.suffix.lower() == ".csv":
        from naapgnn.data.naap440 import load_naap440

        df = load_naap440(path)
        records = records_from_naap440(df)
        table, name = df, f"NAAP-440 ({len(df)} architectures, {int(df['IsTest'].sum())} in the official test split)"
    else:
        records = load_benchmark(path)
        table, name = records, f"{path.name} ({len(records)} architectures)"
    missing = [r.id for r in records if r.target is None]
    if missing:
        raise NaapgnnError(f"{source}: record {missing[0]!r} has no target (evaluation needs every final accuracy)")
    y = np.array([r.target for r in records], dtype=float)
    is_test = np.array([r.split == "test" for r in records], dtype=bool)
    max_epochs = min(r.num_epochs for r in records)
    return Benchmark(records, table, y, is_test, name, max_epochs)


# --- predictors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Predictor:
    """One row family of the comparison.

    Attributes
    ----------
    key : str
        Name in results.csv and on the command line.
    label : str
        Name in the report and the figures.
    kind : {"gnn", "baseline", "heuristic", "zero_cost"}
    run : callable (bench, budget, train_idx, test_idx, seed) -> (pred, mae_pred or None)
        Fit on ``train_idx`` and predict ``test_idx``; ``pred`` is ranked,
        ``mae_pred`` (when given) is used for the MAE instead.
    min_budget, max_budget : int
        Budgets it applies to.
    seeded : bool
        Whether the seed can change its result (unseeded ones run once).
    config : dict
        Settings recorded in the cache key.
    """

    key: str
    label: str
    kind: str
    run: Callable
    min_budget: int = 0
    max_budget: int = FULL_TRAINING_EPOCHS
    seeded: bool = True
    config: dict = field(default_factory=dict)

    def applies(self, budget: int) -> bool:
        return self.min_budget <= budget <= self.max_budget

    @property
    def uses_zero_cost(self) -> bool:
        return self.kind == "zero_cost" or bool(self.config.get("zero_cost"))


_CACHE: dict = {}  # per-process memo of features and heuristic predictions


def _memo(key, make):
    if key not in _CACHE:
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[key] = make()
    return _CACHE[key]


def _subset(records, idx):
    return [records[i] for i in idx]


def _gnn_runner(params: dict, zero_cost: bool):
    def run(bench, budget, train, test, seed):
        from naapgnn.models.gnn import GNNPredictor
        from naapgnn.models.zero_cost import with_scores

        records = bench.records
        if zero_cost:
            records = with_scores(records, _zero_cost_inputs(bench, seed))
        model = GNNPredictor(budget=budget, random_state=int(seed), **params)
        model.fit(_subset(records, train), bench.y[train])
        return model.predict(_subset(records, test)), None

    return run


def _baseline_runner(name: str):
    def run(bench, budget, train, test, seed):
        from baselines.runner import fit_predict, select_baselines

        baseline = select_baselines(name)[0]
        X = _memo((bench.fingerprint(), "features", name, budget), lambda: _baseline_features(baseline, bench, budget))
        return fit_predict(baseline, budget, X, bench.y, train, test, int(seed)), None

    return run


def _baseline_features(baseline, bench, budget):
    feats = baseline.features(bench.table, budget)
    return np.ascontiguousarray(feats.to_numpy(dtype=float)) if baseline.scale else feats


def _forest_zero_cost_run(bench, budget, train, test, seed):
    import pandas as pd

    from naapgnn.models.forest import PerLayerForest

    arch = _memo((bench.fingerprint(), "per_layer"), lambda: PerLayerForest().featurize(bench.table))
    scores = _zero_cost_inputs(bench, seed)
    X = pd.concat([arch.reset_index(drop=True), pd.DataFrame({f"zc_{k}": v for k, v in scores.items()})], axis=1)
    model = PerLayerForest(random_state=int(seed)).fit(X.iloc[train], bench.y[train])
    return model.predict(X.iloc[test]), None


def _heuristic_runner(params: dict):
    def run(bench, budget, train, test, seed):
        from naapgnn.models.heuristics import CurveHeuristic

        key = (bench.fingerprint(), "heuristic", tuple(sorted(params.items())), budget)
        pred = _memo(key, lambda: CurveHeuristic(budget=budget, **params).fit().predict(bench.table))
        return pred[test], None

    return run


def _zero_cost_runner(score: str):
    def run(bench, budget, train, test, seed):
        s = _zero_cost_inputs(bench, seed)[score]
        slope, intercept = np.polyfit(s[train], bench.y[train], 1)
        return s[test], slope * s[test] + intercept

    return run


def _zero_cost_inputs(bench, seed) -> dict[str, np.ndarray]:
    """Finite zero-cost inputs: NASWOT as is, log synflow; a singular NASWOT
    kernel (-inf) ranks just below the lowest finite score."""
    if seed not in bench.zero_cost:
        raise NaapgnnError(f"zero-cost scores for seed {seed} were not computed")
    out = {}
    for name, values in bench.zero_cost[seed].items():
        v = np.log(values) if name == "synflow" else np.asarray(values, dtype=float)
        finite = np.isfinite(v)
        if not finite.any():
            raise NaapgnnError(f"zero-cost score {name}: no finite value")
        out[name] = np.where(finite, v, v[finite].min() - 1.0)
    return out


def _heuristic_predictors() -> list[Predictor]:
    from naapgnn.models.heuristics import HEURISTICS, min_budget

    labels = {
        "last": "Last observed accuracy", "best": "Best accuracy so far",
        "power_law": "Power-law extrapolation", "exponential": "Exponential extrapolation",
        "power_law_cycle": "Power law on cycle ends", "exponential_cycle": "Exponential on cycle ends",
    }
    return [
        Predictor(f"curve_{name}", labels[name], "heuristic", _heuristic_runner(params),
                  min_budget=min_budget(params["method"], params.get("cycle")), seeded=False,
                  config={"heuristic": params})
        for name, params in HEURISTICS.items()
    ]


def _gnn_label(gnn_params: dict) -> str:
    """"GNN", naming the per-layer forest blend when the settings include one."""
    import inspect

    try:
        from naapgnn.models.gnn import GNNPredictor
    except ImportError:  # pragma: no cover - the GNN module is part of the package
        return "GNN"
    default = inspect.signature(GNNPredictor).parameters.get("blend_forest")
    blend = float(gnn_params.get("blend_forest", default.default if default is not None else 0.0))
    return f"GNN ({100 * (1 - blend):.0f}/{100 * blend:.0f} blend with per-layer forest)" if blend > 0 else "GNN"


def make_predictors(gnn_params: dict | None = None) -> dict[str, Predictor]:
    """Every named predictor, with the GNN's settings (``GNNPredictor`` keyword arguments)."""
    gnn_params = dict(gnn_params or {})
    gnn = _gnn_label(gnn_params)
    preds = [
        Predictor("gnn", gnn, "gnn", _gnn_runner(gnn_params, False), config={"gnn": gnn_params}),
        Predictor("gnn+zero_cost", f"{gnn} + NASWOT/synflow inputs", "gnn", _gnn_runner(gnn_params, True),
                  max_budget=0, config={"gnn": gnn_params, "zero_cost": True}),
        Predictor("paper_gb100", "Gradient Boosting (N=100), paper features", "baseline",
                  _baseline_runner("Gradient Boosting (N=100)"), config={"baseline": "Gradient Boosting (N=100)"}),
        Predictor("paper_rf200", "Random Forest (N=200), paper features", "baseline",
                  _baseline_runner("Random Forest (N=200)"), config={"baseline": "Random Forest (N=200)"}),
        Predictor("forest", "Per-layer random forest", "baseline", _baseline_runner("Per-layer Random Forest"),
                  max_budget=0, config={"baseline": "Per-layer Random Forest"}),
        Predictor("forest+cycle", "Per-layer forest + cycle curve features", "baseline",
                  _baseline_runner("Per-layer Random Forest + cycle"), min_budget=1,
                  config={"baseline": "Per-layer Random Forest + cycle"}),
        Predictor("forest+zero_cost", "Per-layer forest + NASWOT/synflow inputs", "baseline",
                  _forest_zero_cost_run, max_budget=0, config={"forest": "per_layer", "zero_cost": True}),
        *_heuristic_predictors(),
        Predictor("naswot", "NASWOT score (zero-cost)", "zero_cost", _zero_cost_runner("naswot"),
                  max_budget=0, config={"score": "naswot"}),
        Predictor("synflow", "SynFlow score (zero-cost)", "zero_cost", _zero_cost_runner("synflow"),
                  max_budget=0, config={"score": "synflow"}),
    ]
    return {p.key: p for p in preds}


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


def select_predictors(spec: str = "default", gnn_params: dict | None = None) -> list[Predictor]:
    """Predictors from a comma-separated list of keys, groups (:data:`GROUPS`)
    and ``paper:<model name>`` (any of the paper's 24 regressors)."""
    available = make_predictors(gnn_params)
    chosen: list[Predictor] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if item.startswith("paper:"):
            found = [_paper_predictor(item[len("paper:"):])]
        elif item in GROUPS:
            found = [available[k] for k in GROUPS[item]]
        elif item in available:
            found = [available[item]]
        else:
            raise NaapgnnError(f"--predictors: unknown predictor {item!r} (groups: {', '.join(GROUPS)}; "
                               f"predictors: {', '.join(PREDICTORS)}; or paper:<model name>)")
        chosen += [p for p in found if p.key not in {c.key for c in chosen}]
    if not chosen:
        raise NaapgnnError("--predictors: no predictor selected")
    return chosen


def _paper_predictor(name: str) -> Predictor:
    from baselines.paper import PAPER_MODELS

    if name not in PAPER_MODELS:
        raise NaapgnnError(f"--predictors: paper:{name!r} is not one of the paper's models ({', '.join(PAPER_MODELS)})")
    return Predictor(f"paper:{name}", f"{name}, paper features", "baseline", _baseline_runner(name),
                     config={"baseline": name})


# --- runs and the cache ------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    predictor: str
    budget: int
    protocol: str
    split: int
    seed: int


def _runs(predictor: Predictor, budget: int, protocol: str, n_splits: int, seeds: Sequence[int]) -> list[Run]:
    if protocol in FIXED_SPLIT_PROTOCOLS:
        use = seeds if predictor.seeded else seeds[:1]
        return [Run(predictor.key, budget, protocol, 0, int(s)) for s in use]
    return [Run(predictor.key, budget, protocol, i, int(seeds[0])) for i in range(n_splits)]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _cache_path(out: Path, run: Run) -> Path:
    return (out / "cache" / run.protocol / _slug(run.predictor) / f"b{run.budget}"
            / f"split{run.split}_seed{run.seed}.json")


def _run_key(fingerprint: str, predictor: Predictor, run: Run, test_idx: np.ndarray, extra: str) -> str:
    from naapgnn import __version__

    payload = json.dumps([CACHE_VERSION, __version__, fingerprint, predictor.key, predictor.config,
                          run.budget, run.protocol, run.split, run.seed, extra], sort_keys=True, default=str)
    digest = hashlib.sha256(payload.encode())
    digest.update(np.ascontiguousarray(test_idx, dtype=np.int64).tobytes())
    return digest.hexdigest()[:20]


def _read_cached(path: Path, key: str) -> dict | None:
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return obj if obj.get("key") == key else None


def _score(y_true, pred, mae_pred) -> dict[str, float]:
    from naapgnn.evaluation.metrics import all_metrics, mae

    m = all_metrics(y_true, pred, ks=(5, 10))
    out = {
        "mae": mae(y_true, mae_pred) if mae_pred is not None else m["mae"],
        "violations": float(m["violations"]),
        "max_violations": float(m["max_violations"]),
        "monotonicity_score": m["monotonicity_score"],
        "kendall_tau": m["kendall_tau"],
        "spearman": m["spearman"],
        "precision_at_5": m.get("precision_at_5", math.nan),
        "precision_at_10": m.get("precision_at_10", math.nan),
        "top5_regret": m.get("top_5_regret", math.nan),
    }
    return out


def _execute(job: dict) -> list[dict]:
    """Run one (predictor, budget, protocol) group of runs in this process; write each run's cache file."""
    from naapgnn.io import write_text_atomic

    import warnings

    # Workers do not inherit the CLI's filters; torch_geometric's notice is not actionable.
    warnings.filterwarnings("ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning)
    bench, predictor, out = job["bench"], job["predictor"], Path(job["out"])
    if job.get("threads"):
        import torch

        torch.set_num_threads(int(job["threads"]))
    rows = []
    for run, key, (train, test) in job["runs"]:
        start = time.perf_counter()
        pred, mae_pred = predictor.run(bench, run.budget, train, test, run.seed)
        seconds = time.perf_counter() - start
        pred = np.asarray(pred, dtype=float).reshape(-1)
        if len(pred) != len(test):
            raise NaapgnnError(f"{predictor.key}: {len(pred)} predictions for {len(test)} test architectures")
        if not np.all(np.isfinite(pred)):
            raise NaapgnnError(f"{predictor.key} at budget {run.budget}: a prediction is not finite")
        row = {
            "key": key, "predictor": run.predictor, "budget": run.budget, "protocol": run.protocol,
            "split": run.split, "seed": run.seed, "seconds": seconds,
            **_score(bench.y[test], pred, mae_pred),
            "test_ids": [bench.records[i].id for i in test],
            "pred": pred.tolist(),
            "mae_pred": None if mae_pred is None else np.asarray(mae_pred, dtype=float).tolist(),
        }
        write_text_atomic(_cache_path(out, run), json.dumps(row))
        rows.append(row)
    return rows


# --- zero-cost scores ------------------------------------------------------------------------------


def compute_zero_cost(bench: Benchmark, seeds: Sequence[int], out: Path, cifar_root=None, batch_size: int = 64,
                      device: str = "cpu", progress: bool = True) -> None:
    """NASWOT and synflow of every architecture for each seed, cached in ``out/cache/zero_cost``.

    Fills ``bench.zero_cost`` and ``bench.zero_cost_source``.
    """
    from naapgnn.io import write_text_atomic
    from naapgnn.models.zero_cost import load_images, score_architectures

    for seed in seeds:
        images = load_images(cifar_root, n=batch_size, seed=int(seed)) if cifar_root else None
        source = images.source if images else (f"FALLBACK: Gaussian noise N(0, 1), {batch_size} images per input "
                                               f"shape (seed = the run's seed); no CIFAR-10 folder given")
        key = hashlib.sha256(json.dumps([CACHE_VERSION, bench.fingerprint(), int(seed), source,
                                         batch_size]).encode()).hexdigest()[:20]
        path = out / "cache" / "zero_cost" / f"seed{seed}.json"
        cached = _read_cached(path, key)
        if cached is None:
            scores, seconds = {}, {}
            for score in ("naswot", "synflow"):
                values, times = score_architectures(bench.records, score, images=images, batch_size=batch_size,
                                                    seed=int(seed), device=device, return_times=True,
                                                    progress=progress)
                scores[score], seconds[score] = values.tolist(), float(times.mean())
            cached = {"key": key, "source": source, "scores": scores, "seconds_per_arch": seconds}
            write_text_atomic(path, json.dumps(cached))
        bench.zero_cost[int(seed)] = {k: np.asarray(v, dtype=float) for k, v in cached["scores"].items()}
        bench.zero_cost_seconds = cached["seconds_per_arch"]
        bench.zero_cost_source = (images.source.replace(f"(seed {seed})", "(seed = the run's seed)")
                                  if images else source)


# --- the whole evaluation ---------------------------------------------------------------------------


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
        ``(predictor, budget, protocol) -> list of run dicts`` with test ids and predictions.
    computed, reused : int
        Runs computed now and taken from the cache.
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
    cifar_root=None,
    zc_batch_size: int = 64,
    device: str = "cpu",
    jobs: int = 1,
    threads: int | None = 1,
    progress: bool = True,
) -> EvaluationResult:
    """Run (or resume) every predictor at every budget under every protocol.

    Parameters
    ----------
    bench : Benchmark
    out : path
        Output folder; runs are cached in ``out/cache``.
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

    Returns
    -------
    EvaluationResult
    """
    started = time.perf_counter()
    out = Path(out)
    with torch_threads(threads):
        return _run_evaluation(bench, out, predictors, budgets, protocols, n_seeds, n_repeats, n_folds, split_seed,
                               cifar_root, zc_batch_size, device, jobs, threads, progress, started)


def _run_evaluation(bench, out, predictors, budgets, protocols, n_seeds, n_repeats, n_folds, split_seed,
                    cifar_root, zc_batch_size, device, jobs, threads, progress, started) -> EvaluationResult:
    import pandas as pd
    from tqdm.auto import tqdm

    from naapgnn.evaluation.protocols import PROTOCOLS, splits

    predictors = list(predictors) if predictors is not None else select_predictors("default")
    budgets = [int(b) for b in budgets]
    for b in budgets:
        if not 0 <= b <= FULL_TRAINING_EPOCHS:
            raise NaapgnnError(f"--budgets: {b} is not between 0 and {FULL_TRAINING_EPOCHS}")
        if b > bench.max_epochs:
            short = min(bench.records, key=lambda r: r.num_epochs)
            raise NaapgnnError(f"--budgets: budget {b} needs {b} epochs of curve, record {short.id!r} has {short.num_epochs}")
    for p in protocols:
        if p not in PROTOCOLS:
            raise NaapgnnError(f"--protocol: unknown protocol {p!r} (expected {', '.join(PROTOCOLS)})")
    if n_seeds < 1:
        raise NaapgnnError(f"--seeds must be >= 1, got {n_seeds}")
    seeds = [SEED_BASE + i for i in range(n_seeds)]

    if 0 in budgets and any(p.uses_zero_cost for p in predictors):
        compute_zero_cost(bench, seeds, out, cifar_root, zc_batch_size, device, progress)
    fingerprint = bench.fingerprint()
    extra = bench.zero_cost_source + str(zc_batch_size)

    split_lists = {p: splits(p, bench.y, bench.is_test, seed=split_seed, n_repeats=n_repeats, n_folds=n_folds)
                   for p in protocols}
    jobs_todo, cached_rows, wanted = [], [], []
    for protocol in protocols:
        split_list = split_lists[protocol]
        for predictor in predictors:
            for budget in budgets:
                if not predictor.applies(budget):
                    continue
                todo = []
                for run in _runs(predictor, budget, protocol, len(split_list), seeds):
                    train, test = split_list[run.split]
                    key = _run_key(fingerprint, predictor, run, test, extra if predictor.uses_zero_cost else "")
                    wanted.append(run)
                    row = _read_cached(_cache_path(out, run), key)
                    if row is None:
                        todo.append((run, key, (train, test)))
                    else:
                        cached_rows.append(row)
                # Slow predictors go one run per job (finer progress, balanced workers).
                chunks = [[t] for t in todo] if predictor.kind == "gnn" else ([todo] if todo else [])
                jobs_todo += [{"bench": bench, "predictor": predictor, "out": str(out), "runs": chunk,
                               "threads": threads} for chunk in chunks]

    computed_rows: list[dict] = []
    total = sum(len(j["runs"]) for j in jobs_todo)
    # Slow families first so the parallel workers finish together.
    order = {"gnn": 0, "baseline": 1, "zero_cost": 2, "heuristic": 3}
    jobs_todo.sort(key=lambda j: order.get(j["predictor"].kind, 9))
    with tqdm(total=total, desc="evaluate", unit="run", disable=not progress or total == 0) as bar:
        if jobs > 1 and len(jobs_todo) > 1:
            from joblib import Parallel, delayed

            for rows in Parallel(n_jobs=jobs, return_as="generator_unordered")(delayed(_execute)(j) for j in jobs_todo):
                computed_rows += rows
                bar.update(len(rows))
        else:
            for job in jobs_todo:
                bar.set_postfix_str(f"{job['predictor'].key} b{job['runs'][0][0].budget} {job['runs'][0][0].protocol}")
                rows = _execute(job)
                computed_rows += rows
                bar.update(len(rows))

    by_run = {(r["predictor"], r["budget"], r["protocol"], r["split"], r["seed"]): r
              for r in cached_rows + computed_rows}
    rows = [by_run[(w.predictor, w.budget, w.protocol, w.split, w.seed)] for w in wanted]
    runs = pd.DataFrame([{k: v for k, v in r.items() if k not in ("key", "test_ids", "pred", "mae_pred")}
                         for r in rows])
    results = (runs.groupby(["predictor", "budget", "protocol"], sort=False)[list(METRICS)].mean().reset_index())
    results = results[list(RESULT_COLUMNS)]
    predictions: dict = {}
    for r in rows:
        predictions.setdefault((r["predictor"], r["budget"], r["protocol"]), []).append(r)
    return EvaluationResult(results, runs, predictions, len(computed_rows), len(cached_rows),
                            time.perf_counter() - started, bench, predictors, budgets, list(protocols), seeds)


# --- the answer ------------------------------------------------------------------------------------------


def best_per_budget(results, protocol: str):
    """For each budget, the predictor with the highest mean Kendall tau (fewer violations break ties)."""
    sub = results[results["protocol"] == protocol].copy()
    sub = sub.sort_values(["budget", "kendall_tau", "violations"], ascending=[True, False, True], na_position="last")
    return sub.groupby("budget", sort=True).head(1).reset_index(drop=True)


def good_enough_budget(results, protocol: str, tolerance: float = 0.01) -> dict:
    """The smallest budget whose best predictor is within ``tolerance`` Kendall tau of the best at any budget.

    Returns
    -------
    dict
        ``budget``, ``predictor``, ``kendall_tau`` (of that choice), ``best_budget``,
        ``best_predictor``, ``best_kendall_tau`` (the reference), ``fraction``
        (budget / 90) and ``speedup`` (90 / budget; inf at budget 0).
    """
    best = best_per_budget(results, protocol)
    if best.empty:
        raise NaapgnnError(f"no results for protocol {protocol!r}")
    ref = best.loc[best["kendall_tau"].idxmax()]
    ok = best[best["kendall_tau"] >= ref["kendall_tau"] - tolerance].iloc[0]
    budget = int(ok["budget"])
    return {
        "budget": budget, "predictor": ok["predictor"], "kendall_tau": float(ok["kendall_tau"]),
        "violations": float(ok["violations"]), "mae": float(ok["mae"]),
        "best_budget": int(ref["budget"]), "best_predictor": ref["predictor"],
        "best_kendall_tau": float(ref["kendall_tau"]),
        "fraction": budget / FULL_TRAINING_EPOCHS,
        "speedup": math.inf if budget == 0 else FULL_TRAINING_EPOCHS / budget,
        "tolerance": tolerance,
    }


# --- outputs: results.csv, runs.csv, figures, report.md ------------------------------------------------

HEADLINE_ORDER = ("repeated", "kfold", "official", "extrapolate")


def headline_protocol(protocols: Sequence[str]) -> str:
    """The protocol the report's answer is read from: the sturdiest one that was run."""
    return next(p for p in HEADLINE_ORDER if p in protocols)


def _median_run(runs: list[dict]) -> dict:
    # The paper's rule: sort the runs by violations (stable) and take the middle one.
    order = sorted(range(len(runs)), key=lambda i: runs[i]["violations"])
    return runs[order[len(order) // 2]]


def _representative(runs: list[dict]) -> tuple[list, np.ndarray, np.ndarray | None]:
    """Test ids and predictions of one representative run (the median-violations run)."""
    run = _median_run(runs)
    return run["test_ids"], np.asarray(run["pred"]), (None if run["mae_pred"] is None else np.asarray(run["mae_pred"]))


def write_outputs(result: EvaluationResult, out, tolerance: float = 0.01) -> dict[str, Path]:
    """Write results.csv, runs.csv, the PNG figures and report.md into ``out``.

    Returns
    -------
    dict
        Name -> path of everything written.
    """
    from naapgnn.io import write_text_atomic
    from naapgnn.evaluation import plots

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["results"] = out / "results.csv"
    write_text_atomic(paths["results"], result.results.to_csv(index=False, float_format="%.6g"))
    paths["runs"] = out / "runs.csv"
    write_text_atomic(paths["runs"], result.runs.to_csv(index=False, float_format="%.6g"))

    labels = {p.key: p.label for p in result.predictors}
    kinds = {p.key: p.kind for p in result.predictors}
    for protocol in result.protocols:
        sub = result.runs[result.runs["protocol"] == protocol]
        paths[f"curves_{protocol}"] = plots.plot_budget_curves(
            result.results, protocol, labels, kinds, out / f"curves_{protocol}.png",
            max_violations=float(sub["max_violations"].max()) if len(sub) else None)

    figure_protocol = "official" if "official" in result.protocols else result.protocols[0]
    panels = _example_panels(result, figure_protocol, labels)
    if panels:
        paths["pred_vs_true"] = plots.plot_pred_vs_true(panels, out / "pred_vs_true.png")
        paths["rank_matrix"] = plots.plot_rank_matrix(panels, out / "rank_matrix.png")
    paths["report"] = out / "report.md"
    write_text_atomic(paths["report"], report_markdown(result, paths, tolerance, figure_protocol, labels))
    return paths


def _example_budgets(budgets: Sequence[int]) -> list[int]:
    chosen = [b for b in (0, 3) if b in budgets]
    if len(chosen) < 2:
        chosen = sorted({min(budgets), max(budgets)})
    return chosen


def _example_panels(result: EvaluationResult, protocol: str, labels) -> list[dict]:
    from naapgnn.evaluation.metrics import kendall_tau, mae, violations

    best = best_per_budget(result.results, protocol)
    ids = {r.id: i for i, r in enumerate(result.bench.records)}
    panels = []
    for budget in _example_budgets(result.budgets):
        row = best[best["budget"] == budget]
        if row.empty:
            continue
        key = row.iloc[0]["predictor"]
        runs = result.predictions[(key, budget, protocol)]
        test_ids, pred, mae_pred = _representative(runs)
        y = result.bench.y[[ids[i] for i in test_ids]]
        shown = mae_pred if mae_pred is not None else pred
        note = (f"Kendall tau {kendall_tau(y, pred):.3f}\nviolations {violations(y, pred)}"
                f" of {len(y) * (len(y) - 1) // 2}\nMAE {mae(y, shown):.4f}")
        if len(runs) > 1:
            note += f"\n(median-violations run of {len(runs)})"
        if mae_pred is not None:
            note += "\n(score mapped to accuracy by\na line fitted on the training split)"
        when = "no training (0 epochs)" if budget == 0 else f"after {budget} epoch{'s' * (budget > 1)}"
        panels.append({"title": f"{labels.get(key, key)}\n{when}, {protocol} test split",
                       "y_true": y, "y_pred": shown, "note": note, "predictor": key, "budget": budget})
    return panels


def _fmt(v, digits=3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _speedup(budget: int) -> str:
    return "no training" if budget == 0 else f"{FULL_TRAINING_EPOCHS / budget:.0f}x"


def report_markdown(result: EvaluationResult, paths: Mapping, tolerance: float, figure_protocol: str,
                    labels: Mapping[str, str]) -> str:
    """The human-readable report (see :func:`write_outputs`)."""
    res, runs = result.results, result.runs
    headline = headline_protocol(result.protocols)
    answer = good_enough_budget(res, headline, tolerance)
    sub = runs[runs["protocol"] == headline]
    n_test = int(sub["max_violations"].max())
    pairs = n_test
    tau_pairs = tolerance * pairs / 2
    b = answer["budget"]
    lab = lambda k: labels.get(k, k)  # noqa: E731
    lines = ["# How many epochs must an architecture train before its final accuracy can be predicted?", ""]
    if answer["best_budget"] == b:
        reference = "the best result at any evaluated budget"
    else:
        reference = (f"within {tolerance:g} of the best result at any evaluated budget "
                     f"({lab(answer['best_predictor'])} after {answer['best_budget']} "
                     f"epoch{'s' * (answer['best_budget'] != 1)}: "
                     f"{answer['best_kendall_tau']:.3f})")
    if b == 0:
        saving = ("**No training at all: 0 epochs.** "
                  f"{lab(answer['predictor'])} predicts from the architecture alone with Kendall tau "
                  f"{answer['kendall_tau']:.3f} ({answer['violations']:.1f} of {n_test} test pairs mis-ordered), "
                  f"{reference}. That saves the whole {FULL_TRAINING_EPOCHS}-epoch "
                  f"training of every candidate; the only cost is fitting the predictor once.")
    else:
        saving = (f"**Train {b} epoch{'s' * (b > 1)} of {FULL_TRAINING_EPOCHS}.** With them "
                  f"{lab(answer['predictor'])} reaches Kendall tau {answer['kendall_tau']:.3f} "
                  f"({answer['violations']:.1f} of {n_test} test pairs mis-ordered), {reference}. That spends "
                  f"{100 * answer['fraction']:.1f}% of the full training per architecture: a "
                  f"{answer['speedup']:.0f}x speed-up.")
    lines += [saving, ""]
    zero = best_per_budget(res, headline)
    zero_row = zero[zero["budget"] == min(result.budgets)].iloc[0]
    lines += [f"\"Good enough\" means: within {tolerance:g} Kendall tau (about {tau_pairs:.0f} of the "
              f"{pairs} pairs of test architectures) of the best predictor at any evaluated budget, on the "
              f"`{headline}` protocol. Budgets evaluated: {', '.join(map(str, result.budgets))} epochs; "
              f"with {min(result.budgets)} epochs the best is {lab(zero_row['predictor'])} "
              f"(Kendall tau {zero_row['kendall_tau']:.3f}, {zero_row['violations']:.1f} violations).", ""]

    lines += ["## Setup", "",
              f"- Data: {result.bench.name}.",
              f"- Protocols: {', '.join(result.protocols)}. Fixed-split protocols (official, extrapolate) fit "
              f"every seeded predictor with {len(result.seeds)} seed(s) ({', '.join(map(str, result.seeds))}); "
              "repeated and kfold fit once per split. Every number is a mean over those runs.",
              f"- Zero-cost images (NASWOT): {result.bench.zero_cost_source or 'not used'}.",
              f"- This invocation: {result.computed} runs computed, {result.reused} reused from the cache, "
              f"{result.wall_seconds:.0f} s wall time (compute recorded over all runs: "
              f"{runs['seconds'].sum():.0f} s).", ""]

    lines += [f"## Best predictor at each budget (`{headline}` protocol)", ""]
    rows = []
    for _, r in best_per_budget(res, headline).iterrows():
        budget = int(r["budget"])
        rows.append([budget, f"{100 * budget / FULL_TRAINING_EPOCHS:.1f}%", _speedup(budget), lab(r["predictor"]),
                     _fmt(r["kendall_tau"]), f"{r['violations']:.1f} / {n_test}", _fmt(r["mae"], 4),
                     _fmt(r["precision_at_5"], 2), _fmt(r["precision_at_10"], 2), _fmt(r["top5_regret"], 4)])
    lines.append(_table(["epochs", "training spent", "speed-up per architecture", "best predictor", "Kendall tau",
                         "violations", "MAE", "precision@5", "precision@10", "top-5 regret"], rows))

    for protocol in result.protocols:
        lines += [f"## Kendall tau / violations by predictor (`{protocol}` protocol)", ""]
        psub = res[res["protocol"] == protocol]
        header = ["predictor"] + [f"{b} ep" for b in result.budgets]
        rows = []
        for key in dict.fromkeys(psub["predictor"]):
            cells = [lab(key)]
            for budget in result.budgets:
                r = psub[(psub["predictor"] == key) & (psub["budget"] == budget)]
                cells.append("" if r.empty else f"{r.iloc[0]['kendall_tau']:.3f} / {r.iloc[0]['violations']:.0f}")
            rows.append(cells)
        lines.append(_table(header, rows))
        if f"curves_{protocol}" in paths:
            lines += [f"![Violations and Kendall tau versus epochs trained ({protocol})]"
                      f"({Path(paths[f'curves_{protocol}']).name})", ""]

    if "pred_vs_true" in paths:
        lines += [f"## The best predictor, predicted versus true (`{figure_protocol}` test split, median-violations run)",
                  "", f"![Predicted versus true accuracy]({Path(paths['pred_vs_true']).name})", "",
                  "Rank agreement in the style of the NAAP-440 paper: each test architecture is a cell at "
                  "(true rank, predicted rank); a perfect ranking fills the diagonal.", "",
                  f"![Rank agreement matrix]({Path(paths['rank_matrix']).name})", ""]

    zc = [p for p in result.predictors if p.kind == "zero_cost"]
    if zc and result.bench.zero_cost:
        lines += ["## Zero-training scores", "",
                  "NASWOT (Mellor et al. 2021) and SynFlow (Tanaka et al. 2020) score the untrained network. "
                  "They only rank: the rank metrics use the raw score (log for SynFlow); the MAE is that of a "
                  "straight line from score to accuracy fitted on the training split.", ""]
        rows = []
        for p in zc:
            r = res[(res["predictor"] == p.key) & (res["protocol"] == headline)]
            if r.empty:
                continue
            secs = result.bench.zero_cost_seconds.get(p.config["score"], math.nan)
            rows.append([p.label, _fmt(r.iloc[0]["kendall_tau"]), _fmt(r.iloc[0]["spearman"]),
                         f"{r.iloc[0]['violations']:.1f}", _fmt(r.iloc[0]["mae"], 4), f"{1000 * secs:.0f} ms"])
        lines.append(_table(["score", "Kendall tau", "Spearman", "violations", "MAE (line fit)",
                             "time per architecture"], rows))

    fit = runs.groupby(["predictor"], sort=False)["seconds"].mean()
    lines += ["## Cost of the predictors", "",
              "Mean seconds per run (fit on the training split and predict the test split) on this machine:", ""]
    lines.append(_table(["predictor", "seconds per run"], [[lab(k), f"{v:.2f}"] for k, v in fit.items()]))
    lines += ["## Definitions", "",
              "- **Budget**: epochs of the training curve a predictor reads (0 = the architecture alone). "
              f"Training spent = budget / {FULL_TRAINING_EPOCHS}; speed-up per architecture = "
              f"{FULL_TRAINING_EPOCHS} / budget.",
              "- **Violations**: pairs of test architectures whose predicted order contradicts the true order "
              "(the paper's count); monotonicity score = 1 - violations / pairs.",
              "- **Kendall tau / Spearman**: rank correlation of predictions with the true final accuracy.",
              "- **precision@k**: share of the true top-k found in the predicted top-k. **top-5 regret**: true "
              "accuracy of the best architecture minus the best true accuracy among the predicted top 5.",
              "- **Curve heuristics** learn nothing: last observed accuracy, best so far, and power-law / "
              "exponential fits of the curve extrapolated to epoch 90 (the *cycle ends* variants fit only "
              "epochs 3, 6, 9, ..., the ends of the cyclic learning rate).",
              "- results.csv holds the means; runs.csv every run (split, seed) with its fit time.", ""]
    return "\n".join(lines)

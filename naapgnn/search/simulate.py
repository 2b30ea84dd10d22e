"""Architecture search replayed on NAAP-440.

Every NAAP-440 architecture was trained for 90 epochs and its whole curve is
known, so a search can be simulated exactly and many times: "training" an
architecture means reading its final accuracy (``MaxAccuracy``) and costs one
full training (90 epochs); reading the first ``k`` epochs costs ``k`` epochs.

Strategies (each returns the order in which architectures are trained):

* :func:`random_search` - a random order.
* :func:`regularized_evolution` - aging evolution (Real et al. 2019) whose
  mutations change one block's kernel, width, stride or residual, or add or
  remove the last block, and keep only schemes that exist in the space.
* :func:`predictor_guided` - Wen et al. 2020: train a predictor on ``N``
  random architectures, then train the others in order of predicted accuracy.

:func:`early_stop_run` replays Baker et al. 2018: candidates arrive one at a
time; after ``k`` epochs a predictor with ensemble uncertainty stops those that
cannot beat the best so far. :func:`rank_space` predicts every scheme of a
larger space with zero training. :func:`compare_strategies` and
:func:`early_stop_study` repeat the simulations over many seeds;
:mod:`naapgnn.search.report` turns them into tables and plots.

Predictors are any estimator with ``fit(X, y)`` and
``predict(X, return_std=True) -> (mean, std)`` taking lists of
:class:`naapgnn.data.records.Record`; one with a ``featurize`` method is fed its
features, computed once per study. :class:`ForestPredictor` is the fast one.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from collections import deque
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from naapgnn.errors import NaapgnnError
from naapgnn.io import read_progress_jsonl
from naapgnn.arch.space import NAAP440_RULES, SpaceRules, iter_search_space

FULL_EPOCHS = 90
MUTATION_KINDS = ("kernel_size", "width", "stride", "residual", "add_block", "remove_block")
RANK_TARGETS = (1, 5, 22)  # the best; top 1% of 440 (top 5); top 5% (top 22)
PREDICTORS = ("forest", "gnn")
STRATEGIES = ("random", "evolution", "predictor")

__all__ = [
    "FULL_EPOCHS", "GNN_FAST", "SearchProblem", "load_problem", "ForestPredictor", "make_predictor",
    "scheme_key", "mutations", "neighbour_table",
    "random_search", "regularized_evolution", "predictor_guided",
    "best_so_far", "trainings_to_rank", "ranks_of",
    "compare_strategies", "CompareResult",
    "EarlyStopRun", "early_stop_run", "early_stop_study",
    "rank_space", "SpaceRanking",
]


# --- the problem ------------------------------------------------------------------


def ranks_of(accuracy: np.ndarray) -> np.ndarray:
    """Rank of each accuracy: 1 + the number of strictly better ones (ties share a rank)."""
    accuracy = np.asarray(accuracy, dtype=float)
    ordered = np.sort(accuracy)
    return len(accuracy) - np.searchsorted(ordered, accuracy, side="right") + 1


@dataclass(eq=False)
class SearchProblem:
    """Architectures with known final accuracy and training curve.

    Attributes
    ----------
    records : list of Record
        One per architecture, each with a ``target`` and (for early stopping)
        an accuracy curve.
    accuracy : numpy.ndarray
        Final accuracy of each record (its ``target``).
    schemes : list
        The NAAP-440 scheme of each record (None where the architecture is a
        layer graph; evolution then cannot run).
    ranks : numpy.ndarray
        :func:`ranks_of` ``accuracy``.
    """

    records: list
    accuracy: np.ndarray = field(init=False)
    schemes: list = field(init=False)
    ranks: np.ndarray = field(init=False)

    def __post_init__(self):
        self.records = list(self.records)
        if len(self.records) < 2:
            raise NaapgnnError(f"search needs at least 2 architectures with a target, got {len(self.records)}")
        missing = [r.id for r in self.records if r.target is None]
        if missing:
            raise NaapgnnError(f"record {missing[0]!r}: no target (final accuracy); search needs every target")
        self.accuracy = np.array([r.target for r in self.records], dtype=float)
        self.schemes = [r.arch.scheme for r in self.records]
        self.ranks = ranks_of(self.accuracy)

    @property
    def n(self) -> int:
        return len(self.records)

    @property
    def best(self) -> float:
        return float(self.accuracy.max())

    def accuracy_curve(self, budget: int) -> np.ndarray:
        """Accuracy of epochs ``1..budget`` as an ``(n, budget)`` array."""
        from naapgnn.features.tabular import curve_matrix

        return curve_matrix(self.records, budget, "Accuracy")


def load_problem(source: str | Path | None = None) -> SearchProblem:
    """The search problem of a NAAP-440 folder (default location if None) or a benchmark file."""
    from naapgnn.data.records import load_benchmark, records_from_naap440

    if source is None:
        from naapgnn.data.naap440 import load_naap440

        return SearchProblem(records_from_naap440(load_naap440()))
    return SearchProblem(load_benchmark(source))


# --- predictors ---------------------------------------------------------------------


class ForestPredictor:
    """Random forest on per-layer features (plus cycle-aligned curve features
    when ``budget > 0``); the spread of its trees is the uncertainty.

    With ``budget > 0`` the trees predict the gain of the final accuracy over
    the best accuracy of the first ``budget`` epochs, which is added back: a
    forest cannot predict beyond its training targets, and early stopping must
    recognise candidates better than every one trained so far.

    Parameters
    ----------
    budget : int
        Epochs of training curve read (0 = architecture only).
    n_estimators, max_features, min_samples_leaf
        Passed to :class:`sklearn.ensemble.RandomForestRegressor`.
    max_blocks : int, optional
        Block slots of the per-layer features; pass the largest depth that will
        be predicted (default: the deepest architecture seen in ``featurize``/``fit``).
    random_state : int, optional
    """

    def __init__(self, budget: int = 0, n_estimators: int = 64, max_features: float = 0.33,
                 min_samples_leaf: int = 2, max_blocks: int | None = None, random_state: int | None = None):
        self.budget = budget
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.max_blocks = max_blocks
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict:
        return {k: getattr(self, k) for k in
                ("budget", "n_estimators", "max_features", "min_samples_leaf", "max_blocks", "random_state")}

    def set_params(self, **params) -> "ForestPredictor":
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def featurize(self, X) -> np.ndarray:
        """Feature matrix of records or architectures; a float array is returned as is."""
        import pandas as pd

        from naapgnn.features.tabular import cycle_features, per_layer_features

        if isinstance(X, np.ndarray):
            return X
        table = per_layer_features(X, max_blocks=getattr(self, "max_blocks_", self.max_blocks))
        if self.budget > 0:
            table = pd.concat([table, cycle_features(X, self.budget).set_axis(table.index)], axis=1)
        return table.to_numpy(dtype=float)

    def fit(self, X, y) -> "ForestPredictor":
        """Fit on records (or :meth:`featurize` output) and final accuracies."""
        from sklearn.ensemble import RandomForestRegressor

        features = self.featurize(X)
        self.n_features_in_ = features.shape[1]
        self.forest_ = RandomForestRegressor(
            n_estimators=self.n_estimators, max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf, random_state=self.random_state, n_jobs=1,
        ).fit(features, np.asarray(y, dtype=float) - self._anchor(features))
        return self

    def _anchor(self, features: np.ndarray) -> np.ndarray | float:
        from naapgnn.features.tabular import cycle_feature_names

        if self.budget == 0:
            return 0.0
        names = cycle_feature_names(self.budget)
        return features[:, features.shape[1] - len(names) + names.index("acc_best")]

    def predict(self, X, return_std: bool = False):
        """Mean of the trees, and (``return_std``) their standard deviation."""
        features = self.featurize(X)
        if features.shape[1] != self.n_features_in_:
            raise NaapgnnError(
                f"ForestPredictor: {features.shape[1]} features, fitted on {self.n_features_in_} "
                "(pass the same max_blocks and budget)")
        per_tree = np.stack([tree.predict(features) for tree in self.forest_.estimators_])
        mean = per_tree.mean(axis=0) + self._anchor(features)
        return (mean, per_tree.std(axis=0)) if return_std else mean


GNN_FAST = {"n_ensemble": 3, "forest_trees": 100, "n_threads": 1, "progress": False}


def make_predictor(kind: str | Callable, budget: int, random_state: int, fast: bool = True, **kwargs):
    """A fresh, unfitted predictor.

    Parameters
    ----------
    kind : "forest", "gnn" or a callable ``(budget, random_state) -> estimator``
    budget : int
        Epochs of curve the predictor reads.
    random_state : int
    fast : bool
        For "gnn": the lighter setting used inside repeated simulations,
        :data:`GNN_FAST` (3 ensemble members, 100 trees in the blended forest, one
        torch thread: on a busy CPU, more threads made small fits ~50x slower).
    **kwargs
        Extra constructor arguments (override the fast setting).
    """
    if callable(kind):
        return kind(budget, random_state)
    if kind == "forest":
        return ForestPredictor(budget=budget, random_state=random_state, **kwargs)
    if kind == "gnn":
        try:
            from naapgnn.models.gnn import GNNPredictor
        except ImportError as exc:
            raise NaapgnnError(f"the GNN predictor is not available in this build ({exc})") from None
        params = {**(GNN_FAST if fast else {}), **kwargs}
        return GNNPredictor(budget=budget, random_state=random_state, **params)
    raise NaapgnnError(f"unknown predictor {kind!r} (expected {' or '.join(PREDICTORS)})")


def _features(predictor, records: list):
    """What the predictor is fed: its features computed once, or the records."""
    return predictor.featurize(records) if hasattr(predictor, "featurize") else records


def _take(X, index: np.ndarray):
    if isinstance(X, np.ndarray):
        return X[index]
    if hasattr(X, "iloc"):
        return X.iloc[index]
    return [X[i] for i in index]


def _predict(model, X) -> tuple[np.ndarray, np.ndarray]:
    mean, std = model.predict(X, return_std=True)
    return np.asarray(mean, dtype=float).ravel(), np.asarray(std, dtype=float).ravel()


# --- mutations ----------------------------------------------------------------------


def scheme_key(scheme: Sequence[dict]) -> tuple:
    """A hashable form of a scheme."""
    return tuple((int(b["kernel_size"]), int(b["width"]), int(b["stride"]), bool(b["residual"])) for b in scheme)


def mutations(scheme: Sequence[dict], rules: SpaceRules = NAAP440_RULES) -> dict[str, list[list[dict]]]:
    """Every single mutation of ``scheme``, by kind, with values from ``rules``.

    A block's kernel, width or stride takes another value allowed at its
    position, or its residual flag flips; or a block allowed at the next
    position is appended; or the last block is removed. The results are not
    checked against the global rules (depth, stages, shapes of residuals):
    :func:`neighbour_table` keeps those that exist in the space.
    """
    scheme = [dict(b) for b in scheme]
    out: dict[str, list[list[dict]]] = {kind: [] for kind in MUTATION_KINDS}
    for i, block in enumerate(scheme[: len(rules.blocks)]):
        options = rules.blocks[i]
        for name, values in (("kernel_size", options.kernel_size), ("width", options.width),
                             ("stride", options.stride), ("residual", options.residual)):
            for value in values:
                if value != block[name]:
                    out[name].append(scheme[:i] + [{**block, name: value}] + scheme[i + 1:])
    if len(scheme) < len(rules.blocks):
        options = rules.blocks[len(scheme)]
        for k, w, s, r in product(options.kernel_size, options.width, options.stride, options.residual):
            out["add_block"].append(scheme + [{"kernel_size": k, "width": w, "stride": s, "residual": r}])
    if scheme:
        out["remove_block"].append(scheme[:-1])
    return out


def neighbour_table(schemes: Sequence[Sequence[dict]], rules: SpaceRules = NAAP440_RULES) -> list[list[list[int]]]:
    """For each scheme, the indices (into ``schemes``) of its mutations that are
    in ``schemes``, one list per mutation kind that has any."""
    index = {scheme_key(s): i for i, s in enumerate(schemes)}
    table = []
    for scheme in schemes:
        groups = []
        for variants in mutations(scheme, rules).values():
            found = [index[k] for k in (scheme_key(v) for v in variants) if k in index]
            if found:
                groups.append(found)
        table.append(groups)
    return table


# --- strategies -----------------------------------------------------------------------


def random_search(n: int, n_trainings: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n_trainings`` distinct architectures in random order."""
    return rng.permutation(n)[:n_trainings]


def regularized_evolution(neighbours: list[list[list[int]]], accuracy: np.ndarray, n_trainings: int,
                          rng: np.random.Generator, population_size: int = 20, sample_size: int = 5,
                          max_redraws: int = 50, log: list | None = None) -> np.ndarray:
    """Aging evolution (Real et al. 2019) over a finite space.

    The first ``population_size`` architectures are random. Then each step
    samples ``sample_size`` members of the population, mutates the best of them
    (a mutation kind chosen uniformly among those with a neighbour in the
    space, then a neighbour of that kind uniformly), trains the child, adds it
    and removes the oldest member. Every training is a distinct architecture: a
    child that was already trained is drawn again (a real search would read it
    from its cache) and after ``max_redraws`` draws a random untrained
    architecture is trained instead.

    Parameters
    ----------
    neighbours : output of :func:`neighbour_table`
    accuracy : array of final accuracies (what "training" returns)
    n_trainings : int
        Length of the returned order (at most the size of the space).
    rng : numpy.random.Generator
    population_size, sample_size, max_redraws : int
    log : list, optional
        Receives one ``(parent, child)`` pair per training (parent None for
        the random ones).

    Returns
    -------
    numpy.ndarray of int
        Architectures in the order they were trained.
    """
    n = len(accuracy)
    n_trainings = min(n_trainings, n)
    trained = np.zeros(n, dtype=bool)
    order: list[int] = []
    population: deque[int] = deque()

    def train(child: int, parent: int | None) -> None:
        trained[child] = True
        order.append(child)
        population.append(child)
        if len(population) > population_size:
            population.popleft()
        if log is not None:
            log.append((parent, child))

    for i in rng.permutation(n)[: min(population_size, n_trainings)]:
        train(int(i), None)
    while len(order) < n_trainings:
        child, parent = None, None
        for _ in range(max_redraws):
            members = rng.choice(len(population), size=min(sample_size, len(population)), replace=False)
            parent = max((population[m] for m in members), key=lambda i: accuracy[i])
            groups = neighbours[parent]
            if not groups:
                continue
            group = groups[rng.integers(len(groups))]
            candidate = group[rng.integers(len(group))]
            if not trained[candidate]:
                child = candidate
                break
        if child is None:
            child, parent = int(rng.choice(np.flatnonzero(~trained))), None
        train(child, parent)
    return np.array(order, dtype=int)


def predictor_guided(accuracy: np.ndarray, features, n_train: int, predictor, rng: np.random.Generator) -> np.ndarray:
    """Wen et al. 2020: train ``n_train`` random architectures, fit the
    predictor on them, then train the rest in order of predicted accuracy.

    Parameters
    ----------
    accuracy : array of final accuracies
    features : what the predictor reads, one row or record per architecture
    n_train : int
        Architectures trained for the predictor's labels (at least 2).
    predictor : unfitted estimator with ``fit`` and ``predict(X, return_std=True)``
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of int
        All architectures: the ``n_train`` random ones, then the others from
        the highest predicted accuracy down (ties in random order). Training
        the top ``K`` is ``order[:n_train + K]``.
    """
    n = len(accuracy)
    if not 2 <= n_train < n:
        raise NaapgnnError(f"--n-train must be between 2 and {n - 1} (the space has {n}), got {n_train}")
    order = rng.permutation(n)
    first, rest = order[:n_train], order[n_train:]
    predictor.fit(_take(features, first), accuracy[first])
    mean, _ = _predict(predictor, _take(features, rest))
    return np.concatenate([first, rest[np.argsort(-mean, kind="stable")]])


def best_so_far(accuracy: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Best accuracy found after 1, 2, ... trainings."""
    return np.maximum.accumulate(np.asarray(accuracy)[order])


def trainings_to_rank(ranks: np.ndarray, order: np.ndarray, rank: int) -> int | None:
    """Trainings until an architecture of rank ``<= rank`` has been trained (None if never)."""
    hits = np.flatnonzero(np.asarray(ranks)[order] <= rank)
    return int(hits[0]) + 1 if len(hits) else None


# --- repeated comparison ------------------------------------------------------------------


class TrialCache:
    """Results of finished trials, one JSON line each, so an interrupted study resumes.

    The file name carries a hash of the study's configuration; a changed
    configuration starts afresh.
    """

    def __init__(self, folder: str | Path | None, name: str, config: dict):
        digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]
        self.path = None if folder is None else Path(folder) / f".{name}-{digest}.partial.jsonl"
        self.done: dict[str, Any] = {}
        for item in read_progress_jsonl(self.path):
            self.done[item["key"]] = item["value"]

    def get(self, key: str):
        return self.done.get(key)

    def put(self, key: str, value) -> None:
        self.done[key] = value
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as out:
                out.write(json.dumps({"key": key, "value": value}) + "\n")

    def clear(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


@dataclass
class CompareResult:
    """Training orders of every strategy in every trial.

    Attributes
    ----------
    orders : dict of str to numpy.ndarray
        Strategy name -> ``(trials, n)`` int array (each row a full order of
        all ``n`` architectures; a strategy's first ``t`` entries are what it
        trains with ``t`` trainings).
    n_train : dict of str to int
        Predictor strategies -> their ``N`` (their first ``N`` trainings are random).
    accuracy, ranks : numpy.ndarray
    config : dict
    seconds : float
    """

    orders: dict[str, np.ndarray]
    n_train: dict[str, int]
    accuracy: np.ndarray
    ranks: np.ndarray
    config: dict
    seconds: float

    def curves(self, name: str) -> np.ndarray:
        """Best accuracy found after 1..n trainings, ``(trials, n)``."""
        return np.maximum.accumulate(self.accuracy[self.orders[name]], axis=1)

    def reached(self, name: str, rank: int) -> np.ndarray:
        """Per trial, the trainings needed to train an architecture of rank ``<= rank``."""
        return np.array([trainings_to_rank(self.ranks, order, rank) for order in self.orders[name]], dtype=float)


def compare_strategies(problem: SearchProblem, trials: int = 100, n_train: Iterable[int] = (10, 20, 50),
                       predictor: str | Callable = "forest", seed: int = 0, population_size: int = 20,
                       sample_size: int = 5, strategies: Iterable[str] = STRATEGIES,
                       rules: SpaceRules = NAAP440_RULES, cache_dir: str | Path | None = None,
                       progress: bool = True) -> CompareResult:
    """Random search, regularized evolution and predictor-guided search (one
    per ``n_train``), each replayed ``trials`` times.

    Trial ``t`` draws from ``numpy.random.default_rng([seed, t])``, random
    search first, then evolution, then the predictor runs. The predictor reads
    architectures only (budget 0). Every order covers the whole space, so the
    trainings needed to reach any rank are known.

    Parameters
    ----------
    problem : SearchProblem
    trials : int
    n_train : the predictor's label counts ``N`` (one strategy each)
    predictor : "forest", "gnn" or a callable ``(budget, random_state) -> estimator``
    seed : int
    population_size, sample_size : evolution's ``P`` and ``S``
    strategies : any of "random", "evolution", "predictor"
    rules : the space's rules (for mutations)
    cache_dir : folder for the resume file of finished trials (None: no resume)
    progress : bool

    Returns
    -------
    CompareResult
    """
    from tqdm import tqdm

    start = time.perf_counter()
    strategies = list(strategies)
    unknown = [name for name in strategies if name not in STRATEGIES]
    if unknown or not strategies:
        raise NaapgnnError(f"unknown strategy {unknown[0] if unknown else ''!r} (expected {', '.join(STRATEGIES)})")
    n_train = [int(v) for v in n_train] if "predictor" in strategies else []
    if trials < 1:
        raise NaapgnnError(f"--trials must be >= 1, got {trials}")
    for v in n_train:
        if not 2 <= v < problem.n:
            raise NaapgnnError(f"--n-train must be between 2 and {problem.n - 1}, got {v}")
    neighbours = _neighbours(problem, rules) if "evolution" in strategies else None
    features = _features(make_predictor(predictor, 0, seed), problem.records) if n_train else None
    predictor_name = predictor if isinstance(predictor, str) else getattr(predictor, "__name__", "custom")
    config = {"trials": trials, "n_train": n_train, "predictor": predictor_name, "seed": seed,
              "population": population_size, "sample": sample_size, "n": problem.n, "strategies": strategies}
    cache = TrialCache(cache_dir, "compare", config)
    names = [s for s in ("random", "evolution") if s in strategies] + [f"predictor N={v}" for v in n_train]
    orders: dict[str, list] = {name: [] for name in names}
    for t in tqdm(range(trials), desc="search trials", disable=not progress, leave=False):
        done = cache.get(str(t))
        if done is None:
            rng = np.random.default_rng([seed, t])
            done = {}
            if "random" in strategies:
                done["random"] = random_search(problem.n, problem.n, rng)
            if "evolution" in strategies:
                done["evolution"] = regularized_evolution(neighbours, problem.accuracy, problem.n, rng,
                                                          population_size, sample_size)
            for v in n_train:
                model = make_predictor(predictor, 0, seed * 100_003 + t)
                done[f"predictor N={v}"] = predictor_guided(problem.accuracy, features, v, model, rng)
            done = {k: [int(i) for i in o] for k, o in done.items()}
            cache.put(str(t), done)
        for name in names:
            orders[name].append(done[name])
    cache.clear()
    return CompareResult(
        orders={k: np.array(v, dtype=int) for k, v in orders.items()},
        n_train={f"predictor N={v}": v for v in n_train},
        accuracy=problem.accuracy, ranks=problem.ranks, config=config,
        seconds=time.perf_counter() - start,
    )


def _neighbours(problem: SearchProblem, rules: SpaceRules) -> list[list[list[int]]]:
    if any(s is None for s in problem.schemes):
        raise NaapgnnError("evolution needs NAAP-440-style schemes; this benchmark has layer-graph architectures")
    return neighbour_table(problem.schemes, rules)


# --- early stopping ----------------------------------------------------------------------


@dataclass(frozen=True)
class EarlyStopRun:
    """Outcome of one pass over the candidates.

    Attributes
    ----------
    epochs : int
        Total epochs spent: ``budget * stopped + 90 * kept``.
    kept, stopped : int
        Candidates trained to the end, and stopped after ``budget`` epochs.
    best_found : float
        Best final accuracy among the kept candidates.
    best_rank : int
        Its rank in the whole space.
    """

    epochs: int
    kept: int
    stopped: int
    best_found: float
    best_rank: int


def early_stop_run(accuracy: np.ndarray, order: np.ndarray, budget: int, rule: str = "predictor",
                   z: float = 0.0, features=None, make_model: Callable[[int], Any] | None = None,
                   warmup: int = 20, refit_growth: float = 1.5, curve: np.ndarray | None = None,
                   ranks: np.ndarray | None = None, fit_cache: dict | None = None) -> EarlyStopRun:
    """Replay early stopping over candidates arriving in ``order`` (Baker et al. 2018).

    The first ``warmup`` candidates are trained to the end (90 epochs each)
    and label the predictor. Every later candidate is trained for ``budget``
    epochs; then, with ``rule="predictor"``, it is stopped when
    ``mean + z * std < best so far`` (mean and std of the predictor's
    ensemble), and with ``rule="curve"`` (no predictor) when its accuracy at
    epoch ``budget`` is below that of the best kept candidate at that epoch.
    Kept candidates are trained to the end and join the predictor's training
    set, which is refitted each time it has grown by ``refit_growth``.

    Parameters
    ----------
    accuracy : array of final accuracies
    order : candidates' arrival order (indices)
    budget : int
        Epochs after which the decision is taken (1..89).
    rule : "predictor" or "curve"
    z : float
        Uncertainty multiplier; larger keeps more candidates.
    features : predictor input, one row or record per architecture
    make_model : callable ``(fit_number) -> unfitted estimator``
    warmup : int
    refit_growth : float
    curve : ``(n, budget)`` accuracy curves (rule "curve")
    ranks : ranks of ``accuracy`` (default computed)
    fit_cache : dict, optional
        Shares fitted predictions between runs with the same training set.

    Returns
    -------
    EarlyStopRun
    """
    if not 1 <= budget < FULL_EPOCHS:
        raise NaapgnnError(f"early stopping budget must be between 1 and {FULL_EPOCHS - 1} epochs, got {budget}")
    if rule not in ("predictor", "curve"):
        raise NaapgnnError(f"unknown early-stopping rule {rule!r} (expected predictor or curve)")
    ranks = ranks_of(accuracy) if ranks is None else ranks
    kept: list[int] = []
    best, best_index = -math.inf, -1
    epochs = stopped = 0
    mean = std = None
    next_fit = warmup
    for candidate in order:
        stop = False
        if len(kept) >= warmup:
            if rule == "curve":
                stop = curve[candidate, budget - 1] < curve[best_index, budget - 1]
            else:
                if mean is None or len(kept) >= next_fit:
                    mean, std = _fitted_predictions(kept, accuracy, features, make_model, fit_cache)
                    next_fit = max(len(kept) + 1, math.ceil(len(kept) * refit_growth))
                stop = mean[candidate] + z * std[candidate] < best
        if stop:
            epochs += budget
            stopped += 1
        else:
            epochs += FULL_EPOCHS
            kept.append(int(candidate))
            if accuracy[candidate] > best:
                best, best_index = float(accuracy[candidate]), int(candidate)
    return EarlyStopRun(epochs=epochs, kept=len(kept), stopped=stopped, best_found=best,
                        best_rank=int(ranks[best_index]))


def _fitted_predictions(kept: list[int], accuracy, features, make_model, fit_cache):
    key = tuple(sorted(kept))
    if fit_cache is not None and key in fit_cache:
        return fit_cache[key]
    index = np.array(kept)
    model = make_model(len(kept)).fit(_take(features, index), accuracy[index])
    everything = np.arange(len(accuracy))
    result = _predict(model, _take(features, everything))
    if fit_cache is not None:
        fit_cache[key] = result
    return result


def early_stop_study(problem: SearchProblem, budgets: Iterable[int] = (3, 6, 9),
                     thresholds: Iterable[float] = (0.0, 1.0, 2.0), trials: int = 100,
                     predictor: str | Callable = "forest", warmup: int = 20, refit_growth: float = 1.5,
                     seed: int = 0, cache_dir: str | Path | None = None, progress: bool = True) -> list[dict]:
    """:func:`early_stop_run` for every budget and threshold (and the
    predictor-free curve rule), over ``trials`` random candidate orders shared
    by all settings.

    Returns
    -------
    list of dict
        One per (trial, rule, budget, z): ``trial``, ``rule``, ``budget``,
        ``z`` (NaN for the curve rule), ``epochs``, ``kept``, ``stopped``,
        ``best_found``, ``best_rank``, ``regret`` (best overall minus best found).
    """
    from tqdm import tqdm

    budgets = [int(b) for b in budgets]
    thresholds = [float(z) for z in thresholds]
    if trials < 1:
        raise NaapgnnError(f"--trials must be >= 1, got {trials}")
    for b in budgets:
        if not 1 <= b < FULL_EPOCHS:
            raise NaapgnnError(f"--budget: early stopping needs 1..{FULL_EPOCHS - 1} epochs, got {b}")
    if warmup < 2 or warmup >= problem.n:
        raise NaapgnnError(f"--warmup must be between 2 and {problem.n - 1}, got {warmup}")
    predictor_name = predictor if isinstance(predictor, str) else getattr(predictor, "__name__", "custom")
    config = {"budgets": budgets, "thresholds": thresholds, "trials": trials, "predictor": predictor_name,
              "warmup": warmup, "growth": refit_growth, "seed": seed, "n": problem.n}
    cache = TrialCache(cache_dir, "early-stop", config)
    inputs = {b: (_features(make_predictor(predictor, b, seed), problem.records), problem.accuracy_curve(b))
              for b in budgets}
    rows = []
    for t in tqdm(range(trials), desc="early-stop orders", disable=not progress, leave=False):
        done = cache.get(str(t))
        if done is None:
            order = np.random.default_rng([seed, t]).permutation(problem.n)
            done = []
            for b in budgets:
                features, curve = inputs[b]
                fit_cache: dict = {}

                def make_model(fit_number, b=b):
                    return make_predictor(predictor, b, seed * 100_003 + t * 1_009 + fit_number)

                settings = [("curve", math.nan)] + [("predictor", z) for z in thresholds]
                for rule, z in settings:
                    run = early_stop_run(problem.accuracy, order, b, rule, z, features, make_model, warmup,
                                         refit_growth, curve, problem.ranks, fit_cache)
                    done.append({"trial": t, "rule": rule, "budget": b, "z": z, "epochs": run.epochs,
                                 "kept": run.kept, "stopped": run.stopped, "best_found": run.best_found,
                                 "best_rank": run.best_rank, "regret": problem.best - run.best_found})
            cache.put(str(t), done)
        rows.extend(done)
    cache.clear()
    return rows


# --- searching a larger space ------------------------------------------------------------


@dataclass
class SpaceRanking:
    """Predictions for every scheme of a space.

    Attributes
    ----------
    top : pandas.DataFrame
        The best predicted: ``rank``, ``scheme`` (compact text), ``predicted``,
        ``uncertainty``, ``params``, ``macs``, ``blocks``, ``novelty`` (what is
        outside the training schemes), ``known_accuracy`` (when the scheme is a
        training architecture).
    n : int
        Schemes predicted.
    novelty_counts : dict of str to int
        How many of all candidates have each kind of novelty.
    seconds : dict of str to float
        Wall time of ``enumerate``, ``predict`` (parse, encode or featurise,
        and predict, in the worker processes) and ``total``.
    processes : int
    tied : int
        Candidates predicted at least as high as the last one listed (more
        than ``len(top)`` means ties were broken by enumeration order).
    mean, std : numpy.ndarray
        Every candidate's prediction and uncertainty, in enumeration order.
    """

    top: Any
    n: int
    novelty_counts: dict
    seconds: dict
    processes: int
    tied: int = 0
    mean: np.ndarray | None = None
    std: np.ndarray | None = None


_WORKER_MODEL = None


def _init_worker(model) -> None:
    global _WORKER_MODEL
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    _WORKER_MODEL = model


def _predict_chunk(schemes: list) -> tuple[np.ndarray, np.ndarray]:
    from naapgnn.arch.format import parse_architecture
    from naapgnn.data.records import Record

    records = [Record(id=str(i), arch=parse_architecture(s)) for i, s in enumerate(schemes)]
    return _predict(_WORKER_MODEL, records)


def rank_space(model, rules: SpaceRules, training_schemes: Sequence[Sequence[dict]] = (),
               known_accuracy: Sequence[float] | None = None, top: int = 20, processes: int = 2,
               chunk_size: int = 2048, progress: bool = True) -> SpaceRanking:
    """Predict every scheme of ``rules`` with a fitted zero-training model.

    Enumeration runs here; parsing, encoding (or featurising) and prediction
    run in ``processes`` worker processes on chunks of ``chunk_size`` schemes
    (``processes=1``: in this process).

    Parameters
    ----------
    model : fitted estimator with ``predict(records, return_std=True)`` (budget 0)
    rules : SpaceRules
        For example :func:`naapgnn.arch.space.enlarged_rules`.
    training_schemes : the schemes the model was trained on (to flag novelty)
    known_accuracy : their final accuracies (reported for top schemes that are among them)
    top : int
    processes, chunk_size : int
    """
    import pandas as pd
    from tqdm import tqdm

    from naapgnn.arch.profiling import profile

    start = time.perf_counter()
    schemes = list(iter_search_space(rules))
    t_enum = time.perf_counter() - start
    chunks = [schemes[i:i + chunk_size] for i in range(0, len(schemes), chunk_size)]
    bar = tqdm(total=len(schemes), desc="predicting", unit="arch", disable=not progress, leave=False)
    results = []
    if processes > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(processes, initializer=_init_worker, initargs=(model,)) as pool:
            for chunk, result in zip(chunks, pool.imap(_predict_chunk, chunks)):
                results.append(result)
                bar.update(len(chunk))
    else:
        _init_worker(model)
        for chunk in chunks:
            results.append(_predict_chunk(chunk))
            bar.update(len(chunk))
    bar.close()
    mean = np.concatenate([r[0] for r in results])
    std = np.concatenate([r[1] for r in results])
    t_total = time.perf_counter() - start

    seen = _seen_values(training_schemes)
    known = {scheme_key(s): (None if known_accuracy is None else float(a))
             for s, a in zip(training_schemes, known_accuracy if known_accuracy is not None else
                             [None] * len(training_schemes))}
    counts: dict[str, int] = {"in the training schemes": 0}
    for s in schemes:
        reasons = _novelty(s, seen, known)
        for category in {c for c, _ in reasons}:
            counts[category] = counts.get(category, 0) + 1
        counts["in the training schemes"] += not reasons
    best = np.argsort(-mean, kind="stable")[:top]
    tied = int(np.sum(mean >= mean[best[-1]] - 1e-12)) if len(best) else 0
    rows = []
    for place, i in enumerate(best, start=1):
        s = schemes[i]
        params, macs = profile(s)
        rows.append({"rank": place, "scheme": scheme_text(s), "predicted": float(mean[i]),
                     "uncertainty": float(std[i]), "params": params, "macs": macs, "blocks": len(s),
                     "novelty": "; ".join(d for _, d in _novelty(s, seen, known)) or "none (a training scheme)",
                     "known_accuracy": known.get(scheme_key(s))})
    return SpaceRanking(top=pd.DataFrame(rows), n=len(schemes), novelty_counts=counts, tied=tied, mean=mean, std=std,
                        seconds={"enumerate": t_enum, "predict": t_total - t_enum, "total": t_total},
                        processes=processes)


def scheme_text(scheme: Sequence[dict]) -> str:
    """Compact scheme text: ``k3-w16-s2 / k1-w24-s1-res / ...``."""
    return " / ".join(
        f"k{b['kernel_size']}-w{b['width']}-s{b['stride']}" + ("-res" if b["residual"] else "") for b in scheme)


def _seen_values(schemes) -> dict:
    seen: dict = {"blocks": set()}
    for s in schemes:
        seen["blocks"].add(len(s))
        for i, b in enumerate(s):
            for name in ("kernel_size", "width", "stride"):
                seen.setdefault((i, name), set()).add(b[name])
    return seen


def _novelty(scheme, seen: dict, known: dict) -> list[tuple[str, str]]:
    """``(category, detail)`` for each way ``scheme`` leaves the training schemes."""
    if not seen["blocks"]:
        return []
    reasons = []
    if len(scheme) not in seen["blocks"]:
        reasons.append(("deeper", f"{len(scheme)} blocks"))
    for name, label in (("kernel_size", "kernel"), ("width", "width"), ("stride", "stride")):
        new = [f"{b[name]} at block {i + 1}" for i, b in enumerate(scheme)
               if i < max(seen["blocks"]) and b[name] not in seen.get((i, name), ())]
        if new:
            reasons.append((f"new {label}", f"{label} " + ", ".join(new)))
    if not reasons and scheme_key(scheme) not in known:
        reasons.append(("new combination", "new combination of seen values"))
    return reasons

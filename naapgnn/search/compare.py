"""The comparison study: random search, regularized evolution and predictor-guided search over many seeds."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from naapgnn.arch.space import NAAP440_RULES, SpaceRules
from naapgnn.errors import NaapgnnError, TooFewRecordsError
from naapgnn.search.problem import (
    SearchProblem, make_predictor, predictor_inputs, predictor_name, rank_targets, trainings_to_rank,
)
from naapgnn.search.neighbours import neighbours_of
from naapgnn.search.strategies import (
    check_n_train, neighbour_table, predictor_guided, random_search, regularized_evolution,
)
from naapgnn.search.trials import announce_resume, trial_keys, trial_log

STRATEGIES = ("random", "evolution", "predictor")
EVOLUTION_HORIZON = 5000
"""Trainings evolution chooses in a larger space; the rest of its order is random (an order must cover
the space so that the trainings to reach every rank are known; by then evolution has long converged)."""


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
    discard_trials: Callable[[], None] = lambda: None  # the kept trials, once a caller's outputs are written

    def curves(self, name: str) -> np.ndarray:
        """Best accuracy found after 1..n trainings, ``(trials, n)``."""
        return np.maximum.accumulate(self.accuracy[self.orders[name]], axis=1)

    @property
    def rank_targets(self) -> list[tuple[int, str]]:
        """:func:`naapgnn.search.problem.rank_targets` of this space."""
        return rank_targets(len(self.accuracy))

    def reached(self, name: str, rank: int) -> np.ndarray:
        """Per trial, the trainings needed to train an architecture of rank ``<= rank``."""
        return np.array([trainings_to_rank(self.ranks, order, rank) for order in self.orders[name]], dtype=float)


def compare_strategies(problem: SearchProblem, trials: int = 100, n_train: Iterable[int] = (10, 20, 50),
                       predictor: str | Callable = "forest", seed: int = 0, population_size: int = 20,
                       sample_size: int = 5, strategies: Iterable[str] = STRATEGIES,
                       rules: SpaceRules = NAAP440_RULES, cache_dir: str | Path | None = None,
                       fresh: bool = False, progress: bool = True, keep_trials: bool = False) -> CompareResult:
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
    rules : the space's rules (for mutations of NAAP-440 schemes; other benchmarks use
        :meth:`SearchProblem.neighbour_table`)
    cache_dir : folder for the resume log of finished trials (None: no resume)
    fresh : bool
        Forget the trials an interrupted run saved there.
    progress : bool
    keep_trials : bool
        Leave the finished trials in the resume log for the caller to discard (``discard_trials``) once its
        outputs are written, so that a failure writing them loses no trial.

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
        check_n_train(v, problem.n)
    neighbours = _neighbours(problem, rules) if "evolution" in strategies else None
    if "evolution" in strategies and population_size >= problem.n:  # its population alone would be random search
        raise NaapgnnError(f"--population {population_size}: evolution needs fewer than the {problem.n} "
                           "architectures of the benchmark (its first --population trainings are random)")
    features = predictor_inputs(make_predictor(predictor, 0, seed), problem.records) if n_train else None
    config = {"study": "compare", "trials": trials, "n_train": n_train, "predictor": predictor_name(predictor),
              "seed": seed, "population": population_size, "sample": sample_size, "data": problem.fingerprint(),
              "strategies": strategies}
    log = trial_log(cache_dir, "compare", fresh)
    keys = trial_keys(config, trials)
    announce_resume(log, keys)
    names = [s for s in ("random", "evolution") if s in strategies] + [f"predictor N={v}" for v in n_train]
    orders: dict[str, list] = {name: [] for name in names}
    for t in tqdm(range(trials), desc="search trials", disable=not progress, leave=False):
        done = log.get(keys[t])
        if done is None:
            rng = np.random.default_rng([seed, t])
            done = {}
            if "random" in strategies:
                done["random"] = random_search(problem.n, problem.n, rng)
            if "evolution" in strategies:
                done["evolution"] = _evolution_order(neighbours, problem.accuracy, rng, population_size,
                                                     sample_size)
            for v in n_train:
                model = make_predictor(predictor, 0, (seed * 100_003 + t) % 2**32)  # a numpy seed
                try:
                    done[f"predictor N={v}"] = predictor_guided(problem.accuracy, features, v, model, rng)
                except TooFewRecordsError as exc:
                    raise NaapgnnError(f"--n-train {v}: {exc}") from None
            done = {k: [int(i) for i in o] for k, o in done.items()}
            log.put(keys[t], done)
        for name in names:
            orders[name].append(done[name])
    if not keep_trials:  # else the caller discards them once its outputs are written (a failure loses none)
        log.discard(keys)  # the trials of another study in this folder stay, to resume
    return CompareResult(
        orders={k: np.array(v, dtype=int) for k, v in orders.items()},
        n_train={f"predictor N={v}": v for v in n_train},
        accuracy=problem.accuracy, ranks=problem.ranks, config=config,
        seconds=time.perf_counter() - start, discard_trials=lambda: log.discard(keys),
    )


def _neighbours(problem: SearchProblem, rules: SpaceRules) -> list[list[list[int]]]:
    if problem.neighbours is None and rules is not NAAP440_RULES and all(s is not None for s in problem.schemes):
        return neighbour_table(problem.schemes, rules)
    return neighbours_of(problem)


def _evolution_order(neighbours, accuracy: np.ndarray, rng: np.random.Generator, population_size: int,
                     sample_size: int) -> np.ndarray:
    """Evolution's first :data:`EVOLUTION_HORIZON` trainings (all of a smaller space), then the rest at random."""
    n = len(accuracy)
    order = regularized_evolution(neighbours, accuracy, min(n, EVOLUTION_HORIZON), rng, population_size,
                                  sample_size)
    if len(order) == n:
        return order
    rest = np.setdiff1d(np.arange(n), order)
    return np.concatenate([order, rng.permutation(rest)])

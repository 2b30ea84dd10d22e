"""Search strategies over a finite space: each returns the order in which architectures are trained.

* :func:`random_search` - a random order.
* :func:`regularized_evolution` - aging evolution (Real et al. 2019) whose
  mutations (:func:`mutations`) change one block's kernel, width, stride or
  residual, or add or remove the last block, and keep only schemes that exist
  in the space (:func:`neighbour_table`).
* :func:`predictor_guided` - Wen et al. 2020: train a predictor on ``N``
  random architectures, then train the others in order of predicted accuracy.
"""
from __future__ import annotations

from collections import deque
from itertools import product
from typing import Sequence

import numpy as np

from naapgnn.arch.space import NAAP440_RULES, SpaceRules
from naapgnn.errors import NaapgnnError
from naapgnn.models.inputs import take
from naapgnn.search.problem import predict_with_std

MUTATION_KINDS = ("kernel_size", "width", "stride", "residual", "add_block", "remove_block")


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


def check_n_train(n_train: int, n: int, default: Sequence[int] | None = None) -> None:
    """Refuse an ``--n-train`` outside [2, ``n`` - 1]; ``default``, when given, is the default the user kept,
    and the message names it."""
    if 2 <= n_train < n:
        return
    if default is not None:
        raise NaapgnnError(f"--n-train (default {' '.join(map(str, default))}) must be between 2 and {n - 1}, "
                           f"got {n_train}: the benchmark holds only {n} architectures; give --n-train N")
    raise NaapgnnError(f"--n-train must be between 2 and {n - 1}, got {n_train}")


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
    check_n_train(n_train, n)
    order = rng.permutation(n)
    first, rest = order[:n_train], order[n_train:]
    predictor.fit(take(features, first), accuracy[first])
    mean, _ = predict_with_std(predictor, take(features, rest))
    return np.concatenate([first, rest[np.argsort(-mean, kind="stable")]])

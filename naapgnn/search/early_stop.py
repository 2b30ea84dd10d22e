"""Early stopping from partial curves (Baker et al. 2018), replayed on a benchmark.

Candidates arrive one at a time; after ``k`` epochs a predictor with an
ensemble uncertainty stops those that cannot beat the best so far
(:func:`early_stop_run`); :func:`early_stop_study` repeats it over many
candidate orders, budgets and thresholds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from naapgnn.errors import NaapgnnError, TooFewRecordsError
from naapgnn.io import LoggedRows
from naapgnn.models.inputs import take
from naapgnn.search.problem import (
    SearchProblem, make_predictor, predict_with_std, predictor_inputs, predictor_name, ranks_of,
)
from naapgnn.search.trials import announce_resume, trial_keys, trial_log


@dataclass(frozen=True)
class EarlyStopRun:
    """Outcome of one pass over the candidates.

    Attributes
    ----------
    epochs : int
        Total epochs spent: each kept candidate's run length, and ``budget``
        for each stopped one (``budget * stopped + full_epochs * kept`` when
        every run goes the full length).
    kept, stopped : int
        Candidates trained to the end (a run over by epoch ``budget``
        included), and stopped after ``budget`` epochs.
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
                   ranks: np.ndarray | None = None, fit_cache: dict | None = None, *,
                   full_epochs: int, run_epochs: np.ndarray | None = None) -> EarlyStopRun:
    """Replay early stopping over candidates arriving in ``order`` (Baker et al. 2018).

    The first ``warmup`` candidates are trained to the end (each costs its run's
    length, ``run_epochs``; ``full_epochs`` each by default) and label the predictor. Every later candidate is trained for ``budget``
    epochs; then, with ``rule="predictor"``, it is stopped when
    ``mean + z * std < best so far`` (mean and std of the predictor's
    ensemble), and with ``rule="curve"`` (no predictor) when its accuracy at
    epoch ``budget`` is below that of the best kept candidate at that epoch.
    Kept candidates are trained to the end and join the predictor's training
    set, which is refitted each time it has grown by ``refit_growth``. A
    stopped candidate costs ``budget`` epochs. A run that stopped early on its
    own by epoch ``budget`` is over before the decision: it is kept, at its
    own length, as a finished run.

    Parameters
    ----------
    accuracy : array of final accuracies
    order : candidates' arrival order (indices)
    budget : int
        Epochs after which the decision is taken (``1..full_epochs - 1``).
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
    full_epochs : int
        Epochs of the longest full training (:attr:`SearchProblem.full_epochs`):
        what ``budget`` is checked against.
    run_epochs : array of int, optional
        Epochs of each candidate's own full training
        (:attr:`SearchProblem.run_epochs`; shorter than ``full_epochs`` for a
        run that stopped early). None: ``full_epochs`` for every candidate.

    Returns
    -------
    EarlyStopRun
    """
    if not 1 <= budget < full_epochs:
        raise NaapgnnError(f"early stopping budget must be between 1 and {full_epochs - 1} epochs, got {budget}")
    if rule not in ("predictor", "curve"):
        raise NaapgnnError(f"unknown early-stopping rule {rule!r} (expected predictor or curve)")
    ranks = ranks_of(accuracy) if ranks is None else ranks
    if run_epochs is not None and len(run_epochs) != len(accuracy):
        raise NaapgnnError(f"run_epochs has {len(run_epochs)} lengths for {len(accuracy)} candidates")
    kept: list[int] = []
    best, best_index = -math.inf, -1
    epochs = stopped = 0
    mean = std = None
    next_fit = warmup
    for candidate in order:
        length = full_epochs if run_epochs is None else int(run_epochs[candidate])
        stop = False
        if len(kept) >= warmup and length > budget:  # a run over by epoch `budget` has nothing left to stop
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
            epochs += length
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
    model = make_model(len(kept)).fit(take(features, index), accuracy[index])
    everything = np.arange(len(accuracy))
    result = predict_with_std(model, take(features, everything))
    if fit_cache is not None:
        fit_cache[key] = result
    return result


def naap_cycle_curves(problem: SearchProblem) -> bool:
    """Whether every record declares NAAP-440's recipe: a cyclic ``lr`` channel of period 3 and a
    ``loss_mean`` channel (what the forest's cycle-aligned curve features read)."""
    from naapgnn.features.curves import declares_cycle
    from naapgnn.features.tabular import CYCLE_LENGTH

    has_loss = all(len(r.curve.get("loss_mean", ())) for r in problem.records)
    return has_loss and declares_cycle(problem.records, CYCLE_LENGTH)


def early_stop_factory(predictor: str | Callable, problem: SearchProblem) -> str | Callable:
    """What :func:`naapgnn.search.problem.make_predictor` builds for early stopping on ``problem``:
    ``predictor`` itself, except "forest" on records without NAAP-440's cyclic recipe
    (:func:`naap_cycle_curves`), which becomes :class:`naapgnn.search.curve_forest.CurveGainForest`."""
    if predictor != "forest" or naap_cycle_curves(problem):
        return predictor
    from naapgnn.search.curve_forest import CurveGainForest
    from naapgnn.search.problem import FOREST_FAST

    def curve_gain_forest(budget: int, random_state: int) -> CurveGainForest:
        return CurveGainForest(budget=budget, random_state=random_state, **FOREST_FAST)

    return curve_gain_forest


def early_stop_study(problem: SearchProblem, budgets: Iterable[int] = (3, 6, 9),
                     thresholds: Iterable[float] = (0.0, 1.0, 2.0), trials: int = 100,
                     predictor: str | Callable = "forest", warmup: int = 20, refit_growth: float = 1.5,
                     seed: int = 0, cache_dir: str | Path | None = None, fresh: bool = False,
                     progress: bool = True, processes: int = 1, keep_trials: bool = False) -> list[dict]:
    """:func:`early_stop_run` for every budget and threshold (and the
    predictor-free curve rule), over ``trials`` random candidate orders shared
    by all settings.

    Trial ``t`` orders the candidates with ``numpy.random.default_rng([seed, t])``;
    ``cache_dir`` keeps finished trials for an interrupted run (``fresh``
    forgets them), as in :func:`naapgnn.search.compare.compare_strategies`.
    ``processes`` > 1 runs the trials in that many worker processes (one CPU
    thread each); every trial is seeded on its own, so the rows are the same.
    ``keep_trials`` leaves the finished trials in the log for the caller to
    discard (``rows.discard()``, :class:`naapgnn.io.LoggedRows`) once its outputs are written.

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
        problem.check_budget(b)
    if warmup < 2 or warmup >= problem.n:
        raise NaapgnnError(f"--warmup must be between 2 and {problem.n - 1}, got {warmup}")
    config = {"study": "early-stop", "budgets": budgets, "thresholds": thresholds, "trials": trials,
              "predictor": predictor_name(predictor), "warmup": warmup, "growth": refit_growth, "seed": seed,
              "data": problem.fingerprint()}
    if not problem.equal_runs:  # runs that stopped early cost their own length (a key of their own for resuming)
        config["run_epochs"] = problem.run_epochs.tolist()
    if problem.training_epochs:  # --full-epochs: kept runs cost that many epochs
        config["full_epochs"] = problem.training_epochs
    log = trial_log(cache_dir, "early-stop", fresh)
    keys = trial_keys(config, trials)
    announce_resume(log, keys)
    kind = early_stop_factory(predictor, problem)
    inputs = {b: (predictor_inputs(make_predictor(kind, b, seed), problem.records_at(b)), problem.stopping_curve(b))
              for b in budgets}
    pending = [t for t in range(trials) if log.get(keys[t]) is None]
    args = (problem, inputs, kind, budgets, thresholds, warmup, refit_growth, seed)
    with tqdm(total=trials, initial=trials - len(pending), desc="early-stop orders", disable=not progress,
              leave=False) as bar:
        for t, done in _trials(pending, args, processes):
            log.put(keys[t], done)
            bar.update()
    rows = [{c: row[c] for c in ROW_COLUMNS} for t in range(trials) for row in log.get(keys[t])]  # a resumed trial's
    rows = LoggedRows(rows, log, keys)  # rows come back from the log with their keys sorted
    if not keep_trials:
        rows.discard()
    return rows


ROW_COLUMNS = ("trial", "rule", "budget", "z", "epochs", "kept", "stopped", "best_found", "best_rank", "regret")
"""The columns of a row of :func:`early_stop_study` (``early_stop.csv``), in order."""


def _trials(pending: list[int], args: tuple, processes: int):
    """``(t, rows)`` of each pending trial, here or in ``processes`` workers (in the order they finish)."""
    if processes <= 1 or len(pending) <= 1:
        yield from ((t, _trial_rows(t, *args)) for t in pending)
        return
    import os

    from joblib import Parallel, delayed

    from naapgnn.runtime import quiet_workers

    with quiet_workers():
        calls = (delayed(_worker_trial_rows)(t, os.getpid(), *args) for t in pending)
        yield from Parallel(n_jobs=int(processes), return_as="generator_unordered")(calls)


def _worker_trial_rows(t: int, parent: int, *args) -> tuple[int, list[dict]]:
    from naapgnn.runtime import cpu_threads, watch_parent_once

    watch_parent_once(parent)
    with cpu_threads(1):  # one thread per worker: the workers share the cores
        return t, _trial_rows(t, *args)


def _trial_rows(t: int, problem, inputs, kind, budgets, thresholds, warmup, refit_growth, seed) -> list[dict]:
    """The rows of trial ``t``: every budget, the curve rule and each threshold over one candidate order."""
    order = np.random.default_rng([seed, t]).permutation(problem.n)
    done = []
    for b in budgets:
        features, curve = inputs[b]
        fit_cache: dict = {}

        def make_model(fit_number, b=b):
            return make_predictor(kind, b, (seed * 100_003 + t * 1_009 + fit_number) % 2**32)  # a numpy seed

        for rule, z in [("curve", math.nan)] + [("predictor", z) for z in thresholds]:
            try:
                run = early_stop_run(problem.accuracy, order, b, rule, z, features, make_model, warmup, refit_growth,
                                     curve, problem.ranks, fit_cache, full_epochs=problem.full_epochs,
                                     run_epochs=problem.run_epochs)
            except TooFewRecordsError as exc:
                raise NaapgnnError(f"--warmup {warmup}: {exc}") from None
            done.append(dict(zip(ROW_COLUMNS, (t, rule, b, z, run.epochs, run.kept, run.stopped, run.best_found,
                                               run.best_rank, problem.best - run.best_found))))
    return done

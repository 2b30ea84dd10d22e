"""The one fit -> predict -> score loop, with the one resume store.

Every study (``naapgnn evaluate``, ``naapgnn baselines``, the report scripts)
describes its work as :class:`Unit` s: one predictor of the registry
(:mod:`naapgnn.models.registry`) fitted at one budget on one split with one
seed. :func:`run_units` computes the units that its
:class:`naapgnn.io.ResumeLog` does not hold yet (in worker processes when
``jobs > 1``; the results do not depend on ``jobs``), scores them with
:func:`naapgnn.evaluation.metrics.all_metrics` and saves each as it finishes,
so an interrupted study resumes where it stopped.

A unit's key digests the benchmark's fingerprint, the predictor (key, entry
settings and parameters), budget, protocol, split, seed, the test indices, the
package version and the graph encoding's and GNN checkpoint's format versions
(they change with the model between releases): a result is reused only for
exactly the same question.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from naapgnn.errors import NaapgnnError
from naapgnn.evaluation.analysis import INNER_PREFIX
from naapgnn.evaluation.protocols import Split

FIXED_SPLIT_PROTOCOLS = ("official", "extrapolate")
KIND_ORDER = {"gnn": 0, "baseline": 1, "zero_cost": 2, "heuristic": 3}  # slow families first

__all__ = ["Predictor", "Unit", "plan_units", "unit_key", "run_units", "median_run", "FIXED_SPLIT_PROTOCOLS"]


@dataclass(frozen=True)
class Predictor:
    """A registry entry with the parameters of this study.

    Attributes
    ----------
    key : str
        Registry key (:func:`naapgnn.models.registry.get`).
    params : dict
        Keyword arguments of its factory (for instance the GNN's settings).
    label : str
        Name in reports (default: the entry's label).
    """

    key: str
    params: dict = field(default_factory=dict)
    label: str = ""

    @property
    def entry(self):
        from naapgnn.models.registry import get

        return get(self.key)

    @property
    def kind(self) -> str:
        return self.entry.kind

    @property
    def config(self) -> dict:
        return self.entry.config

    def title(self) -> str:
        return self.label or self.entry.label

    def extrapolating_to(self, full_epochs: int) -> "Predictor":
        """A curve fit (``curve_power_law``, ``curve_exponential``) evaluated at the full training's epoch
        (``--full-epochs``) instead of its curve's end; any other predictor as it is."""
        from dataclasses import replace

        if self.kind != "heuristic" or self.config["heuristic"]["method"] not in ("power_law", "exponential"):
            return self
        return replace(self, params={**self.params, "final_epoch": full_epochs})


@dataclass(frozen=True)
class Unit:
    """One fit: ``predictor`` at ``budget`` on split ``split`` of ``protocol`` with ``seed``."""

    predictor: str
    budget: int
    protocol: str
    split: int
    seed: int


def plan_units(predictor: Predictor, budget: int, protocol: str, n_splits: int, seeds: Sequence[int]) -> list[Unit]:
    """The units of one predictor at one budget.

    A fixed-split protocol (official, extrapolate) fits once per seed (once in
    all for an unseeded predictor); the others once per split with the first seed.
    """
    if protocol in FIXED_SPLIT_PROTOCOLS:
        use = seeds if predictor.entry.seeded else seeds[:1]
        return [Unit(predictor.key, budget, protocol, 0, int(s)) for s in use]
    return [Unit(predictor.key, budget, protocol, i, int(seeds[0])) for i in range(n_splits)]


def unit_key(fingerprint: str, predictor: Predictor, unit: Unit, test: np.ndarray, extra: str = "") -> str:
    """The resume-store key of ``unit`` (see the module docstring)."""
    from naapgnn import __version__
    from naapgnn.graph.encoding import ENCODING_VERSION
    from naapgnn.models.checkpoint import CHECKPOINT_VERSION

    payload = json.dumps([__version__, ENCODING_VERSION, CHECKPOINT_VERSION, fingerprint, predictor.key, predictor.config, predictor.params,
                          unit.budget, unit.protocol, unit.split, unit.seed, extra], sort_keys=True, default=str)
    digest = hashlib.sha256(payload.encode())
    digest.update(np.ascontiguousarray(test, dtype=np.int64).tobytes())
    return digest.hexdigest()[:24]


def median_run(runs: Sequence[dict]) -> int:
    """Index of the run with the median number of violations (the paper's rule: a stable
    sort by violations, then index ``len // 2``); runs whose violations are undefined (NaN) sort last."""
    order = sorted(range(len(runs)), key=lambda i: (math.isnan(runs[i]["violations"]), runs[i]["violations"]))
    return order[len(order) // 2]


# --- features, computed once per benchmark and budget -------------------------------------------

_FEATURES: dict = {}
_AT_BUDGET: dict = {}


def _at_budget(bench, budget: int):
    """``bench`` with its records as runs stopped after ``budget`` epochs read them
    (:func:`naapgnn.data.gaps.as_seen_at`: a replay reads no epoch past the budget); ``bench`` itself when
    that changes no record. The records and their fingerprint are computed once per benchmark and budget."""
    from dataclasses import replace

    from naapgnn.data.gaps import as_seen_at

    key = (bench.fingerprint(), budget)
    if key not in _AT_BUDGET:
        if len(_AT_BUDGET) > 64:
            _AT_BUDGET.clear()
        seen = as_seen_at(bench.records, budget)
        _AT_BUDGET[key] = None if seen is bench.records else (seen, replace(bench, records=seen).fingerprint())
        _note_reread(bench.records, seen, budget)
    if _AT_BUDGET[key] is None:
        return bench
    seen, fingerprint = _AT_BUDGET[key]
    out = replace(bench, records=seen, table=seen if bench.table is bench.records else bench.table)
    out._fingerprint = fingerprint
    return out


def _note_reread(records, seen, budget: int) -> None:
    """One warning when some records' first ``budget`` epochs read otherwise than their whole file reads them."""
    import warnings

    from naapgnn.errors import NaapgnnWarning

    changed = [(r, s) for r, s in zip(records, seen)
               if r is not s and any(not np.array_equal(v[:budget], s.curve[c][:budget]) for c, v in r.curve.items())]
    if not changed:
        return
    is_later = [_diverged_later(r, s, budget) for r, s in changed]
    later = [r.id for (r, _), yes in zip(changed, is_later) if yes]
    cut = [r.id for (r, _), yes in zip(changed, is_later) if not yes]
    parts = [f"{len(cut)} (first: {cut[0]!r}) with non-finite values still open at epoch {budget}, or a channel not "
             f"logged by then while most runs log it, read as a run that diverged (the worst value of the first "
             f"{budget} epochs)"] if cut else []
    parts += [f"{len(later)} (first: {later[0]!r}) non-finite from an epoch on to the end of the file (a divergence "
              f"the whole file reads from their last logged value on), read as they stood at epoch {budget}: that "
              "value carried over the epochs most runs leave unlogged"] if later else []
    warnings.warn(f"budget {budget}: {len(changed)} record(s) read otherwise than their whole file reads them, as a "
                  f"file cut after epoch {budget} shows them (naapgnn.data.gaps): {'; '.join(parts)}; a run logged "
                  "every few epochs reads its own values at budgets on its logged epochs", NaapgnnWarning, stacklevel=2)


def _diverged_later(record, seen, budget: int) -> bool:
    """Whether every channel that reads otherwise at ``budget`` does so on epochs the whole file reads as a divergence
    (non-finite from there to the end of its curve) and the cut file as not yet diverged (its last logged value
    carried over them)."""
    for channel, values in record.curve.items():
        cut = seen.curve[channel][:budget]
        differ = np.flatnonzero(values[:budget] != cut)
        if differ.size:
            unlogged = {int(e) for e in record.non_finite.get(channel, ())}
            carried = differ[0] > 0 and np.all(cut[differ] == cut[differ[0] - 1])
            if not carried or not set(range(int(differ[0]), len(values))) <= unlogged:
                return False
    return True


def _features(bench, predictor: Predictor, budget: int, seed: int):
    bench = _at_budget(bench, budget)
    entry = predictor.entry
    if entry.featurize is None:
        return bench.records
    key = (bench.fingerprint(), entry.featurize, budget, seed if entry.zero_cost else None)
    if key not in _FEATURES:
        if len(_FEATURES) > 64:
            _FEATURES.clear()
        if entry.zero_cost:
            X = entry.featurize(bench, budget, bench.zero_cost_inputs(seed))
        else:
            X = entry.featurize(bench, budget)
        _FEATURES[key] = X
    return _FEATURES[key]


# --- one fit -----------------------------------------------------------------------------------


def fit_score(predictor: Predictor, unit: Unit, X, y: np.ndarray, train: np.ndarray, test: np.ndarray,
              fitted: dict | None = None) -> dict:
    """Fit ``predictor`` on ``train``, predict ``test`` and score it: the unit's result row.

    The row holds the unit, ``seconds`` (fit and predict), every metric of
    :func:`naapgnn.evaluation.metrics.all_metrics`, ``test`` (indices), ``pred``,
    ``mae_pred`` (score-only predictors) and ``parts`` (the estimator's
    ``predict_parts``, when it has one: the GNN's unblended parts).

    ``fitted``: a dict shared by the units of one job. A model whose graph part
    reads no curve (``with_budget``, :mod:`naapgnn.models.curve_part`) is kept
    there, and the same split and seed at another budget refits only its
    curve side: the same model as a fit from scratch. Its ``seconds`` still
    count the shared fit, as a fit from scratch would.
    """
    from naapgnn.evaluation.metrics import all_metrics, mae
    from naapgnn.models.inputs import take
    from naapgnn.models.registry import create

    start = time.perf_counter()
    shared = (fitted or {}).get((unit.protocol, unit.split, unit.seed))
    if shared is not None:
        model = shared[0].with_budget(unit.budget, take(X, train), y[train])
    else:
        model = create(predictor.key, budget=unit.budget, random_state=unit.seed, **predictor.params)
        model.fit(take(X, train), y[train])
        if fitted is not None and hasattr(model, "with_budget") and not model.reads_curve_in_graph_part():
            fitted[(unit.protocol, unit.split, unit.seed)] = (model, time.perf_counter() - start)
    X_test = take(X, test)
    pred = np.asarray(model.predict(X_test), dtype=float).reshape(-1)
    mae_pred = np.asarray(model.predict_accuracy(X_test), dtype=float) if predictor.entry.score_only else None
    seconds = time.perf_counter() - start + (shared[1] if shared is not None else 0.0)
    parts = model.predict_parts(X_test) if hasattr(model, "predict_parts") else {}
    if len(pred) != len(test):
        raise NaapgnnError(f"{predictor.key}: {len(pred)} predictions for {len(test)} test architectures")
    if not np.all(np.isfinite(pred)):
        raise NaapgnnError(f"{predictor.key} at budget {unit.budget}: a prediction is not finite")
    metrics = all_metrics(y[test], pred, ks=(5, 10))
    if mae_pred is not None:
        metrics["mae"] = mae(y[test], mae_pred)
    row = {"predictor": unit.predictor, "budget": unit.budget, "protocol": unit.protocol, "split": unit.split,
           "seed": unit.seed, "seconds": seconds, **metrics, "test": test.tolist(), "pred": pred.tolist(),
           "mae_pred": None if mae_pred is None else mae_pred.tolist(),
           "parts": {name: np.asarray(v, dtype=float).tolist() for name, v in parts.items() if v is not None}}
    return json.loads(json.dumps(row, default=float))  # exactly what the resume store gives back


def _execute(job: dict) -> list[tuple[str, dict]]:
    import warnings

    # Workers do not inherit the CLI's filters; torch_geometric's notice is not actionable.
    warnings.filterwarnings("ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning)
    if job.get("threads"):  # torch's threads and the BLAS/OpenMP pools, for the rest of this worker
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(int(job["threads"]))
        threadpool_limits(limits=int(job["threads"]))
    fitted: dict = {}  # a GNN's graph part, shared by the budgets of one split and seed
    return [(key, fit_score(job["predictor"], unit, X, job["y"], train, test, fitted))
            for unit, key, X, (train, test) in job["units"]]


def _execute_in_worker(job: dict) -> tuple[list[tuple[str, dict]], list[tuple[type, str]]]:
    """:func:`_execute`, and the :class:`NaapgnnWarning` s it raised, which a worker's stderr would not show as the
    command shows its own."""
    import warnings

    from naapgnn.errors import NaapgnnWarning

    from naapgnn.runtime import watch_parent_once

    watch_parent_once(job["parent"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NaapgnnWarning)
        results = _execute(job)
    others = [w for w in caught if not issubclass(w.category, NaapgnnWarning)]
    for w in others:  # as the worker would have shown them
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return results, [(w.category, str(w.message)) for w in caught if issubclass(w.category, NaapgnnWarning)]


def _warn_again(caught: list[tuple[type, str]]) -> None:
    import warnings

    for category, message in caught:
        warnings.warn(message, category, stacklevel=2)


# --- the loop ------------------------------------------------------------------------------------


def run_units(bench, predictors: Sequence[Predictor], units: Sequence[Unit], split_lists: dict[str, list[Split]],
              store, jobs: int = 1, threads: int | None = None, progress: bool = True, desc: str = "fits",
              extra: dict[str, str] | None = None, keys: Sequence[str] | None = None) -> tuple[list[dict], int]:
    """Compute (or take from ``store``) every unit; rows in the order of ``units``.

    Parameters
    ----------
    bench : Benchmark
        Records, table, targets ``y`` and fingerprint.
    predictors : list of Predictor
        Those the units name (by key).
    units : list of Unit
    split_lists : dict
        Protocol -> its ``(train, test)`` index pairs.
    store : naapgnn.io.ResumeLog
        Finished units; new ones are saved as they finish.
    jobs : int
        Worker processes (joblib); 1 runs everything here.
    threads : int, optional
        Torch CPU threads in each job.
    progress : bool
        A tqdm bar on stderr.
    desc : str
        The bar's label.
    extra : dict, optional
        Predictor key -> more text for its unit keys (settings outside the predictor, e.g. zero-cost images).
    keys : list of str, optional
        The units' :func:`unit_keys`, when the caller has them (to discard them once its outputs are written).

    Returns
    -------
    (rows, computed)
        One result row per unit, and how many were computed now.
    """
    from tqdm.auto import tqdm

    by_key = {p.key: p for p in predictors}
    keys = unit_keys(bench, predictors, units, split_lists, extra) if keys is None else list(keys)
    groups = {}
    for unit, key in zip(units, keys):
        if key in store:
            continue
        predictor = by_key[unit.predictor]
        X = _features(bench, predictor, unit.budget, unit.seed)
        split = split_lists[unit.protocol][unit.split]
        groups.setdefault((unit.predictor, unit.budget, unit.protocol), []).append((unit, key, X, split))
    todo = _jobs(groups, by_key, bench.y, threads)
    total = sum(len(j["units"]) for j in todo)
    done = sum(1 for key in keys if key in store)
    if done:
        print(f"{desc}: resuming {done} of {len(units)} fits (saved in {store.path}; --fresh starts over)",
              file=sys.stderr)
    inner = sum(u.protocol.startswith(INNER_PREFIX) for u, key in zip(units, keys) if key not in store)
    if progress and inner:  # on a few hundred records, most of evaluate's time
        print(f"{desc}: {total} fits to run, {inner} of them on the inner folds that choose the budget advice "
              "(--inner-folds 0 leaves those out)", file=sys.stderr)
    with tqdm(total=total, desc=desc, unit="fit", disable=not progress or total == 0) as bar:
        for results in _map(todo, jobs):
            for key, row in results:
                store.put(key, row)
            bar.update(len(results))
    return [store.get(key) for key in keys], total


def unit_keys(bench, predictors: Sequence[Predictor], units: Sequence[Unit], split_lists: dict[str, list[Split]],
              extra: dict[str, str] | None = None) -> list[str]:
    """Each unit's key in the resume store (:func:`unit_key`), as :func:`run_units` saves it: a caller discards
    its own units' with them once its outputs are written, leaving other runs' to resume."""
    by_key = {p.key: p for p in predictors}
    fingerprint = bench.fingerprint()
    return [unit_key(fingerprint, by_key[u.predictor], u, split_lists[u.protocol][u.split][1],
                     (extra or {}).get(u.predictor, "")) for u in units]


def _jobs(groups: dict, by_key: dict, y: np.ndarray, threads) -> list[dict]:
    todo, per_fit = [], {}
    for (name, _, _), group in groups.items():
        predictor = by_key[name]
        if predictor.kind == "gnn":  # one job per split and seed, its budgets in order (they share a graph part)
            for unit, *rest in group:
                per_fit.setdefault((name, unit.protocol, unit.split, unit.seed), []).append((unit, *rest))
        else:
            todo.append({"predictor": predictor, "y": y, "units": group, "threads": threads})
    for (name, *_), chunk in per_fit.items():
        chunk.sort(key=lambda item: item[0].budget)
        todo.append({"predictor": by_key[name], "y": y, "units": chunk, "threads": threads})
    todo.sort(key=lambda j: KIND_ORDER.get(j["predictor"].kind, 9))
    return todo


def _map(todo: list[dict], jobs: int):
    if jobs > 1 and len(todo) > 1:
        import os

        from joblib import Parallel, delayed

        from naapgnn.runtime import quiet_workers

        with quiet_workers():
            for results, caught in Parallel(n_jobs=jobs, return_as="generator_unordered")(
                    delayed(_execute_in_worker)({**j, "parent": os.getpid()}) for j in todo):
                _warn_again(caught)
                yield results
    else:
        for job in todo:
            yield _execute(job)

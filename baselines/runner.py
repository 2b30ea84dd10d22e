"""Run baselines under an evaluation protocol and tabulate the results.

The official protocol is the paper's: rows in the paper's order (sorted by
MaxAccuracy), train on IsTest 0, test on IsTest 1, a StandardScaler fitted on
the training rows (for the paper's models), and for each of the five seeds
python's ``random`` and numpy's global generator seeded before the fit. The
reported run is the one with the median number of violations (the paper's
rule: sort the runs by violations, stably, and take index ``len // 2``).

The other protocols (``repeated``, ``kfold``, ``extrapolate``; see
:mod:`naapgnn.evaluation.protocols`) fit once per split with the first seed and report
the mean and standard deviation of every metric over the splits.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from baselines.paper import DETERMINISTIC, PAPER_BUDGETS, PAPER_MODELS, SEEDS, paper_features, paper_order
from naapgnn.errors import NaapgnnError

CSV_COLUMNS = ("model", "budget", "mae", "violations", "max_violations", "monotonicity_score",
               "kendall_tau", "spearman")
METRIC_COLUMNS = CSV_COLUMNS[2:]
PER_LAYER = "Per-layer Random Forest"
PER_LAYER_CYCLE = "Per-layer Random Forest + cycle"


@dataclass(frozen=True)
class Baseline:
    """One row family of the table.

    Attributes
    ----------
    name : str
        Row label (the paper's names for its 24 models).
    make : callable (seed, budget) -> estimator
        A fresh unfitted estimator.
    features : callable (table, budget) -> DataFrame
        Its features, computed once per budget on the whole table.
    scale : bool
        Fit a StandardScaler on the training rows first.
    randomised : bool
        Whether the seed can change the result.
    min_budget : int
        Smallest budget the baseline applies to.
    """

    name: str
    make: Callable[[int, int], Any]
    features: Callable[[Any, int], Any]
    scale: bool = True
    randomised: bool = True
    min_budget: int = 0


def _paper_maker(factory):
    return lambda seed, budget: factory()


def _per_layer_features(table, budget):
    from naapgnn.models.forest import PerLayerForest

    return PerLayerForest().featurize(table)


def _per_layer_cycle_features(table, budget):
    from naapgnn.models.forest import PerLayerForest

    return PerLayerForest(budget=budget, curve=True).featurize(table)


def _per_layer_maker(curve: bool):
    def make(seed, budget):
        from naapgnn.models.forest import PerLayerForest

        return PerLayerForest(budget=budget, curve=curve, random_state=seed)

    return make


def paper_baselines() -> list[Baseline]:
    """The paper's 24 regressors on the paper's feature sets."""
    return [
        Baseline(name, _paper_maker(factory), paper_features, scale=True, randomised=name not in DETERMINISTIC)
        for name, factory in PAPER_MODELS.items()
    ]


def extra_baselines() -> list[Baseline]:
    """The per-layer random forest, and its variant stacked with cycle-aligned curve features."""
    return [
        Baseline(PER_LAYER, _per_layer_maker(False), _per_layer_features, scale=False),
        Baseline(PER_LAYER_CYCLE, _per_layer_maker(True), _per_layer_cycle_features, scale=False, min_budget=1),
    ]


def select_baselines(spec: str = "all") -> list[Baseline]:
    """Baselines by a comma-separated list of names or groups.

    Groups: ``all``, ``paper`` (the 24), ``extra`` (per-layer forests),
    ``deterministic`` (the paper's k-NN, linear and SVR models).
    """
    every = paper_baselines() + extra_baselines()
    by_name = {b.name: b for b in every}
    groups = {
        "all": every,
        "paper": every[:len(PAPER_MODELS)],
        "extra": every[len(PAPER_MODELS):],
        "deterministic": [by_name[n] for n in DETERMINISTIC],
    }
    chosen: list[Baseline] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        found = groups.get(item) or ([by_name[item]] if item in by_name else None)
        if found is None:
            raise NaapgnnError(
                f"unknown baseline {item!r} (groups: {', '.join(groups)}; or a model name such as '5-NN')"
            )
        chosen += [b for b in found if b not in chosen]
    if not chosen:
        raise NaapgnnError("no baseline selected")
    return chosen


# --- one model at one budget --------------------------------------------------------


def _take(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def fit_predict(baseline: Baseline, budget: int, X, y, train, test, seed: int) -> np.ndarray:
    """Seed the global generators, fit on ``train`` and predict ``test``."""
    random.seed(seed)
    np.random.seed(seed)
    X_train, X_test = _take(X, train), _take(X, test)
    if baseline.scale:
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    model = baseline.make(seed, budget)
    model.fit(X_train, y[train])
    return np.asarray(model.predict(X_test), dtype=float)


def median_run(runs: Sequence[dict]) -> int:
    """Index of the run with the median number of violations (the paper's rule)."""
    order = sorted(range(len(runs)), key=lambda i: runs[i]["violations"])
    return order[len(order) // 2]


def run_task(baseline: Baseline, budget: int, X, y, split_list, seeds: Sequence[int], official: bool) -> dict:
    """Evaluate one baseline at one budget over all splits (and seeds)."""
    from naapgnn.evaluation.metrics import all_metrics
    from naapgnn.evaluation.protocols import aggregate

    y = np.asarray(y, dtype=float)
    if official:
        (train, test), = split_list
        runs = [all_metrics(y[test], fit_predict(baseline, budget, X, y, train, test, s)) for s in seeds]
        chosen = median_run(runs)
        return {"model": baseline.name, "budget": budget, **runs[chosen], "seed": int(seeds[chosen]),
                "seed_violations": [int(r["violations"]) for r in runs],
                "seed_mae": [float(r["mae"]) for r in runs]}
    runs = [all_metrics(y[test], fit_predict(baseline, budget, X, y, train, test, seeds[0]))
            for train, test in split_list]
    return {"model": baseline.name, "budget": budget, **aggregate(runs), "n_splits": len(runs)}


# --- the table ------------------------------------------------------------------------


def _cost(baseline: Baseline, budget: int) -> float:
    # Rough relative fit times, to start the slow tasks first.
    name = baseline.name
    n = float(name.split("N=")[1].rstrip(")")) if "N=" in name else 1.0
    if name.startswith("Per-layer"):
        return 400.0
    if name.startswith(("Random Forest", "AdaBoost")):
        return 2.0 * n
    if name.startswith("Gradient Boosting"):
        return n
    return 1.0 + budget / 10


def run_baselines(
    df,
    baselines: Sequence[Baseline] | None = None,
    budgets: Sequence[int] = PAPER_BUDGETS,
    protocol: str = "official",
    seeds: Sequence[int] = SEEDS,
    n_jobs: int = 2,
    progress: bool = True,
    resume_file: str | os.PathLike | None = None,
    **split_kw,
) -> list[dict]:
    """Evaluate baselines at budgets under a protocol.

    Parameters
    ----------
    df : DataFrame
        :func:`naapgnn.data.naap440.load_naap440`'s table (ModelId order).
    baselines : list of Baseline, optional
        Default: :func:`select_baselines` ``("all")``.
    budgets : sequence of int
        Epoch budgets (0..90).
    protocol : str
        See :mod:`naapgnn.evaluation.protocols`.
    seeds : sequence of int
        Official: one run per seed, median reported. Others: ``seeds[0]``.
    n_jobs : int
        Worker processes (joblib).
    progress : bool
        Show a tqdm bar on stderr.
    resume_file : path, optional
        JSON Lines file of finished rows; rows already there (for the same
        configuration) are not recomputed, and new ones are appended.
    **split_kw
        ``seed``, ``n_repeats``, ``n_folds``, ``test_size``, ``top_fraction``
        of :func:`naapgnn.evaluation.protocols.splits`.

    Returns
    -------
    list of dict
        One row per (baseline, budget), in baseline then budget order.
    """
    from naapgnn.evaluation.protocols import splits

    baselines = list(baselines) if baselines is not None else select_baselines("all")
    table = paper_order(df)
    y = table["MaxAccuracy"].to_numpy(dtype=float)
    split_list = splits(protocol, y, table["IsTest"].to_numpy(), **split_kw)
    official = protocol == "official"
    wanted = [(b, k) for b in baselines for k in budgets if k >= b.min_budget]
    key = _config_key(table, protocol, seeds, split_kw)
    done = _load_resume(resume_file, key)
    todo = [(b, k) for b, k in wanted if (b.name, k) not in done]

    features: dict[tuple[Callable, int], Any] = {}
    for b, k in todo:
        if (b.features, k) not in features:
            feats = b.features(table, k)
            features[(b.features, k)] = feats.to_numpy(dtype=float) if b.scale else feats
    todo.sort(key=lambda t: -_cost(*t))

    rows = dict(done)
    if todo:
        from joblib import Parallel, delayed
        from tqdm.auto import tqdm

        jobs = (delayed(run_task)(b, k, features[(b.features, k)], y, split_list, seeds, official) for b, k in todo)
        results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs)
        with tqdm(total=len(todo), desc=f"baselines ({protocol})", unit="fit", disable=not progress) as bar:
            for row in results:
                rows[(row["model"], row["budget"])] = row
                _append_resume(resume_file, key, row)
                bar.update(1)
    return [rows[(b.name, k)] for b, k in wanted]


def _config_key(table, protocol, seeds, split_kw) -> str:
    from naapgnn import __version__

    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(table[["ModelId", "IsTest"]].to_numpy()).tobytes())
    digest.update(np.ascontiguousarray(table["MaxAccuracy"].to_numpy(dtype=float)).tobytes())
    digest.update(json.dumps([__version__, protocol, list(seeds), sorted(split_kw.items())]).encode())
    return digest.hexdigest()[:16]


def _load_resume(path, key) -> dict:
    from naapgnn.io import read_progress_jsonl

    rows = {}
    for obj in read_progress_jsonl(path):
        if obj.get("_key") == key:
            obj.pop("_key")
            rows[(obj["model"], obj["budget"])] = obj
    return rows


def _append_resume(path, key, row) -> None:
    if path is None:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(json.dumps({**row, "_key": key}) + "\n")


# --- output ------------------------------------------------------------------------------


def results_frame(rows: Sequence[dict], protocol: str = "official"):
    """The CSV table: :data:`CSV_COLUMNS`, plus ``<metric>_std`` columns for
    protocols with several splits."""
    import pandas as pd

    columns = list(CSV_COLUMNS)
    if protocol != "official":
        columns += [f"{c}_std" for c in METRIC_COLUMNS]
    frame = pd.DataFrame([{c: r[c] for c in columns} for r in rows], columns=columns)
    return frame


def paper_comparison(rows: Sequence[dict], paper):
    """Ours beside the paper's, one row per paper model and budget.

    ``paper`` is :func:`naapgnn.data.naap440.load_paper_baselines`'s table. Columns:
    model, budget, paper_violations, violations, violations_min,
    violations_max (over the seeds), paper_mae, mae, mae_min, mae_max, match
    (violations equal and MAE within 0.0001), in_range (the paper's
    violations between our seeds' min and max).
    """
    import pandas as pd

    from naapgnn.features.tabular import feature_set_name

    ref = paper.set_index(["Model", "Features"])
    out = []
    for r in rows:
        k = (r["model"], feature_set_name(r["budget"]))
        if k not in ref.index:
            continue
        p = ref.loc[k]
        out.append({
            "model": r["model"], "budget": r["budget"],
            "paper_violations": int(p["NumViolations"]), "violations": int(r["violations"]),
            "violations_min": min(r["seed_violations"]), "violations_max": max(r["seed_violations"]),
            "paper_mae": float(p["MeanAbsoluteError"]), "mae": float(r["mae"]),
            "mae_min": min(r["seed_mae"]), "mae_max": max(r["seed_mae"]),
            "match": bool(int(p["NumViolations"]) == int(r["violations"])
                          and abs(float(p["MeanAbsoluteError"]) - float(r["mae"])) <= 1e-4 + 1e-12),
            "in_range": bool(min(r["seed_violations"]) <= int(p["NumViolations"]) <= max(r["seed_violations"])),
        })
    return pd.DataFrame(out)


def markdown(frame, digits: int = 4) -> str:
    """A GitHub Markdown table of a DataFrame (floats to ``digits`` decimals)."""
    def cell(v):
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        if isinstance(v, (float, np.floating)):
            return f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def summary_text(rows: Sequence[dict], protocol: str) -> str:
    """A compact terminal table: one line per model, one column per budget.

    Official: ``violations / MAE``; other protocols: Kendall tau mean +- std
    and mean violations.
    """
    budgets = sorted({r["budget"] for r in rows})
    models = list(dict.fromkeys(r["model"] for r in rows))
    by = {(r["model"], r["budget"]): r for r in rows}
    width = max(len(m) for m in models) + 2
    cell = 24 if protocol == "official" else 30
    head = "model".ljust(width) + "".join(f"budget {b}".rjust(cell) for b in budgets)
    lines = [head, "-" * len(head)]
    for m in models:
        cells = []
        for b in budgets:
            r = by.get((m, b))
            if r is None:
                text = "-"
            elif protocol == "official":
                text = f"{int(r['violations'])}/{int(r['max_violations'])}  {r['mae']:.4f}"
            else:
                text = f"tau {r['kendall_tau']:.3f}+-{r['kendall_tau_std']:.3f}  v {r['violations']:.1f}"
            cells.append(text.rjust(cell))
        lines.append(m.ljust(width) + "".join(cells))
    return "\n".join(lines)

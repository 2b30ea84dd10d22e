"""Run baselines under an evaluation protocol and tabulate the results.

The official protocol is the paper's: rows in the paper's order (sorted by
MaxAccuracy), train on IsTest 0, test on IsTest 1, a StandardScaler fitted on
the training rows (for the paper's models), and for each of the five seeds
python's ``random`` and numpy's global generator seeded before the fit
(:class:`baselines.paper.PaperRegressor`). The reported run is the one with
the median number of violations (the paper's rule: sort the runs by
violations, stably, and take index ``len // 2``).

The other protocols (``repeated``, ``kfold``, ``extrapolate``; see
:mod:`naapgnn.evaluation.protocols`) report the mean and standard deviation of every
metric over their runs: ``repeated`` and ``kfold`` fit once per split with the first
seed; ``extrapolate``, one fixed split as ``official`` is, fits a seeded model once per
seed, so its spread is over the seeds (0 for a model that reads none).

Every fit goes through naapgnn's engine (:func:`naapgnn.evaluation.engine.run_units`)
with the baselines' registry entries (:mod:`baselines.registry`).
"""
from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np

from baselines.paper import DETERMINISTIC, PAPER_BUDGETS, PAPER_MODELS, SEEDS, paper_order
from baselines.registry import BAKER_RF, BAKER_SVR, PER_LAYER, PER_LAYER_CYCLE, SHORT_KEYS, paper_key
from naapgnn.errors import NaapgnnError
from naapgnn.evaluation.metrics import format_tau, undefined_tau_reason
from naapgnn.io import comma_items

CSV_COLUMNS = ("model", "budget", "mae", "violations", "max_violations", "monotonicity_score",
               "kendall_tau", "spearman")
METRIC_COLUMNS = CSV_COLUMNS[2:]
RUN_FIELDS = ("predictor", "budget", "protocol", "split", "seed", "seconds", "test", "pred", "mae_pred", "parts")
EXTRA = (PER_LAYER, PER_LAYER_CYCLE)
BAKER = (BAKER_SVR, BAKER_RF)


def select_baselines(spec: str = "all") -> list[str]:
    """Baseline names by a comma-separated list of names or groups.

    Groups: ``all`` (the paper's table: ``paper`` and ``extra``), ``paper``
    (the 24), ``extra`` (per-layer forests), ``baker`` (Baker et al. 2018's
    nu-SVR and random forest, which choose their settings by cross-validation
    and so take seconds per fit: asked for by name, e.g. ``all,baker``),
    ``deterministic`` (the paper's k-NN, linear and SVR models). A model is named by its name (``5-NN``) or by its
    key in the predictor registry (``paper:5-NN``, ``paper_gb100``, ``per_layer_forest``, ``baker_rf``), as
    ``naapgnn evaluate --predictors`` names it; ``baker`` is the group of both of Baker's models.
    """
    groups = {"all": [*PAPER_MODELS, *EXTRA], "paper": list(PAPER_MODELS), "extra": list(EXTRA),
              "baker": list(BAKER), "deterministic": list(DETERMINISTIC)}
    names = groups["all"] + groups["baker"]
    by_key = {paper_key(name): name for name in names} | {key: name for key, name in SHORT_KEYS.items()}
    chosen: list[str] = []
    for item in comma_items(spec, "--models"):
        found = groups.get(item) or ([item] if item in names else [by_key[item]] if item in by_key else None)
        if found is None:
            if _registered(item):
                raise NaapgnnError(f"{item!r} is a registered predictor but not one of the baselines' models (the "
                                   f"paper's table, the per-layer forests, Baker's): run it with naapgnn evaluate "
                                   f"--predictors {item}")
            raise NaapgnnError(
                f"unknown baseline {item!r} (groups: {', '.join(groups)}; or a model name such as '5-NN', or its "
                "registry key, 'paper:5-NN')"
            )
        chosen += [b for b in found if b not in chosen]
    if not chosen:
        raise NaapgnnError("no baseline selected")
    return chosen


def _registered(key: str) -> bool:
    """Whether ``key`` names an entry of naapgnn's predictor registry."""
    from naapgnn.models import registry

    try:
        registry.get(key)
    except NaapgnnError:
        return False
    return True


def run_baselines(
    df,
    baselines: Sequence[str] | None = None,
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
    df : DataFrame or Benchmark
        :func:`naapgnn.data.naap440.load_naap440`'s table (ModelId order; put
        in the paper's row order here for the official protocol), or any benchmark
        (:func:`naapgnn.evaluation.benchmark.load_benchmark_for_evaluation`
        of a JSON Lines file). A baseline reading a curve channel that not
        every record has (:func:`channels_missing`) is left out at budgets >= 1.
    baselines : list of str, optional
        Names (:func:`select_baselines`); default all.
    budgets : sequence of int
        Epoch budgets (0 .. the curves' length).
    protocol : str
        See :mod:`naapgnn.evaluation.protocols`.
    seeds : sequence of int
        Official: one run per seed, median reported. Others: ``seeds[0]``.
    n_jobs : int
        Worker processes (joblib); the rows do not depend on it.
    progress : bool
        Show a tqdm bar on stderr.
    resume_file : path, optional
        The engine's resume store (:class:`naapgnn.io.ResumeLog`): fits already
        there are not recomputed, new ones are appended.
    **split_kw
        ``seed``, ``n_repeats``, ``n_folds``, ``test_size``, ``top_fraction``
        of :func:`naapgnn.evaluation.protocols.splits`.

    Returns
    -------
    list of dict
        One row per (baseline, budget), in baseline then budget order.
    """
    from naapgnn.evaluation.benchmark import benchmark_from_table
    from naapgnn.evaluation.engine import Predictor, plan_units, run_units, unit_keys
    from naapgnn.evaluation.protocols import splits
    from naapgnn.io import LoggedRows, ResumeLog

    names = list(baselines) if baselines is not None else select_baselines("all")
    # the paper's row order decides exact figures on its split (k-NN ties); any other protocol draws its splits
    # from the table in ModelId order, as `naapgnn evaluate` does, so that one seed tests the same architectures
    bench = df if hasattr(df, "records") else benchmark_from_table(paper_order(df) if protocol == "official" else df)
    split_list = splits(protocol, bench.y, bench.is_test, groups=bench.groups, **split_kw)
    predictors = {name: Predictor(paper_key(name), label=name) for name in names}
    missing = channels_missing(bench, names)
    wanted = [(name, k) for name in names for k in budgets
              if predictors[name].entry.applies(k) and not (k > 0 and name in missing)]
    plans = {(name, k): plan_units(predictors[name], k, protocol, len(split_list), seeds) for name, k in wanted}
    units = [u for plan in plans.values() for u in plan]
    store, split_lists = ResumeLog(resume_file, dict), {protocol: split_list}
    keys = unit_keys(bench, list(predictors.values()), units, split_lists)
    rows, _ = run_units(bench, list(predictors.values()), units, split_lists, store, jobs=n_jobs, progress=progress,
                        desc=f"baselines ({protocol})", keys=keys)
    runs = dict(zip(units, rows))
    return LoggedRows((_summary(name, k, [_metrics(runs[u], bench.y) for u in plans[(name, k)]], protocol, seeds)
                       for name, k in wanted), store, keys)


def channels_missing(bench, names: Sequence[str]) -> dict[str, list[str]]:
    """Baseline name -> the curve channels it reads that some record of ``bench`` lacks (only those with any)."""
    from naapgnn.evaluation.engine import Predictor
    from naapgnn.evaluation.evaluate import channels_lacking

    predictors = [Predictor(paper_key(name), label=name) for name in names]
    lacking = channels_lacking(bench, predictors)
    return {name: lacking[p.key] for name, p in zip(names, predictors) if p.key in lacking}


def _metrics(row: dict, y: np.ndarray) -> dict:
    """A run's metrics, and ``undefined``: why its Kendall tau is (all test targets, or all predictions, equal), or
    None."""
    return {**{k: v for k, v in row.items() if k not in RUN_FIELDS},
            "undefined": undefined_tau_reason(y[row["test"]], row["pred"])}


def _summary(name: str, budget: int, runs: list[dict], protocol: str, seeds: Sequence[int]) -> dict:
    from naapgnn.evaluation.engine import FIXED_SPLIT_PROTOCOLS, median_run
    from naapgnn.evaluation.protocols import aggregate

    if protocol == "official":
        chosen = median_run(runs)
        return {"model": name, "budget": budget, **runs[chosen], "seed": int(seeds[chosen]),
                "seed_violations": [v if np.isnan(v) else int(v) for v in (r["violations"] for r in runs)],
                "seed_mae": [float(r["mae"]) for r in runs]}
    count = {"n_splits": 1, "n_seeds": len(runs)} if protocol in FIXED_SPLIT_PROTOCOLS else {"n_splits": len(runs)}
    per_run = "seed" if protocol in FIXED_SPLIT_PROTOCOLS else "split"  # in the order of the protocol's splits
    return {"model": name, "budget": budget, **aggregate(runs), **count,
            "undefined": next((r["undefined"] for r in runs if r["undefined"]), None),
            f"{per_run}_violations": [v if np.isnan(v) else int(v) for v in (r["violations"] for r in runs)],
            f"{per_run}_mae": [float(r["mae"]) for r in runs],
            f"{per_run}_kendall_tau": [float(r["kendall_tau"]) for r in runs]}


# --- output ------------------------------------------------------------------------------


def results_frame(rows: Sequence[dict], protocol: str = "official"):
    """The CSV table: :data:`CSV_COLUMNS`, plus ``<metric>_std`` columns for
    protocols with several splits."""
    import pandas as pd

    columns = list(CSV_COLUMNS)
    if protocol != "official":
        columns += [f"{c}_std" for c in METRIC_COLUMNS]
    frame = pd.DataFrame([{c: r[c] for c in columns} for r in rows], columns=columns)
    if protocol == "official":  # a count; empty where it is undefined
        frame["violations"] = frame["violations"].astype("Int64")
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
        paper_v = int(p["NumViolations"])
        seeds = [v for v in r["seed_violations"] if not np.isnan(v)]  # NaN: a seed that predicted one value
        low, high = (min(seeds), max(seeds)) if seeds else (math.nan, math.nan)
        out.append({
            "model": r["model"], "budget": r["budget"],
            "paper_violations": paper_v,
            "violations": r["violations"] if np.isnan(r["violations"]) else int(r["violations"]),
            "violations_min": low, "violations_max": high,
            "paper_mae": float(p["MeanAbsoluteError"]), "mae": float(r["mae"]),
            "mae_min": min(r["seed_mae"]), "mae_max": max(r["seed_mae"]),
            "match": bool(paper_v == r["violations"]
                          and abs(float(p["MeanAbsoluteError"]) - float(r["mae"])) <= 1e-4 + 1e-12),
            "in_range": bool(seeds and low <= paper_v <= high),
        })
    return pd.DataFrame(out)


def markdown_frame(rows: Sequence[dict], protocol: str = "official", digits: int = 4):
    """:func:`results_frame` for baselines.md: a metric undefined on a row (NaN: every prediction, or every
    target, of a test split equal) reads "undefined" (Kendall tau's with the reason), never "nan"."""
    import pandas as pd

    frame = results_frame(rows, protocol)
    for column in frame.columns[2:]:
        if frame[column].isna().any():
            frame[column] = [(_undefined(r) if column == "kendall_tau" else "undefined") if pd.isna(v)
                             else str(v) if column == "violations" and protocol == "official"
                             else f"{v:.{digits}f}" for v, r in zip(frame[column], rows)]
    return frame


def _undefined(row: dict) -> str:
    return f"undefined ({row['undefined']})" if row.get("undefined") else "undefined"


def markdown(frame, digits: int = 4) -> str:
    """A GitHub Markdown table of a DataFrame (floats to ``digits`` decimals, booleans as yes/no)."""
    shown = frame.copy()
    for column in shown.columns:
        if shown[column].dtype == bool:
            shown[column] = shown[column].map({True: "yes", False: "no"})
    return shown.to_markdown(index=False, floatfmt=f".{digits}f") + "\n"


def _same_at_every_budget(rows: Sequence[dict]) -> bool:
    """Whether a model's rows at two or more budgets hold the same figures (a model that reads no curve)."""
    return len(rows) > 1 and all(np.array_equal([r[k] for r in rows], [rows[0][k]] * len(rows), equal_nan=True)
                                 for k in ("kendall_tau", "violations", "mae"))


def summary_text(rows: Sequence[dict], protocol: str) -> str:
    """A compact terminal table: one line per model, one column per budget.

    Official: ``violations / MAE``; other protocols: Kendall tau mean +- std
    and mean violations.
    """
    budgets = sorted({r["budget"] for r in rows})
    models = list(dict.fromkeys(r["model"] for r in rows))
    by = {(r["model"], r["budget"]): r for r in rows}
    width = max(len(m) for m in models) + 2
    texts = {key: _cell(r, protocol) for key, r in by.items()}
    cell = max([24 if protocol == "official" else 30] + [len(t) + 2 for t in texts.values()])
    head = "model".ljust(width) + "".join(f"budget {b}".rjust(cell) for b in budgets)
    what = ("violations/pairs  MAE of the median-violations seed" if protocol == "official" else
            "Kendall tau mean+-std over the runs, v: mean violations")
    lines = [f"{protocol} protocol; each cell: {what}", head, "-" * len(head)]
    for m in models:
        lines.append(m.ljust(width) + "".join(texts.get((m, b), "-").rjust(cell) for b in budgets))
    same = [m for m in models if _same_at_every_budget([by[(m, b)] for b in budgets if (m, b) in by])]
    if same:
        lines.append(f"the same figures at every budget (no curve read, or none that changed them): {', '.join(same)}")
    if protocol == "extrapolate":
        lines.append("+- is the spread over the seeds on the one extrapolate split (0 for a model that reads no seed)")
    if protocol != "official" and any(np.isnan(r["kendall_tau"]) and not r.get("undefined") for r in rows):
        lines.append("tau undefined: on some split the test targets, or the model's predictions, are all equal "
                     "(a mean over the splits is undefined where one split's is)")
    return "\n".join(lines)


def _cell(r: dict, protocol: str) -> str:
    """One model at one budget in :func:`summary_text`: violations where an order was there to count them in."""
    if np.isnan(r["violations"]):
        return f"{_undefined(r)}  {r['mae']:.4f}"
    if protocol == "official":
        return f"{int(r['violations'])}/{int(r['max_violations'])}  {r['mae']:.4f}"
    if np.isnan(r["kendall_tau"]):
        return f"tau {_undefined(r)}  v {r['violations']:.1f}"
    return f"tau {format_tau(r['kendall_tau'])}+-{r['kendall_tau_std']:.3f}  v {r['violations']:.1f}"

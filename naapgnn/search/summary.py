"""Summaries of the search studies: confidence intervals, per-training frames, efficiency and early-stopping costs.

:mod:`naapgnn.search.tables` writes them as Markdown and text,
:mod:`naapgnn.search.figures` as plots.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from naapgnn.search.problem import headline_rank


def t95(n: int) -> float:
    """The 97.5% quantile of Student's t with ``n - 1`` degrees of freedom: a 95% interval of a mean of ``n``
    values (12.7 for two, near the normal 1.96 for many; NaN for one)."""
    from scipy.stats import t

    return float(t.ppf(0.975, n - 1)) if n > 1 else math.nan


def mean_ci(values) -> tuple[float, float]:
    """Mean and half-width of its Student-t 95% confidence interval (NaN for one value)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()), math.nan
    return float(values.mean()), float(t95(len(values)) * values.std(ddof=1) / math.sqrt(len(values)))


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion (NaN, NaN for no trial)."""
    from scipy.stats import binomtest

    if n == 0:
        return math.nan, math.nan
    interval = binomtest(successes, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(interval.low), float(interval.high)


def plus_minus(mean: float, half: float, digits: int = 4) -> str:
    """``mean ± half`` with ``digits`` decimals (the mean alone when ``half`` is NaN)."""
    return f"{mean:.{digits}f}" if math.isnan(half) else f"{mean:.{digits}f} ± {half:.{digits}f}"


# --- comparison (random, evolution, predictor) ----------------------------------------


def compare_frame(result, max_trainings: int):
    """Per strategy and number of trainings: mean best accuracy (95% CI), mean
    rank of the best found, and the share of trials that found each rank target."""
    rows = []
    trials = next(iter(result.orders.values())).shape[0]
    for name in result.orders:
        curves = result.curves(name)[:, :max_trainings]
        order_ranks = np.minimum.accumulate(result.ranks[result.orders[name]], axis=1)[:, :max_trainings]
        mean = curves.mean(axis=0)
        half, rank_half = (_half_widths(values, trials) for values in (curves, order_ranks))
        for t in range(curves.shape[1]):
            row = {"strategy": name, "trainings": t + 1, "best_mean": mean[t], "best_ci": half[t],
                   "best_rank_mean": order_ranks[:, t].mean(), "best_rank_ci": rank_half[t]}
            for r, _ in result.rank_targets:
                row[f"p_rank_le_{r}"] = float((order_ranks[:, t] <= r).mean())
            rows.append(row)
    return pd.DataFrame(rows)


def _half_widths(values: np.ndarray, trials: int) -> np.ndarray:
    """Per column of ``values`` (one row per trial), the half-width of the mean's Student-t 95% interval."""
    if trials < 2:
        return np.full(values.shape[1], np.nan)
    return t95(trials) * values.std(axis=0, ddof=1) / math.sqrt(trials)


def efficiency_rows(needed) -> list[dict]:
    """Trainings each strategy needs to reach each rank target, over the trials of ``needed``
    (:func:`efficiency_frame`), in its order."""
    rows = []
    for (name, r), group in needed.groupby(["strategy", "rank_target"], sort=False):
        counts = group["trainings"].to_numpy(dtype=float)
        mean, half = mean_ci(counts)
        rows.append({"strategy": name, "rank": r, "mean": mean, "ci": half, "median": float(np.median(counts)),
                     "p90": float(np.percentile(counts, 90))})
    return rows


def efficiency_frame(result):
    """Each trial's full trainings to reach each rank target, per strategy: what :func:`efficiency_rows`
    summarises."""
    return pd.DataFrame([{"strategy": name, "rank_target": r, "trial": t, "trainings": int(n)}
                         for name in result.orders for r, _ in result.rank_targets
                         for t, n in enumerate(result.reached(name, r))])


# --- predictor-guided (Wen et al.) -----------------------------------------------------


def predictor_frame(result, problem, n_train: int, top_k: int):
    """Per trial of :func:`naapgnn.search.compare.compare_strategies`: what
    predictor-guided search (``N = n_train`` labels, then the top ``top_k``
    predicted), random search and evolution (where it ran) found with the same
    ``n_train + top_k`` trainings (best accuracy, its rank and its id)."""
    trainings = n_train + top_k
    rows = []
    for t in range(next(iter(result.orders.values())).shape[0]):
        row = {"trial": t, "n_train": n_train, "top_k": top_k, "trainings": trainings}
        for name, key in (("predictor", f"predictor N={n_train}"), ("random", "random"), ("evolution", "evolution")):
            if key not in result.orders:  # evolution, left out where no mutation neighbourhood is known
                continue
            chosen = result.orders[key][t, :trainings]
            best = chosen[np.argmax(problem.accuracy[chosen])]
            row[f"{name}_best"] = float(problem.accuracy[best])
            row[f"{name}_rank"] = int(problem.ranks[best])
            row[f"{name}_model"] = problem.records[best].id
        rows.append(row)
    return pd.DataFrame(rows)


def predictor_summary(frame, top: int = 5) -> list[dict]:
    """Per strategy: best accuracy found and mean rank (95% CIs; ``ci``, ``rank_ci``), median rank, and the
    shares of trials that found the best and a top ``top`` (Wilson 95% intervals;
    ``p_top``, ``p_top_ci``; ``top`` is :func:`headline_rank` of the space, 5 for NAAP-440)."""
    out = []
    for name in [s for s in ("predictor", "random", "evolution") if f"{s}_best" in frame]:
        best, ci = mean_ci(frame[f"{name}_best"])
        ranks = frame[f"{name}_rank"].to_numpy()
        n = len(ranks)
        rank_mean, rank_ci = mean_ci(ranks)
        out.append({"strategy": name, "best": best, "ci": ci, "rank_mean": rank_mean, "rank_ci": rank_ci,
                    "rank_median": float(np.median(ranks)), "p_best": float((ranks == 1).mean()),
                    "p_best_ci": wilson(int((ranks == 1).sum()), n), "p_top": float((ranks <= top).mean()),
                    "p_top_ci": wilson(int((ranks <= top).sum()), n)})
    return out


# --- early stopping (Baker et al.) -----------------------------------------------------


def early_stop_summary(rows, problem):
    """Per rule, budget and threshold: epochs, speed-up, regret and more, over the orders
    (``p_found_top<r>``: the share that kept a top ``r``, ``r`` = :func:`headline_rank`, 5 for NAAP-440).

    The speed-up is over training every record to its end, :attr:`SearchProblem.all_epochs` (the sum of the
    runs' own lengths: a run that stopped early counts what it ran)."""
    frame = pd.DataFrame(rows)
    top = headline_rank(problem.n)[0]
    all_epochs = problem.all_epochs
    out = []
    for (rule, budget, z), part in frame.groupby(["rule", "budget", "z"], dropna=False, sort=False):
        epochs, epochs_ci = mean_ci(part.epochs)
        regret, regret_ci = mean_ci(part.regret)
        n = len(part)
        row = {"rule": rule, "budget": int(budget), "z": z, "orders": n, "epochs": epochs,
               "epochs_ci": epochs_ci, "speedup": all_epochs / epochs,
               **_speedup_interval(all_epochs, epochs, epochs_ci, np.minimum(budget, problem.run_epochs).sum()),
               "regret": regret, "regret_ci": regret_ci}
        for name, found in (("p_found_best", part.best_rank == 1), (f"p_found_top{top}", part.best_rank <= top)):
            row[name] = float(found.mean())
            row[f"{name}_low"], row[f"{name}_high"] = wilson(int(found.sum()), n)
        row["rank_mean"], row["rank_mean_ci"] = mean_ci(part.best_rank)
        row["kept"], row["kept_ci"] = mean_ci(part.kept)
        row["stopped"] = float(part.stopped.mean())
        out.append(row)
    return pd.DataFrame(out)


def _speedup_interval(all_epochs: float, epochs: float, epochs_ci: float, least: float) -> dict:
    """The speed-up's 95% interval, read off the mean epochs' (``all_epochs`` over its ends; NaN for one order),
    its lower end no lower than ``least``, the epochs of stopping every run at the budget (or its own end), which no
    order can spend less than (a few orders' t interval reached below 0 epochs, a speed-up of infinity)."""
    if math.isnan(epochs_ci):
        return {"speedup_low": math.nan, "speedup_high": math.nan}
    return {"speedup_low": all_epochs / (epochs + epochs_ci),
            "speedup_high": all_epochs / max(epochs - epochs_ci, least, 1)}

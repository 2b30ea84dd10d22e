"""The outputs of ``naapgnn evaluate``: results.csv, runs.csv, the figures and report.md."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from naapgnn.data.naap440 import NUM_EPOCHS as FULL_TRAINING_EPOCHS
from naapgnn.evaluation.analysis import best_per_budget, good_enough_budget, headline_protocol

__all__ = ["write_outputs", "report_markdown"]


def _representative(runs: list[dict]) -> tuple[list, np.ndarray, np.ndarray | None]:
    """Test indices and predictions of one representative run (the median-violations run)."""
    from naapgnn.evaluation.engine import median_run

    run = runs[median_run(runs)]
    return run["test"], np.asarray(run["pred"]), (None if run["mae_pred"] is None else np.asarray(run["mae_pred"]))


def write_outputs(result, out, tolerance: float = 0.01) -> dict[str, Path]:
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

    labels = {p.key: p.title() for p in result.predictors}
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


def _example_panels(result, protocol: str, labels) -> list[dict]:
    from naapgnn.evaluation.metrics import kendall_tau, mae, violations

    best = best_per_budget(result.results, protocol)
    panels = []
    for budget in _example_budgets(result.budgets):
        row = best[best["budget"] == budget]
        if row.empty:
            continue
        key = row.iloc[0]["predictor"]
        runs = result.predictions[(key, budget, protocol)]
        test, pred, mae_pred = _representative(runs)
        y = result.bench.y[test]
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
    import pandas as pd

    return pd.DataFrame([[str(c) for c in row] for row in rows], columns=list(header)).to_markdown(
        index=False, disable_numparse=True) + "\n"


def _speedup(budget: int) -> str:
    return "no training" if budget == 0 else f"{FULL_TRAINING_EPOCHS / budget:.0f}x"


def report_markdown(result, paths: Mapping, tolerance: float, figure_protocol: str,
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
            rows.append([p.title(), _fmt(r.iloc[0]["kendall_tau"]), _fmt(r.iloc[0]["spearman"]),
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
              f"exponential fits of the curve extrapolated to epoch {FULL_TRAINING_EPOCHS} (the *cycle ends* variants fit only "
              "epochs 3, 6, 9, ..., the ends of the cyclic learning rate).",
              "- results.csv holds the means; runs.csv every run (split, seed) with its fit time.", ""]
    return "\n".join(lines)

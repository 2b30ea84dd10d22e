"""The outputs of ``naapgnn evaluate``: results.csv, runs.csv, the figures and report.md."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from naapgnn.evaluation.analysis import (best_label, best_per_budget, budget_edge_note, close_lead_words, close_leads,
                                         cost_definition, spent_fraction, stopped_before_note, times_faster,
                                         undefined_text)
from naapgnn.evaluation.notes import (configuration_note, cut_short_note, equal_targets_note, full_source,
                                      result_headline, small_inner_note, small_split_note, test_sizes, tie_note)

__all__ = ["write_outputs", "report_markdown"]


def _representative(runs: list[dict]) -> tuple[list, np.ndarray, np.ndarray | None]:
    """Test indices and predictions of one representative run (the median-violations run)."""
    from naapgnn.evaluation.engine import median_run

    run = runs[median_run(runs)]
    return run["test"], np.asarray(run["pred"]), (None if run["mae_pred"] is None else np.asarray(run["mae_pred"]))


def output_names() -> set[str]:
    """Every file :func:`write_outputs` may write (which of them depends on the run)."""
    from naapgnn.evaluation.protocols import PROTOCOLS

    return {"results.csv", "runs.csv", "inner_runs.csv", "advice.csv", "pred_vs_true.png", "rank_matrix.png",
            "report.md", *(f"curves_{p}.png" for p in PROTOCOLS)}


def write_outputs(result, out, tolerance: float = 0.0) -> dict[str, Path]:
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

    advice = result.advice(tolerance)
    if advice is not None:
        paths["inner_runs"] = out / "inner_runs.csv"
        write_text_atomic(paths["inner_runs"], result.inner_runs.to_csv(index=False, float_format="%.6g"))
        paths["advice"] = out / "advice.csv"
        write_text_atomic(paths["advice"], advice_table(advice).to_csv(index=False, float_format="%.6g"))
    labels = {p.key: p.title() for p in result.predictors}
    kinds = {p.key: p.kind for p in result.predictors}
    for protocol in result.protocols:
        sub = result.runs[result.runs["protocol"] == protocol]
        paths[f"curves_{protocol}"] = plots.plot_budget_curves(
            result.results, protocol, labels, kinds, out / f"curves_{protocol}.png",
            max_violations=float(sub["max_violations"].max()) if len(sub) else None,
            full_epochs=result.full_epochs, run_epochs=result.run_epochs)

    figure_protocol = "official" if "official" in result.protocols else result.protocols[0]
    panels = _example_panels(result, figure_protocol, labels)
    if panels:
        paths["pred_vs_true"] = plots.plot_pred_vs_true(panels, out / "pred_vs_true.png")
        paths["rank_matrix"] = plots.plot_rank_matrix(panels, out / "rank_matrix.png")
    paths["report"] = out / "report.md"
    write_text_atomic(paths["report"], report_markdown(result, paths, tolerance, figure_protocol, labels))
    return paths


ADVICE_COLUMNS = ("protocol", "outer_split", "budget", "predictor", "kendall_tau", "kendall_tau_std", "mae", "mae_std",
                  "best_budget", "best_predictor", "best_kendall_tau", "best_kendall_tau_std", "margin",
                  "saved", "test_kendall_tau", "test_mae", "reference_test_kendall_tau")
"""advice.csv: one row per outer training split; kendall_tau/mae (and best_*) are inner-fold means and stds."""


def advice_table(advice: dict):
    """The per-split choices of :func:`naapgnn.evaluation.analysis.advise` as advice.csv's rows."""
    import pandas as pd

    rows = [{**c, "protocol": advice.get("protocol", "")} for c in advice["choices"]]
    return pd.DataFrame(rows, columns=list(ADVICE_COLUMNS))


def _example_budgets(budgets: Sequence[int]) -> list[int]:
    chosen = [b for b in (0, 3) if b in budgets]
    if len(chosen) < 2:
        chosen = sorted({min(budgets), max(budgets)})
    return chosen


def _example_panels(result, protocol: str, labels) -> list[dict]:
    from naapgnn.evaluation.metrics import all_metrics, format_tau, kendall_tau, mae

    best = best_per_budget(result.results, protocol)
    target = "MaxAccuracy" if hasattr(result.bench.table, "columns") else "the records' target"  # NAAP-440's frame
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
        count = all_metrics(y, pred, ks=())["violations"]  # NaN: one value predicted, no order to count in
        count = "undefined (one value predicted)" if math.isnan(count) else f"{count} of {len(y) * (len(y) - 1) // 2}"
        note = f"Kendall tau {format_tau(kendall_tau(y, pred))}\nviolations {count}\nMAE {mae(y, shown):.4f}"
        if len(runs) > 1:
            note += f"\n(median-violations run of {len(runs)})"
        if mae_pred is not None:
            note += "\n(score mapped to accuracy by\na line fitted on the training split)"
        when = "no training (0 epochs)" if budget == 0 else f"after {budget} epoch{'s' * (budget > 1)}"
        panels.append({"title": f"{labels.get(key, key)}\n{when}, {protocol} test split", "y_true": y,
                       "y_pred": shown, "note": note, "predictor": key, "budget": budget, "target": target})
    return panels


def _fmt(v, digits=3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a" if digits > 1 else "undefined"  # violations (0 or 1 digits): no order to count them in
    return f"{v:.{digits}f}"


def _tau(result, row, protocol: str) -> str:
    """A results row's Kendall tau, mean ± std, or "undefined (why)" (never "n/a")."""
    if math.isnan(row["kendall_tau"]):
        return undefined_text(result, row["predictor"], int(row["budget"]), protocol)
    return _pm(row["kendall_tau"], row["kendall_tau_std"])


def _pm(mean, std, digits=3) -> str:
    """``mean ± std``; the mean alone when there is no spread (a single run)."""
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return _fmt(mean, digits)
    return f"{_fmt(mean, digits)} ± {std:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    import pandas as pd

    return pd.DataFrame([[str(c) for c in row] for row in rows], columns=list(header)).to_markdown(
        index=False, disable_numparse=True) + "\n"


def _spent(budget: int, full_epochs: int | None, run_epochs=None) -> str:
    if not full_epochs:
        return "0%" if budget == 0 else "n/a"
    return f"{100 * spent_fraction(budget, full_epochs, run_epochs):.1f}%"


def _speedup(budget: int, full_epochs: int | None, run_epochs=None) -> str:
    if budget == 0:
        return "no training"
    return times_faster(1 / spent_fraction(budget, full_epochs, run_epochs)) if full_epochs else "n/a"


def _run_seconds(runs, inner_runs) -> str:
    """What the runs' ``seconds`` columns add up to, test runs and inner runs apart."""
    inner = "" if inner_runs is None or inner_runs.empty else (
        f", {inner_runs['seconds'].sum():.0f} s over the {len(inner_runs)} inner runs (`inner_runs.csv`)")
    return (f"The runs' seconds (fit and prediction, each as if fitted alone: a run at budget k that reused the "
            f"graph part fitted at another budget counts that fit too) add up to {runs['seconds'].sum():.0f} s over "
            f"the {len(runs)} test runs (`runs.csv`){inner}.")


def _epochs(budget: int) -> str:
    return f"{budget} epoch{'s' * (budget != 1)}"


def _over(protocol: str) -> str:
    from naapgnn.evaluation.engine import FIXED_SPLIT_PROTOCOLS

    return "seeds (one fixed split)" if protocol in FIXED_SPLIT_PROTOCOLS else "splits"


def _advice_lines(result, advice, tolerance, lab) -> list[str]:
    """The answer: chosen on the inner folds, then scored on the test architectures."""
    protocol, full = result.advice_protocol, result.full_epochs
    if advice is None:
        return ["No budget advice: no inner folds were run (`--inner-folds 0`); the tables below are test "
                "results, not advice.", ""]
    b = advice["budget"]
    if b == 0:
        head = (f"**No training at all: 0 epochs** (saves 100% of the "
                f"{full or 'full'}-epoch training of every candidate; the only cost is fitting the predictor once).")
    elif full:
        whose = "every candidate" if result.run_epochs is None else "the candidates, each run its own length"
        head = (f"**Train {b} epoch{'s' * (b > 1)} of {full}** (saves {100 * advice['saved']:.1f}% of the training "
                f"of {whose}: a {times_faster(advice['speedup'])} speed-up).")
    else:
        head = f"**Train {b} epoch{'s' * (b > 1)}.**"
    where = ("the records not marked \"test\" (the official training split)" if protocol == "official"
             else f"the training part of each `{protocol}` split")
    first = advice["choices"][0]
    rule = (f"Chosen on {advice['n_inner']} seeded folds inside {where}, never on a test architecture: per budget "
            f"the predictor with the best mean Kendall tau over the inner folds; the advice is the smallest budget "
            f"whose mean is within the spread (std over the inner folds) of the best budget's mean")
    rule += f", or within --tolerance {tolerance:g} when larger." if tolerance > 0 else "."
    lines = [head, "", rule, ""]
    if advice["n_outer"] == 1:
        lines += [f"- Best budget on the inner folds: {_epochs(first['best_budget'])}, {lab(first['best_predictor'])}, "
                  f"Kendall tau {_pm(first['best_kendall_tau'], first['best_kendall_tau_std'])}; margin "
                  f"{first['margin']:.3f}."]
    else:
        counts = {}
        for c in advice["choices"]:
            counts[c["budget"], c["predictor"]] = counts.get((c["budget"], c["predictor"]), 0) + 1
        lines += [f"- Each of the {advice['n_outer']} `{protocol}` training splits chose its own budget and "
                  "predictor: " + ", ".join(f"{_epochs(k)} with {lab(p)} in {n}" for (k, p), n in sorted(
                      counts.items(), key=lambda item: (item[0][0], -item[1])))
                  + f"; {_majority(advice, lab)}"]
    edge = budget_edge_note(advice, result.budgets, result.bench.max_epochs, result.run_epochs)
    small = small_inner_note(result, advice)
    lines += [f"- {edge}"] if edge else []
    lines += [f"- Note: {small}."] if small else []
    lines += [f"- Advice: {_epochs(b)} with {lab(advice['predictor'])}: inner Kendall tau "
              f"{_pm(advice['inner_kendall_tau'], advice['inner_kendall_tau_std'])}, MAE "
              f"{_pm(advice['inner_mae'], advice['inner_mae_std'], 4)} (mean ± std over the inner folds).", "",
              f"**How the advice fares on the test architectures** (`{protocol}` protocol, mean ± std over "
              f"{_over(protocol)}; each split scored with the choice made inside its own training part): Kendall "
              f"tau {_pm(advice['test_kendall_tau'], advice['test_kendall_tau_std'])}, MAE "
              f"{_pm(advice['test_mae'], advice['test_mae_std'], 4)}. " + _hindsight(advice, lab), ""]
    return lines


def _fits_per_split(result) -> str:
    """How many fits each protocol run makes: seeds on a fixed split, one per split otherwise."""
    from naapgnn.evaluation.engine import FIXED_SPLIT_PROTOCOLS

    fixed = [p for p in result.protocols if p in FIXED_SPLIT_PROTOCOLS]
    per_split = [p for p in result.protocols if p not in fixed]
    parts = [f"{' and '.join(fixed)} fit{'s' * (len(fixed) == 1)} every seeded predictor with {len(result.seeds)} "
             f"seed(s) ({', '.join(map(str, result.seeds))}) on a fixed split"] if fixed else []
    parts += [f"{' and '.join(per_split)} fit{'s' * (len(per_split) == 1)} once per split"] if per_split else []
    return "; ".join(parts)[:1].upper() + "; ".join(parts)[1:] + "."


def _majority(advice: dict, lab) -> str:
    """How the advice follows from the splits' choices: the budget chosen most often, the predictor chosen most
    often at it, and whether that budget had a majority of the splits."""
    b, n = advice["budget"], advice["n_outer"]
    budgets = [c["budget"] for c in advice["choices"]]
    at_b = budgets.count(b)
    tie = " (the smaller on a tie)" if sum(budgets.count(k) == at_b for k in set(budgets)) > 1 else ""
    names = [c["predictor"] for c in advice["choices"] if c["budget"] == b]
    tied = [lab(p) for p in dict.fromkeys(names) if p != advice["predictor"] and names.count(p) == advice["agree"]]
    tied_words = f" (tied with {', '.join(tied)}; the first chosen on a tie)" if tied else ""
    text = (f"the advice is the budget chosen most often, {_epochs(b)} in {at_b} of {n}{tie}, "
            f"with the predictor chosen most often at it, {lab(advice['predictor'])} in {advice['agree']} of "
            f"{at_b}{tied_words}.")
    if 2 * at_b <= n:
        text += (f" No budget was chosen by a majority of the splits (they chose {min(budgets)} to {max(budgets)} "
                 "epochs): on this benchmark the advice is no stable answer, but one of several close ones.")
    return text


def _split_sizes(result) -> str:
    """``official 400 / 40; repeated 181-182 / 18-19``: each protocol's training / test sizes over its runs."""
    n = len(result.bench.records)
    out = []
    for protocol in result.protocols:
        tests = test_sizes(result, protocol)
        out.append(f"{protocol} {_span([n - t for t in tests])} / {_span(tests)}")
    return "; ".join(out)


def _span(values) -> str:
    """``"40"`` when the counts are all equal, else ``"153-171"``."""
    values = [int(v) for v in values]
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def _inner_table(result, lab) -> list[str]:
    from naapgnn.evaluation.analysis import best_per_budget, summarize_runs

    if result.inner_runs is None or result.inner_runs.empty:
        return []
    best = best_per_budget(summarize_runs(result.inner_runs))
    rows = [[int(r["budget"]), _spent(int(r["budget"]), result.full_epochs, result.run_epochs), lab(r["predictor"]),
             _pm(r["kendall_tau"], r["kendall_tau_std"]), _pm(r["violations"], r["violations_std"], 1),
             _pm(r["mae"], r["mae_std"], 4), int(r["n_runs"])] for _, r in best.iterrows()]
    return [f"## Where the advice comes from: inner folds of the `{result.advice_protocol}` training split(s)", "",
            "Best predictor per budget, mean ± std over the inner folds (no test architecture involved):", "",
            _table(["epochs", "training spent", "best predictor", "Kendall tau", "violations", "MAE", "runs"], rows)]


def _hindsight(advice: dict, lab) -> str:
    if "hindsight_budget" not in advice:
        return "Kendall tau is undefined on every test split (nothing to rank), so no best result in hindsight."
    return (f"For comparison only, the best result on the test architectures at any budget, picked in hindsight: "
            f"{lab(advice['hindsight_predictor'])} after {_epochs(advice['hindsight_budget'])}, Kendall tau "
            f"{_pm(advice['hindsight_kendall_tau'], advice['hindsight_kendall_tau_std'])}.")


def report_markdown(result, paths: Mapping, tolerance: float, figure_protocol: str,
                    labels: Mapping[str, str]) -> str:
    """The human-readable report (see :func:`write_outputs`)."""
    res, runs = result.results, result.runs
    headline = result_headline(result)
    full = result.full_epochs
    n_pairs = _span(runs[runs["protocol"] == headline]["max_violations"])  # pairs per test split
    lab = lambda k: labels.get(k, k)  # noqa: E731
    lines = ["# How many epochs must an architecture train before its final accuracy can be predicted?", ""]
    lines += _advice_lines(result, result.advice(tolerance), tolerance, lab)
    lines += ["## Setup", "", f"- Data: {result.bench.name}.",
              f"- Protocols: {', '.join(result.protocols)}. {_fits_per_split(result)} Every number is a mean over "
              "those runs, ± its std (no ± : a single run, a deterministic predictor on a fixed split).",
              f"- Architectures per split, training / test: {_split_sizes(result)}.",
              *[f"- Note: {note}." for note in [small_split_note(result), tie_note(result), equal_targets_note(result)]
                if note],
              *[f"- Repeated runs: {text}." for text in [result.bench.repeated_configurations()] if text],
              f"- Full training: {full} epochs ({full_source(result)}); training spent = "
              f"{'budget / ' + str(full) if result.run_epochs is None else 'as defined below (runs stopped early)'}."
              if full else "- The benchmark has no training curves: budget 0 only.",
              *[f"- Note: {note}." for note in [cut_short_note(result), stopped_before_note(result.budgets,
                                                                                         result.run_epochs)] if note],
              f"- Budget advice: {result.inner_folds} folds inside each `{headline}` training split "
              f"({len(result.inner_runs) if result.inner_runs is not None else 0} inner runs)."
              if result.inner_folds else "- Budget advice: not run (--inner-folds 0).",
              f"- Zero-cost images (NASWOT): {result.bench.zero_cost_source or 'not used'}.",
              *_left_out_lines(result),
              f"- This invocation: {result.computed} runs computed, {result.reused} reused from the cache, "
              f"{result.wall_seconds:.0f} s wall time. {_run_seconds(runs, result.inner_runs)}", ""]

    lines += _inner_table(result, lab)
    lines += [f"## Best predictor at each budget on the test architectures (`{headline}` protocol, mean ± std over "
              f"{_over(headline)})", "",
              ("Read after the advice was fixed; choosing" if result.inner_folds else "No advice was chosen "
               "(--inner-folds 0); choosing") + " a budget from this table would be choosing on the test "
              "architectures.", ""]
    rows, runs_of = [], result.run_epochs
    for _, r in best_per_budget(res, headline).iterrows():
        budget = int(r["budget"])
        rows.append([budget, _spent(budget, full, runs_of), _speedup(budget, full, runs_of),
                     best_label(r, lab(r["predictor"])),
                     _tau(result, r, headline), f"{_pm(r['violations'], r['violations_std'], 1)} / {n_pairs}",
                     _pm(r["mae"], r["mae_std"], 4),
                     _pm(r["precision_at_5"], r["precision_at_5_std"], 2),
                     _pm(r["precision_at_10"], r["precision_at_10_std"], 2),
                     _pm(r["top5_regret"], r["top5_regret_std"], 4)])
    lines.append(_table(["epochs", "training spent", "speed-up per architecture", "best predictor", "Kendall tau",
                         "violations", "MAE", "precision@5", "precision@10", "top-5 regret"], rows))
    leads = [close_lead_words(lead, lab).replace("+-", "±") for lead in close_leads(res, runs, headline)]
    lines += [f"Note: {text}.\n" for text in [*leads, configuration_note(result, str, "±")] if text]

    for protocol in result.protocols:
        lines += [f"## Kendall tau / violations by predictor (mean ± std over {_over(protocol)}) "
                  f"(`{protocol}` protocol)", ""]
        psub = res[res["protocol"] == protocol]
        header = ["predictor"] + [f"{b} ep" for b in result.budgets]
        rows = []
        for key in dict.fromkeys(psub["predictor"]):
            cells = [lab(key)]
            for budget in result.budgets:
                r = psub[(psub["predictor"] == key) & (psub["budget"] == budget)]
                if r.empty:
                    cells.append("")
                    continue
                count, spread = r.iloc[0]["violations"], r.iloc[0]["violations_std"]
                digits = 0 if float(count).is_integer() and not spread > 0 else 1  # a mean keeps its half: 472.5
                cells.append(f"{_tau(result, r.iloc[0], protocol)} / {_pm(count, spread, digits)}")
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
            row = r.iloc[0]
            rows.append([p.title(), _pm(row["kendall_tau"], row["kendall_tau_std"]),
                         _pm(row["spearman"], row["spearman_std"]), _pm(row["violations"], row["violations_std"], 1),
                         _pm(row["mae"], row["mae_std"], 4), f"{1000 * secs:.0f} ms"])
        lines.append(_table(["score", "Kendall tau", "Spearman", "violations", "MAE (line fit)",
                             "time per architecture"], rows))

    fit = runs.groupby(["predictor"], sort=False)["seconds"].mean()
    lines += ["## Cost of the predictors", "",
              "Mean seconds per run (fit on the training split and predict the test split) on this machine:", ""]
    once = {p.key: f" + {1000 * result.bench.zero_cost_seconds.get(p.config['score'], math.nan):.0f} ms per "
            "architecture, scored once before the runs" for p in zc}  # a run reads the scores
    lines.append(_table(["predictor", "seconds per run"],
                        [[lab(k), f"{v:.2f}{once.get(k, '')}"] for k, v in fit.items()]))
    lines += ["## Definitions", "",
              "- **Budget**: epochs of the training curve a predictor reads (0 = the architecture alone). "
              + cost_definition(full, result.run_epochs),
              "- **Violations**: pairs of test architectures whose predicted order contradicts the true order "
              "(the paper's count); monotonicity score = 1 - violations / pairs.",
              "- **Kendall tau / Spearman**: rank correlation of predictions with the true final accuracy.",
              "- **precision@k**: share of the true top-k found in the predicted top-k. **top-5 regret**: true "
              "accuracy of the best architecture minus the best true accuracy among the predicted top 5.",
              *_heuristics_definition(set(runs["predictor"]), full),
              "- results.csv holds the means and, in `<metric>_std`, the std over runs (`n_runs`); runs.csv every "
              "run (split, seed) with its fit time; advice.csv the advice of every training split (inner "
              "folds) and its test score; inner_runs.csv every inner run.", ""]
    return "\n".join(lines)


def _heuristics_definition(ran: set, full) -> list[str]:
    """The definition of the curve heuristics, where some ran (their cycle variants, where those did)."""
    if not any(key.startswith("curve_") for key in ran):
        return []
    cycle = (" (the *cycle ends* variants fit only epochs 3, 6, 9, ..., the ends of the cyclic learning rate)"
             if any(key.endswith("_cycle") for key in ran) else "")
    return ["- **Curve heuristics** learn nothing: last observed accuracy, best so far, and power-law / exponential "
            f"fits of the curve extrapolated to epoch {full or 'the curve end'}{cycle}."]


def _left_out_lines(result) -> list[str]:
    """A line per zero-cost predictor left out for its time, per predictor left out at every budget for the
    networks it cannot read, and per predictor left out at budgets >= 1 for a curve channel the benchmark lacks."""
    from naapgnn.evaluation.analysis import reads_lacking
    from naapgnn.evaluation.evaluate import channels_lacking

    lines = [f"- Left out: `{key}`, whose zero-cost scores were projected to take {seconds / 60:.0f} min here "
             "(`--zc-max-minutes`; name it in `--predictors` to run it)."
             for key, seconds in result.zero_cost_skipped.items()]
    lines += [f"- Left out: `{key}`: {why}." for key, why in result.unfit.items()]
    if not any(b > 0 for b in result.budgets):
        return lines
    return lines + [f"- Left out at budgets >= 1: `{key}`, which {reads_lacking(result.bench.records, missing)}."
                    for key, missing in channels_lacking(result.bench, result.predictors).items()]

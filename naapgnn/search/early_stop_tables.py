"""The early-stopping study as text (Baker et al. 2018): its report (``OUT/early_stop.md``) and what ``naapgnn
search`` prints for it; the other strategies' are :mod:`naapgnn.search.tables`."""
from __future__ import annotations

import math

from naapgnn.search.settings import SearchSettings
from naapgnn.search.summary import plus_minus
from naapgnn.search.tables import few_trials_note, markdown_table, predictor_label, share_interval, top_text


def _setting(row) -> str:
    if row.rule == "curve":
        return "curve rule (no predictor)"
    return f"predictor, z = {row.z:g}"


def early_stop_markdown(summary, settings: SearchSettings, problem, cyclic: bool = True) -> str:
    """The early-stopping report (``early_stop.md``; ``cyclic``: see :func:`predictor_label`)."""
    all_epochs = problem.all_epochs
    top, words = top_text(problem.n)
    rows = [["train all", "–", f"{all_epochs:,}", "1.00×", "0.00", "100%", "100%", "1.0", f"{problem.n}"]]
    for r in summary.itertuples():
        rows.append([_setting(r), r.budget, _epochs(r), _speedup(r), plus_minus(100 * r.regret, 100 * r.regret_ci, 2),
                     _share(r, "p_found_best"), _share(r, f"p_found_top{top}"),
                     plus_minus(r.rank_mean, r.rank_mean_ci, 1), plus_minus(r.kept, r.kept_ci, 1)])
    budget_text = "budget k: architecture + first k epochs"
    note = warmup_only_note(summary, settings.warmup)
    return "\n".join([
        f"# Early stopping from partial curves on {problem.name} (Baker et al. 2018)",
        "",
        f"All {problem.n} architectures arrive one at a time in a random order ({settings.trials} orders, shared by "
        f"every setting). The first {settings.warmup} are trained to the end and label the predictor. Each later "
        f"candidate is trained for k epochs; the predictor (architecture + first k epochs) gives a mean and a "
        f"standard deviation, and the candidate is stopped when mean + z × std < the best final accuracy so "
        f"far. {_kept_cost_words(problem)}; kept candidates join the "
        f"predictor's training set, refitted whenever it has grown by half. Regret = best accuracy of all "
        f"({problem.best:.4f}) − best accuracy found, in percentage points. The curve rule needs no "
        f"predictor: stop when the accuracy at epoch k is below that of the best kept candidate at epoch k. "
        f"± is the 95% confidence interval of the mean over orders; in brackets, the speed-up's (read off the "
        f"mean epochs') and the shares' (Wilson).",
        *(["", few] if (few := few_trials_note(settings.trials)) else []),
        "",
        f"Predictor: {predictor_label(settings.predictor, budget_text, cyclic=cyclic)}.",
        "",
        markdown_table(["setting", "k", "total epochs", "speed-up", "regret (pp)", "found the best",
                   f"found a top {top}", "mean rank found", "kept"], rows),
        "",
        *([note, ""] if note else []),
        "Plot: `early_stop.png`; per order: `early_stop.csv`; this table: `early_stop_summary.csv`.",
        "",
        f"Command: `{settings.command()}`",
        "",
    ])


def early_stop_stdout(summary, settings: SearchSettings, problem) -> str:
    """What ``naapgnn search`` prints for early stopping."""
    lines = [f"early stopping, {settings.trials} random order{'s' * (settings.trials != 1)}, predictor: "
             f"{settings.predictor}, "
             f"train-all cost {problem.all_epochs:,} epochs"
             + ("" if problem.equal_runs else f" (runs of {problem.run_epochs.min()} to {problem.full_epochs} epochs)"),
             f"{'setting':<28}{'k':>3}{'epochs (95% CI)':>20}{'speed-up (95% CI)':>24}{'regret pp (95% CI)':>22}"
             f"{'found best (95% CI)':>23}"]
    for r in summary.itertuples():
        lines.append(f"{_setting(r):<28}{r.budget:>3}{_epochs(r):>20}{_speedup(r):>24}"
                     f"{plus_minus(100 * r.regret, 100 * r.regret_ci, 2):>22}{_share(r, 'p_found_best'):>23}")
    note = warmup_only_note(summary, settings.warmup)
    lines[1:1] = [f"note: {few}"] if (few := few_trials_note(settings.trials)) else []
    return "\n".join(lines + ([f"note: {note}"] if note else []))


def _epochs(row) -> str:
    """The mean total epochs ± its 95% interval (alone for one order)."""
    return f"{row.epochs:,.0f} ± {row.epochs_ci:,.0f}" if row.orders > 1 else f"{row.epochs:,.0f}"


def _speedup(row) -> str:
    """The speed-up with its 95% interval in brackets (alone for one order)."""
    if math.isnan(row.speedup_low):
        return f"{row.speedup:.2f}×"
    return f"{row.speedup:.2f}× ({row.speedup_low:.2f}–{row.speedup_high:.2f})"


def _share(row, name: str) -> str:
    """A share of orders with its Wilson 95% interval in brackets."""
    low, high = getattr(row, f"{name}_low"), getattr(row, f"{name}_high")
    return share_interval(getattr(row, name), (low, high))


def warmup_only_note(summary, warmup: int) -> str:
    """A sentence naming the settings that kept no candidate after the warm-up in any order ("" if none): their
    rows give the best of the first ``warmup`` candidates, not a choice of the rule at that budget."""
    rows = [f"{_setting(r)} at k = {r.budget}" for r in summary.itertuples() if r.kept <= warmup]
    if not rows:
        return ""
    return (f"kept no candidate after the first {warmup} in any order: {'; '.join(rows)}; those rows give the best "
            f"of the first {warmup}, not a choice of the rule at that budget.")


def _kept_cost_words(problem) -> str:
    """What a stopped and a kept candidate cost: ``k`` and ``full_epochs`` epochs when every run went the full
    length; else ``k`` and its run's length (a run over by epoch ``k`` is kept), with the spread of the lengths."""
    if problem.equal_runs:
        return f"A stopped candidate costs k epochs, a kept one {problem.full_epochs}"
    short = int((problem.run_epochs < problem.full_epochs).sum())
    return (f"A stopped candidate costs k epochs, a kept one its run's length (a run over by epoch k is "
            f"kept): {short} of the {problem.n} runs stopped early on their own, so a run lasts "
            f"{problem.run_epochs.min()} to {problem.full_epochs} epochs and training all costs "
            f"{problem.all_epochs:,}")

"""Tables, Markdown and figures of the search simulations (``naapgnn search``).

:mod:`naapgnn.search.simulate` replays the strategies; this module summarises their
results: best accuracy found against trainings spent with 95% confidence
intervals, the trainings needed to reach the top architectures, the rank of
what predictor-guided search found, and the cost and regret of early stopping.
"""
from __future__ import annotations

import math

TABLE_TRAININGS = (10, 20, 30, 50, 75, 100, 150, 200, 300)
_PLOT_NAMES = {"forest": "per-layer forest", "gnn": "GNN"}
Z95 = 1.959964


def predictor_label(kind: str, budget_text: str = "budget 0, architecture only", fast: bool = True) -> str:
    if kind == "forest":
        curve = " + cycle-aligned curve features, trees fit the gain over the best epoch so far" \
            if budget_text != "budget 0, architecture only" else ""
        return (f"per-layer random forest (naapgnn.search.simulate.ForestPredictor: 64 trees on per-block features"
                f"{curve}; uncertainty = spread of the trees), {budget_text}")
    if fast:
        from naapgnn.search.simulate import GNN_FAST

        setting = ", ".join(f"{k}={v}" for k, v in GNN_FAST.items() if k not in ("progress", "n_threads"))
        return (f"GNNPredictor (naapgnn.models.gnn) in the fast simulation setting ({setting}; other "
                f"hyperparameters at their defaults; uncertainty = spread of its ensemble), {budget_text}")
    return f"GNNPredictor (naapgnn.models.gnn; uncertainty = spread of its ensemble), {budget_text}"


# --- statistics -------------------------------------------------------------------------


def mean_ci(values) -> tuple[float, float]:
    """Mean and half-width of its normal 95% confidence interval (NaN for one value)."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()), math.nan
    return float(values.mean()), float(Z95 * values.std(ddof=1) / math.sqrt(len(values)))


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    denom = 1 + Z95 ** 2 / n
    centre = (p + Z95 ** 2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / denom
    return centre - half, centre + half


def plus_minus(mean: float, half: float, digits: int = 4) -> str:
    return f"{mean:.{digits}f}" if math.isnan(half) else f"{mean:.{digits}f} ± {half:.{digits}f}"


def _md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --- comparison (random, evolution, predictor) -------------------------------------------


def _rank_label(rank: int, n: int) -> str:
    if rank == 1:
        return "the best"
    return f"top {rank} ({100 * rank / n:.0f}%)"


def compare_frame(result, max_trainings: int):
    """Per strategy and number of trainings: mean best accuracy (95% CI), mean
    rank of the best found, and the share of trials that found each rank target."""
    import numpy as np
    import pandas as pd

    from naapgnn.search.simulate import RANK_TARGETS

    rows = []
    trials = next(iter(result.orders.values())).shape[0]
    for name in result.orders:
        curves = result.curves(name)[:, :max_trainings]
        order_ranks = np.minimum.accumulate(result.ranks[result.orders[name]], axis=1)[:, :max_trainings]
        mean = curves.mean(axis=0)
        half = Z95 * curves.std(axis=0, ddof=1) / math.sqrt(trials) if trials > 1 else np.full_like(mean, np.nan)
        for t in range(curves.shape[1]):
            row = {"strategy": name, "trainings": t + 1, "best_mean": mean[t], "best_ci": half[t],
                   "best_rank_mean": order_ranks[:, t].mean()}
            for r in RANK_TARGETS:
                row[f"p_rank_le_{r}"] = float((order_ranks[:, t] <= r).mean())
            rows.append(row)
    return pd.DataFrame(rows)


def efficiency_rows(result) -> list[dict]:
    """Trainings each strategy needs to reach each rank target (over trials)."""
    import numpy as np

    from naapgnn.search.simulate import RANK_TARGETS

    rows = []
    for name in result.orders:
        for r in RANK_TARGETS:
            needed = result.reached(name, r)
            mean, half = mean_ci(needed)
            rows.append({"strategy": name, "rank": r, "mean": mean, "ci": half, "median": float(np.median(needed)),
                         "p90": float(np.percentile(needed, 90))})
    return rows


def _checkpoints(max_t: int) -> list[int]:
    points = [t for t in TABLE_TRAININGS if t <= max_t]
    return points if max_t in points else points + [max_t]


def _cell(frame, name: str, t: int, column: str, fmt: str, result) -> str:
    if t <= result.n_train.get(name, 0):
        return "–"  # still the predictor's random labelling phase
    row = frame[(frame.strategy == name) & (frame.trainings == t)].iloc[0]
    if column == "best":
        return plus_minus(row.best_mean, row.best_ci)
    return fmt.format(row[column])


def compare_markdown(result, frame, eff, args, problem, max_t) -> str:
    trials = args.trials
    points = _checkpoints(max_t)
    names = list(result.orders)
    header = ["strategy"] + [f"{t}" for t in points]
    best_rows = [[n] + [_cell(frame, n, t, "best", "", result) for t in points] for n in names]
    rank_rows = [[n] + [_cell(frame, n, t, "best_rank_mean", "{:.1f}", result) for t in points] for n in names]
    top5_rows = [[n] + [_cell(frame, n, t, "p_rank_le_5", "{:.0%}", result) for t in points] for n in names]
    eff_rows = [[r["strategy"], _rank_label(r["rank"], problem.n), plus_minus(r["mean"], r["ci"], 1),
                 f"{r['median']:.0f}", f"{r['p90']:.0f}"] for r in eff]
    parts = [
        f"# Search strategies on NAAP-440 ({args.strategy})",
        "",
        f"Simulated on the {problem.n} NAAP-440 architectures: \"training\" one reads its final accuracy "
        f"(MaxAccuracy) and costs one full training (90 epochs). {trials} trials (seeds "
        f"`default_rng([{args.seed}, t])`, t = 0..{trials - 1}); ± is the 95% confidence interval of the mean. "
        f"Best architecture overall: {problem.best:.4f}.",
        "",
        "Strategies:",
        "",
    ]
    if "random" in result.orders:
        parts.append("- **random**: architectures in a random order.")
    if "evolution" in result.orders:
        parts.append(f"- **evolution**: regularized (aging) evolution, Real et al. 2019, population P = "
                     f"{args.population}, sample S = {args.sample} (theirs: 100 and 25 over 20,000 models; "
                     "scaled to this space of 440). A mutation changes one block's kernel, width, stride or "
                     "residual, or adds or removes the last block; only schemes of the NAAP-440 space are "
                     "kept. A child already trained is redrawn, so every training is a new architecture.")
    if result.n_train:
        parts.append(f"- **predictor N=...**: Wen et al. 2020: N random architectures are trained and label "
                     f"the predictor, which ranks all the others; they are then trained from the top down. "
                     f"Predictor: {predictor_label(args.predictor)}; fitted once per trial. Its cells "
                     f"for t <= N are marked – (random phase; their cost is included in t).")
    parts += [
        "",
        "## Best accuracy found versus full trainings (mean ± 95% CI)",
        "",
        _md_table(header, best_rows),
        "",
        "## Mean rank (among all) of the best architecture found",
        "",
        _md_table(header, rank_rows),
        "",
        "## Share of trials that have trained a top-5 architecture (top 1% of 440)",
        "",
        _md_table(header, top5_rows),
        "",
        "## Sample efficiency: full trainings needed to reach the target",
        "",
        "Over all trials (every strategy eventually trains the whole space, so the count always exists).",
        "",
        _md_table(["strategy", "target", "mean ± 95% CI", "median", "90th pct"], eff_rows),
        "",
        f"Plot: `{args.strategy}.png`; every number: `{args.strategy}.csv`. Simulation time {result.seconds:.1f} s.",
        "",
        f"Command: `{_command(args)}`",
        "",
    ]
    return "\n".join(parts)


def compare_stdout(frame, eff, result, args, problem, max_t) -> str:
    lines = [f"{args.trials} trials, predictor: {args.predictor}; best overall {problem.best:.4f}",
             "best accuracy found (mean ± 95% CI) after t full trainings:"]
    points = [t for t in (20, 50, 100, 200) if t <= max_t]
    lines.append(f"{'strategy':<18}" + "".join(f"{'t=' + str(t):>20}" for t in points))
    for name in result.orders:
        lines.append(f"{name:<18}" + "".join(f"{_cell(frame, name, t, 'best', '', result):>20}" for t in points))
    lines.append("full trainings to reach a top-5 architecture (top 1%): mean ± 95% CI, median")
    for r in eff:
        if r["rank"] == 5:
            lines.append(f"  {r['strategy']:<18}{plus_minus(r['mean'], r['ci'], 1):>14}   median {r['median']:.0f}")
    return "\n".join(lines)


def _command(args) -> str:
    parts = ["naapgnn search", f"--strategy {args.strategy}"]
    if args.strategy in ("predictor", "compare") and args.n_train:
        parts.append("--n-train " + " ".join(str(v) for v in args.n_train))
    if args.strategy == "predictor":
        parts.append(f"--top-k {args.top_k}")
    if args.strategy != "enlarged":
        parts.append(f"--trials {args.trials}")
    if args.budget:
        parts.append("--budget " + " ".join(str(b) for b in args.budget))
    if args.strategy == "early-stop":
        parts.append("--thresholds " + " ".join(f"{z:g}" for z in args.thresholds))
    parts += [f"--predictor {args.predictor}", f"--seed {args.seed}"]
    if args.strategy == "enlarged" and args.checkpoint:
        parts.append(f"--checkpoint {args.checkpoint}")
    return " ".join(parts)


def _style(name: str, i: int) -> dict:
    colours = {"random": "tab:gray", "evolution": "tab:orange"}
    others = ["tab:blue", "tab:green", "tab:purple", "tab:red", "tab:brown", "tab:cyan"]
    return {"color": colours.get(name, others[i % len(others)])}


def _styles(names) -> dict:
    predictors = [n for n in names if n not in ("random", "evolution")]
    return {n: _style(n, predictors.index(n) if n in predictors else 0) for n in names}


def plot_compare(frame, result, path, problem, predictor: str = "forest") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from naapgnn.io import atomic_path

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    styles = _styles(list(result.orders))
    for name in result.orders:
        part = frame[(frame.strategy == name) & (frame.trainings > result.n_train.get(name, 0))]
        style = styles[name]
        x = part.trainings.to_numpy()
        left.plot(x, part.best_mean, label=name, **style)
        left.fill_between(x, part.best_mean - part.best_ci, part.best_mean + part.best_ci, alpha=0.25, **style)
        right.plot(x, 100 * part.p_rank_le_5, label=name, **style)
        if name in result.n_train:  # the random phase, dotted
            early = frame[(frame.strategy == name) & (frame.trainings <= result.n_train[name])]
            left.plot(early.trainings, early.best_mean, linestyle=":", linewidth=1, **style)
            right.plot(early.trainings, 100 * early.p_rank_le_5, linestyle=":", linewidth=1, **style)
    left.axhline(problem.best, color="black", linestyle="--", linewidth=1, label=f"best of all ({problem.best:.4f})")
    trials = next(iter(result.orders.values())).shape[0]
    left.set(xlabel="full trainings (90 epochs each)", ylabel="best final accuracy found (mean, 95% CI band)",
             title=f"Best accuracy found ({trials} trials)"
             + (f"; predictor: {_PLOT_NAMES[predictor]}" if result.n_train else ""))
    lo = frame[frame.trainings >= 10].best_mean.min() - 0.005
    left.set_ylim(lo, problem.best + 0.003)
    right.set(xlabel="full trainings (90 epochs each)", ylabel="trials that found a top-5 architecture (%)",
              title="Reaching the top 1% (top 5 of 440)", ylim=(0, 102))
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.set_xlim(0, frame.trainings.max())
    left.legend(loc="lower right", fontsize=9)
    right.legend(loc="lower right", fontsize=9)
    if result.n_train:
        fig.text(0.5, 0.005, "dotted: the predictor's random labelling phase (first N trainings)",
                 ha="center", fontsize=9)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


# --- predictor-guided (Wen et al.) ------------------------------------------------------------


def predictor_summary(frame, problem) -> list[dict]:
    import numpy as np

    out = []
    for name in ("predictor", "random", "evolution"):
        best, ci = mean_ci(frame[f"{name}_best"])
        ranks = frame[f"{name}_rank"].to_numpy()
        n = len(ranks)
        out.append({"strategy": name, "best": best, "ci": ci, "rank_mean": float(ranks.mean()),
                    "rank_median": float(np.median(ranks)), "p_best": float((ranks == 1).mean()),
                    "p_best_ci": wilson(int((ranks == 1).sum()), n), "p_top5": float((ranks <= 5).mean()),
                    "p_top5_ci": wilson(int((ranks <= 5).sum()), n)})
    return out


def predictor_markdown(summary, args, problem, n_train, trainings, result) -> str:
    rows = [[s["strategy"], plus_minus(s["best"], s["ci"]), f"{s['rank_mean']:.1f}", f"{s['rank_median']:.0f}",
             f"{s['p_best']:.0%} ({s['p_best_ci'][0]:.0%}–{s['p_best_ci'][1]:.0%})",
             f"{s['p_top5']:.0%} ({s['p_top5_ci'][0]:.0%}–{s['p_top5_ci'][1]:.0%})"] for s in summary]
    return "\n".join([
        "# Predictor-guided search on NAAP-440 (Wen et al. 2020)",
        "",
        f"Each trial trains N = {n_train} random architectures (their final accuracies label the predictor), "
        f"predicts the other {problem.n - n_train} and trains the top K = {args.top_k}: {trainings} full "
        f"trainings (90 epochs each) in all. Random search and regularized evolution (P = {args.population}, "
        f"S = {args.sample}) get the same {trainings} trainings in the same trials. {args.trials} trials; ± and "
        f"ranges are 95% confidence intervals (normal for means, Wilson for shares). Best architecture overall: "
        f"{problem.best:.4f}.",
        "",
        f"Predictor: {predictor_label(args.predictor)}; fitted once per trial on its N labels.",
        "",
        _md_table(["strategy", "best accuracy found", "mean rank", "median rank", "found the best",
                   "found a top 5 (top 1%)"], rows),
        "",
        f"Per trial: `predictor.csv`; rank distribution: `predictor.png`. Simulation time {result.seconds:.1f} s.",
        "",
        f"Command: `{_command(args)}`",
        "",
    ])


def plot_predictor_ranks(frame, path, n_train, top_k, predictor: str = "forest") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from naapgnn.io import atomic_path

    fig, ax = plt.subplots(figsize=(8, 4.8))
    worst = int(frame[[f"{s}_rank" for s in ("predictor", "random", "evolution")]].max().max())
    edges = [e for e in (1, 2, 3, 6, 11, 23, 45, 111) if e <= worst] + [worst + 1]
    labels = [f"{a}" if b - a == 1 else f"{a}-{b - 1}" for a, b in zip(edges[:-1], edges[1:])]
    x = np.arange(len(labels))
    width = 0.27
    bars = (("predictor", "tab:blue"), ("evolution", "tab:orange"), ("random", "tab:gray"))
    for i, (name, colour) in enumerate(bars):
        counts, _ = np.histogram(frame[f"{name}_rank"], bins=edges)
        ax.bar(x + (i - 1) * width, 100 * counts / len(frame), width, label=name, color=colour)
    ax.set_xticks(x, labels)
    ax.set(xlabel="rank (among all 440) of the best architecture found", ylabel="trials (%)",
           title=f"Best found with {n_train + top_k} full trainings ({len(frame)} trials)\n"
                 f"predictor ({_PLOT_NAMES[predictor]}): N={n_train} random + top K={top_k} predicted")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


# --- early stopping (Baker et al.) ---------------------------------------------------------


def early_stop_summary(rows, problem):
    """Per rule, budget and threshold: epochs, speed-up, regret and more, over the orders."""
    import pandas as pd

    from naapgnn.search.simulate import FULL_EPOCHS

    frame = pd.DataFrame(rows)
    all_epochs = FULL_EPOCHS * problem.n
    out = []
    for (rule, budget, z), part in frame.groupby(["rule", "budget", "z"], dropna=False, sort=False):
        epochs, epochs_ci = mean_ci(part.epochs)
        regret, regret_ci = mean_ci(part.regret)
        n = len(part)
        out.append({"rule": rule, "budget": int(budget), "z": z, "orders": n, "epochs": epochs,
                    "epochs_ci": epochs_ci, "speedup": all_epochs / epochs, "regret": regret,
                    "regret_ci": regret_ci, "p_found_best": float((part.best_rank == 1).mean()),
                    "p_found_top5": float((part.best_rank <= 5).mean()), "rank_mean": float(part.best_rank.mean()),
                    "kept": float(part.kept.mean()), "stopped": float(part.stopped.mean())})
    return pd.DataFrame(out)


def _setting(row) -> str:
    if row.rule == "curve":
        return "curve rule (no predictor)"
    return f"predictor, z = {row.z:g}"


def early_stop_markdown(summary, args, problem, budgets) -> str:
    from naapgnn.search.simulate import FULL_EPOCHS

    all_epochs = FULL_EPOCHS * problem.n
    rows = [["train all", "–", f"{all_epochs:,}", "1.00×", "0.00", "100%", "100%", "1.0", f"{problem.n}"]]
    for r in summary.itertuples():
        epochs = f"{r.epochs:,.0f} ± {r.epochs_ci:,.0f}" if r.orders > 1 else f"{r.epochs:,.0f}"
        rows.append([_setting(r), r.budget, epochs,
                     f"{r.speedup:.2f}×", plus_minus(100 * r.regret, 100 * r.regret_ci, 2), f"{r.p_found_best:.0%}",
                     f"{r.p_found_top5:.0%}", f"{r.rank_mean:.1f}", f"{r.kept:.1f}"])
    budget_text = "budget k: architecture + first k epochs"
    return "\n".join([
        "# Early stopping from partial curves on NAAP-440 (Baker et al. 2018)",
        "",
        f"All {problem.n} architectures arrive one at a time in a random order ({args.trials} orders, shared by "
        f"every setting). The first {args.warmup} are trained to the end and label the predictor. Each later "
        f"candidate is trained for k epochs; the predictor (architecture + first k epochs) gives a mean and a "
        f"standard deviation, and the candidate is stopped when mean + z × std < the best final accuracy so "
        f"far. A stopped candidate costs k epochs, a kept one {FULL_EPOCHS}; kept candidates join the "
        f"predictor's training set, refitted whenever it has grown by half. Regret = best accuracy of all "
        f"({problem.best:.4f}) − best accuracy found, in percentage points. The curve rule needs no "
        f"predictor: stop when the accuracy at epoch k is below that of the best kept candidate at epoch k. "
        f"± is the 95% confidence interval of the mean over orders.",
        "",
        f"Predictor: {predictor_label(args.predictor, budget_text)}.",
        "",
        _md_table(["setting", "k", "total epochs", "speed-up", "regret (pp)", "found the best",
                   "found a top 5", "mean rank found", "kept"], rows),
        "",
        "Plot: `early_stop.png`; per order: `early_stop.csv`; this table: `early_stop_summary.csv`.",
        "",
        f"Command: `{_command(args)}`",
        "",
    ])


def early_stop_stdout(summary, args, problem) -> str:
    lines = [f"early stopping, {args.trials} random orders, predictor: {args.predictor}, "
             f"train-all cost {90 * problem.n:,} epochs",
             f"{'setting':<28}{'k':>3}{'epochs':>10}{'speed-up':>10}{'regret pp (95% CI)':>22}{'found best':>12}"]
    for r in summary.itertuples():
        lines.append(f"{_setting(r):<28}{r.budget:>3}{r.epochs:>10,.0f}{r.speedup:>9.2f}×"
                     f"{plus_minus(100 * r.regret, 100 * r.regret_ci, 2):>22}{r.p_found_best:>12.0%}")
    return "\n".join(lines)


def plot_early_stop(summary, path, problem, trials, predictor: str = "forest") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from naapgnn.io import atomic_path
    from naapgnn.search.simulate import FULL_EPOCHS

    fig, ax = plt.subplots(figsize=(9, 5.5))
    colours = ["tab:blue", "tab:green", "tab:purple", "tab:red", "tab:brown", "tab:cyan"]
    for i, budget in enumerate(sorted(summary.budget.unique())):
        colour = colours[i % len(colours)]
        part = summary[(summary.budget == budget) & (summary.rule == "predictor")].sort_values("z")
        ax.errorbar(part.epochs, 100 * part.regret, yerr=100 * part.regret_ci, color=colour, marker="o",
                    capsize=3, label=f"predictor, k = {budget} (labels: z)")
        for r in part.itertuples():
            ax.annotate(f"z={r.z:g}", (r.epochs, 100 * r.regret), textcoords="offset points",
                        xytext=(6, (5, -12, 12)[i % 3]), fontsize=8, color=colour,
                        bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.7})
        curve = summary[(summary.budget == budget) & (summary.rule == "curve")]
        ax.errorbar(curve.epochs, 100 * curve.regret, yerr=100 * curve.regret_ci, color=colour, marker="s",
                    markerfacecolor="white", linestyle="none", capsize=3, label=f"curve rule, k = {budget}")
    all_epochs = FULL_EPOCHS * problem.n
    ax.plot([all_epochs], [0], marker="*", markersize=14, color="black", linestyle="none",
            label=f"train all ({all_epochs:,} epochs)")
    ax.set(xlabel="total epochs spent (mean over orders)", ylabel="regret: best of all − best found (pp)",
           title=f"Early stopping on NAAP-440 ({trials} random orders, 95% CI; predictor: {_PLOT_NAMES[predictor]})")
    ax.set_xscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


# --- a larger space -------------------------------------------------------------------------


def enlarged_markdown(ranking, args, problem, fit_seconds, label) -> str:
    seconds = ranking.seconds
    counts = ranking.novelty_counts
    inside = counts.get("in the training schemes", 0)
    novelty_rows = [[k, f"{v:,}", f"{v / ranking.n:.1%}"] for k, v in counts.items()]
    from naapgnn.arch.profiling import profile

    largest = max(profile(s)[0] for s in problem.schemes)
    above = int((ranking.mean > problem.best).sum())
    top_params = int(ranking.top.params.max())
    rows = [[r.rank, f"`{r.scheme}`", f"{r.predicted:.4f}", f"{r.uncertainty:.4f}", f"{r.params:,}",
             f"{r.macs:,}", r.novelty, "" if r.known_accuracy is None or r.known_accuracy != r.known_accuracy
             else f"{r.known_accuracy:.4f}"] for r in ranking.top.itertuples()]
    forest_note = (" A forest cannot predict beyond the accuracies it was trained on, and a fifth block "
                   "is seen by it only through the totals (parameters, MACs, receptive field)."
                   if args.predictor == "forest" and not args.checkpoint else "")
    return "\n".join([
        "# Searching beyond the 440: the enlarged space",
        "",
        f"`naapgnn.arch.space.enlarged_rules()`: {ranking.n:,} schemes of 3 to 5 blocks (widths 12–48, 1×1/3×3/5×5 "
        f"kernels, a stride choice in the second block, a fifth block). Every scheme was enumerated, encoded and "
        f"predicted with zero training by a predictor trained on NAAP-440 (final accuracy as target).",
        "",
        f"Predictor: {label}; {'loaded' if args.checkpoint else 'fitted'} in {fit_seconds:.1f} s "
        "(not part of the pass).",
        "",
        f"Time for the whole pass (enumerate + parse/encode + predict, {ranking.processes} worker processes): "
        f"**{seconds['total']:.1f} s** (enumerate {seconds['enumerate']:.1f} s, encode + predict "
        f"{seconds['predict']:.1f} s), {ranking.n / seconds['total']:,.0f} architectures/s.",
        "",
        f"**Out of distribution.** Only {inside} of the {ranking.n:,} candidates are NAAP-440 schemes; the rest "
        f"are deeper, wider or use kernels and strides the predictor never saw at that position (table below). "
        f"Their predictions are extrapolations, not measurements: train the top candidates before trusting "
        f"them.{forest_note} The uncertainty is the spread of the ensemble, which measures disagreement "
        f"between its members, not the error of extrapolating, and is likely too small this far from the "
        f"training data.",
        "",
        f"{above:,} candidates are predicted above the best measured NAAP-440 accuracy ({problem.best:.4f}). "
        f"The largest NAAP-440 architecture has {largest:,} parameters; the predicted top {len(ranking.top)} "
        f"have up to {top_params:,}.",
        "",
        _md_table(["novelty (vs the 440 training schemes)", "candidates", "share"], novelty_rows),
        "",
        f"## Predicted top {len(rows)}",
        "",
        *([f"**Ties:** {ranking.tied:,} candidates are predicted at least as high as #{len(rows)}; the list "
           f"shows the first of them in enumeration order.", ""] if ranking.tied > len(rows) else []),
        "Blocks: `k<kernel>-w<width>-s<stride>[-res]`. Uncertainty = ensemble spread (one standard deviation). "
        "Known accuracy: the measured one, for NAAP-440 schemes.",
        "",
        _md_table(["#", "scheme", "predicted", "uncertainty", "params", "MACs", "novelty", "known accuracy"], rows),
        "",
        f"Command: `{_command(args)}`",
        "",
    ])

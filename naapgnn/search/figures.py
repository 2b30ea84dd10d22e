"""The search studies as figures (``OUT/<strategy>.png``)."""
from __future__ import annotations

import numpy as np

from naapgnn.io import atomic_path

PLOT_NAMES = {"forest": "per-layer forest", "gnn": "GNN", "baker": "Baker et al. nu-SVR",
              "baker_rf": "Baker et al. random forest"}


def _plot_name(predictor: str) -> str:
    return PLOT_NAMES.get(predictor, predictor)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style(name: str, i: int) -> dict:
    colours = {"random": "tab:gray", "evolution": "tab:orange"}
    others = ["tab:blue", "tab:green", "tab:purple", "tab:red", "tab:brown", "tab:cyan"]
    return {"color": colours.get(name, others[i % len(others)])}


def _styles(names) -> dict:
    predictors = [n for n in names if n not in ("random", "evolution")]
    return {n: _style(n, predictors.index(n) if n in predictors else 0) for n in names}


def plot_compare(frame, result, path, problem, predictor: str = "forest") -> None:
    """Best accuracy found, and the share of trials that reached the headline rank target, against full trainings."""
    from naapgnn.search.problem import headline_rank
    from naapgnn.search.tables import epochs_words, share_words

    plt = _pyplot()
    top, label = headline_rank(problem.n)
    share = share_words(label)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    styles = _styles(list(result.orders))
    for name in result.orders:
        part = frame[(frame.strategy == name) & (frame.trainings > result.n_train.get(name, 0))]
        style = styles[name]
        x = part.trainings.to_numpy()
        left.plot(x, part.best_mean, label=name, **style)
        left.fill_between(x, part.best_mean - part.best_ci, part.best_mean + part.best_ci, alpha=0.25, **style)
        right.plot(x, 100 * part[f"p_rank_le_{top}"], label=name, **style)
        if name in result.n_train:  # the random phase, dotted
            early = frame[(frame.strategy == name) & (frame.trainings <= result.n_train[name])]
            left.plot(early.trainings, early.best_mean, linestyle=":", linewidth=1, **style)
            right.plot(early.trainings, 100 * early[f"p_rank_le_{top}"], linestyle=":", linewidth=1, **style)
    left.axhline(problem.best, color="black", linestyle="--", linewidth=1, label=f"best of all ({problem.best:.4f})")
    trials = next(iter(result.orders.values())).shape[0]
    trainings = f"full trainings{epochs_words(problem, ' each')}"
    left.set(xlabel=trainings, ylabel="best final accuracy found (mean, 95% CI band)",
             title=f"Best accuracy found ({trials} trials)"
             + (f"; predictor: {_plot_name(predictor)}" if result.n_train else ""))
    lo = frame[frame.trainings >= min(10, frame.trainings.max())].best_mean.min() - 0.005  # --max-trainings < 10
    left.set_ylim(lo, problem.best + 0.003)
    right.set(xlabel=trainings,
              ylabel=f"trials that found a top-{top} architecture (%)",
              title=f"Reaching the top {share} (top {top} of {problem.n})", ylim=(0, 102))
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


def plot_predictor_ranks(frame, path, n_train: int, top_k: int, predictor: str = "forest", n: int = 440) -> None:
    """How often each strategy's best find fell in each rank range."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    bars = [(name, colour) for name, colour in (("predictor", "tab:blue"), ("evolution", "tab:orange"),
                                                 ("random", "tab:gray")) if f"{name}_rank" in frame]
    worst = int(frame[[f"{name}_rank" for name, _ in bars]].max().max())
    ranges = (1, 2, 3, 6, 11, 23, 45, 111) if n <= 1000 else (1, 2, 6, 17, 51, 158, 783, 1564)
    edges = [e for e in ranges if e <= worst] + [worst + 1]
    labels = [f"{a}" if b - a == 1 else f"{a}-{b - 1}" for a, b in zip(edges[:-1], edges[1:])]
    x = np.arange(len(labels))
    width = 0.27
    for i, (name, colour) in enumerate(bars):
        counts, _ = np.histogram(frame[f"{name}_rank"], bins=edges)
        ax.bar(x + (i - (len(bars) - 1) / 2) * width, 100 * counts / len(frame), width, label=name, color=colour)
    ax.set_xticks(x, labels)
    ax.set(xlabel=f"rank (among all {n}) of the best architecture found", ylabel="trials (%)",
           title=f"Best found with {n_train + top_k} full trainings ({len(frame)} trials)\n"
                 f"predictor ({_plot_name(predictor)}): N={n_train} random + top K={top_k} predicted")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def plot_early_stop(summary, path, problem, trials: int, predictor: str = "forest") -> None:
    """Regret against total epochs, per budget and threshold, with the curve rule and training everything (the sum
    of the runs' own lengths, :attr:`SearchProblem.all_epochs`)."""
    plt = _pyplot()
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
    all_epochs = problem.all_epochs
    ax.plot([all_epochs], [0], marker="*", markersize=14, color="black", linestyle="none",
            label=f"train all ({all_epochs:,} epochs)")
    ax.set(xlabel="total epochs spent (mean over orders)", ylabel="regret: best of all − best found (pp)",
           title=f"Early stopping on {problem.name} ({trials} random orders, 95% CI; "
                 f"predictor: {_plot_name(predictor)})")
    ax.set_xscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)

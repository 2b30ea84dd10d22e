"""The search studies as text: Markdown reports (``OUT/<strategy>.md``) and what ``naapgnn search`` prints."""
from __future__ import annotations

import pandas as pd

from naapgnn.search.problem import FOREST_FAST, GNN_FAST, headline_rank, rank_targets
from naapgnn.search.settings import SearchSettings
from naapgnn.search.summary import plus_minus, wilson

TABLE_TRAININGS = (10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000)


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table of already formatted cells (kept as written: no number parsing)."""
    frame = pd.DataFrame([[str(c) for c in row] for row in rows], columns=header)
    return frame.to_markdown(index=False, disable_numparse=True)


def predictor_label(kind: str, budget_text: str = "budget 0, architecture only", fast: bool = True,
                    cyclic: bool = True) -> str:
    """How a report names the predictor ``kind`` and its settings (``cyclic``: the forest reads NAAP-440's
    cycle-aligned curve features, else the schedule-free ones)."""
    if kind in ("baker", "baker_rf"):
        model = "nu-SVR" if kind == "baker" else "random forest"
        return (f"Baker et al. 2018's {model} (registry key {kind}, baselines.baker) on architecture features, "
                f"hyperparameters and the curve values with their first and second differences, "
                f"hyperparameters chosen by cross-validation inside its training set), {budget_text}")
    if kind == "forest":
        features = ("cycle-aligned curve features" if cyclic else
                    "schedule-free curve features of every channel (naapgnn.features.curves) and the hparams")
        curve = f" + {features}, trees fit the gain over the best epoch so far" \
            if budget_text != "budget 0, architecture only" else ""
        model = "models.forest.PerLayerForest" if cyclic or not curve else "search.curve_forest.CurveGainForest"
        return (f"per-layer random forest (naapgnn.{model}: {FOREST_FAST['n_estimators']} trees "
                f"on per-block features"
                f"{curve}; uncertainty = spread of the trees), {budget_text}")
    if fast:
        setting = ", ".join(f"{k}={v}" for k, v in GNN_FAST.items() if k not in ("progress", "n_threads"))
        return (f"GNNPredictor (naapgnn.models.gnn) in the fast simulation setting ({setting}; other "
                f"hyperparameters at their defaults; uncertainty = spread of its ensemble), {budget_text}")
    return f"GNNPredictor (naapgnn.models.gnn; uncertainty = spread of its ensemble), {budget_text}"


def _rank_label(rank: int, n: int) -> str:
    return dict(rank_targets(n)).get(rank, f"top {rank}")


def top_text(n: int) -> tuple[int, str]:
    """The headline rank target of a space of ``n`` and its words: ``(5, "top 5 (top 1%)")`` for NAAP-440."""
    rank, label = headline_rank(n)
    return rank, label.replace("(", "(top ")


def few_trials_note(trials: int) -> str | None:
    """Why a 95% interval of few trials may pass what a search can find (an accuracy above the best, a negative
    count of trainings); None from 5 trials on (and for one, which has no interval)."""
    if not 2 <= trials < 5:
        return None
    return (f"with {trials} trials a 95% interval (Student's t) is wide and may reach past any "
            "value a search can give (an accuracy above the best, fewer than 0 trainings); give --trials 5 or more")


def share_words(words: str) -> str:
    """``top 1%`` of :func:`top_text`'s ``top 5 (top 1%)``; its words themselves (``the best``) where the space is
    too small for a share above the best (20 architectures or fewer)."""
    return words.split("(", 1)[1][:-1] if "(" in words else words


def _target_words(problem) -> str:
    return "MaxAccuracy" if problem.name == "NAAP-440" else "its record's target"


def epochs_words(problem, each: str) -> str:
    """`` (90 epochs each)`` (`` (up to 20 epochs each)`` where some runs stopped early); nothing for a benchmark
    without curves (a training's length unknown)."""
    up_to = "" if problem.equal_runs else "up to "
    return f" ({up_to}{problem.full_epochs} epochs{each})" if problem.full_epochs else ""


def _mutation_words(problem) -> str:
    if all(s is not None for s in problem.schemes):
        return ("A mutation changes one block's kernel, width, stride or residual, or adds or removes the last "
                "block; only schemes of the NAAP-440 space are kept.")
    if problem.name == "NAS-Bench-201":
        return ("A mutation changes one of the cell's 6 edges to another of its 5 ops (none, skip_connect, "
                "nor_conv_1x1, nor_conv_3x3, avg_pool_3x3); each record's cell is read back from its network "
                "(naapgnn.data.nb201_cells), and a network that several cell strings build is reached through "
                "each of them.")
    return "Mutations: the benchmark's neighbour table (naapgnn.search.neighbours)."


def _horizon_words(problem) -> str:
    from naapgnn.search.compare import EVOLUTION_HORIZON

    if problem.n <= EVOLUTION_HORIZON:
        return ""
    return (f" Evolution chooses the first {EVOLUTION_HORIZON:,} trainings; the rest of its order is random "
            "(only the trainings-to-target counts beyond that point depend on it).")


def _checkpoints(max_t: int) -> list[int]:
    points = [t for t in TABLE_TRAININGS if t <= max_t]
    return points if max_t in points else points + [max_t]


def _cell(frame, name: str, t: int, column: str, fmt: str, result) -> str:
    if t <= result.n_train.get(name, 0):
        return "–"  # still the predictor's random labelling phase
    row = frame[(frame.strategy == name) & (frame.trainings == t)].iloc[0]
    if column == "best":
        return plus_minus(row.best_mean, row.best_ci)
    if column == "best_rank_mean":
        return plus_minus(row.best_rank_mean, row.best_rank_ci, 1)
    if column.startswith("p_rank_le_"):
        trials = len(next(iter(result.orders.values())))
        return share_interval(row[column], wilson(round(row[column] * trials), trials))
    return fmt.format(row[column])


def compare_markdown(result, frame, eff, settings: SearchSettings, problem, max_t: int) -> str:
    """The comparison report (``compare.md``): best accuracy, mean rank and top-5 share after t trainings, and
    the trainings needed to reach each rank target."""
    trials = settings.trials
    points = _checkpoints(max_t)
    names = list(result.orders)
    header = ["strategy"] + [f"{t}" for t in points]
    best_rows = [[n] + [_cell(frame, n, t, "best", "", result) for t in points] for n in names]
    rank_rows = [[n] + [_cell(frame, n, t, "best_rank_mean", "{:.1f}", result) for t in points] for n in names]
    top, words = top_text(problem.n)
    top5_rows = [[n] + [_cell(frame, n, t, f"p_rank_le_{top}", "{:.0%}", result) for t in points] for n in names]
    eff_rows = [[r["strategy"], _rank_label(r["rank"], problem.n), plus_minus(r["mean"], r["ci"], 1),
                 f"{r['median']:g}", f"{r['p90']:.0f}"] for r in eff]
    parts = [
        f"# Search strategies on {problem.name} ({settings.strategy})",
        "",
        f"Simulated on the {problem.n} {problem.name} architectures: \"training\" one reads its final accuracy "
        f"({_target_words(problem)}) and costs one full training{epochs_words(problem, '')}. "
        f"{trials} trials (seeds "
        f"`default_rng([{settings.seed}, t])`, t = 0..{trials - 1}); ± is the 95% confidence interval of the mean. "
        f"Best architecture overall: {problem.best:.4f}.",
        "",
        "Strategies:",
        "",
    ]
    if "random" in result.orders:
        parts.append("- **random**: architectures in a random order.")
    if "evolution" in result.orders:
        parts.append(f"- **evolution**: regularized (aging) evolution, Real et al. 2019, population P = "
                     f"{settings.population}, sample S = {settings.sample} (theirs: 100 and 25 over 20,000 models; "
                     f"scaled to this space of {problem.n}). {_mutation_words(problem)} A child already trained "
                     "is redrawn, so every training is a new architecture." + _horizon_words(problem))
    if result.n_train:
        parts.append(f"- **predictor N=...**: Wen et al. 2020: N random architectures are trained and label "
                     f"the predictor, which ranks all the others; they are then trained from the top down. "
                     f"Predictor: {predictor_label(settings.predictor)}; fitted once per trial. Its cells "
                     f"for t <= N are marked – (random phase; their cost is included in t).")
    parts += [
        "",
        "## Best accuracy found versus full trainings (mean ± 95% CI)",
        *(["", few] if (few := few_trials_note(settings.trials)) else []),
        "",
        markdown_table(header, best_rows),
        "",
        "## Mean rank (among all) of the best architecture found (mean ± 95% CI)",
        "",
        markdown_table(header, rank_rows),
        "",
        f"## Share of trials that have trained a top-{top} architecture ({share_words(words)} of {problem.n}), "
        "with its Wilson 95% interval",
        "",
        markdown_table(header, top5_rows),
        "",
        "## Sample efficiency: full trainings needed to reach the target",
        "",
        "Over all trials (every strategy eventually trains the whole space, so the count always exists).",
        "",
        markdown_table(["strategy", "target", "mean ± 95% CI", "median", "90th pct"], eff_rows),
        "",
        f"Plot: `{settings.strategy}.png`; every number: `{settings.strategy}.csv` (best found after t trainings) and "
        f"`{settings.strategy}_efficiency.csv` (each trial's trainings to reach each target). Simulation time "
        f"{result.seconds:.1f} s.",
        "",
        f"Command: `{settings.command()}`",
        "",
    ]
    return "\n".join(parts)


def compare_stdout(frame, eff, result, settings: SearchSettings, problem, max_t: int) -> str:
    """What ``naapgnn search`` prints for a comparison."""
    predictor = settings.predictor if result.n_train else "none (random search and evolution read none)"
    lines = [f"{settings.trials} trials, predictor: {predictor}; best overall {problem.best:.4f}",
             "best accuracy found (mean ± 95% CI) after t full trainings:"]
    lines[1:1] = [f"note: {few}"] if (few := few_trials_note(settings.trials)) else []
    points = [t for t in (20, 50, 100, 200) if t <= max_t]
    lines.append(f"{'strategy':<18}" + "".join(f"{'t=' + str(t):>20}" for t in points))
    for name in result.orders:
        lines.append(f"{name:<18}" + "".join(f"{_cell(frame, name, t, 'best', '', result):>20}" for t in points))
    top, words = top_text(problem.n)
    lines.append(f"full trainings to reach a top-{top} architecture ({share_words(words)}): mean ± 95% CI, "
                 "median")
    for r in eff:
        if r["rank"] == top:
            lines.append(f"  {r['strategy']:<18}{plus_minus(r['mean'], r['ci'], 1):>14}   median {r['median']:g}")
    return "\n".join(lines)


def predictor_markdown(summary, settings: SearchSettings, problem, n_train: int, result) -> str:
    """The predictor-guided search report (``predictor.md``)."""
    trainings = n_train + settings.top_k
    rows = [[s["strategy"], plus_minus(s["best"], s["ci"]), plus_minus(s["rank_mean"], s["rank_ci"], 1),
             f"{s['rank_median']:g}", share_interval(s["p_best"], s["p_best_ci"]),
             share_interval(s["p_top"], s["p_top_ci"])]
            for s in summary]
    return "\n".join([
        f"# Predictor-guided search on {problem.name} (Wen et al. 2020)",
        "",
        f"Each trial trains N = {n_train} random architectures (their final accuracies label the predictor), "
        f"predicts the other {problem.n - n_train} and trains the top K = {settings.top_k}: {trainings} full "
        f"trainings{epochs_words(problem, ' each')} in all. " + _rivals_words(result, settings, trainings) + " "
        f"{settings.trials} trials; ± and "
        f"ranges are 95% confidence intervals (Student t for means, Wilson for shares). Best architecture overall: "
        f"{problem.best:.4f}.",
        "",
        f"Predictor: {predictor_label(settings.predictor)}; fitted once per trial on its N labels.",
        *(["", few] if (few := few_trials_note(settings.trials)) else []),
        "",
        markdown_table(["strategy", "best accuracy found", "mean rank", "median rank", "found the best",
                   f"found a {top_text(problem.n)[1]}"], rows),
        "",
        f"Per trial: `predictor.csv`; rank distribution: `predictor.png`. Simulation time {result.seconds:.1f} s.",
        "",
        f"Command: `{settings.command()}`",
        "",
    ])



def _rivals_words(result, settings: SearchSettings, trainings: int) -> str:
    """Who the predictor is compared with: random search, and regularized evolution unless it was left out."""
    from naapgnn.search.neighbours import NO_NEIGHBOURS

    if "evolution" not in result.orders:
        return (f"Random search gets the same {trainings} trainings in the same trials (regularized evolution is "
                f"left out: these records are {NO_NEIGHBOURS}, so which are one mutation apart is unknown).")
    return (f"Random search and regularized evolution (P = {settings.population}, S = {settings.sample}) get the "
            f"same {trainings} trainings in the same trials.")


def predictor_stdout(summary, settings: SearchSettings, n_train: int, top: int = 5) -> str:
    """What ``naapgnn search`` prints for predictor-guided search (``top``: the headline rank target)."""
    trainings, width = n_train + settings.top_k, max(17, len(f"found top {top}") + 2)  # NB201: "found top 16"
    lines = [f"predictor-guided search (Wen et al.): train N={n_train} random, then the top K={settings.top_k} "
             f"predicted = {trainings} full trainings; {settings.trials} trials; predictor: {settings.predictor}",
             f"{'strategy':<12}{'best found (95% CI)':>24}{'mean rank':>14}{'median rank':>13}"
             f"{'found best':>16}{'found top ' + str(top):>{width}}"]
    lines[1:1] = [f"note: {few}"] if (few := few_trials_note(settings.trials)) else []
    for s in summary:
        lines.append(f"{s['strategy']:<12}{plus_minus(s['best'], s['ci']):>24}"
                     f"{plus_minus(s['rank_mean'], s['rank_ci'], 1):>14}{s['rank_median']:>13g}"
                     f"{share_interval(s['p_best'], s['p_best_ci']):>16}"
                     f"{share_interval(s['p_top'], s['p_top_ci']):>{width}}")
    return "\n".join(lines)


def share_interval(share: float, bounds) -> str:
    """A share with its 95% interval in brackets, as the reports write it."""
    return f"{share:.0%} ({bounds[0]:.0%}–{bounds[1]:.0%})"


def enlarged_markdown(ranking, settings: SearchSettings, problem, fit_seconds: float, label: str,
                      trained_on: str = "") -> str:
    """The enlarged-space report (``enlarged.md``); ``trained_on`` says what a loaded checkpoint was trained on."""
    seconds = ranking.seconds
    trained_on = trained_on or f"below, the training schemes are the {problem.n} architectures of {problem.name}"
    source = (f"the checkpoint {settings.checkpoint}, loaded ({trained_on})" if settings.checkpoint else
              f"a predictor trained on the {problem.n} architectures of {problem.name} (final accuracy as target)")
    members = "forest's trees" if settings.predictor == "forest" and not settings.checkpoint else "ensemble's members"
    counts = ranking.novelty_counts
    inside = counts.get("in the training schemes", 0)
    novelty_rows = [[k, f"{v:,}", f"{v / ranking.n:.1%}"] for k, v in counts.items()]
    above = int((ranking.mean > ranking.best_training).sum())
    top_params = int(ranking.top.params.max())
    rows = [[r.rank, f"`{r.scheme}`", f"{r.predicted:.4f}", f"{r.uncertainty:.4f}", f"{r.params:,}",
             f"{r.macs:,}", r.novelty, "" if r.known_accuracy is None or r.known_accuracy != r.known_accuracy
             else f"{r.known_accuracy:.4f}"] for r in ranking.top.itertuples()]
    forest_note = (" A forest cannot predict beyond the accuracies it was trained on, and a fifth block "
                   "is seen by it only through the totals (parameters, MACs, receptive field)."
                   if settings.predictor == "forest" and not settings.checkpoint else "")
    outside = (f"Only {inside} of the {ranking.n:,} candidates are training schemes; the rest are deeper, wider or "
               f"use kernels and strides the predictor never saw at that position (table below)."
               if ranking.n_training else f"None of the {ranking.n:,} candidates is among the predictor's training "
               f"architectures: it was trained on no scheme of this space.")
    scale = (f"{above:,} candidates are predicted above the best measured training accuracy "
             f"({ranking.best_training:.4f}). The largest training architecture has {ranking.largest_training:,} "
             f"parameters; the predicted top {len(ranking.top)} have up to {top_params:,}."
             if ranking.n_training else f"The predicted top {len(ranking.top)} have up to {top_params:,} parameters.")
    return "\n".join([
        "# Searching beyond the 440: the enlarged space",
        "",
        f"`naapgnn.arch.space.enlarged_rules()`: {ranking.n:,} schemes of 3 to 5 blocks (widths 12–48, 1×1/3×3/5×5 "
        f"kernels, a stride choice in the second block, a fifth block). Every scheme was enumerated, encoded and "
        f"predicted with zero training by {source}.",
        "",
        f"Predictor: {label}; {'loaded' if settings.checkpoint else 'fitted'} in {fit_seconds:.1f} s "
        "(not part of the pass).",
        "",
        f"Time for the whole pass (enumerate + parse/encode + predict, {_processes(ranking.processes)}): "
        f"**{seconds['total']:.1f} s** (enumerate {seconds['enumerate']:.1f} s, encode + predict "
        f"{seconds['predict']:.1f} s), {ranking.n / seconds['total']:,.0f} architectures/s.",
        "",
        f"**Out of distribution.** {outside} "
        f"Their predictions are extrapolations, not measurements: train the top candidates before trusting "
        f"them.{forest_note} The uncertainty is the spread of the {members}, which measures disagreement "
        f"between them, not the error of extrapolating: nothing here measured how it grows with the distance "
        f"from the training data.",
        "",
        scale,
        "",
        markdown_table([f"novelty (vs the {ranking.n_training} training schemes)", "candidates", "share"],
                       novelty_rows),
        "",
        f"## Predicted top {len(rows)}",
        "",
        *([f"**Ties:** {ranking.tied:,} candidates are predicted at least as high as #{len(rows)}; the list "
           f"shows the first of them in enumeration order.", ""] if ranking.tied > len(rows) else []),
        "Blocks: `k<kernel>-w<width>-s<stride>[-res]`. Uncertainty = ensemble spread (one standard deviation). "
        "Known accuracy: the measured one, for training schemes.",
        "",
        markdown_table(["#", "scheme", "predicted", "uncertainty", "params", "MACs", "novelty", "known accuracy"], rows),
        "",
        f"Command: `{settings.command()}`",
        "",
    ])


def _processes(n: int) -> str:
    return "1 process" if n == 1 else f"{n} worker processes"


def enlarged_stdout(ranking, settings: SearchSettings, fit_seconds: float, label: str, trained_on: str = "") -> str:
    """What ``naapgnn search`` prints for the enlarged space (``trained_on``: what a loaded checkpoint saw)."""
    seconds = ranking.seconds
    lines = [f"enlarged space: {ranking.n:,} schemes, predicted with zero training by: {label} "
             f"({'loaded' if settings.checkpoint else 'fit'} in {fit_seconds:.1f} s)",
             f"whole pass (enumerate + parse/encode + predict, {_processes(ranking.processes)}): "
             f"{seconds['total']:.1f} s (enumerate {seconds['enumerate']:.1f} s, encode + predict "
             f"{seconds['predict']:.1f} s; {ranking.n / seconds['total']:,.0f} architectures/s)",
             *([f"note: {trained_on}"] if trained_on else []),
             f"OUT OF DISTRIBUTION: {ranking.n - ranking.novelty_counts.get('in the training schemes', 0):,} of "
             f"{ranking.n:,} candidates are not training schemes; treat these predictions as extrapolation."]
    if settings.top > ranking.n:
        lines.append(f"note: --top {settings.top:,} is more than the {ranking.n:,} schemes: all are listed")
    if ranking.tied > len(ranking.top):
        lines.append(f"note: {ranking.tied:,} candidates tie with or beat #{len(ranking.top)}; listed in "
                     "enumeration order")
    lines.append(f"{'#':>3} {'predicted':>9} {'± std':>7} {'params':>8}  scheme")
    for r in ranking.top.itertuples():
        lines.append(f"{r.rank:>3} {r.predicted:>9.4f} {r.uncertainty:>7.4f} {r.params:>8,}  {r.scheme}")
    return "\n".join(lines)

"""``naapgnn search``: predictor-guided search, random search, evolution, early
stopping and a larger space, simulated on NAAP-440 (the simulations are in
:mod:`naapgnn.search.simulate`, their tables and figures in :mod:`naapgnn.search.report`)."""
from __future__ import annotations

import argparse

from naapgnn.search.report import (
    compare_frame,
    compare_markdown,
    compare_stdout,
    early_stop_markdown,
    early_stop_stdout,
    early_stop_summary,
    efficiency_rows,
    enlarged_markdown,
    plot_compare,
    plot_early_stop,
    plot_predictor_ranks,
    plus_minus,
    predictor_label,
    predictor_markdown,
    predictor_summary,
)

STRATEGY_CHOICES = ("predictor", "random", "evolution", "compare", "early-stop", "enlarged")
DEFAULT_OUT = "results/search"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "search",
        help="simulate architecture search with the predictor on NAAP-440",
        description="Replay architecture search on NAAP-440, where every architecture's full curve is "
        "known. predictor: train the predictor on N random architectures and train its top K (Wen et al. "
        "2020); random / evolution / compare: best accuracy found versus full trainings over T trials, "
        "with 95%% confidence intervals, and the trainings needed to reach the top architectures; "
        "early-stop: stop candidates after k epochs when the predictor says they cannot beat the best "
        "so far (Baker et al. 2018); enlarged: predict every scheme of a 94,716-scheme space with zero "
        "training. Writes OUT/<strategy>.md, .csv and .png.",
    )
    p.add_argument("--strategy", choices=STRATEGY_CHOICES, default="compare",
                   help="what to simulate (default compare)")
    p.add_argument("--n-train", type=int, nargs="+", metavar="N", default=None,
                   help="architectures trained to label the predictor (default 20 for predictor; "
                   "10 20 50 for compare)")
    p.add_argument("--top-k", type=int, default=10, metavar="K",
                   help="predictor strategy: top predicted architectures trained (default 10)")
    p.add_argument("--trials", type=int, default=100, metavar="T",
                   help="random seeds (search) or candidate orders (early-stop) (default 100)")
    p.add_argument("--budget", type=int, nargs="+", metavar="k", default=None,
                   help="early-stop: epochs before the decision (default 3 6 9); enlarged: 0 only")
    p.add_argument("--thresholds", type=float, nargs="+", metavar="Z", default=[0.0, 1.0, 2.0, 3.0, 4.0],
                   help="early-stop: stop when mean + Z*std < best so far (default 0 1 2 3 4)")
    p.add_argument("--predictor", choices=("auto", "gnn", "forest"), default="auto",
                   help="gnn: naapgnn.GNNPredictor, ensemble spread as uncertainty (a fit takes seconds: use "
                   "fewer --trials); forest: per-layer random forest, tree spread as uncertainty (fast); "
                   "auto (default): gnn for predictor and enlarged, forest for the many fits of random, "
                   "evolution, compare and early-stop")
    p.add_argument("--max-trainings", type=int, default=200, metavar="M",
                   help="trainings shown in the comparison table and plot (default 200)")
    p.add_argument("--population", type=int, default=20, help="evolution population P (default 20)")
    p.add_argument("--sample", type=int, default=5, help="evolution tournament size S (default 5)")
    p.add_argument("--warmup", type=int, default=20,
                   help="early-stop: first candidates trained fully to label the predictor (default 20)")
    p.add_argument("--top", type=int, default=20, help="enlarged: architectures listed (default 20)")
    p.add_argument("--checkpoint", metavar="CKPT", default=None,
                   help="enlarged: use this saved GNNPredictor (budget 0) instead of fitting one on all of NAAP-440")
    p.add_argument("--processes", type=int, default=2, help="enlarged: worker processes (default 2)")
    p.add_argument("--out", metavar="DIR", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="NAAP-440 folder or benchmark file (default: $NAAPGNN_DATA, then the user cache)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--fresh", action="store_true", help="ignore trials saved by an interrupted run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from naapgnn.errors import NaapgnnError
    from naapgnn.search.simulate import load_problem

    _check_args(args, NaapgnnError)
    if args.predictor == "auto":
        args.predictor = "gnn" if args.strategy in ("predictor", "enlarged") else "forest"
    start = time.perf_counter()
    problem = load_problem(args.data)
    out = Path(args.out)
    if args.fresh:
        for stale in out.glob(".*.partial.jsonl"):
            stale.unlink()
    handler = {"predictor": _run_predictor, "random": _run_compare, "evolution": _run_compare,
               "compare": _run_compare, "early-stop": _run_early_stop, "enlarged": _run_enlarged}[args.strategy]
    written = handler(args, problem, out)
    print("\nwrote " + ", ".join(str(p) for p in written))
    print(f"wall time: {time.perf_counter() - start:.1f} s")
    return 0


def _check_args(args, error) -> None:
    if args.trials < 1:
        raise error(f"--trials must be >= 1, got {args.trials}")
    if args.top_k < 1:
        raise error(f"--top-k must be >= 1, got {args.top_k}")
    if args.max_trainings < 1:
        raise error(f"--max-trainings must be >= 1, got {args.max_trainings}")
    if args.population < 2 or not 1 <= args.sample <= args.population:
        raise error(f"--population must be >= 2 and --sample between 1 and it, got {args.population} and {args.sample}")
    if args.processes < 1 or args.top < 1:
        raise error("--processes and --top must be >= 1")
    if args.budget is not None:
        bad = [b for b in args.budget if not 0 <= b <= 90]
        if bad:
            raise error(f"--budget: {bad[0]} is not a number of epochs between 0 and 90")
        if args.strategy == "enlarged" and args.budget != [0]:
            raise error("--budget: the enlarged space has no training curves; only budget 0 (zero training) applies")
        if args.strategy == "early-stop" and 0 in args.budget:
            raise error("--budget: early stopping decides after k >= 1 epochs")
    if args.strategy == "predictor" and args.n_train is not None and len(args.n_train) != 1:
        raise error("--n-train: the predictor strategy takes one N (use --strategy compare for several)")


def _run_compare(args, problem, out):
    from naapgnn.io import write_text_atomic
    from naapgnn.search.simulate import compare_strategies

    strategies = {"compare": ("random", "evolution", "predictor"), "random": ("random",),
                  "evolution": ("evolution",)}[args.strategy]
    n_train = args.n_train or [10, 20, 50]
    result = compare_strategies(problem, trials=args.trials, n_train=n_train, predictor=args.predictor,
                                seed=args.seed, population_size=args.population, sample_size=args.sample,
                                strategies=strategies, cache_dir=out, progress=not args.quiet)
    max_t = min(args.max_trainings, problem.n)
    frame = compare_frame(result, max_t)
    eff = efficiency_rows(result)
    name = args.strategy
    text = compare_markdown(result, frame, eff, args, problem, max_t)
    write_text_atomic(out / f"{name}.md", text)
    write_text_atomic(out / f"{name}.csv", frame.to_csv(index=False, float_format="%.6g"))
    plot_compare(frame, result, out / f"{name}.png", problem, args.predictor)
    print(compare_stdout(frame, eff, result, args, problem, max_t))
    return [out / f"{name}.md", out / f"{name}.csv", out / f"{name}.png"]


def _run_predictor(args, problem, out):
    import numpy as np
    import pandas as pd

    from naapgnn.errors import NaapgnnError
    from naapgnn.io import write_text_atomic
    from naapgnn.search.simulate import compare_strategies

    n_train = (args.n_train or [20])[0]
    trainings = n_train + args.top_k
    if trainings > problem.n:
        raise NaapgnnError(f"--n-train + --top-k = {trainings} exceeds the {problem.n} architectures")
    result = compare_strategies(problem, trials=args.trials, n_train=[n_train], predictor=args.predictor,
                                seed=args.seed, population_size=args.population, sample_size=args.sample,
                                cache_dir=out, progress=not args.quiet)
    rows = []
    for t in range(args.trials):
        row = {"trial": t, "n_train": n_train, "top_k": args.top_k, "trainings": trainings}
        for name, key in (("predictor", f"predictor N={n_train}"), ("random", "random"), ("evolution", "evolution")):
            chosen = result.orders[key][t, :trainings]
            best = chosen[np.argmax(problem.accuracy[chosen])]
            row[f"{name}_best"] = float(problem.accuracy[best])
            row[f"{name}_rank"] = int(problem.ranks[best])
            row[f"{name}_model"] = problem.records[best].id
        rows.append(row)
    frame = pd.DataFrame(rows)
    summary = predictor_summary(frame, problem)
    write_text_atomic(out / "predictor.csv", frame.to_csv(index=False))
    write_text_atomic(out / "predictor.md", predictor_markdown(summary, args, problem, n_train, trainings, result))
    plot_predictor_ranks(frame, out / "predictor.png", n_train, args.top_k, args.predictor)
    print(f"predictor-guided search (Wen et al.): train N={n_train} random, then the top K={args.top_k} predicted "
          f"= {trainings} full trainings; {args.trials} trials; predictor: {args.predictor}")
    print(f"{'strategy':<12}{'best found (95% CI)':>24}{'mean rank':>11}{'median rank':>13}"
          f"{'found best':>12}{'found top 5':>13}")
    for s in summary:
        print(f"{s['strategy']:<12}{plus_minus(s['best'], s['ci']):>24}{s['rank_mean']:>11.1f}{s['rank_median']:>13.0f}"
              f"{s['p_best']:>12.0%}{s['p_top5']:>13.0%}")
    return [out / "predictor.md", out / "predictor.csv", out / "predictor.png"]


def _run_early_stop(args, problem, out):
    from naapgnn.io import write_text_atomic
    from naapgnn.search.simulate import early_stop_study

    budgets = args.budget or [3, 6, 9]
    rows = early_stop_study(problem, budgets=budgets, thresholds=args.thresholds, trials=args.trials,
                            predictor=args.predictor, warmup=args.warmup, seed=args.seed, cache_dir=out,
                            progress=not args.quiet)
    import pandas as pd

    summary = early_stop_summary(rows, problem)
    write_text_atomic(out / "early_stop.csv", pd.DataFrame(rows).to_csv(index=False, float_format="%.6g"))
    write_text_atomic(out / "early_stop_summary.csv", summary.to_csv(index=False, float_format="%.6g"))
    write_text_atomic(out / "early_stop.md", early_stop_markdown(summary, args, problem, budgets))
    plot_early_stop(summary, out / "early_stop.png", problem, args.trials, args.predictor)
    print(early_stop_stdout(summary, args, problem))
    return [out / "early_stop.md", out / "early_stop.csv", out / "early_stop_summary.csv", out / "early_stop.png"]


def _run_enlarged(args, problem, out):
    import time

    from naapgnn.io import write_text_atomic
    from naapgnn.search.simulate import rank_space
    from naapgnn.arch.space import enlarged_rules

    rules = enlarged_rules()
    start = time.perf_counter()
    model, label = _enlarged_model(args, problem, len(rules.blocks))
    fit_seconds = time.perf_counter() - start
    ranking = rank_space(model, rules, problem.schemes, problem.accuracy, top=args.top,
                         processes=args.processes, progress=not args.quiet)
    write_text_atomic(out / "enlarged.csv", ranking.top.to_csv(index=False, float_format="%.6g"))
    write_text_atomic(out / "enlarged.md", enlarged_markdown(ranking, args, problem, fit_seconds, label))
    seconds = ranking.seconds
    print(f"enlarged space: {ranking.n:,} schemes, predicted with zero training by: {label} "
          f"({'loaded' if args.checkpoint else 'fit'} in {fit_seconds:.1f} s)")
    print(f"whole pass (enumerate + parse/encode + predict, {ranking.processes} processes): {seconds['total']:.1f} s "
          f"(enumerate {seconds['enumerate']:.1f} s, encode + predict {seconds['predict']:.1f} s; "
          f"{ranking.n / seconds['total']:,.0f} architectures/s)")
    print(f"OUT OF DISTRIBUTION: {ranking.n - ranking.novelty_counts.get('in the training schemes', 0):,} of "
          f"{ranking.n:,} candidates are not NAAP-440 schemes; treat these predictions as extrapolation.")
    if ranking.tied > len(ranking.top):
        print(f"note: {ranking.tied:,} candidates tie with or beat #{len(ranking.top)}; listed in enumeration order")
    print(f"{'#':>3} {'predicted':>9} {'± std':>7} {'params':>8}  scheme")
    for r in ranking.top.itertuples():
        print(f"{r.rank:>3} {r.predicted:>9.4f} {r.uncertainty:>7.4f} {r.params:>8,}  {r.scheme}")
    return [out / "enlarged.md", out / "enlarged.csv"]


def _enlarged_model(args, problem, max_blocks: int):
    """The budget-0 model for the enlarged space, and a description of it."""
    from naapgnn.errors import NaapgnnError
    from naapgnn.search.simulate import make_predictor

    if args.checkpoint:
        from naapgnn.models.gnn import GNNPredictor

        model = GNNPredictor.load(args.checkpoint)
        if int(model.budget) != 0:
            raise NaapgnnError(f"{args.checkpoint}: a budget-{model.budget} checkpoint; the enlarged space "
                               "needs budget 0 (its candidates have no training curve)")
        label = f"GNNPredictor loaded from {args.checkpoint}"
        if getattr(model, "forest_", None) is not None:
            # The blended per-layer forest has one slot per block seen in training (4) and cannot
            # read 5-block schemes, so only the GNN ensemble predicts here.
            model.forest_, model.blend_forest = None, 0.0
            label += " (GNN ensemble only: its blended per-layer forest cannot read 5-block schemes)"
        return model, label
    if args.predictor == "forest":
        model = make_predictor("forest", 0, args.seed, max_blocks=max_blocks)
        label = predictor_label("forest") + f", fitted on all {problem.n} NAAP-440 architectures"
    else:
        model = make_predictor("gnn", 0, args.seed, fast=False, blend_forest=0.0, n_threads=1)
        label = (f"GNNPredictor (naapgnn.models.gnn) with its default hyperparameters except blend_forest=0 "
                 f"(its per-layer forest cannot read 5-block schemes); uncertainty = spread of the "
                 f"ensemble; budget 0; fitted on all {problem.n} NAAP-440 architectures")
    return model.fit(problem.records, problem.accuracy), label

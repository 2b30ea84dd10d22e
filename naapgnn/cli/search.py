"""``naapgnn search``: predictor-guided search, random search, evolution, early
stopping and a larger space, simulated on NAAP-440 or any benchmark file. This
module only reads the options; :mod:`naapgnn.search` simulates and reports."""
from __future__ import annotations

import argparse

from naapgnn.cli.options import add_target_scale, holding_a_folder

STRATEGY_CHOICES = ("predictor", "random", "evolution", "compare", "early-stop", "enlarged")
""":data:`naapgnn.search.settings.STRATEGY_CHOICES` (not imported here: it pulls numpy into ``--help``)."""
PREDICTOR_CHOICES = ("forest", "gnn", "baker", "baker_rf")
""":data:`naapgnn.search.problem.PREDICTORS`, copied for the same reason."""

DEFAULT_OUT = "results/search"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "search",
        help="simulate architecture search with the predictor on NAAP-440 or a benchmark file",
        description="Replay architecture search on a benchmark whose every final accuracy is known: NAAP-440 "
        "(default) or a JSON Lines benchmark (--data), e.g. the deep ResNets or NAS-Bench-201 "
        "(naapgnn import). Evolution needs to know which architectures are one mutation apart (NAAP-440 "
        "schemes, NAS-Bench-201 cells; elsewhere predictor and compare leave it out, with a note); early-stop "
        "needs training curves (its curve rule compares the channel the targets are the end of, an accuracy under "
        "any name or an error rate, else a loss, lower being better), and a full training is a run's own length (a "
        "run that stopped early costs what it logged; --full-epochs N when the curves hold only the first epochs of "
        "longer runs). predictor: train the predictor on N random architectures and train its top K (Wen et al. "
        "2020); random / evolution / compare: best accuracy found versus full trainings over T trials, "
        "with 95% confidence intervals, and the trainings needed to reach the top architectures; "
        "early-stop: stop candidates after k epochs when the predictor says they cannot beat the best "
        "so far (Baker et al. 2018); enlarged (NAAP-440 only): predict every scheme of a 94,716-scheme space with zero "
        "training. Writes OUT/<strategy>.md and .csv, and a .png figure for every strategy but enlarged "
        "(early-stop also writes early_stop_summary.csv; random, evolution and compare <strategy>_efficiency.csv, "
        "each trial's trainings to reach each rank target).",
    )
    p.add_argument("--strategy", choices=STRATEGY_CHOICES, default="compare",
                   help="what to simulate (default compare)")
    p.add_argument("--n-train", type=int, nargs="+", metavar="N", default=None,
                   help="architectures trained to label the predictor (default 20 for predictor; "
                   "10 20 50 for compare, less those not below the benchmark's size)")
    p.add_argument("--top-k", type=int, default=10, metavar="K",
                   help="predictor strategy: top predicted architectures trained (default 10)")
    p.add_argument("--trials", type=int, default=100, metavar="T",
                   help="random seeds (search) or candidate orders (early-stop) (default 100)")
    p.add_argument("--budget", type=int, nargs="+", metavar="k", default=None,
                   help="early-stop: epochs before the decision (default 3 6 9); enlarged: 0 only")
    p.add_argument("--thresholds", type=float, nargs="+", metavar="Z", default=[0.0, 1.0, 2.0, 3.0, 4.0],
                   help="early-stop: stop when mean + Z*std < best so far (default 0 1 2 3 4)")
    p.add_argument("--predictor", choices=("auto", *PREDICTOR_CHOICES), default="auto",
                   help="gnn: naapgnn.GNNPredictor, ensemble spread as uncertainty (a fit takes seconds: use "
                   "fewer --trials); forest: per-layer random forest, tree spread as uncertainty (fast); "
                   "baker / baker_rf: Baker et al. 2018's nu-SVR / random forest on architecture, "
                   "hyperparameters and the early curve (early-stop); "
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
                   help="enlarged: use this saved GNNPredictor (budget 0, trained on records without hparams, as "
                   "NAAP-440's are) instead of fitting one on all of NAAP-440")
    p.add_argument("--processes", type=int, default=2,
                   help="enlarged and early-stop: worker processes (default 2; early-stop's orders give the same "
                   "rows with any number)")
    p.add_argument("--full-epochs", type=int, default=None, metavar="N",
                   help="epochs of a full training, what a kept candidate and training all cost (default: the "
                   "longest curve; give it when the records hold only the first epochs of longer runs)")
    p.add_argument("-o", "--out", metavar="DIR", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="NAAP-440 folder or benchmark file (default: $NAAPGNN_DATA, then the user cache)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--fresh", action="store_true", help="forget the trials saved by an interrupted run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_target_scale(p)
    p.set_defaults(func=run)


@holding_a_folder
def run(args: argparse.Namespace, hold) -> int:
    import math
    import time

    from pathlib import Path

    from naapgnn.cli.options import check_seed, hold_out_folder, scale_option
    from naapgnn.evaluation.evaluate import check_targets_vary
    from naapgnn.errors import NaapgnnError
    from naapgnn.search.problem import load_problem
    from naapgnn.search.runs import run_search

    start = time.perf_counter()
    check_seed(args.seed)
    hold_out_folder(hold, args.out, "search")
    bad = [z for z in args.thresholds if not math.isfinite(z)]
    if bad:
        raise NaapgnnError(f"--thresholds: {bad[0]} is not a finite number")
    settings = settings_from(args).checked()
    check_checkpoint_folder(settings.checkpoint)
    problem = load_problem(args.data, **scale_option(args), full_epochs=args.full_epochs)
    named = Path(args.data).name if args.data and Path(args.data).is_file() else problem.name
    check_targets_vary(problem.accuracy, f"{named} ({problem.n} architectures)")
    output = run_search(settings, problem, args.out)
    print(output.text)
    print("\nwrote " + ", ".join(str(p) for p in output.written))
    print(f"wall time: {time.perf_counter() - start:.1f} s")
    return 0


def check_checkpoint_folder(path: str | None) -> None:
    """Refuse a ``--checkpoint`` that is no folder before the benchmark is read: without ``--data`` or
    ``$NAAPGNN_DATA`` reading it downloads NAAP-440, minutes spent before the load would fail."""
    from pathlib import Path

    from naapgnn.errors import NaapgnnError

    if path is None:
        return
    if not path.strip():
        raise NaapgnnError("--checkpoint: empty path; give the folder naapgnn train wrote")
    if Path(path).is_file():
        raise NaapgnnError(f"--checkpoint {path}: a file, not a checkpoint folder (give the folder naapgnn train "
                           "wrote)")
    if not Path(path).is_dir():
        raise NaapgnnError(f"--checkpoint {path}: no such folder")


def settings_from(args: argparse.Namespace):
    """The :class:`naapgnn.search.settings.SearchSettings` of parsed options."""
    from naapgnn.search.settings import SearchSettings

    def listed(values):
        return None if values is None else tuple(values)

    return SearchSettings(
        strategy=args.strategy, predictor=args.predictor, n_train=listed(args.n_train), top_k=args.top_k,
        trials=args.trials, budget=listed(args.budget), thresholds=tuple(args.thresholds),
        max_trainings=args.max_trainings, population=args.population, sample=args.sample, warmup=args.warmup,
        top=args.top, checkpoint=args.checkpoint, processes=args.processes, seed=args.seed, fresh=args.fresh,
        progress=not args.quiet, data=args.data, full_epochs=args.full_epochs,
        target_scale=args.target_scale,
    )

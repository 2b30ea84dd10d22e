"""``naapgnn evaluate``: zero-training against few-epoch prediction, one report with figures."""
from __future__ import annotations

import argparse
from typing import Sequence

from naapgnn.cli.options import add_target_scale, holding_a_folder

DEFAULT_OUT = "results/evaluate"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="compare the GNN, baselines, curve heuristics and zero-cost scores at each budget",
        description="How many epochs must an architecture train before its final accuracy can be "
        "predicted well enough, and how much does that save? Runs every predictor at every budget "
        "(epochs of training curve read) under each protocol and writes OUT/results.csv (means and "
        "stds over runs), OUT/runs.csv, OUT/advice.csv, OUT/inner_runs.csv, OUT/report.md and PNG figures. "
        "The budget advice is chosen on --inner-folds folds inside each training split of the headline "
        "protocol (never on its test architectures), then scored on the test architectures. Finished "
        "runs are cached in OUT/cache: an interrupted or repeated invocation computes only what is missing.",
    )
    p.add_argument("--data", metavar="DIR|BENCH.jsonl", default=None,
                   help="NAAP-440 folder (or a CSV inside it), or a JSON Lines benchmark with targets "
                   "(default: $NAAPGNN_DATA, then the user cache)")
    p.add_argument("--budgets", default=None, metavar="K,K,...",
                   help="epoch budgets, comma-separated, each between 0 and the benchmark's curve length "
                   "(NAAP-440: 90; deep ResNets: 140) (default 0-9, or 0 to the shortest curve's length "
                   "when shorter, each moved down to an epoch some run logs a value at; a finished run that "
                   "stopped early holds every budget, its last values carried to the longest length, and is "
                   "charged its own length in the training spent)")
    p.add_argument("--seeds", type=int, default=3, metavar="N",
                   help="seeds per predictor on the fixed-split protocols (default 3)")
    p.add_argument("--protocol", default=None, metavar="P,P,...",
                   help="comma-separated: official, repeated, kfold, extrapolate (default official, or repeated "
                   "when no record is marked test)")
    p.add_argument("--predictors", default="default", metavar="SPEC",
                   help="comma-separated predictor keys or groups (default, all: every key below but those "
                   "registered by baselines/, learned, baselines, heuristics, zero_cost) or paper:<model name>; "
                   "keys: gnn, gnn+zero_cost, paper_gb100, "
                   "paper_rf200, forest, forest+cycle, forest+zero_cost, curve_last, curve_best, "
                   "curve_power_law, curve_exponential, curve_power_law_cycle, curve_exponential_cycle, "
                   "naswot, synflow; registered by baselines/: baker, baker_rf, onehot_ops, onehot_ops_gbm "
                   "(these two read NAS-Bench-201 cells only; left out on other networks), "
                   "per_layer_forest, per_layer_forest+cycle")
    p.add_argument("--cifar-root", metavar="DIR", default=None,
                   help="CIFAR-10 folder (cifar-10-batches-py) for the NASWOT minibatch; without it a "
                   "labelled Gaussian-noise batch is used")
    p.add_argument("-o", "--out", metavar="DIR", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument("--repeats", type=int, default=None, help="splits of the repeated protocol (default 10)")
    p.add_argument("--train-size", type=int, default=None, metavar="N",
                   help="repeated protocol: N training architectures per split, drawn at random, and every other one "
                   "tested (train N, predict many; default: test as many as the records mark test, else an 11th, "
                   "and train on the rest)")
    p.add_argument("--folds", type=int, default=None, help="folds of the kfold protocol (default 10)")
    p.add_argument("--gnn-params", default="{}", metavar="JSON",
                   help='GNNPredictor settings as a JSON object, e.g. \'{"n_ensemble": 3}\' (default: its defaults)')
    p.add_argument("--zc-batch-size", type=int, default=64, help="NASWOT minibatch size (default 64)")
    p.add_argument("--zc-max-minutes", type=float, default=10.0, metavar="M",
                   help="zero-cost predictors that a group (the default one, say) brings in are left out, with a "
                   "note, when the first architectures' times project their scores beyond M minutes; named in "
                   "--predictors they always run (default 10)")
    p.add_argument("--inner-folds", type=int, default=5, metavar="N",
                   help="folds inside each training split from which the budget advice is chosen; the test "
                   "architectures are never read for it (default 5; 0: no advice)")
    p.add_argument("--tolerance", type=float, default=0.0,
                   help="the advice is the smallest budget whose mean inner Kendall tau is within the spread (std "
                   "over inner folds) of the best budget's; --tolerance is a floor on that margin (default 0: "
                   "the spread alone)")
    p.add_argument("--full-epochs", type=int, default=None, metavar="N",
                   help="epochs of a full training, what a budget saves is counted against (default: the longest "
                   "curve; give it when the records hold only the first epochs of longer runs)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--device", default="cpu", help="device of the zero-cost scores: cpu, cuda or auto (default cpu)")
    p.add_argument("--fresh", action="store_true", help="ignore the cached runs in OUT/cache")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_target_scale(p)
    p.set_defaults(func=run)


def parse_list(text: str, what: str) -> list[str]:
    from naapgnn.errors import NaapgnnError
    from naapgnn.io import comma_items

    items = list(dict.fromkeys(comma_items(text, what)))
    if not items:
        raise NaapgnnError(f"{what}: nothing given")
    return items


def parse_budgets(text: str) -> list[int]:
    """Non-negative integers; the benchmark's curve length bounds them later (one line naming the short record)."""
    from naapgnn.errors import NaapgnnError

    budgets = []
    for item in parse_list(text, "--budgets"):
        if not item.isdigit():
            raise NaapgnnError(f"--budgets: {item!r} is not an integer number of epochs (0 or more)")
        budgets.append(int(item))
    return sorted(set(budgets))


@holding_a_folder
def run(args: argparse.Namespace, hold) -> int:
    import math
    import shutil
    import sys
    import time
    import warnings
    from pathlib import Path

    from naapgnn.errors import NaapgnnError
    from naapgnn.evaluation.analysis import (best_label, best_per_budget, budget_edge_note, close_lead_words,
                                             close_leads, reads_lacking, spent_fraction, stopped_before_note)
    from naapgnn.evaluation.benchmark import load_benchmark_for_evaluation
    from naapgnn.evaluation.evaluate import channels_lacking, check_options, run_evaluation, select_predictors
    from naapgnn.evaluation.notes import (configuration_note, cut_short_note, equal_targets_note, small_inner_note,
                                          small_split_note)
    from naapgnn.evaluation.report import write_outputs
    from naapgnn.io import staged_writes
    from naapgnn.runtime import resolve_device

    warnings.filterwarnings("ignore", category=FutureWarning)
    start = time.perf_counter()
    budgets = None if args.budgets is None else parse_budgets(args.budgets)
    from naapgnn.models.zero_cost import check_batch_size

    check_batch_size(args.zc_batch_size, "--zc-batch-size")  # before the data is read, not when scoring starts
    from naapgnn.cli.options import (budgets_held, hold_out_folder, note_repeated_configurations, parse_params,
                                     protocol_or_default, scale_option, split_options)
    from naapgnn.data.channels import first_logged_epoch

    protocols = None if args.protocol is None else parse_list(args.protocol, "--protocol")

    gnn_params = parse_params(args.gnn_params, "--gnn-params")
    from naapgnn.evaluation.report import output_names

    hold_out_folder(hold, args.out, "evaluate", also=("cache",), outputs=output_names())  # refused before any work
    if args.jobs < 1:
        raise NaapgnnError(f"--jobs must be >= 1, got {args.jobs}")
    if not (math.isfinite(args.tolerance) and args.tolerance >= 0):
        raise NaapgnnError(f"--tolerance must be a finite margin >= 0 (a Kendall tau difference), got {args.tolerance}")
    if args.cifar_root is not None and not Path(args.cifar_root).exists():
        raise NaapgnnError(f"--cifar-root: {args.cifar_root}: no such folder")
    predictors = select_predictors(args.predictors, gnn_params)
    resolve_device(args.device)  # the zero-cost scores' device, refused in one line before any work
    check_options(protocols or [], args.seeds, args.inner_folds, args.full_epochs)
    bench = load_benchmark_for_evaluation(args.data, **scale_option(args))
    note_repeated_configurations(bench)
    protocols = protocols or ["repeated" if args.train_size is not None else
                              protocol_or_default(None, bench.is_test, args.data)]
    split_options(args, protocols, repeats=10)
    shortest = min(r.num_epochs for r in bench.records)
    if budgets is None:
        budgets = budgets_held(range(10), shortest,
                               first_logged=first_logged_epoch(bench.records), records=bench.records)
    out = Path(args.out)
    if args.fresh and (out / "cache").exists():
        shutil.rmtree(out / "cache")
    result = run_evaluation(
        bench, out, predictors, budgets=budgets, protocols=protocols, n_seeds=args.seeds,
        n_repeats=args.repeats, n_folds=args.folds, inner_folds=args.inner_folds, cifar_root=args.cifar_root,
        zc_batch_size=args.zc_batch_size, device=args.device, jobs=args.jobs, progress=not args.quiet,
        full_epochs=args.full_epochs, zero_cost_limit=zero_cost_limit(args, predictors), train_size=args.train_size,
    )
    if result.zero_cost_skipped:
        minutes = max(result.zero_cost_skipped.values()) / 60
        print(f"note: {', '.join(result.zero_cost_skipped)} left out: their scores of {len(bench.records)} "
              f"architectures x {args.seeds} seeds would take about {minutes:.0f} min here (projected from the first "
              f"ones, --zc-max-minutes {args.zc_max_minutes:g}); name them in --predictors to run them",
              file=sys.stderr)
    for key, why in result.unfit.items():
        print(f"note: {key} is left out: {why}", file=sys.stderr)
    for note in (cut_short_note(result), stopped_before_note(budgets, result.run_epochs)):
        if note:
            print(f"note: {note}", file=sys.stderr)
    lacking = channels_lacking(bench, predictors)
    for key, missing in lacking.items():
        if any(b > 0 for b in budgets):
            print(f"note: {key} is left out at budgets >= 1: it "
                  f"{reads_lacking(bench.records, missing, args.data or 'the data')}", file=sys.stderr)
    running = [p for p in predictors if p.key not in result.unfit and p.key not in lacking]  # the others: said above
    shorter = None if args.budgets is not None else default_budgets_note(
        budgets, shortest, [r.stopped_at or r.num_epochs for r in bench.records])
    for note in [*out_of_range_notes(running, budgets), *([shorter] if shorter else [])]:
        print(f"note: {note}", file=sys.stderr)
    if not args.quiet:
        print(f"writing {out / 'report.md'} and the figures ...", file=sys.stderr, flush=True)
    with staged_writes():  # report, tables and figures land together
        paths = write_outputs(result, out, tolerance=args.tolerance)
    remove_former_outputs(out, paths.values())

    headline = result.advice_protocol
    labels = {p.key: p.title() for p in predictors}
    full = result.full_epochs
    print(f"best predictor per budget on the test architectures ({headline} protocol; mean +- std over runs):")
    print(f"{'epochs':>6}  {'spent':>6}  {'Kendall tau':>13}  {'viol.':>13}  {'MAE':>15}  {'P@5':>10}  predictor")
    for _, r in best_per_budget(result.results, headline).iterrows():
        share = spent_fraction(int(r["budget"]), full, result.run_epochs)
        spent = f"{100 * share:>5.1f}%" if full else "   n/a"
        undefined = math.isnan(r["kendall_tau"])
        tau = f"{'undefined':>13}" if undefined else f"{r['kendall_tau']:>6.3f}+-{_std(r['kendall_tau_std'], 3)}"
        print(f"{int(r['budget']):>6}  {spent}  {tau}  "
              f"{_pm(r['violations'], r['violations_std'], 1, 'undef.', '+-'):>13}  "
              f"{r['mae']:>7.4f}+-{_std(r['mae_std'], 4)}  "
              f"{_pm(r['precision_at_5'], r['precision_at_5_std'], 2, 'n/a', '+-'):>10}  "
              f"{best_label(r, labels.get(r['predictor'], r['predictor']))}")
    for lead in close_leads(result.results, result.runs, headline):
        print(f"note: {close_lead_words(lead, lambda key: labels.get(key, key))}")
    twins = configuration_note(result, str)  # by key: the labels above are long
    if twins:
        print(f"note: {twins}")
    percent = "targets read in percent and divided by 100: MAEs are fractions (0.01 = 1 point)"
    for note in (small_split_note(result), equal_targets_note(result),
                 percent if args.target_scale == "percent" else None):
        if note:
            print(f"note: {note}")
    advice = result.advice(args.tolerance)
    if advice is not None:
        print(advice_line(advice, labels))
        edge = budget_edge_note(advice, budgets, bench.max_epochs, result.run_epochs)
        for note in (edge[0].lower() + edge[1:] if edge else None, small_inner_note(result, advice)):
            if note:
                print(f"note: {note}")
    print(f"{result.computed} runs computed, {result.reused} reused; wall time {result.wall_seconds:.1f} s evaluating "
          f"(report.md's), {time.perf_counter() - start:.1f} s in all")
    figures = sum(Path(path).suffix == ".png" for path in paths.values())
    print(f"wrote {paths['results']}, {paths['report']} and {figures} figure{'s' * (figures != 1)}", file=sys.stderr)
    return 0


def remove_former_outputs(out, written) -> list:
    """Remove from ``out`` the outputs of :func:`naapgnn.evaluation.report.write_outputs` that an earlier run wrote
    and this one did not (``written``; :func:`naapgnn.folders.remove_former`). Returns them."""
    from naapgnn.evaluation.report import output_names
    from naapgnn.folders import remove_former

    return remove_former(out, output_names(), written)


def zero_cost_limit(args: argparse.Namespace, predictors) -> float | None:
    """Seconds the zero-cost scores may take: None when ``--predictors`` names a zero-cost predictor (or the
    ``zero_cost`` group) itself, else ``--zc-max-minutes``."""
    from naapgnn.errors import NaapgnnError

    if args.zc_max_minutes < 0:
        raise NaapgnnError(f"--zc-max-minutes must be >= 0, got {args.zc_max_minutes:g}")
    named = set(parse_list(args.predictors, "--predictors"))
    explicit = named & ({p.key for p in predictors if p.entry.zero_cost} | {"zero_cost"})
    return None if explicit else 60.0 * args.zc_max_minutes


def default_budgets_note(budgets, held: int, logged: Sequence[int] = ()) -> str | None:
    """A sentence when the default budgets stop well short of ``held``, the epochs the curves run to (``logged``:
    each run's own length, shorter for a run that stopped early): the advice and the tables then answer for those
    budgets only. The longer budgets it suggests save training (a budget at the full length reads the target)."""
    if not budgets or held < 2 * max(budgets):
        return None
    top = max(budgets)
    stopped = [n for n in logged if n < held]
    runs = (f"the curves run to {held} epochs ({len(stopped)} of {len(logged)} runs stopped earlier, the shortest "
            f"after {min(stopped)})" if stopped else f"every curve holds {held}")
    longer = ",".join(str(b) for b in sorted({held // 4, held // 2}) if b > top + 1)  # not 10 beside 9
    return (f"the default budgets stop at {top} epochs, and {runs}: the advice and the tables answer for those "
            f"budgets only (give longer ones in --budgets, e.g. --budgets 0,1,3,{top}{',' * bool(longer)}{longer})")


def out_of_range_notes(predictors, budgets) -> list[str]:
    """A line per range of budgets some of ``predictors`` apply to (``Entry.applies``), naming those left out at
    some of ``budgets`` >= 1 for it: a zero-training model runs at budget 0 only (that a model of the curve does
    not run at 0 goes without saying)."""
    budgets = [b for b in budgets if b > 0]
    by_range: dict[tuple, list] = {}
    for p in predictors:
        if any(not p.entry.applies(b) for b in budgets):
            by_range.setdefault((p.entry.min_budget, p.entry.max_budget), []).append(p)
    notes = []
    for (low, high), group in by_range.items():
        span = f"{low} only" if low == high else f"{low} and up" if high is None else f"{low} to {high}"
        left = [str(b) for b in budgets if not group[0].entry.applies(b)]
        keys = [p.key for p in group]
        they = "it is" if len(keys) == 1 else "they are"
        notes.append(f"{', '.join(keys)} run{'s' * (len(keys) == 1)} at budget {span}, so {they} left out at budget"
                     f"{'s' * (len(left) > 1)} {', '.join(left)}")
    return notes


def _std(value: float, digits: int) -> str:
    import math

    return "n/a".ljust(digits + 2) if math.isnan(value) else f"{value:.{digits}f}"


def _pm(mean: float, std: float, digits: int, undefined: str = "undefined", sep: str = " +- ") -> str:
    """``mean +- std``, or the mean alone for a single run (no spread); ``undefined`` where the mean is (no pair to
    count, a test split of fewer than 5 architectures for precision@5); ``sep``: ``"+-"`` in the screen's table."""
    import math

    if math.isnan(mean):
        return undefined
    return f"{mean:.{digits}f}" + ("" if math.isnan(std) else f"{sep}{std:.{digits}f}")


def advice_line(advice: dict, labels: dict) -> str:
    """The advice in two lines: chosen on the inner folds, then scored on the test architectures."""
    from naapgnn.evaluation.analysis import times_faster

    b, name = advice["budget"], labels.get(advice["predictor"], advice["predictor"])
    full = advice["full_epochs"]
    if b == 0:
        spent = "no training (saves 100% of training)"
    elif full:
        faster = times_faster(advice["speedup"])
        spent = f"{b} of {full} epochs (saves {100 * advice['saved']:.1f}% of training, {faster} faster)"
    else:
        spent = f"{b} epochs"
    at_budget = sum(c["budget"] == b for c in advice["choices"])
    agree = (f", the budget chosen in {at_budget} of {advice['n_outer']} training splits" + (
        f", {name} at it in {advice['agree']}" if advice["agree"] < at_budget else "")) if advice["n_outer"] > 1 else ""
    split = advice["n_outer"] > 1 and advice["agree"] < advice["n_outer"]  # the other splits chose otherwise
    return (f"good enough (smallest budget within the spread of the best, chosen on {advice['n_inner']} folds inside "
            f"the training split{agree}): {spent} with {name}: inner Kendall tau "
            f"{_pm(advice['inner_kendall_tau'], advice['inner_kendall_tau_std'], 3)}"
            + (f" (in those {advice['agree']})" if split else "") + "\n"
            + ("  on the test architectures, each split at its own choice: " if split else
               "  on the test architectures: ")
            + f"Kendall tau {_pm(advice['test_kendall_tau'], advice['test_kendall_tau_std'], 3)}, "
            f"MAE {_pm(advice['test_mae'], advice['test_mae_std'], 4)} (best on the test split in hindsight: "
            + (f"{advice['hindsight_kendall_tau']:.3f} at budget {advice['hindsight_budget']})"
               if "hindsight_budget" in advice else "none, Kendall tau undefined there)"))

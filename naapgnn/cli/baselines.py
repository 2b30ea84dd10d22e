"""``naapgnn baselines``: the paper's 24 regressors, the per-layer forests and Baker et al.'s, under a protocol,
on NAAP-440 or any benchmark of records."""
from __future__ import annotations

import argparse

from naapgnn.cli.options import add_target_scale, holding_a_folder

PROTOCOLS = ("official", "repeated", "kfold", "extrapolate")
DEFAULT_OUT = "results/baselines"
# Every file a run writes into its folder; the comparison with the paper only on an official run of NAAP-440
OUTPUTS = ("baselines.csv", "baselines.md", "baselines_detail.csv", "paper_comparison.csv", "paper_comparison.md")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "baselines",
        help="evaluate the paper's scikit-learn baselines, the per-layer forests and Baker et al.'s",
        description="Fit the NAAP-440 paper's 24 regressors (its names, hyperparameters, feature "
        "sets and seeds) and the per-layer random forests at each budget, under an evaluation "
        "protocol; print the table and write OUT/baselines.csv and OUT/baselines.md. The official "
        "protocol reproduces the paper: five seeds, the median-violations run reported. With --data FILE.jsonl, "
        "the same on any benchmark of records (Baker et al.'s predictors and the per-layer forests by default).",
    )
    p.add_argument("--data", metavar="PATH", default=None,
                   help="NAAP-440 folder (default: $NAAPGNN_DATA, then the user cache), or any benchmark as a "
                   "JSON Lines file of records (then the default models are Baker et al.'s and the per-layer "
                   "forests, and a model reading a curve channel the records lack is left out at budgets >= 1)")
    p.add_argument("--budgets", default=None, metavar="K,K,...",
                   help="epoch budgets, comma-separated, each 0 .. the curves' length (default 0,3,6,9, those "
                   "the shortest curve holds, each moved down to an epoch some run logs a value at; a finished run "
                   "that stopped early holds every budget, its last values carried to the longest length)")
    p.add_argument("--protocol", choices=PROTOCOLS, default=None,
                   help="official (the default; repeated for a benchmark with no record marked test): IsTest "
                   "split, 5 seeds; repeated: random splits, a test part of about 1/11 (400/40 on NAAP-440); "
                   "kfold: 10 folds over all; extrapolate: train "
                   "on the lowest 80%% by accuracy, test on the top 20%%")
    p.add_argument("-o", "--out", metavar="DIR", default=None,
                   help=f"output folder (default {DEFAULT_OUT}, or {DEFAULT_OUT}-PROTOCOL for other protocols)")
    p.add_argument("--models", default=None, metavar="SPEC",
                   help="comma-separated model names or groups: all, paper, extra, baker (Baker et al.'s nu-SVR and "
                   "random forest; one alone by its name or registry key, baker_rf), deterministic (default "
                   "all for NAAP-440, baker,extra for a JSON Lines benchmark); a model by its name (5-NN) or its "
                   "key in the predictor registry (paper:5-NN, paper_gb100, per_layer_forest)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--seed", type=int, default=0, help="split seed of the repeated and kfold protocols (default 0)")
    p.add_argument("--repeats", type=int, default=None, help="splits of the repeated protocol (default 20)")
    p.add_argument("--folds", type=int, default=None, help="folds of the kfold protocol (default 10)")
    p.add_argument("--compare-paper", action="store_true",
                   help="official protocol: print ours beside the paper's table (always written to "
                   "OUT/paper_comparison.csv and .md)")
    p.add_argument("--fresh", action="store_true", help="ignore results saved by an interrupted run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_target_scale(p)
    p.set_defaults(func=run)


DEFAULT_BUDGETS = (0, 3, 6, 9)


def parse_budgets(text: str, records: list | None = None, name: str = "the benchmark") -> list[int]:
    """Distinct budgets in the order given, each ``0 ..`` NAAP-440's 90 epochs, or with ``records`` (of the file
    ``name``) the shortest curve's length, a longer one naming that record."""
    from naapgnn.data.naap440 import NUM_EPOCHS
    from naapgnn.errors import NaapgnnError
    from naapgnn.io import comma_items

    short = min(records, key=lambda r: r.num_epochs) if records else None
    top = NUM_EPOCHS if short is None else short.num_epochs
    budgets = []
    for item in comma_items(text, "--budgets"):
        if item.isdigit() and int(item) > top and short is not None:
            raise NaapgnnError(f"--budgets: budget {item} needs {item} epochs of curve, {short.place(name)} has {top}")
        if not item.isdigit() or not 0 <= int(item) <= top:
            raise NaapgnnError(f"--budgets: {item!r} is not an integer number of epochs between 0 and {top}")
        if int(item) not in budgets:
            budgets.append(int(item))
    if not budgets:
        raise NaapgnnError("--budgets: no budget given")
    return budgets


@holding_a_folder
def run(args: argparse.Namespace, hold) -> int:
    import sys
    import time
    from pathlib import Path

    from baselines.runner import (channels_missing, markdown, markdown_frame, paper_comparison, results_frame,
                                  run_baselines, select_baselines, summary_text)
    from naapgnn.cli.options import (budgets_held, check_seed, hold_out_folder, note_repeated_configurations,
                                     protocol_or_default, scale_option, split_options)
    from naapgnn.evaluation.analysis import nothing_to_run
    from naapgnn.evaluation.evaluate import check_targets_vary
    from naapgnn.data.download import BASELINES_CSV, dataset_dir
    from naapgnn.data.naap440 import load_naap440, load_paper_baselines
    from naapgnn.errors import NaapgnnError
    from naapgnn.folders import remove_former
    from naapgnn.io import staged_writes, write_text_atomic

    start = time.perf_counter()
    if args.jobs < 1:
        raise NaapgnnError(f"--jobs must be >= 1, got {args.jobs}")
    check_seed(args.seed)
    records_file = is_records_file(args.data)
    if records_file and args.compare_paper:
        raise NaapgnnError("--compare-paper: the paper's table is of NAAP-440, not of a JSON Lines benchmark")
    if args.out is not None:  # held before the benchmark is read: a busy or unwritable folder is refused at once
        hold_out_folder(hold, args.out, "baselines", outputs=OUTPUTS)
    chosen = select_baselines(("baker,extra" if records_file else "all") if args.models is None else args.models)
    if records_file:
        from naapgnn.data.channels import first_logged_epoch
        from naapgnn.evaluation.benchmark import load_benchmark_for_evaluation

        df = load_benchmark_for_evaluation(args.data, **scale_option(args))
        check_targets_vary(df.y, df.name)
        note_repeated_configurations(df)
        budgets = (parse_budgets(args.budgets, df.records, Path(args.data).name) if args.budgets
                   else budgets_held(DEFAULT_BUDGETS, df.max_epochs, first_logged=first_logged_epoch(df.records),
                                     records=df.records))
        args.protocol = protocol_or_default(args.protocol, df.is_test, args.data)
    else:
        budgets = parse_budgets(args.budgets) if args.budgets else list(DEFAULT_BUDGETS)
        df = load_naap440(args.data)
        args.protocol = args.protocol or "official"
    if records_file and any(b > 0 for b in budgets):
        for note in left_out_notes(df.records, channels_missing(df, chosen), args.models, args.data):
            print(note, file=sys.stderr)
    split_options(args, [args.protocol], repeats=20)
    out = Path(args.out or (DEFAULT_OUT if args.protocol == "official" else f"{DEFAULT_OUT}-{args.protocol}"))
    if args.out is None:  # the default folder, known once the protocol is
        hold_out_folder(hold, out, "baselines", outputs=OUTPUTS)
    partial = out / f".baselines-{args.protocol}.partial.jsonl"
    if args.fresh and partial.exists():
        partial.unlink()
    split_kw = {}
    if args.protocol == "repeated":
        split_kw = {"seed": args.seed, "n_repeats": args.repeats}
    elif args.protocol == "kfold":
        split_kw = {"seed": args.seed, "n_folds": args.folds}

    rows = run_baselines(df, chosen, budgets, protocol=args.protocol, n_jobs=args.jobs,
                         progress=not args.quiet, resume_file=partial, **split_kw)
    if not rows:
        raise nothing_to_run("--models", budgets, Path(args.data).name if records_file else "NAAP-440",
                             channels_missing(df, chosen) if records_file else {}, getattr(df, "records", []))

    frame = results_frame(rows, args.protocol)
    comparison = None
    if args.protocol == "official" and not records_file and (dataset_dir(args.data) / BASELINES_CSV).is_file():
        comparison = paper_comparison(rows, load_paper_baselines(args.data))
    compared = comparison is not None and len(comparison) > 0
    tables = {"baselines.csv": frame.to_csv(index=False),
              "baselines.md": markdown(markdown_frame(rows, args.protocol)),
              "baselines_detail.csv": detail_frame(rows).to_csv(index=False)}
    if compared:
        tables.update({"paper_comparison.csv": comparison.to_csv(index=False),
                       "paper_comparison.md": markdown(comparison)})
    with staged_writes():  # the tables land together
        for name, text in tables.items():
            write_text_atomic(out / name, text)
    remove_former(out, OUTPUTS, tables)  # an earlier official run's comparison would read as this run's
    print(summary_text(rows, args.protocol))
    small = small_split_note(df, args.protocol, split_kw) if records_file else None
    if small:
        print(f"note: {small}")
    if compared and args.compare_paper:
        print()
        print(comparison_text(comparison))
    rows.discard()  # the resume file goes with the last of its fits
    print(f"\nwrote {out / 'baselines.csv'} and {out / 'baselines.md'}")
    print(f"wall time: {time.perf_counter() - start:.1f} s ({args.jobs} job{'s' * (args.jobs != 1)})")
    return 0


def left_out_notes(records, missing: dict, models: str | None, data: str) -> list[str]:
    """The notes on models left out at budgets >= 1 for curve channels the records lack (``missing``, model name ->
    channels): one per model named in ``--models``, saying which channels; one short line for those a group (or
    the default) brought in."""
    from naapgnn.evaluation.analysis import reads_lacking

    named = {s.strip() for s in (models or "").split(",")}
    notes = [f"note: {name} is left out at budgets >= 1: it {reads_lacking(records, channels, data)}"
             for name, channels in missing.items() if name in named]
    grouped = [f"{name} (reads {', '.join(channels)})" for name, channels in missing.items() if name not in named]
    if grouped:
        notes.append(f"note: left out at budgets >= 1 for curve channels these records lack (name one in --models "
                     f"for more): {'; '.join(grouped)}")
    return notes


def small_split_note(bench, protocol: str, split_kw: dict) -> str | None:
    """:func:`naapgnn.evaluation.protocols.small_test_note` of the splits the baselines were scored on."""
    from naapgnn.evaluation.protocols import small_test_note, splits

    split_list = splits(protocol, bench.y, bench.is_test, groups=bench.groups, **split_kw)
    return small_test_note([len(test) for _, test in split_list], len(bench.y), protocol, PROTOCOLS)


def is_records_file(data) -> bool:
    """Whether ``--data`` names a benchmark of records (a file other than a CSV) rather than NAAP-440."""
    from pathlib import Path

    return data is not None and Path(data).is_file() and Path(data).suffix.lower() != ".csv"


def comparison_text(comparison) -> str:
    """Ours beside the paper's, with the spread over seeds and a summary of matches."""
    lines = [f"{'model':<26}{'budget':>7}{'paper viol':>12}{'ours':>6}{'seeds min-max':>15}"
             f"{'paper MAE':>11}{'ours MAE':>10}  match"]
    for r in comparison.itertuples(index=False):
        spread = f"{r.violations_min}-{r.violations_max}"
        lines.append(f"{r.model:<26}{r.budget:>7}{r.paper_violations:>12}{r.violations:>6}{spread:>15}"
                     f"{r.paper_mae:>11.4f}{r.mae:>10.4f}  {'yes' if r.match else 'no'}")
    inside = comparison.in_range.sum()
    lines.append(f"exact matches (violations equal, MAE within 0.0001): {int(comparison.match.sum())} of "
                 f"{len(comparison)}; paper's violations inside our 5-seed range: {int(inside)} of {len(comparison)}")
    return "\n".join(lines)


def detail_frame(rows):
    """Every key of every row (all metrics, chosen seed, per-seed lists joined by ';', an undefined value in them
    empty as in the CSVs' own cells: ``3;;5``)."""
    import pandas as pd

    def item(value) -> str:
        return "" if isinstance(value, float) and value != value else str(value)

    flat = [{k: ";".join(map(item, v)) if isinstance(v, list) else v for k, v in r.items()} for r in rows]
    return pd.DataFrame(flat)

"""``naapgnn import <benchmark> SOURCE -o FILE.jsonl``: public benchmarks and training logs -> naapgnn JSON Lines."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "import",
        help="turn a public benchmark into a naapgnn JSON Lines benchmark",
        description="Read a public benchmark's file and write one naapgnn record per architecture "
        "(JSON Lines, atomically), ready for naapgnn train, predict, evaluate and search.",
    )
    benchmarks = p.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    deep = benchmarks.add_parser(
        "deep-resnets",
        help="684 ResNets on TinyImageNet with 140-epoch curves (Baker et al. 2018)",
        description="deep_resnets_tinyimagenet.csv -> records: the CIFAR-style ResNet of depth "
        "6 x num_blocks + 2 as a layer graph, lr and ss as hparams, acc_1..acc_140 as the accuracy "
        "curve, target acc_140, a seeded train/test split.",
    )
    deep.add_argument("csv", metavar="CSV", help="deep_resnets_tinyimagenet.csv")
    deep.add_argument("-o", "--out", required=True, metavar="FILE.jsonl", help="benchmark to write")
    deep.add_argument("--seed", type=int, default=0, help="seed of the train/test split (default 0)")
    deep.add_argument("--test-fraction", type=float, default=0.2,
                      help="share of the networks marked test (default 0.2)")
    deep.set_defaults(func=run_deep_resnets)
    nb = benchmarks.add_parser(
        "nb201",
        help="the 15,625 NAS-Bench-201 cells with their 200-epoch test accuracy (Dong & Yang 2020)",
        description="nats_bench.csv -> records: each cell's full network as a layer graph (pre-activation "
        "convs, identity edges, dead branches and cut-off nodes as zero layers kept), id nb201-<row>, "
        "target = 200-epoch test accuracy / 100.",
    )
    nb.add_argument("csv", metavar="CSV", help="nats_bench.csv")
    nb.add_argument("--dataset", required=True, choices=("cifar10", "cifar100", "imagenet16"),
                    help="accuracy, input shape and classes: cifar10 3x32x32/10, cifar100 3x32x32/100, "
                    "imagenet16 (ImageNet16-120) 3x16x16/120")
    nb.add_argument("-o", "--out", required=True, metavar="FILE.jsonl", help="benchmark to write")
    nb.add_argument("--train", type=int, metavar="N", help="mark N random cells train and the rest test "
                    "(default: no split)")
    nb.add_argument("--seed", type=int, default=0, help="seed of the --train draw (default 0)")
    nb.set_defaults(func=run_nb201)
    logs = benchmarks.add_parser(
        "logs",
        help="a folder of training logs (naapgnn regenerate, NAAP-440's raw_data/) with any architectures",
        description="RAW_DIR's scheme_<id>.txt logs -> records, one per log: id <id>, the logged network (a "
        "NAAP-440 scheme or a layer graph), the curve channels accuracy, loss_mean, loss_median and lr, target "
        "= the maximum test accuracy over the epochs written, and build-csv's IsTest split (or, with "
        "--test-fraction, a seeded one). Logs of different lengths are refused unless --epochs cuts them.",
    )
    logs.add_argument("raw_dir", metavar="RAW_DIR", help="folder of scheme_<id>.txt logs")
    logs.add_argument("-o", "--out", required=True, metavar="FILE.jsonl", help="benchmark to write")
    logs.add_argument("--epochs", type=int, default=None, metavar="N",
                      help="epochs of every log to keep, cutting longer logs (default: the logs' common length; "
                      "logs of different lengths are refused)")
    logs.add_argument("--test-fraction", type=float, default=None, metavar="F",
                      help="mark a seeded random share F of the logs test (default: build-csv's split, bins of "
                      "round(N/40) logs by final accuracy with the middle of each to test: 40 of 440, half of 60-99 "
                      "logs, every log below 60)")
    logs.add_argument("--seed", type=int, default=0, help="seed of the --test-fraction draw (default 0)")
    logs.set_defaults(func=run_logs)


def check_import_options(args: argparse.Namespace, source: str, what: str = "the input CSV") -> None:
    """One line for an output that would overwrite the input ``source`` (``what`` names it) or is a folder, and
    for a negative seed (where the benchmark takes one)."""
    from pathlib import Path

    from naapgnn.cli.options import check_seed, writable_file
    from naapgnn.errors import NaapgnnError

    if getattr(args, "seed", None) is not None:
        check_seed(args.seed)
    writable_file(args.out, "-o", "bench.jsonl")
    out = Path(args.out)
    if out.exists() and Path(source).exists() and out.resolve() == Path(source).resolve():
        raise NaapgnnError(f"-o {args.out}: is {what}; give another file")


def run_deep_resnets(args: argparse.Namespace) -> int:
    from naapgnn.data.deep_resnets import read_deep_resnets
    from naapgnn.data.records import write_jsonl

    check_import_options(args, args.csv)
    records = read_deep_resnets(args.csv, seed=args.seed, test_fraction=args.test_fraction)
    write_jsonl(records, args.out)
    n_test = sum(r.split == "test" for r in records)
    diverged = sum(r.target < 0.05 for r in records)
    print(f"wrote {len(records)} records to {args.out} ({len(records) - n_test} train, {n_test} test; "
          f"{diverged} diverged, final accuracy < 0.05, kept)")
    _one_sided_note(n_test, len(records), args.test_fraction)
    _repeated_rows_note(records)
    return 0


def _repeated_rows_note(records: list) -> None:
    """A note on rows that repeat a configuration (the published CSV holds 51 such configurations, 33 of its rows
    copies of another in full): kept as runs, and how the splits treat them."""
    import numpy as np

    from naapgnn.data.configurations import configuration_groups, identical_records

    groups = configuration_groups(records)
    if groups is None:
        return
    _, counts = np.unique(groups, return_counts=True)
    identical = identical_records(records)
    copies = (f"{len(identical)} of them copies of an earlier row in full (first: {records[identical[0][1]].id} "
              f"repeats {records[identical[0][0]].id}), " if identical else "")
    is_test = np.array([r.split == "test" for r in records])
    straddle = int(np.isin(groups[is_test], groups[~is_test]).sum())
    print(f"note: {int((counts > 1).sum())} configurations (architecture and hyperparameters) appear in more than one "
          f"row, {int(counts[counts > 1].sum())} rows in all, {copies}kept as repeated runs: evaluate's repeated and "
          f"kfold splits keep each configuration on one side; {straddle} records marked test here share theirs with "
          "a training record, which the official split scores as new")


def _one_sided_note(n_test: int, n: int, test_fraction: float) -> None:
    """A note when ``--test-fraction`` left every record on one side of the split (``round(n * F)`` is 0 or n)."""
    if 0 < n_test < n:
        return
    side = "train: none to test on" if n_test == 0 else "test: none to train on"
    print(f"note: --test-fraction {test_fraction:g} of {n} records marks {n_test} test, every record {side}; give "
          f"a share above {0.5 / n:.2g} and below {1 - 0.5 / n:.2g} to keep some on each side")


def run_nb201(args: argparse.Namespace) -> int:
    from naapgnn.data.nb201 import read_nb201
    from naapgnn.data.records import write_jsonl

    check_import_options(args, args.csv)
    records = read_nb201(args.csv, dataset=args.dataset, train=args.train, seed=args.seed)
    write_jsonl(records, args.out)
    split = "no split" if args.train is None else f"{args.train} train, {len(records) - args.train} test"
    cut_off = sum(any(layer.op == "zero" for layer in r.arch.layers) for r in records)
    print(f"wrote {len(records)} records to {args.out} ({split}; {cut_off} with a cut-off node, kept as zero layers)")
    return 0


def run_logs(args: argparse.Namespace) -> int:
    from naapgnn.data.log_records import read_log_records
    from naapgnn.data.records import write_jsonl

    _check_logs_output(args)
    records = read_log_records(args.raw_dir, epochs=args.epochs, test_fraction=args.test_fraction, seed=args.seed)
    write_jsonl(records, args.out)
    n_test = sum(r.split == "test" for r in records)
    print(f"wrote {len(records)} records to {args.out} ({len(records) - n_test} train, {n_test} test; "
          f"{records[0].num_epochs} epochs each)")
    if args.test_fraction is not None:
        _one_sided_note(n_test, len(records), args.test_fraction)
    elif n_test > len(records) / 4:
        print(f"note: {_dataset_split_words(n_test, len(records))}; --test-fraction 0.2 draws a split instead")
    return 0


def _dataset_split_words(n_test: int, n: int) -> str:
    """What build-csv's split (the dataset's own) did to ``n`` logs when it marked many of them test."""
    from naapgnn.data.logs import TEST_BINS, split_bin_size

    bins = (f"bins of round({n} / {TEST_BINS}) = {split_bin_size(n)} logs by final accuracy, the middle of each to "
            f"test, where NAAP-440's 440 make {TEST_BINS} test")
    if n_test == n:
        return f"every record is marked test (build-csv's split: {bins}), so naapgnn train finds none to train on"
    return f"{n_test} of the {n} records are marked test (build-csv's split: {bins})"


def _check_logs_output(args: argparse.Namespace) -> None:
    """:func:`check_import_options`, and one line for an output named as a log of RAW_DIR."""
    from naapgnn.cli.options import not_a_log_of

    check_import_options(args, args.raw_dir, "the input folder")
    not_a_log_of(args.out, args.raw_dir, "-o")

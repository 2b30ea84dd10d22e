"""``naapgnn import <benchmark> SOURCE -o FILE.jsonl``: public benchmarks -> naapgnn JSON Lines."""
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


def check_import_options(args: argparse.Namespace) -> None:
    """One line for an output that would overwrite the input or is a folder, and for a negative seed."""
    from pathlib import Path

    from naapgnn.cli.options import check_seed, writable_file
    from naapgnn.errors import NaapgnnError

    check_seed(args.seed)
    writable_file(args.out, "-o", "bench.jsonl")
    out = Path(args.out)
    if out.exists() and Path(args.csv).exists() and out.resolve() == Path(args.csv).resolve():
        raise NaapgnnError(f"-o {args.out}: is the input CSV; give another file")


def run_deep_resnets(args: argparse.Namespace) -> int:
    from naapgnn.data.deep_resnets import read_deep_resnets
    from naapgnn.data.records import write_jsonl

    check_import_options(args)
    records = read_deep_resnets(args.csv, seed=args.seed, test_fraction=args.test_fraction)
    write_jsonl(records, args.out)
    n_test = sum(r.split == "test" for r in records)
    diverged = sum(r.target < 0.05 for r in records)
    print(f"wrote {len(records)} records to {args.out} ({len(records) - n_test} train, {n_test} test; "
          f"{diverged} diverged, final accuracy < 0.05, kept)")
    return 0


def run_nb201(args: argparse.Namespace) -> int:
    from naapgnn.data.nb201 import read_nb201
    from naapgnn.data.records import write_jsonl

    check_import_options(args)
    records = read_nb201(args.csv, dataset=args.dataset, train=args.train, seed=args.seed)
    write_jsonl(records, args.out)
    split = "no split" if args.train is None else f"{args.train} train, {len(records) - args.train} test"
    cut_off = sum(any(layer.op == "zero" for layer in r.arch.layers) for r in records)
    print(f"wrote {len(records)} records to {args.out} ({split}; {cut_off} with a cut-off node, kept as zero layers)")
    return 0

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


def run_deep_resnets(args: argparse.Namespace) -> int:
    from naapgnn.data.deep_resnets import read_deep_resnets
    from naapgnn.data.records import write_jsonl

    records = read_deep_resnets(args.csv, seed=args.seed, test_fraction=args.test_fraction)
    write_jsonl(records, args.out)
    n_test = sum(r.split == "test" for r in records)
    diverged = sum(r.target < 0.05 for r in records)
    print(f"wrote {len(records)} records to {args.out} ({len(records) - n_test} train, {n_test} test; "
          f"{diverged} diverged, final accuracy < 0.05, kept)")
    return 0

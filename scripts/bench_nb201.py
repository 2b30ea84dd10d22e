"""Import + encode time of all 15,625 NAS-Bench-201 networks (target: under 30 s on a 2-core machine).

Usage: python scripts/bench_nb201.py [--csv ../shared/data/nb201/nats_bench.csv] [--dataset cifar10] [--limit N]
                                     [--freeze]

Prints the seconds (wall clock and this process's CPU time) of ``read_nb201`` (CSV -> records, each
network built as a layer graph and validated) and of ``encode`` of every record, and their sum.
``--freeze`` calls ``gc.freeze()`` after the import, so that Python's cyclic garbage collector
stops rescanning the 1.5 million layer objects just built while the encoding allocates.
"""
from __future__ import annotations

import argparse
import gc
import time

import torch

from naapgnn.data.nb201 import read_nb201
from naapgnn.graph.encoding import encode


def timed(work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default="../shared/data/nb201/nats_bench.csv")
    parser.add_argument("--dataset", default="cifar10", choices=("cifar10", "cifar100", "imagenet16"))
    parser.add_argument("--limit", type=int, help="encode only the first N records")
    parser.add_argument("--freeze", action="store_true", help="gc.freeze() between import and encode")
    args = parser.parse_args()
    torch.set_num_threads(1)
    records, import_wall, import_cpu = timed(lambda: read_nb201(args.csv, args.dataset))
    records = records[: args.limit] if args.limit else records
    if args.freeze:
        gc.freeze()
    graphs, encode_wall, encode_cpu = timed(lambda: [encode(r.arch) for r in records])
    nodes = sum(int(g.num_nodes) for g in graphs)
    print(f"{len(records)} networks, {nodes} nodes ({nodes / len(records):.1f} per network)")
    print(f"import  {import_wall:6.1f} s wall  {import_cpu:6.1f} s CPU")
    print(f"encode  {encode_wall:6.1f} s wall  {encode_cpu:6.1f} s CPU")
    print(f"total   {import_wall + encode_wall:6.1f} s wall  {import_cpu + encode_cpu:6.1f} s CPU  (target < 30 s)")


if __name__ == "__main__":
    main()

"""Architectures encoded per second: the 440 NAAP-440 schemes and 10,000 of an enlarged space.

The third line times encoding plus PyG batching (Batch.from_data_list), from parsed architectures.

Usage: python scripts/bench_encode.py [--repeats 3] [--threads 1]

Each figure is the median of ``--repeats`` passes; parsing and validation are
included (the input is the raw scheme list, as a user would pass it).
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import time

import torch

from naapgnn.arch.format import parse_architecture
from naapgnn.arch.space import enlarged_rules, iter_search_space, naap440_search_space
from naapgnn.graph.encoding import encode
from naapgnn.models.network import batch_architectures


def rate(schemes: list, repeats: int) -> float:
    """Median architectures/s of encoding ``schemes`` one by one."""
    return _median_rate(lambda: [encode(scheme) for scheme in schemes], len(schemes), repeats)


def batch_rate(archs: list, repeats: int) -> float:
    """Median architectures/s of :func:`naapgnn.models.network.batch_architectures` (what the GNN reads)."""
    return _median_rate(lambda: batch_architectures(archs), len(archs), repeats)


def _median_rate(work, n: int, repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = one core)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    naap = naap440_search_space()
    enlarged = list(itertools.islice(iter_search_space(enlarged_rules()), 0, None, 9))[:10_000]
    encode(naap[0])  # warm-up
    print(f"NAAP-440 (440 schemes):          {rate(naap, args.repeats):8.0f} architectures/s")
    print(f"enlarged space ({len(enlarged):,} schemes):  {rate(enlarged, args.repeats):8.0f} architectures/s")
    parsed = [parse_architecture(s) for s in enlarged]
    print(f"batched for the GNN, from parsed ({len(parsed):,}): {batch_rate(parsed, args.repeats):8.0f} architectures/s")
    print(f"(one process, torch threads = {args.threads}; median of {args.repeats} passes)")


if __name__ == "__main__":
    main()

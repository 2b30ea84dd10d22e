"""CPU seconds of the curve gate with one draw of folds against three (A/B in one run, alternating).

    python scripts/bench_gate_repeats.py [--n 547 2000] [--pairs 2]

Times :func:`naapgnn.models.curve_stack.fit_gated_stack` at a budget with a curve (10 curve feature
columns, 2 hyperparameters, 12 statistics: the shape of the GNN's stack on the deep ResNets) on ``--n``
synthetic records, one BLAS and torch thread, ``repeats=1`` then ``repeats=3``, and prints the medians.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def gate_seconds(n: int, repeats: int) -> float:
    from naapgnn.models.curve_stack import fit_gated_stack
    from naapgnn.runtime import cpu_threads

    rng = np.random.default_rng(0)
    curve = rng.normal(size=(n, 10))
    target = rng.normal(size=n) + 0.3 * curve[:, 0]
    oof = target + rng.normal(0, 0.5, n)
    start = time.process_time()
    with cpu_threads(1):
        fit_gated_stack(oof, curve, target, rng.normal(size=(n, 2)), rng.normal(size=(n, 12)), repeats=repeats)
    return time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[547, 2000])
    parser.add_argument("--pairs", type=int, default=2)
    args = parser.parse_args()
    gate_seconds(100, 1)  # warm-up: imports and the first BLAS calls
    for n in args.n:
        times = {1: [], 3: []}
        for _ in range(args.pairs):
            for repeats in times:
                times[repeats].append(gate_seconds(n, repeats))
        one, three = (statistics.median(times[r]) for r in (1, 3))
        print(f"{n} records: one draw {one:.1f} s CPU, three draws {three:.1f} s CPU ({three / one:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

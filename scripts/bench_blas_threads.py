"""The GNN's gated stack (kernel ridge systems, BLAS) with the thread pools limited to 1 against the
library default, beside one busy-looping process (A/B in one run).

    python scripts/bench_blas_threads.py [--n 1250] [--repeats 3]

``GNNPredictor`` fits and predicts inside :func:`naapgnn.runtime.cpu_threads`, which limits torch's
threads *and* the BLAS/OpenMP pools (threadpoolctl) to ``n_threads``; before, only torch's were
limited, and scipy's solves ran on as many BLAS threads as cores even when another process held one.
This times :func:`naapgnn.models.curve_stack.fit_gated_stack` at budget 0 on ``--n`` synthetic
records (18 statistics columns, as the GNN's) both ways, alternating, and prints the medians.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np

BUSY_LOOP = "while True:\n    pass\n"


def fit_seconds(n: int, limit: int | None) -> float:
    from threadpoolctl import threadpool_limits

    from naapgnn.models.curve_stack import fit_gated_stack

    rng = np.random.default_rng(0)
    stats = rng.normal(size=(n, 18))
    target = stats[:, :3].sum(axis=1) + 0.3 * rng.normal(size=n)
    oof = target + 0.5 * rng.normal(size=n)
    start = time.perf_counter()
    with threadpool_limits(limits=limit):
        fit_gated_stack(oof, np.zeros((n, 0)), target, statistics=stats)
    return time.perf_counter() - start


def main(argv=None) -> int:
    import os

    from threadpoolctl import threadpool_info

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1250, help="records (default 1250: 4/5 of NAS-Bench-201's 1,563)")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    pools = ", ".join(f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info())
    print(f"{os.cpu_count()} CPUs; default pools: {pools}; one busy-looping process beside")
    busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    try:
        times = {"1 thread": [], "default": []}
        for _ in range(args.repeats):
            times["1 thread"].append(fit_seconds(args.n, 1))
            times["default"].append(fit_seconds(args.n, None))
    finally:
        busy.kill()
        busy.wait()
    one, default = statistics.median(times["1 thread"]), statistics.median(times["default"])
    print(f"gated stack, n = {args.n}: 1 thread {one:.1f} s, default pools {default:.1f} s "
          f"(median of {args.repeats}; default / 1 thread = {default / one:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The cost of ``GNNPredictor.with_budget`` across budgets, this code against a baseline checkout, in one run.

Usage: python scripts/bench_with_budget.py --data FILE.jsonl [--target-scale percent] [--budgets 1,3,6,9]
       [--baseline DIR] [--rounds 2]

``naapgnn evaluate`` and the report scripts fit the GNN once per split and derive every other budget with
``with_budget``, which refits only the curve gate (:mod:`naapgnn.models.curve_stack`). This fits the GNN at
budget 0 on a seeded 80% of ``--data`` (not timed), then times ``with_budget`` at each of ``--budgets``
(process CPU seconds and wall seconds, one thread). With ``--baseline`` (a checkout of another revision, for
example ``git worktree add /tmp/base REV``) each round runs both sides in turn, each in its own process,
and the script prints the medians, their ratio and whether the test predictions are bit-identical.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def worker(data: str, scale: str, budgets: list[int]) -> dict:
    """Fit at budget 0, then time ``with_budget`` at ``budgets``; the seconds and a digest of the predictions."""
    import numpy as np

    from naapgnn.evaluation.benchmark import load_benchmark_for_evaluation
    from naapgnn.models.gnn import GNNPredictor
    from naapgnn.models.inputs import take

    bench = load_benchmark_for_evaluation(data, target_scale=scale)
    X, y = GNNPredictor().featurize(bench.records), bench.y
    order = np.random.default_rng(1000).permutation(len(y))
    test, train = np.sort(order[:len(y) // 5]), np.sort(order[len(y) // 5:])
    model = GNNPredictor(budget=0, random_state=0).fit(take(X, train), y[train])
    digest = hashlib.sha256(np.asarray(model.predict(take(X, test)), dtype=float).tobytes())
    cpu, wall = time.process_time(), time.perf_counter()
    for budget in budgets:
        other = model.with_budget(budget, take(X, train), y[train])
        digest.update(np.asarray(other.predict(take(X, test)), dtype=float).tobytes())
    return {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall, "digest": digest.hexdigest()}


def run_side(root: Path, args) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--data", args.data,
               "--target-scale", args.target_scale, "--budgets", args.budgets]
    out = subprocess.run(command, env=env, capture_output=True, text=True, cwd=root)
    if out.returncode:
        sys.exit(f"bench_with_budget: the run in {root} failed: {out.stderr.strip().splitlines()[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--target-scale", default="fraction", choices=("fraction", "percent"))
    parser.add_argument("--budgets", default="1,3,6,9")
    parser.add_argument("--baseline", help="a checkout of the revision to compare against")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    if args.worker:
        print(json.dumps(worker(args.data, args.target_scale, budgets)))
        return
    sides = {"this code": REPO} | ({"baseline": Path(args.baseline).resolve()} if args.baseline else {})
    runs = {name: [] for name in sides}
    for round_ in range(args.rounds):
        for name, root in sides.items():
            runs[name].append(run_side(root, args))
            print(f"round {round_ + 1}, {name}: {runs[name][-1]['cpu']:.2f} s CPU, {runs[name][-1]['wall']:.2f} s wall",
                  flush=True)
    cpu = {name: statistics.median(r["cpu"] for r in rs) for name, rs in runs.items()}
    print(f"with_budget at budgets {args.budgets}, median CPU seconds: "
          + ", ".join(f"{name} {seconds:.2f}" for name, seconds in cpu.items()))
    if args.baseline:
        same = {r["digest"] for rs in runs.values() for r in rs}
        print(f"ratio {cpu['this code'] / cpu['baseline']:.2f}; predictions "
              + ("bit-identical" if len(same) == 1 else "differ"))


if __name__ == "__main__":
    main()

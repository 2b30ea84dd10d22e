"""Time one fit of Baker et al.'s nu-SVR (budget 3) on a benchmark grown to N records.

The deep ResNets are repeated with seeded noise (std 0.003 on every curve value and target) until N
records: a stand-in for a benchmark of thousands of runs, to time the grid search, not to score it.

    python scripts/bench_baker_rows.py --deep deep.jsonl --n 2200
"""
from __future__ import annotations

import argparse
import copy
import time

import numpy as np

from baselines.baker import BakerPredictor
from naapgnn.data.records import load_jsonl


def grown(records, n: int, seed: int = 0) -> list:
    """``n`` records: ``records`` repeated, each copy with its own seeded noise."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        record = copy.copy(records[len(out) % len(records)])
        record.curve = {k: v + rng.normal(0, 0.003, len(v)) for k, v in record.curve.items()}
        record.target = float(record.target + rng.normal(0, 0.003))
        out.append(record)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deep", required=True, help="the deep ResNets as written by naapgnn import deep-resnets")
    parser.add_argument("--n", type=int, default=2200, help="records to fit on (default 2200)")
    parser.add_argument("--budget", type=int, default=3)
    args = parser.parse_args(argv)
    records = grown(load_jsonl(args.deep), args.n)
    y = np.array([r.target for r in records])
    start = time.perf_counter()
    model = BakerPredictor(budget=args.budget).fit(records, y)
    print(f"{args.n} records, budget {args.budget}: fit {time.perf_counter() - start:.1f} s, "
          f"chosen {model.best_params_}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Choose GNNPredictor defaults by cross-validation inside the NAAP-440 training split.

Only the official training split (IsTest 0, 400 architectures) is read:
seeded random 360/40 splits of it (``--splits``, the repeated protocol run on
the training split alone). For every GNN configuration and budget, each split
fits the GNN (``blend_forest=0``) and the per-layer forest once, then scores
blends ``(1 - b) * GNN + b * forest`` for every ``b`` in ``--blends`` at no
extra cost. Prints mean Kendall tau, violations (of 780) and MAE per
configuration, budget and blend; results are appended to a JSON Lines file
so an interrupted run resumes.

    python scripts/select_gnn.py --configs '[{}, {"conv": "sage"}]' --budgets 0,3,6,9
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="NAAP-440 folder (default: $NAAPGNN_DATA or the cache)")
    p.add_argument("--configs", default="[{}]", help="JSON list of GNNPredictor keyword sets")
    p.add_argument("--budgets", default="0,3,6,9")
    p.add_argument("--splits", type=int, default=8, help="inner 360/40 splits of the training split")
    p.add_argument("--blends", default="0,0.25,0.5,0.75,1")
    p.add_argument("--forest-curve", action="store_true", help="the forest also reads cycle curve features")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", default="results/select_gnn.jsonl", help="resume file (the engine's resume store)")
    return p.parse_args(argv)


def inner_units(predictor, budget: int, n_splits: int) -> list:
    """One fit per inner split, seeded with the split's index."""
    from naapgnn.evaluation.engine import Unit

    return [Unit(predictor.key, budget, "repeated", s, s) for s in range(n_splits)]


def main(argv=None) -> int:

    from naapgnn.data.naap440 import load_naap440
    from naapgnn.evaluation.benchmark import benchmark_from_table
    from naapgnn.evaluation.engine import Predictor, run_units
    from naapgnn.evaluation.metrics import kendall_tau, mae, violations
    from naapgnn.evaluation.protocols import splits
    from naapgnn.io import ResumeLog

    args = parse_args(argv)
    configs = json.loads(args.configs)
    budgets = [int(b) for b in args.budgets.split(",")]
    blends = [float(b) for b in args.blends.split(",")]
    df = load_naap440(args.data)
    bench = benchmark_from_table(df[df["IsTest"] == 0].reset_index(drop=True), "NAAP-440 training split")
    y = bench.y
    inner = {"repeated": splits("repeated", y, n_repeats=args.splits, test_size=40, seed=12345)}
    store = ResumeLog(args.out)
    forest = Predictor("forest+cycle" if args.forest_curve else "per_layer_forest")
    done = {}
    for config in configs:
        gnn = Predictor("gnn", {**config, "blend_forest": 0.0, "n_threads": 1})
        for budget in budgets:
            forest_at = forest if budget > 0 else Predictor("per_layer_forest")
            units = inner_units(gnn, budget, args.splits) + inner_units(forest_at, budget, args.splits)
            rows, _ = run_units(bench, [gnn, forest_at], units, inner, store, jobs=args.jobs,
                                desc=f"{json.dumps(config)[:30]} budget {budget}")
            gnn_rows, forest_rows = rows[:args.splits], rows[args.splits:]
            done[(json.dumps(config), budget)] = [
                {"test": g["test"], "gnn": g["pred"], "forest": f["pred"], "cpu_s": g["seconds"]}
                for g, f in zip(gnn_rows, forest_rows)]

    print(f"{'config':60s} {'budget':>6s} " + " ".join(f"{'b=' + str(b):>22s}" for b in blends))
    for config in configs:
        for budget in budgets:
            rows = done[(json.dumps(config), budget)]
            cells = []
            for b in blends:
                taus, viols, maes = [], [], []
                for row in rows:
                    t = y[row["test"]]
                    p = (1 - b) * np.array(row["gnn"]) + b * np.array(row["forest"])
                    taus.append(kendall_tau(t, p))
                    viols.append(violations(t, p))
                    maes.append(mae(t, p))
                cells.append(f"{np.mean(taus):.3f} {np.mean(viols):5.1f} {np.mean(maes):.4f}")
            cpu = np.mean([row["cpu_s"] for row in rows])
            print(f"{json.dumps(config)[:60]:60s} {budget:6d} " + " ".join(f"{c:>22s}" for c in cells)
                  + f"  ({cpu:.0f}s)")
    return 0


if __name__ == "__main__":
    from naapgnn.errors import NaapgnnError

    try:
        sys.exit(main())
    except NaapgnnError as exc:
        sys.exit(f"{Path(__file__).name}: error: {exc}")

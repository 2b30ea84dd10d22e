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
import time
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
    p.add_argument("--out", default="results/select_gnn.jsonl", help="resume file")
    return p.parse_args(argv)


def fit_split(config: dict, budget: int, split: int, train, test, records, forest_curve: bool) -> dict:
    import torch

    from naapgnn.models.forest import PerLayerForest
    from naapgnn.models.gnn import GNNPredictor

    torch.set_num_threads(1)
    tr = [records[i] for i in train]
    te = [records[i] for i in test]
    y = np.array([r.target for r in tr])
    start = time.process_time()
    gnn = GNNPredictor(budget=budget, blend_forest=0.0, random_state=split, **config).fit(tr, y)
    seconds = time.process_time() - start
    forest = PerLayerForest(budget=budget, curve=forest_curve and budget > 0, random_state=split).fit(tr, y)
    return {"gnn": gnn.predict(te).tolist(), "forest": forest.predict(te).tolist(), "cpu_s": seconds}


def main(argv=None) -> int:
    from joblib import Parallel, delayed

    from naapgnn.data.records import records_from_naap440, split_records
    from naapgnn.data.naap440 import load_naap440
    from naapgnn.io import read_progress_jsonl
    from naapgnn.evaluation.metrics import kendall_tau, mae, violations
    from naapgnn.evaluation.protocols import splits

    args = parse_args(argv)
    configs = json.loads(args.configs)
    budgets = [int(b) for b in args.budgets.split(",")]
    blends = [float(b) for b in args.blends.split(",")]
    records = split_records(records_from_naap440(load_naap440(args.data)), "train")
    y = np.array([r.target for r in records])
    inner = splits("repeated", y, n_repeats=args.splits, test_size=40, seed=12345)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {(row["key"], row["split"]): row for row in read_progress_jsonl(out)}
    tasks = []
    for config in configs:
        for budget in budgets:
            key = json.dumps({"config": config, "budget": budget, "forest_curve": args.forest_curve}, sort_keys=True)
            for s, (train, test) in enumerate(inner):
                if (key, s) not in done:
                    tasks.append((key, config, budget, s, train, test))
    jobs = (delayed(lambda t: (t, fit_split(t[1], t[2], t[3], t[4], t[5], records, args.forest_curve)))(t)
            for t in tasks)
    for (key, _, _, s, _, test), result in Parallel(n_jobs=args.jobs, return_as="generator_unordered")(jobs):
        row = {"key": key, "split": s, "test": [int(i) for i in test], **result}
        done[(key, s)] = row
        with out.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"done {key} split {s} ({result['cpu_s']:.1f} s CPU)", file=sys.stderr, flush=True)

    print(f"{'config':60s} {'budget':>6s} " + " ".join(f"{'b=' + str(b):>22s}" for b in blends))
    for config in configs:
        for budget in budgets:
            key = json.dumps({"config": config, "budget": budget, "forest_curve": args.forest_curve}, sort_keys=True)
            rows = [done[(key, s)] for s in range(len(inner))]
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
    sys.exit(main())

"""The forest's share in the GNN's prediction: what each share gives on held-out training records and on
records no model saw.

Fits the GNN (defaults plus ``--gnn-params``, no forest) and the per-layer
forest on one benchmark's training records and prints, for every share ``b``
of the blend ``(1 - b) * GNN + b * forest``, the Kendall tau and mean squared
error of the blended *held-out* predictions of the training records (each
member's out-of-fold predictions, the forest's out-of-bag ones). With
``--draw N`` the training records are N random records
(``default_rng(--seed).permutation``, as ``scripts/nb201_sample_efficiency.py``
draws them; use a seed that is not a reported one) and the script also prints
each share's Kendall tau on every third of the other records (the whole
ensemble and the whole forest). Without ``--draw``, the benchmark's "train"
records (NAAP-440: the official 400) and nothing else.

The held-out blend is not a safe way to choose the share: a record's held-out
GNN prediction comes from the one member that did not train on it, while a
new record's averages every member, so the held-out figures undervalue the
GNN against the forest.

    python scripts/blend_choice.py nb201_cifar10.jsonl --draw 156 --seed 99 \
        --gnn-params '{"batch_size": 64, "max_epochs": 150, "patience": 20, "n_ensemble": 3}'
    NAAPGNN_DATA=../shared/data/naap440 python scripts/blend_choice.py
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings

import numpy as np

SHARES = (0.0, 0.25, 0.5, 0.75)

warnings.filterwarnings("ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="?", default=None, help="benchmark (JSON Lines or NAAP-440 folder; default: NAAP-440)")
    p.add_argument("--draw", type=int, default=None, help="train on N random records instead of the train split")
    p.add_argument("--seed", type=int, default=99, help="seed of the draw (default 99)")
    p.add_argument("--gnn-params", default="{}", help="JSON settings added to the GNN's defaults")
    return p.parse_args(argv)


def blended(gnn: np.ndarray, forest: np.ndarray, share: float) -> np.ndarray:
    from naapgnn.models.applicability import blend

    return blend(gnn, np.zeros(len(gnn)), forest, share)[0]


def main(argv=None) -> int:
    from naapgnn.errors import NaapgnnError
    from naapgnn.evaluation.benchmark import load_benchmark_for_evaluation
    from naapgnn.evaluation.metrics import kendall_tau
    from naapgnn.models.forest import PerLayerForest
    from naapgnn.models.gnn import GNNPredictor
    from naapgnn.models.inputs import take

    args = parse_args(argv)
    try:
        bench = load_benchmark_for_evaluation(args.data)
        model = GNNPredictor(**{**json.loads(args.gnn_params), "blend_forest": 0.0})
        X = model.featurize(bench.records)
        y = np.asarray(bench.y, dtype=float)
        if args.draw:
            perm = np.random.default_rng(args.seed).permutation(len(y))
            train, other = np.sort(perm[:args.draw]), np.sort(perm[args.draw:])[::3]
        else:
            train, other = np.flatnonzero(~bench.is_test), np.zeros(0, dtype=int)
        X_train = take(X, train)
        model.fit(X_train, y[train])
        forest = PerLayerForest(n_estimators=int(model.forest_trees), random_state=int(model.random_state or 0))
        forest.fit(X_train.records, y[train])
    except (NaapgnnError, ValueError) as exc:
        print(f"blend_choice: error: {exc}", file=sys.stderr)
        return 2
    held_gnn, held_forest = model.oof_prediction_, forest.oob_prediction_
    rows = np.isfinite(held_gnn) & np.isfinite(held_forest)
    if len(other):
        X_other = take(X, other)
        gnn_other = model.predict_parts(X_other)["gnn"]
        forest_other = forest.predict_readable(X_other.records)
    print(f"{bench.name}: {len(train)} training records")
    print("share | held-out tau (training) | held-out MSE (training)" + (" | tau on other records" if len(other) else ""))
    for share in SHARES:
        pred = blended(held_gnn[rows], held_forest[rows], share)
        line = f"{share:g} | {kendall_tau(y[train][rows], pred):.4f} | {np.mean((pred - y[train][rows]) ** 2):.3e}"
        if len(other):
            line += f" | {kendall_tau(y[other], blended(gnn_other, forest_other, share)):.4f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

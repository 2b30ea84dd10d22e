"""The forest's share in the GNN's prediction: what each share gives on held-out training records and on
records no model saw.

Fits the GNN (defaults plus ``--gnn-params``, no forest) and the forest
(``--forest``: the statistics forest, the default, or the per-layer one;
:mod:`naapgnn.models.blended_forest`) on one benchmark's training records and prints, for every share ``b``
of the blend ``(1 - b) * GNN + b * forest``, the Kendall tau and mean squared
error of the blended *held-out* predictions of the training records (each
member's out-of-fold predictions, the forest's out-of-bag ones). With
``--draw N`` the training records are N random records
(``default_rng(--seed).permutation``, as ``scripts/nb201_sample_efficiency.py``
draws them; use seeds that are not reported ones; ``--seeds`` a comma list) and the script also prints
each share's Kendall tau on every ``--every``-th of the other records (default every third; the whole
ensemble and the whole forest), and with several seeds their mean. Without ``--draw``, the benchmark's
"train" records (NAAP-440: the official 400) and nothing else.

The held-out blend alone is not a safe way to choose the share: a record's held-out
GNN prediction comes from the one member that did not train on it, while a
new record's averages every member, so the held-out figures undervalue the
GNN against the forest. ``GNNPredictor(choose_blend=True)`` therefore keeps the
default share unless another has a lower held-out error *and* a tau not lower;
the script prints the share that rule keeps.

    python scripts/blend_choice.py nb201_cifar10.jsonl --draw 156 --seeds 95,96,97,98,99 \
        --gnn-params '{"batch_size": 64, "max_epochs": 150, "patience": 20, "n_ensemble": 3}'
    NAAPGNN_DATA=../shared/data/naap440 python scripts/blend_choice.py
    NAAPGNN_DATA=../shared/data/naap440 python scripts/blend_choice.py --draw 352 --seeds 1000,1001 --every 1
"""
from __future__ import annotations

import argparse
import inspect
import json
import sys
import warnings

import numpy as np

from naapgnn.models.blended_forest import BLEND_SHARES as SHARES

warnings.filterwarnings("ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="?", default=None, help="benchmark (JSON Lines or NAAP-440 folder; default: NAAP-440)")
    p.add_argument("--draw", type=int, default=None, help="train on N random records instead of the train split")
    p.add_argument("--seed", type=int, default=99, help="seed of the draw (default 99)")
    p.add_argument("--seeds", default=None, help="comma list of draw seeds (instead of --seed)")
    p.add_argument("--every", type=int, default=3, help="score every K-th of the other records (default 3)")
    p.add_argument("--forest", default="statistics", choices=("statistics", "per_layer"), help="the forest blended")
    p.add_argument("--gnn-params", default="{}", help="JSON settings added to the GNN's defaults")
    return p.parse_args(argv)


def blended(gnn: np.ndarray, forest: np.ndarray, share: float) -> np.ndarray:
    from naapgnn.models.applicability import blend

    return blend(gnn, np.zeros(len(gnn)), forest, share)[0]


def main(argv=None) -> int:
    from naapgnn.errors import NaapgnnError
    from naapgnn.evaluation.benchmark import load_benchmark_for_evaluation
    from naapgnn.io import comma_items
    from naapgnn.models.gnn import GNNPredictor

    args = parse_args(argv)
    try:
        seeds = [int(s) for s in comma_items(args.seeds, "--seeds")] if args.seeds else [args.seed]
        bench = load_benchmark_for_evaluation(args.data)
        model = GNNPredictor(**{**json.loads(args.gnn_params), "blend_forest": 0.0})
        X = model.featurize(bench.records)
        results = [_one_draw(model, X, np.asarray(bench.y, dtype=float), bench, args, seed) for seed in seeds]
    except (NaapgnnError, ValueError) as exc:
        print(f"blend_choice: error: {exc}", file=sys.stderr)
        return 2
    if len(results) > 1 and results[0]:
        print(f"mean over seeds {','.join(map(str, seeds))}: tau on other records " +
              " | ".join(f"b = {b:g}: {np.mean([r[i] for r in results]):.4f}" for i, b in enumerate(SHARES)))
    return 0


def _one_draw(model, X, y: np.ndarray, bench, args, seed: int) -> list[float]:
    """Fit on one draw (or the train split), print the table and the share ``choose_blend`` would keep;
    returns each share's tau on other records."""
    from naapgnn.data.configurations import held_out_groups
    from naapgnn.errors import NaapgnnError
    from naapgnn.evaluation.metrics import kendall_tau
    from naapgnn.models.inputs import take

    if args.draw:
        perm = np.random.default_rng(seed).permutation(len(y))
        train, other = np.sort(perm[:args.draw]), np.sort(perm[args.draw:])[::args.every]
    else:
        train, other = np.flatnonzero(~bench.is_test), np.zeros(0, dtype=int)
    X_train = take(X, train)
    model.set_params(blend_forest=0.0, forest=args.forest).fit(X_train, y[train])
    default = float(inspect.signature(type(model)).parameters["blend_forest"].default)
    model.blend_forest = 1.0  # fitted without a forest; now fit the one to weigh against it
    model.forest_ = model._fit_forest(X_train.records, y[train], X_train.graphs, model._hparams(X_train.records),
                                      int(model.random_state or 0), groups=held_out_groups(X_train.records))
    # the held-out scores and the share exactly as GNNPredictor(choose_blend=True) computes them at fit
    model.blend_forest, model.choose_blend = default, True
    model.remember_params()  # the forest is fitted now: the model predicts with its new share
    picked, held_out = model._choose_share(y[train])
    if not held_out:
        raise NaapgnnError(f"{bench.name}: too few held-out predictions to score the shares (more records)")
    if len(other):
        parts = model.predict_parts(take(X, other))  # the ensemble's and the forest's, unblended
        gnn_other, forest_other = parts["gnn"], parts["forest"]
    print(f"{bench.name}: {len(train)} training records" + (f" (draw seed {seed})" if args.draw else "") +
          f", {args.forest} forest")
    print("share | held-out tau (training) | held-out MSE (training)" + (" | tau on other records" if len(other) else ""))
    taus = []
    for share in SHARES:
        line = f"{share:g} | {held_out[share][1]:.4f} | {held_out[share][0]:.3e}"
        if len(other):
            taus.append(kendall_tau(y[other], blended(gnn_other, forest_other, share)))
            line += f" | {taus[-1]:.4f}"
        print(line, flush=True)
    print(f"choose_blend (default share {default:g}) would blend {picked:g}")
    return taus


if __name__ == "__main__":
    sys.exit(main())

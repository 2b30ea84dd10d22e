"""A synthetic benchmark where the training recipe, not the architecture, decides most of the accuracy.

Probe of how the predictors read hyperparameters: the deep ResNets' architectures (with their real
final accuracies as each net's quality), each trained, on paper, with a random optimiser (SGD or Adam),
a peak learning rate drawn log-uniformly over 10^-4.5 .. 1 and given *only* as a per-epoch cosine ``lr``
channel (as loggers write it), a weight decay drawn log-uniformly over 10^-6 .. 10^-2 and a batch size.
The final accuracy falls with the squared distance of log10(peak lr) from the optimiser's best (0.1 for
SGD, 0.001 for Adam) and with log10(weight decay) above 10^-3; the curve (``val_acc``, in percent, 50
epochs) rises towards it at a rate set by the learning rate, with noise. The formula is made up: the
file tests whether a predictor can read a schedule and hyperparameters spread over decades, not how
well it predicts real training.

    python scripts/schedule_probe.py --deep deep.jsonl -o schedule_probe.jsonl
    naapgnn evaluate --data schedule_probe.jsonl --budgets 0,1,3,10 --predictors gnn,baker,curve_last \\
        --protocol repeated --repeats 5 --inner-folds 0 --out runs/schedule_probe
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np

EPOCHS = 50
BEST_LOG_LR = {"sgd": -1.0, "adam": -3.0}


def probe_records(deep: list[dict], n: int, seed: int) -> list[dict]:
    """``n`` records built on architectures drawn from ``deep`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    out = []
    for j, i in enumerate(rng.choice(len(deep), n, replace=False)):
        optimizer = str(rng.choice(sorted(BEST_LOG_LR)))
        peak, weight_decay = 10 ** rng.uniform(-4.5, 0), 10 ** rng.uniform(-6, -2)
        penalty = (0.06 * (math.log10(peak) - BEST_LOG_LR[optimizer]) ** 2
                   + 0.02 * max(0.0, math.log10(weight_decay) + 3) ** 2)
        final = max(0.005, deep[i]["target"] - penalty + rng.normal(0, 0.005))
        rate = 0.02 + 0.3 * min(1.0, peak / 10 ** BEST_LOG_LR[optimizer])
        epochs = np.arange(1, EPOCHS + 1)
        accuracy = 0.005 + (final - 0.005) * (1 - np.exp(-rate * epochs)) + rng.normal(0, 0.004, EPOCHS)
        accuracy = np.clip(accuracy, 0.0, 1.0)  # the noise took a near-chance run below 0, which no run logs
        accuracy[-1] = final
        schedule = peak * 0.5 * (1 + np.cos(np.pi * (epochs - 1) / EPOCHS))
        out.append({"id": f"probe-{j}", "arch": deep[i]["arch"],
                    "curve": {"val_acc": [round(100 * a, 3) for a in accuracy], "lr": schedule.tolist()},
                    "hparams": {"optimizer": optimizer, "weight_decay": weight_decay,
                                "batch_size": int(rng.choice([64, 128, 256]))},
                    "target": round(final, 5)})
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deep", required=True, help="the deep ResNets as written by naapgnn import deep-resnets")
    parser.add_argument("-o", "--out", required=True, help="JSON Lines file to write")
    parser.add_argument("--n", type=int, default=400, help="records (default 400)")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    with open(args.deep) as f:
        deep = [json.loads(line) for line in f if line.strip()]
    if not 0 < args.n <= len(deep):
        sys.exit(f"schedule_probe: --n must be between 1 and {len(deep)} (the records of {args.deep})")
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in probe_records(deep, args.n, args.seed))
    os.replace(tmp, args.out)
    print(f"wrote {args.n} records to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

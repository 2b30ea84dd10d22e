"""A small benchmark of early-stopped runs, written blind to this package's other generators by a probe of
this stop (README, "A third benchmark nobody here designed: 80 early-stopped runs").

80 CNN layer graphs (a stem conv, 2-4 stages of 1-3 two-conv blocks, kernels 3 or 5, residual adds with a 1x1
projection where the width changes in half the stages, max or average pooling, an optional dropout), trained on paper
with Adam at a constant learning rate (log-uniform 1e-4 to 1e-2), an ``augment`` category (none, flip, autoaugment)
and a batch size. Each run stops early (patience 3, at least 8 epochs, at most 25), so curves hold 8 to 25 epochs
(``val_acc``, a fraction, and ``train_loss``); the target is the best ``val_acc`` reached; 4 runs diverge (loss
``null``, accuracy at chance). Augmentation starts slower and ends higher, so the first epochs rank the targets
poorly (Kendall tau of the epoch-1 accuracy 0.17). Every fifth record is marked test. The formula is made up.

    python scripts/early_stop_probe.py -o early_stop_probe.jsonl
    naapgnn evaluate --data early_stop_probe.jsonl --predictors gnn,baker --protocol repeated --repeats 5 \
        --jobs 1 --out runs/early_stop_probe
"""
from __future__ import annotations

import argparse
import json
import math

import numpy as np

AUG = ["none", "flip", "autoaugment"]


def make_arch(rng):
    layers = []
    w0 = int(rng.choice([16, 24, 32]))
    layers.append({"op": "conv", "out_channels": w0, "kernel_size": 3})
    cur, ch, hw = 0, w0, 32
    n_stages = int(rng.integers(2, 5))
    convs, resid = 1, 0
    mult = float(rng.choice([1.5, 2.0]))
    for s in range(n_stages):
        width = int(round(w0 * mult ** s / 8) * 8)
        k = int(rng.choice([3, 3, 5]))
        use_res = bool(rng.random() < 0.5)
        for _ in range(int(rng.integers(1, 4))):
            inp = cur
            layers.append({"op": "conv", "out_channels": width, "kernel_size": k, "inputs": [inp]})
            layers.append({"op": "conv", "out_channels": width, "kernel_size": k,
                           "activation": "none" if use_res else "relu"})
            c = len(layers) - 1
            convs += 2
            if use_res:
                src = inp
                if ch != width:
                    layers.append({"op": "conv", "out_channels": width, "kernel_size": 1,
                                   "activation": "none", "inputs": [inp]})
                    src = len(layers) - 1
                layers.append({"op": "add", "inputs": [c, src], "activation": "relu"})
                resid += 1
            cur = len(layers) - 1
            ch = width
        if s < n_stages - 1 and hw > 4:
            layers.append({"op": str(rng.choice(["maxpool", "avgpool"])), "kernel_size": 2})
            cur = len(layers) - 1
            hw //= 2
    layers.append({"op": "gap"})
    if rng.random() < 0.4:
        layers.append({"op": "dropout", "p": float(rng.choice([0.2, 0.5]))})
    layers.append({"op": "linear", "out_features": 10})
    # a rough parameter count (convs in a chain) for the made-up quality formula
    params = 0
    prev = 3
    for L in layers:
        if L["op"] == "conv":
            params += prev * L["out_channels"] * L["kernel_size"] ** 2
            prev = L["out_channels"]
    arch = {"input_shape": [3, 32, 32], "num_classes": 10, "layers": layers}
    return arch, dict(params=params, convs=convs, resid=resid, stages=n_stages, last=ch)


def generate(seed: int = 1515, n: int = 80) -> list[dict]:
    """The records, seeded."""
    rng = np.random.default_rng(seed)
    records = []
    n_div = 0
    for i in range(n):
        arch, st = make_arch(rng)
        lr = float(10 ** rng.uniform(-4, -2))
        aug = str(rng.choice(AUG))
        bs = int(rng.choice([32, 64, 128, 256]))
        llr = math.log10(lr)
        # final quality (made up): capacity, depth with/without residuals, lr optimum ~1e-3 scaled by batch
        cap = 0.08 * math.log10(st["params"]) - 0.05 * max(0, st["convs"] - 7) * (0.3 if st["resid"] else 1.0)
        lr_opt = -3.0 + 0.25 * math.log2(bs / 64)
        lr_pen = 0.05 * (llr - lr_opt) ** 2
        aug_bonus = {"none": 0.0, "flip": 0.035, "autoaugment": 0.06}[aug] * min(1.0, st["params"] / 3e5)
        A = 0.42 + cap + aug_bonus - lr_pen + rng.normal(0, 0.015)
        A = float(np.clip(A, 0.2, 0.93))
        # speed: augmentation and small lr start slower
        tau = {"none": 2.0, "flip": 3.5, "autoaugment": 6.0}[aug] * (1 + 0.6 * max(0, -3 - llr)) * (bs / 64) ** 0.3
        overfit = (0.004 if aug == "none" else 0.0) * min(2.0, st["params"] / 2e5)
        Linf = {"none": 0.15, "flip": 0.35, "autoaugment": 0.6}[aug] + (1 - A) * 0.8
        acc, loss = [], []
        best, since = -1, 0
        diverge_at = None
        if llr > -2.5 and rng.random() < 0.35 and n_div < 4:
            diverge_at = int(rng.integers(2, 7))
            n_div += 1
        for t in range(1, 26):
            if diverge_at is not None and t >= diverge_at:
                a, l = 0.1, None
            else:
                a = 0.1 + (A - 0.1) * (1 - math.exp(-t / tau)) - overfit * max(0, t - 8) + rng.normal(0, 0.008)
                l = Linf + (2.3 - Linf) * math.exp(-t / (0.8 * tau)) + abs(rng.normal(0, 0.02))
            acc.append(round(float(a), 4))
            loss.append(None if l is None else round(float(l), 4))
            if a > best + 1e-4:
                best, since = a, 0
            else:
                since += 1
            if t >= 8 and since >= 3:
                break
        target = max(acc)
        records.append({"id": f"probe15-{i:03d}", "arch": arch,
                        "curve": {"val_acc": acc, "train_loss": loss},
                        "hparams": {"lr": lr, "augment": aug, "batch_size": bs},
                        "target": round(target, 4),
                        "split": "test" if i % 5 == 4 else "train"})

    return records


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", required=True, help="JSON Lines file written")
    parser.add_argument("--seed", type=int, default=1515)
    parser.add_argument("--records", type=int, default=80)
    args = parser.parse_args(argv)
    records = generate(args.seed, args.records)
    with open(args.out, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    lengths = [len(r["curve"]["val_acc"]) for r in records]
    diverged = sum(None in r["curve"]["train_loss"] for r in records)
    print(f"wrote {args.out}: {len(records)} records, curves of {min(lengths)}-{max(lengths)} epochs, "
          f"{diverged} diverged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

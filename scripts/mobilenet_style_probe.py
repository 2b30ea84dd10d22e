"""A MobileNet-style benchmark with runs stopped early, written blind to this package by a tester of a later stop
(README, "A MobileNet-style file nobody here designed").

250 networks of inverted-residual blocks (a stem conv, 4-7 blocks of a 1x1 expansion by 1, 3 or 6, a depthwise 3x3
or 5x5 conv given as a conv with ``groups`` equal to its channels, a 1x1 projection, a residual add where the shapes
allow), 32 or 64 pixel inputs, 10 or 100 classes; AdamW or SGD with momentum (``optimizer``, ``weight_decay``,
``label_smoothing``) under a one-cycle ``lr`` channel; 50 epochs of ``val_error`` (percent) and ``train_loss``; a
fifth of the runs stopped early by their own rule (15-40 epochs), 3% diverged (NaN from an epoch on). AdamW runs
lead early and end lower. The target is the final accuracy (a fraction). The formula is made up.

    python scripts/mobilenet_style_probe.py mbv2.jsonl
    naapgnn evaluate --data mbv2.jsonl --predictors gnn,baker --budgets 0,3,5,10,20 --protocol repeated \\
        --repeats 5 --inner-folds 0 --jobs 1 --out runs/mbv2
"""
from __future__ import annotations

import argparse
import json
import math

import numpy as np

EPOCHS = 50


def make_arch(rng):
    """A random network and the quantities the made-up accuracy reads."""
    res, classes = int(rng.choice([32, 64])), int(rng.choice([10, 100]))
    stem_w = int(rng.choice([16, 24, 32]))
    stem_s = 2 if (res == 64 and rng.random() < 0.7) else 1
    layers = [{"op": "conv", "out_channels": stem_w, "kernel_size": 3, "stride": stem_s, "activation": "relu6"}]
    params, size = 3 * 9 * stem_w, res // stem_s
    macs, cin = params * size * size, stem_w
    nb = int(rng.integers(4, 8))
    widths = np.maximum(np.sort(rng.choice([16, 24, 32, 40, 48, 64, 80, 96], size=nb)), 16)
    s2_blocks = set(rng.choice(nb, size=int(rng.integers(1, (3 if size >= 32 else 2) + 1)), replace=False).tolist())
    exps, ks, n_res = [], [], 0
    for b in range(nb):
        e, k = int(rng.choice([1, 3, 6], p=[0.2, 0.4, 0.4])), int(rng.choice([3, 5]))
        s, cout = (2 if b in s2_blocks else 1), int(widths[b])
        hid, block_in = cin * e, len(layers) - 1
        if e != 1:
            layers.append({"op": "conv", "out_channels": hid, "kernel_size": 1, "activation": "relu6"})
            params, macs = params + cin * hid, macs + cin * hid * size * size
        layers.append({"op": "conv", "out_channels": hid, "kernel_size": k, "stride": s, "groups": hid,
                       "activation": "relu6"})
        size = max(1, size // s)
        params, macs = params + hid * k * k, macs + hid * k * k * size * size
        layers.append({"op": "conv", "out_channels": cout, "kernel_size": 1, "activation": "none"})
        params, macs = params + hid * cout, macs + hid * cout * size * size
        if s == 1 and cin == cout:
            layers.append({"op": "add", "inputs": [block_in, len(layers) - 1]})
            n_res += 1
        cin = cout
        exps.append(e)
        ks.append(k)
    layers += [{"op": "gap"}, {"op": "linear", "out_features": classes}]
    params += cin * classes
    arch = {"input_shape": [3, res, res], "num_classes": classes, "layers": layers}
    return arch, dict(res=res, classes=classes, params=params, macs=macs, nb=nb, final_size=size,
                      mean_exp=float(np.mean(exps)), n_k5=sum(1 for k in ks if k == 5), n_res=n_res)


def one_cycle(peak: float, warm: int, epochs: int) -> np.ndarray:
    """A linear warm-up to ``peak`` over ``warm`` epochs, then a cosine to a thousandth of it."""
    return np.array([peak * (0.1 + 0.9 * (t + 1) / warm) if t < warm else
                     peak * (0.5 * (1 + math.cos(math.pi * (t - warm) / max(1, epochs - warm - 1)))) + peak * 1e-3
                     for t in range(epochs)])


def final_accuracy(rng, f: dict, opt: str, wd: float, peak: float, ls: float) -> tuple[float, float]:
    """The made-up final accuracy (architecture x recipe) and how much of the network's size it reads."""
    lr_opt, wd_opt = (2e-3, 5e-2) if opt == "adamw" else (0.1, 5e-4)
    ceiling = (0.95 if f["classes"] == 10 else 0.78) - (0.04 if f["res"] == 64 else 0.0)
    cap_term = 1 / (1 + math.exp(-(math.log10(f["params"]) - 4.3) * 2.2))  # saturating in size
    spatial_pen = (0.04 * max(0, 4 - f["final_size"]) / 3 if f["classes"] == 100
                   else 0.02 * max(0, 2 - f["final_size"]))
    k5_gain = 0.006 * f["n_k5"] * (1.5 if f["res"] == 64 else 0.7)
    exp_gain = 0.025 * (f["mean_exp"] - 1) / 5 * (1.4 if f["classes"] == 100 else 1.0)
    depth_gain = 0.008 * (f["nb"] - 4) - 0.004 * max(0, f["nb"] - 5) * (1 if f["n_res"] == 0 else 0)
    arch_q = 0.55 + 0.33 * cap_term + exp_gain + depth_gain + k5_gain - spatial_pen
    lr_pen, wd_pen = 0.035 * math.log10(peak / lr_opt) ** 2, 0.018 * math.log10(wd / wd_opt) ** 2
    opt_pen = (0.03 + (0.015 if f["classes"] == 100 else 0.0)) if opt == "adamw" else 0.0  # AdamW ends lower
    ls_eff = 0.1 * ls if f["classes"] == 100 else -0.12 * max(0, ls - 0.1)
    inter = -0.02 * (1 - cap_term) * max(0, math.log10(wd / wd_opt))  # small nets with strong wd under-fit
    final = ceiling * (arch_q - lr_pen - wd_pen - opt_pen + ls_eff + inter)
    return float(np.clip(final + rng.normal(0, 0.008), 1.5 / f["classes"], 0.97)), cap_term


def curves(rng, f: dict, opt: str, final: float, cap_term: float, lr: np.ndarray, ls: float):
    """Per-epoch accuracy and training loss: AdamW fast early, SGD gaining as its rate anneals."""
    tau = (4.0 if opt == "adamw" else 9.0) * (0.8 + 0.3 * cap_term) * (1 + 0.3 * (f["res"] == 64))
    ep = np.arange(1, EPOCHS + 1)
    base = 1 - np.exp(-ep / tau)
    gap_share = 0.10 if opt == "adamw" else 0.22
    frac = base * (1 - gap_share) + gap_share * (1 - lr / lr.max()) ** 1.5 * base
    early_boost = (0.04 if opt == "adamw" else 0.0) * np.exp(-ep / 20)
    chance = 1 / f["classes"]
    acc = chance + (final - chance) * frac + early_boost * (final - chance)
    acc = np.clip(acc + rng.normal(0, 0.012, EPOCHS) * (1 + 2 * (lr / lr.max())), chance * 0.5, 0.99)
    acc[-1] = final + rng.normal(0, 0.004)  # the last validation value about the test accuracy
    ls_floor = ls * math.log(f["classes"])
    loss = ls_floor + (math.log(f["classes"]) - ls_floor) * (1 - frac) ** 1.3 + 0.15 * (1 - final)
    return acc, loss * np.exp(rng.normal(0, 0.02, EPOCHS))


def record(rng, i: int) -> dict:
    arch, f = make_arch(rng)
    opt = str(rng.choice(["adamw", "sgd_momentum"]))
    if opt == "adamw":
        wd, peak = float(10 ** rng.uniform(-4, -0.7)), float(10 ** rng.uniform(-3.5, -1.8))
    else:
        wd, peak = float(10 ** rng.uniform(-5, -2.5)), float(10 ** rng.uniform(-1.7, -0.3))
    ls = float(np.round(rng.uniform(0.0, 0.2), 3))
    lr = one_cycle(peak, int(rng.integers(2, 11)), EPOCHS)
    final, cap_term = final_accuracy(rng, f, opt, wd, peak, ls)
    acc, loss = curves(rng, f, opt, final, cap_term, lr, ls)
    val_error, length, target, u = 100 * (1 - acc), EPOCHS, final, rng.random()
    if u < 0.03:  # diverged from epoch d on
        d = int(rng.integers(3, 30))
        val_error[d:], loss[d:] = np.nan, np.nan
        target = float(np.round(1 / f["classes"] + abs(rng.normal(0, 0.003)), 4))
    elif u < 0.23:  # stopped early by the run's own rule: about its best so far
        length = int(rng.integers(15, 41))
        target = float(np.clip(np.max(acc[:length]) + rng.normal(0, 0.004), 0, 1))
    curve = {"val_error": [round(float(v), 3) for v in val_error[:length]],  # NaN written as JSON NaN
             "train_loss": [round(float(v), 4) for v in loss[:length]],
             "lr": [round(float(v), 7) for v in lr[:length]]}
    return {"id": f"mbv-{i:03d}", "arch": arch, "curve": curve,
            "hparams": {"optimizer": opt, "weight_decay": round(wd, 7), "label_smoothing": ls},
            "target": round(float(target), 5), "split": "test" if rng.random() < 0.2 else "train"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the JSON Lines file to write")
    parser.add_argument("--n", type=int, default=250, help="records (default 250)")
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    records = [record(rng, i) for i in range(args.n)]
    with open(args.out, "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    print(f"wrote {args.out}: {len(records)} records, {sum(r['split'] == 'test' for r in records)} marked test, "
          f"{sum(len(r['curve']['lr']) < EPOCHS for r in records)} stopped early, "
          f"{sum(any(v != v for v in r['curve']['val_error']) for r in records)} diverged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

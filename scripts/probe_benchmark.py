"""A benchmark written blind to this package's own generators, to check few-epoch prediction on a recipe none of
them uses (README, "A second benchmark nobody here designed").

About 200 CNN layer graphs (a stem, 2-4 stages of 1-4 plain or residual blocks, kernels 1-7, max/avg pooling or
strided convs, relu/silu/leaky_relu, optional dropout and hidden linear layer), trained on paper for 60 epochs
with SGD with momentum or RMSprop under an exponential, step or cosine-with-warm-restarts schedule; weight
decay, label smoothing and batch size as numeric hyperparameters, the schedule's own parameters `null` where they
do not apply. The final accuracy: a ceiling set by capacity (size, depth, a cost for long plain runs, receptive
field) lowered by the learning rate's and the weight decay's distance from their optimum, momentum, label
smoothing and batch size. Progress per epoch follows the current learning rate at a speed that falls with size,
so curves cross (small nets start fast and plateau low); a high rate costs accuracy while it lasts; large nets
with little weight decay overfit late; RMSprop spikes; 3-8% of runs diverge to chance, mostly early. Variants:

* ``A``: 10 classes; channels ``val_acc`` (percent), ``val_loss``, ``train_loss``, ``lr``; target in percent;
  a diverged run logs ``null`` losses.
* ``B``: 10 classes; ``val_loss`` and ``train_loss`` only (no accuracy, no learning-rate channel); target a
  fraction; a diverged run's ``val_loss`` explodes (finite, up to 1e6), its ``train_loss`` is ``null``.
* ``C``: 100 classes; ``val_error`` (a fraction), ``val_loss``, ``lr``; target a fraction.

The formula is made up: the file tests whether a predictor reads such curves, not how real training goes.

    python scripts/probe_benchmark.py --records 200 --seed 202 --variant B -o B2.jsonl
    naapgnn evaluate --data B2.jsonl --budgets 0,1,3,5,10,20 --predictors gnn,baker --protocol repeated \\
        --repeats 20 --inner-folds 0 --jobs 1 --quiet --out runs/probe_B2
"""
from __future__ import annotations

import argparse
import json
import math

import numpy as np

from naapgnn.io import write_text_atomic

EPOCHS = 60


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


# ---------------------------------------------------------------- architectures
def make_arch(rng, num_classes, hw=32):
    layers = []
    params = 0
    conv_depth = 0          # convs on the main path
    plain_run = 0           # longest run of convs without a skip
    rf = 1
    jump = 1
    kernels = []

    def conv(cin, cout, k, s=1, act="relu", inputs=None):
        nonlocal params
        d = {"op": "conv", "out_channels": int(cout), "kernel_size": int(k)}
        if s != 1:
            d["stride"] = int(s)
        if act != "relu":
            d["activation"] = act
        if inputs is not None:
            d["inputs"] = inputs
        layers.append(d)
        params += k * k * cin * cout + 2 * cout
        return len(layers) - 1

    act_fn = rng.choice(["relu", "relu", "relu", "silu", "leaky_relu"])
    w0 = int(rng.choice([16, 24, 32, 48, 64]))
    k0 = int(rng.choice([3, 3, 5, 7]))
    conv(3, w0, k0, act=act_fn)
    conv_depth += 1
    rf += (k0 - 1) * jump
    kernels.append(k0)
    size = hw
    c = w0
    n_stages = int(rng.choice([2, 3, 3, 4]))
    style = rng.choice(["plain", "residual", "residual", "mixed"])
    growth = float(rng.choice([1.5, 2.0, 2.0]))
    cur_plain = 1
    max_plain = 1
    for st in range(n_stages):
        nb = int(rng.integers(1, 5))
        k = int(rng.choice([1, 3, 3, 3, 5, 7], p=[0.08, 0.3, 0.22, 0.15, 0.15, 0.1]))
        wout = int(round(c * growth / 8) * 8) if st > 0 else c
        down = st > 0
        down_kind = rng.choice(["maxpool", "avgpool", "stride"])
        if down and down_kind != "stride":
            layers.append({"op": down_kind, "kernel_size": 2})
            size //= 2
            jump *= 2
            rf += jump
            down = False
        for b in range(nb):
            s = 2 if (down and b == 0) else 1
            res = style == "residual" or (style == "mixed" and rng.random() < 0.5)
            if res:
                inp = len(layers) - 1
                a = conv(c, wout, k, s, act=act_fn)
                bb = conv(wout, wout, k, 1, act="none")
                rf += (k - 1) * jump * (s) + (k - 1) * jump * s
                if s != 1 or c != wout:
                    sc = conv(c, wout, 1, s, act="none", inputs=[inp])
                    layers.append({"op": "add", "inputs": [bb, sc], "activation": "relu"})
                else:
                    layers.append({"op": "add", "inputs": [inp, bb], "activation": "relu"})
                conv_depth += 2
                cur_plain = 0
            else:
                conv(c, wout, k, s, act=act_fn)
                rf += (k - 1) * jump * s
                conv_depth += 1
                cur_plain += 1
                max_plain = max(max_plain, cur_plain)
            kernels.append(k)
            if s == 2:
                size //= 2
                jump *= 2
            c = wout
            down = False
    head = rng.random()
    if head < 0.35:
        layers.append({"op": "dropout", "p": float(rng.choice([0.1, 0.2, 0.3, 0.5]))})
    layers.append({"op": "gap"})
    if rng.random() < 0.3:
        h = int(rng.choice([128, 256, 512]))
        layers.append({"op": "linear", "out_features": h, "activation": "relu"})
        params += c * h + h
        c = h
        if rng.random() < 0.5:
            layers.append({"op": "dropout", "p": 0.3})
    layers.append({"op": "linear", "out_features": num_classes})
    params += c * num_classes + num_classes
    arch = {"input_shape": [3, hw, hw], "num_classes": num_classes, "layers": layers}
    stats = dict(params=params, conv_depth=conv_depth, max_plain=max_plain, rf=rf, size=size,
                 style=str(style), mean_k=float(np.mean(kernels)), final_c=c, act=str(act_fn))
    return arch, stats


# ---------------------------------------------------------------- recipe
def make_hparams(rng):
    opt = rng.choice(["sgd", "rmsprop"])
    lr_opt = 0.08 if opt == "sgd" else 1.2e-3
    lr = lr_opt * 10 ** rng.uniform(-1.1, 0.9)
    bs = int(rng.choice([64, 128, 256]))
    mom = float(rng.choice([0.0, 0.5, 0.9, 0.9, 0.95])) if opt == "sgd" else float(rng.choice([0.0, 0.0, 0.9]))
    wd = 10 ** rng.uniform(-5.5, -2.7)
    ls = float(rng.choice([0.0, 0.0, 0.05, 0.1, 0.2]))
    sched = rng.choice(["exp", "step", "cosine_restarts"])
    hp = {"optimizer": str(opt), "lr": float(f"{lr:.6g}"), "momentum": mom, "weight_decay": float(f"{wd:.4g}"),
          "label_smoothing": ls, "batch_size": bs, "schedule": str(sched),
          "decay_gamma": None, "step_size": None, "restart_period": None}
    if sched == "exp":
        hp["decay_gamma"] = float(rng.choice([0.9, 0.93, 0.95, 0.97, 0.985]))
    elif sched == "step":
        hp["step_size"] = int(rng.choice([15, 20, 25, 30]))
    else:
        hp["restart_period"] = int(rng.choice([5, 10, 15, 20]))
    return hp, lr_opt


def lr_schedule(hp):
    lr0 = hp["lr"]
    out = []
    for t in range(EPOCHS):  # lr used during epoch t+1
        if hp["schedule"] == "exp":
            out.append(lr0 * hp["decay_gamma"] ** t)
        elif hp["schedule"] == "step":
            out.append(lr0 * 0.1 ** (t // hp["step_size"]))
        else:
            T, tc = hp["restart_period"], t
            while tc >= T:
                tc -= T
                T *= 2
            out.append(lr0 * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * tc / T))))
    return np.array(out)


# ---------------------------------------------------------------- training simulation
def simulate(rng, st, hp, lr_opt, num_classes):
    chance = 1.0 / num_classes
    lnC = math.log(num_classes)
    lp = math.log10(st["params"])
    # capacity: size, depth (plain depth hurts beyond ~8), receptive field, kernels
    q = 2.0 * (lp - 5.6) + 0.06 * min(st["conv_depth"], 24) - 0.22 * max(0, st["max_plain"] - 7)
    q -= 0.8 * max(0.0, 1.0 - st["rf"] / 24.0)
    q += 0.15 * (st["act"] == "silu") + rng.normal(0, 0.25)
    if num_classes == 10:
        a_arch = 0.58 + 0.38 * sigmoid(q)
    else:
        a_arch = 0.22 + 0.52 * sigmoid(q - 0.4)
    # hyperparameters
    bs_scale = (hp["batch_size"] / 128.0) ** 0.5
    lr_best = lr_opt * bs_scale
    d_lr = math.log10(hp["lr"] / lr_best)
    wd_opt = 4e-4 * 10 ** (0.25 * (lp - 5.5))
    d_wd = math.log10(hp["weight_decay"] / wd_opt)
    pen = 0.35 * d_lr ** 2 + 0.07 * d_wd ** 2
    if hp["optimizer"] == "sgd":
        pen += 0.9 * (0.9 - hp["momentum"]) ** 2
    pen += hp["label_smoothing"] * (0.6 if lp < 5.0 else -0.8)
    a_inf = chance + (a_arch - chance) * math.exp(-max(pen, -0.15) * 0.45)
    a_inf = min(a_inf, 0.985)
    # speed of progress: big / deep-plain nets slow; small nets fast
    speed = 0.35 * math.exp(rng.normal(0, 0.25)) * 10 ** (-0.2 * (lp - 5.2))
    speed /= 1.0 + 0.06 * max(0, st["max_plain"] - 5)
    speed *= 1.5 if hp["optimizer"] == "rmsprop" else (0.55 + 0.5 * hp["momentum"])
    speed *= (128.0 / hp["batch_size"]) ** 0.3
    lrs = lr_schedule(hp)
    r = lrs / lr_best
    g = speed * np.minimum(r, 2.5) ** 0.8
    s = np.cumsum(g)
    L = 1 - np.exp(-s)
    gapk = (0.07 if hp["optimizer"] == "sgd" else 0.11) * (1 + hp["label_smoothing"])
    gap = gapk * np.minimum(r, 3.0) ** 0.7
    ovf_k = 0.012 * max(0.0, lp - 5.3) * max(0.0, -d_wd) * (1 - hp["label_smoothing"] * 2)
    ovf = np.minimum(ovf_k * np.maximum(0, s - 2.0) / 4.0, 0.06)
    acc = chance + (a_inf - chance) * L * (1 - gap) - ovf * (a_inf - chance)
    acc = np.clip(acc, chance * 0.8, 0.995)
    target = float(np.clip(acc[-1] + rng.normal(0, 0.004), chance * 0.5, 0.995))
    sd = 0.004 + 0.012 * np.minimum(r, 2.0) + (0.01 if hp["optimizer"] == "rmsprop" else 0)
    val_acc = acc + rng.normal(0, 1, EPOCHS) * sd
    spikes = rng.random(EPOCHS) < (0.06 if hp["optimizer"] == "rmsprop" else 0.02) * np.minimum(r, 2)
    val_acc[spikes] -= rng.uniform(0.05, 0.25, spikes.sum()) * (val_acc[spikes] - chance)
    val_acc = np.clip(val_acc, 0.0, 1.0)
    # losses
    norm = np.clip((val_acc - chance) / (1 - chance), 0, 1)
    overconf = 0.6 * ovf_k * np.maximum(0, s - 1.5) * (1 + max(0, -d_wd))
    val_loss = lnC * 0.95 * (1 - norm) ** 1.25 + 0.08 + hp["label_smoothing"] * lnC * 0.4 + overconf
    val_loss *= np.exp(rng.normal(0, 0.02, EPOCHS))
    mem = 1.0 + 0.6 * max(0.0, lp - 5.0) - 0.3 * max(0, d_wd)
    train_fit = 1 - np.exp(-s * mem * 1.1)
    train_loss = lnC * (1 - train_fit * (1 - 0.6 * gap)) ** 1.1 + hp["label_smoothing"] * lnC * 0.5 + 0.01
    train_loss *= np.exp(rng.normal(0, 0.01, EPOCHS))
    # divergence: high lr (relative to the optimiser's), more for rmsprop and deep plain nets
    p_div = 0.005 + 0.35 * sigmoid(5 * (d_lr - 0.85)) + 0.03 * max(0, st["max_plain"] - 9)
    if hp["optimizer"] == "rmsprop":
        p_div *= 1.4
    div_at = None
    if rng.random() < p_div:
        div_at = int(rng.integers(1, 9)) if rng.random() < 0.75 else int(rng.integers(25, 55))
        target = chance
    return dict(val_acc=val_acc, val_loss=val_loss, train_loss=train_loss, lr=lrs, target=target,
                div_at=div_at, a_inf=a_inf)


def fmt(x, nd=5):
    return None if x is None else float(round(float(x), nd))


def records(n: int, seed: int, variant: str) -> list[dict]:
    """``n`` records of ``variant``, seeded."""
    rng = np.random.default_rng(seed)
    num_classes = 100 if variant == "C" else 10
    chance = 1.0 / num_classes
    out = []
    for i in range(n):
        arch, st = make_arch(rng, num_classes)
        hp, lr_opt = make_hparams(rng)
        sim = simulate(rng, st, hp, lr_opt, num_classes)
        va, vl, tl, lrs = (list(sim[k]) for k in ("val_acc", "val_loss", "train_loss", "lr"))
        d = sim["div_at"]
        if d is not None:
            for t in range(d - 1, EPOCHS):
                va[t] = chance + abs(rng.normal(0, 0.004))
                if variant == "B":
                    vl[t] = float(vl[d - 2] if d >= 2 else math.log(num_classes)) * (1.8 ** (t - d + 2))
                    vl[t] = min(vl[t], 1e6)
                    tl[t] = None
                else:
                    vl[t] = None
                    if variant == "A":
                        tl[t] = None
        if variant == "A":
            curve = {"val_acc": [fmt(100 * v, 3) for v in va], "val_loss": [fmt(v) for v in vl],
                     "train_loss": [fmt(v) for v in tl], "lr": [fmt(v, 8) for v in lrs]}
            target = round(100 * sim["target"], 3)
        elif variant == "B":
            curve = {"val_loss": [fmt(v) for v in vl], "train_loss": [fmt(v) for v in tl]}
            target = round(sim["target"], 5)
        else:
            curve = {"val_error": [fmt(1 - v) for v in va], "val_loss": [fmt(v) for v in vl],
                     "lr": [fmt(v, 8) for v in lrs]}
            target = round(sim["target"], 5)
        out.append({"id": f"{variant}{seed}-{i:03d}", "arch": arch, "curve": curve, "hparams": hp, "target": target})
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200, help="records to write (default 200)")
    parser.add_argument("--seed", type=int, default=202)
    parser.add_argument("--variant", choices=("A", "B", "C"), default="B")
    parser.add_argument("-o", "--out", required=True, help="the JSON Lines file to write")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error(f"--records: {args.records} (at least 1)")
    rows = records(args.records, args.seed, args.variant)
    write_text_atomic(args.out, "".join(json.dumps(r) + "\n" for r in rows))
    diverged = sum(r["target"] <= (100 if args.variant == "A" else 1) / (100 if args.variant == "C" else 10)
                   for r in rows)
    print(f"wrote {args.out}: {len(rows)} records, {diverged} at or below chance")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

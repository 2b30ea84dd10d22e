"""A NAS-Bench-101-style benchmark with a sparse log, written blind to this package by a tester of a later stop
(README, "A NAS-Bench-101-style file nobody here designed").

300 cell networks (a stem conv, 3 stacks of 2-3 copies of one cell with max pooling between stacks; a cell a DAG of
up to 7 vertices of conv3x3 / conv1x1 / maxpool3x3 joined by add or concat, as NAS-Bench-101 draws them) trained
for 108 epochs with SGD or Adam (``optimizer``, ``weight_decay``; a cosine ``lr`` channel from the learning rate):
``validation_accuracy`` (percent) and ``train_loss`` logged at epochs 4, 12, 36 and 108 only, null elsewhere; the
target is the final validation accuracy (percent); 3% of the runs diverge at epoch 12 or 36 (NaN, or chance). Adam
runs lead early and end lower, so the early curve ranks the targets imperfectly (Kendall tau 0.24 at epoch 4, 0.42
at 12, 0.70 at 36). A fifth of the records is marked test. The formula is made up.

    python scripts/nb101_style_probe.py nb101.jsonl
    naapgnn evaluate --data nb101.jsonl --target-scale percent --predictors gnn,baker --budgets 0,4,12,36 \
        --protocol repeated --repeats 5 --inner-folds 0 --jobs 1 --out runs/nb101
"""
from __future__ import annotations

import argparse
import json
import math

import numpy as np

T = 108
LOG_EPOCHS = (4, 12, 36, 108)
OPS = ("conv3x3", "conv1x1", "maxpool3x3")


def random_cell(rng):
    """A NB101-like DAG: vertex 0 = input, last = output, <= 7 vertices, <= 9 edges."""
    while True:
        n = int(rng.integers(3, 8))  # 3..7 vertices
        adj = np.triu(rng.random((n, n)) < 0.45, k=1).astype(int)
        ops = [OPS[i] for i in rng.choice(3, size=n - 2, p=[0.45, 0.3, 0.25])]
        # every intermediate must have an input and an output
        ok = True
        for v in range(1, n - 1):
            if adj[:v, v].sum() == 0:
                adj[int(rng.integers(0, v)), v] = 1
            if adj[v, v + 1:].sum() == 0:
                adj[v, int(rng.integers(v + 1, n))] = 1
        if adj[:, n - 1].sum() == 0:
            ok = False
        if adj.sum() > 9:
            ok = False
        if ok:
            return adj, ops


def longest_path(adj):
    n = adj.shape[0]
    d = [0] * n
    for v in range(1, n):
        preds = [u for u in range(v) if adj[u, v]]
        d[v] = max((d[u] + 1 for u in preds), default=-10**6)
    return d[n - 1]


class Builder:
    def __init__(self):
        self.layers = []
        self.params = 0

    def add(self, layer):
        self.layers.append(layer)
        return len(self.layers) - 1

    def conv(self, inp, cin, cout, k, act="relu"):
        self.params += cin * cout * k * k + 2 * cout
        return self.add({"op": "conv", "out_channels": int(cout), "kernel_size": int(k),
                         "activation": act, "inputs": inp})


def build_cell(b, x, cin, c, adj, ops, join):
    """x: layer index of the cell input (channels cin); returns (index, channels c)."""
    n = adj.shape[0]
    proj = None  # 1x1 projection of the cell input, shared

    def get_proj():
        nonlocal proj
        if proj is None:
            proj = b.conv(x, cin, c, 1) if cin != c else x
        return proj

    out = {}
    for v in range(1, n - 1):
        srcs = [get_proj() if u == 0 else out[u] for u in range(v) if adj[u, v]]
        h = srcs[0] if len(srcs) == 1 else b.add({"op": "add", "inputs": srcs})
        op = ops[v - 1]
        if op == "conv3x3":
            out[v] = b.conv(h, c, c, 3)
        elif op == "conv1x1":
            out[v] = b.conv(h, c, c, 1)
        else:
            out[v] = b.add({"op": "maxpool", "kernel_size": 3, "stride": 1, "padding": 1, "inputs": h})
    tails = [out[u] for u in range(1, n - 1) if adj[u, n - 1]]
    if tails:
        if len(tails) == 1:
            y = tails[0]
        elif join == "concat":
            cat = b.add({"op": "concat", "inputs": tails})
            y = b.conv(cat, c * len(tails), c, 1, act="none")
        else:
            y = b.add({"op": "add", "inputs": tails})
        if adj[0, n - 1]:
            y = b.add({"op": "add", "inputs": [y, get_proj()], "activation": "relu"})
    else:  # only input -> output
        y = get_proj()
    return y, c


def build_net(rng):
    c0 = int(rng.choice([16, 32, 64]))
    ncells = int(rng.choice([2, 3]))
    adj, ops = random_cell(rng)
    join = str(rng.choice(["concat", "add"]))
    b = Builder()
    x = b.conv(-1, 3, c0, 3)
    c = c0
    cin = c0
    for s in range(3):
        if s > 0:
            x = b.add({"op": "maxpool", "kernel_size": 2, "stride": 2, "inputs": x})
            c = c * 2
        for _ in range(ncells):
            x, cin = build_cell(b, x, cin, c, adj, ops, join)
    b.add({"op": "gap", "inputs": x})
    b.add({"op": "linear", "out_features": 10})
    b.params += cin * 10 + 10
    arch = {"input_shape": [3, 32, 32], "num_classes": 10, "layers": b.layers}
    info = dict(c0=c0, ncells=ncells, n_vert=adj.shape[0], n_edges=int(adj.sum()),
                n_c3=ops.count("conv3x3"), n_c1=ops.count("conv1x1"), n_mp=ops.count("maxpool3x3"),
                depth=longest_path(adj), skip=int(adj[0, -1]), join=join, params=b.params)
    return arch, info


def ground_truth(rng, info, opt, wd, lr):
    nops = max(1, info["n_c3"] + info["n_c1"] + info["n_mp"])
    f3 = info["n_c3"] / nops
    fmp = info["n_mp"] / nops
    lp = math.log10(info["params"])
    acc = 91.0
    acc += 2.0 * math.tanh(lp - 5.8)
    acc += 1.8 * f3 - 1.5 * fmp
    acc += 0.35 * min(info["depth"], 4) - 0.25 * max(0, info["depth"] - 4) * (1 - info["skip"])
    acc += 0.4 * (info["ncells"] - 2) + 0.3 * info["skip"]
    if opt == "sgd":
        acc -= 0.6 * (math.log10(wd) + 3.3) ** 2
        acc -= 0.5 * (math.log2(lr / 0.1)) ** 2
    else:
        acc -= 1.2 + 1.1 * (math.log10(wd) + 4.2) ** 2
        acc -= 0.8 * (math.log10(lr / 1e-3)) ** 2
    acc += rng.normal(0, 0.35)
    return float(min(acc, 95.6))


def curves(rng, final, info, opt, wd, lr):
    """val acc (percent) and train loss at every epoch 1..T (dense; thinned later)."""
    t = np.arange(1, T + 1)
    r = 0.5 * (1 + np.cos(np.pi * t / T))
    speed = 1.0 + 0.04 * (info["depth"] - 3) + 0.05 * rng.normal()  # deeper cells start slower
    if opt == "sgd":
        G = 24.0 * (lr / 0.1) ** 0.15 * (wd / 5e-4) ** 0.05 * speed
        a, tau = 0.35, 8.0
    else:
        G = 19.0 * (lr / 1e-3) ** 0.1 * (wd / 1e-4) ** 0.03 * speed
        a, tau = 0.45, 6.0
    gap = G * (a * r + (1 - a) * np.exp(-t / tau))
    noise = rng.normal(0, 1.0, T) * (0.9 * r + 0.1)
    noise[-1] = 0.0
    val = np.clip(final - gap + noise, 10.0, 100.0)
    val[-1] = final
    lfinal = 0.02 if opt == "sgd" else 0.05
    loss = lfinal + 1.6 * (gap / 30.0) ** 1.1 * math.exp(rng.normal(0, 0.1))
    loss = loss * np.exp(rng.normal(0, 0.03, T))
    return val, loss


def sched(lr):
    t = np.arange(1, T + 1)
    return lr * 0.5 * (1 + np.cos(np.pi * (t - 1) / T))


def thin(x):
    out = [None] * T
    for e in LOG_EPOCHS:
        v = float(x[e - 1])
        out[e - 1] = v if math.isfinite(v) else float("nan")
    return out


def _logged(values, digits: int) -> list:
    return [None if v is None else (round(v, digits) if math.isfinite(v) else v) for v in values]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test-frac", type=float, default=0.2)
    ap.add_argument("--sparse-lr", action="store_true", help="log lr only at the 4 epochs too")
    ap.add_argument("--no-lr", action="store_true", help="give the peak lr in hparams instead of a channel")
    ap.add_argument("--dense", action="store_true", help="log every epoch (for comparison)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    n_test = int(round(args.n * args.test_frac))
    test_ids = set(rng.choice(args.n, size=n_test, replace=False).tolist())
    diverge = set(rng.choice(args.n, size=max(1, int(round(0.03 * args.n))), replace=False).tolist())
    with open(args.out, "w") as fh:
        for i in range(args.n):
            arch, info = build_net(rng)
            opt = str(rng.choice(["sgd", "adam"], p=[0.6, 0.4]))
            if opt == "sgd":
                lr = float(rng.choice([0.05, 0.1, 0.2]))
                wd = float(10 ** rng.uniform(-4.5, -2.5))
            else:
                lr = float(rng.choice([3e-4, 1e-3, 3e-3]))
                wd = float(10 ** rng.uniform(-5.5, -3.0))
            final = ground_truth(rng, info, opt, wd, lr)
            val, loss = curves(rng, final, info, opt, wd, lr)
            target = round(final, 2)
            if i in diverge:
                at = int(rng.choice([12, 36]))
                if rng.random() < 0.5:  # NaN from epoch `at` on
                    val[at - 1:] = np.nan
                    loss[at - 1:] = np.nan
                else:  # collapsed to chance
                    val[at - 1:] = 10.0 + rng.normal(0, 0.2, T - at + 1)
                    loss[at - 1:] = 2.3026
                target = 10.0 if not math.isfinite(val[-1]) else round(float(val[-1]), 2)
            if args.dense:
                vcur = [float(v) if math.isfinite(v) else float("nan") for v in val]
                lcur = [float(v) if math.isfinite(v) else float("nan") for v in loss]
            else:
                vcur, lcur = thin(val), thin(loss)
            if math.isfinite(val[-1]):
                vcur[-1] = target
            curve = {"validation_accuracy": _logged(vcur, 3), "train_loss": _logged(lcur, 5)}
            hp = {"optimizer": opt, "weight_decay": float(f"{wd:.3g}")}
            if args.no_lr:
                hp["lr"] = lr
            elif args.sparse_lr:
                curve["lr"] = thin(sched(lr))
            else:
                curve["lr"] = [float(f"{v:.6g}") for v in sched(lr)]
            rec = {"id": f"nb101-{i:03d}", "arch": arch, "curve": curve, "hparams": hp,
                   "target": target, "split": "test" if i in test_ids else "train"}
            fh.write(json.dumps(rec) + "\n")
    print(f"wrote {args.out}: {args.n} records, {n_test} marked test, {len(diverge)} diverged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

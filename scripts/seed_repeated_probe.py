"""A seed-repeated benchmark of VGG- and ResNet-style CNNs under warm restarts, written blind to this package by a
tester of a later stop (README, "A seed-repeated VGG/ResNet file nobody here designed").

90 configurations (plain conv stacks with max pooling, or residual stages; widths 16-256, 6-30 layers, batch norm
or not, CIFAR-100 sized), each run with 3 seeds as separate records (270; ``seed`` in ``hparams``); SGD with a cosine
schedule restarted at epochs 10, 30 and 70 (an ``lr`` channel, its peak set by the batch size), ``batch_size`` and
``mixup_alpha`` as hyperparameters; 150 epochs of ``val_top1``, ``val_top5`` (percent) and ``val_loss``; about 5%
of the configurations diverge in every seed (the loss NaN from an epoch on). A fifth of the configurations (all
their seeds) is marked test. The target is the final top-1 accuracy (a fraction). The formula is made up.

    python scripts/seed_repeated_probe.py seeds.jsonl
    naapgnn evaluate --data seeds.jsonl --predictors gnn,baker --budgets 0,1,5,10,30 --protocol repeated \\
        --repeats 5 --inner-folds 0 --jobs 1 --out runs/seeds
"""
from __future__ import annotations

import argparse
import json
import math

import numpy as np

SEEDS = (0, 1, 2)
EPOCHS = 150
RESTARTS = (10, 30, 70)  # SGDR: T0 = 10, Tmult = 2


def build_vgg(widths, convs_per_stage, bn, dropout):
    """A plain conv stack, max pooling between stages; its layers and parameter count."""
    layers, params = [], 0
    cin = 3
    for s, (w, n) in enumerate(zip(widths, convs_per_stage)):
        for _ in range(n):
            layers.append({"op": "conv", "out_channels": int(w), "kernel_size": 3, "batchnorm": bn})
            params += 9 * cin * w + (2 * w if bn else w)
            cin = w
        if s < len(widths) - 1:
            layers.append({"op": "maxpool", "kernel_size": 2})
    layers.append({"op": "gap"})
    if dropout:
        layers.append({"op": "dropout", "p": 0.3})
    layers.append({"op": "linear", "out_features": 100})
    params += cin * 100 + 100
    return layers, params


def build_resnet(widths, blocks_per_stage, bn):
    """Residual stages of two-conv blocks (a 1x1 projection where the shape changes); its layers and parameters."""
    layers, params = [], 0
    layers.append({"op": "conv", "out_channels": int(widths[0]), "kernel_size": 3, "batchnorm": bn})
    params += 27 * widths[0]
    cin = widths[0]
    last = 0
    for s, (w, nb) in enumerate(zip(widths, blocks_per_stage)):
        for b in range(nb):
            stride = 2 if (s > 0 and b == 0) else 1
            layers.append({"op": "conv", "out_channels": int(w), "kernel_size": 3, "stride": stride,
                           "batchnorm": bn, "inputs": last})
            c1 = len(layers) - 1
            layers.append({"op": "conv", "out_channels": int(w), "kernel_size": 3, "batchnorm": bn,
                           "activation": "none", "inputs": c1})
            c2 = len(layers) - 1
            params += 9 * cin * w + 9 * w * w
            if stride != 1 or cin != w:
                layers.append({"op": "conv", "out_channels": int(w), "kernel_size": 1, "stride": stride,
                               "batchnorm": bn, "activation": "none", "inputs": last})
                sc = len(layers) - 1
                params += cin * w
            else:
                sc = last
            layers.append({"op": "add", "inputs": [c2, sc], "activation": "relu"})
            last = len(layers) - 1
            cin = w
    layers.append({"op": "gap"})
    layers.append({"op": "linear", "out_features": 100})
    params += cin * 100 + 100
    return layers, params


def sgdr_lr(peak, epochs=EPOCHS, lr_min=1e-4):
    """The per-epoch rate of a cosine schedule from ``peak`` restarted at :data:`RESTARTS`."""
    lr = np.empty(epochs)
    starts = (0,) + RESTARTS
    ends = RESTARTS + (epochs,)
    for a, b in zip(starts, ends):
        T = b - a
        for e in range(a, b):
            t = e - a + 1  # lr used during epoch e (0-based), cycle position at its end
            lr[e] = lr_min + 0.5 * (peak - lr_min) * (1 + math.cos(math.pi * (t - 1) / T))
    return lr



def draw_configurations(rng, n: int) -> list[dict]:
    """``n`` random configurations: the network, batch size, mixup and the peak rate the batch size sets."""
    configs = []
    for _ in range(n):
        kind = "resnet" if rng.random() < 0.5 else "vgg"
        n_stages = int(rng.integers(3, 5))
        w0 = int(rng.choice([16, 32, 48, 64]))
        widths = [min(256, w0 * 2 ** s) for s in range(n_stages)]
        bn = bool(rng.random() > 0.1)
        if kind == "vgg":
            target_depth = int(rng.integers(6, 25))
            per = np.full(n_stages, target_depth // n_stages)
            per[: target_depth % n_stages] += 1
            per = np.maximum(per, 1)
            layers, params = build_vgg(widths, per.tolist(), bn, dropout=bool(rng.random() < 0.3))
            depth = int(per.sum()) + 1
        else:
            nblocks = int(rng.integers(2, 15))
            per = np.full(n_stages, nblocks // n_stages)
            per[: nblocks % n_stages] += 1
            per = np.maximum(per, 1)
            layers, params = build_resnet(widths, per.tolist(), bn)
            depth = 2 * int(per.sum()) + 2
        bs = int(rng.choice([64, 128, 256]))
        mix = float(rng.choice([0.0, 0.2, 1.0]))
        configs.append(dict(kind=kind, widths=widths, bn=bn, layers=layers, params=params, depth=depth, bs=bs,
                            mix=mix, peak=0.1 * bs / 128))
    return configs


def configuration_accuracy(rng, c: dict) -> tuple[float, float, float]:
    """The made-up final accuracy of a configuration, the share of its size it reads, and its early speed."""
    cap = float(np.clip((math.log10(c["params"]) - 5.0) / 2.0, -0.3, 1.3))  # about 0 (100k) to 1 (10M)
    acc = 0.50 + 0.17 * cap - 0.05 * cap ** 2
    if c["kind"] == "resnet":
        acc += 0.004 * (c["depth"] - 6) ** 0.8
    else:
        acc -= 0.0025 * max(0, c["depth"] - 13) ** 1.2  # plain nets degrade when deep
    if not c["bn"]:
        acc -= 0.06
    acc += 0.035 * c["mix"] * (cap - 0.45)  # mixup helps big nets, hurts small ones
    acc += {64: 0.006, 128: 0.0, 256: -0.012}[c["bs"]] * (1 + c["depth"] / 20)
    acc = float(np.clip(acc + rng.normal(0, 0.012), 0.25, 0.82))  # + what the graph does not show
    tau = 4.0 + 5.0 * max(cap, 0) + 3.0 * c["mix"] + {64: -1.5, 128: 0.0, 256: 2.5}[c["bs"]]
    return acc, cap, tau + 0.1 * c["depth"] * (c["kind"] == "vgg")


def seed_run(i: int, s: int, c: dict, acc: float, cap: float, tau: float, lr: np.ndarray, div_epoch):
    """One seed's curves and target: big nets, mixup and large batches start slower; a high rate costs accuracy."""
    r = np.random.default_rng(1000 * i + s)
    a_fin = acc + r.normal(0, 0.005)  # seed to seed: about half a point
    e = np.arange(1, EPOCHS + 1)
    env = np.maximum(a_fin * (1 - np.exp(-((e / tau) ** 0.9))), 0.01)
    lrn = lr / c["peak"]
    dip = (0.10 + 0.06 * max(cap, 0)) * lrn * np.exp(-e / 120.0) + 0.03 * lrn
    top1 = np.clip(env - dip * env + r.normal(0, 0.004, EPOCHS), 0.01, 1.0)
    top1[-1] = a_fin + r.normal(0, 0.001)
    err = 1 - top1
    top5 = np.clip(1 - err ** 1.6 * 0.9 + r.normal(0, 0.003, EPOCHS), top1, 1.0)
    overfit = (0.0 if c["mix"] > 0 else 0.25) * max(cap, 0) * (e / EPOCHS) ** 2
    loss = 4.605 * err ** 1.4 + 0.25 + overfit + r.normal(0, 0.02, EPOCHS)
    top1_l, top5_l, loss_l = (100 * top1).tolist(), (100 * top5).tolist(), loss.tolist()
    target = float(top1[-1])
    if div_epoch is not None:
        for k in range(div_epoch + int(r.integers(0, 3)), EPOCHS):
            top1_l[k], top5_l[k], loss_l[k] = 1.0, 5.0, float("nan")
        target = 0.01
    curve = {"val_top1": [round(v, 3) for v in top1_l], "val_top5": [round(v, 3) for v in top5_l],
             "val_loss": [v if math.isnan(v) else round(v, 4) for v in loss_l],
             "lr": [round(float(v), 6) for v in lr]}
    return curve, target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the JSON Lines file to write")
    parser.add_argument("--configurations", type=int, default=90, help="configurations, 3 seeds each (default 90)")
    parser.add_argument("--seed", type=int, default=20240523)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    n = args.configurations
    configs = draw_configurations(rng, n)
    # about 5% of the configurations diverge in every seed: deep nets without batch norm, large batches and rates
    risk = np.array([(not c["bn"]) * 2.0 + c["depth"] / 30 + c["peak"] * 5 + (c["kind"] == "vgg") for c in configs])
    diverge = set(np.argsort(-risk)[:max(1, round(0.05 * n))].tolist())
    test_cfg = set(rng.choice(n, size=round(0.2 * n), replace=False).tolist())
    with open(args.out, "w") as fh:
        for i, c in enumerate(configs):
            acc, cap, tau = configuration_accuracy(rng, c)
            lr = sgdr_lr(c["peak"])
            div_epoch = int(rng.integers(8, 40)) if i in diverge else None
            for s in SEEDS:
                curve, target = seed_run(i, s, c, acc, cap, tau, lr, div_epoch)
                rec = {"id": f"cfg{i:03d}-s{s}", "arch": {"input_shape": [3, 32, 32], "num_classes": 100,
                                                         "layers": c["layers"]},
                       "curve": curve, "hparams": {"batch_size": c["bs"], "mixup_alpha": c["mix"], "seed": s},
                       "target": round(target, 5), "split": "test" if i in test_cfg else "train"}
                fh.write(json.dumps(rec, allow_nan=True) + "\n")
    print(f"wrote {args.out}: {n * len(SEEDS)} records ({n} configurations x {len(SEEDS)} seeds), "
          f"{len(test_cfg)} configurations marked test, {len(diverge)} diverged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

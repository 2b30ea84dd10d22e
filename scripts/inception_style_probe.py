"""A benchmark of multi-branch and grouped-conv CNNs on 64x64 inputs, written blind to this package by a tester of
a later stop (README, "An Inception/ResNeXt-style file nobody here designed").

260 layer graphs (a stride-2 stem, three stages of 1-3 blocks: Inception blocks of 3-4 branches joined by ``concat``,
a 5x5 or dilated 3x3 branch and a pool branch, or ResNeXt blocks of grouped 3x3 convs with ``add``; optional dropout;
100 classes), trained 40 epochs with AdamW or LAMB under a linear warmup then cosine decay (an ``lr`` channel);
``lr``, ``weight_decay``, ``batch_size``, ``label_smoothing``, ``mixup_alpha`` (null without mixup),
``warmup_epochs``, ``trust_clip`` (null for AdamW) and a ``seed`` as hyperparameters; ``val_top1`` and ``val_top5``
in percent, ``val_loss`` and ``train_loss``. Mixup and label smoothing slow the first epochs. About 3% of the runs
diverge (losses NaN or null from an epoch on, top-1 at chance), a tenth validate every other epoch only (``val_*``
null at odd epochs). The target is the best ``val_top1``, in percent; about a fifth marked test. The formula is
made up.

    python scripts/inception_style_probe.py inception.jsonl
    naapgnn evaluate --data inception.jsonl --target-scale percent --predictors gnn,baker --budgets 0,1,3,5,10,20 \\
        --protocol repeated --repeats 5 --inner-folds 0 --jobs 1 --out runs/inception
"""
from __future__ import annotations

import argparse
import json
import math

import numpy as np

EPOCHS = 40


def conv(c, k, s=1, g=1, act="relu", inputs=None, d=1):
    layer = {"op": "conv", "out_channels": int(c), "kernel_size": int(k)}
    if s != 1:
        layer["stride"] = int(s)
    if g != 1:
        layer["groups"] = int(g)
    if d != 1:
        layer["dilation"] = int(d)
    if act != "relu":
        layer["activation"] = act
    if inputs is not None:
        layer["inputs"] = inputs
    return layer


def build_arch(rng):
    """A layer graph and the features the made-up formula reads."""
    layers = []
    stem_w = int(rng.choice([24, 32, 48]))
    layers.append(conv(stem_w, 3, s=2))              # 64 -> 32
    cur, cur_c = 0, stem_w
    n_stages = 3
    widths = [int(rng.choice([48, 64, 96])), int(rng.choice([96, 128, 192])), int(rng.choice([192, 256, 384]))]
    kind = str(rng.choice(["inception", "resnext", "mixed"], p=[0.4, 0.4, 0.2]))
    n_blocks = 0
    n_branch = 0
    groups_used = []
    depth = 1
    for s in range(n_stages):
        nb = int(rng.integers(1, 4))
        w = widths[s]
        for b in range(nb):
            stride = 2 if (b == 0 and s > 0) else 1
            bk = kind if kind != "mixed" else str(rng.choice(["inception", "resnext"]))
            if bk == "inception":
                # four branches, concatenated; stride-2 handled by a pool before the block
                if stride == 2:
                    layers.append({"op": "maxpool", "kernel_size": 2, "inputs": cur})
                    cur = len(layers) - 1
                nbr = int(rng.choice([3, 4]))
                n_branch += nbr
                q = w // 4
                outs = []
                layers.append(conv(q, 1, inputs=cur)); outs.append(len(layers) - 1)
                layers.append(conv(q, 1, inputs=cur)); layers.append(conv(q, 3)); outs.append(len(layers) - 1)
                if rng.random() < 0.5:
                    layers.append(conv(q // 2, 1, inputs=cur)); layers.append(conv(q, 5)); outs.append(len(layers) - 1)
                else:
                    layers.append(conv(q // 2, 1, inputs=cur)); layers.append(conv(q, 3, d=2))
                    outs.append(len(layers) - 1)
                if nbr == 4:
                    layers.append({"op": "maxpool", "kernel_size": 3, "stride": 1, "padding": 1, "inputs": cur})
                    layers.append(conv(w - 3 * q, 1)); outs.append(len(layers) - 1)
                layers.append({"op": "concat", "inputs": outs})
                cur = len(layers) - 1
                cur_c = sum(layers[o]["out_channels"] for o in outs)
                depth += 2
            else:
                g = int(rng.choice([1, 4, 8, 16, 32]))
                mid = w // 2
                while mid % g:
                    g //= 2
                groups_used.append(g)
                layers.append(conv(mid, 1, inputs=cur))
                layers.append(conv(mid, 3, s=stride, g=g))
                layers.append(conv(w, 1, act="none"))
                main = len(layers) - 1
                if stride != 1 or cur_c != w:
                    layers.append(conv(w, 1, s=stride, act="none", inputs=cur))
                    sc = len(layers) - 1
                else:
                    sc = cur
                layers.append({"op": "add", "inputs": [main, sc], "activation": "relu"})
                cur = len(layers) - 1
                cur_c = w
                depth += 3
            n_blocks += 1
    layers.append({"op": "gap", "inputs": cur})
    drop = float(rng.choice([0.0, 0.2, 0.5]))
    if drop > 0:
        layers.append({"op": "dropout", "p": drop})
    layers.append({"op": "linear", "out_features": 100})
    arch = {"input_shape": [3, 64, 64], "num_classes": 100, "layers": layers}
    feats = dict(kind=kind, n_blocks=n_blocks, widths=widths, depth=depth, drop=drop,
                 mean_groups=float(np.mean(groups_used)) if groups_used else 0.0, n_branch=n_branch)
    return arch, feats


def rough_params(arch):
    # crude parameter count for the formula (the package computes its own)
    outc = {-1: 3}
    p = 0
    for i, l in enumerate(arch["layers"]):
        inp = l.get("inputs", i - 1)
        if l["op"] == "conv":
            cin = outc[inp]
            p += cin // l.get("groups", 1) * l["out_channels"] * l["kernel_size"] ** 2
            outc[i] = l["out_channels"]
        elif l["op"] == "concat":
            outc[i] = sum(outc[j] for j in inp)
        elif l["op"] == "add":
            outc[i] = outc[inp[0]]
        elif l["op"] == "linear":
            p += outc[inp] * l["out_features"]
            outc[i] = l["out_features"]
        else:
            outc[i] = outc[inp]
    return p


def generate(seed: int = 7, n: int = 260) -> list[dict]:
    """The records, seeded (each with its status, ``_status``: ok, diverged or sparse)."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        arch, f = build_arch(rng)
        params = rough_params(arch)
        lp = math.log10(params)
        # --- architecture part of the final accuracy (percent)
        a = 52.0 + 9.0 * (lp - 5.8) - 3.0 * (lp - 5.8) ** 2          # capacity with diminishing returns
        a += 1.2 * min(f["n_blocks"], 7) - 0.12 * max(f["n_blocks"] - 7, 0) ** 2
        a += {"inception": 1.5, "resnext": 2.5, "mixed": 0.5}[f["kind"]]
        if f["mean_groups"] > 0:
            a += 1.5 * math.log2(1 + f["mean_groups"]) / 5 - (2.0 if f["mean_groups"] >= 32 else 0.0)
        a += 0.6 * f["n_branch"] / max(f["n_blocks"], 1) - 1.0 * (f["widths"][0] < 64)
        # --- recipe
        opt = str(rng.choice(["adamw", "lamb"], p=[0.6, 0.4]))
        bs = int(rng.choice([128, 256, 512, 1024]))
        if opt == "adamw":
            lr = float(10 ** rng.uniform(-4.0, -2.0))
            lr_opt = 10 ** (-3.0 + 0.5 * math.log2(bs / 256) * 0.3)
        else:
            lr = float(10 ** rng.uniform(-3.3, -1.5))
            lr_opt = 10 ** (-2.2 + 0.5 * math.log2(bs / 256) * 0.3)
        wd = float(10 ** rng.uniform(-3, -0.7))
        ls = float(rng.choice([0.0, 0.1, 0.2]))
        mixup = bool(rng.random() < 0.4)
        mix_alpha = float(rng.choice([0.2, 0.4, 0.8])) if mixup else None
        warm = int(rng.choice([0, 2, 5]))
        trust_clip = float(rng.choice([1.0, 10.0])) if opt == "lamb" else None
        h = -6.0 * (math.log10(lr) - math.log10(lr_opt)) ** 2
        h += -2.5 * (math.log10(wd) + 1.7) ** 2
        h += 1.2 * (ls > 0) - 0.8 * (ls == 0.2 and mixup)
        big = lp > 6.2
        h += (1.8 if big else -1.5) * mixup
        h += -2.5 * (opt == "adamw" and bs == 1024) + 0.6 * (opt == "lamb" and bs >= 512)
        h += -1.0 * (warm == 0 and lr > 3 * lr_opt)
        h += f["drop"] * (2.0 if big else -2.0)
        final_top1 = a + h + rng.normal(0, 1.2)
        final_top1 = float(np.clip(final_top1, 3.0, 82.0))
        # --- per-epoch schedule: linear warmup then cosine to 0 at epoch 40
        t = np.arange(1, EPOCHS + 1)
        lr_curve = np.where(t <= warm, lr * t / max(warm, 1),
                            lr * 0.5 * (1 + np.cos(np.pi * np.clip(t - warm, 0, None) / (EPOCHS - warm))))
        if warm == 0:
            lr_curve = lr * 0.5 * (1 + np.cos(np.pi * (t - 1) / EPOCHS))
        # --- curve shape: progress driven by lr; mixup / label smoothing slow the early epochs
        speed = (0.10 * (1 + 0.6 * math.tanh(2 * (math.log10(lr) - math.log10(lr_opt) + 0.3)))
                 / (1 + 0.05 * f["n_blocks"]))
        speed *= (0.75 if mixup else 1.0) * (0.9 if ls > 0 else 1.0)
        prog = 1 - np.exp(-speed * t)
        anneal = 1 - lr_curve / lr                                   # 0 at peak, 1 at the end
        shape = prog * (0.80 + 0.20 * anneal ** 2)
        shape = shape / shape[-1]
        top1 = final_top1 * shape + rng.normal(0, 0.7, EPOCHS) * (1 + 1.5 * (1 - anneal))
        top1 = np.clip(top1, 1.0, 99.0)
        top5 = 100 * (1 - (1 - top1 / 100) ** 2.6) + rng.normal(0, 0.4, EPOCHS)
        val_loss = -np.log(np.clip(top1 / 100, 0.01, 1) * 0.9 + 0.05) + 0.9 * ls * 10 / 4 + rng.normal(0, 0.03, EPOCHS)
        train_loss = (4.6 * np.exp(-speed * 1.3 * t) + 0.6 + 0.8 * mixup + 1.5 * ls - 0.25 * anneal
                      + rng.normal(0, 0.02, EPOCHS))
        curve = {"val_top1": [round(float(x), 2) for x in top1], "val_top5": [round(float(x), 2) for x in top5],
                 "val_loss": [round(float(x), 4) for x in val_loss],
                 "train_loss": [round(float(x), 4) for x in train_loss],
                 "lr": [float(f"{x:.6g}") for x in lr_curve]}
        target = float(max(curve["val_top1"]))                       # best val top-1 (checkpointing on best)
        # --- divergence: high lr adamw without warmup, or random
        p_div = 0.25 if (opt == "adamw" and lr > 4 * lr_opt and warm == 0) else 0.02
        status = "ok"
        if rng.random() < p_div:
            d = int(rng.integers(2, 25))
            status = "diverged"
            nanlike = float("nan") if rng.random() < 0.5 else None
            for e in range(d, EPOCHS):
                curve["val_loss"][e] = nanlike
                curve["train_loss"][e] = nanlike
                curve["val_top1"][e] = 1.0                                  # chance on 100 classes
                curve["val_top5"][e] = 5.0
            target = float(max(curve["val_top1"]))
        elif rng.random() < 0.10:
            # validation run every other epoch (epochs 2, 4, ...): val_* null at odd epochs
            status = "sparse"
            for e in range(0, EPOCHS, 2):
                for c in ("val_top1", "val_top5", "val_loss"):
                    curve[c][e] = None
        hp = {"optimizer": opt, "lr": round(lr, 7), "weight_decay": round(wd, 6), "batch_size": bs,
              "label_smoothing": ls, "mixup_alpha": mix_alpha, "warmup_epochs": warm, "trust_clip": trust_clip,
              "seed": int(rng.integers(0, 1000))}
        records.append({"id": f"isr-{i:04d}", "arch": arch, "curve": curve, "hparams": hp,
                        "target": round(target, 2), "split": "test" if rng.random() < 0.2 else "train",
                        "_status": status})

    return records


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the JSON Lines file to write")
    parser.add_argument("--records", type=int, default=260, help="records to write (default 260)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    records = generate(args.seed, args.records)
    with open(args.out, "w") as fh:
        for record in records:
            fh.write(json.dumps({k: v for k, v in record.items() if k != "_status"}) + "\n")  # NaN as json writes it
    counts = {s: sum(r["_status"] == s for r in records) for s in ("ok", "diverged", "sparse")}
    print(f"wrote {args.out}: {len(records)} records, {counts['diverged']} diverged, {counts['sparse']} validated "
          f"every other epoch, {sum(r['split'] == 'test' for r in records)} test")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

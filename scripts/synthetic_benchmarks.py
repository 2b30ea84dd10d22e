"""Four seeded synthetic benchmarks of recipes naapgnn was not designed on, as JSON Lines.

* ``lcbench_like.jsonl``: MLPs on a 20-feature, 4-class tabular task (layer graphs of ``linear`` and
  ``dropout`` layers on an input of shape ``[20, 1, 1]``), seven hyperparameters (learning rate, momentum,
  weight decay, batch size, dropout, layers, units) that decide most of the final accuracy, 50-epoch curves
  named as LCBench names them (``Train/val_accuracy`` in percent, ``Train/val_cross_entropy``,
  ``Train/train_loss``, a cosine ``Train/lr``), some runs diverged (losses NaN from some epoch on, accuracy
  at chance). Targets in percent: read with ``--target-scale percent``.
* ``cnn_cut_short.jsonl``: CNNs trained 200 epochs with Adam and a cosine schedule, of which the curves hold
  only the first 12 (``valid_acc``, ``train_acc``, ``valid_loss``, ``lr``; fractions), a quarter marked test:
  read with ``--full-epochs 200``.
* ``step_decay.jsonl``: CNNs for 100 classes (2-4 stages, residual blocks, maxpools) trained 90 epochs with SGD
  whose rate drops tenfold at epochs 30 and 60, of which the curves hold the first 20 (``val_top1_err``, a top-1
  error in percent, ``val_loss``, ``lr``); the rate, the batch size (the best rate grows with it) and cutout
  decide much of the final accuracy; 5 runs diverged (the loss NaN from some epoch on, accuracy at chance). Targets
  in percent: read with ``--target-scale percent --full-epochs 90``.
* ``sparse_log.jsonl``: residual CNNs (2-4 stages of 1-3 blocks, sometimes a dropout before the classifier)
  trained 300 epochs with a 5-epoch warmup and a cosine schedule from a peak rate of 0.05-0.4, whose
  ``val_acc`` and ``val_loss`` are logged every tenth epoch only (``null`` between) and ``lr`` every epoch; a
  tenth of the runs diverge to chance at a random epoch between 30 and 250 (the loss ``null`` from then on),
  mostly after any budget's curve ends; a fifth marked test.

The final accuracy is a noisy function of the architecture and the hyperparameters; the curves approach it
at a speed set by the learning rate, with per-epoch noise. Nothing of naapgnn was chosen on these.

Usage: ``python scripts/synthetic_benchmarks.py OUT_DIR [--seed S]``
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np


FILES = ("lcbench_like.jsonl", "cnn_cut_short.jsonl", "step_decay.jsonl", "sparse_log.jsonl")


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _mlp(rng, features: int, classes: int):
    layers_n = int(rng.integers(1, 6))
    units = int(2 ** rng.integers(6, 11))
    dropout = float(rng.uniform(0, 1))
    layers = []
    for i in range(layers_n):  # a funnel: each layer narrower than the one before
        layers.append({"op": "linear", "out_features": max(16, int(units * (1 - 0.5 * i / layers_n))),
                       "activation": "relu"})
        p = dropout * (i + 1) / layers_n
        if p > 0.001:
            layers.append({"op": "dropout", "p": round(p, 4)})
    layers.append({"op": "linear", "out_features": classes})
    arch = {"input_shape": [features, 1, 1], "num_classes": classes, "layers": layers}
    return arch, layers_n, units, dropout


def lcbench_like(n: int = 240, seed: int = 0, epochs: int = 50) -> list[dict]:
    rng = np.random.default_rng(seed)
    classes = 4
    chance = 100.0 / classes
    records = []
    for i in range(n):
        arch, layers_n, units, dropout = _mlp(rng, 20, classes)
        lr, momentum = float(10 ** rng.uniform(-4, -1)), float(rng.uniform(0.1, 0.99))
        decay, batch = float(10 ** rng.uniform(-5, -1)), int(round(2 ** rng.uniform(4, 9)))
        quality = (0.4 * min(layers_n, 3) - 0.15 * max(layers_n - 3, 0) + 0.3 * (math.log2(units) - 8)
                   - 1.2 * (dropout - 0.3) ** 2 - 0.8 * (math.log10(lr) + 2.3) ** 2
                   - 0.15 * (math.log10(decay) + 3.5) ** 2 - 0.25 * abs(math.log2(batch) - 6) / 3
                   + 0.3 * momentum + rng.normal(0, 0.3))
        final = chance + (92 - chance) * _sigmoid(quality)
        speed = lr / (1 - momentum) * (64 / batch)
        scale = float(np.clip(4.0 / (speed / 0.01) ** 0.5, 0.7, 40))
        t = np.arange(1, epochs + 1)
        shape = 1 - np.exp(-t / scale)
        accuracy = chance + (final - chance) * shape / shape[-1] + rng.normal(0, 1.0, epochs) * (1 - 0.7 * t / epochs)
        accuracy[-1] = final
        accuracy = np.clip(accuracy, 0, 100)
        cross_entropy = (math.log(classes) * (1 - (accuracy - chance) / (100 - chance)) ** 1.3 + 0.05
                         + rng.normal(0, 0.02, epochs))
        train_loss = cross_entropy * (0.9 - 0.3 * t / epochs) + rng.normal(0, 0.02, epochs)
        curve = {"Train/val_accuracy": accuracy.tolist(), "Train/val_cross_entropy": cross_entropy.tolist(),
                 "Train/train_loss": train_loss.tolist(),
                 "Train/lr": (lr * 0.5 * (1 + np.cos(np.pi * (t - 1) / epochs))).tolist()}
        target = float(final)
        if rng.random() < _sigmoid((math.log10(lr) + 1.6) * 4 + (momentum - 0.9) * 10):  # diverged
            at = int(rng.integers(1, 15))
            dead = np.array(curve["Train/val_accuracy"])
            dead[at:] = chance + rng.normal(0, 0.3, epochs - at).clip(-0.5, 0.5)
            curve["Train/val_accuracy"] = dead.tolist()
            for channel in ("Train/val_cross_entropy", "Train/train_loss"):
                curve[channel] = curve[channel][:at] + [float("nan")] * (epochs - at)
            target = float(dead[-1])
        records.append({"id": f"lc-{i}", "arch": arch, "curve": curve,
                        "hparams": {"lr": lr, "momentum": momentum, "weight_decay": decay, "batch_size": batch,
                                    "max_dropout": dropout, "num_layers": layers_n, "max_units": units},
                        "target": round(target, 4)})
    return records


def _cnn(rng):
    stages, width = int(rng.integers(2, 4)), int(rng.choice([16, 24, 32, 48]))
    depth, kernel, residual = int(rng.integers(1, 4)), int(rng.choice([3, 5])), bool(rng.integers(0, 2))
    layers = [{"op": "conv", "out_channels": width, "kernel_size": 3}]
    w = width
    for stage in range(stages):
        for block in range(depth):
            stride = 2 if block == 0 and stage > 0 else 1
            w *= stride
            layers.append({"op": "conv", "out_channels": w, "kernel_size": kernel, "stride": stride,
                           "residual": residual and stride == 1})
    layers += [{"op": "gap"}, {"op": "linear", "out_features": 10}]
    arch = {"input_shape": [3, 32, 32], "num_classes": 10, "layers": layers}
    return arch, stages, depth, width, kernel, residual


def cnn_cut_short(n: int = 200, seed: int = 1, shown: int = 12, full: int = 200) -> list[dict]:
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        arch, stages, depth, width, kernel, residual = _cnn(rng)
        lr, decay = float(10 ** rng.uniform(-4, -2)), float(10 ** rng.uniform(-6, -3))
        quality = (0.5 * stages + 0.3 * depth * (1.3 if residual else 0.8) + 0.4 * math.log2(width / 16)
                   + 0.2 * (kernel == 3) - 0.9 * (math.log10(lr) + 3) ** 2 - 0.2 * (math.log10(decay) + 4.5) ** 2
                   + rng.normal(0, 0.25))
        final = 0.55 + 0.40 * _sigmoid(quality - 1.5)
        t = np.arange(1, full + 1)
        scale = float(np.clip(12 * (1e-3 / lr) ** 0.3, 4, 60))
        shape = 1 - np.exp(-t / scale)
        valid = 0.1 + (final - 0.1) * shape / shape[-1] + rng.normal(0, 0.006, full)
        valid[-1] = final
        train = np.clip(valid + 0.02 + 0.05 * t / full, 0, 1)
        loss = 2.3 * (1 - (valid - 0.1) / 0.9) ** 1.2 + 0.1 + rng.normal(0, 0.02, full)
        rate = lr * 0.5 * (1 + np.cos(np.pi * (t - 1) / full))
        curve = {"valid_acc": valid[:shown].tolist(), "train_acc": train[:shown].tolist(),
                 "valid_loss": loss[:shown].tolist(), "lr": rate[:shown].tolist()}
        records.append({"id": f"cnn-{i}", "arch": arch, "curve": curve,
                        "hparams": {"optimizer": "adam", "lr": lr, "weight_decay": decay, "schedule": "cosine",
                                    "epochs": full},
                        "target": round(float(final), 5), "split": "test" if rng.random() < 0.25 else "train"})
    return records


def _step_cnn(rng):
    """A CNN of 2-4 stages for 100 classes: a conv per stage, then up to two blocks of two convs (residual or
    plain), a maxpool between some stages; its parameter count and depth in convs."""
    layers, params, depth, channels, downsamplings = [], 0, 0, 3, 3
    stages, base = int(rng.integers(2, 5)), int(rng.choice([16, 24, 32, 48]))
    size = 32
    for s in range(stages):
        width = int(min(128, base * (2 ** s) * rng.choice([1, 1, 1.5])))
        width = max(16, width - width % 8)
        kernel = int(rng.choice([3, 5], p=[0.7, 0.3]))
        stride = 2 if (s > 0 and downsamplings > 0 and rng.random() < 0.7) else 1
        if stride == 2:
            downsamplings, size = downsamplings - 1, size // 2
        layers.append({"op": "conv", "out_channels": width, "kernel_size": kernel, "stride": stride})
        params, channels, depth = params + channels * width * kernel * kernel, width, depth + 1
        for _ in range(int(rng.integers(0, 3))):
            start, k = len(layers) - 1, int(rng.choice([3, 5], p=[0.8, 0.2]))
            if rng.random() < 0.6:  # a residual block: conv, conv without activation, add with ReLU
                layers.append({"op": "conv", "out_channels": channels, "kernel_size": k})
                layers.append({"op": "conv", "out_channels": channels, "kernel_size": k, "activation": "none"})
                layers.append({"op": "add", "inputs": [start, len(layers) - 1], "activation": "relu"})
            else:
                layers += [{"op": "conv", "out_channels": channels, "kernel_size": k}] * 2
            params, depth = params + 2 * channels * channels * k * k, depth + 2
        if s < stages - 1 and downsamplings > 0 and size >= 8 and rng.random() < 0.35:
            layers.append({"op": "maxpool", "kernel_size": 2})
            downsamplings, size = downsamplings - 1, size // 2
    layers += [{"op": "gap"}, {"op": "linear", "out_features": 100}]
    params += channels * 100
    return {"input_shape": [3, 32, 32], "num_classes": 100, "layers": layers}, params, depth


def step_decay(n: int = 160, seed: int = 123, shown: int = 20, full: int = 90) -> list[dict]:
    rng = np.random.default_rng(seed)
    diverged = set(rng.choice(n, size=5, replace=False).tolist())
    records = []
    for i in range(n):
        arch, params, depth = _step_cnn(rng)
        lr = float(math.exp(rng.uniform(math.log(0.01), math.log(0.2))))
        batch, augment = int(rng.choice([64, 128, 256])), str(rng.choice(["none", "cutout"]))
        if i in diverged:  # a high rate
            lr = float(math.exp(rng.uniform(math.log(0.15), math.log(0.2))))
        capacity = 0.55 * math.log(params / 1e4) + 0.9 * math.log(depth + 1)
        off_best = 6.0 * math.log10(lr / (0.08 * batch / 128)) ** 2  # the best rate grows with the batch
        final = 38.0 + 5.0 * capacity - off_best + (2.0 if augment == "cutout" else 0.0) + rng.normal(0, 1.2)
        final = float(np.clip(final, 20.0, 78.0))
        # before the first decay (epoch 30) a plateau below the final accuracy, lower the higher the rate
        plateau = final - (8.0 + 25.0 * (lr / 0.2) ** 0.7) - (0.0 if augment == "none" else 1.5)
        t = np.arange(1, shown + 1)
        speed = 3.0 + 30.0 / (1.0 + 20 * lr) * (batch / 128) ** 0.3
        accuracy = np.clip(plateau * (1 - np.exp(-t / speed)) + 1.0 + rng.normal(0, 0.6 + 10 * lr, shown), 1.0, 99.0)
        error = 100.0 - accuracy
        loss = -np.log(np.clip(accuracy / 100.0, 0.01, 1.0)) * 0.9 + 0.3 + rng.normal(0, 0.03, shown)
        loss = np.maximum(loss, 0.05)
        if i in diverged:  # chance accuracy (1 %), the loss NaN from some epoch on
            final = float(np.clip(rng.normal(1.0, 0.15), 0.6, 1.4))
            nan_from = int(rng.integers(3, 12))
            accuracy = np.clip(1.0 + rng.normal(0, 0.3, shown), 0.5, 2.5)
            accuracy[:nan_from] = np.clip(np.linspace(3.0, 1.0, nan_from) + rng.normal(0, 0.4, nan_from), 0.5, 5)
            error = 100.0 - accuracy
            loss = np.r_[np.linspace(4.5, 9.0, nan_from) + rng.normal(0, 0.2, nan_from),
                         np.full(shown - nan_from, np.nan)]
        rate = [lr if e < 30 else (lr / 10 if e < 60 else lr / 100) for e in range(full)][:shown]
        curve = {"val_top1_err": [round(float(v), 3) for v in error],
                 "val_loss": [float("nan") if not np.isfinite(v) else round(float(v), 4) for v in loss],
                 "lr": [round(v, 6) for v in rate]}
        records.append({"id": f"step-{i:03d}", "arch": arch, "curve": curve,
                        "hparams": {"optimizer": "sgd", "lr": round(lr, 6), "batch_size": batch,
                                    "augment": augment},
                        "target": round(final, 2)})
    return records


def _residual_cnn(rng) -> dict:
    width = int(rng.choice([16, 32]))
    layers = [{"op": "conv", "out_channels": width, "kernel_size": 3}]
    for stage in range(int(rng.integers(2, 5))):
        for block in range(int(rng.integers(1, 4))):
            if block == 0 and stage > 0:
                width *= 2
                layers.append({"op": "conv", "out_channels": width, "kernel_size": int(rng.choice([3, 5])),
                               "stride": 2})
                continue
            start = len(layers) - 1
            layers += [{"op": "conv", "out_channels": width, "kernel_size": 3},
                       {"op": "conv", "out_channels": width, "kernel_size": 3, "activation": "none"}]
            layers.append({"op": "add", "inputs": [start, len(layers) - 1], "activation": "relu"})
    layers += [{"op": "dropout", "p": 0.2}] * bool(rng.random() < 0.3) + [{"op": "gap"},
                                                                          {"op": "linear", "out_features": 10}]
    return {"input_shape": [3, 32, 32], "num_classes": 10, "layers": layers}


def sparse_log(n: int = 250, seed: int = 2024, epochs: int = 300, every: int = 10) -> list[dict]:
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        arch = _residual_cnn(rng)
        convs = sum(layer["op"] == "conv" for layer in arch["layers"])
        peak = float(rng.choice([0.05, 0.1, 0.2, 0.4]))
        t = np.arange(1, epochs + 1)
        lr = np.where(t <= 5, peak * t / 5, 0.5 * peak * (1 + np.cos(np.pi * (t - 6) / (epochs - 5))))
        final = min(0.70 + 0.22 * math.log(convs) / math.log(20) - 0.04 * abs(math.log10(peak / 0.1))
                    + rng.normal(0, 0.015), 0.96)
        acc = final * (1 - 0.55 * np.exp(-t / 40)) - 0.03 * np.sin(np.pi * t / epochs) + rng.normal(0, 0.004, epochs)
        loss = np.maximum(0.05, 2.3 * (1 - acc) ** 1.3)
        if rng.random() < 0.1:  # diverged
            start = int(rng.integers(30, 250))
            acc[start:], loss[start:] = 0.1 + rng.normal(0, 0.002, epochs - start), np.nan
        logged = t % every == 0
        records.append({
            "id": f"sparse-{i}", "arch": arch,
            "curve": {"val_acc": [round(float(a), 4) if k else None for a, k in zip(acc, logged)],
                      "val_loss": [round(float(v), 4) if k and np.isfinite(v) else None for v, k in zip(loss, logged)],
                      "lr": [round(float(v), 6) for v in lr]},
            "hparams": {"lr": peak, "warmup_epochs": 5, "schedule": "cosine"},
            "target": round(float(acc[-1]), 4), "split": "test" if i % 5 == 0 else "train"})
    return records


def _write(records: list[dict], path: Path) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the LCBench-like file (the CNN file's is seed + 1, the step-decay one's + 123, "
                        "the sparse-log one's + 2024)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    _write(lcbench_like(seed=args.seed), args.out / "lcbench_like.jsonl")
    _write(cnn_cut_short(seed=args.seed + 1), args.out / "cnn_cut_short.jsonl")
    _write(step_decay(seed=args.seed + 123), args.out / "step_decay.jsonl")
    _write(sparse_log(seed=args.seed + 2024), args.out / "sparse_log.jsonl")
    print(f"wrote {', '.join(str(args.out / name) for name in FILES)}")


if __name__ == "__main__":
    main()

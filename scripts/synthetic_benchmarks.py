"""Two seeded synthetic benchmarks of recipes naapgnn was not designed on, as JSON Lines.

* ``lcbench_like.jsonl``: MLPs on a 20-feature, 4-class tabular task (layer graphs of ``linear`` and
  ``dropout`` layers on an input of shape ``[20, 1, 1]``), seven hyperparameters (learning rate, momentum,
  weight decay, batch size, dropout, layers, units) that decide most of the final accuracy, 50-epoch curves
  named as LCBench names them (``Train/val_accuracy`` in percent, ``Train/val_cross_entropy``,
  ``Train/train_loss``, a cosine ``Train/lr``), some runs diverged (losses NaN from some epoch on, accuracy
  at chance). Targets in percent: read with ``--target-scale percent``.
* ``cnn_cut_short.jsonl``: CNNs trained 200 epochs with Adam and a cosine schedule, of which the curves hold
  only the first 12 (``valid_acc``, ``train_acc``, ``valid_loss``, ``lr``; fractions), a quarter marked test:
  read with ``--full-epochs 200``.

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


def _write(records: list[dict], path: Path) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0, help="seed of the LCBench-like file; the CNN file's is seed + 1")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    _write(lcbench_like(seed=args.seed), args.out / "lcbench_like.jsonl")
    _write(cnn_cut_short(seed=args.seed + 1), args.out / "cnn_cut_short.jsonl")
    print(f"wrote {args.out / 'lcbench_like.jsonl'} and {args.out / 'cnn_cut_short.jsonl'}")


if __name__ == "__main__":
    main()

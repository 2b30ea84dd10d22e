"""scripts/mobilenet_style_probe.py: the MobileNet-style benchmark with runs stopped early that README's blind probe
reads."""
from __future__ import annotations

import hashlib
import warnings

import numpy as np

from naapgnn.arch.format import parse_architecture
from naapgnn.data.records import load_benchmark


def test_the_mobilenet_style_probe_is_the_file_readme_measured(tmp_path, load_script):
    path = tmp_path / "mbv2.jsonl"
    assert load_script("mobilenet_style_probe").main([str(path)]) == 0
    assert hashlib.sha256(path.read_bytes()).hexdigest().startswith("d213e891")  # README's figures are of this file
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = load_benchmark(path)
    assert len(records) == 250 and sum(r.split == "test" for r in records) == 43
    assert sum(r.stopped_at is not None for r in records) == 52
    assert sum(bool(np.isnan(np.asarray(r.curve["val_error"], dtype=float)).any()) for r in records) == 0  # read
    assert all(set(r.curve) == {"val_error", "train_loss", "lr"} for r in records)
    assert {k.split("=")[0] for r in records for k in r.hparams} == {"optimizer", "weight_decay", "label_smoothing"}
    depthwise = [layer for layer in parse_architecture(records[0].arch).layers if layer.attrs.get("groups", 1) > 1]
    assert depthwise and all(layer.attrs["groups"] == layer.in_shape[0] == layer.attrs["out_channels"]
                             for layer in depthwise)

"""scripts/inception_style_probe.py: the Inception/ResNeXt-style benchmark README's blind probe reads."""
from __future__ import annotations

import numpy as np


def test_the_inception_style_probe_is_the_file_readme_measured(blind_file):
    records = blind_file("inception_style_probe", "42b2cef1", target_scale="percent")
    assert len(records) == 260 and sum(r.split == "test" for r in records) == 42
    assert all(r.num_epochs == 40 and set(r.curve) == {"val_top1", "val_top5", "val_loss", "train_loss", "lr"}
               for r in records)
    assert {r.arch.num_classes for r in records} == {100} and {tuple(r.arch.input_shape) for r in records} == {(3, 64, 64)}
    ops = {layer.op for r in records for layer in r.arch.layers}
    assert {"concat", "add"} <= ops
    assert any(layer.attrs.get("groups", 1) > 1 for r in records for layer in r.arch.layers if layer.op == "conv")
    assert 0.03 < min(r.target for r in records) and max(r.target for r in records) < 0.83  # percent read as fractions
    assert sorted({r.hparams["optimizer=adamw"] for r in records}) == [0.0, 1.0]
    warmup = records[0].curve["lr"]
    assert np.all(np.isfinite(warmup)) and warmup[-1] < max(warmup)  # the schedule decays to its end

"""scripts/mobilenet_style_probe.py: the MobileNet-style benchmark with runs stopped early that README's blind probe
reads."""
from __future__ import annotations


def test_the_mobilenet_style_probe_is_the_file_readme_measured(blind_file):
    records = blind_file("mobilenet_style_probe", "d213e891")
    assert len(records) == 250 and sum(r.split == "test" for r in records) == 43
    assert sum(r.stopped_at is not None for r in records) == 52  # runs stopped early, read as such
    assert sum(r.target < 1 / r.arch.num_classes + 0.01 for r in records) == 9  # diverged: at chance
    assert all(set(r.curve) == {"val_error", "train_loss", "lr"} for r in records)
    assert {k.split("=")[0] for r in records for k in r.hparams} == {"optimizer", "weight_decay", "label_smoothing"}
    depthwise = [layer for layer in records[0].arch.layers if layer.attrs.get("groups", 1) > 1]
    assert depthwise and all(layer.attrs["groups"] == layer.in_shape[0] == layer.attrs["out_channels"]
                             for layer in depthwise)

"""scripts/nb101_style_probe.py: the NAS-Bench-101-style sparse-log benchmark README's blind probe reads."""
from __future__ import annotations

import pytest

from naapgnn.data.gaps import logged_epochs


def test_the_nb101_style_probe_is_the_file_readme_measured_and_logs_at_four_epochs(blind_file):
    records = blind_file("nb101_style_probe", "a5a6a463", target_scale="percent")
    assert len(records) == 300 and sum(r.split == "test" for r in records) == 60
    assert logged_epochs(records) == [4, 12, 36, 108]
    assert all(r.num_epochs == 108 and set(r.curve) == {"validation_accuracy", "train_loss", "lr"} for r in records)
    assert {k.split("=")[0] for r in records for k in r.hparams} == {"optimizer", "weight_decay"}
    diverged = [r for r in records if r.target < 0.2]
    assert len(diverged) == 9 and all(r.target == pytest.approx(r.curve["validation_accuracy"][-1] / 100)
                                      for r in records if r not in diverged)

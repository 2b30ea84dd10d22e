"""scripts/seed_repeated_probe.py: the seed-repeated VGG/ResNet benchmark README's blind probe reads."""
from __future__ import annotations

import numpy as np

from naapgnn.data.configurations import configuration_groups


def test_the_seed_repeated_probe_is_the_file_readme_measured(blind_file):
    records = blind_file("seed_repeated_probe", "f49cc85e")
    assert len(records) == 270 and sum(r.split == "test" for r in records) == 54
    groups = configuration_groups(records)  # two of the 90 drawn configurations came out the same
    assert len(np.unique(groups)) == 88 and all(r.hparams["seed"] in (0, 1, 2) for r in records)
    assert all(r.num_epochs == 150 and set(r.curve) == {"val_top1", "val_top5", "val_loss", "lr"} for r in records)
    assert sum(r.target == 0.01 for r in records) == 12  # 4 configurations diverged in every seed
    restarts = [e for e in range(1, 150) if records[0].curve["lr"][e] > records[0].curve["lr"][e - 1]]
    assert restarts == [10, 30, 70]

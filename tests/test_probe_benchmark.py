"""``scripts/probe_benchmark.py``: seeded files that naapgnn reads as its variant says."""
from __future__ import annotations

import json

import numpy as np
import pytest

from naapgnn.data.records import load_jsonl


@pytest.mark.parametrize("variant, channels, scale", [
    ("A", {"val_acc", "val_loss", "train_loss", "lr"}, "percent"),
    ("B", {"val_loss", "train_loss"}, "fraction"),
    ("C", {"val_error", "val_loss", "lr"}, "fraction"),
])
def test_each_variant_is_read_with_its_channels_and_60_epochs(tmp_path, variant, channels, scale, capsys,
                                                              load_script):
    out = tmp_path / f"{variant}.jsonl"
    assert load_script("probe_benchmark").main(["--records", "12", "--seed", "5", "--variant", variant, "-o", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}: 12 records, ")
    raw = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in raw] == [f"{variant}5-{i:03d}" for i in range(12)]
    assert all(set(r["curve"]) == channels and all(len(v) == 60 for v in r["curve"].values()) for r in raw)
    records = load_jsonl(out, target_scale=scale)
    assert len(records) == 12 and all(0 < r.target <= 1 for r in records)
    assert records[0].arch.num_classes == (100 if variant == "C" else 10)


def test_the_same_seed_writes_the_same_file_and_another_seed_another(tmp_path, load_script):
    script = load_script("probe_benchmark")
    paths = [tmp_path / name for name in ("a.jsonl", "b.jsonl", "c.jsonl")]
    for path, seed in zip(paths, (7, 7, 8)):
        script.main(["--records", "6", "--seed", str(seed), "--variant", "B", "-o", str(path)])
    assert paths[0].read_bytes() == paths[1].read_bytes() != paths[2].read_bytes()
    targets = [json.loads(line)["target"] for line in paths[2].read_text().splitlines()]
    assert np.all(np.isfinite(targets))

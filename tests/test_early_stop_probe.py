"""scripts/early_stop_probe.py: the small early-stopped benchmark README's third blind probe reads."""
from __future__ import annotations

import hashlib

import pytest

from naapgnn.data.records import load_benchmark
from naapgnn.errors import NaapgnnWarning


def test_the_early_stop_probe_is_the_file_readme_measured_and_reads_as_stopped_runs(tmp_path, load_script):
    path = tmp_path / "early_stop_probe.jsonl"
    assert load_script("early_stop_probe").main(["-o", str(path)]) == 0
    assert hashlib.sha256(path.read_bytes()).hexdigest().startswith("e4b42497")  # README's figures are of this file
    with pytest.warns(NaapgnnWarning, match=r"50 record\(s\) with a target end their curve before epoch 25"):
        records = load_benchmark(path)
    assert len(records) == 80 and sum(r.split == "test" for r in records) == 16
    assert sum(r.stopped_at is not None for r in records) == 50
    assert all(r.target == pytest.approx(max(r.curve["val_acc"])) for r in records)  # the best accuracy reached

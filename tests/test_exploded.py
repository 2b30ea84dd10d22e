"""Losses that exploded to huge finite values are read as a run diverged there (naapgnn.data.exploded)."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from naapgnn.data.exploded import EXPLODED_FACTOR, mark_exploded
from naapgnn.data.records import load_jsonl
from naapgnn.errors import NaapgnnWarning

SCHEME = [{"kernel_size": 3, "width": 8, "stride": 2, "residual": False}]
FALLING = [round(2.3 - 0.1 * e, 4) for e in range(8)]  # 2.3 ... 1.6


def _write(path, curves):
    path.write_text("".join(json.dumps({"id": f"n{i}", "arch": SCHEME, "curve": c, "target": 0.5 + 0.01 * i}) + "\n"
                            for i, c in enumerate(curves)))
    return path


def _read(path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = load_jsonl(path, **kwargs)
    return records, [str(w.message) for w in caught if issubclass(w.category, NaapgnnWarning)]


def test_a_loss_that_explodes_to_the_end_reads_as_a_diverged_run_at_the_files_worst_value(tmp_path):
    exploded = FALLING[:4] + [2.3e3, 7.1e6, 2.3e12, 9.9e15]
    path = _write(tmp_path / "a.jsonl", [{"val_loss": FALLING}, {"val_loss": exploded},
                                         {"val_loss": [v + 0.2 for v in FALLING]}])
    records, said = _read(path)
    # the worst finite value once the explosion is gone: the third run's first epoch, 2.5 (not 9.9e15)
    assert records[1].curve["val_loss"].tolist() == FALLING[:4] + [2.5] * 4
    assert records[1].non_finite["val_loss"].tolist() == [4, 5, 6, 7]
    assert records[0].curve["val_loss"].tolist() == FALLING and records[2].curve["val_loss"][0] == 2.5
    notice = [s for s in said if "exploded" in s]
    assert notice == [f"{path}: 1 record(s) logged a loss over 100 times their first value (first: line 2, "
                      "curve.val_loss[4]; up to 9.9e+15), read as exploded: from that epoch on as a non-finite "
                      "value, a diverged run if it never comes back"]
    assert any("stayed non-finite to the end, read as diverged runs" in s for s in said)


def test_a_spike_that_comes_back_reads_as_an_epoch_not_logged(tmp_path):
    spiked = FALLING[:3] + [5e4] + FALLING[4:]
    records, said = _read(_write(tmp_path / "b.jsonl", [{"val_loss": FALLING}, {"val_loss": spiked}]))
    assert records[1].curve["val_loss"].tolist() == FALLING[:3] + [FALLING[2]] + FALLING[4:]
    assert any("exploded" in s for s in said)


@pytest.mark.parametrize("channel, values", [
    ("val_loss", [0.5, 0.3, 0.2, 0.4, 1.5, 4.0, 30.0, 49.9]),  # overfitting: 99.8 times the first value at most
    ("val_acc", [0.001, 0.2, 0.5, 0.6, 0.7, 0.7, 0.7, 0.7]),   # an accuracy may grow any number of times
    ("top1_err", [0.001, 0.9, 0.5, 0.4, 0.3, 0.3, 0.3, 0.3]),  # an error rate is bounded: never read as exploded
])
def test_other_channels_and_a_loss_below_the_bar_are_read_as_logged(tmp_path, channel, values):
    records, said = _read(_write(tmp_path / "c.jsonl", [{channel: values}, {channel: values[::-1]}]))
    assert records[0].curve[channel].tolist() == values
    assert not [s for s in said if "exploded" in s]


def test_the_bar_is_relative_to_the_runs_own_first_positive_value():
    class Run:
        def __init__(self, values):
            self.curve = {"train_loss": np.array(values, dtype=float)}

    runs = [Run([np.nan, 0.0, 0.02, 0.01, 2.5]), Run([1e6, 5e7, 1e8 + 1]), Run([-1.0, -2.0, -3.0])]
    notice = mark_exploded(runs, "f", [1, 2, 3])
    # 2.5 > 100 x 0.02 (the first positive value; NaN and 0 are skipped); 1e8 + 1 > 100 x 1e6; negatives never
    assert np.isnan(runs[0].curve["train_loss"][4]) and runs[0].curve["train_loss"][3] == 0.01
    assert np.isnan(runs[1].curve["train_loss"][2]) and runs[1].curve["train_loss"][1] == 5e7
    assert runs[2].curve["train_loss"].tolist() == [-1.0, -2.0, -3.0]
    assert notice.startswith("f: 2 record(s) logged a loss over 100 times") and EXPLODED_FACTOR == 100


def test_an_explosion_after_the_epochs_a_checkpoint_reads_is_replaced_without_a_word(tmp_path):
    exploded = FALLING[:6] + [1e9, 1e10]
    path = _write(tmp_path / "d.jsonl", [{"val_loss": FALLING}, {"val_loss": exploded}])
    records, said = _read(path, read_epochs=5, diverged_values={"val_loss": 2.3})
    assert records[1].curve["val_loss"].tolist() == FALLING[:6] + [2.3, 2.3]
    assert not [s for s in said if "exploded" in s]

"""Losses that exploded to huge finite values are named in a warning and read as logged (naapgnn.data.exploded)."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from naapgnn.data.exploded import EXPLODED_FACTOR, exploded_epochs, exploded_notice
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


def test_a_loss_that_explodes_is_named_in_one_line_and_read_as_logged(tmp_path):
    exploded = FALLING[:4] + [2.3e3, 7.1e6, 2.3e12, 9.9e15]
    path = _write(tmp_path / "a.jsonl", [{"val_loss": FALLING}, {"val_loss": exploded},
                                         {"val_loss": [v + 0.2 for v in FALLING]}])
    records, said = _read(path)
    assert records[1].curve["val_loss"].tolist() == exploded and not records[1].non_finite
    assert said == [f"{path}: 1 record(s) logged a loss over 100 times their first value (first: line 2, "
                    "curve.val_loss[4]; up to 9.9e+15), read as logged; to read such a run as diverged, log NaN "
                    "(or null) from the epoch it diverged on"]


def test_a_run_diverged_to_nan_is_not_named_for_the_exploded_value_it_is_filled_with(tmp_path):
    diverged = FALLING[:3] + [None] * 5
    exploded = FALLING[:6] + [5e4, 5e5]
    records, said = _read(_write(tmp_path / "b.jsonl", [{"val_loss": diverged}, {"val_loss": exploded}]))
    assert records[0].curve["val_loss"][3:].tolist() == [5e5] * 5  # the file's worst finite value
    assert [s for s in said if "exploded" in s or "over 100 times" in s][0].startswith(
        f"{tmp_path / 'b.jsonl'}: 1 record(s) logged a loss over 100 times their first value (first: line 2, ")


@pytest.mark.parametrize("channel, values", [
    ("val_loss", [0.5, 0.3, 0.2, 0.4, 1.5, 4.0, 30.0, 49.9]),  # overfitting: 99.8 times the first value at most
    ("val_acc", [0.001, 0.2, 0.5, 0.6, 0.7, 0.7, 0.7, 0.7]),   # an accuracy may grow any number of times
    ("top1_err", [0.001, 0.9, 0.5, 0.4, 0.3, 0.3, 0.3, 0.3]),  # an error rate is bounded: never named
])
def test_other_channels_and_a_loss_below_the_bar_are_not_named(tmp_path, channel, values):
    records, said = _read(_write(tmp_path / "c.jsonl", [{channel: values}, {channel: values[::-1]}]))
    assert records[0].curve[channel].tolist() == values
    assert not [s for s in said if "over 100 times" in s]


def test_the_bar_is_relative_to_the_runs_own_first_positive_value():
    # 2.5 > 100 x 0.02 (the first positive value; NaN and 0 are skipped); 1e8 + 1 > 100 x 1e6; negatives never
    assert exploded_epochs(np.array([np.nan, 0.0, 0.02, 0.01, 2.5])).tolist() == [False] * 4 + [True]
    assert exploded_epochs(np.array([1e6, 5e7, 1e8, 1e8 + 1])).tolist() == [False] * 3 + [True]
    assert not exploded_epochs(np.array([-1.0, -2.0, -300.0])).any() and EXPLODED_FACTOR == 100


def test_an_explosion_after_the_epochs_a_checkpoint_reads_is_no_news():
    class Run:
        curve = {"val_loss": np.array(FALLING[:6] + [1e9, 1e10])}

    assert exploded_notice([Run()], "f", [7], read_epochs=6) is None
    assert exploded_notice([Run()], "f", [7], read_epochs=7).startswith("f: 1 record(s) logged a loss over 100 times "
                                                                         "their first value (first: line 7, "
                                                                         "curve.val_loss[6]; up to 1e+09)")

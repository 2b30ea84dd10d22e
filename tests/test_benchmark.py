"""Benchmark records: NAAP-440 conversion, JSON Lines round trip and errors, dispatch, splits."""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from naapgnn.arch.format import load_architecture, parse_architecture
from naapgnn.data.records import (
    Record,
    load_benchmark,
    load_jsonl,
    records_from_naap440,
    split_records,
    write_jsonl,
)
from naapgnn.data.naap440 import load_naap440
from naapgnn.errors import NaapgnnError, NaapgnnWarning

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NAAPGNN_DATA", "../shared/data/naap440"))
DATA = DATA if DATA.is_absolute() else (REPO / DATA).resolve()

SCHEME = [
    {"kernel_size": 3, "width": 16, "stride": 1, "residual": False},
    {"kernel_size": 3, "width": 16, "stride": 1, "residual": True},
]
GRAPH = {
    "input_shape": [3, 32, 32],
    "num_classes": 10,
    "layers": [
        {"op": "conv", "out_channels": 16, "kernel_size": 3},
        {"op": "maxpool", "kernel_size": 2},
        {"op": "conv", "out_channels": 16, "kernel_size": 3},
        {"op": "add", "inputs": [1, 2]},
        {"op": "dropout", "p": 0.25},
        {"op": "gap"},
        {"op": "linear", "out_features": 10},
    ],
}


@pytest.fixture(scope="module")
def df():
    return load_naap440(DATA)


@pytest.fixture(scope="module")
def naap_records(df):
    return records_from_naap440(df)


def _write(path: Path, lines) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


# --- NAAP-440 ------------------------------------------------------------------------


def test_records_from_naap440(df, naap_records):
    assert len(naap_records) == 440
    assert [r.id for r in naap_records] == [str(i) for i in range(1, 441)]
    assert sum(r.split == "test" for r in naap_records) == 40
    assert {r.split for r in naap_records} == {"train", "test"}
    row = df.iloc[16]
    rec = naap_records[16]
    assert rec.target == row["MaxAccuracy"]
    assert rec.num_epochs == 90 and rec.hparams == {}
    for channel, metric in [("accuracy", "Accuracy"), ("loss_mean", "LossMean"), ("loss_median", "LossMedian")]:
        assert rec.curve[channel].shape == (90,)
        assert rec.curve[channel][0] == row[f"e1{metric}"] and rec.curve[channel][89] == row[f"e90{metric}"]
    assert rec.arch == parse_architecture(row["scheme"]) and rec.arch.scheme == row["scheme"]
    # MaxAccuracy is the best epoch accuracy, for every record.
    assert all(r.curve["accuracy"].max() == r.target for r in naap_records)


# --- JSON Lines ------------------------------------------------------------------------


def test_round_trip(tmp_path, naap_records):
    own = [
        Record("graph-a", parse_architecture(GRAPH), {"accuracy": np.array([0.3, 0.41, 0.5])},
               {"lr": 0.001, "batch_size": 128.0}, None, None),
        Record("scheme-b", parse_architecture(SCHEME), {}, {"lr": 0.01, "batch_size": 64.0}, 0.587, "test"),
    ]
    hparams = {"lr": 0.1, "batch_size": 128.0}  # every record of a file gives the same hyperparameters
    records = [Record(r.id, r.arch, r.curve, hparams, r.target, r.split) for r in naap_records[:5]] + own
    write_jsonl(records, tmp_path / "bench.jsonl")
    back = load_jsonl(tmp_path / "bench.jsonl")
    assert back == records
    assert back[5].curve["accuracy"].dtype == np.float64 and back[5].target is None
    assert back[0].arch.scheme == naap_records[0].arch.scheme  # schemes stay schemes
    assert [p.name for p in tmp_path.iterdir()] == ["bench.jsonl"]  # no temporary file left
    write_jsonl(own, tmp_path / "bench.jsonl")  # replaces the file
    assert load_jsonl(tmp_path / "bench.jsonl") == own


def test_record_equality_notices_differences(naap_records):
    a = naap_records[0]
    b = Record(a.id, a.arch, {k: v.copy() for k, v in a.curve.items()}, {}, a.target, a.split)
    assert a == b
    b.curve["accuracy"][3] += 1e-9
    assert a != b
    assert a != Record(a.id, a.arch, a.curve, {}, a.target, "test" if a.split == "train" else "train")


def test_optional_fields(tmp_path):
    path = _write(tmp_path / "b.jsonl", [
        "",
        {"id": 7, "arch": SCHEME},
        "   ",
        {"id": "g", "arch": GRAPH, "curve": {"loss_mean": [2.1, 1.7]}, "target": 0.6},
        {"id": "e", "arch": SCHEME, "curve": {"accuracy": []}, "split": None},
    ])
    a, g, e = load_jsonl(path)
    assert (a.id, a.curve, a.hparams, a.target, a.split, a.num_epochs) == ("7", {}, {}, None, None, 0)
    assert list(g.curve) == ["loss_mean"] and g.num_epochs == 2 and g.target == 0.6
    assert e.num_epochs == 0 and e.split is None
    assert [r.id for r in split_records([a, g, e], "train")] == ["7", "g", "e"]


def test_invalid_records_reported_by_line(tmp_path):
    bad_arch = dict(GRAPH, layers=[GRAPH["layers"][0], {"op": "conv2", "out_channels": 8}])
    path = _write(tmp_path / "bench.jsonl", [
        {"id": "ok1", "arch": SCHEME},
        "",
        {"id": "ok2", "arch": GRAPH},
        "",
        "",
        "",
        {"id": "x", "arch": bad_arch},  # line 7
        {"id": "ok3", "arch": SCHEME},
        '{"id": "y", "arch": ',  # line 9
        {"id": "ok3", "arch": SCHEME},  # line 10: duplicate id
        {"id": "z", "arch": SCHEME, "curve": {"1acc": [0.1]}},  # line 11
    ])
    with pytest.raises(NaapgnnError) as info:
        load_jsonl(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path} line 7: arch: layer 1: unknown op 'conv2'")
    assert message.endswith("; and 3 more invalid records (lines 9, 10, 11)")


def test_every_record_needs_the_same_hparams(tmp_path):
    path = _write(tmp_path / "bench.jsonl", [
        {"id": "a", "arch": SCHEME, "hparams": {"lr": 0.1, "ss": 30}},
        {"id": "b", "arch": SCHEME, "hparams": {"lr": 0.1, "ss": 30}},
        {"id": "c", "arch": SCHEME, "hparams": {"lr": 0.1}},  # line 3
        {"id": "d", "arch": SCHEME, "hparams": {"lr": 0.1, "ss": 30, "wd": 1e-4}},  # line 4
    ])
    with pytest.raises(NaapgnnError) as info:
        load_jsonl(path)
    assert str(info.value) == (f"{path} line 3: hparams: lacks 'ss' against line 1 (2 of 4 records give those names; "
                               "every record needs the same hparams); and 1 more invalid record (line 4)")


def test_the_record_whose_hparams_differ_from_most_is_named_even_on_line_1(tmp_path):
    odd = {"id": "a", "arch": SCHEME, "hparams": {"lr": 0.1, "wd": 1e-4}}
    path = _write(tmp_path / "b.jsonl", [odd] + [{"id": f"n{i}", "arch": SCHEME, "hparams": {"lr": 0.1}}
                                                 for i in range(4)])
    with pytest.raises(NaapgnnError) as info:
        load_jsonl(path)
    assert str(info.value) == (f"{path} line 1: hparams: adds 'wd' against line 2 (4 of 5 records give those names; "
                               "every record needs the same hparams)")


def test_a_target_in_percent_among_fractions_is_refused_as_mixed_units_in_either_scale(tmp_path):
    rows = [{"id": f"n{i}", "arch": SCHEME, "target": 0.5 + i / 100} for i in range(5)]
    path = _write(tmp_path / "b.jsonl", rows[:3] + [{**rows[3], "target": 73.5}] + rows[4:])
    with pytest.raises(NaapgnnError) as info:
        load_jsonl(path)
    assert str(info.value) == (f"{path}: target: mixed units: line 4 (73.5) above 1 (percentages?) while 4 of 5 "
                               "records give fractions; give every target in the same unit")
    with pytest.warns(NaapgnnWarning, match=r"b.jsonl: target: 4 of 5 records give at most 1, read as at most 1 % "
                                            r"under --target-scale percent, while line 4 \(73.5\) gives more"):
        assert load_benchmark(path, target_scale="percent")[3].target == pytest.approx(0.735)
    # with curves in fractions, the targets' warning alone: the curves only look off against targets misread
    curves = [{**r, "curve": {"val_acc": [0.3, 0.5 + i / 100]}} for i, r in enumerate(rows)]
    path = _write(tmp_path / "c.jsonl", curves[:3] + [{**curves[3], "target": 73.5}] + curves[4:])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_benchmark(path, target_scale="percent")
    said = [str(w.message) for w in caught if issubclass(w.category, NaapgnnWarning)]
    assert len(said) == 1 and "target: 4 of 5 records give at most 1" in said[0]


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"arch": SCHEME}, "missing field 'id'"),
        ({"id": "a"}, "missing field 'arch'"),
        ({"id": True, "arch": SCHEME}, "id: expected a non-empty string or an integer"),
        ({"id": "a", "arch": SCHEME, "targte": 0.5}, "unknown field 'targte'"),
        ({"id": "a", "arch": SCHEME, "seed": 1, "dataset": "c10", "train_time_s": 9.5},
         "unknown fields 'dataset', 'seed', 'train_time_s' (expected id, arch, curve, hparams, target, split)"),
        ({"id": "a", "arch": []}, "arch: empty network"),
        ({"id": "a", "arch": [dict(SCHEME[0], width=-4)]}, "arch: block 0: "),
        ({"id": "a", "arch": SCHEME, "curve": {"accuracy": [0.1, "0.2"]}},
         "curve.accuracy[1] (epoch 2): expected a finite number, got '0.2'"),
        ({"id": "a", "arch": SCHEME, "curve": {"accuracy": 0.1}}, "curve.accuracy: expected a list"),
        ({"id": "a", "arch": SCHEME, "curve": {"train acc": [1.0]}},
         "curve: channel name 'train acc': expected a letter or _ followed by letters, digits or _ . / : -"),
        ({"id": "a", "arch": SCHEME, "curve": {"": [1.0]}}, "curve: channel name '': expected a letter"),
        ({"id": "a", "arch": SCHEME, "curve": {"lr": [0.1, 0.1], "loss": [2.0]}},
         "curve: channels differ in length (lr 2, loss 1 epochs)"),
        ({"id": "a", "arch": SCHEME, "target": 60.0},
         "target: 60.0 is outside [0, 1]; accuracies in percent? use --target-scale percent"),
        ({"id": "a", "arch": SCHEME, "target": -0.3}, "target: -0.3 is outside [0, 1]"),
        ({"id": "a", "arch": SCHEME, "hparams": {"n": 10 ** 30}}, "hparams.n: integer of 31 digits is too large"),
        ({"id": "a", "arch": SCHEME, "curve": {"accuracy": [0.1, 0.2], "loss_mean": [2.0]}},
         "curve: channels differ in length (accuracy 2, loss_mean 1 epochs)"),
        ({"id": "a", "arch": SCHEME, "hparams": {"lr": {"peak": 0.1}}},
         "hparams.lr: expected a number, string, boolean or null, got {'peak': 0.1}"),
        ({"id": "a", "arch": SCHEME, "hparams": {"lr=x": 1}}, "hparams: name 'lr=x' holds '='"),
        ({"id": "a", "arch": SCHEME, "hparams": {"lr": 1e39}},
         "hparams.lr: 1e+39 is beyond what the models read (|value| <= 1e+30)"),
        ({"id": "a", "arch": SCHEME, "curve": {"loss": [2.0, -1e300]}},
         "curve.loss[1] (epoch 2): -1e+300 is beyond what the models read"),
        ({"id": "a", "arch": SCHEME, "hparams": [0.1]}, "hparams: expected an object of numbers"),
        ({"id": "a", "arch": SCHEME, "target": "0.5"}, "target: expected a finite number, got '0.5'"),
        ({"id": "a", "arch": SCHEME, "split": "val"}, "split: expected \"train\" or \"test\", got 'val'"),
        ([1, 2], "expected a JSON object, got a list"),
    ],
)
def test_field_errors(tmp_path, record, expected):
    path = _write(tmp_path / "b.jsonl", [{"id": "fine", "arch": SCHEME}, record])
    with pytest.raises(NaapgnnError) as info:
        load_jsonl(path)
    assert str(info.value).startswith(f"{path} line 2: {expected}")


def test_any_named_curve_channel_is_read(tmp_path):
    curve = {"accuracy": [0.4, 0.5], "loss": [2.0, 1.5], "train_accuracy": [0.45, 0.6], "lr": [0.1, 0.05]}
    path = _write(tmp_path / "b.jsonl", [{"id": "a", "arch": SCHEME, "curve": curve, "target": 0.6}])
    (record,) = load_jsonl(path)
    assert {k: v.tolist() for k, v in record.curve.items()} == curve and record.num_epochs == 2
    assert record.to_dict()["curve"] == curve


def test_target_scale_percent_divides_by_100(tmp_path):
    path = _write(tmp_path / "b.jsonl", [{"id": "a", "arch": SCHEME, "target": 60.0},
                                         {"id": "b", "arch": SCHEME, "target": 100}])
    assert [r.target for r in load_benchmark(path, target_scale="percent")] == [0.6, 1.0]
    with pytest.raises(NaapgnnError, match=r"line 1: target: 60.0 is outside \[0, 1\]; .*--target-scale percent"):
        load_benchmark(path)
    over = _write(tmp_path / "c.jsonl", [{"id": "a", "arch": SCHEME, "target": 160.0}])
    with pytest.raises(NaapgnnError, match=r"c.jsonl line 1: target: 160.0 is outside \[0, 100\]$"):
        load_benchmark(over, target_scale="percent")
    with pytest.raises(NaapgnnError, match="target scale must be fraction or percent, got 'permille'"):
        load_benchmark(path, target_scale="permille")


def test_an_arch_given_as_a_word_is_named_as_a_string_and_json_text_still_reads(tmp_path):
    path = _write(tmp_path / "b.jsonl", [{"id": "a", "arch": json.dumps(SCHEME)}, {"id": "b", "arch": "resnet"}])
    with pytest.raises(NaapgnnError, match=r"b.jsonl line 2: arch: expected a scheme list or a layer-graph object, "
                                           r"got a string$"):
        load_jsonl(path)
    assert load_jsonl(_write(path, [{"id": "a", "arch": json.dumps(SCHEME)}]))[0].arch == parse_architecture(SCHEME)


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_a_utf8_byte_order_mark_is_read_past(suffix, tmp_path):
    path = tmp_path / f"b{suffix}"
    lines = [{"id": "a", "arch": SCHEME, "target": 0.5}, {"id": "b", "arch": SCHEME, "target": 0.6}]
    path.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(x) + "\n" for x in lines).encode())
    assert [r.to_dict() for r in load_benchmark(path)] == lines
    arch = tmp_path / "arch.json"
    arch.write_bytes(b"\xef\xbb\xbf" + json.dumps(SCHEME).encode())
    assert load_architecture(arch) == parse_architecture(SCHEME)


def test_target_scale_percent_on_fractions_is_warned_of(tmp_path, capsys):
    path = _write(tmp_path / "b.jsonl", [{"id": "a", "arch": SCHEME, "target": 0.6},
                                         {"id": "b", "arch": SCHEME, "target": 0.55}])
    with pytest.warns(NaapgnnWarning, match=r"b.jsonl: every target is below 0.01 once --target-scale percent "
                                            r"divides it by 100 \(the highest 0.6 as written\): fractions already\? "
                                            r"then drop --target-scale percent$"):
        assert [r.target for r in load_benchmark(path, target_scale="percent")] == pytest.approx([0.006, 0.0055])
    near_chance = _write(tmp_path / "c.jsonl", [{"id": "a", "arch": SCHEME, "target": 0.6},
                                                {"id": "b", "arch": SCHEME, "target": 1.5}])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_benchmark(near_chance, target_scale="percent")  # one target at 1.5 %: percentages
        load_benchmark(path)
        load_benchmark(_write(tmp_path / "d.jsonl", [{"id": "a", "arch": SCHEME}]), target_scale="percent")


def test_nan_and_empty_file(tmp_path):
    path = tmp_path / "nan.jsonl"
    path.write_text('{"id": "a", "arch": %s, "target": NaN}\n' % json.dumps(SCHEME))
    with pytest.raises(NaapgnnError, match=r"line 1: target: expected a finite number, got NaN"):
        load_jsonl(path)
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(NaapgnnError, match="no records"):
        load_jsonl(tmp_path / "empty.jsonl")


# --- dispatch and splits ---------------------------------------------------------------


def test_load_benchmark_dispatch(tmp_path, naap_records):
    assert load_benchmark(DATA) == naap_records
    assert len(load_benchmark(DATA / "naap440v2.csv")) == 440
    jsonl = _write(tmp_path / "b.jsonl", [{"id": 1, "arch": SCHEME, "target": 0.5}])
    assert [r.id for r in load_benchmark(jsonl)] == ["1"]
    arch_file = tmp_path / "resnet_like.json"
    arch_file.write_text(json.dumps(GRAPH, indent=2))
    (only,) = load_benchmark(arch_file)
    assert only.id == "resnet_like" and only.arch == parse_architecture(GRAPH) and only.target is None
    one_record = tmp_path / "one.json"
    one_record.write_text(json.dumps({"id": "r", "arch": SCHEME, "split": "test"}, indent=2))
    assert [(r.id, r.split) for r in load_benchmark(one_record)] == [("r", "test")]
    lines_json = _write(tmp_path / "lines.json", [{"id": 1, "arch": SCHEME}, {"id": 2, "arch": GRAPH}])
    assert [r.id for r in load_benchmark(lines_json)] == ["1", "2"]


def test_load_benchmark_errors(tmp_path):
    with pytest.raises(NaapgnnError, match="no such file or directory"):
        load_benchmark(tmp_path / "missing.jsonl")
    (tmp_path / "b.txt").write_text("x")
    with pytest.raises(NaapgnnError, match="unknown benchmark format"):
        load_benchmark(tmp_path / "b.txt")
    bad = tmp_path / "bad.json"
    bad.write_text('{"layers": [{"op": "gap"}]')
    with pytest.raises(NaapgnnError, match=r"bad.json: invalid JSON at line 1 column"):
        load_benchmark(bad)
    bad.write_text(json.dumps({"layers": [{"op": "maxpool", "kernel_size": 64}]}))
    with pytest.raises(NaapgnnError, match=r"bad.json: layer 0: maxpool .* shrinks"):
        load_benchmark(bad)


def test_split_records(naap_records):
    assert len(split_records(naap_records, "train")) == 400
    assert len(split_records(naap_records, "test")) == 40
    assert len(split_records(naap_records, "all")) == 440
    assert all(r.split == "test" for r in split_records(naap_records, "test"))
    with pytest.raises(NaapgnnError, match="unknown split 'val'"):
        split_records(naap_records, "val")

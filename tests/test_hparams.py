"""Hyperparameters as numbers, booleans and categories (naapgnn.data.hparams) through records and predictors."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from baselines.baker import BakerPredictor
from naapgnn.data.hparams import complete_categories, hparam_value, hparams_to_json, parse_hparams
from naapgnn.data.records import load_jsonl, write_jsonl
from naapgnn.errors import NaapgnnError, NaapgnnWarning
from naapgnn.models.gnn import GNNPredictor

TINY = dict(hidden=16, layers=2, max_epochs=30, patience=10, n_ensemble=2, forest_trees=30)


def _line(i, width, optimizer, nesterov=True, target=None):
    scheme = [{"kernel_size": 3, "width": width, "stride": 2, "residual": False},
              {"kernel_size": 3, "width": 2 * width, "stride": 2, "residual": False}]
    out = {"id": f"n{i}", "arch": scheme, "hparams": {"lr": 0.1, "optimizer": optimizer, "nesterov": nesterov}}
    if target is not None:
        out["target"] = target
    return json.dumps(out)


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_numbers_booleans_and_categories_parse():
    assert parse_hparams({"lr": 0.1, "nesterov": True, "bn": False, "optimizer": "adam"}) == {
        "lr": 0.1, "nesterov": 1.0, "bn": 0.0, "optimizer=adam": 1.0}
    assert parse_hparams(None) == {}


@pytest.mark.parametrize("hparams, message", [
    ({"a=b": 1}, "hparams: name 'a=b' holds '='"),
    ({"optimizer": ""}, "hparams.optimizer: expected a number or a non-empty category"),
    ({"lr": [0.1]}, "hparams.lr: expected a number, string, boolean or null, got [0.1]"),
    ({"sched": {"type": "cos"}}, "hparams.sched: expected a number, string, boolean or null, got {'type': 'cos'}"),
    ({"lr": float("nan")}, "hparams.lr: expected a finite number, got NaN"),
    ([0.1], "hparams: expected an object"),
])
def test_invalid_hyperparameters_are_named(hparams, message):
    with pytest.raises(NaapgnnError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_hparams(hparams)


def test_a_file_gives_every_record_every_category_of_its_names(tmp_path):
    path = _write(tmp_path / "b.jsonl", [_line(0, 8, "sgd"), _line(1, 16, "adam", False), _line(2, 8, "rmsprop")])
    records = load_jsonl(path)
    assert [r.hparams for r in records] == [
        {"lr": 0.1, "nesterov": 1.0, "optimizer=sgd": 1.0, "optimizer=adam": 0.0, "optimizer=rmsprop": 0.0},
        {"lr": 0.1, "nesterov": 0.0, "optimizer=sgd": 0.0, "optimizer=adam": 1.0, "optimizer=rmsprop": 0.0},
        {"lr": 0.1, "nesterov": 1.0, "optimizer=sgd": 0.0, "optimizer=adam": 0.0, "optimizer=rmsprop": 1.0}]


def test_records_round_trip_with_their_categories(tmp_path):
    records = load_jsonl(_write(tmp_path / "b.jsonl", [_line(0, 8, "sgd"), _line(1, 16, "adam")]))
    assert records[1].to_dict()["hparams"] == {"lr": 0.1, "nesterov": 1.0, "optimizer": "adam"}
    write_jsonl(records, tmp_path / "again.jsonl")
    assert [r.hparams for r in load_jsonl(tmp_path / "again.jsonl")] == [r.hparams for r in records]


def test_numbers_written_as_strings_read_as_numbers_with_a_warning(tmp_path):
    arch = json.loads(_line(0, 8, "sgd"))["arch"]
    lines = [json.dumps({"id": f"n{i}", "arch": arch, "hparams": hp}) for i, hp in enumerate([
        {"lr": "0.01", "wd": "1e-4", "batch": 64, "optimizer": "sgd", "warmup": "auto"},
        {"lr": "0.1", "wd": 5e-4, "batch": "128", "optimizer": "adam", "warmup": "5"}])]
    with pytest.warns(NaapgnnWarning, match=r'b.jsonl: hparams batch, lr, wd: numbers written as strings '
                                            r'\("128" on line 2, "0.01" on line 1, "1e-4" on line 1\), read as numbers$'):
        records = load_jsonl(_write(tmp_path / "b.jsonl", lines))
    assert records[0].hparams == {"lr": 0.01, "wd": 1e-4, "batch": 64.0, "optimizer=sgd": 1.0, "optimizer=adam": 0.0,
                                  "warmup=auto": 1.0, "warmup=5": 0.0}  # "auto" is no number: warmup stays a category
    assert records[1].hparams["lr"] == 0.1 and records[1].hparams["batch"] == 128.0 and records[1].hparams["wd"] == 5e-4


def test_a_record_without_a_name_the_others_give_is_refused_by_line(tmp_path):
    lines = [_line(0, 8, "sgd"), json.dumps({"id": "n1", "arch": json.loads(_line(1, 8, "sgd"))["arch"],
                                             "hparams": {"lr": 0.1, "nesterov": True}})]
    with pytest.raises(NaapgnnError, match=r"b.jsonl line 2: hparams: lacks 'optimizer' against line 1"):
        load_jsonl(_write(tmp_path / "b.jsonl", lines))


def test_an_indicator_a_record_lacks_reads_zero_beside_its_own_value_and_nan_without_it():
    given = {"lr": 0.1, "optimizer=adam": 1.0}
    assert hparam_value(given, "optimizer=sgd") == 0.0 and hparam_value(given, "optimizer=adam") == 1.0
    assert math.isnan(hparam_value(given, "wd")) and math.isnan(hparam_value({"lr": 0.1}, "optimizer=sgd"))
    completed = [dict(given), {"optimizer=sgd": 1.0}, {"lr": 0.2}]
    complete_categories(completed)
    assert completed == [{"lr": 0.1, "optimizer=adam": 1.0, "optimizer=sgd": 0.0},
                         {"optimizer=sgd": 1.0, "optimizer=adam": 0.0}, {"lr": 0.2}]
    assert hparams_to_json(completed[1]) == {"optimizer": "sgd"}


@pytest.fixture(scope="module")
def optimizer_benchmark(tmp_path_factory):
    """Targets 0.1 higher with Adam than with SGD, whatever the width."""
    rng = np.random.default_rng(0)
    lines = []
    for i in range(80):
        width, optimizer = int(rng.choice([8, 16, 24, 32])), str(rng.choice(["sgd", "adam"]))
        lines.append(_line(i, width, optimizer, target=0.4 + 0.004 * width + 0.1 * (optimizer == "adam")))
    folder = tmp_path_factory.mktemp("opt")
    train = load_jsonl(_write(folder / "train.jsonl", lines))
    widths = (8, 16, 24, 32)
    adam_only = load_jsonl(_write(folder / "adam.jsonl", [_line(i, w, "adam") for i, w in enumerate(widths)]))
    sgd_only = load_jsonl(_write(folder / "sgd.jsonl", [_line(i, w, "sgd") for i, w in enumerate(widths)]))
    return train, adam_only, sgd_only


@pytest.mark.parametrize("make", [lambda: GNNPredictor(budget=0, **TINY), lambda: BakerPredictor(budget=0)])
def test_predictors_read_a_one_category_file_as_the_training_data_coded_it(optimizer_benchmark, make):
    train, adam_only, sgd_only = optimizer_benchmark
    model = make().fit(train, np.array([r.target for r in train]))
    gain = model.predict(adam_only) - model.predict(sgd_only)
    assert np.all(gain > 0.05), gain  # read as the training mean, the indicators would blur the two


def test_an_unseen_category_is_reported_outside_the_training_domain(optimizer_benchmark, tmp_path):
    train, _, _ = optimizer_benchmark
    model = GNNPredictor(budget=0, **TINY).fit(train, np.array([r.target for r in train]))
    unseen = load_jsonl(_write(tmp_path / "rms.jsonl", [_line(0, 8, "rmsprop"), _line(1, 8, "sgd")]))
    in_domain, reasons = model.domain_report(unseen)
    assert list(in_domain) == [False, True]
    assert reasons[0] == "hparam 'optimizer=rmsprop' not read (not in the training data)"
    extra = json.loads(_line(0, 8, "sgd"))
    extra["hparams"]["wd"] = 0  # a numeric hyperparameter the model never saw, whatever its value
    (record,) = load_jsonl(_write(tmp_path / "wd.jsonl", [json.dumps(extra)]))
    in_domain, reasons = model.domain_report([record])
    assert not in_domain[0] and reasons[0] == "hparam 'wd' not read (not in the training data)"


def _conditional(i, width, optimizer, target=None):
    """SGD runs give a momentum and a schedule, Adam runs give both as null (they do not apply)."""
    line = json.loads(_line(i, width, optimizer, target=target))
    sgd = optimizer == "sgd"
    line["hparams"].update(momentum=0.9 if sgd else None, schedule=("cosine" if i % 2 else "step") if sgd else None)
    return json.dumps(line)


def test_a_null_hyperparameter_does_not_apply_and_round_trips(tmp_path):
    assert math.isnan(parse_hparams({"momentum": None})["momentum"])
    path = _write(tmp_path / "b.jsonl", [_conditional(0, 8, "sgd"), _conditional(1, 8, "sgd"), _conditional(2, 8, "adam")])
    records = load_jsonl(path)
    adam = records[2].hparams
    assert math.isnan(adam["momentum"]) and adam["schedule=cosine"] == adam["schedule=step"] == 0.0
    assert "schedule" not in adam  # a category given as null: every indicator 0
    assert records[2].to_dict()["hparams"] == {"lr": 0.1, "optimizer": "adam", "nesterov": 1.0, "momentum": None,
                                               "schedule": None}
    assert records[1].to_dict()["hparams"]["schedule"] == "cosine"
    write_jsonl(records, tmp_path / "again.jsonl")
    assert load_jsonl(tmp_path / "again.jsonl") == records


@pytest.mark.parametrize("make", [lambda: GNNPredictor(budget=0, **TINY), lambda: BakerPredictor(budget=0)])
def test_predictors_read_a_null_hyperparameter_beside_the_runs_it_applies_to(tmp_path, make):
    rng = np.random.default_rng(1)
    lines = []
    for i in range(60):
        width, optimizer = int(rng.choice([8, 16, 24, 32])), str(rng.choice(["sgd", "adam"]))
        lines.append(_conditional(i, width, optimizer, target=0.4 + 0.004 * width + 0.1 * (optimizer == "adam")))
    train = load_jsonl(_write(tmp_path / "train.jsonl", lines))
    model = make().fit(train)
    adam = load_jsonl(_write(tmp_path / "adam.jsonl", [_conditional(i, w, "adam") for i, w in enumerate((8, 32))]))
    sgd = load_jsonl(_write(tmp_path / "sgd.jsonl", [_conditional(i, w, "sgd") for i, w in enumerate((8, 32))]))
    gain = model.predict(adam) - model.predict(sgd)
    assert np.all(gain > 0.05), gain
    if isinstance(model, GNNPredictor):
        assert model.domain_report(adam)[0].all(), model.domain_report(adam)[1]  # training had nulls there
        sgd_trained = make().fit([r for r in train if "momentum" in r.hparams and r.hparams["momentum"] == 0.9])
        in_domain, reasons = sgd_trained.domain_report(adam[:1])
        assert not in_domain[0] and "hparam 'momentum', 'schedule' null, never in training " \
            "(read as the training mean)" in reasons[0]


def test_messages_show_values_as_the_file_wrote_them():
    """``null`` and ``true`` as in the file, not Python's ``None`` and ``True`` (an audit of this stop)."""
    from naapgnn.arch.ops import positive_int
    from naapgnn.data.hparams import finite_number
    from naapgnn.errors import as_written

    assert [as_written(v) for v in (None, True, False, float("nan"), float("-inf"), "0.3", 2)] == [
        "null", "true", "false", "NaN", "-Infinity", "'0.3'", "2"]
    with pytest.raises(NaapgnnError, match=r"^layer 0: stride must be a positive integer, got null$"):
        positive_int(None, "layer 0: stride")
    with pytest.raises(NaapgnnError, match=r"^curve.acc\[0\] \(epoch 1\): expected a finite number, got true$"):
        finite_number(True, "curve.acc[0] (epoch 1)")


def test_categories_that_differ_only_in_case_are_named_in_one_warning(tmp_path):
    lines = [_line(i, 8 + i, "sgd") for i in range(4)]
    lines += [_line(4, 20, "SGD"), _line(5, 24, " sgd"), _line(6, 9, "adam")]
    with pytest.warns(NaapgnnWarning) as caught:
        records = load_jsonl(_write(tmp_path / "b.jsonl", lines))
    said = [str(w.message) for w in caught if "differ only in case" in str(w.message)]
    assert said == [f"{tmp_path / 'b.jsonl'}: hparams optimizer: 'sgd' (4 record(s), first line 1), 'SGD' (1 "
                    "record(s), first line 5), ' sgd' (1 record(s), first line 6): values that differ only in case or "
                    "spaces, read as different categories (write each one way)"]
    assert records[4].hparams["optimizer=SGD"] == 1 and records[4].hparams["optimizer=sgd"] == 0  # read as written
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_jsonl(_write(tmp_path / "c.jsonl", [_line(i, 8 + i, "sgd" if i % 2 else "adam") for i in range(4)]))

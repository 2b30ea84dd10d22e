"""Audit fixes for hyperparameters: a model reads number-like categories its own way, the number-string warning
shows the file's values, a hyperparameter null in every training record is left out cleanly, and ``naapgnn train``
names the line of a training record without a target."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from baselines.baker import BakerPredictor
from naapgnn.cli import main
from naapgnn.data.hparams import read_as
from naapgnn.data.records import load_benchmark, load_jsonl
from naapgnn.errors import NaapgnnError, NaapgnnWarning
from naapgnn.features.hparams import hparam_input_names, training_mean
from naapgnn.models.gnn import GNNPredictor

TINY = dict(hidden=16, layers=2, max_epochs=30, patience=10, n_ensemble=2, forest_trees=30)
BATCHES = ("64", "128", "auto")


def _line(i, width, hparams, target=None, split=None):
    scheme = [{"kernel_size": 3, "width": width, "stride": 2, "residual": False},
              {"kernel_size": 3, "width": 2 * width, "stride": 2, "residual": False}]
    out = {"id": f"n{i}", "arch": scheme, "hparams": hparams}
    if target is not None:
        out["target"] = target
    if split is not None:
        out["split"] = split
    return json.dumps(out)


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def _batch_lines(batches, n=60):
    """Targets depend on the width and on the batch size, ``"auto"`` the best."""
    gain = {"64": 0.0, "128": 0.05, "auto": 0.1}
    return [_line(i, 8 * (1 + i % 4), {"lr": 0.1, "bs": batches[i % len(batches)]},
                  target=0.3 + 0.01 * (i % 4) + gain[batches[i % len(batches)]]) for i in range(n)]


# --- reading a record the model's way ---------------------------------------------------------


def test_read_as_turns_a_number_into_the_models_category_and_back():
    cats = ["bs=128", "bs=64", "bs=auto", "lr"]
    assert read_as({"bs": 64.0, "lr": 0.1}, cats) == {"bs=64": 1.0, "lr": 0.1}
    assert read_as({"bs": 32.0, "lr": 0.1}, cats) == {"bs=32": 1.0, "lr": 0.1}  # a category never seen
    null = read_as({"bs": math.nan, "lr": 0.1}, cats)
    assert null.keys() == {"bs", "lr"} and math.isnan(null["bs"])  # a null stays a null
    numbers = ["bs", "lr"]
    assert read_as({"bs=64": 1.0, "bs=auto": 0.0, "lr": 0.1}, numbers) == {"bs": 64.0, "lr": 0.1}
    auto = {"bs=auto": 1.0, "bs=64": 0.0, "lr": 0.1}
    assert read_as(auto, numbers) == auto  # no number: the model misses bs, and never saw bs=auto
    none = read_as({"bs=auto": 0.0, "bs=64": 0.0}, numbers)
    assert list(none) == ["bs"] and math.isnan(none["bs"])
    same = {"bs=64": 1.0, "bs=auto": 0.0, "lr": 0.1}
    assert read_as(same, cats) == same


@pytest.fixture(scope="module")
def batch_benchmark(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bs")
    full = _batch_lines(BATCHES)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NaapgnnWarning)  # "auto" keeps bs a category: no warning
        train = load_jsonl(_write(folder / "train.jsonl", full))
    only64 = [line for line in full if '"bs": "64"' in line][:6]
    with pytest.warns(NaapgnnWarning, match=r'hparams bs: numbers written as strings \("64" on line 1\)'):
        subset = load_jsonl(_write(folder / "only64.jsonl", only64))
    assert subset[0].hparams["bs"] == 64.0  # the file's own rule reads a number
    same = [r for r in train if r.id in {s.id for s in subset}]
    return train, subset, same


@pytest.mark.parametrize("make", [lambda: GNNPredictor(budget=0, **TINY), lambda: BakerPredictor(budget=0)])
def test_a_subset_whose_categories_look_like_numbers_predicts_as_within_its_training_file(batch_benchmark, make):
    train, subset, same = batch_benchmark
    model = make().fit(train)
    assert "bs=64" in model.hparam_names_ and "bs" not in model.hparam_names_
    np.testing.assert_allclose(model.predict(subset), model.predict(same), rtol=0, atol=1e-9)
    if isinstance(model, GNNPredictor):
        in_domain, reasons = model.domain_report(subset)
        assert not any("hparam" in r for r in reasons), reasons
        assert list(in_domain) == list(model.domain_report(same)[0])


def test_a_model_trained_on_numbers_reads_a_category_file_as_numbers(tmp_path):
    with pytest.warns(NaapgnnWarning, match=r'hparams bs: numbers written as strings \("64" on line 1\)'):
        train = load_jsonl(_write(tmp_path / "train.jsonl", _batch_lines(("64", "128"))))
    model = GNNPredictor(budget=0, **TINY).fit(train)
    assert "bs" in model.hparam_names_
    mixed = load_jsonl(_write(tmp_path / "mixed.jsonl", [_line(0, 8, {"lr": 0.1, "bs": "128"}),
                                                         _line(1, 8, {"lr": 0.1, "bs": "auto"})]))
    numbers = load_jsonl(_write(tmp_path / "num.jsonl", [_line(0, 8, {"lr": 0.1, "bs": 128})]))
    assert model.predict(mixed)[0] == pytest.approx(model.predict(numbers)[0], abs=1e-6)  # float32 batches
    in_domain, reasons = model.domain_report(mixed)
    assert reasons[0] == "" and not in_domain[1]
    assert "hparam 'bs' missing" in reasons[1] and "hparam 'bs=auto' not read" in reasons[1]


def test_the_number_string_warning_shows_each_names_first_value(tmp_path):
    lines = [_line(i, 8, hp) for i, hp in enumerate([{"lr": "0.03", "bs": "128"}, {"lr": "1e-4", "bs": "64"}])]
    with pytest.warns(NaapgnnWarning, match=r'b.jsonl: hparams bs, lr: numbers written as strings '
                                            r'\("128" on line 1, "0.03" on line 1\), read as numbers'):
        load_jsonl(_write(tmp_path / "b.jsonl", lines))


# --- a hyperparameter null in every training record ----------------------------------------------


def test_a_hyperparameter_null_everywhere_is_left_out_without_a_numpy_warning(tmp_path):
    lines = [_line(i, 8 * (1 + i % 4), {"lr": 0.1, "momentum": None, "opt": None}, target=0.3 + 0.02 * (i % 4))
             for i in range(24)]
    train = load_jsonl(_write(tmp_path / "train.jsonl", lines))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = GNNPredictor(budget=0, **TINY).fit(train)
    messages = [str(w.message) for w in caught if not issubclass(w.category, FutureWarning)]
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], messages
    assert any("hparams momentum, opt: null in every training record, not read" in m for m in messages), messages
    assert model.hparam_names_ == ["lr"] and np.all(np.isfinite(model.hparam_mean_))
    given = load_jsonl(_write(tmp_path / "given.jsonl", [_line(0, 8, {"lr": 0.1, "momentum": 0.9, "opt": None}),
                                                         _line(1, 8, {"lr": 0.1, "momentum": None, "opt": None})]))
    in_domain, reasons = model.domain_report(given)
    assert reasons[0] == "hparam 'momentum' not read (not in the training data)" and not in_domain[0]
    assert "hparam" not in reasons[1]


def test_training_mean_is_zero_for_a_column_never_given():
    values = np.array([[1.0, math.nan], [3.0, math.nan], [math.nan, math.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert training_mean(values).tolist() == [2.0, 0.0]
        assert training_mean(np.zeros((3, 0))).shape == (0,)


def test_names_given_by_some_record_stay(tmp_path):
    lines = [_line(i, 8, {"lr": 0.1, "momentum": 0.9 if i == 0 else None}) for i in range(3)]
    assert hparam_input_names(load_jsonl(_write(tmp_path / "b.jsonl", lines))) == ["lr", "momentum"]


# --- a training record without a target ---------------------------------------------------------


def test_the_loader_names_the_lines_of_training_records_without_a_target(tmp_path):
    lines = [_line(0, 8, {}, target=0.5), _line(1, 8, {}), _line(2, 8, {}, split="test"), _line(3, 8, {})]
    path = _write(tmp_path / "bench.jsonl", lines)
    assert len(load_benchmark(path)) == 4  # only asked for when training
    with pytest.raises(NaapgnnError, match=r'^\S*bench.jsonl line 2: target: missing \(training reads every record '
                                           r'whose split is not "test"\); and 1 more invalid record \(line 4\)$'):
        load_benchmark(path, need_target=True)


def test_train_names_the_file_and_line_of_a_record_without_a_target(tmp_path, capsys):
    lines = [_line(i, 8 * (1 + i % 4), {}, target=0.3 + 0.01 * i) for i in range(6)] + [_line(6, 8, {})]
    lines.append(_line(7, 8, {}, split="test"))  # a test record needs no target
    path = _write(tmp_path / "bench.jsonl", lines)
    assert main(["train", "--budget", "0", "--data", str(path), "--out", str(tmp_path / "ck"), "--quiet"]) != 0
    err = capsys.readouterr().err
    assert "bench.jsonl line 7: target: missing" in err and "GNNPredictor" not in err
    with pytest.raises(NaapgnnError, match=r"GNNPredictor: record 'n6' has no target \(pass y or a target\)"):
        GNNPredictor(budget=0, **TINY).fit(load_jsonl(path))  # the Python API keeps its message


# --- numbers beside strings that are no number -----------------------------------------------------


@pytest.mark.parametrize("values, message", [
    ((64, 256, "auto"), r'b.jsonl line 3: hparams.bs: "auto" is a string where other records give numbers '
                        r'\(line 1: 64\); give every value as a number, or every one as a string to read them as '
                        r'categories$'),
    (("auto", True, False), r'b.jsonl line 1: hparams.bs: "auto" is a string where other records give booleans '
                            r'\(line 2: true\); give every value as a boolean, or'),
    (("64", "auto", 128), r'b.jsonl line 2: hparams.bs: "auto" is a string where other records give numbers '
                          r'\(line 3: 128\)'),
])
def test_a_file_mixing_numbers_and_categories_is_refused_by_line(values, message, tmp_path):
    path = _write(tmp_path / "b.jsonl", [_line(i, 8, {"lr": 0.1, "bs": v}) for i, v in enumerate(values)])
    with pytest.raises(NaapgnnError, match=message):
        load_jsonl(path)


def test_numbers_beside_number_strings_or_nulls_are_no_mix(tmp_path):
    path = _write(tmp_path / "b.jsonl", [_line(i, 8, {"bs": v, "opt": o})
                                         for i, (v, o) in enumerate([(64, "sgd"), ("128", None), (None, "adam")])])
    with pytest.warns(NaapgnnWarning, match=r'hparams bs: numbers written as strings \("128" on line 2\), read as '
                                            r'numbers$'):
        records = load_jsonl(path)
    assert [r.hparams["bs"] for r in records][:2] == [64.0, 128.0]
    assert records[1].hparams == {"bs": 128.0, "opt=sgd": 0.0, "opt=adam": 0.0}  # a null category: indicators 0


def test_with_a_checkpoints_names_one_records_string_leaves_the_others_numbers_alone(tmp_path):
    lines = [_line(i, 8, {"lr": 0.1, "nesterov": v}) for i, v in enumerate([True, "yes", False])]
    records = load_benchmark(_write(tmp_path / "b.jsonl", lines), hparam_names=["lr", "nesterov"])
    assert [r.hparams for r in records] == [{"lr": 0.1, "nesterov": 1.0}, {"lr": 0.1, "nesterov=yes": 1.0},
                                            {"lr": 0.1, "nesterov": 0.0}]
    assert records[1].to_dict()["hparams"] == {"lr": 0.1, "nesterov": "yes"}


def test_a_checkpoint_flags_only_the_record_whose_value_it_never_saw(tmp_path):
    train = [_line(i, 8 * (1 + i % 4), {"lr": 0.1, "nesterov": i % 2 == 0}, target=0.3 + 0.01 * (i % 4))
             for i in range(24)]
    model = GNNPredictor(budget=0, **TINY).fit(load_jsonl(_write(tmp_path / "train.jsonl", train)))
    lines = [_line(i, 8, {"lr": 0.1, "nesterov": v}) for i, v in enumerate([True, "yes", False])]
    records = load_benchmark(_write(tmp_path / "b.jsonl", lines), hparam_names=model.hparam_names_)
    in_domain, reasons = model.domain_report(records)  # a category never seen: flagged, as before
    assert "nesterov" not in reasons[0] + reasons[2] and "hparam 'nesterov=yes' not read" in reasons[1]
    assert not in_domain[1]

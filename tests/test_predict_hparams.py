"""``naapgnn predict --hparams``: one architecture's training hyperparameters, read as its benchmark record's;
and the number-string warning, left out for a name the checkpoint reading the file reads as categories."""
from __future__ import annotations

import csv
import io
import json
import warnings

import pytest

from naapgnn.cli import main
from naapgnn.data.records import load_benchmark, load_jsonl
from naapgnn.errors import NaapgnnWarning

TINY = dict(hidden=8, layers=2, max_epochs=20, patience=10, n_ensemble=2, forest_trees=20, n_threads=1)
GAIN = {"64": 0.0, "128": 0.05, "auto": 0.1}  # the batch size matters: "auto" the best
NUMBER_STRINGS = "numbers written as strings"


def _scheme(width):
    return [{"kernel_size": 3, "width": width, "stride": 2, "residual": False},
            {"kernel_size": 3, "width": 2 * width, "stride": 2, "residual": False}]


def _line(i, width, hparams, target=None):
    out = {"id": f"n{i}", "arch": _scheme(width), "hparams": hparams}
    return json.dumps(out if target is None else {**out, "target": target})


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A tiny checkpoint trained on a file where ``bs`` is a category (``"64"``, ``"128"``, ``"auto"``)."""
    from naapgnn.models.gnn import GNNPredictor

    folder = tmp_path_factory.mktemp("bs")
    sizes = list(GAIN)
    lines = [_line(i, 8 * (1 + i % 4), {"lr": 0.1, "bs": sizes[i % 3]}, 0.3 + 0.01 * (i % 4) + GAIN[sizes[i % 3]])
             for i in range(48)]
    model = GNNPredictor(budget=0, **TINY).fit(load_jsonl(_write(folder / "train.jsonl", lines)))
    assert sorted(model.hparam_names_) == ["bs=128", "bs=64", "bs=auto", "lr"]
    return model.save(folder / "ckpt")


def _predict(ckpt, capsys, *argv):
    assert main(["predict", "--checkpoint", str(ckpt), *map(str, argv)]) == 0
    captured = capsys.readouterr()
    (row,) = list(csv.DictReader(io.StringIO(captured.out)))
    return row, captured.err


@pytest.mark.parametrize("given, record", [
    ("bs=128,lr=0.1", {"bs": "128", "lr": 0.1}),
    ("bs=64, lr=.1", {"bs": "64", "lr": 0.1}),  # a number where the checkpoint reads the category bs=64
    ('bs="auto",lr=0.1', {"bs": "auto", "lr": 0.1}),
    ({"lr": 0.1, "bs": "64"}, {"bs": "64", "lr": 0.1}),  # a JSON object file
])
def test_hparams_predict_one_architecture_as_its_benchmark_record(given, record, ckpt, tmp_path, capsys):
    arch = tmp_path / "n0.json"
    arch.write_text(json.dumps(_scheme(16)))
    if isinstance(given, dict):
        given = _write(tmp_path / "hp.json", [json.dumps(given)])
    by_flag, err = _predict(ckpt, capsys, arch, "--hparams", given)
    by_file, file_err = _predict(ckpt, capsys, _write(tmp_path / "one.jsonl", [_line(0, 16, record)]))
    assert by_flag["id"] == by_file["id"] == "n0"
    assert by_flag["prediction"] == by_file["prediction"] and by_flag["uncertainty"] == by_file["uncertainty"]
    assert by_flag["in_domain"] == by_file["in_domain"] == "true" and by_flag["reason"] == ""
    assert "warning" not in err and "warning" not in file_err  # no number-string warning: bs is a category here


def test_hparams_change_the_prediction_and_their_absence_is_flagged(ckpt, tmp_path, capsys):
    arch = tmp_path / "net.json"
    arch.write_text(json.dumps(_scheme(16)))
    small, _ = _predict(ckpt, capsys, arch, "--hparams", "bs=64,lr=0.1")
    auto, _ = _predict(ckpt, capsys, arch, "--hparams", "bs=auto,lr=0.1")
    assert float(auto["prediction"]) > float(small["prediction"]) + 0.02  # trained: "auto" is 0.1 better
    bare, err = _predict(ckpt, capsys, arch)
    assert bare["in_domain"] == "false" and "hparam 'bs', 'lr' missing" in bare["reason"]
    assert "1 of 1 architectures lie outside" in err
    unseen, _ = _predict(ckpt, capsys, arch, "--hparams", "bs=32,lr=0.1,nesterov=true")
    assert unseen["in_domain"] == "false"
    assert "hparam 'bs=32', 'nesterov' not read (not in the training data)" in unseen["reason"]


@pytest.mark.parametrize("given, message", [
    ("lr=nan,bs=64", "--hparams: lr: expected a finite number, got NaN"),
    ("lr=-inf", "--hparams: lr: expected a finite number, got -Infinity"),
    ("lr=1e31", "--hparams: lr: 1e+31 is beyond what the models read"),
    ("lr=[0.1]", "--hparams: lr: expected a number, string, boolean or null, got [0.1]"),
    ("bs=,lr=0.1", "--hparams: bs: expected a number or a non-empty category, got ''"),
    ("lr0.1", "--hparams: 'lr0.1' is not KEY=VALUE"),
    ("=0.1", "--hparams: '=0.1' is not KEY=VALUE"),
    ("", "--hparams: '' is not KEY=VALUE"),
    ("lr=0.1,lr=0.2", "--hparams: 'lr' given twice"),
    ("[0.1, 64]", "hp.json: expected a JSON object of hyperparameters, got a list"),
    ('{"bs=64": 1}', "hp.json: name 'bs=64' holds '=' (reserved for categories: name=value)"),
    ('{"lr": 0.1', "--hparams hp.json: invalid JSON at line 2 column 1: Expecting ',' delimiter"),
    ("{}", "hp.json: no hyperparameters given"),
    ("missing.json", "--hparams missing.json: cannot read"),
    ("bs=64,lr=fast", "--hparams: lr: 'fast' is not a number; the checkpoint reads lr as a number"),
])
def test_hparams_errors_are_one_line(given, message, ckpt, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if given.startswith(("{", "[")):
        _write(tmp_path / "hp.json", [given])
        given = "hp.json"
    _write(tmp_path / "net.json", [json.dumps(_scheme(16))])
    assert main(["predict", "--checkpoint", str(ckpt), "net.json", "--hparams", given]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("naapgnn predict: error: ") and message in err and "\n" not in err


def test_hparams_need_a_single_architecture(ckpt, tmp_path, capsys):
    bench = _write(tmp_path / "two.jsonl", [_line(0, 8, {"lr": 0.1, "bs": "64"}), _line(1, 16, {"lr": 0.1, "bs": "64"})])
    assert main(["predict", "--checkpoint", str(ckpt), str(bench), "--hparams", "bs=64,lr=0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("naapgnn predict: error: --hparams is for a single architecture; INPUT holds 2 records "
                   "(give their hyperparameters in a JSON Lines benchmark instead)")


# --- the number-string warning with a checkpoint's names ------------------------------------------------------


def test_no_number_string_warning_for_a_name_the_checkpoint_reads_as_categories(tmp_path):
    path = _write(tmp_path / "b.jsonl", [_line(i, 8, {"lr": 0.1, "bs": "64"}) for i in range(3)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", NaapgnnWarning)
        records = load_benchmark(path, hparam_names=["bs=128", "bs=64", "bs=auto", "lr"])
    assert records[0].hparams["bs"] == 64.0  # still read as numbers: the checkpoint reads them its own way


@pytest.mark.parametrize("names", [None, ["bs", "lr"], ["lr"], ["opt=sgd", "lr"]])
def test_the_number_string_warning_stays_otherwise(names, tmp_path):
    path = _write(tmp_path / "b.jsonl", [_line(i, 8, {"lr": "0.1", "bs": "64"}) for i in range(3)])
    with pytest.warns(NaapgnnWarning,
                      match=rf'b.jsonl: hparams bs, lr: {NUMBER_STRINGS} \("64" on line 1, "0.1" on line 1\), read as'):
        load_jsonl(path, hparam_names=names)


def test_a_checkpoint_reading_one_name_as_categories_keeps_the_warning_for_the_other(tmp_path):
    path = _write(tmp_path / "b.jsonl", [_line(i, 8, {"lr": "0.1", "bs": "64"}) for i in range(3)])
    with pytest.warns(NaapgnnWarning, match=rf'b.jsonl: hparams lr: {NUMBER_STRINGS} \("0.1" on line 1\), read as numbers$'):
        load_benchmark(path, hparam_names=["bs=64", "bs=auto", "lr"])


def test_predict_gives_the_loader_the_checkpoints_names(ckpt, tmp_path, capsys):
    one = _write(tmp_path / "one.jsonl", [_line(0, 16, {"lr": 0.1, "bs": "64"})])
    with pytest.warns(NaapgnnWarning, match=NUMBER_STRINGS):
        load_benchmark(one)  # the file alone: a number, warned of
    row, err = _predict(ckpt, capsys, one)
    assert NUMBER_STRINGS not in err and row["in_domain"] == "true"


def test_a_hparams_file_with_a_byte_order_mark_reads_as_without(ckpt, tmp_path, capsys):
    arch = tmp_path / "net.json"
    arch.write_text(json.dumps(_scheme(16)))
    (tmp_path / "bom.json").write_text("\ufeff" + json.dumps({"lr": 0.1, "bs": "64"}), encoding="utf-8")
    with_bom, err = _predict(ckpt, capsys, arch, "--hparams", str(tmp_path / "bom.json"))
    plain, _ = _predict(ckpt, capsys, arch, "--hparams", "bs=64,lr=0.1")
    assert with_bom["prediction"] == plain["prediction"] and with_bom["in_domain"] == "true" and "error" not in err


@pytest.mark.parametrize("spelling", ["false", "False", "FALSE"])
def test_hparams_read_true_and_false_in_any_case_as_booleans(spelling):
    from naapgnn.cli.predict import read_hparams
    from naapgnn.data.hparams import parse_hparams

    expected = parse_hparams({"nesterov": False, "bn": True, "opt": "sgd"})
    assert read_hparams(f"nesterov={spelling},bn=True,opt=sgd") == expected
    assert read_hparams('nesterov="False",bn=true,opt=sgd') != expected  # quoted: the category "False"


def test_a_negative_learning_rate_in_hparams_is_refused_as_in_a_file():
    from naapgnn.cli.predict import read_hparams
    from naapgnn.errors import NaapgnnError

    with pytest.raises(NaapgnnError, match=r"^--hparams: lr: -0.1 is negative; a learning rate is 0 or more$"):
        read_hparams("lr=-0.1,opt=sgd")
    assert read_hparams("log_lr=-2,opt=sgd")["log_lr"] == -2  # a logarithm may be negative


@pytest.mark.parametrize("rate, warned", [(0.1, True), (0.5, False), (0.45, False)])
def test_hparams_given_with_the_flag_are_checked_against_the_records_lr_channel(rate, warned, ckpt, tmp_path, capsys):
    record = {"id": "n0", "arch": _scheme(16), "curve": {"lr": [0.5, 0.5, 0.2]}}
    one = _write(tmp_path / "one.jsonl", [json.dumps(record)])
    _, err = _predict(ckpt, capsys, one, "--hparams", f"bs=64,lr={rate}")
    expected = ("naapgnn predict: warning: record 'n0': hparams.lr 0.1 contradicts curve.lr (0.2 to 0.5), a rate its "
                "schedule never takes; the model reads hparams.lr as the learning rate")
    assert (expected in err.splitlines()) is warned
    assert ("contradicts" in err) is warned

"""``naapgnn train`` and ``naapgnn predict`` end to end, with tiny real training runs."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from naapgnn.data.records import records_from_naap440, write_jsonl
from naapgnn.cli import main

REPO = Path(__file__).resolve().parents[1]
FAST = json.dumps({"hidden": 8, "layers": 2, "curve_hidden": 8, "max_epochs": 8, "patience": 4,
                   "forest_trees": 10})


@pytest.fixture(scope="module")
def bench(naap440, tmp_path_factory):
    """A small JSON Lines benchmark: 60 training and 10 test NAAP-440 records."""
    records = records_from_naap440(naap440)
    subset = [r for r in records if r.split == "train"][:60] + [r for r in records if r.split == "test"][:10]
    path = tmp_path_factory.mktemp("bench") / "bench.jsonl"
    write_jsonl(subset, path)
    return path, subset


def _train(tmp, bench_path, budget, *extra):
    out = tmp / f"ckpt{budget}"
    argv = ["train", "--budget", str(budget), "--data", str(bench_path), "--out", str(out),
            "--ensemble", "2", "--threads", "1", "--quiet", "--params", FAST, *extra]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="module")
def ckpt3(bench, tmp_path_factory):
    return _train(tmp_path_factory.mktemp("train"), bench[0], 3)


@pytest.fixture(scope="module")
def ckpt0(bench, tmp_path_factory):
    return _train(tmp_path_factory.mktemp("train"), bench[0], 0, "--blend-forest", "0")


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_train_writes_a_checkpoint_trained_on_the_train_split(bench, ckpt3, capsys):
    config = json.loads((ckpt3 / "config.json").read_text())
    assert config["params"]["budget"] == 3 and config["params"]["n_ensemble"] == 2
    assert config["params"]["hidden"] == 8
    assert (ckpt3 / "weights.pt").is_file() and (ckpt3 / "forest.joblib").is_file()
    # The target statistics are those of the 60 training records, not of all 70.
    train = [r.target for r in bench[1] if r.split == "train"]
    assert len(train) == 60
    assert config["state"]["y_mean"] == pytest.approx(float(np.mean(train)), abs=1e-12)
    assert config["state"]["y_mean"] != pytest.approx(float(np.mean([r.target for r in bench[1]])), abs=1e-9)
    assert len(config["state"]["best_epochs"]) == 2


def test_train_reports_what_it_did(bench, tmp_path, capsys):
    _train(tmp_path, bench[0], 0, "--blend-forest", "0")
    out = capsys.readouterr().out
    assert "trained on 60 architectures at budget 0" in out and "checkpoint saved to" in out
    assert "held-out check" in out and "Kendall tau" in out


def test_predict_jsonl_test_split(ckpt3, bench, tmp_path, capsys):
    path, subset = bench
    out = tmp_path / "preds.csv"
    assert main(["predict", "--checkpoint", str(ckpt3), str(path), "--split", "test", "--out", str(out)]) == 0
    rows = _rows(out)
    assert list(rows[0]) == ["id", "prediction", "uncertainty", "target"]
    test = [r for r in subset if r.split == "test"]
    assert [r["id"] for r in rows] == [r.id for r in test]
    assert [float(r["target"]) for r in rows] == [r.target for r in test]
    assert all(0 < float(r["prediction"]) < 1 and float(r["uncertainty"]) >= 0 for r in rows)
    assert "predicted 10 architectures (budget 3); on the 10 with a target: MAE" in capsys.readouterr().err


def test_predict_naap440_folder_ids_are_model_ids(ckpt3, data_dir, naap440, tmp_path):
    out = tmp_path / "preds.csv"
    assert main(["predict", "--checkpoint", str(ckpt3), str(data_dir), "--split", "test", "--out", str(out)]) == 0
    rows = _rows(out)
    expected = naap440.loc[naap440.IsTest == 1, "ModelId"].astype(str).tolist()
    assert [r["id"] for r in rows] == expected and len(rows) == 40


def test_predict_one_architecture_to_stdout(ckpt0, capsys):
    arch = REPO / "graphs" / "naap440_scheme.json"
    assert main(["predict", "--checkpoint", str(ckpt0), str(arch)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "id,prediction,uncertainty"  # no target known
    assert len(lines) == 2 and lines[1].startswith("naap440_scheme,")


def test_predict_without_the_curve_a_budget_needs(ckpt3, capsys):
    arch = REPO / "graphs" / "naap440_scheme.json"
    assert main(["predict", "--checkpoint", str(ckpt3), str(arch)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("naapgnn predict: error: record 'naap440_scheme': budget 3 needs")
    assert "\n" not in err


@pytest.mark.parametrize("argv, message", [
    (["predict", "--checkpoint", "no/such/ckpt", "graphs/vgg_like.json"], "checkpoint no/such/ckpt: no such folder"),
    (["train", "--budget", "-1"], "--budget must be >= 0"),
    (["train", "--budget", "0", "--params", '{"hiden": 3}'], "unknown hyperparameter 'hiden'"),
    (["train", "--budget", "0", "--params", '{"hidden": "x"}'], "hidden must be a positive integer"),
])
def test_errors_are_one_line(argv, message, bench, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    if argv[0] == "train":
        argv = argv + ["--data", str(bench[0]), "--out", "/nonexistent-dir/ckpt", "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_train_predictor_script_matches_the_cli(bench, ckpt0, tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_predictor", REPO / "scripts" / "train_predictor.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    params = json.dumps({**json.loads(FAST), "n_ensemble": 2, "blend_forest": 0.0})
    out = tmp_path / "script-ckpt"
    argv = ["--budget", "0", "--data", str(bench[0]), "--out", str(out), "--params", params]
    assert script.main(argv) == 0
    assert "trained on 60 architectures" in capsys.readouterr().out
    assert main(["predict", "--checkpoint", str(out), str(bench[0]), "--out", str(tmp_path / "a.csv")]) == 0
    assert main(["predict", "--checkpoint", str(ckpt0), str(bench[0]), "--out", str(tmp_path / "b.csv")]) == 0
    assert _rows(tmp_path / "a.csv") == _rows(tmp_path / "b.csv")  # same settings, same seed: same model
    assert script.main(argv[:-1] + ['{"no_such_setting": 1}']) == 2
    assert "--params: unknown hyperparameter 'no_such_setting'" in capsys.readouterr().err

"""``naapgnn train`` and ``naapgnn predict`` end to end, with tiny real training runs."""
from __future__ import annotations

import csv
import dataclasses
import json
import re
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
    # the default blends a quarter of the statistics forest, saved beside the members
    assert config["params"]["blend_forest"] == 0.25 and config["params"]["forest"] == "statistics"
    assert (ckpt3 / "weights.pt").is_file() and (ckpt3 / "forest.joblib").is_file()
    # The target statistics are those of the 60 training records, not of all 70.
    train = [r.target for r in bench[1] if r.split == "train"]
    assert len(train) == 60
    assert config["state"]["y_mean"] == pytest.approx(float(np.mean(train)), abs=1e-12)
    assert config["state"]["y_mean"] != pytest.approx(float(np.mean([r.target for r in bench[1]])), abs=1e-9)
    assert len(config["state"]["best_epochs"]) == 2


def test_train_reports_what_it_did(bench, tmp_path, capsys):
    out_dir = _train(tmp_path, bench[0], 0, "--blend-forest", "0.5")
    assert (out_dir / "forest.joblib").is_file()  # a blended forest is saved with the members
    out = capsys.readouterr().out
    assert re.search(r"forest share (0.5 \(blend_forest\)|[0-9.]+, chosen on held-out predictions \(blend_forest "
                     r"0.5\))\)", out)
    assert "trained on 60 architectures at budget 0" in out and "checkpoint saved to" in out
    assert " members, full-batch, best epochs " in out
    assert "held-out check" in out and "Kendall tau" in out


def test_train_with_two_processes_saves_the_same_model(bench, ckpt3, tmp_path):
    import torch

    out_dir = _train(tmp_path, bench[0], 3, "--jobs", "2")
    ours, theirs = (torch.load(d / "weights.pt", weights_only=True) for d in (out_dir, ckpt3))
    assert json.loads((out_dir / "config.json").read_text())["params"]["n_jobs"] == 2
    assert len(ours["members"]) == len(theirs["members"]) == 2
    for a, b in zip(ours["members"], theirs["members"]):
        assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_predict_jsonl_test_split(ckpt3, bench, tmp_path, capsys):
    path, subset = bench
    out = tmp_path / "preds.csv"
    assert main(["predict", "--checkpoint", str(ckpt3), str(path), "--split", "test", "--out", str(out)]) == 0
    rows = _rows(out)
    assert list(rows[0]) == ["id", "prediction", "uncertainty", "in_domain", "reason", "target"]
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
    assert lines[0] == "id,prediction,uncertainty,in_domain,reason"  # no target known
    assert len(lines) == 2 and lines[1].startswith("naap440_scheme,")


@pytest.mark.parametrize("extra", [[], ["--hparams", "lr=0.1"]])
def test_predict_without_the_curve_a_budget_needs(ckpt3, capsys, extra):
    arch = REPO / "graphs" / "naap440_scheme.json"
    assert main(["predict", "--checkpoint", str(ckpt3), str(arch), *extra]) == 2
    *notes, err = capsys.readouterr().err.strip().splitlines()
    assert err.startswith("naapgnn predict: error: record 'naap440_scheme': budget 3 needs")
    assert err.endswith("give them with --curve")
    # with --hparams, the note that this checkpoint reads none, and nothing else
    assert len(notes) == len(extra) // 2 and all(n.startswith("naapgnn predict: note:") for n in notes)


def test_predict_one_architecture_with_its_curve(ckpt3, bench, tmp_path, capsys):
    record = bench[1][0]
    arch = tmp_path / "net.json"
    arch.write_text(json.dumps(record.arch.scheme))
    accuracy = ",".join(repr(float(x)) for x in record.curve["accuracy"][:3])
    assert main(["predict", "--checkpoint", str(ckpt3), str(arch), "--curve", accuracy]) == 0
    by_list = capsys.readouterr().out.strip().splitlines()
    curve_json = tmp_path / "curve.json"
    curve_json.write_text(json.dumps({k: [float(x) for x in v[:5]] for k, v in record.curve.items()}))
    assert main(["predict", "--checkpoint", str(ckpt3), str(arch), "--curve", str(curve_json)]) == 0
    by_file = capsys.readouterr().out.strip().splitlines()
    assert len(by_list) == len(by_file) == 2 and by_list[1].startswith("net,") and by_file[1].startswith("net,")
    # All three channels (file) against the accuracy channel alone (list): different inputs, different answers.
    assert by_list[1] != by_file[1]
    # The file's curve is the record's own: the same prediction as the benchmark row of that record.
    out = tmp_path / "all.csv"
    assert main(["predict", "--checkpoint", str(ckpt3), str(bench[0]), "--out", str(out)]) == 0
    assert by_file[1].split(",")[1] == _rows(out)[0]["prediction"]


@pytest.mark.parametrize("curve, message", [
    ("0.41,0.52", "--curve: 2 epochs given, the checkpoint (budget 3) needs the first 3"),
    ("0.41,x,0.5", "--curve: epoch 2: 'x' is not a finite number"),
    ("0.41,inf,0.5", "--curve: epoch 2: 'inf' is not a finite number (null for an epoch not logged)"),
    ("41,52,55", "--curve: epoch 1: accuracy 41 is outside [0, 1] (give fractions; a comma list is the accuracy "
                 "channel: a checkpoint reading others takes them as a JSON file)"),
    ('{"accuracy": [0.4, 1.5, 0.6]}', "c.json: epoch 2: accuracy 1.5 is outside [0, 1] (give fractions)"),
    ('{"accuracy": [0.4, 0.5, "a"]}', "curve.accuracy[2] (epoch 3): expected a finite number, got 'a'"),
    ('{"lr": [0.1, 0.1, 0.1]}', "--curve: the checkpoint reads the channels accuracy, loss_mean, loss_median; the "
                                "curve lacks accuracy, loss_mean, loss_median (it has lr)"),
    ('{"acuracy": [0.4, 0.5, 0.6], "loss_mean": [1, 1, 1], "loss_median": [1, 1, 1]}',
     "the curve lacks accuracy (it has acuracy, loss_mean, loss_median; 'acuracy' a misspelt 'accuracy'?)"),
    ('{"accuracy": [0.4, 0.5, 0.6], "loss_mean": [1.0]}', "curve: channels differ in length (accuracy 3, loss_mean 1 "
                                                          "epochs); give each the same epochs, null where not "
                                                          "logged (a longer lr: pad the others)"),
    ("[0.4, 0.5", "invalid JSON at line 1"),
    ('{"loss_mean": [1, 1, 1]}', "the curve lacks accuracy (it has loss_mean; lacking loss_median alone is read at "
                                 "the training mean)"),  # loss_mean: read, not a misspelt loss_median
])
def test_predict_curve_errors(curve, message, ckpt3, tmp_path, capsys):
    if curve.startswith(("{", "[")):
        (tmp_path / "c.json").write_text(curve)
        curve = str(tmp_path / "c.json")
    arch = REPO / "graphs" / "naap440_scheme.json"
    assert main(["predict", "--checkpoint", str(ckpt3), str(arch), "--curve", curve]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("naapgnn predict: error: ") and message in err and "\n" not in err


def test_predict_curve_is_refused_beside_a_record_with_its_own(ckpt3, bench, tmp_path, capsys):
    one = tmp_path / "one.jsonl"
    one.write_text(bench[0].read_text().splitlines()[0] + "\n")
    assert main(["predict", "--checkpoint", str(ckpt3), str(one), "--curve", "0.1,0.2,0.3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("naapgnn predict: error: --curve: the record ") and "has a curve of its own (" in err
    assert err.endswith("give the curve once, in the record or with --curve") and "\n" not in err


def test_predict_hparams_are_refused_beside_a_record_with_its_own(ckpt3, tmp_path, capsys):
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps({"id": "h", "arch": json.loads((REPO / "graphs" / "naap440_scheme.json").read_text()),
                               "curve": {"accuracy": [0.3, 0.4, 0.5]}, "hparams": {"lr": 0.1, "batch": 64}}) + "\n")
    assert main(["predict", "--checkpoint", str(ckpt3), str(one), "--hparams", "lr=0.01"]) == 2
    assert capsys.readouterr().err.strip() == ("naapgnn predict: error: --hparams: the record 'h' has hyperparameters "
                                               "of its own (batch, lr); give them once, in the record or with "
                                               "--hparams")


def test_predict_curve_needs_a_single_architecture(ckpt3, bench, capsys):
    assert main(["predict", "--checkpoint", str(ckpt3), str(bench[0]), "--curve", "0.1,0.2,0.3"]) == 2
    assert "--curve is for a single architecture; INPUT holds 70 records" in capsys.readouterr().err


def test_predict_reports_the_domain_per_row_and_warns_once(ckpt0, monkeypatch, tmp_path, capsys):
    from naapgnn.models.gnn import GNNPredictor

    def domain_report(self, records, parts=None, graphs=None):
        far = np.array([len(r.arch.layers) > 6 for r in records])
        return ~far, ["depth 12 > the deepest training net (5 blocks)" if f else "" for f in far]

    monkeypatch.setattr(GNNPredictor, "domain_report", domain_report, raising=False)
    graphs = tmp_path / "graphs.jsonl"
    graphs.write_text("".join(json.dumps({"id": p.stem, "arch": json.loads(p.read_text())}) + "\n"
                              for p in sorted((REPO / "graphs").glob("*.json"))))
    out = tmp_path / "p.csv"
    assert main(["predict", "--checkpoint", str(ckpt0), str(graphs), "--out", str(out)]) == 0
    rows = {r["id"]: r for r in _rows(out)}
    assert rows["naap440_scheme"]["in_domain"] == "true" and rows["naap440_scheme"]["reason"] == ""
    assert rows["resnet_like"]["in_domain"] == "false"
    assert rows["resnet_like"]["reason"] == "depth 12 > the deepest training net (5 blocks)"
    err = capsys.readouterr().err.strip().splitlines()
    warnings = [line for line in err if "warning" in line]
    outside = sum(r["in_domain"] == "false" for r in rows.values())
    assert len(warnings) == 1 and f"{outside} of {len(rows)} architectures lie outside" in warnings[0]


def test_a_prediction_that_is_not_finite_is_one_line_and_nothing_is_written(ckpt0, bench, monkeypatch, tmp_path,
                                                                            capsys):
    from naapgnn.cli import predict

    def overflowing(model, records):
        n = len(records)
        mean = np.full(n, 0.5)
        mean[1] = np.nan
        return mean, np.zeros(n), np.ones(n, dtype=bool), [""] * n

    monkeypatch.setattr(predict, "predict_and_check", overflowing)
    out = tmp_path / "p.csv"
    assert main(["predict", "--checkpoint", str(ckpt0), str(bench[0]), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("prediction nan is not finite, an input too large for the model (in domain); nothing written")
    assert "\n" not in err and not out.exists()


def test_predict_training_architectures_are_in_domain_without_warning(ckpt0, bench, tmp_path, capsys):
    arch = tmp_path / "seen.json"
    arch.write_text(json.dumps(bench[1][0].arch.scheme))  # one the checkpoint was trained on
    assert main(["predict", "--checkpoint", str(ckpt0), str(arch)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1].endswith(",true,") and "warning" not in captured.err


def test_target_scale_percent(bench, ckpt0, tmp_path, capsys):
    rows = [json.loads(line) for line in bench[0].read_text().splitlines()]
    percent = tmp_path / "percent.jsonl"
    percent.write_text("".join(json.dumps({**r, "target": 100 * r["target"]}) + "\n" for r in rows))
    assert main(["predict", "--checkpoint", str(ckpt0), str(percent), "--out", str(tmp_path / "a.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "percent.jsonl line 1: target: " in err and "use --target-scale percent" in err and "\n" not in err
    assert main(["predict", "--checkpoint", str(ckpt0), str(percent), "--target-scale", "percent",
                 "--out", str(tmp_path / "a.csv")]) == 0
    summary = capsys.readouterr().err
    error = float(summary.split("MAE ")[1].split()[0])
    assert f"MAE {error:.4f} ({100 * error:.2f} points: targets read in percent, predictions written as fractions)" \
        in summary
    assert main(["predict", "--checkpoint", str(ckpt0), str(bench[0]), "--out", str(tmp_path / "b.csv")]) == 0
    assert "points: targets read in percent" not in capsys.readouterr().err
    a, b = _rows(tmp_path / "a.csv"), _rows(tmp_path / "b.csv")
    assert [r["prediction"] for r in a] == [r["prediction"] for r in b]
    assert [float(r["target"]) for r in a] == pytest.approx([float(r["target"]) for r in b], abs=1e-12)


@pytest.mark.parametrize("argv, message", [
    (["predict", "--checkpoint", "no/such/ckpt", "graphs/vgg_like.json"], "checkpoint no/such/ckpt: no such folder"),
    (["train", "--budget", "-1"], "--budget must be >= 0"),
    (["train", "--budget", "0", "--params", '{"hiden": 3}'], "unknown hyperparameter 'hiden'"),
    (["train", "--budget", "0", "--params", '{"hidden": "x"}'], "hidden must be a positive integer"),
    (["train", "--budget", "0", "--threads", "0"], "--threads must be >= 1, got 0"),
    (["train", "--budget", "0", "--jobs", "0"], "--jobs must be >= 1, got 0"),
    (["train", "--budget", "0", "--params", '{"n_jobs": 2}'], "'n_jobs' is set by the command itself"),
    (["train", "--budget", "0", "--ensemble", "3", "--params", '{"n_ensemble": 5}'],
     "--ensemble and --params both set n_ensemble (3 against 5); give it once"),
    (["train", "--budget", "0", "--blend-forest", "0", "--params", '{"blend_forest": 0.5}'],
     "--blend-forest and --params both set blend_forest (0.0 against 0.5); give it once"),
    (["predict", "--checkpoint", "no/such/ckpt", "graphs/vgg_like.json", "--out", "graphs"],
     "--out graphs: is a folder; give a file name, e.g. graphs/preds.csv"),
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


def test_predict_every_shipped_graph_with_the_real_applicability_check(ckpt3, tmp_path, capsys):
    graphs = sorted((REPO / "graphs").glob("*.json"))
    bench = tmp_path / "graphs.jsonl"
    curve = {"accuracy": [0.3, 0.4, 0.45], "loss_mean": [1.9, 1.6, 1.5], "loss_median": [1.9, 1.6, 1.5]}
    bench.write_text("".join(json.dumps({"id": p.stem, "arch": json.loads(p.read_text()), "curve": curve}) + "\n"
                             for p in graphs))
    out = tmp_path / "p.csv"
    assert main(["predict", "--checkpoint", str(ckpt3), str(bench), "--out", str(out)]) == 0
    rows = {r["id"]: r for r in _rows(out)}
    assert set(rows) == {p.stem for p in graphs} and {"mobilenetv2", "resnet20", "vgg11"} <= set(rows)
    assert all(0 <= float(r["prediction"]) <= 1 for r in rows.values())
    far = rows["mobilenetv2"]  # depthwise convs, 3x224-style depth: far outside 60 NAAP-440 schemes
    assert far["in_domain"] == "false" and far["reason"]
    assert all((r["in_domain"] == "true") == (r["reason"] == "") for r in rows.values())
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1


def test_predict_computes_the_parts_once_for_prediction_and_domain(ckpt0, monkeypatch, tmp_path):
    """`naapgnn predict` encodes the graphs once and reuses one predict_parts call for the predictions
    and the domain report."""
    import naapgnn.models.network as network
    from naapgnn.models.gnn import GNNPredictor

    calls, encodings = [], []
    original, encode = GNNPredictor.predict_parts, network.batch_architectures

    def counted(self, X, graphs=None):
        calls.append(len(X))
        return original(self, X, graphs)

    def counted_encoding(archs, fold=False):
        encodings.append(len(archs))
        return encode(archs, fold)

    monkeypatch.setattr(GNNPredictor, "predict_parts", counted)
    monkeypatch.setattr(network, "batch_architectures", counted_encoding)
    arch = tmp_path / "a.json"
    arch.write_text((REPO / "graphs" / "naap440_scheme.json").read_text())
    assert main(["predict", "--checkpoint", str(ckpt0), str(arch), "--out", str(tmp_path / "p.csv")]) == 0
    assert calls == [1] and encodings == [1]


def test_short_curves_of_runs_in_progress_are_counted_in_one_line(bench, ckpt3, tmp_path, capsys):
    """A record without a target may still be training: a budget past its curve is refused (one with a target
    finished early and stands still, tests/test_channels.py)."""
    path, subset = bench
    short = [dataclasses.replace(r, curve={k: v[:2] for k, v in r.curve.items()}, target=None) if i % 7 == 0 else r
             for i, r in enumerate(subset)]
    data = tmp_path / "short.jsonl"
    write_jsonl(short, data)
    assert main(["predict", "--checkpoint", str(ckpt3), str(data), "--split", "all"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert (f"{data}: budget 3 needs the first 3 epochs of curve; 10 of the 70 records "  # every 7th of all 70
            f"have fewer: {subset[0].id!r} (line 1, 2 epochs), {subset[7].id!r} (line 8, 2 epochs), "
            f"{subset[14].id!r} (line 15, 2 epochs), ...") in err


def test_predict_names_the_channels_a_record_lacks(bench, ckpt3, tmp_path, capsys):
    path, subset = bench
    renamed = [dataclasses.replace(r, curve={f"valid_{k}": v for k, v in r.curve.items() if k != "lr"})
               for r in subset]
    data = tmp_path / "renamed.jsonl"
    write_jsonl(renamed, data)
    assert main(["predict", "--checkpoint", str(ckpt3), str(data), "--split", "all"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"naapgnn predict: error: {data} line 1 (record {subset[0].id!r}) has none of the curve "
                          "channels the checkpoint reads (accuracy, loss_mean, loss_median); it has valid_accuracy")
    assert "\n" not in err


def test_a_diverged_run_reads_the_checkpoints_worst_whatever_else_the_file_holds(ckpt3, bench, tmp_path):
    from naapgnn.models.gnn import GNNPredictor

    path, subset = bench
    model = GNNPredictor.load(ckpt3)
    training = [r for r in subset if r.split == "train"]
    assert model.diverged_values_ == {
        "accuracy": min(float(r.curve["accuracy"].min()) for r in training),
        "loss_mean": max(float(r.curve["loss_mean"].max()) for r in training),
        "loss_median": max(float(r.curve["loss_median"].max()) for r in training)}
    diverged = dataclasses.replace(subset[-1], id="diverged", curve={k: v.copy() for k, v in subset[-1].curve.items()})
    row = diverged.to_dict()
    for channel in ("loss_mean", "loss_median"):
        row["curve"][channel] = row["curve"][channel][:1] + [None] * (len(row["curve"][channel]) - 1)
    others = [r.to_dict() for r in subset[60:69]]
    for r in others:  # a file whose losses run far higher than any training record's
        r["curve"]["loss_mean"] = [10 * v for v in r["curve"]["loss_mean"]]
    predictions = []
    for name, rows in (("alone", [row]), ("with", others + [row])):
        bench_file, out = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.csv"
        bench_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
        assert main(["predict", "--checkpoint", str(ckpt3), str(bench_file), "--out", str(out)]) == 0
        predictions.append(next(r["prediction"] for r in _rows(out) if r["id"] == "diverged"))
    assert predictions[0] == predictions[1]
    for channel in ("loss_mean", "loss_median"):
        diverged.curve[channel][1:] = model.diverged_values_[channel]
    assert float(predictions[0]) == pytest.approx(float(model.predict([diverged])[0]), abs=1e-6)


def test_an_input_refused_gets_its_error_alone(ckpt3, bench, tmp_path, capsys):
    """No notice of how a record would have been read (a run that diverged before logging) before the error
    that refuses it."""
    rows = [r.to_dict() for r in bench[1] if r.split == "test"][:6]
    del rows[3]["curve"]
    data = tmp_path / "no_curve.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["predict", "--checkpoint", str(ckpt3), str(data)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"naapgnn predict: error: {data} line 4 (record {rows[3]['id']!r}) has none of the curve "
                          "channels the checkpoint reads") and err.count("\n") == 1
    rows[3]["curve"] = {c: v[:1] + [None] * (len(v) - 1) if c != "lr" else v for c, v in rows[0]["curve"].items()}
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["predict", "--checkpoint", str(ckpt3), str(data)]) == 0
    assert "naapgnn predict: warning: " in capsys.readouterr().err  # the notices of an input read: still printed


def _in_percent(rows: list[dict]) -> list[dict]:
    return [dict(r, curve=dict(r["curve"], accuracy=[None if v is None else 100 * v for v in r["curve"]["accuracy"]]))
            for r in rows]


@pytest.mark.parametrize("trained_in", ["fraction", "percent"])
def test_a_diverged_run_reads_the_checkpoints_worst_in_the_unit_of_the_file(trained_in, ckpt3, bench, tmp_path,
                                                                              capsys):
    """A checkpoint reads a file whose run diverged before the budget the same whether the file logs its accuracy
    in fractions or in percent, whichever unit it was trained on: its training worst in the file's unit (a file in
    fractions once read a percent checkpoint's worst as a percentage: mixed units, or every value read 100 times
    too small)."""
    checkpoint = ckpt3
    if trained_in == "percent":
        training = tmp_path / "percent_training.jsonl"
        training.write_text("".join(json.dumps(r) + "\n" for r in _in_percent([r.to_dict() for r in bench[1]])))
        checkpoint = _train(tmp_path, training, 3)
    rows = [r.to_dict() for r in bench[1] if r.split == "test"][:6]
    for row in rows[:3]:  # most of a file's runs diverged
        row["curve"]["accuracy"] = row["curve"]["accuracy"][:1] + [None] * (len(row["curve"]["accuracy"]) - 1)
    predictions = []
    for unit, written in (("fraction", rows), ("percent", _in_percent(rows))):
        bench_file, out = tmp_path / f"{unit}.jsonl", tmp_path / f"{unit}.csv"
        bench_file.write_text("".join(json.dumps(r) + "\n" for r in written))
        assert main(["predict", "--checkpoint", str(checkpoint), str(bench_file), "--out", str(out)]) == 0
        assert "units" not in capsys.readouterr().err
        predictions.append([float(r["prediction"]) for r in _rows(out)])
    assert predictions[1] == pytest.approx(predictions[0], abs=1e-6)


def test_predict_reads_a_run_as_it_stood_at_the_budget(ckpt3, bench, tmp_path):
    from naapgnn.models.gnn import GNNPredictor

    model = GNNPredictor.load(ckpt3)
    assert model.unlogged_epochs_ == {c: [] for c in model.curve_channels_}  # the training runs logged every epoch
    # a test run that logged nothing at epoch 3: in one file it logs again later, in the other its log ends there
    rows = [dict(r.to_dict(), split="test") for r in bench[1] if r.split == "test"][:4]
    full = [dict(row, curve={c: list(v) for c, v in row["curve"].items()}) for row in rows]
    for channel, values in full[0]["curve"].items():
        if channel != "lr":  # a schedule, never missing
            values[2] = None
    cut = [dict(row, curve={c: v[:3] for c, v in row["curve"].items()}) for row in full]
    outs = []
    for name, file_rows in [("full", full), ("cut", cut)]:
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in file_rows))
        outs.append(tmp_path / f"{name}.csv")
        assert main(["predict", "--checkpoint", str(ckpt3), str(path), "--out", str(outs[-1])]) == 0
    assert [r["prediction"] for r in _rows(outs[0])] == [r["prediction"] for r in _rows(outs[1])]


def test_the_held_out_check_scores_model_and_graph_network_on_the_same_rows(monkeypatch):
    from types import SimpleNamespace

    import naapgnn.models.curve_stack as curve_stack
    from naapgnn.cli.train import held_out_summary
    from naapgnn.evaluation.metrics import kendall_tau

    rng = np.random.default_rng(0)
    y = rng.normal(size=10)
    graph = y + rng.normal(0, 0.5, 10)
    stacked = np.where(np.arange(10) < 8, y + rng.normal(0, 0.2, 10), np.nan)  # two rows the stack did not read
    records = [SimpleNamespace(target=float(t)) for t in y]
    line = held_out_summary(SimpleNamespace(stack_oof_=stacked, oof_prediction_=graph), records)
    assert line.startswith("held-out check (each training architecture predicted by models that did not train on "
                           "it): 8 of 10 (those held out) architectures, MAE ")
    assert line.endswith(f"(the graph network alone, one member each: {kendall_tau(y[:8], graph[:8]):.3f})")
    monkeypatch.setattr(curve_stack, "MAX_STACK_ROWS", 8)
    assert "8 of 10 (those held out; the stack reads at most 8) architectures" in held_out_summary(
        SimpleNamespace(stack_oof_=stacked, oof_prediction_=graph), records)


@pytest.mark.parametrize("first_nan, warned", [(1, True), (3, False)])
def test_predict_warns_only_of_non_finite_values_the_checkpoint_reads(first_nan, warned, ckpt3, bench, tmp_path,
                                                                      capsys):
    row = dict(next(r for r in bench[1] if r.split == "test").to_dict(), split="test")
    length = len(row["curve"]["loss_mean"])
    for channel in ("loss_mean", "loss_median"):  # diverged at epoch first_nan + 1 (1-based)
        row["curve"][channel] = row["curve"][channel][:first_nan] + [None] * (length - first_nan)
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert main(["predict", "--checkpoint", str(ckpt3), str(path), "--out", str(tmp_path / "p.csv")]) == 0
    err = capsys.readouterr().err
    assert ("1 record(s) with non-finite curve values (first: line 1, curve.loss_mean[1]) stayed non-finite to the "
            "end, read as diverged runs, each such value as the checkpoint's training worst" in err) == warned
    assert ("non-finite" in err) == warned


def test_non_finite_values_through_the_budget_are_said_to_read_as_diverged_even_if_later_finite(ckpt3, bench,
                                                                                                  tmp_path, capsys):
    """NaN at epochs 2-3 then finite: the budget-3 checkpoint reads the run as it stood at epoch 3, diverged, so
    the notice says that (not "an epoch not logged") and the prediction is that of the file cut at epoch 3."""
    row = dict(next(r for r in bench[1] if r.split == "test").to_dict(), split="test")
    for channel in ("loss_mean", "loss_median"):
        row["curve"][channel][1:3] = [None, None]
    cut = dict(row, curve={c: v[:3] for c, v in row["curve"].items()})
    for name, record in (("full", row), ("cut", cut)):
        (tmp_path / f"{name}.jsonl").write_text(json.dumps(record) + "\n")
        assert main(["predict", "--checkpoint", str(ckpt3), str(tmp_path / f"{name}.jsonl"), "--out",
                     str(tmp_path / f"{name}.csv")]) == 0
        err = capsys.readouterr().err
        if name == "full":
            assert ("1 record(s) with non-finite curve values (first: line 1, curve.loss_mean[1]) logged finite "
                    "values only after the 3 epochs the checkpoint reads, which read as a run diverged by epoch 3"
                    in err) and "epoch not logged" not in err
    predictions = [(tmp_path / f"{n}.csv").read_text().splitlines()[1].split(",")[1] for n in ("full", "cut")]
    assert predictions[0] == predictions[1]


def test_train_says_in_words_what_the_gate_kept():
    from types import SimpleNamespace

    from naapgnn.cli.train import gate_summary

    kept = SimpleNamespace(budget=10, stack_gate_={"budget0_kind": "hparams", "hparams_setting": {"weight": 1.0},
                                                    "kind": "svr_values", "weight": 0.25, "used": True})
    assert gate_summary(kept) == (
        "gate (chosen on the training split's cross-validation): without the curve, a nu-SVR on the hyperparameters "
        "(hparams, alone); with 10 epochs, a nu-SVR on the graph prediction, curve features, Baker's per-epoch values, "
        "hyperparameters and statistics (svr_values), at share 0.25 mixed with the model without the curve")
    kept.stack_gate_.update(hparams_setting={"weight": 0.5}, weight=1.0)
    assert gate_summary(kept).endswith("(hparams, at share 0.5 mixed with the graph prediction); with 10 epochs, a "
                                       "nu-SVR on the graph prediction, curve features, Baker's per-epoch values, "
                                       "hyperparameters and statistics (svr_values), alone")
    dropped = SimpleNamespace(budget=3, stack_gate_={"budget0_kind": "graph", "kind": "graph", "used": False})
    assert gate_summary(dropped).endswith(": without the curve, the graph prediction alone (graph); with 3 epochs "
                                          "the same: no curve model beat it")
    assert gate_summary(SimpleNamespace(budget=0, stack_gate_={})) is None  # no gate (curve_mode="network")
    kept.stack_gate_.update(mean_of=["linear:0.75", "svr:1"])
    assert gate_summary(kept).endswith("with 10 epochs, the mean of the 2 curve models within one standard error of "
                                       "the lowest error, each a kind at a share mixed with the model without the "
                                       "curve: linear at 0.75, svr at 1")
    from naapgnn.cli.train import GATE_KINDS
    from naapgnn.models.curve_stack import STACK_KINDS

    assert list(GATE_KINDS) == list(STACK_KINDS)  # every kind the gate may keep is said in words


def test_a_curve_with_epochs_not_logged_reads_as_the_same_record_of_a_file(ckpt3, bench, tmp_path, capsys):
    """--curve refused null, the epoch-not-logged mark a benchmark file takes (a sparse log could not be given)."""
    record = bench[1][0]
    curve = {k: [float(x) for x in v[:5]] for k, v in record.curve.items()}
    for channel, values in curve.items():
        if channel != "lr":  # a schedule is set before training: every epoch of it is known
            values[1] = None  # epoch 2 not logged
    (tmp_path / "c.json").write_text(json.dumps(curve))
    (tmp_path / "net.json").write_text(json.dumps(record.arch.scheme))
    (tmp_path / "one.jsonl").write_text(json.dumps({"id": "net", "arch": record.arch.scheme, "curve": curve}) + "\n")
    assert main(["predict", "--checkpoint", str(ckpt3), str(tmp_path / "net.json"), "--curve",
                 str(tmp_path / "c.json")]) == 0
    by_curve = capsys.readouterr().out.splitlines()[1]
    assert main(["predict", "--checkpoint", str(ckpt3), str(tmp_path / "one.jsonl")]) == 0
    assert capsys.readouterr().out.splitlines()[1] == by_curve
    accuracy = ",".join("null" if v is None else repr(v) for v in curve["accuracy"])
    assert main(["predict", "--checkpoint", str(ckpt3), str(tmp_path / "net.json"), "--curve", accuracy]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("net,")


def test_a_budget_0_checkpoint_says_it_reads_the_peak_of_a_curves_lr(bench, tmp_path, capsys):
    records = [dataclasses.replace(r, curve={**r.curve, "lr": np.full(90, 0.01 * (1 + i % 5))})
               for i, r in enumerate(bench[1])]
    write_jsonl(records, tmp_path / "lr.jsonl")
    ckpt = _train(tmp_path, tmp_path / "lr.jsonl", 0, "--blend-forest", "0")
    (tmp_path / "net.json").write_text(json.dumps(records[0].arch.scheme))
    (tmp_path / "lr.json").write_text(json.dumps({"lr": [0.03] * 4}))
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(ckpt), str(tmp_path / "net.json"), "--curve",
                 str(tmp_path / "lr.json")]) == 0
    assert ("note: the checkpoint reads no curve (budget 0); of --curve it reads the lr channel's peak alone "
            "(lr_schedule_peak)") in capsys.readouterr().err
    (tmp_path / "acc.json").write_text(json.dumps({"accuracy": [0.3] * 4}))
    assert main(["predict", "--checkpoint", str(ckpt), str(tmp_path / "net.json"), "--curve",
                 str(tmp_path / "acc.json")]) == 0
    assert "note: the checkpoint reads no curve (budget 0); --curve changes nothing" in capsys.readouterr().err
    assert main(["predict", "--checkpoint", str(ckpt), str(tmp_path / "net.json"), "--hparams", "lr=0.03"]) == 0
    assert ("hparam 'lr' not read (not in the training data; the model reads the peak of an lr channel as "
            "lr_schedule_peak: give the schedule in the curve, or lr_schedule_peak)") in capsys.readouterr().out


def test_train_names_the_hyperparameters_it_reads_in_log10():
    from types import SimpleNamespace

    from naapgnn.cli.train import hparams_summary
    from naapgnn.features.hparams import log_columns

    values = np.array([[0.001, 0.1, 1.0], [0.2, 0.5, 0.0], [0.01, 0.3, 1.0]])  # 200x, 5x, a one-hot column
    model = SimpleNamespace(hparam_names_=["label_smoothing", "momentum", "optimizer=adamw"],
                            hparam_log_=log_columns(values))
    assert hparams_summary(model) == "hyperparameters read: label_smoothing (log10), momentum, optimizer=adamw"
    assert hparams_summary(SimpleNamespace(hparam_names_=[], hparam_log_=[])) is None

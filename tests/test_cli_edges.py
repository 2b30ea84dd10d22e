"""Edges of the CLI's evaluations: a run that logged none of the accuracy, a test split too small to rank, and
test targets (or predictions) all equal, where Kendall tau is undefined and said so, never printed as "nan"."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from naapgnn.cli import main
from naapgnn.data.deep_resnets import resnet_layers
from naapgnn.data.records import Record, load_benchmark
from naapgnn.evaluation.metrics import describe_tau, format_tau, undefined_tau_reason
from naapgnn.models.heuristics import CurveHeuristic


def _write(path: Path, n: int = 24, test_target: float | None = None, empty: int | None = None,
           tested=lambda i: i % 4 == 0, epochs: int = 6) -> Path:
    """``n`` deep-ResNet layer graphs with 6 epochs of accuracy; ``tested(i)`` marks the test split, whose targets
    are all ``test_target`` when given; record ``empty`` logs an empty ``valid_acc`` (and a ``train_acc``, as all
    do)."""
    lines = []
    for i in range(n):
        value = 0.3 + 0.02 * (i % 7) + 0.01 * (i % 5) + 0.001 * i
        curve = [round(value * (e + 1) / epochs, 4) for e in range(epochs)]  # valid_acc ends at the target
        split = "test" if tested(i) else "train"
        target = test_target if split == "test" and test_target is not None else round(value, 4)
        lines.append(json.dumps({"id": f"g{i}", "arch": resnet_layers(1 + i % 2, 4 + i, 3),
                                 "target": target, "curve": {"valid_acc": [] if i == empty else curve,
                                                             "train_acc": [round(0.5 * c, 4) for c in curve]},
                                 "split": split}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_curve_last_reads_a_run_that_logged_no_accuracy_as_diverged(tmp_path):
    records = load_benchmark(_write(tmp_path / "b.jsonl", empty=5))
    train = [r for r in records if r.id != "g5"]
    model = CurveHeuristic("last", budget=3, channel="valid_acc").fit(train, [r.target for r in train])
    worst = min(min(r.curve["valid_acc"][:3]) for r in train)
    assert model.diverged_value_ == worst
    pred = model.predict(records)
    assert pred[5] == worst and np.all(pred[np.arange(len(records)) != 5] > worst)
    # the same without a fit on records: the worst of the records predicted
    assert CurveHeuristic("last", budget=3, channel="valid_acc").fit().predict(records)[5] == worst


def test_curve_last_still_refuses_a_channel_most_runs_lack(tmp_path):
    from naapgnn.errors import NaapgnnError

    arch = resnet_layers(1, 4, 3)
    records = [Record(f"r{i}", arch, curve={"accuracy": np.linspace(0.1, 0.2, 4) if i == 0 else np.zeros(0),
                                            "loss": np.linspace(2, 1, 4)}, target=0.5) for i in range(3)]
    with pytest.raises(NaapgnnError, match="record 'r1': 'accuracy' has 0 epochs, budget needs 3"):
        CurveHeuristic("last", budget=3, channel="accuracy").fit().predict(records)


def test_evaluate_runs_curve_last_on_a_file_with_an_empty_accuracy_channel(tmp_path, capsys):
    data = _write(tmp_path / "b.jsonl", empty=4)  # a test record: the training records choose valid_acc
    code = main(["evaluate", "--jobs", "1",
                 "--data", str(data), "--predictors", "curve_last", "--budgets", "3", "--protocol",
                 "official", "--inner-folds", "0", "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--protocol", "official"], "splits: the official protocol tests the 1 record marked test; ranking needs at "
                                 "least 2"),
    (["--protocol", "kfold", "--folds", "13"],
     "--folds .n_folds. must be between 2 and 12 .each fold tests at least 2 of the 24 architectures., got 13"),
    (["--protocol", "repeated", "--train-size", "23"], "--train-size: must be between 1 and 22 .the benchmark has "
                                                       "24 architectures, at least 2 tested., got 23"),
])
def test_a_test_split_of_one_architecture_is_refused_up_front(argv, message, tmp_path, capsys):
    data = _write(tmp_path / "b.jsonl", tested=lambda i: i == 3)
    code = main(["evaluate", "--jobs", "1", "--data", str(data), "--predictors", "curve_last", "--budgets", "3",
                 "--inner-folds", "0", "--out", str(tmp_path / "out"), *argv])
    err = capsys.readouterr().err
    assert code != 0 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert __import__("re").search(message, err), err


def test_evaluate_names_no_best_where_the_test_targets_are_all_equal(tmp_path, capsys):
    data = _write(tmp_path / "b.jsonl", test_target=0.7)
    out = tmp_path / "out"
    code = main(["evaluate", "--jobs", "1",
                 "--data", str(data), "--predictors", "curve_last,curve_best", "--budgets", "3,6",
                 "--protocol", "official", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = [line for line in captured.out.splitlines() if line.strip().startswith(("3 ", "6 "))]
    assert len(rows) == 2 and all("undefined" in r and r.endswith("none (Kendall tau undefined)") for r in rows)
    assert "nan" not in captured.out
    assert "in 1 of 1 official test splits every architecture has the same final accuracy (0.7)" in captured.out
    assert "best on the test split in hindsight: none, Kendall tau undefined there" in captured.out
    report = (out / "report.md").read_text()
    assert "none (Kendall tau undefined)" in report and "no best result in hindsight" in report
    assert "**Curve heuristics** learn nothing" in report and "cycle ends" not in report  # only what ran is defined


def test_undefined_tau_is_said_in_words():
    assert undefined_tau_reason([0.7, 0.7, 0.7], [0.1, 0.2, 0.3]) == "all 3 targets are 0.7"
    assert undefined_tau_reason([0.1, 0.2, 0.3], [0.5, 0.5, 0.5]) == "all 3 predictions are 0.5"
    assert undefined_tau_reason([0.1, 0.2, 0.3], [0.1, 0.3, 0.2]) is None
    assert format_tau(float("nan")) == "undefined" and format_tau(0.12345) == "0.123"
    assert describe_tau([0.1, 0.2, 0.3], [0.5, 0.5, 0.5]) == "undefined (all 3 predictions are 0.5)"
    assert describe_tau([0.1, 0.2, 0.3], [0.1, 0.3, 0.2]) == "0.333"


def test_predict_says_the_tau_of_equal_targets_is_undefined():
    from naapgnn.cli.predict import summary_line

    arch = resnet_layers(1, 4, 3)
    records = [Record(f"r{i}", arch, target=0.7) for i in range(3)]
    line = summary_line(records, np.array([0.6, 0.7, 0.8]), 0)
    assert line.endswith("MAE 0.0667, Kendall tau undefined (all 3 targets are 0.7)")


def test_predict_scores_a_single_record_by_its_error():
    from naapgnn.cli.predict import summary_line

    records = [Record("r0", resnet_layers(1, 4, 3), target=0.7)]
    assert summary_line(records, np.array([0.6543211]), 3) == ("predicted 1 architecture (budget 3); its target "
                                                               "0.7000, absolute error 0.0457")
    assert summary_line(records, np.array([0.6543211]), 3, percent=True).endswith("0.0457 (4.57 points)")


def test_baselines_table_says_undefined_not_nan():
    from baselines.runner import summary_text

    rows = [{"model": "m", "budget": 0, "kendall_tau": float("nan"), "kendall_tau_std": float("nan"),
             "violations": 0.0, "mae": 0.01, "max_violations": 3}]
    table = summary_text(rows, "repeated")
    assert "tau undefined  v 0.0" in table and "nan" not in table
    assert table.splitlines()[-1].startswith("tau undefined: on some split the test targets")


def test_baselines_table_names_the_models_that_read_no_curve():
    from baselines.runner import summary_text

    def row(model, budget, tau):
        return {"model": model, "budget": budget, "kendall_tau": tau, "kendall_tau_std": 0.1, "violations": 20.0,
                "mae": 0.03, "max_violations": 190}

    rows = [row("graph only", 0, 0.5), row("graph only", 3, 0.5), row("with curve", 0, 0.5), row("with curve", 3, 0.7),
            row("one budget", 0, 0.5)]
    assert summary_text(rows, "repeated").splitlines()[-1] == (
        "the same figures at every budget (no curve read, or none that changed them): graph only")


def test_early_stopping_on_one_epoch_curves_points_to_full_epochs(tmp_path, capsys):
    data = _write(tmp_path / "b.jsonl", epochs=1)
    code = main(["search", "--strategy", "early-stop", "--data", str(data), "--budget", "1", "--trials", "1",
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "1..0" not in err
    assert err.strip().endswith("these curves hold 1 epoch; if they are the first epoch of longer runs, give "
                                "--full-epochs N")


def test_a_warning_every_fit_raises_is_printed_once(capsys):
    import warnings

    from naapgnn.cli import _one_line_warning
    from naapgnn.errors import NaapgnnWarning

    show = _one_line_warning("evaluate", warnings.showwarning)
    for text in ("hparams m: null in every training record", "hparams m: null in every training record", "other"):
        show(NaapgnnWarning(text), NaapgnnWarning, "x.py", 1)
    assert capsys.readouterr().err.splitlines() == ["naapgnn evaluate: warning: hparams m: null in every training "
                                                    "record", "naapgnn evaluate: warning: other"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_warning_about_the_training_records_names_their_file_even_from_worker_processes(jobs, tmp_path, capsys):
    data = _write(tmp_path / "b.jsonl")
    lines = [json.loads(line) for line in data.read_text().splitlines()]
    for i, record in enumerate(lines):
        record["hparams"] = {"momentum": None, "lr": 0.01 * (1 + i % 3)}
    data.write_text("".join(json.dumps(record) + "\n" for record in lines))
    code = main(["evaluate", "--jobs", "1",
                 "--data", str(data), "--predictors", "baker", "--budgets", "0", "--protocol", "repeated",
                 "--repeats", "2", "--inner-folds", "0", "--jobs", jobs, "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 0, err
    warned = [line for line in err.splitlines() if "null in every training record" in line]
    assert warned == [f"naapgnn evaluate: warning: {data}: hparams momentum: null in every training record, not read "
                      "(a prediction that gives a value is flagged out of domain)"]
    assert "Curve heuristics" not in (tmp_path / "out" / "report.md").read_text()


def test_percent_on_fractions_warns_about_the_targets_only(tmp_path):
    import warnings

    data = _write(tmp_path / "b.jsonl")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_benchmark(data, target_scale="percent")
    texts = [str(w.message) for w in caught]
    assert len(texts) == 1 and "fractions already? then drop --target-scale percent" in texts[0]


def test_predictions_csv_writes_targets_as_read_not_float_noise():
    from naapgnn.cli.predict import predictions_csv

    records = [Record("a", resnet_layers(1, 4, 3), target=69.429 / 100)]
    assert predictions_csv(records, [0.5], [0.01]).splitlines()[1].endswith(",0.69429")


def test_curve_last_chooses_its_channel_beside_a_diverged_training_run_and_predicts_it_alone(tmp_path):
    records = load_benchmark(_write(tmp_path / "b.jsonl", empty=5))
    model = CurveHeuristic("last", budget=3).fit(records, [r.target for r in records])  # g5 among them
    assert model.channel_ == "valid_acc"
    worst = min(min(r.curve["valid_acc"][:3]) for r in records if len(r.curve["valid_acc"]))
    assert model.predict([records[5]])[0] == worst == model.predict(records)[5]


def test_the_repeated_protocol_tests_two_where_one_record_is_marked(tmp_path, capsys):
    data = _write(tmp_path / "b.jsonl", tested=lambda i: i == 3)
    code = main(["evaluate", "--jobs", "1",
                 "--data", str(data), "--predictors", "curve_last", "--budgets", "3", "--protocol",
                 "repeated", "--repeats", "2", "--inner-folds", "0", "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err


def test_the_advice_means_skip_undefined_runs():
    from naapgnn.evaluation.analysis import _mean_std

    assert _mean_std([0.5, float("nan"), 0.7]) == (pytest.approx(0.6), pytest.approx(np.std([0.5, 0.7], ddof=1)))
    assert all(np.isnan(_mean_std([float("nan")])))


def test_a_budget_before_a_records_first_logged_epoch_names_its_line(tmp_path, capsys):
    data = _write(tmp_path / "b.jsonl")
    lines = [json.loads(line) for line in data.read_text().splitlines()]
    for record in lines[1:]:  # most runs log first at epoch 3: budget 1 is refused, naming the first of them
        for channel in ("valid_acc", "train_acc"):
            record["curve"][channel][:2] = [None, None]
    data.write_text("\n" + "".join(json.dumps(record) + "\n" for record in lines))  # a blank line first
    code = main(["evaluate", "--jobs", "1",
                 "--data", str(data), "--predictors", "curve_last", "--budgets", "1", "--out",
                 str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().splitlines()[-1] == (
        "naapgnn evaluate: error: --budgets: budget 1 reads epochs 1..1, but b.jsonl line 3 (record 'g1') logs "
        "'valid_acc' first at epoch 3")


def test_a_budget_no_record_reaches_says_so_instead_of_listing_them_all(tmp_path, capsys):
    data = _write(tmp_path / "b.jsonl")
    assert main(["train", "--data", str(data), "--budget", "7", "--out", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "b.jsonl: budget 7 needs the first 7 epochs of curve; no record has them (the longest curve has 6 epochs)")


def test_constant_predictions_have_undefined_violations_not_a_perfect_score():
    from naapgnn.evaluation.metrics import all_metrics, monotonicity_score

    out = all_metrics([0.1, 0.2, 0.3], [0.5, 0.5, 0.5])
    assert math.isnan(out["violations"]) and math.isnan(out["monotonicity_score"]) and out["max_violations"] == 3
    assert math.isnan(monotonicity_score([0.1, 0.2, 0.3], [0.5, 0.5, 0.5]))
    assert all_metrics([0.1, 0.2, 0.3], [0.5, 0.5, 0.4])["violations"] == 2


def test_a_seed_that_predicted_one_value_leaves_the_paper_comparison_and_the_detail_csv_defined(data_dir):
    from baselines.runner import paper_comparison
    from naapgnn.cli.baselines import detail_frame
    from naapgnn.data.naap440 import load_paper_baselines
    from naapgnn.features.tabular import feature_set_name

    paper = load_paper_baselines(data_dir)
    model, features = paper["Model"].iloc[0], paper["Features"].iloc[0]
    budget = next(k for k in (0, 3, 6, 9) if feature_set_name(k) == features)
    row = {"model": model, "budget": budget, "violations": math.nan, "seed_violations": [math.nan, 3, math.nan, 5],
           "mae": 0.05, "seed_mae": [0.05] * 4}
    (out,) = paper_comparison([row], paper).to_dict("records")
    assert math.isnan(out["violations"]) and (out["violations_min"], out["violations_max"]) == (3, 5)
    assert out["match"] is False and out["in_range"] == (3 <= out["paper_violations"] <= 5)
    assert detail_frame([row]).to_csv(index=False).splitlines()[1].split(",")[3] == ";3;;5"


def test_train_says_the_graph_networks_tau_is_undefined_where_it_predicted_one_value():
    from types import SimpleNamespace

    from naapgnn.cli.train import held_out_summary

    records = [SimpleNamespace(target=t) for t in (0.1, 0.2, 0.3)]
    model = SimpleNamespace(stack_oof_=np.array([0.1, 0.3, 0.2]), oof_prediction_=np.array([0.5, 0.5, 0.5]))
    line = held_out_summary(model, records)
    assert line.endswith("Kendall tau 0.333 (the graph network alone, one member each: undefined (all 3 "
                         "predictions are 0.5))") and "nan" not in line


def test_baselines_say_why_a_constant_predictor_is_undefined(tmp_path):
    from baselines.runner import markdown, markdown_frame, results_frame, summary_text

    row = {"model": "m", "budget": 0, "mae": 0.05, "violations": float("nan"), "max_violations": 105,
           "monotonicity_score": float("nan"), "kendall_tau": float("nan"), "spearman": float("nan"),
           "undefined": "all 15 predictions are 0.834"}
    good = {**row, "model": "g", "violations": 7, "monotonicity_score": 0.9333, "kendall_tau": 0.8667,
            "spearman": 0.95, "undefined": None}
    table = summary_text([row, good], "official")
    assert "undefined (all 15 predictions are 0.834)  0.0500" in table and "7/105  0.0500" in table
    assert "0/105" not in table and "nan" not in table
    md = markdown(markdown_frame([row, good]))
    assert md.count("undefined (all 15 predictions are 0.834)") == 1 and md.count("| undefined ") == 4  # and 3 bare
    assert "nan" not in md and "| 7 " in md
    csv = results_frame([row, good]).to_csv(index=False).splitlines()
    assert csv[1] == "m,0,0.05,,105,,," and csv[2].startswith("g,0,0.05,7,105,")


def test_evaluate_leaves_out_onehot_ops_on_networks_that_are_not_nb201_cells(tmp_path, capsys):
    data = _write(tmp_path / "b.jsonl")
    out = tmp_path / "out"
    code = main(["evaluate", "--jobs", "1", "--data", str(data), "--predictors", "onehot_ops,curve_last", "--budgets",
                 "0,3", "--protocol", "official", "--inner-folds", "0", "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert ("note: onehot_ops is left out: it reads NAS-Bench-201 cells only, and b.jsonl line 1 (record 'g0') is "
            "not a NAS-Bench-201 network") in captured.err
    assert "onehot_ops runs at budget" not in captured.err
    assert "onehot_ops" not in (out / "results.csv").read_text()
    assert ("- Left out: `onehot_ops`: it reads NAS-Bench-201 cells only, and b.jsonl line 1 (record 'g0') is not a "
            "NAS-Bench-201 network.") in (out / "report.md").read_text()
    # asked for alone: the cell's one-line error, naming the file and line
    code = main(["evaluate", "--jobs", "1", "--data", str(data), "--predictors", "onehot_ops", "--budgets", "0",
                 "--protocol", "official", "--inner-folds", "0", "--out", str(tmp_path / "out2"), "--quiet"])
    err = capsys.readouterr().err
    assert code != 0 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "b.jsonl line 1 (record 'g0'): not a NAS-Bench-201 network" in err


def test_evaluate_says_undefined_violations_of_a_one_value_predictor_on_screen_and_in_its_figure(tmp_path, capsys,
                                                                                              monkeypatch):
    import naapgnn.evaluation.plots as plots

    path = _write(tmp_path / "b.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:  # every run logs the same curve: curve_last predicts one value
        row["curve"] = rows[0]["curve"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    notes = []
    real = plots.plot_pred_vs_true
    monkeypatch.setattr(plots, "plot_pred_vs_true", lambda panels, out: notes.extend(p["note"] for p in panels)
                        or real(panels, out))
    code = main(["evaluate", "--jobs", "1", "--data", str(path), "--predictors", "curve_last", "--budgets", "3",
                 "--protocol", "official", "--inner-folds", "0", "--out", str(tmp_path / "out"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    (line,) = [r for r in out.splitlines() if r.strip().startswith("3 ")]
    assert line.split()[2:4] == ["undefined", "undef."] and "nan" not in out
    assert notes and all("violations undefined (one value predicted)" in n for n in notes)


def test_the_summary_line_scores_the_predictions_as_the_csv_writes_them():
    """Two predictions 3e-10 apart (the float noise of a batch) tie in the CSV: the summary counts no violation
    there either, and it says which records the checkpoint trained on."""
    from naapgnn.cli.predict import predictions_csv, summary_line

    records = [Record(str(i), resnet_layers(1, 4, 3), target=t) for i, t in enumerate([0.5, 0.6, 0.7])]
    mean = np.array([0.6123456784, 0.6123456781, 0.7])
    line = summary_line(records, mean, 0, training_ids=["0", "other"])
    written = [float(row.split(",")[1]) for row in predictions_csv(records, mean, [0.01] * 3).splitlines()[1:]]
    assert "Kendall tau 0.816, violations 0/3" in line and describe_tau([0.5, 0.6, 0.7], written) == "0.816"
    assert line.endswith("(1 of them with the id of a record the checkpoint trained on: a fit's own records score "
                         "better than new ones)")
    assert "of them with the id" not in summary_line(records, mean, 0)


def test_the_summary_line_names_new_runs_of_configurations_the_checkpoint_trained_on():
    """A seed of a training configuration under another id scores like a training record: the summary says so."""
    from naapgnn.arch.format import parse_architecture
    from naapgnn.cli.predict import summary_line
    from naapgnn.data.configurations import configuration_keys

    records = [Record(str(i), parse_architecture(resnet_layers(1, 4 + i, 3)), target=t)
               for i, t in enumerate([0.5, 0.6, 0.7])]
    trained = [Record("seed1-of-0", records[0].arch, target=0.51), Record("1", records[1].arch, target=0.6)]
    mean = np.array([0.5, 0.6, 0.7])
    line = summary_line(records, mean, 0, [r.id for r in trained], configuration_keys(trained))
    assert line.endswith("(1 of them with the id of a record the checkpoint trained on, and 1 more runs of a "
                         "configuration (architecture and hyperparameters) it trained on, under another id: a fit's "
                         "own records and other runs of them score better than new ones)")
    other = summary_line(records, mean, 0, ["x"], configuration_keys(trained))
    assert other.endswith("(2 of them runs of a configuration (architecture and hyperparameters) it trained on, "
                          "under another id: a fit's own records and other runs of them score better than new ones)")
    unrelated = configuration_keys([Record("y", parse_architecture(resnet_layers(2, 9, 3)))])
    assert "under another id" not in summary_line(records, mean, 0, ["x"], unrelated)


def test_train_notes_that_repeated_runs_of_a_configuration_are_held_out_together():
    from naapgnn.arch.format import parse_architecture
    from naapgnn.cli.train import repeated_runs_note

    archs = [parse_architecture(resnet_layers(1, 4 + i, 3)) for i in range(3)]
    seeds = [Record(f"a{i}-s{s}", archs[i], hparams={"lr": 0.1}, target=0.5) for i in range(3) for s in range(2)]
    assert repeated_runs_note(seeds).startswith("3 configurations (architecture and hyperparameters) appear in more "
                                                "than one training record (6 records): with fewer than 10 "
                                                "configurations the fit holds records out one by one")
    ten = [Record(f"b{i}-s{s}", parse_architecture(resnet_layers(1, 4 + i, 3)), hparams={"lr": 0.1}, target=0.5)
           for i in range(10) for s in range(2)]
    assert repeated_runs_note(ten).startswith("10 configurations (architecture and hyperparameters) appear in more "
                                              "than one training record (20 records): every held-out prediction")
    other_rate = [Record("a0-s9", archs[0], hparams={"lr": 0.01}, target=0.5)]
    assert repeated_runs_note(other_rate + [seeds[0], seeds[2]]) is None  # another lr is another configuration


def test_train_names_the_file_whose_targets_are_all_equal(tmp_path, capsys):
    path = tmp_path / "flat.jsonl"
    path.write_text("".join(json.dumps({"id": f"n{i}", "arch": resnet_layers(1, 4 + i, 3), "target": 0.9}) + "\n"
                            for i in range(12)))
    assert main(["train", "--budget", "0", "--data", str(path), "--out", str(tmp_path / "ck"), "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == (f"naapgnn train: error: {path} (training split): all 12 targets are "
                                               "0.9: nothing to rank")


def test_the_baselines_table_says_its_protocol_and_what_its_cells_hold():
    from baselines.runner import summary_text

    row = {"model": "m", "budget": 0, "kendall_tau": 0.5, "kendall_tau_std": 0.1, "violations": 20.0, "mae": 0.03,
           "max_violations": 190}
    assert summary_text([row], "repeated").splitlines()[0] == (
        "repeated protocol; each cell: Kendall tau mean+-std over the runs, v: mean violations")
    assert summary_text([row], "official").splitlines()[0] == (
        "official protocol; each cell: violations/pairs  MAE of the median-violations seed")

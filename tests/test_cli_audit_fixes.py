"""Audit fixes: search without a mutation neighbourhood leaves evolution out (predictor, compare) instead of
refusing; ``baselines --target-scale``; baselines and search refuse a benchmark whose targets are all equal."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import numpy as np
import pytest

from naapgnn.cli import main
from naapgnn.data.deep_resnets import resnet_layers

NOTE = ("note: evolution is left out: it needs to know which architectures are one mutation apart, and these "
        "records are neither NAAP-440 schemes nor NAS-Bench-201 networks")


def _write_graphs(path: Path, percent: bool = False, constant: float | None = None) -> Path:
    """24 deep-ResNet layer graphs (no NAAP-440 scheme, no NAS-Bench-201 cell: no mutation neighbourhood) with
    6 epochs of accuracy, hyperparameters and every fourth marked test. Targets are percentages with two
    decimals, written as given (``percent``) or divided by 100 as ``--target-scale percent`` divides them, so
    both files hold the same fractions bit for bit; or all ``constant``."""
    lines = []
    for i, (blocks, width, kernel, lr) in enumerate(itertools.product((1, 2), (4, 8, 16), (3, 5), (0.1, 0.01))):
        value = round(20 + 2 * blocks + width + kernel + 30 * lr + (i * 7919 % 300) / 100, 2)
        target = constant if constant is not None else value if percent else value / 100
        curve = [round(value / 100 * (e + 1) / 7, 4) for e in range(6)]
        lines.append(json.dumps({"id": f"g{i}", "arch": resnet_layers(blocks, width, kernel),
                                 "hparams": {"lr": lr, "ss": 1000.0}, "target": target,
                                 "curve": {"accuracy": curve}, "split": "test" if i % 4 == 0 else "train"}))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture()
def graphs(tmp_path) -> Path:
    return _write_graphs(tmp_path / "graphs.jsonl")


# --- 1. evolution left out where no finder knows the records -------------------------------------------------


def test_predictor_strategy_runs_without_a_mutation_neighbourhood(graphs, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["search", "--strategy", "predictor", "--predictor", "forest", "--data", str(graphs), "--trials", "1",
                 "--n-train", "5", "--top-k", "3", "--processes", "1", "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.splitlines()[0] == NOTE
    table = pd.read_csv(out / "predictor.csv")
    assert {"predictor_rank", "random_rank"} <= set(table.columns)
    assert not any(c.startswith("evolution") for c in table.columns)
    report = (out / "predictor.md").read_text()
    assert "regularized evolution is left out" in report and "P = 20" not in report
    assert (out / "predictor.png").stat().st_size > 0


def test_compare_strategy_runs_random_and_predictor_only(graphs, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["search", "--strategy", "compare", "--data", str(graphs), "--trials", "2", "--n-train", "5",
                 "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.splitlines()[0] == NOTE
    assert set(pd.read_csv(out / "compare.csv").strategy) == {"random", "predictor N=5"}


def test_evolution_alone_still_refuses_in_one_line(graphs, tmp_path, capsys):
    assert main(["search", "--strategy", "evolution", "--data", str(graphs), "--trials", "1",
                 "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "evolution needs to know which architectures are one mutation apart" in err and "\n" not in err


def test_run_search_keeps_evolution_where_the_problem_has_neighbours(graphs, tmp_path):
    # a neighbour table given with the problem: evolution runs, no note
    from naapgnn.data.records import load_benchmark
    from naapgnn.search.neighbours import has_neighbours
    from naapgnn.search.problem import SearchProblem
    from naapgnn.search.runs import run_search
    from naapgnn.search.settings import SearchSettings

    records = load_benchmark(graphs)
    assert not has_neighbours(SearchProblem(records))
    ring = [[[(i - 1) % len(records), (i + 1) % len(records)]] for i in range(len(records))]
    problem = SearchProblem(records, neighbours=ring)
    assert has_neighbours(problem)
    settings = SearchSettings(strategy="compare", n_train=(5,), trials=1, population=4, sample=2, progress=False)
    output = run_search(settings, problem, tmp_path / "out")
    assert "left out" not in output.text
    assert set(pd.read_csv(tmp_path / "out" / "compare.csv").strategy) == {"random", "evolution", "predictor N=5"}


# --- 2. baselines --target-scale ------------------------------------------------------------------------------


def test_baselines_takes_target_scale_and_percent_gives_the_fraction_figures(tmp_path, capsys):
    fraction = _write_graphs(tmp_path / "fraction.jsonl")
    percent = _write_graphs(tmp_path / "percent.jsonl", percent=True)
    argv = ["baselines", "--models", "Baker et al. nu-SVR", "--budgets", "3", "--protocol", "repeated",
            "--repeats", "2", "--jobs", "1", "--quiet"]
    assert main(argv + ["--data", str(percent), "--out", str(tmp_path / "refused")]) == 2
    assert "use --target-scale percent" in capsys.readouterr().err
    assert main(argv + ["--data", str(fraction), "--out", str(tmp_path / "f")]) == 0
    assert main(argv + ["--data", str(percent), "--out", str(tmp_path / "p"), "--target-scale", "percent"]) == 0
    capsys.readouterr()
    for name in ("baselines.csv", "baselines_detail.csv"):
        assert (tmp_path / "f" / name).read_text() == (tmp_path / "p" / name).read_text()


def test_baselines_help_lists_target_scale(capsys):
    with pytest.raises(SystemExit):
        main(["baselines", "--jobs", "1", "--help"])
    assert "--target-scale {fraction,percent}" in capsys.readouterr().out


# --- 3. constant targets: nothing to rank ---------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["baselines", "--models", "baker", "--budgets", "3", "--jobs", "1"],
    ["search", "--strategy", "early-stop", "--trials", "2", "--processes", "1"],
    ["search", "--strategy", "predictor", "--trials", "1", "--n-train", "5"],
])
def test_baselines_and_search_refuse_constant_targets_as_evaluate_does(argv, tmp_path, capsys):
    data = _write_graphs(tmp_path / "equal.jsonl", constant=0.5)
    out = tmp_path / "out"
    assert main(argv + ["--data", str(data), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"naapgnn {argv[0]}: error: equal.jsonl (24 architectures): all 24 targets are 0.5: nothing to rank"
    assert not (out / "baselines.csv").exists() and not (out / "early_stop.csv").exists()
    # evaluate's own line, the check reused
    assert main(["evaluate", "--jobs", "1", "--data", str(data), "--out", str(tmp_path / "ev"), "--quiet"]) == 2
    assert capsys.readouterr().err.strip().endswith(err.split(": error: ", 1)[1])


# --- 4. tiny test splits: a note on how few pairs a Kendall tau rests on ----------------------------------------

SMALL = ("note: the official test splits hold as few as 6 architectures, so a Kendall tau rests on 15 pairs of them "
         "and is coarse; --protocol kfold --folds 2 tests every architecture once, 12 or more per split")


def test_evaluate_notes_a_test_split_of_few_architectures(graphs, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["evaluate", "--jobs", "1",
                 "--data", str(graphs), "--budgets", "1", "--predictors", "curve_last", "--seeds", "1",
                 "--inner-folds", "0", "--jobs", "1", "--out", str(out), "--quiet"]) == 0
    assert SMALL + "\n" in capsys.readouterr().out
    assert "- Note: " + SMALL[len("note: "):] + ".\n" in (out / "report.md").read_text()


def test_the_screen_table_writes_n_a_for_precision_at_5_of_a_test_split_of_4(graphs, tmp_path, capsys):
    n = sum(1 for line in Path(graphs).read_text().splitlines() if line.strip())
    assert main(["evaluate", "--jobs", "1",
                 "--data", str(graphs), "--budgets", "1", "--predictors", "curve_last", "--protocol",
                 "repeated", "--repeats", "2", "--train-size", str(n - 4), "--inner-folds", "0", "--jobs", "1",
                 "--out", str(tmp_path / "out"), "--quiet"]) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.endswith("Last observed accuracy")]
    assert row.split()[-4] == "n/a" and "nan" not in row


def test_baselines_notes_a_test_split_of_few_architectures(graphs, tmp_path, capsys):
    argv = ["baselines", "--data", str(graphs), "--models", "Baker et al. nu-SVR", "--budgets", "0", "--jobs", "1",
            "--quiet"]
    assert main(argv + ["--out", str(tmp_path / "o")]) == 0
    assert SMALL + "\n" in capsys.readouterr().out
    assert main(argv + ["--out", str(tmp_path / "k"), "--protocol", "kfold", "--folds", "2"]) == 0
    assert "Kendall tau rests on" not in capsys.readouterr().out


# --- 5. test records without a target: refused by file and line, after the options are checked ------------------


def _unlabelled_tests(path: Path) -> Path:
    """The 24 graphs with no target on the test records (lines 1, 5, 9, ...), as a "predict my candidates" file."""
    lines = [json.loads(line) for line in _write_graphs(path).read_text().splitlines()]
    for record in lines[::4]:
        del record["target"]
    path.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    return path


@pytest.mark.parametrize("argv, who", [
    (["evaluate", "--budgets", "0", "--predictors", "curve_last"], "evaluation"),
    (["search", "--strategy", "early-stop"], "search"),
])
def test_a_test_record_without_target_is_named_by_file_and_line(argv, who, tmp_path, capsys):
    data = _unlabelled_tests(tmp_path / "mine.jsonl")
    assert main(argv + ["--data", str(data), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert capsys.readouterr().err.strip().endswith(
        f"error: {data} line 1: target: missing ({who} needs every final accuracy; remove the records without one); "
        "and 5 more invalid records (lines 5, 9, 13, 17, 21)")


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "--protocol", "bogus"], "--protocol: unknown protocol 'bogus' (expected official, repeated, kfold"),
    (["evaluate", "--full-epochs", "-5"], "--full-epochs: -5 is not a number of epochs (>= 1)"),
    (["search", "--strategy", "early-stop", "--full-epochs", "0"], "--full-epochs: 0 is not a number of epochs (>= 1)"),
])
def test_options_are_checked_before_the_data_is_read(argv, message, tmp_path, capsys):
    data = _unlabelled_tests(tmp_path / "mine.jsonl")
    assert main(argv + ["--data", str(data), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert message in capsys.readouterr().err


# --- 6. messages: the record with the shortest curve, "no record has", one quiet line for group models ----------


def _rewrite(path: Path, change) -> Path:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:
        change(record)
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def test_baselines_budgets_past_the_shortest_curve_name_its_record(graphs, tmp_path, capsys):
    _rewrite(graphs, lambda r: r["curve"].update(accuracy=[]) if r["id"] == "g3" else None)
    assert main(["baselines", "--jobs", "1",
                 "--data", str(graphs), "--budgets", "0,3", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    warning, error = capsys.readouterr().err.strip().splitlines()  # the notice of the empty channel, the refusal
    assert warning.startswith("naapgnn baselines: warning: ") and "1 record(s) log no value (line 4)" in warning
    assert error == ("naapgnn baselines: error: --budgets: budget 3 needs 3 epochs of curve, graphs.jsonl line 4 "
                     "(record 'g3') has 0")


def test_lacking_whom_says_no_record_when_none_has_the_channels(graphs):
    from naapgnn.data.records import load_benchmark
    from naapgnn.evaluation.analysis import lacking_whom

    records = load_benchmark(graphs)
    assert lacking_whom(records, ["loss_mean"]) == "no record"
    assert lacking_whom(records, ["loss_mean", "accuracy (under any name)"]) == "not every record"
    assert lacking_whom(records[:1], ["lr (cyclic, period 3)"]) == "no record"


def test_a_schedule_of_another_period_is_no_cyclic_lr_and_mixed_lacks_are_told_apart(graphs):
    from naapgnn.data.records import load_benchmark
    from naapgnn.evaluation.analysis import lacking_whom, reads_lacking

    records = load_benchmark(graphs)
    for r in records:  # every record logs a cosine, not NAAP-440's period-3 cycle
        r.curve["lr"] = 0.05 * (1 + np.cos(np.pi * np.arange(r.num_epochs) / r.num_epochs))
    assert lacking_whom(records, ["lr (cyclic, period 3)"]) == "no record"
    assert reads_lacking(records, ["loss_mean", "lr (cyclic, period 3)"], "b.jsonl") == (
        "reads the curve channel(s) loss_mean, lr (cyclic, period 3), which no record of b.jsonl has")
    records[0].curve["loss_mean"] = np.ones(records[0].num_epochs)
    assert reads_lacking(records, ["loss_mean", "lr (cyclic, period 3)"], "b.jsonl") == (
        "reads the curve channel(s) loss_mean, lr (cyclic, period 3): no record of b.jsonl has lr (cyclic, period 3), "
        "and not every record has loss_mean (the first without: line 2, record 'g1')")


def test_models_a_group_brings_in_get_one_quiet_line(graphs, tmp_path, capsys):
    _rewrite(graphs, lambda r: r.update(curve={"val_loss": [1 - v for v in r["curve"]["accuracy"]]}))
    argv = ["baselines", "--data", str(graphs), "--budgets", "0,1", "--jobs", "1", "--quiet"]
    assert main(argv + ["--models", "extra", "--out", str(tmp_path / "g")]) == 0
    err = capsys.readouterr().err
    assert ("note: left out at budgets >= 1 for curve channels these records lack (name one in --models for more): "
            "Per-layer Random Forest + cycle (reads accuracy, loss_mean, lr (cyclic, period 3))\n") in err
    assert "is left out at budgets >= 1: it reads" not in err
    assert main(argv + ["--models", "Per-layer Random Forest + cycle,Per-layer Random Forest",
                        "--out", str(tmp_path / "n")]) == 0
    assert (f"note: Per-layer Random Forest + cycle is left out at budgets >= 1: it reads the curve channel(s) "
            f"accuracy, loss_mean, lr (cyclic, period 3), which no record of {graphs} has\n") in capsys.readouterr().err


@pytest.mark.parametrize("argv, option, model, channels", [
    (["baselines", "--models", "Per-layer Random Forest + cycle"], "--models", "Per-layer Random Forest + cycle",
     "accuracy, loss_mean, lr (cyclic, period 3)"),
    (["evaluate", "--predictors", "curve_last", "--inner-folds", "0", "--seeds", "1"], "--predictors", "curve_last",
     "accuracy (under any name)"),
])
def test_nothing_to_run_is_one_line_not_a_traceback(argv, option, model, channels, graphs, tmp_path, capsys):
    _rewrite(graphs, lambda r: r.update(curve={"val_loss": [1 - v for v in r["curve"]["accuracy"]]}))
    assert main(argv + ["--data", str(graphs), "--budgets", "0,1", "--jobs", "1", "--quiet",
                        "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip().endswith(
        f"error: {option}: nothing to run at budgets 0, 1 on graphs.jsonl: at budget 0 only a model that reads no "
        f"curve runs, and {model} reads the curve channel(s) {channels}, which no record has")


def test_evaluate_says_no_record_has_the_accuracy(graphs, tmp_path, capsys):
    _rewrite(graphs, lambda r: r.update(curve={"val_loss": [1 - v for v in r["curve"]["accuracy"]]}))
    out = tmp_path / "out"
    assert main(["evaluate", "--jobs", "1",
                 "--data", str(graphs), "--budgets", "0,1", "--predictors", "curve_last,forest",
                 "--seeds", "1", "--inner-folds", "0", "--jobs", "1", "--out", str(out), "--quiet"]) == 0
    assert ("note: curve_last is left out at budgets >= 1: it reads the curve channel(s) accuracy (under any name), "
            f"which no record of {graphs} has\n") in capsys.readouterr().err
    assert ("`curve_last`, which reads the curve channel(s) accuracy (under any name), which no record has."
            in (out / "report.md").read_text())


def test_evaluate_notes_a_zero_training_model_left_out_at_the_curve_budgets(graphs, tmp_path, capsys):
    assert main(["evaluate", "--jobs", "1",
                 "--data", str(graphs), "--budgets", "0,1", "--predictors", "forest,curve_last",
                 "--seeds", "1", "--inner-folds", "0", "--jobs", "1", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "note: forest runs at budget 0 only, so it is left out at budget 1\n" in err
    assert "curve_last runs" not in err


def test_a_negative_list_value_reaches_the_options_own_check(capsys):
    # argparse took "-1,2" for an option and answered "expected one argument" with its usage block
    assert main(["evaluate", "--budgets", "-1,2", "--jobs", "1", "--out", "/nonexistent"]) == 2
    assert capsys.readouterr().err.strip() == (
        "naapgnn evaluate: error: --budgets: '-1' is not an integer number of epochs (0 or more)")

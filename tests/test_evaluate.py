"""naapgnn evaluate: outputs, exact columns, resume without recomputation, errors, the answer."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from naapgnn.evaluation import engine
from naapgnn.evaluation import evaluate as ev
from naapgnn.evaluation.report import write_outputs
from naapgnn.data.records import records_from_naap440
from naapgnn.cli import main
from naapgnn.errors import NaapgnnError

COLUMNS = ("predictor,budget,protocol,mae,violations,monotonicity_score,kendall_tau,spearman,"
           "precision_at_5,precision_at_10,top5_regret")
STD = ",".join(f"{m}_std" for m in COLUMNS.split(",")[3:]) + ",n_runs"
TINY_GNN = {"n_ensemble": 1, "max_epochs": 4, "hidden": 16, "blend_forest": 0.0, "device": "cpu"}


@pytest.fixture(scope="module")
def small_bench(naap440):
    """80 training and 20 official-test architectures of NAAP-440."""
    rows = np.r_[np.flatnonzero(naap440["IsTest"].to_numpy() == 0)[:80],
                 np.flatnonzero(naap440["IsTest"].to_numpy() == 1)[:20]]
    df = naap440.iloc[np.sort(rows)]
    records = records_from_naap440(df)
    y = df["MaxAccuracy"].to_numpy(dtype=float)
    return ev.Benchmark(records, df, y, df["IsTest"].to_numpy().astype(bool), "NAAP-440 subset", 90)


def _evaluate(bench, out, predictors="gnn,paper_gb100,curve_last,naswot"):
    return ev.run_evaluation(bench, out, ev.select_predictors(predictors, TINY_GNN), budgets=[0, 3],
                             protocols=["official"], n_seeds=2, zc_batch_size=8, jobs=1, progress=False,
                             inner_folds=0)


def test_evaluation_writes_results_and_resumes_without_recomputing(small_bench, tmp_path, monkeypatch):
    result = _evaluate(small_bench, tmp_path)
    paths = write_outputs(result, tmp_path)
    assert (tmp_path / "results.csv").read_text().splitlines()[0] == COLUMNS + "," + STD
    table = pd.read_csv(tmp_path / "results.csv")
    # gnn and paper_gb100 at both budgets, curve_last at 3 only, naswot at 0 only.
    assert sorted(zip(table.predictor, table.budget)) == sorted(
        [("gnn", 0), ("gnn", 3), ("paper_gb100", 0), ("paper_gb100", 3), ("curve_last", 3), ("naswot", 0)])
    assert (table.protocol == "official").all()
    # Each mean is that of its runs, and each run's violations are those of its saved predictions.
    from naapgnn.evaluation.metrics import violations

    for (key, budget, _), runs_of in result.predictions.items():
        counted = [violations(small_bench.y[r["test"]], r["pred"]) for r in runs_of]
        row = table[(table.predictor == key) & (table.budget == budget)].iloc[0]
        assert row.violations == pytest.approx(np.mean(counted))
        assert row.n_runs == len(counted)
        if len(counted) > 1:
            assert row.violations_std == pytest.approx(np.std(counted, ddof=1), rel=1e-5)
        assert all(r["max_violations"] == 190 for r in runs_of)  # 20 test architectures
    runs = pd.read_csv(tmp_path / "runs.csv")
    # Seeded predictors ran once per seed; the heuristic (no randomness) once.
    counts = runs.groupby(["predictor", "budget"]).size().to_dict()
    assert counts[("gnn", 0)] == 2 and counts[("naswot", 0)] == 2 and counts[("curve_last", 3)] == 1
    assert result.computed == 4 + 4 + 1 + 2 and result.reused == 0
    # The heuristic's row is exactly the metric of e3Accuracy on the test rows.
    from naapgnn.evaluation.metrics import kendall_tau

    test = small_bench.is_test
    last = table[table.predictor == "curve_last"].iloc[0]
    assert last.kendall_tau == pytest.approx(kendall_tau(small_bench.y[test], small_bench.table["e3Accuracy"].to_numpy()[test]))
    for name in ("report", "curves_official", "pred_vs_true", "rank_matrix"):
        assert paths[name].is_file() and paths[name].stat().st_size > 0
    report = paths["report"].read_text()
    assert "FALLBACK: Gaussian noise" in report and "![Rank agreement matrix](rank_matrix.png)" in report
    assert "No budget advice" in report and "advice" not in paths  # inner_folds=0
    ms = 1000 * small_bench.zero_cost_seconds["naswot"]  # a run reads the scores, computed once before the runs
    assert f" + {ms:.0f} ms per architecture, scored once before the runs |" in report

    # Second invocation: every run and the zero-cost scores come from the cache.
    def refuse(*args, **kwargs):
        raise AssertionError("recomputed a cached run")

    monkeypatch.setattr(engine, "fit_score", refuse)
    monkeypatch.setattr("naapgnn.models.zero_cost.score_architectures", refuse)
    again = _evaluate(small_bench, tmp_path)
    assert again.computed == 0 and again.reused == 11
    pd.testing.assert_frame_equal(again.results, result.results)


def test_changed_settings_or_data_recompute_only_what_changed(small_bench, tmp_path, monkeypatch):
    _evaluate(small_bench, tmp_path, "paper_gb100,curve_last")
    calls = []
    original = engine.fit_score
    monkeypatch.setattr(engine, "fit_score", lambda predictor, *a: calls.append(predictor.key) or original(predictor, *a))
    result = _evaluate(small_bench, tmp_path, "paper_gb100,curve_last,curve_best")
    assert calls == ["curve_best"] and result.reused == 5  # gb100: 2 budgets x 2 seeds; curve_last: 1
    # A line cut short by a kill is recomputed, not trusted.
    log = tmp_path / "cache" / "runs.jsonl"
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:-1] + [lines[-1][:40]]) + "\n")
    calls.clear()
    _evaluate(small_bench, tmp_path, "curve_best")
    assert calls == ["curve_best"]


def test_cli_on_a_json_lines_benchmark(small_benchmark, tmp_path, capsys):
    bench = small_benchmark(5)
    out = tmp_path / "out"
    rc = main(["evaluate", "--jobs", "1", "--data", str(bench), "--budgets", "0,3", "--seeds", "1", "--jobs", "1",
               "--predictors", "paper_gb100,curve_best", "--out", str(out), "--quiet"])
    assert rc == 0
    assert (out / "results.csv").read_text().splitlines()[0].startswith(COLUMNS + ",")
    captured = capsys.readouterr()
    stdout = captured.out
    assert "good enough" in stdout and "on the test architectures: Kendall tau" in stdout
    figures = sorted(path.name for path in out.glob("*.png"))
    assert f"report.md and {len(figures)} figures" in captured.err and len(figures) == 3, figures
    advice = pd.read_csv(out / "advice.csv")
    assert len(advice) == 1 and advice.protocol[0] == "official" and advice.budget[0] in (0, 3)
    inner = pd.read_csv(out / "inner_runs.csv")
    assert sorted(inner.split.unique()) == [0, 1, 2, 3, 4]  # the default five inner folds
    assert set(inner.protocol) == {"inner:official"}
    report = (out / "report.md").read_text()
    assert "Chosen on 5 seeded folds inside the records not marked" in report and " ± " in report
    rc = main(["evaluate", "--jobs", "1",
               "--data", str(bench), "--budgets", "6", "--predictors", "curve_best", "--out", str(out)])
    assert rc == 2
    assert "budget 6 needs 6 epochs of curve" in capsys.readouterr().err


def test_bad_options_are_one_line_errors(capsys):
    assert main(["evaluate", "--jobs", "1", "--predictors", "oracle", "--out", "/nonexistent"]) == 2
    assert "unknown predictor 'oracle'" in capsys.readouterr().err
    assert main(["evaluate", "--jobs", "1", "--budgets", "0,x"]) == 2
    assert "'x' is not an integer number of epochs" in capsys.readouterr().err
    assert main(["evaluate", "--jobs", "1", "--budgets", "0,91", "--out", "/nonexistent"]) == 2
    assert "budget 91 needs 91 epochs of curve, record" in capsys.readouterr().err
    assert main(["evaluate", "--jobs", "1", "--inner-folds", "1", "--out", "/nonexistent"]) == 2
    assert "--inner-folds must be 0 (no advice) or >= 2, got 1" in capsys.readouterr().err
    assert main(["evaluate", "--jobs", "1", "--gnn-params", '{"budget": 3}']) == 2
    assert "'budget' is set by the command itself" in capsys.readouterr().err
    with pytest.raises(NaapgnnError, match="not one of the paper's models"):
        ev.select_predictors("paper:Oracle")


def test_predictor_keys_are_listed_in_order():
    assert tuple(ev.make_predictors()) == ev.PREDICTORS
    assert set(ev.GROUPS["default"]) <= set(ev.PREDICTORS)
    from naapgnn.models.registry import available

    assert set(ev.PREDICTORS) <= set(available())


def test_every_protocol_runs_with_its_own_splits(small_bench, tmp_path):
    """kfold tests every architecture once, extrapolate tests the top 20% by accuracy, repeated
    draws different random splits; the zero-cost-augmented forest runs beside the plain one."""
    predictors = ev.select_predictors("curve_last,forest,forest+zero_cost")
    result = ev.run_evaluation(small_bench, tmp_path, predictors, budgets=[0, 3],
                               protocols=["kfold", "extrapolate", "repeated"], n_seeds=1, n_repeats=3, n_folds=4,
                               zc_batch_size=8, jobs=1, progress=False, inner_folds=0)
    runs = result.runs
    counts = runs.groupby(["protocol", "predictor", "budget"]).size().to_dict()
    assert counts[("kfold", "curve_last", 3)] == 4 and counts[("repeated", "forest", 0)] == 3
    assert counts[("extrapolate", "forest+zero_cost", 0)] == 1
    table = result.results
    assert set(table.protocol) == {"kfold", "extrapolate", "repeated"}
    assert ("forest+zero_cost", 3) not in set(zip(table.predictor, table.budget))  # zero-cost inputs: budget 0 only
    tests = {(p, s): r["test"] for (key, _, p), runs_of in result.predictions.items() if key == "curve_last"
             for s, r in enumerate(runs_of)}
    kfold = sorted(i for (p, _), t in tests.items() if p == "kfold" for i in t)
    assert kfold == list(range(len(small_bench.y)))
    top = np.sort(np.argsort(small_bench.y, kind="stable")[-20:])
    assert tests[("extrapolate", 0)] == top.tolist()
    repeated = [tuple(t) for (p, _), t in tests.items() if p == "repeated"]
    assert len(repeated) == 3 and len(set(repeated)) == 3


def test_a_predictor_reading_absent_channels_is_left_out_at_budgets_above_zero(small_benchmark, tmp_path, capsys):
    bench = small_benchmark(5, channels=["accuracy"])  # an accuracy curve only, as the deep ResNets have
    out = tmp_path / "out"
    rc = main(["evaluate", "--jobs", "1",
               "--data", str(bench), "--budgets", "0,3", "--seeds", "1", "--jobs", "1", "--inner-folds", "0",
               "--predictors", "paper_gb100,curve_best", "--out", str(out), "--quiet"])
    assert rc == 0
    err = capsys.readouterr().err
    assert ("note: paper_gb100 is left out at budgets >= 1: it reads the curve channel(s) loss_mean, loss_median"
            in err)
    results = pd.read_csv(out / "results.csv")
    assert sorted(zip(results.predictor, results.budget)) == [("curve_best", 3), ("paper_gb100", 0)]
    assert "Left out at budgets >= 1: `paper_gb100`" in (out / "report.md").read_text()


def test_the_curve_heuristics_read_an_accuracy_channel_of_another_name_and_scale(small_benchmark, tmp_path, capsys):
    import json

    path = small_benchmark(5, channels=["accuracy", "loss_mean"])
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:  # validation accuracy in percent under another name
        row["curve"]["val_acc"] = [100 * v for v in row["curve"].pop("accuracy")]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "out"
    argv = ["evaluate", "--data", str(path), "--budgets", "3", "--seeds", "1", "--jobs", "1", "--inner-folds", "0",
            "--predictors", "curve_last", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    last = pd.read_csv(out / "results.csv").iloc[0]
    expected = np.array([row["curve"]["val_acc"][2] / 100 for row in rows if row["split"] == "test"])
    truth = np.array([row["target"] for row in rows if row["split"] == "test"])
    assert last.mae == pytest.approx(np.mean(np.abs(expected - truth)), abs=1e-6)  # results.csv: 6 decimals
    for row in rows:  # losses only: nothing holds the accuracy
        del row["curve"]["val_acc"]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    capsys.readouterr()
    assert main([*argv[:-5], "--predictors", "curve_last,paper_gb100", "--budgets", "0,3", "--out",
                 str(tmp_path / "out2"), "--quiet"]) == 0
    assert ("note: curve_last is left out at budgets >= 1: it reads the curve channel(s) accuracy (under any name)"
            in capsys.readouterr().err)


def test_channels_lacking_names_what_some_record_misses(small_bench):
    records = [r for r in small_bench.records]
    predictors = ev.select_predictors("paper_gb100,curve_last,gnn", TINY_GNN)
    assert ev.channels_lacking(small_bench, predictors) == {}
    without = ev.Benchmark([*records[:-1], type(records[-1])(id="x", arch=records[-1].arch,
                                                             curve={"accuracy": records[-1].curve["accuracy"]})],
                           small_bench.table, small_bench.y, small_bench.is_test, "subset", 90)
    assert ev.channels_lacking(without, predictors) == {"paper_gb100": ["loss_mean", "loss_median"]}


def test_cycle_readers_need_a_declared_cyclic_rate_of_their_period(small_bench):
    import dataclasses

    predictors = ev.select_predictors("curve_power_law_cycle,forest+cycle,curve_power_law", TINY_GNN)
    assert ev.channels_lacking(small_bench, predictors) == {}  # NAAP-440 declares its period-3 rate

    def bench_with(lr):
        records = [dataclasses.replace(r, curve={**{k: v for k, v in r.curve.items() if k != "lr"},
                                                  **({} if lr is None else {"lr": np.asarray(lr, dtype=float)})})
                   for r in small_bench.records]
        return ev.Benchmark(records, small_bench.table, small_bench.y, small_bench.is_test, "other", 90)

    cyclic = "lr (cyclic, period 3)"
    expected = {"curve_power_law_cycle": [cyclic], "forest+cycle": [cyclic]}
    assert ev.channels_lacking(bench_with(None), predictors) == expected  # no schedule given
    assert ev.channels_lacking(bench_with([0.1] * 30 + [0.01] * 60), predictors) == expected  # a step decay
    period_four = ([0.1, 0.05, 0.01, 0.005] * 23)[:90]
    assert ev.channels_lacking(bench_with(period_four), predictors) == expected  # cyclic, but of period 4
    assert ev.channels_lacking(bench_with([0.1, 0.01, 0.001] * 30), predictors) == {}


def test_default_budgets_stop_at_the_shortest_curve(small_benchmark, tmp_path, capsys):
    bench = small_benchmark(4)
    out = tmp_path / "out"
    rc = main(["evaluate", "--jobs", "1", "--data", str(bench), "--seeds", "1", "--jobs", "1", "--inner-folds", "0",
               "--predictors", "paper_gb100,curve_best", "--out", str(out), "--quiet"])
    assert rc == 0
    assert ("note: budgets 0, 1, 2, 3, 4 kept, 5, 6, 7, 8, 9 left out: the shortest curve of the benchmark has 4 "
            "epochs") in capsys.readouterr().out
    assert sorted(pd.read_csv(out / "results.csv").budget.unique()) == [0, 1, 2, 3, 4]


def test_the_fingerprint_changes_with_any_curve_channel_or_hyperparameter(small_bench):
    import copy

    def changed(edit) -> bool:
        records = copy.deepcopy(small_bench.records)
        edit(records[0])
        other = ev.Benchmark(records, small_bench.table, small_bench.y, small_bench.is_test, "copy", 90)
        return other.fingerprint() != small_bench.fingerprint()

    assert not changed(lambda r: None)
    assert changed(lambda r: r.curve["loss_mean"].__setitem__(0, 9.0))
    assert changed(lambda r: r.hparams.__setitem__("lr", 0.5))


def test_a_benchmark_with_no_test_record_is_evaluated_under_the_repeated_protocol(small_benchmark, tmp_path, capsys):
    import json

    path = small_benchmark(3, channels=["accuracy"])
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps({k: v for k, v in row.items() if k != "split"}) + "\n" for row in rows))
    argv = ["--data", str(path), "--budgets", "0", "--jobs", "1", "--quiet"]
    assert main(["evaluate", "--jobs", "1",
                 *argv, "--seeds", "1", "--repeats", "2", "--inner-folds", "0", "--predictors", "paper_gb100",
                 "--out", str(tmp_path / "ev")]) == 0
    note = ("no record of {} is marked test (\"split\": \"test\"), so the official protocol has no test split: "
            "using the repeated protocol (--protocol to choose)".format(path))
    assert note in capsys.readouterr().err
    assert set(pd.read_csv(tmp_path / "ev" / "results.csv").protocol) == {"repeated"}
    assert main(["baselines", "--jobs", "1",
                 *argv, "--repeats", "2", "--models", "baker", "--out", str(tmp_path / "bl")]) == 0
    assert note in capsys.readouterr().err
    assert (tmp_path / "bl" / "baselines.csv").is_file()
    assert main(["evaluate", "--jobs", "1", *argv, "--protocol", "official", "--predictors", "paper_gb100",
                 "--out", str(tmp_path / "ev2")]) == 2
    assert "none of the 52 is marked test" in capsys.readouterr().err


def test_repeats_given_where_the_official_protocol_runs_gets_a_note(small_benchmark, tmp_path, capsys):
    path = small_benchmark(3, channels=["accuracy"])  # it marks test records: official by default
    argv = ["--data", str(path), "--budgets", "0", "--jobs", "1", "--quiet", "--repeats", "2"]
    note = ("note: --repeats 2 sets the repeated protocol's splits, and it does not run here (protocol official; "
            "--protocol repeated to run it)")
    assert main(["evaluate", *argv, "--seeds", "1", "--inner-folds", "0", "--predictors", "paper_gb100",
                 "--out", str(tmp_path / "ev")]) == 0
    assert note in capsys.readouterr().err
    assert set(pd.read_csv(tmp_path / "ev" / "results.csv").protocol) == {"official"}
    assert main(["baselines", *argv, "--models", "baker", "--out", str(tmp_path / "bl")]) == 0
    assert note in capsys.readouterr().err
    assert main(["baselines", *argv, "--models", "baker", "--protocol", "repeated", "--out", str(tmp_path / "r")]) == 0
    assert "--repeats" not in capsys.readouterr().err
    assert len(pd.read_csv(tmp_path / "r" / "baselines_detail.csv")) > 0


def test_zero_cost_scores_a_group_brings_in_are_left_out_beyond_the_time_limit(small_benchmark, tmp_path, capsys):
    import json

    bench = small_benchmark(3)
    common = ["evaluate", "--data", str(bench), "--budgets", "0", "--seeds", "1", "--jobs", "1", "--inner-folds", "0",
              "--zc-batch-size", "8", "--zc-max-minutes", "0", "--quiet"]
    tiny = json.dumps({k: v for k, v in TINY_GNN.items() if k != "device"})
    assert main(common + ["--gnn-params", tiny, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "note: naswot, synflow left out: their scores of 52 architectures x 1 seeds would take about" in err
    assert "name them in --predictors to run them" in err
    results = pd.read_csv(tmp_path / "a" / "results.csv")
    assert "gnn" in set(results.predictor) and not {"naswot", "synflow"} & set(results.predictor)
    assert "- Left out: `naswot`, whose zero-cost scores were projected to take" in (
        tmp_path / "a" / "report.md").read_text()
    assert main(common + ["--predictors", "paper_gb100,naswot", "--out", str(tmp_path / "b")]) == 0
    assert "left out" not in capsys.readouterr().err
    assert set(pd.read_csv(tmp_path / "b" / "results.csv").predictor) == {"paper_gb100", "naswot"}
    assert main(common[:-3] + ["--zc-max-minutes", "-1", "--out", str(tmp_path / "c")]) == 2
    assert "--zc-max-minutes must be >= 0, got -1" in capsys.readouterr().err


def test_the_report_notes_test_splits_whose_true_accuracies_tie(small_benchmark, tmp_path):
    import json

    from naapgnn.cli import main

    path = small_benchmark(3)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    common = ["evaluate", "--predictors", "curve_last", "--budgets", "1", "--inner-folds", "0", "--seeds", "1",
              "--jobs", "1", "--quiet", "--data", str(path)]
    assert main(common + ["--out", str(tmp_path / "a")]) == 0
    assert "tied pairs" not in (tmp_path / "a" / "report.md").read_text()  # NAAP-440's test accuracies differ
    tested = [r for r in rows if r.get("split") == "test"]
    tested[1]["target"] = tested[2]["target"] = tested[0]["target"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(common + ["--out", str(tmp_path / "b")]) == 0
    assert ("- Note: 1 of 1 official test splits hold architectures of equal final accuracy (up to 3 tied pairs in "
            "one); violations, the paper's count, take a tied pair in the order of the records") in (
        tmp_path / "b" / "report.md").read_text()


def test_a_former_runs_extra_outputs_are_removed_and_nothing_else(tmp_path):
    from naapgnn.cli.evaluate import remove_former_outputs
    from naapgnn.folders import OUTPUTS_NAME

    for name in ("curves_official.png", "curves_repeated.png", "report.md", "advice.csv", "mine.csv"):
        (tmp_path / name).write_text("x")
    written = [tmp_path / "report.md", tmp_path / "curves_repeated.png"]
    # no run wrote into the folder before: files of an output's name are the user's and stay
    assert remove_former_outputs(tmp_path, written) == []
    assert (tmp_path / OUTPUTS_NAME).read_text() == "curves_repeated.png\nreport.md\n"
    (tmp_path / OUTPUTS_NAME).write_text("curves_official.png\nreport.md\nadvice.csv\nbaselines.csv\n")
    assert [p.name for p in remove_former_outputs(tmp_path, written)] == ["advice.csv", "curves_official.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [OUTPUTS_NAME, "curves_repeated.png", "mine.csv", "report.md"]
    # another command's outputs stay listed
    assert (tmp_path / OUTPUTS_NAME).read_text() == "baselines.csv\ncurves_repeated.png\nreport.md\n"


def test_the_screen_gives_every_figure_its_spread_over_splits(small_benchmark, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["evaluate", "--data", str(small_benchmark(5)), "--budgets", "0,3", "--protocol", "repeated",
               "--repeats", "3", "--inner-folds", "0", "--jobs", "1", "--predictors", "curve_last,paper_gb100",
               "--out", str(out), "--quiet"])
    assert rc == 0
    screen = capsys.readouterr().out.splitlines()
    results = pd.read_csv(out / "results.csv").set_index(["predictor", "budget"])
    for budget in (0, 3):
        line = next(s for s in screen if s.split()[:1] == [str(budget)])
        rows = results.xs(budget, level="budget").itertuples()
        assert any(f"{r.violations:.1f}+-{r.violations_std:.1f}" in line
                   and f"{r.precision_at_5:.2f}+-{r.precision_at_5_std:.2f}" in line for r in rows), line
    report = (out / "report.md").read_text()
    r = results.loc[("curve_last", 3)]
    assert f"/ {r.violations:.1f} ± {r.violations_std:.1f}" in report

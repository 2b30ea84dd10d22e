"""naapgnn evaluate's budget advice: the spread rule, chosen on inner folds that never read a test row,
and budgets checked against the benchmark's own curve length."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from naapgnn.arch.format import parse_architecture
from naapgnn.cli import main
from naapgnn.data.deep_resnets import resnet_layers
from naapgnn.data.records import Record, records_from_naap440, write_jsonl
from naapgnn.errors import NaapgnnError, NaapgnnWarning
from naapgnn.evaluation import evaluate as ev
from naapgnn.evaluation.analysis import advise, good_enough_budget, times_faster

SUMMARY = [  # predictor, budget, mean inner Kendall tau, its std over inner folds
    ("a", 0, 0.80, 0.02), ("b", 0, 0.85, 0.03), ("a", 1, 0.86, 0.01), ("b", 2, 0.88, 0.02),
    ("a", 3, 0.90, 0.03), ("a", 4, 0.89, 0.01)]


def _summary(rows=SUMMARY):
    return pd.DataFrame([{"predictor": p, "budget": b, "kendall_tau": t, "kendall_tau_std": s, "violations": 1.0,
                          "mae": 0.01} for p, b, t, s in rows])


def test_the_advice_is_the_smallest_budget_within_the_best_budgets_spread():
    # Best per budget: 0 b 0.85, 1 a 0.86, 2 b 0.88, 3 a 0.90 +- 0.03, 4 a 0.89 -> threshold 0.87 -> budget 2.
    answer = good_enough_budget(_summary())
    assert (answer["budget"], answer["predictor"], answer["kendall_tau"]) == (2, "b", 0.88)
    assert (answer["best_budget"], answer["best_predictor"], answer["margin"]) == (3, "a", 0.03)
    # --tolerance is a floor on the margin: 0.06 reaches budget 0 (0.85 >= 0.84), 0.01 changes nothing.
    assert good_enough_budget(_summary(), tolerance=0.06)["budget"] == 0
    assert good_enough_budget(_summary(), tolerance=0.01)["budget"] == 2
    # No spread (one run) and no tolerance: only the best budget itself qualifies.
    single = _summary([(p, b, t, math.nan) for p, b, t, _ in SUMMARY])
    assert good_enough_budget(single)["budget"] == 3


def _runs(protocol, rows):
    return pd.DataFrame([{"predictor": p, "budget": b, "protocol": protocol, "split": s, "seed": 1,
                          "kendall_tau": t, "violations": 1.0, "mae": m} for p, b, s, t, m in rows])


def test_advise_chooses_per_outer_split_and_scores_each_choice_on_its_own_test_split():
    # Three outer splits of two inner folds each (split // 2 = outer split).
    inner = _runs("inner:repeated", [
        ("a", 0, 0, 0.70, 0.02), ("a", 0, 1, 0.72, 0.02), ("a", 5, 0, 0.80, 0.01), ("a", 5, 1, 0.90, 0.01),
        ("a", 0, 2, 0.88, 0.02), ("a", 0, 3, 0.90, 0.02), ("a", 5, 2, 0.80, 0.01), ("a", 5, 3, 0.82, 0.01),
        ("a", 0, 4, 0.60, 0.02), ("a", 0, 5, 0.60, 0.02), ("a", 5, 4, 0.90, 0.01), ("a", 5, 5, 0.92, 0.01)])
    test = _runs("repeated", [("a", 0, 0, 0.50, 0.03), ("a", 5, 0, 0.55, 0.02), ("a", 0, 1, 0.60, 0.03),
                              ("a", 5, 1, 0.65, 0.02), ("a", 0, 2, 0.70, 0.03), ("a", 5, 2, 0.75, 0.02)])
    answer = advise(inner, test, n_inner=2, full_epochs=140)
    # Split 0: budget 5 (0.85 +- 0.071) vs 0 (0.71): 0.71 < 0.779 -> 5. Split 1: 0 is best -> 0. Split 2: 5.
    assert [c["budget"] for c in answer["choices"]] == [5, 0, 5]
    assert (answer["budget"], answer["predictor"], answer["agree"], answer["n_outer"]) == (5, "a", 2, 3)
    assert answer["saved"] == pytest.approx(1 - 5 / 140) and answer["speedup"] == 28
    # Each split's choice scored on that split's test runs only: 0.55, 0.60, 0.75.
    assert [c["test_kendall_tau"] for c in answer["choices"]] == [0.55, 0.60, 0.75]
    assert answer["test_kendall_tau"] == pytest.approx(np.mean([0.55, 0.60, 0.75]))
    assert answer["test_kendall_tau_std"] == pytest.approx(np.std([0.55, 0.60, 0.75], ddof=1))
    # The inner figure of the advice pools the inner runs of the splits that chose it (splits 0 and 2).
    assert answer["inner_kendall_tau"] == pytest.approx(np.mean([0.80, 0.90, 0.90, 0.92]))
    assert (answer["hindsight_budget"], answer["hindsight_kendall_tau"]) == (5, pytest.approx(0.65))
    # The terminal says so: the inner figure is those two splits', the test figure each split's own choice.
    from naapgnn.cli.evaluate import advice_line

    line = advice_line(answer, {"a": "A"})
    assert "chosen in 2 of 3 training splits): 5 of 140 epochs" in line and " with A: inner Kendall tau 0.880" in line
    assert "(in those 2)\n  on the test architectures, each split at its own choice: Kendall tau 0.633" in line
    unanimous = advice_line({**answer, "agree": 3}, {})
    assert "in those" not in unanimous and "\n  on the test architectures: Kendall tau 0.633" in unanimous


def test_splits_that_chose_the_budget_with_another_predictor_do_not_count_as_agreeing():
    """Three outer splits all choose budget 0, two with predictor a and one with b: the advice (0, a) is the choice
    of two, its inner figure pools those two splits' runs of a, and the report names both choices."""
    inner = _runs("inner:repeated", [
        ("a", 0, 0, 0.90, 0.01), ("a", 0, 1, 0.92, 0.01), ("b", 0, 0, 0.80, 0.02), ("b", 0, 1, 0.82, 0.02),
        ("a", 0, 2, 0.80, 0.01), ("a", 0, 3, 0.82, 0.01), ("b", 0, 2, 0.90, 0.02), ("b", 0, 3, 0.92, 0.02),
        ("a", 0, 4, 0.70, 0.01), ("a", 0, 5, 0.72, 0.01), ("b", 0, 4, 0.60, 0.02), ("b", 0, 5, 0.62, 0.02)])
    test = _runs("repeated", [(p, 0, s, t, 0.01) for s in range(3) for p, t in (("a", 0.5 + s / 10), ("b", 0.4))])
    answer = advise(inner, test, n_inner=2, full_epochs=140)
    assert [(c["budget"], c["predictor"]) for c in answer["choices"]] == [(0, "a"), (0, "b"), (0, "a")]
    assert (answer["budget"], answer["predictor"], answer["agree"], answer["n_outer"]) == (0, "a", 2, 3)
    assert answer["inner_kendall_tau"] == pytest.approx(np.mean([0.90, 0.92, 0.70, 0.72]))  # split 1's a left out
    assert answer["test_kendall_tau"] == pytest.approx(np.mean([0.5, 0.4, 0.7]))  # each split at its own choice
    from naapgnn.cli.evaluate import advice_line
    from naapgnn.evaluation.report import _advice_lines

    assert "the budget chosen in 3 of 3 training splits, a at it in 2): no training" in advice_line(answer, {})
    result = SimpleNamespace(budgets=[0], bench=SimpleNamespace(max_epochs=140), advice_protocol="repeated",
                             full_epochs=140, run_epochs=None, inner_runs=None)
    text = "\n".join(_advice_lines(result, answer, 0.0, str.upper))
    assert "chose its own budget and predictor: 0 epochs with A in 2, 0 epochs with B in 1; the advice is the " \
           "budget chosen most often, 0 epochs in 3 of 3, with the predictor chosen most " \
           "often at it, A in 2 of 3." in text and "majority" not in text


def test_the_report_says_when_no_budget_had_a_majority_of_the_splits():
    from naapgnn.evaluation.report import _advice_lines

    inner = _runs("inner:repeated", [(p, k, s, 0.9 if (s // 2, k, p) in ((0, 9, "a"), (1, 9, "b"), (2, 12, "a"), (3, 20, "b"))
                                else 0.1, 0.01) for s in range(8) for k in (9, 12, 20) for p in "ab"])
    answer = advise(inner, inner.iloc[:0], n_inner=2, full_epochs=25)
    assert [c["budget"] for c in answer["choices"]] == [9, 9, 12, 20] and answer["budget"] == 9
    result = SimpleNamespace(budgets=[9, 12, 20], bench=SimpleNamespace(max_epochs=25), advice_protocol="repeated",
                             full_epochs=25, run_epochs=None, inner_runs=None)
    text = "\n".join(_advice_lines(result, answer, 0.0, str.upper))
    assert "the advice is the budget chosen most often, 9 epochs in 2 of 4, with the " \
           "predictor chosen most often at it, A in 1 of 2 (tied with B; the first chosen on a tie). No budget was " \
           "chosen by a majority of the splits (they " \
           "chose 9 to 20 epochs)" in text


def test_the_report_gives_the_range_of_split_sizes_and_pairs():
    from naapgnn.evaluation.report import _span

    assert (_span([171, 153, 153]), _span([40, 40]), _span([1200, 1500])) == ("153-171", "40", "1,200-1,500")


@pytest.fixture(scope="module")
def small(naap440):
    """80 training and 20 official-test architectures of NAAP-440."""
    flags = naap440["IsTest"].to_numpy() == 1
    return naap440.iloc[np.sort(np.r_[np.flatnonzero(~flags)[:80], np.flatnonzero(flags)[:20]])].copy()


def _bench(df):
    return ev.Benchmark(records_from_naap440(df), df, df["MaxAccuracy"].to_numpy(dtype=float),
                        df["IsTest"].to_numpy().astype(bool), "NAAP-440 subset", 90)


def test_the_advice_never_reads_the_test_architectures(small, tmp_path):
    """Scrambling the test targets changes the test scores, not a single inner run nor the advice."""
    scrambled = small.copy()
    test = np.flatnonzero(scrambled["IsTest"].to_numpy() == 1)
    scrambled.iloc[test, scrambled.columns.get_loc("MaxAccuracy")] = small["MaxAccuracy"].to_numpy()[test[::-1]]
    kw = dict(budgets=[0, 3], n_seeds=1, inner_folds=3, jobs=1, progress=False)
    predictors = ev.select_predictors("paper_gb100,curve_last")
    a = ev.run_evaluation(_bench(small), tmp_path / "a", predictors, **kw)
    b = ev.run_evaluation(_bench(scrambled), tmp_path / "b", predictors, **kw)
    assert len(a.inner_runs) == 3 * 3  # paper_gb100 at 0 and 3, curve_last at 3, three inner folds each
    assert set(a.inner_runs["protocol"]) == {"inner:official"}
    pd.testing.assert_frame_equal(a.inner_runs.drop(columns="seconds"), b.inner_runs.drop(columns="seconds"))
    advice_a, advice_b = a.advice(), b.advice()
    keys = ("budget", "predictor", "inner_kendall_tau", "inner_kendall_tau_std", "inner_mae")
    assert [advice_a[k] for k in keys] == [advice_b[k] for k in keys]
    assert advice_a["test_kendall_tau"] != advice_b["test_kendall_tau"]
    # The inner folds partition the 80 training architectures; no test index appears in any inner run.
    inner = [pair for pair in ev.inner_splits(np.flatnonzero(~_bench(small).is_test), 3)]
    assert sorted(i for _, t in inner for i in t) == np.flatnonzero(~_bench(small).is_test).tolist()
    assert not set(test) & {i for tr, t in inner for i in (*tr, *t)}


def _deep_records(n=15, short=None):
    arch = parse_architecture(resnet_layers(1, 4, 3))
    rng = np.random.default_rng(0)
    records = []
    for i in range(n):
        curve = np.clip(np.linspace(0.05, 0.3 + 0.02 * i, 140) + rng.normal(0, 0.005, 140), 0, 1)
        if i == short:
            curve = curve[:120]
        records.append(Record(f"deep-resnets-{i}", arch, {"accuracy": curve}, {"lr": 0.1 + 0.01 * i, "ss": 35000.0},
                              float(0.3 + 0.02 * i), "test" if i % 5 == 0 else "train"))
    return records


def test_budgets_are_checked_against_the_benchmarks_own_curve_length(tmp_path, capsys):
    """The deep ResNets have 140 epochs: budget 100 is accepted, 150 names a record that is too short,
    and the training saved is counted against 140 epochs."""
    path = tmp_path / "deep.jsonl"
    write_jsonl(_deep_records(), path)
    out = tmp_path / "out"
    rc = main(["evaluate", "--jobs", "1",
               "--data", str(path), "--budgets", "1,3", "--predictors", "curve_last,curve_best",
               "--seeds", "1", "--inner-folds", "2", "--jobs", "1", "--out", str(out), "--quiet"])
    assert rc == 0
    assert sorted(pd.read_csv(out / "results.csv").budget) == [1, 1, 3, 3]
    assert "Full training: 140 epochs" in (out / "report.md").read_text()
    advice = pd.read_csv(out / "advice.csv").iloc[0]
    assert advice.saved == pytest.approx(1 - advice.budget / 140)
    assert "good enough" in capsys.readouterr().out
    bench = ev.load_benchmark_for_evaluation(path)
    assert ev._check(bench, [0, 100, 140], ["official"], 1, 2)  # beyond NAAP-440's 90 epochs
    assert main(["evaluate", "--jobs", "1", "--data", str(path), "--budgets", "0,150", "--predictors", "paper_gb100",
                 "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"budget 150 needs 150 epochs of curve, {path.name} line 1 (record 'deep-resnets-0') has 140" in err
    assert len(err.strip().splitlines()) == 1
    write_jsonl(_deep_records(short=7), path)  # a run stopped at epoch 120 stands still to 140
    with pytest.warns(NaapgnnWarning, match="1 record.* end their curve before epoch 140"):
        bench = ev.load_benchmark_for_evaluation(path)
    assert ev._check(bench, [0, 130], ["official"], 1, 2)


def test_a_train_size_draws_the_repeated_splits_and_the_report_says_so(tmp_path, capsys):
    path = tmp_path / "deep.jsonl"
    write_jsonl(_deep_records(n=30), path)
    out = tmp_path / "out"
    assert main(["evaluate", "--jobs", "1",
                 "--data", str(path), "--train-size", "8", "--repeats", "2", "--budgets", "1",
                 "--predictors", "curve_last", "--inner-folds", "2", "--jobs", "1", "--out", str(out), "--quiet"]) == 0
    runs = pd.read_csv(out / "runs.csv")
    assert set(runs.protocol) == {"repeated"} and set(runs.max_violations) == {22 * 21 // 2}  # 22 tested each
    assert "- Architectures per split, training / test: repeated 8 / 22." in (out / "report.md").read_text()
    assert main(["evaluate", "--jobs", "1",
                 "--data", str(path), "--train-size", "8", "--protocol", "official", "--budgets", "1",
                 "--predictors", "curve_last", "--out", str(out), "--quiet"]) == 2
    assert "--train-size: sizes the repeated protocol's splits; add --protocol repeated" in capsys.readouterr().err
    assert main(["evaluate", "--jobs", "1", "--data", str(path), "--train-size", "30", "--budgets", "1",
                 "--predictors", "curve_last", "--out", str(out), "--quiet"]) == 2
    assert "--train-size: must be between 1 and 28 (the benchmark has 30 architectures, at least 2 tested), got 30" in (
        capsys.readouterr().err)


def test_repeated_runs_of_a_configuration_stay_on_one_side_of_every_split(tmp_path, capsys):
    """Two records with the same architecture and hyperparameters are one configuration run twice: a predictor
    must not be scored on one after training on the other."""
    records = _deep_records(n=24)
    records[1].split = "test"  # records share one architecture: their lr tells the configurations apart
    for i, r in enumerate(records):
        r.hparams = {"lr": 0.1 * (1 + i // 2), "ss": 35000.0}  # configurations 0-1, 2-3, ...: each run twice
    path = tmp_path / "twice.jsonl"
    write_jsonl(records, path)
    bench = ev.load_benchmark_for_evaluation(path)
    assert bench.groups.tolist() == [i // 2 for i in range(24)]
    assert bench.repeated_configurations().startswith(
        "12 configurations (architecture and hyperparameters) appear in more than one record, 24 records in all "
        "(first: 'deep-resnets-0' and 'deep-resnets-1'): the repeated and kfold splits keep each one's records on "
        "one side; ")
    assert "records marked test share theirs with a training record" in bench.repeated_configurations()
    out = tmp_path / "out"
    assert main(["evaluate", "--jobs", "1",
                 "--data", str(path), "--protocol", "repeated", "--repeats", "3", "--budgets", "1",
                 "--predictors", "curve_last", "--inner-folds", "2", "--jobs", "1", "--out", str(out), "--quiet"]) == 0
    assert "note: 12 configurations" in capsys.readouterr().err
    splits = ev._split_lists(bench, ["repeated", "kfold"], 0, 3, 4, 2)  # the outer splits and the inner folds
    assert set(splits) == {"repeated", "kfold", "inner:repeated"}
    for name, pairs in splits.items():
        for train, test in pairs:
            assert not set(bench.groups[train]) & set(bench.groups[test]), name
    assert "- Repeated runs: 12 configurations" in (out / "report.md").read_text()


def test_a_learning_rate_logged_per_epoch_tells_configurations_apart_by_its_peak():
    from naapgnn.data.configurations import configuration_groups

    records = _deep_records(n=6)
    for i, r in enumerate(records):  # one architecture, no hparams: the lr channel alone tells the recipes apart
        r.hparams = {}
        r.curve["lr"] = np.linspace(0.1 * (1 + i // 2), 0.0, r.num_epochs)
    assert configuration_groups(records).tolist() == [0, 0, 1, 1, 2, 2]
    for r, peak in zip(records, [0.1, 0.1, 0.1, 0.1, 0.3, 0.3]):
        r.curve["lr"] = np.linspace(peak, 0.0, r.num_epochs)
    assert configuration_groups(records).tolist() == [0, 0, 0, 0, 1, 1]
    for i, r in enumerate(records):
        r.curve["lr"] = np.linspace(0.1 * (i + 1), 0.0, r.num_epochs)
    assert configuration_groups(records) is None


def test_a_rank_matrix_of_thousands_is_drawn_as_dots(tmp_path):
    from naapgnn.evaluation.plots import MATRIX_CELLS, plot_rank_matrix

    rng = np.random.default_rng(0)
    y = rng.random(3 * MATRIX_CELLS)
    path = plot_rank_matrix([{"title": "big", "y_true": y, "y_pred": y + rng.normal(0, 0.1, len(y))}],
                            tmp_path / "m.png")
    assert path.stat().st_size > 0


def test_the_advice_nests_in_the_repeated_protocol(small, tmp_path):
    """With repeated splits the advice is chosen inside each split's training part, one choice per split."""
    result = ev.run_evaluation(_bench(small), tmp_path, ev.select_predictors("curve_last,curve_best"), budgets=[1, 3],
                               protocols=["official", "repeated"], n_repeats=3, inner_folds=2, jobs=1, progress=False)
    assert result.advice_protocol == "repeated" and set(result.inner_runs.protocol) == {"inner:repeated"}
    assert set(result.runs.protocol) == {"official", "repeated"}  # inner runs stay out of runs.csv
    assert len(result.inner_runs) == 2 * 2 * 3 * 2  # predictors x budgets x outer splits x inner folds
    advice = result.advice()
    assert advice["n_outer"] == 3 and len(advice["choices"]) == 3
    from naapgnn.evaluation.report import write_outputs

    report = (write_outputs(result, tmp_path / "out")["report"]).read_text()
    outer_seconds, inner_seconds = result.runs["seconds"].sum(), result.inner_runs["seconds"].sum()
    assert (f"add up to {outer_seconds:.0f} s over the {len(result.runs)} test runs (`runs.csv`), "
            f"{inner_seconds:.0f} s over the 24 inner runs (`inner_runs.csv`).") in report
    outer = ev._split_lists(_bench(small), ["repeated"], 0, 3, 10, 2)
    for s, (train, test) in enumerate(outer["repeated"]):
        for inner_train, inner_test in outer["inner:repeated"][2 * s: 2 * s + 2]:
            assert set(inner_train) | set(inner_test) == set(train) and not set(inner_test) & set(test)


def test_inner_folds_option_errors():
    with pytest.raises(NaapgnnError, match="--inner-folds must be 0"):
        ev._check(ev.Benchmark([], None, np.zeros(0), np.zeros(0, bool), "x", 5), [0], ["official"], 1, 1)
    with pytest.raises(NaapgnnError, match=r"3 folds need at least 6 training architectures \(2 ranked per fold\), "
                                           "got 5"):
        ev.inner_splits([4, 9, 10, 11, 12], 3)


def test_full_epochs_counts_the_saving_against_the_real_training(tmp_path, capsys):
    """Records that hold only the first 140 epochs of 280-epoch runs: --full-epochs 280 halves what is spent."""
    path = tmp_path / "deep.jsonl"
    write_jsonl(_deep_records(), path)
    out = tmp_path / "out"
    argv = ["evaluate", "--data", str(path), "--budgets", "1,3", "--predictors", "curve_last", "--seeds", "1",
            "--inner-folds", "2", "--jobs", "1", "--out", str(out), "--quiet"]
    assert main(argv + ["--full-epochs", "280"]) == 0
    advice = pd.read_csv(out / "advice.csv").iloc[0]
    assert advice.saved == pytest.approx(1 - advice.budget / 280)
    assert "Full training: 280 epochs (given; the curves hold 140)" in (out / "report.md").read_text()
    capsys.readouterr()
    assert main(argv + ["--full-epochs", "100"]) == 2
    assert "--full-epochs: 100 is shorter than the longest curve (140 epochs)" in capsys.readouterr().err


def test_full_epochs_is_where_the_curve_fits_are_evaluated(tmp_path):
    """Curves cut at 140 of 280 epochs: the power-law fit predicts epoch 280, not the curve's end."""
    from naapgnn.models.heuristics import CurveHeuristic

    write_jsonl(_deep_records(), tmp_path / "deep.jsonl")
    bench = ev.load_benchmark_for_evaluation(tmp_path / "deep.jsonl")
    kw = dict(budgets=[20], protocols=("official",), n_seeds=1, inner_folds=0, jobs=1)
    fits = ev.select_predictors("curve_power_law,curve_last")
    cut = ev.run_evaluation(bench, tmp_path / "cut", fits, full_epochs=280, **kw)
    whole = ev.run_evaluation(bench, tmp_path / "whole", fits, **kw)
    train = [r for r in bench.records if r.split != "test"]
    test = [r for r in bench.records if r.split == "test"]
    for result, final in ((cut, 280), (whole, "full")):
        pred = {p: np.asarray(rows[0]["pred"]) for (p, _, _), rows in result.predictions.items()}
        expected = CurveHeuristic("power_law", budget=20, final_epoch=final).fit(train).predict(test)
        assert np.allclose(pred["curve_power_law"], expected)
    assert not np.allclose(*(np.asarray(r.predictions[("curve_power_law", 20, "official")][0]["pred"])
                             for r in (cut, whole)))
    last = [np.asarray(r.predictions[("curve_last", 20, "official")][0]["pred"]) for r in (cut, whole)]
    assert np.array_equal(*last)  # the last value reads no horizon
    from naapgnn.evaluation.report import write_outputs

    write_outputs(cut, tmp_path / "cut")
    report = (tmp_path / "cut" / "report.md").read_text()
    assert "extrapolated to epoch 280" in report
    assert "No advice was chosen (--inner-folds 0); choosing a budget from this table" in report
    from naapgnn.evaluation.report import _example_panels

    assert {p["target"] for p in _example_panels(cut, "official", {})} == {"the records' target"}  # not MaxAccuracy


def test_a_note_says_when_the_inner_folds_rank_best_at_the_largest_budget_tried():
    from naapgnn.evaluation.analysis import budget_edge_note

    advice = {"choices": [{"best_budget": 9}, {"best_budget": 3}]}
    assert budget_edge_note(advice, [0, 3, 9], 140) == (
        "In 1 of 2 training splits the inner folds rank best at the largest budget tried, 9 epochs, and the curves "
        "hold 140: a longer budget may rank better still (give longer ones in --budgets to see).")
    assert budget_edge_note(advice, [0, 3, 9], 9) is None  # nothing longer to try
    assert budget_edge_note({"choices": [{"best_budget": 3}]}, [0, 3, 9], 140) is None


def test_a_speed_up_below_ten_keeps_a_decimal():
    # 5 of 9 epochs is 1.8x, not "2x"; 9 of 10 is 1.1x, not "1x"; 140 / 5 stays whole
    assert [times_faster(9 / 5), times_faster(10 / 9), times_faster(140 / 5)] == ["1.8x", "1.1x", "28x"]


def test_runs_that_stopped_early_cost_their_own_length(tmp_path, capsys):
    """One of 15 runs stopped at 120 of 140 epochs: reading 3 epochs of each saves 1 - 45 / (14 * 140 + 120), as
    early stopping counts it, and the report says the runs differ."""
    from naapgnn.evaluation.analysis import spent_fraction

    path = tmp_path / "deep.jsonl"
    write_jsonl(_deep_records(short=7), path)
    out = tmp_path / "out"
    assert main(["evaluate", "--data", str(path), "--budgets", "3", "--predictors", "curve_last", "--seeds", "1",
                 "--inner-folds", "2", "--jobs", "1", "--out", str(out), "--quiet"]) == 0
    assert "read as runs stopped early" in capsys.readouterr().err
    advice = pd.read_csv(out / "advice.csv").iloc[0]
    assert advice.budget == 3 and advice.saved == pytest.approx(1 - 45 / (14 * 140 + 120))
    report = (out / "report.md").read_text()
    assert "1 of the 15 runs stopped early, before epoch 140" in report and "each run its own length" in report
    assert spent_fraction(200, 140, [140, 120]) == 1.0 and spent_fraction(3, 140) == 3 / 140


def test_budgets_past_some_runs_stop_are_named_with_how_many_had_stopped(tmp_path, capsys):
    from naapgnn.evaluation.analysis import stopped_before_note

    path = tmp_path / "deep.jsonl"
    write_jsonl(_deep_records(short=7), path)  # one run of 120 epochs among 140
    out = tmp_path / "out"
    assert main(["evaluate", "--data", str(path), "--budgets", "3,130", "--predictors", "curve_last", "--seeds", "1",
                 "--inner-folds", "0", "--jobs", "1", "--out", str(out), "--quiet"]) == 0
    note = "of the 15 runs, some had stopped before the budget (1 at budget 130): those read their last logged value"
    assert note in capsys.readouterr().err and note in (out / "report.md").read_text()
    assert stopped_before_note([0, 3, 6, 9], [3, 3, 9, 27]) .startswith(
        "of the 4 runs, some had stopped before the budget (2 at budget 6, 2 at 9)")
    assert stopped_before_note([0, 3], [3, 9]) is None and stopped_before_note([9], None) is None


def test_runs_of_full_length_are_counted_as_before(tmp_path):
    write_jsonl(_deep_records(), tmp_path / "deep.jsonl")
    result = ev.run_evaluation(ev.load_benchmark_for_evaluation(tmp_path / "deep.jsonl"), tmp_path / "out",
                               ev.select_predictors("curve_last"), budgets=[3], protocols=("official",), n_seeds=1,
                               inner_folds=2, jobs=1)
    assert result.run_epochs is None and result.advice()["saved"] == pytest.approx(1 - 3 / 140)


def test_the_edge_note_says_how_many_runs_end_between_the_last_budget_and_the_longest_curve():
    from naapgnn.evaluation.analysis import budget_edge_note

    advice = {"choices": [{"best_budget": 9}, {"best_budget": 6}]}
    plain = budget_edge_note(advice, [0, 3, 6, 9], 25)
    assert plain.startswith("In 1 of 2 training splits the inner folds rank best at the largest budget tried, 9 "
                            "epochs, and the curves hold 25") and plain.endswith("to see).")
    stopped = budget_edge_note(advice, [0, 3, 6, 9], 25, run_epochs=[8, 12, 20, 25, 25])
    assert "; but 2 of the 5 runs stop early between those epochs, and a budget past a run's stop reads its last " \
           "logged value, what the run ended on" in stopped
    assert budget_edge_note(advice, [0, 3, 6, 9], 25, run_epochs=[25, 25]) == plain


def test_the_curves_figure_counts_the_share_spent_as_the_report_does():
    from naapgnn.evaluation.analysis import spent_fraction
    from naapgnn.evaluation.plots import _share_spent

    runs = [8, 25, 25, 12]
    forward, back = _share_spent(25, runs)
    assert forward(9) == pytest.approx(100 * spent_fraction(9, 25, runs)) == pytest.approx(100 * 35 / 70)
    assert back(forward(9)) == pytest.approx(9)
    forward, _ = _share_spent(25)
    assert forward(9) == pytest.approx(36.0)


def test_the_setup_names_the_seeds_only_for_the_fixed_split_protocols_run():
    from naapgnn.evaluation.report import _fits_per_split

    def fits(*protocols):
        return _fits_per_split(SimpleNamespace(protocols=list(protocols), seeds=[1, 2]))

    assert fits("repeated") == "Repeated fits once per split."
    assert fits("official", "kfold") == ("Official fits every seeded predictor with 2 seed(s) (1, 2) on a fixed "
                                         "split; kfold fits once per split.")


def test_the_advice_gets_a_note_when_its_inner_folds_test_few_architectures():
    from naapgnn.evaluation.notes import small_inner_note

    def result(sizes):
        return SimpleNamespace(inner_runs=pd.DataFrame({"max_violations": [n * (n - 1) // 2 for n in sizes]}))

    advice = {"choices": [{"best_kendall_tau_std": 0.123}, {"best_kendall_tau_std": 0.05}]}
    assert small_inner_note(result([12, 13, 13]), advice) == (
        "the advice's inner folds test 12-13 architectures each: over so few pairs a fold's Kendall tau spreads "
        "widely (std up to 0.12 at a split's best budget), and a budget is advised when it is within that spread "
        "of the best, so budgets well below the best can pass: read the advice as rough")
    assert "widely, and" in small_inner_note(result([12]), {"choices": [{"best_kendall_tau_std": float("nan")}]})
    assert small_inner_note(result([36, 37]), advice) is None and small_inner_note(result([12]), None) is None


def test_evaluate_says_how_many_fits_it_plans_and_how_many_only_choose_the_advice(tmp_path, capsys):
    path = tmp_path / "deep.jsonl"
    write_jsonl(_deep_records(n=20), path)
    assert main(["evaluate", "--data", str(path), "--protocol", "repeated", "--repeats", "2", "--budgets", "1",
                 "--predictors", "curve_last", "--inner-folds", "2", "--jobs", "1", "--out", str(tmp_path / "o")]) == 0
    assert ("evaluate: 6 fits to run, 4 of them on the inner folds that choose the budget advice (--inner-folds 0 "
            "leaves those out)") in capsys.readouterr().err


def test_the_default_budgets_are_said_to_stop_short_of_long_curves(tmp_path, capsys):
    from naapgnn.cli.evaluate import default_budgets_note

    assert default_budgets_note(range(10), 140) == (
        "the default budgets stop at 9 epochs, and every curve holds 140: the advice and the tables answer for those "
        "budgets only (give longer ones in --budgets, e.g. --budgets 0,1,3,9,35,70)")
    assert "holds 120" in default_budgets_note(range(10), 120)
    assert default_budgets_note(range(10), 40).endswith("e.g. --budgets 0,1,3,9,20)")  # not 10 beside 9
    # early-stopped runs: said so, and no budget at the full length (it reads the target and saves nothing)
    assert default_budgets_note(range(10), 25, [25] * 30 + [8, 12] * 25) == (
        "the default budgets stop at 9 epochs, and the curves run to 25 epochs (50 of 80 runs stopped earlier, the "
        "shortest after 8): the advice and the tables answer for those budgets only (give longer ones in --budgets, "
        "e.g. --budgets 0,1,3,9,12)")
    assert default_budgets_note([0, 1, 3], 5) is None
    path = tmp_path / "deep.jsonl"
    write_jsonl(_deep_records(n=20), path)
    assert main(["evaluate", "--data", str(path), "--protocol", "repeated", "--repeats", "2", "--budgets", "1",
                 "--predictors", "curve_last", "--inner-folds", "0", "--jobs", "1", "--quiet",
                 "--out", str(tmp_path / "o")]) == 0
    assert "default budgets stop" not in capsys.readouterr().err  # budgets given: nothing to say


def test_a_model_left_out_for_a_channel_gets_no_second_note_on_its_budgets(tmp_path, capsys):
    records = _deep_records(n=20)
    for r in records:  # losses only: no accuracy channel for the curve fits
        r.curve = {"val_loss": 3.0 - r.curve["accuracy"]}
    path = tmp_path / "losses.jsonl"
    write_jsonl(records, path)
    assert main(["evaluate", "--data", str(path), "--protocol", "repeated", "--repeats", "2", "--budgets", "0,1,3",
                 "--predictors", "curve_power_law,forest", "--inner-folds", "0", "--jobs", "1", "--quiet",
                 "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "note: curve_power_law is left out at budgets >= 1" in err and "curve_power_law runs at budget" not in err


def test_a_best_predictor_whose_lead_is_within_its_paired_spread_is_called_a_tie():
    """A mean lead of 0.003 on one split of five is no lead: said, with the paired difference; a lead on every
    split is not."""
    from naapgnn.evaluation.analysis import close_lead_words, close_leads

    taus = {("gnn", 3): [0.60, 0.45, 0.50, 0.52, 0.55], ("baker", 3): [0.62, 0.30, 0.52, 0.59, 0.565],
            ("gnn", 5): [0.70, 0.71, 0.72, 0.73, 0.74], ("baker", 5): [0.60, 0.61, 0.62, 0.63, 0.64]}
    runs = pd.DataFrame([{"predictor": p, "budget": b, "protocol": "repeated", "split": s, "seed": 0, "kendall_tau": t,
                          "violations": 0.0} for (p, b), ts in taus.items() for s, t in enumerate(ts)])
    results = runs.groupby(["predictor", "budget", "protocol"], as_index=False)[["kendall_tau", "violations"]].mean()
    (lead,) = close_leads(results, runs, "repeated")
    d = np.subtract(taus[("gnn", 3)], taus[("baker", 3)])
    assert (lead["budget"], lead["best"], lead["next"], lead["at_least"], lead["n"]) == (3, "gnn", "baker", 1, 5)
    assert lead["mean"] == pytest.approx(d.mean()) and lead["se"] == pytest.approx(d.std(ddof=1) / np.sqrt(5))
    assert close_lead_words(lead, str.upper) == (
        f"at 3 epochs GNN leads BAKER by +{d.mean():.3f} +- {lead['se']:.3f} in Kendall tau paired over 5 runs, "
        "level or ahead on 1 of them: within one standard error, a tie")


def test_seeds_of_one_configuration_are_also_scored_as_one_configuration():
    """Two runs of one configuration are a pair ordered by seed noise: the note counts such pairs per test split and
    gives each predictor's Kendall tau over configuration means."""
    from naapgnn.evaluation.analysis import configuration_taus
    from naapgnn.evaluation.metrics import kendall_tau
    from naapgnn.evaluation.notes import configuration_note

    groups = np.array([0, 0, 1, 1, 2, 3, 3, 3])
    y = np.array([0.50, 0.52, 0.60, 0.61, 0.70, 0.40, 0.41, 0.39])
    pred = np.array([0.55, 0.50, 0.58, 0.62, 0.66, 0.45, 0.42, 0.44])
    runs = [{"test": np.arange(8), "pred": pred}, {"test": np.arange(4), "pred": pred[:4]}]
    result = SimpleNamespace(bench=SimpleNamespace(groups=groups, y=y), advice_protocol="repeated",
                             protocols=["repeated"], predictions={("gnn", 3, "repeated"): runs})
    frame = configuration_taus(result, "repeated")
    means = [kendall_tau([0.51, 0.605, 0.70, 0.40], [0.525, 0.60, 0.66, 0.4366667]), kendall_tau([0.51, 0.605],
                                                                                                  [0.525, 0.60])]
    assert frame.kendall_tau.iloc[0] == pytest.approx(np.mean(means))
    assert frame.twin_pairs.iloc[0] == pytest.approx((1 + 1 + 3 + 1 + 1) / 2)  # 5 pairs in the first, 2 in the second
    assert configuration_note(result, str.upper).startswith("a test split holds 3.5 pairs of two runs of one "
                                                            "configuration on average")
    assert configuration_note(result, str.upper).endswith(f"3 epochs GNN {np.mean(means):.3f} +- "
                                                          f"{np.std(means, ddof=1):.3f}")
    result.bench.groups = None
    assert configuration_taus(result, "repeated") is None and configuration_note(result, str) is None

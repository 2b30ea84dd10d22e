"""Baselines: exact reproduction of the paper's deterministic rows, estimators, runner and CLI."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from baselines import legacy
from baselines.paper import DETERMINISTIC, PAPER_MODELS, PowerOutputRegression, paper_order
from naapgnn.models.forest import PerLayerForest
from baselines.runner import CSV_COLUMNS, paper_comparison, run_baselines, select_baselines
from naapgnn.cli import main
from naapgnn.data.naap440 import load_paper_baselines
from naapgnn.errors import NaapgnnError


@pytest.fixture(scope="module")
def deterministic_rows(naap440):
    return run_baselines(naap440, select_baselines("deterministic"), protocol="official", n_jobs=1, progress=False)


def test_paper_has_24_models_in_table_order(data_dir):
    paper = load_paper_baselines(data_dir)
    assert list(PAPER_MODELS) == list(dict.fromkeys(paper["Model"]))
    assert len(DETERMINISTIC) == 11


def test_deterministic_models_reproduce_the_paper_exactly(deterministic_rows, data_dir):
    comparison = paper_comparison(deterministic_rows, load_paper_baselines(data_dir))
    assert len(comparison) == 11 * 4
    mismatched = comparison[
        (comparison.violations != comparison.paper_violations)
        | ((comparison.mae - comparison.paper_mae).abs() > 1e-4 + 1e-12)
    ]
    assert mismatched.empty, mismatched.to_string()
    # Deterministic: every seed gives the same run.
    assert (comparison.violations_min == comparison.violations_max).all()


def test_rows_hold_consistent_metrics(deterministic_rows):
    for row in deterministic_rows:
        assert row["max_violations"] == 780
        assert row["monotonicity_score"] == pytest.approx(1 - row["violations"] / 780)
        assert len(row["seed_violations"]) == 5 and row["seed"] in range(20220905, 20220910)


def test_paper_order_sorts_by_accuracy(naap440):
    ordered = paper_order(naap440)
    assert np.all(np.diff(ordered["MaxAccuracy"].to_numpy()) >= 0)
    assert sorted(ordered["ModelId"]) == list(naap440["ModelId"])


@pytest.mark.parametrize("seed", range(6))
def test_legacy_sorts_are_valid(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 25, int(rng.integers(2, 500))).astype(float)
    order = legacy.numpy1_argsort(values)
    assert sorted(order) == list(range(len(values)))
    assert np.all(np.diff(values[order]) >= 0)
    kth = int(rng.integers(0, len(values)))
    part = legacy.numpy1_argpartition(values, kth)
    assert sorted(part) == list(range(len(values)))
    assert values[part[kth]] == np.sort(values)[kth]
    assert np.all(values[part[:kth]] <= values[part[kth]]) and np.all(values[part[kth + 1:]] >= values[part[kth]])


def test_legacy_small_sorts_are_stable():
    # Below 17 elements numpy 1.x used a plain insertion sort.
    values = [2.0, 1.0, 2.0, 1.0, 0.0]
    assert list(legacy.numpy1_argsort(values)) == [4, 1, 3, 0, 2]
    assert list(legacy.numpy1_argpartition(values, 0)[:1]) == [4]


def test_paper_knn_equals_sklearn_without_ties():
    from sklearn.neighbors import KNeighborsRegressor

    rng = np.random.default_rng(0)
    X, y, Z = rng.normal(size=(50, 3)), rng.normal(size=50), rng.normal(size=(10, 3))
    ours = legacy.PaperKNeighborsRegressor(5).fit(X, y).predict(Z)
    theirs = KNeighborsRegressor(5, algorithm="brute").fit(X, y).predict(Z)
    assert np.allclose(ours, theirs)


def test_power_output_regression_recovers_its_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = (X @ [0.1, -0.05] + 0.2 + 1) ** 0.5
    model = PowerOutputRegression(0.5).fit(X, y)
    assert np.allclose(model.predict(X), y)
    assert model.get_params() == {"degree": 0.5}
    # far out, the linear part falls below -1, where a power of 0.25 has no real value: the lowest output, 0
    quarter = PowerOutputRegression(0.25).fit(X, y)
    far = quarter.predict(np.array([[-1e3, 1e3], [0.0, 0.0]]))
    assert far[0] == 0.0 and np.isfinite(far).all() and far[1] > 0


def test_per_layer_forest_fits_tables_records_and_features(naap440):
    from naapgnn.data.records import records_from_naap440

    train, test = naap440.iloc[:120], naap440.iloc[400:]
    model = PerLayerForest(budget=3, curve=True, n_estimators=30, random_state=0).fit(train, train["MaxAccuracy"])
    pred = model.predict(test)
    assert pred.shape == (40,) and np.isfinite(pred).all()
    assert np.allclose(model.predict(model.featurize(test)), pred)
    assert np.allclose(model.predict(records_from_naap440(test)), pred)
    plain = PerLayerForest(n_estimators=30, random_state=0).fit(list(train["scheme"]), train["MaxAccuracy"])
    assert np.isfinite(plain.predict(list(test["scheme"]))).all()
    with pytest.raises(NaapgnnError, match="more than max_blocks"):
        plain.predict([[{"kernel_size": 3, "width": 8, "stride": 1, "residual": False}] * 5])


def test_per_layer_forest_is_a_sklearn_estimator():
    from sklearn.base import clone

    model = clone(PerLayerForest(budget=6, curve=True, n_estimators=7))
    assert model.get_params()["n_estimators"] == 7 and model.budget == 6


def test_select_baselines():
    assert len(select_baselines("paper")) == 24
    assert select_baselines("extra") == ["Per-layer Random Forest", "Per-layer Random Forest + cycle"]
    assert select_baselines("1-NN, SVR (RBF kernel),1-NN") == ["1-NN", "SVR (RBF kernel)"]
    with pytest.raises(NaapgnnError, match="unknown baseline 'Foo'"):
        select_baselines("Foo")
    # a registry key that evaluate runs but the baselines' table does not hold says where it runs
    with pytest.raises(NaapgnnError, match=r"^'onehot_ops' is a registered predictor but not one of the baselines' "
                                           r"models \(the paper's table, the per-layer forests, Baker's\): run it "
                                           r"with naapgnn evaluate --predictors onehot_ops$"):
        select_baselines("5-NN,onehot_ops")


def test_other_protocols_report_mean_and_std(naap440):
    rows = run_baselines(naap440, select_baselines("Linear Regression"), budgets=[0, 3], protocol="repeated",
                         n_jobs=1, progress=False, n_repeats=3)
    assert [r["budget"] for r in rows] == [0, 3]
    assert rows[0]["n_splits"] == 3 and rows[0]["max_violations"] == 780 and rows[0]["kendall_tau_std"] > 0


def test_the_extrapolate_split_is_one_split_fitted_once_per_seed(naap440):
    """Its five runs are the seeds on one split (the top fifth tested), not five splits: their spread is 0 for a
    model that reads no seed, and the table says what its +- is."""
    from baselines.runner import summary_text

    rows = run_baselines(naap440, select_baselines("Random Forest (N=25),Linear Regression"), budgets=[0],
                         protocol="extrapolate", n_jobs=1, progress=False)
    forest, linear = rows
    assert (forest["n_splits"], forest["n_seeds"], linear["n_splits"], linear["n_seeds"]) == (1, 5, 1, 5)
    assert forest["kendall_tau_std"] > 0 and linear["kendall_tau_std"] == 0 and forest["max_violations"] == 88 * 87 // 2
    assert "+- is the spread over the seeds on the one extrapolate split" in summary_text(rows, "extrapolate")


def test_resume_skips_finished_rows(naap440, tmp_path, monkeypatch):
    from naapgnn.evaluation import engine

    resume = tmp_path / "partial.jsonl"
    first = run_baselines(naap440, select_baselines("1-NN"), budgets=[0], n_jobs=1, progress=False,
                          resume_file=resume)

    def fail(*args, **kwargs):
        raise AssertionError("recomputed a finished row")

    monkeypatch.setattr(engine, "fit_score", fail)
    again = run_baselines(naap440, select_baselines("1-NN"), budgets=[0], n_jobs=1, progress=False,
                          resume_file=resume)
    assert again == first


def test_a_finished_run_forgets_only_its_own_fits(naap440, tmp_path, monkeypatch):
    """A run at budgets 0 and 3 is killed with its fits saved; a run at budget 0 then finishes: the fits at 3 stay."""
    from naapgnn.evaluation import engine

    resume = tmp_path / "partial.jsonl"
    model = select_baselines("1-NN")
    both = run_baselines(naap440, model, budgets=[0, 3], n_jobs=1, progress=False, resume_file=resume)
    run_baselines(naap440, model, budgets=[0], n_jobs=1, progress=False, resume_file=resume).discard()
    monkeypatch.setattr(engine, "fit_score", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    three = run_baselines(naap440, model, budgets=[3], n_jobs=1, progress=False, resume_file=resume)
    assert three == both[1:]
    three.discard()
    assert not resume.exists()


def test_two_jobs_give_the_rows_of_one(naap440):
    """The engine's worker processes change nothing: randomised models, repeated splits."""
    chosen = select_baselines("Decision Tree,AdaBoost (N=25),Linear Regression")
    kwargs = dict(budgets=[0, 3], protocol="repeated", progress=False, n_repeats=3)
    assert run_baselines(naap440, chosen, n_jobs=2, **kwargs) == run_baselines(naap440, chosen, n_jobs=1, **kwargs)


def test_cli_writes_the_table(data_dir, tmp_path, capsys):
    out = tmp_path / "res"
    code = main(["baselines", "--jobs", "1",
                 "--data", str(data_dir), "--models", "1-NN,SVR (RBF kernel)", "--budgets", "0,9",
                 "--out", str(out), "--quiet", "--jobs", "1", "--compare-paper"])
    assert code == 0
    table = pd.read_csv(out / "baselines.csv")
    assert tuple(table.columns) == CSV_COLUMNS
    assert table[["model", "budget", "violations"]].values.tolist() == [
        ["1-NN", 0, 52], ["1-NN", 9, 32], ["SVR (RBF kernel)", 0, 68], ["SVR (RBF kernel)", 9, 31]]
    header, rule, first = (out / "baselines.md").read_text().splitlines()[:3]
    assert [c.strip() for c in header.strip("|").split("|")] == list(CSV_COLUMNS)
    assert set(rule) <= set("|:-")
    assert [c.strip() for c in first.strip("|").split("|")][:4] == ["1-NN", "0", "0.0071", "52"]
    assert len(pd.read_csv(out / "paper_comparison.csv")) == 4
    printed = capsys.readouterr().out
    assert "wall time:" in printed and "exact matches" in printed
    assert not list(out.glob(".*partial*"))
    assert main(["baselines", "--data", str(data_dir), "--models", "1-NN", "--budgets", "0", "--protocol", "repeated",
                 "--repeats", "2", "--out", str(out), "--quiet", "--jobs", "1"]) == 0
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [  # no official comparison left
        "baselines.csv", "baselines.md", "baselines_detail.csv"]


@pytest.mark.parametrize("budgets", ["0,x", "91", ","])
def test_cli_rejects_bad_budgets(data_dir, tmp_path, capsys, budgets):
    code = main(["baselines", "--jobs", "1", "--data", str(data_dir), "--budgets", budgets, "--out", str(tmp_path)])
    assert code == 2
    assert "naapgnn baselines: error: --budgets" in capsys.readouterr().err


def test_paper_linear_svr_matches_libsvm_linear_kernel():
    from sklearn.svm import SVR

    rng = np.random.default_rng(0)
    X, Xt = rng.normal(size=(120, 5)), rng.normal(size=(30, 5))
    y = X @ rng.normal(size=5) * 0.01 + 0.6 + rng.normal(scale=0.002, size=120)
    ours = legacy.PaperLinearSVR(epsilon=0.001, C=0.1).fit(X, y).predict(Xt)
    ref = SVR(kernel="linear", epsilon=0.001, C=0.1).fit(X, y).predict(Xt)
    np.testing.assert_allclose(ours, ref, atol=2e-4)
    np.testing.assert_allclose(legacy.sequential_linear_kernel(X, Xt), X @ Xt.T, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("protocol, option", [("repeated", "--repeats"), ("kfold", "--folds")])
def test_baselines_and_evaluate_draw_the_same_splits_of_naap440(data_dir, tmp_path, protocol, option):
    """One protocol and seed test the same architectures in both commands (baselines keeps the paper's row order,
    which decides its exact figures, for the official split only), so a model's figures agree."""
    common = ["--data", str(data_dir), "--budgets", "0", "--protocol", protocol, option, "2", "--jobs", "1",
              "--quiet"]
    assert main(["baselines", *common, "--models", "5-NN", "--out", str(tmp_path / "bl")]) == 0
    assert main(["evaluate", *common, "--predictors", "paper:5-NN", "--inner-folds", "0", "--seeds", "1",
                 "--out", str(tmp_path / "ev")]) == 0
    ours = pd.read_csv(tmp_path / "bl" / "baselines.csv").iloc[0]
    theirs = pd.read_csv(tmp_path / "ev" / "results.csv").iloc[0]
    for metric in ("mae", "violations", "kendall_tau", "kendall_tau_std"):
        assert ours[metric] == pytest.approx(theirs[metric], rel=1e-5), metric
    per_split = pd.read_csv(tmp_path / "bl" / "baselines_detail.csv").iloc[0]  # split by split, in split order
    runs = pd.read_csv(tmp_path / "ev" / "runs.csv").sort_values("split")
    for metric in ("mae", "violations", "kendall_tau"):
        values = [float(v) for v in per_split[f"split_{metric}"].split(";")]
        assert values == pytest.approx(runs[metric].tolist(), rel=1e-5), metric
    assert per_split["split_violations"] == ";".join(str(int(v)) for v in runs["violations"])

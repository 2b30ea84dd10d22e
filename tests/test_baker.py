"""Baker et al. 2018's predictor, and the gate that lets the GNN ignore an unhelpful curve."""
import dataclasses

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from baselines.baker import BakerPredictor, baker_features, feature_names
from naapgnn.arch.format import OPS, parse_architecture
from naapgnn.data.records import Record
from naapgnn.errors import NaapgnnError, NaapgnnWarning
from naapgnn.models.curve_stack import CurveStack, apply_stack, fit_gated_stack
from naapgnn.models.kernels import KERNEL_GRID

LINEAR = ("linear",)  # the ridge alone, where the test is about the gate's other parts (the kernels cost seconds)


def make_records(n=60, seed=0, informative=True, u_shaped=False):
    """Synthetic benchmark: the target is mostly the curve's level (or unrelated to the curve, or,
    ``u_shaped``, a parabola of the level that no line fits)."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        width = int(rng.choice([8, 16, 24, 32]))
        arch = parse_architecture([{"kernel_size": 3, "width": width, "stride": 2, "residual": False},
                                   {"kernel_size": 3, "width": 2 * width, "stride": 2, "residual": False}])
        level = rng.uniform(0.3, 0.7)
        curve = level * (1 - np.exp(-np.arange(1, 11) / 3)) + rng.normal(0, 0.002, 10)
        target = level + 0.001 * width if informative else 0.5 + 0.004 * width + rng.normal(0, 0.01)
        if u_shaped:
            target = 0.3 + 4 * (level - 0.5) ** 2
        records.append(Record(f"n{i}", arch, curve={"accuracy": curve, "lr": np.full(10, 0.1)},
                              hparams={"lr": 0.1, "wd": float(rng.choice([1e-4, 5e-4]))}, target=float(target)))
    return records


def test_features_hold_values_and_their_differences():
    records = make_records(3)
    X = baker_features(records, 4, ["accuracy"], ["lr", "wd"])
    names = feature_names(4, ["accuracy"], ["lr", "wd"])
    assert X.shape == (3, len(names)) and len(names) == 7 + len(OPS) + 2 + 4 + 3 + 2
    row = dict(zip(names, X[0]))
    acc = records[0].curve["accuracy"]
    assert row["accuracy_e4"] == acc[3] and row["accuracy_d1_4"] == pytest.approx(acc[3] - acc[2])
    assert row["accuracy_d2_3"] == pytest.approx(acc[2] - 2 * acc[1] + acc[0])
    assert row["num_conv"] == 2 and row["hp_wd"] == records[0].hparams["wd"]
    assert row["log_params"] == pytest.approx(np.log(sum(p.numel() for p in _module(records[0]).parameters())))


def _module(record):
    from naapgnn.arch.builder import build_model

    return build_model(record.arch)


@pytest.mark.parametrize("model", ["svr", "rf"])
def test_fit_predict_with_uncertainty_and_cv_choice(model):
    records = make_records(60)
    train, test = records[:45], records[45:]
    est = BakerPredictor(budget=5, model=model, n_estimators=30, random_state=0).fit(train)
    mean, std = est.predict(test, return_std=True)
    y = np.array([r.target for r in test])
    assert mean.shape == std.shape == (15,) and np.all(std >= 0) and std.mean() > 0
    assert np.mean(np.abs(mean - y)) < 0.5 * np.mean(np.abs(y - y.mean()))  # far better than the mean
    assert est.channels_ == ["accuracy", "lr"] and est.hparam_names_ == ["lr", "wd"]
    assert est.cv_mse_ > 0 and set(est.best_params_) == ({"C", "nu", "gamma"} if model == "svr"
                                                          else {"max_features", "min_samples_leaf"})
    again = BakerPredictor(budget=5, model=model, n_estimators=30, random_state=0).fit(train).predict(test)
    assert np.array_equal(mean, again)  # seeded


@pytest.mark.parametrize("model", ["svr", "rf"])
@pytest.mark.parametrize("budget", [0, 5])
def test_the_grid_search_chooses_and_scores_exactly_as_grid_search_cv(model, budget):
    from sklearn.model_selection import GridSearchCV, KFold

    from baselines.baker import grid_search

    records = make_records(60, seed=budget)
    est = BakerPredictor(budget=budget, model=model, n_estimators=20, random_state=0)
    X = baker_features(records, budget, ["accuracy", "lr"] if budget else [], ["lr", "wd"])
    y = np.array([r.target for r in records])
    pipeline, grid = est._pipeline_and_grid(X.shape[1])
    folds = KFold(3, shuffle=True, random_state=0)
    reference = GridSearchCV(pipeline, grid, cv=folds, scoring="neg_mean_squared_error").fit(X, y)
    assert grid_search(pipeline, grid, folds, X, y) == (reference.best_params_, -reference.best_score_)


def test_the_grid_search_reads_a_seeded_subset_and_the_choice_is_refitted_on_every_record():
    from sklearn.model_selection import KFold

    from baselines.baker import grid_search
    from naapgnn.models.kernels import varying_columns

    records = make_records(60, seed=3)
    y = np.array([r.target for r in records])
    est = BakerPredictor(budget=3, max_search_rows=24, random_state=1).fit(records, y)
    rows = np.sort(np.random.default_rng(1).choice(60, 24, replace=False))
    X = baker_features(records, 3, est.channels_, est.hparam_names_)
    pipeline, grid = est._pipeline_and_grid(varying_columns(X))
    z = (y - y.mean()) / y.std()
    params, mse = grid_search(pipeline, grid, KFold(3, shuffle=True, random_state=1), X[rows], z[rows])
    assert est.best_params_ == {k.removeprefix("reg__"): v for k, v in params.items()}
    assert est.cv_mse_ == pytest.approx(mse * est.y_std_ ** 2)
    assert est.model_[-1].shape_fit_[0] == 60
    whole = BakerPredictor(budget=3, max_search_rows=None, random_state=1).fit(records, y)
    assert BakerPredictor(budget=3, random_state=1).fit(records, y).best_params_ == whole.best_params_  # 60 < 1000
    with pytest.raises(NaapgnnError, match="max_search_rows must be None or an integer >= 2 \\* cv, got 4"):
        BakerPredictor(max_search_rows=4).fit(records, y)
    for params, message in (({"model": "rf", "n_estimators": 0}, "n_estimators must be a positive integer, got 0"),
                            ({"random_state": "a"}, r"random_state must be None or an integer in \[0, 4294967295\], "
                                                    "got 'a'")):
        with pytest.raises(NaapgnnError, match=f"^BakerPredictor: {message}"):
            BakerPredictor(**params).fit(records, y)


def test_budget_zero_reads_no_curve_and_errors_are_one_line():
    records = make_records(20)
    est = BakerPredictor(budget=0).fit(records)
    assert est.channels_ == [] and not any("_e" in n for n in est.feature_names_)
    with pytest.raises(NaapgnnError, match="record 'n0': curve channel 'accuracy' has 10 epochs, budget 11"):
        BakerPredictor(budget=11).fit(records)
    with pytest.raises(NaapgnnError, match="model must be one of svr, rf"):
        BakerPredictor(model="gp").fit(records)
    with pytest.raises(NotFittedError, match="BakerPredictor: not fitted"):  # as GNNPredictor and scikit-learn
        BakerPredictor().predict(records)
    with pytest.raises(NaapgnnError, match="BakerPredictor: all 20 training targets are 0.5: nothing to learn"):
        BakerPredictor(budget=0).fit(records, np.full(20, 0.5))  # as GNNPredictor refuses them


def test_registry_keys_and_search_plug_in():
    from naapgnn.models.registry import create, get
    from naapgnn.search.problem import make_predictor
    from naapgnn.search.settings import SearchSettings

    assert get("baker").has_std and get("baker_rf").has_std
    assert isinstance(create("baker", budget=3), BakerPredictor) and create("baker_rf", budget=3).model == "rf"
    assert make_predictor("baker", 3, 0).budget == 3
    assert SearchSettings(strategy="early-stop", predictor="baker").checked().predictor == "baker"
    with pytest.raises(NaapgnnError, match="unknown predictor 'svm'"):
        SearchSettings(strategy="early-stop", predictor="svm").checked()


def test_runner_selects_baker():
    from baselines.runner import select_baselines

    assert select_baselines("baker") == ["Baker et al. nu-SVR", "Baker et al. Random Forest"]
    assert select_baselines("all,Baker et al. nu-SVR")[-1] == "Baker et al. nu-SVR"
    assert "Baker et al. nu-SVR" not in select_baselines("all")  # the paper's table stays fast


def test_gate_keeps_a_useful_curve_and_drops_a_useless_one():
    rng = np.random.default_rng(0)
    target = rng.normal(size=200)
    oof = target + rng.normal(0, 0.5, 200)
    useful = (target - oof + rng.normal(0, 0.1, 200)).reshape(-1, 1)
    stack = fit_gated_stack(oof, useful, target)
    assert stack.kind == "linear" and stack.gate["used"] and stack.gate["stack_mae"] < stack.gate["graph_mae"]
    assert stack.coef[1] > 0.5 and stack.model is None
    noise = rng.normal(size=(200, 5))
    stack = fit_gated_stack(oof, noise, target, curve_kinds=("linear", "nonlinear"))
    assert stack.kind == "graph" and not stack.gate["used"] and stack.model is None
    assert np.array_equal(stack.oof, oof)  # graph only: the held-out graph prediction itself
    assert np.array_equal(stack.coef, [1, 0, 0, 0, 0, 0]) and stack.intercept == 0.0
    with pytest.raises(NaapgnnError, match="at least 10 records, got 3"):
        fit_gated_stack(np.r_[oof[:3], np.full(197, np.nan)], noise, target)


def test_budget_zero_stack_reads_the_statistics_and_the_curve_gate_stands_on_it():
    """What the graph prediction misses and the networks' statistics tell is corrected at budget 0; a
    curve stack at budget k must then beat that model, not the bare graph prediction."""
    rng = np.random.default_rng(3)
    statistics, target = rng.normal(size=(300, 3)), rng.normal(size=300)
    oof = target - np.tanh(2 * statistics[:, 0]) + rng.normal(0, 0.2, 300)
    zero = fit_gated_stack(oof, np.zeros((300, 0)), target, statistics=statistics)
    assert zero.kind == zero.gate["budget0_kind"] == "architecture" and not zero.gate["used"]
    assert zero.model.n_features_in_ == 1 + 3 and zero.gate["architecture_mae"] < 0.5 * zero.gate["graph_mae"]
    assert "stack_mae" not in zero.gate and "nonlinear_mae" not in zero.gate  # no curve, no curve candidates
    out = apply_stack(oof[None], np.zeros((300, 0)), np.zeros((300, 0)), statistics, zero)
    assert np.mean(np.abs(out[0] - target)) < zero.gate["graph_mae"]
    later = fit_gated_stack(oof, rng.normal(size=(300, 4)), target, statistics=statistics)
    gate = later.gate
    assert gate["budget0_kind"] == "architecture" and gate["architecture_mae"] == zero.gate["architecture_mae"]
    assert gate["mae"] <= gate["architecture_mae"] and gate["tau"] >= gate["architecture_tau"]


def test_a_curve_every_run_shares_offers_no_candidate_and_the_model_is_the_budget_zero_one():
    """Identical curves (a constant column, however standardised) say nothing of the runs: a nonlinear stack on
    (graph prediction, constant) would still recalibrate the graph prediction and be credited to the curve."""
    rng = np.random.default_rng(4)
    statistics, target = rng.normal(size=(300, 3)), rng.normal(size=300)
    oof = np.tanh(1.5 * target) + rng.normal(0, 0.2, 300)  # a bent prediction a kernel would straighten
    zero = fit_gated_stack(oof, np.zeros((300, 0)), target, statistics=statistics)
    same = fit_gated_stack(oof, np.full((300, 4), 0.37), target, statistics=statistics)
    assert same.kind == zero.kind and not same.gate["used"] and same.weight == 1.0
    assert np.array_equal(same.oof, zero.oof) and "nonlinear_mae" not in same.gate
    varied = fit_gated_stack(oof, rng.normal(size=(300, 4)), target, statistics=statistics)
    assert "nonlinear_mae" in varied.gate  # a curve that varies is weighed


def test_the_budget_zero_part_of_a_gate_is_reused_only_where_it_read_the_same_inputs():
    """A gate at another budget of the same model reuses the budget-0 part it is handed, and gives what a gate
    fitted from scratch gives; handed the part of other inputs, it fits its own."""
    rng = np.random.default_rng(12)
    hparams, statistics, target = rng.normal(size=(150, 2)), rng.normal(size=(150, 3)), rng.normal(size=150)
    oof = target - np.tanh(2 * statistics[:, 0]) + rng.normal(0, 0.3, 150)
    curve = np.c_[target + rng.normal(0, 0.5, 150), rng.normal(size=150)]
    zero = fit_gated_stack(oof, np.zeros((150, 0)), target, hparams, statistics)
    reused = fit_gated_stack(oof, curve, target, hparams, statistics, shared=zero.shared, curve_kinds=LINEAR)
    fresh = fit_gated_stack(oof, curve, target, hparams, statistics, curve_kinds=LINEAR)
    assert reused.shared is zero.shared and fresh.shared is not zero.shared
    assert reused.gate == fresh.gate and reused.kind == fresh.kind == "linear"
    assert np.array_equal(reused.oof, fresh.oof, equal_nan=True)
    members = np.stack([oof, oof - 0.2])
    assert np.array_equal(apply_stack(members, curve, hparams, statistics, reused),
                          apply_stack(members, curve, hparams, statistics, fresh))
    other_target = target + rng.normal(0, 0.1, 150)
    other = fit_gated_stack(oof, curve, other_target, hparams, statistics, shared=zero.shared, curve_kinds=LINEAR)
    assert other.shared is not zero.shared
    assert other.gate == fit_gated_stack(oof, curve, other_target, hparams, statistics,
                                             curve_kinds=LINEAR).gate


def test_budget_zero_mixes_in_a_kernel_on_the_hyperparameters_when_they_decide_the_accuracy():
    """A recipe that decides the accuracy, a graph prediction that knows little of it: a share of a kernel on the
    hyperparameters alone is kept, as the mixture its held-out scores say; hyperparameters that never vary bring
    no candidate."""
    from naapgnn.models.curve_stack import MIXTURE_WEIGHTS, TargetMixture

    rng = np.random.default_rng(4)
    hparams = rng.normal(size=(200, 2))
    target = np.sin(2 * hparams[:, 0]) + 0.5 * hparams[:, 1] ** 2 + rng.normal(0, 0.2, 200)
    target = (target - target.mean()) / target.std()
    oof = 0.4 * target + rng.normal(0, 0.8, 200)
    none = np.zeros((200, 0))
    stack = fit_gated_stack(oof, none, target, hparams=hparams)
    gate = stack.gate
    assert stack.kind == gate["budget0_kind"] == "hparams" and not gate["used"] and stack.weight == 1.0
    weight = gate["hparams_setting"]["weight"]
    assert weight in MIXTURE_WEIGHTS and gate["hparams_mae"] < gate["graph_mae"]
    assert gate["hparams_tau"] >= gate["graph_tau"] and gate["mae"] == gate["hparams_mae"]
    assert isinstance(stack.model, TargetMixture) and stack.model.n_features_in_ == 1 + 2
    members = np.stack([oof, oof + 0.1])
    out = apply_stack(members, none, hparams, none, stack)
    assert np.allclose(out, (1 - weight) * members + weight * stack.model.kernel.predict(hparams))
    later = fit_gated_stack(oof, rng.normal(size=(200, 3)), target, hparams=hparams, curve_kinds=LINEAR)
    assert later.gate["budget0_kind"] == "hparams" and later.gate["hparams_mae"] == gate["hparams_mae"]
    constant = fit_gated_stack(oof, none, target, hparams=np.ones((200, 2)))
    assert "hparams_mae" not in constant.gate and constant.kind != "hparams"
    lone = np.zeros((200, 2))
    lone[0, 0] = 1.0  # one record's value: some fold's training part holds no varying column
    alone = fit_gated_stack(oof, none, target, hparams=lone)
    assert "hparams_mae" not in alone.gate and alone.kind != "hparams"


def test_the_gate_scores_each_candidate_by_its_mean_over_draws_of_folds(monkeypatch):
    rng = np.random.default_rng(3)
    curve = rng.normal(size=(150, 3))
    target = rng.normal(size=150) + 0.3 * curve[:, 0]
    oof = target - 0.3 * curve[:, 0] + rng.normal(0, 0.3, 150)
    draws = [fit_gated_stack(oof, curve, target, random_state=r, repeats=1, curve_kinds=LINEAR).gate
             for r in (5, 6, 7)]
    gate = fit_gated_stack(oof, curve, target, random_state=5, repeats=3, curve_kinds=LINEAR).gate
    for key in ("graph_mae", "stack_mae", "stack_tau"):  # the ridge has no setting chosen: each draw scores alone
        assert gate[key] == pytest.approx(np.mean([d[key] for d in draws]), rel=1e-12)
    assert len({d["stack_mae"] for d in draws}) == 3  # the draws do differ
    three = fit_gated_stack(oof, curve, target, random_state=5, curve_kinds=LINEAR)
    assert three.gate == gate  # three draws by default
    import naapgnn.models.budget0_gate as budget0_gate

    monkeypatch.setattr(budget0_gate, "REPEATED_ROWS", 149)  # above it, one draw
    assert fit_gated_stack(oof, curve, target, random_state=5, curve_kinds=LINEAR).gate == draws[0]


def test_gate_picks_the_nonlinear_stack_when_the_curve_acts_nonlinearly():
    """Diverged nets: below a curve threshold the target collapses, which no line can fit (the nu-SVR, which
    fits it too, left out: its own test is below)."""
    rng = np.random.default_rng(1)
    curve = rng.normal(size=(300, 2))
    target = rng.normal(size=300) - 3.0 * (curve[:, 0] < -0.5)
    oof = target + 3.0 * (curve[:, 0] < -0.5) + rng.normal(0, 0.3, 300)  # the graph cannot see divergence
    hparams, statistics = rng.normal(size=(300, 1)), rng.normal(size=(300, 3))
    kinds = ("linear", "nonlinear")
    stack = fit_gated_stack(oof, curve, target, hparams=hparams, statistics=statistics, curve_kinds=kinds)
    gate = stack.gate
    assert stack.kind == "nonlinear" and gate["used"] and stack.model.n_features_in_ == 1 + 2 + 1 + 3
    assert gate["nonlinear_mae"] < gate["stack_mae"] < gate["graph_mae"]
    assert tuple(gate["nonlinear_setting"].values()) in KERNEL_GRID
    assert gate["nonlinear_tau"] >= gate["graph_tau"]
    # the out-of-fold predictions of the kind kept (what calibration reads) score as the gate says (one draw of
    # folds; with more, the gate's scores are the draws' mean and ``oof`` is the first draw's)
    one = fit_gated_stack(oof, curve, target, hparams=hparams, statistics=statistics, repeats=1, curve_kinds=kinds)
    assert one.kind == "nonlinear" and np.mean(np.abs(one.oof - target)) == pytest.approx(one.gate["nonlinear_mae"])
    members = np.stack([oof, oof + 0.1])
    out = apply_stack(members, curve, hparams, statistics, stack)
    assert out.shape == (2, 300) and np.mean(np.abs(out[0] - target)) < 0.5 * gate["graph_mae"]


def test_the_stack_reads_a_seeded_subset_of_at_most_max_rows_records():
    rng = np.random.default_rng(1)
    curve = rng.normal(size=(300, 2))
    target = rng.normal(size=300) - 3.0 * (curve[:, 0] < -0.5)
    oof = target + 3.0 * (curve[:, 0] < -0.5) + rng.normal(0, 0.3, 300)
    oof[:5] = np.nan  # no held-out prediction: never among the rows read
    hparams, statistics = rng.normal(size=(300, 1)), rng.normal(size=(300, 3))
    thinned = fit_gated_stack(oof, curve, target, hparams, statistics, max_rows=120)
    again = fit_gated_stack(oof, curve, target, hparams, statistics, max_rows=120)
    read = np.isfinite(thinned.oof)
    assert read.sum() == 120 and not read[:5].any() and np.array_equal(read, np.isfinite(again.oof))
    regressor = (thinned.model.kernel if thinned.kind == "svr" else thinned.model)[-1]  # a nu-SVR or a kernel ridge
    fitted_rows = regressor.shape_fit_[0] if thinned.kind == "svr" else regressor.X_fit_.shape[0]
    assert np.array_equal(thinned.oof[read], again.oof[read]) and fitted_rows == 120
    whole = fit_gated_stack(oof, curve, target, hparams, statistics, max_rows=295)
    assert np.isfinite(whole.oof).sum() == 295


def test_linear_path_is_the_ridge_arithmetic():
    rng = np.random.default_rng(2)
    preds, curve = rng.normal(size=(3, 20)), rng.normal(size=(20, 2))
    coef = np.array([0.8, 0.3, -0.1])
    stack = CurveStack("linear", coef, 0.05)
    out = apply_stack(preds, curve, np.zeros((20, 0)), np.zeros((20, 0)), stack)
    assert np.array_equal(out, preds * 0.8 + 0.05 + curve @ coef[1:])


def test_kernel_stacks_survive_a_checkpoint_round_trip(tmp_path):
    """The gate's nu-SVRs of the target (on the graph prediction, curve and hparams; and on those and the
    statistics) and its nonlinear kernel ridge (on all four) reload to the same predictions."""
    import copy

    import joblib

    from naapgnn.graph.statistics import GRAPH_STATISTICS
    from naapgnn.models.curve_stack import TargetMixture
    from naapgnn.models.gnn import GNNPredictor
    from naapgnn.models.kernels import kernel_ridge, nu_svr

    records = make_records(80, u_shaped=True)
    tiny = dict(hidden=8, layers=1, max_epochs=5, patience=5, n_ensemble=2, blend_forest=0.0, random_state=0)
    base, models = GNNPredictor(budget=3, **tiny).fit(records[:64]), {}
    for kind in ("svr", "svr_statistics", "svr_values", "svr_no_graph", "nonlinear"):
        model = copy.deepcopy(base)
        # (prediction, curve features[, per-epoch values and differences], hparams[, the statistics but the count
        # of mul nodes]); svr_no_graph's kernel reads all but the prediction
        values = len(model.curve_value_names_) if kind in ("svr_values", "svr_no_graph") else 0
        columns = 1 + len(model.curve_feature_names_) + values + 2 + (0 if kind == "svr" else len(GRAPH_STATISTICS) - 1)
        X = np.random.default_rng(0).normal(size=(30, columns))
        blind = kind == "svr_no_graph"
        model.stack_model_ = (kernel_ridge((0.1, 1.0), X).fit(X, X[:, 1]) if kind == "nonlinear" else
                              TargetMixture(nu_svr((10.0, 0.6, 0.3), X).fit(X[:, blind:], X[:, 1]), 0.5,
                                            reads_prediction=not blind))
        model.stack_gate_.update(kind=kind, weight=1.0, used=True)
        models[kind] = model
    for kind, fitted in models.items():
        fitted.save(tmp_path / kind)
        assert (tmp_path / kind / "stack.joblib").is_file()
        loaded = GNNPredictor.load(tmp_path / kind)
        assert loaded.stack_gate_["kind"] == kind and loaded.stack_gate_["used"]
        assert np.array_equal(loaded.predict(records[64:]), fitted.predict(records[64:]))
        joblib.dump({"coef": [1.0]}, tmp_path / kind / "stack.joblib")
        with pytest.raises(NaapgnnError, match=f"the {kind} stack file holds a dict, not a fitted model; retrain"):
            GNNPredictor.load(tmp_path / kind)
        (tmp_path / kind / "stack.joblib").unlink()
        with pytest.raises(NaapgnnError, match=f"the stack is {kind} but stack.joblib is missing"):
            GNNPredictor.load(tmp_path / kind)


def test_svr_values_reads_the_values_and_differences_the_curve_features_do_not_hold():
    """Baker's columns beyond the curve summaries: at 1 epoch none (the value is the last and the best), at 3 the
    first two values and their difference (the third is the last, its differences the last ones), standardised
    on the training records, what the svr_values candidate reads at fit and at predict."""
    from naapgnn.models.curve_stack import KERNEL_INPUTS
    from naapgnn.models.gnn import GNNPredictor

    records = make_records(60)
    tiny = dict(hidden=8, layers=1, max_epochs=2, patience=2, n_ensemble=2, blend_forest=0.0, random_state=0)
    assert GNNPredictor(budget=1, **tiny).fit(records).curve_value_names_ == []
    model = GNNPredictor(budget=3, **tiny).fit(records)
    assert model.curve_value_names_ == ["accuracy_e1", "accuracy_e2", "accuracy_d1_2"]
    acc = np.array([r.curve["accuracy"][:2] for r in records])
    raw = np.c_[acc, acc[:, 1] - acc[:, 0]]
    assert np.allclose(model._curve_values(records), (raw - raw.mean(0)) / raw.std(0))
    assert [kind for kind, inputs in KERNEL_INPUTS.items() if "values" in inputs] == ["svr_values", "svr_no_graph"]


def test_svr_values_is_a_candidate_only_where_there_are_values_and_is_picked_where_they_decide():
    """No values (one epoch): the gate is the one without the candidate, to the last digit. Where the target is a
    value the curve features do not hold, the gate scores the candidate, keeps it, and its prediction reads it."""
    rng = np.random.default_rng(3)
    n = 200
    oof, curve, value = rng.normal(size=n), rng.normal(size=(n, 3)), rng.normal(size=(n, 1))
    target = 0.3 * oof + np.tanh(2 * value[:, 0]) + 0.05 * rng.normal(size=n)
    without = fit_gated_stack(oof, curve, target)
    assert fit_gated_stack(oof, curve, target, values=np.zeros((n, 0))).gate == without.gate
    assert "svr_values_mae" not in without.gate
    stack = fit_gated_stack(oof, curve, target, values=value)
    assert stack.gate["svr_values_mae"] < without.gate["svr_mae"] and stack.gate["kind"] == "svr_values"
    none = np.zeros((n, 0))
    moved = apply_stack(oof[None], curve, none, none, stack, -value)[0]
    assert np.abs(moved - apply_stack(oof[None], curve, none, none, stack, value)[0]).max() > 0.1


def test_svr_no_graph_is_kept_where_the_graph_prediction_is_noise_and_does_not_read_it():
    """Where the held-out graph prediction says nothing and the curve decides the target, the nu-SVR that does not
    read the prediction errs less on cross-validation than the one that does (an RBF input of noise), is kept at
    full share, and its prediction does not move with the graph prediction."""
    rng = np.random.default_rng(5)
    n = 200
    oof, curve = rng.normal(size=n), rng.normal(size=(n, 3))
    target = np.sin(2 * curve[:, 0]) + 0.5 * curve[:, 1] ** 2 + 0.05 * rng.normal(size=n)
    stack = fit_gated_stack(oof, curve, target)
    assert stack.gate["svr_no_graph_mae"] < min(stack.gate["svr_mae"], stack.gate["svr_statistics_mae"])
    assert (stack.gate["kind"], stack.gate["weight"]) == ("svr_no_graph", 1.0)
    none = np.zeros((n, 0))
    assert np.allclose(apply_stack(oof[None], curve, none, none, stack)[0],
                       apply_stack(rng.normal(size=(1, n)), curve, none, none, stack)[0])


def test_columns_beyond_drops_constant_columns_and_affine_copies_of_a_feature():
    from naapgnn.features.curves import columns_beyond

    rng = np.random.default_rng(0)
    a, other = rng.normal(size=(50, 3)), rng.normal(size=50)
    features = np.c_[2 * a[:, 0] + 1, other, np.ones(50)]
    assert columns_beyond(np.c_[a, np.ones(50), 3 - a[:, 2] / 7, other + 1e-3 * a[:, 1]], features) == [1, 2, 4, 5]
    assert columns_beyond(np.zeros((50, 0)), features) == [] and columns_beyond(a, np.zeros((50, 0))) == [0, 1, 2]


def test_gnn_at_budget_k_falls_back_to_budget_zero_when_the_curve_does_not_help():
    from naapgnn.models.gnn import GNNPredictor

    records = make_records(60, informative=False)
    tiny = dict(hidden=8, layers=1, max_epochs=5, patience=5, n_ensemble=2, blend_forest=0.0, random_state=0)
    zero = GNNPredictor(budget=0, **tiny).fit(records[:40])
    three = GNNPredictor(budget=3, **tiny).fit(records[:40])
    assert three.stack_gate_["used"] is False  # a curve unrelated to the target is dropped on CV
    assert np.allclose(three.predict(records[40:]), zero.predict(records[40:]))


def test_with_budget_gives_exactly_the_model_fitted_at_that_budget():
    """The graph part reads no curve in the stacked mode: refitting only the curve side is the same model."""
    from naapgnn.models.gnn import GNNPredictor

    records = make_records(70, u_shaped=True)
    train, test = records[:56], records[56:]
    tiny = dict(hidden=8, layers=1, max_epochs=5, patience=5, n_ensemble=2, blend_forest=0.5, forest_trees=20,
                random_state=0)
    zero = GNNPredictor(budget=0, **tiny).fit(train)
    gate = dict(zero.stack_gate_)
    assert gate["kind"] == gate["budget0_kind"] and not gate["used"]
    for budget in (3, 7):
        direct = GNNPredictor(budget=budget, **tiny).fit(train)
        derived = zero.with_budget(budget, train)
        assert derived.stack_shared_ is zero.stack_shared_  # the gate's budget-0 part reused, not refitted
        assert direct.stack_shared_ is not zero.stack_shared_
        assert derived.budget == budget and derived.get_params() == direct.get_params()
        assert derived.stack_gate_ == direct.stack_gate_
        assert np.array_equal(derived.predict(test), direct.predict(test))
        assert np.array_equal(derived.predict(test, return_std=True)[1], direct.predict(test, return_std=True)[1])
        assert derived.domain_report(test)[1] == direct.domain_report(test)[1]
    assert zero.budget == 0 and zero.stack_gate_ == gate  # the source model is unchanged
    with pytest.raises(NaapgnnError, match="X must be the training data of fit"):
        zero.with_budget(3, train[:10])
    network = GNNPredictor(budget=3, curve_mode="network", **tiny).fit(train)
    with pytest.raises(NaapgnnError, match="the graph part reads the curve"):
        network.with_budget(5, train)


def test_too_few_records_for_a_stack_leave_the_graph_prediction_at_every_budget():
    """Eight records leave too few held-out predictions to cross-validate a stack: at budget 0 the model
    is the graph prediction itself, and with a curve it is that model again, with a warning (what the gate keeps
    when it cannot show the curve helps), so that an evaluation of a small file still runs."""
    from naapgnn.models.gnn import GNNPredictor

    records = make_records(8)
    tiny = dict(hidden=8, layers=1, max_epochs=3, patience=3, n_ensemble=2, blend_forest=0.0, random_state=0)
    model = GNNPredictor(budget=0, **tiny).fit(records)
    assert model.stack_gate_ == {} and model.stack_model_ is None
    assert np.allclose(model.predict(records), np.clip(model.predict_parts(records)["gnn"], 0, 1))
    with pytest.warns(NaapgnnWarning, match=r"^GNNPredictor: at budget 3 the curve is not read, the budget-0 model "
                      r"predicts: the curve stack is cross-validated on held-out predictions of at least 10 training "
                      r"architectures, and 0 of the 8 have one \(train on more, or more ensemble members: "
                      r"n_ensemble\)$"):
        at3 = GNNPredictor(budget=3, **tiny).fit(records)
    assert at3.stack_gate_ == {} and np.allclose(at3.predict(records), model.predict(records))


def test_a_curve_stack_that_ranks_worse_alone_enters_mixed_with_the_budget_zero_model():
    """A curve that pins down the diverged networks but ranks the others worse than the graph: alone it
    lowers the cross-validated error and the Kendall tau, so the gate would drop it; three parts of it to
    one of the graph prediction lower the error and keep the tau."""
    rng = np.random.default_rng(1)
    signal = rng.normal(size=120)
    diverged = rng.random(120) < 0.08
    target = np.where(diverged, -3.0, signal)
    oof = signal + rng.normal(0, 0.15, 120)
    curve = np.c_[np.where(diverged, -2.0, 0.0) + rng.normal(0, 0.5, 120), signal + rng.normal(0, 1.5, 120),
                  rng.normal(size=(120, 3))]
    stack = fit_gated_stack(oof, curve, target)
    gate = stack.gate
    assert gate["nonlinear_mae"] < gate["graph_mae"] and gate["nonlinear_tau"] < gate["graph_tau"]
    assert stack.kind == "nonlinear" and stack.weight == gate["weight"] < 1 and gate["used"]
    assert stack.budget0.kind == gate["budget0_kind"] == "graph"
    assert gate["mae"] < gate["graph_mae"] and gate["tau"] >= gate["graph_tau"]
    none = np.zeros((120, 0))
    mixed = apply_stack(oof[None], curve, none, none, stack)
    alone = apply_stack(oof[None], curve, none, none, CurveStack("nonlinear", stack.coef, stack.intercept,
                                                                       stack.model))
    assert np.allclose(mixed, stack.weight * alone + (1 - stack.weight) * oof[None])
    # the ablation that asks the pick to win on records it did not read keeps this gain (it struck it while the
    # gate took the lowest error of the kept mixtures; the gain holds on fresh records: scripts/gate_ground_truth.py)
    assert fit_gated_stack(oof, curve, target, check_picks=True).gate == gate


def test_a_mixed_stack_survives_a_checkpoint_round_trip(tmp_path):
    from naapgnn.graph.statistics import GRAPH_STATISTICS
    from naapgnn.models.kernels import kernel_ridge as _kernel_ridge
    from naapgnn.models.gnn import GNNPredictor

    records = make_records(80, u_shaped=True)
    tiny = dict(hidden=8, layers=1, max_epochs=5, patience=5, n_ensemble=2, blend_forest=0.0, random_state=0)
    model = GNNPredictor(budget=3, **tiny).fit(records[:64])
    before = model.predict(records[64:])
    columns = np.random.default_rng(0).normal(size=(30, 1 + 2 + len(GRAPH_STATISTICS) - 1))  # no num_mul
    model.stack_budget0_model_ = _kernel_ridge((0.1, 1.0), columns).fit(columns, columns[:, 0])
    model.stack_gate_.update(weight=0.5, budget0_kind="architecture")
    model.stack_others_ = []  # one curve stack mixed, not a mean of several (tests/test_gate_mean.py)
    mixed = model.predict(records[64:])
    assert not np.allclose(mixed, before)
    model.save(tmp_path / "ckpt")
    loaded = GNNPredictor.load(tmp_path / "ckpt")
    assert loaded.stack_gate_["weight"] == 0.5 and loaded.stack_gate_["budget0_kind"] == "architecture"
    assert np.array_equal(loaded.predict(records[64:]), mixed)
    (tmp_path / "ckpt" / "stack_budget0.joblib").unlink()
    with pytest.raises(NaapgnnError, match="mixed with kind architecture but stack_budget0.joblib is missing"):
        GNNPredictor.load(tmp_path / "ckpt")


def test_a_hparams_stack_survives_a_checkpoint_round_trip(tmp_path):
    from naapgnn.models.curve_stack import TargetMixture
    from naapgnn.models.kernels import kernel_ridge as _kernel_ridge
    from naapgnn.models.gnn import GNNPredictor

    records = make_records(80, u_shaped=True)
    tiny = dict(hidden=8, layers=1, max_epochs=5, patience=5, n_ensemble=2, blend_forest=0.0, random_state=0)
    model = GNNPredictor(budget=0, **tiny).fit(records[:64])
    before = model.predict(records[64:])
    columns = np.random.default_rng(0).normal(size=(30, 2))  # the two hyperparameters, lr and wd
    model.stack_model_ = TargetMixture(_kernel_ridge((0.1, 1.0), columns).fit(columns, columns[:, 1]), 0.5)
    model.stack_gate_.update(kind="hparams", budget0_kind="hparams", weight=1.0)
    mixed = model.predict(records[64:])
    assert not np.allclose(mixed, before)
    model.save(tmp_path / "ckpt")
    loaded = GNNPredictor.load(tmp_path / "ckpt")
    assert loaded.stack_gate_["kind"] == "hparams" and np.array_equal(loaded.predict(records[64:]), mixed)
    (tmp_path / "ckpt" / "stack.joblib").unlink()
    with pytest.raises(NaapgnnError, match="the stack is hparams but stack.joblib is missing"):
        GNNPredictor.load(tmp_path / "ckpt")


@pytest.mark.parametrize("kind", ["kernel_ridge", "nu_svr"])
def test_a_grid_search_shares_each_kernel_and_equals_one_fit_per_setting(kind):
    """Per fold and gamma the kernel is computed once for every alpha (kernel ridge) or (C, nu) (nu-SVR); the
    held-out predictions equal a cross_val_predict per setting."""
    from sklearn.model_selection import KFold, cross_val_predict

    from naapgnn.models import kernels

    # libsvm stops its solver at a tolerance, so the nu-SVR's predictions agree to 1e-6, the kernel ridge's to 1e-9
    grid, held_out, atol = {"kernel_ridge": (KERNEL_GRID, kernels.kernel_grid_held_out, 1e-9),
                            "nu_svr": (kernels.SVR_GRID, kernels.svr_grid_held_out, 1e-6)}[kind]
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 6))
    X[:, 2] = 1.0  # constant: left out of gamma's column count
    X[rng.random(X.shape) < 0.05] = np.nan  # imputed
    target = np.nan_to_num(X[:, 0]) ** 2 + rng.normal(0, 0.1, 40)
    folds = KFold(5, shuffle=True, random_state=0)
    shared = held_out(X, target, folds)
    assert set(shared) == set(grid)
    for setting in grid:
        one = cross_val_predict(getattr(kernels, kind)(setting, X), X, target, cv=folds)
        np.testing.assert_allclose(shared[setting], one, rtol=0, atol=atol)


def dead_and_slow_records(n=90, seed=0):
    """A quarter of the runs never move from zero accuracy and end at zero (diverged); another quarter sit at
    chance (0.005) for 3 epochs, then learn as well as the rest."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        width = int(rng.choice([8, 16, 24, 32]))
        arch = parse_architecture([{"kernel_size": 3, "width": width, "stride": 2, "residual": False}])
        kind, level = ("dead", "slow", "normal", "normal")[i % 4], rng.uniform(0.3, 0.6)
        if kind == "dead":
            curve, level = np.zeros(6), 0.0
        elif kind == "slow":
            curve = np.r_[rng.uniform(0.004, 0.006, 3), level * np.array([0.5, 0.7, 0.8])]
        else:
            curve = level * (1 - np.exp(-np.arange(1, 7) / 2))
        records.append(Record(f"{kind}{i}", arch, curve={"accuracy": curve}, target=float(level)))
    return records


def test_at_budget_3_a_dead_run_is_told_from_a_slow_start():
    """Three epochs near zero: the dead runs' never changed (the `flat` curve feature), the slow starters' did."""
    from naapgnn.models.gnn import GNNPredictor

    records = dead_and_slow_records()
    tiny = dict(hidden=8, layers=1, max_epochs=5, patience=5, n_ensemble=2, blend_forest=0.0, random_state=0)
    model = GNNPredictor(budget=3, **tiny).fit(records[:70])
    test = records[70:]
    pred, y = model.predict(test), np.array([r.target for r in test])
    dead = np.array([r.id.startswith("dead") for r in test])
    slow = np.array([r.id.startswith("slow") for r in test])
    assert dead.sum() == slow.sum() == 5 and model.stack_gate_["used"]
    assert np.all(pred[dead] < 0.015)  # 0.03 each without the flat feature
    assert np.mean(np.abs(pred - y)[slow]) < 0.1  # 0.19 without it


def test_at_budget_1_a_dead_run_is_told_from_a_slow_start_by_the_worst_training_value():
    """One epoch: the dead runs read accuracy 0, the training records' worst value; the slow starters read chance."""
    from naapgnn.models.gnn import GNNPredictor

    records = dead_and_slow_records()
    tiny = dict(hidden=8, layers=1, max_epochs=5, patience=5, n_ensemble=2, blend_forest=0.0, random_state=0)
    model = GNNPredictor(budget=1, **tiny).fit(records[:70])
    assert model.curve_worst_ == {"accuracy": 0.0}
    test = records[70:]
    pred = model.predict(test)
    dead = np.array([r.id.startswith("dead") for r in test])
    slow = np.array([r.id.startswith("slow") for r in test])
    assert model.stack_gate_["used"]
    assert np.all(pred[dead] < 0.02)  # 0.085-0.089 without the worst value
    # an epoch at chance says nothing of a slow starter's level (uniform on [0.3, 0.6]: the best guess, their mean,
    # errs by 0.075 on average), so each is read as a run that will train to such a level, none as a dead one
    assert np.all((pred[slow] > 0.3) & (pred[slow] < 0.6))


def test_a_linear_stack_mixed_with_the_budget_zero_model_is_that_share_of_each():
    rng = np.random.default_rng(2)
    oof, curve = rng.normal(size=30), rng.normal(size=(30, 2))
    graph = CurveStack("graph", np.array([1.0, 0.0, 0.0]), 0.0)
    ridge = CurveStack("linear", np.array([0.8, 0.3, -0.2]), 0.1)
    mixed = CurveStack("linear", ridge.coef, ridge.intercept, weight=0.75, budget0=graph)
    none = np.zeros((30, 0))
    expected = 0.75 * (0.8 * oof + curve @ [0.3, -0.2] + 0.1) + 0.25 * oof
    assert np.allclose(apply_stack(oof[None], curve, none, none, mixed), expected[None])


def test_a_pick_that_won_by_luck_is_struck_and_a_real_gain_holds():
    """Forty challengers a little worse than the incumbent: the best on all records often beats it by luck, and
    picking on four fifths then loses on the fifth left; a challenger truly better holds, alone or among them."""
    from naapgnn.models.gate_rules import (better_candidate, folds, mean_scores, rescaled_bar, rescaled_predictions,
                                           selection_holds)

    picked, held, good_held = 0, 0, 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        y = rng.normal(size=200)
        base = [y + rng.normal(scale=0.5, size=200)] * 3
        draws = [folds(5, r) for r in range(3)]
        rescaled = rescaled_predictions(base, y, draws)
        lucky = {i: [y + rng.normal(scale=0.52, size=200)] * 3 for i in range(40)}
        scores = {None: rescaled_bar(base, rescaled, y), **{i: mean_scores(p, y) for i, p in lucky.items()}}
        if better_candidate(None, list(lucky), scores) is not None:
            picked += 1
            held += selection_holds(lucky, base, rescaled, y, draws)
        good = {"good": [y + rng.normal(scale=0.3, size=200)] * 3}
        good_held += selection_holds(good, base, rescaled, y, draws) and selection_holds({**lucky, **good}, base,
                                                                                          rescaled, y, draws)
    assert picked >= 3 and held <= 1
    assert good_held == 10


def test_of_the_kept_mixtures_the_highest_tau_within_one_standard_error_of_the_lowest_error_wins():
    from naapgnn.models.gate_rules import better_mixture, mean_scores

    rng = np.random.default_rng(3)
    y = rng.normal(size=200)
    base = y + rng.normal(scale=0.6, size=200)
    lowest = y + rng.normal(scale=0.3, size=200)
    orderly = y + 0.235 + rng.normal(scale=0.02, size=200)  # a bias: about the same error, a far better order
    far = orderly + 0.06  # the same order, an error well beyond one standard error of the lowest
    mixtures = {"lowest": [lowest], "orderly": [orderly], "far": [far], "worse": [base - 0.3]}
    scores = {"base": mean_scores([base], y), **{k: mean_scores(p, y) for k, p in mixtures.items()}}
    assert scores["lowest"][0] < scores["orderly"][0] < scores["far"][0] < scores["base"][0] < scores["worse"][0]
    assert scores["orderly"][1] > scores["lowest"][1]
    gap = np.abs(orderly - y) - np.abs(lowest - y)
    assert gap.mean() <= gap.std(ddof=1) / np.sqrt(200)
    assert better_mixture("base", mixtures, scores, y) == "orderly"
    assert better_mixture("base", {"lowest": mixtures["lowest"], "far": [far]}, scores, y) == "lowest"
    assert better_mixture("base", {"worse": mixtures["worse"]}, scores, y) == "base"


def test_a_share_of_a_target_model_must_beat_the_same_share_of_the_median():
    """The absolute test's constant is the median: it, or a hair off it, earns no weight; an informed model does."""
    from naapgnn.models.curve_stack import MIXTURE_WEIGHTS
    from naapgnn.models.gate_rules import folds, target_mixtures

    rng = np.random.default_rng(6)
    y = rng.normal(size=100)
    base = [y + rng.normal(0, 0.8, 100)]
    draws = [folds(5, 0)]
    medians = np.empty(100)
    for train, test in draws[0].split(y):
        medians[test] = np.median(y[train])
    assert target_mixtures([medians], base, y, draws, MIXTURE_WEIGHTS) == {}
    assert target_mixtures([medians + 1e-3], base, y, draws, MIXTURE_WEIGHTS) == {}
    informed = target_mixtures([y + rng.normal(0, 0.3, 100)], base, y, draws, MIXTURE_WEIGHTS)
    assert list(informed) == list(MIXTURE_WEIGHTS)


def test_a_robust_model_is_admitted_whole_where_runs_diverged_late():
    """A tenth of the runs diverged after the curve read, unforeseeably; the curve gives every other run's accuracy
    closely. A model that predicts those closely errs more, squared, than the mean (pulled toward the diverged
    runs), so the squared test shuts it out at the larger shares; by absolute error it is admitted whole."""
    from naapgnn.models.curve_stack import MIXTURE_WEIGHTS
    from naapgnn.models.gate_rules import folds, target_mixtures

    rng = np.random.default_rng(11)
    quality = rng.normal(size=200)
    curve = np.c_[quality + rng.normal(0, 0.05, 200), rng.normal(size=200)]
    diverged = rng.random(200) < 0.1  # later than the curve reads
    mean, std = np.where(diverged, -13.0, quality).mean(), np.where(diverged, -13.0, quality).std()
    target = (np.where(diverged, -13.0, quality) - mean) / std
    oof = 0.3 * target + rng.normal(0, 0.8, 200)
    draws = [folds(5, 0)]
    robust = (curve[:, 0] - mean) / std  # the other runs' accuracy, read off the curve
    means = np.empty(200)
    for train, test in draws[0].split(target):
        means[test] = target[train].mean()

    def squared_test_admits(w):
        mixed, shrunk = w * robust + (1 - w) * oof, w * means + (1 - w) * oof
        return np.mean((mixed - target) ** 2) < np.mean((shrunk - target) ** 2)

    assert not squared_test_admits(max(MIXTURE_WEIGHTS))
    assert list(target_mixtures([robust], [oof], target, draws, MIXTURE_WEIGHTS)) == list(MIXTURE_WEIGHTS)


def test_the_gate_keeps_a_nu_svr_on_curve_and_hyperparameters_that_diverged_runs_do_not_pull():
    """The accuracy is an interaction of an early curve value with a hyperparameter that a graph prediction
    cannot know, and a tenth of the runs diverged to the floor: a nu-SVR on (curve, hyperparameters) is kept."""
    from naapgnn.models.curve_stack import CURVE_KINDS, TargetMixture
    from naapgnn.models.kernels import SVR_GRID

    rng = np.random.default_rng(7)
    curve, hparams = rng.normal(size=(200, 2)), rng.normal(size=(200, 1))
    target = np.tanh(curve[:, 0] * hparams[:, 0]) + 0.3 * curve[:, 1] + rng.normal(0, 0.1, 200)
    target[:20] = -3.0
    curve[:20, 0] = -4.0  # the diverged runs read the worst value early
    target = (target - target.mean()) / target.std()
    oof = 0.3 * target + rng.normal(0, 0.8, 200)
    # the nu-SVR against the kernel ridges (svr_no_graph, which leaves out this weak prediction, is kept when offered)
    kinds = tuple(k for k in CURVE_KINDS if k != "svr_no_graph")
    assert fit_gated_stack(oof, curve, target, hparams=hparams).kind == "svr_no_graph"
    stack = fit_gated_stack(oof, curve, target, hparams=hparams, curve_kinds=kinds)
    gate = stack.gate
    assert stack.kind == "svr" and gate["used"] and isinstance(stack.model, TargetMixture)
    assert tuple(gate["svr_setting"].values()) in SVR_GRID and gate["mae"] < gate["stack_mae"]
    none = np.zeros((200, 0))
    out = apply_stack(oof[None], curve, hparams, none, stack)[0]
    # the target itself, not a residual; with no statistics svr_statistics reads what svr reads, and where the gate
    # keeps the mean of the two, each at its share (tests/test_gate_mean.py)
    parts = [(stack.model, stack.weight), *((part.model, share) for part, share in stack.others)]
    assert all(isinstance(model, TargetMixture) for model, _ in parts)
    svr = sum(share * model.kernel.predict(np.c_[oof, curve, hparams]) for model, share in parts)
    rest = 1 - sum(share for _, share in parts)
    budget0 = oof if stack.budget0 is None else apply_stack(oof[None], curve, hparams, none, stack.budget0)[0]
    np.testing.assert_allclose(out, svr + rest * budget0, atol=1e-12)


def test_budget_zero_keeps_a_nu_svr_on_the_statistics_where_diverged_runs_pull_the_kernel_ridge():
    """The accuracy set by the statistics and the recipe, a few runs diverged far below the rest, a graph
    prediction that knows little: the nu-SVR on (prediction, hyperparameters, statistics), whose loss grows only
    linearly, is kept over the kernel ridge on the same columns, as its held-out scores say."""
    from naapgnn.models.curve_stack import MIXTURE_WEIGHTS, TargetMixture

    rng = np.random.default_rng(5)
    statistics, hparams = rng.normal(size=(200, 3)), rng.normal(size=(200, 1))
    target = np.tanh(statistics[:, 0]) + 0.5 * statistics[:, 1] + 0.3 * hparams[:, 0] + rng.normal(0, 0.1, 200)
    target[:8] = -5.0  # diverged runs
    oof = 0.3 * target + rng.normal(0, 0.8, 200)
    none = np.zeros((200, 0))
    stack = fit_gated_stack(oof, none, target, hparams=hparams, statistics=statistics)
    gate = stack.gate
    assert stack.kind == gate["budget0_kind"] == "robust" and not gate["used"]
    assert gate["robust_mae"] < gate["architecture_mae"] and gate["robust_tau"] > gate["architecture_tau"]
    weight = gate["robust_setting"]["weight"]
    assert weight in MIXTURE_WEIGHTS and isinstance(stack.model, TargetMixture)
    assert stack.model.n_features_in_ == 1 + 1 + 3  # the prediction, the hyperparameter, the statistics
    members = np.stack([oof, oof + 0.1])
    expected = [(1 - weight) * m + weight * stack.model.kernel.predict(np.c_[m, hparams, statistics]) for m in members]
    assert np.allclose(apply_stack(members, none, hparams, statistics, stack), expected)


def test_the_grid_search_holds_a_configurations_runs_out_together(monkeypatch):
    import baselines.baker as baker

    seen = []

    def spy(pipeline, grid, folds, X, y):
        seen.append([test for _, test in folds.split(X)])
        return real(pipeline, grid, folds, X, y)

    real = baker.grid_search
    monkeypatch.setattr(baker, "grid_search", spy)
    records = make_records(12)
    runs = [dataclasses.replace(r, id=f"{r.id}-s{s}", hparams={**r.hparams, "wd": 1e-4 * (i + 1)},
                                target=r.target + 0.001 * s) for i, r in enumerate(records) for s in range(3)]
    BakerPredictor(budget=3).fit(runs)
    configuration = np.repeat(np.arange(12), 3)  # the wd makes each of the 12 its own configuration
    folds_of = [{k for k, test in enumerate(seen[0]) if np.isin(np.flatnonzero(configuration == c), test).any()}
                for c in range(12)]
    assert all(len(folds) == 1 for folds in folds_of)
    from sklearn.model_selection import KFold

    plain = BakerPredictor(budget=3).fit(records)  # nothing repeats: shuffled folds of records, as before
    folds = KFold(plain.cv, shuffle=True, random_state=plain.random_state).split(np.zeros(12))
    assert [t.tolist() for t in seen[1]] == [t.tolist() for _, t in folds]

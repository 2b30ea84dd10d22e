"""The curve gate's mean of the mixtures within one standard error of the lowest error (naapgnn.models.curve_stack)."""
import numpy as np
import pytest

from naapgnn.errors import NaapgnnError
from naapgnn.models.curve_stack import CurveStack, apply_stack, fit_gated_stack
from naapgnn.models.gate_rules import better_mixture, mean_of_near, mean_scores, within_one_standard_error


def _near_twins(seed=0, n=300):
    """Three challengers of the same absolute error on every record (errors of random signs), one far worse, and an
    incumbent worse still."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    error = np.abs(rng.normal(scale=0.4, size=n))
    challengers = {f"twin{i}": [y + rng.choice([-1.0, 1.0], size=n) * error] for i in range(3)}
    challengers["far"] = [y + rng.normal(scale=0.9, size=n)]
    scores = {"base": mean_scores([y + rng.normal(scale=1.0, size=n)], y),
              **{k: mean_scores(p, y) for k, p in challengers.items()}}
    return y, challengers, scores


def test_the_twins_are_near_the_far_one_is_not_and_the_pick_is_one_of_them():
    y, challengers, scores = _near_twins()
    near = within_one_standard_error("base", challengers, scores, y)
    assert near == ["twin0", "twin1", "twin2"]
    assert better_mixture("base", challengers, scores, y) in near
    assert within_one_standard_error("base", {"far": challengers["far"]}, {**scores, "base": (0.0, 1.0)}, y) == []


def test_the_mean_of_the_near_ones_errs_less_than_each_and_is_scored_against_the_bar():
    y, challengers, scores = _near_twins()
    near = within_one_standard_error("base", challengers, scores, y)
    mean, score = mean_of_near(near, challengers, scores["base"], y)
    assert np.allclose(mean[0], np.mean([challengers[k][0] for k in near], axis=0))
    assert score == mean_scores(mean, y)
    assert score[0] < min(scores[k][0] for k in near) and score[1] > max(scores[k][1] for k in near)
    assert mean_of_near(near[:1], challengers, scores["base"], y) is None  # one alone: the pick itself
    assert mean_of_near(near, challengers, (score[0], 0.0), y) is None  # an error not below the bar's
    assert mean_of_near(near, challengers, (1.0, score[1] + 1e-9), y) is None  # a tau below the bar's


def _curve_where_several_kinds_tie(seed=2, n=200):
    """A curve that tells the residual of the graph prediction: the ridge and the kernels read it alike."""
    rng = np.random.default_rng(seed)
    target = rng.normal(size=n)
    oof = target + rng.normal(0, 0.6, n)
    curve = np.c_[target - oof + rng.normal(0, 0.5, n), rng.normal(size=(n, 2))]
    return oof, curve, target


def test_a_gate_whose_near_mixtures_are_of_several_kinds_keeps_their_mean_at_their_shares():
    oof, curve, target = _curve_where_several_kinds_tie()
    stack = fit_gated_stack(oof, curve, target, curve_kinds=("linear", "nonlinear"))
    gate = stack.gate
    assert gate["used"] and len(gate["mean_of"]) >= 2 and stack.others
    kinds = [kind for kind, _ in (m.split(":") for m in gate["mean_of"])]
    expected = {kind: sum(float(w) for k, w in (m.split(":") for m in gate["mean_of"]) if k == kind) / len(kinds)
                for kind in kinds}
    shares = {stack.kind: stack.weight, **{part.kind: share for part, share in stack.others}}
    assert shares == pytest.approx(expected) and set(shares) == set(kinds)
    none = np.zeros((len(oof), 0))
    parts = [(CurveStack(stack.kind, stack.coef, stack.intercept, stack.model), stack.weight), *stack.others]
    by_hand = sum(share * apply_stack(oof[None], curve, none, none, part) for part, share in parts)
    if sum(shares.values()) < 1:
        by_hand = by_hand + (1 - sum(shares.values())) * apply_stack(oof[None], curve, none, none, stack.budget0)
    assert np.allclose(apply_stack(oof[None], curve, none, none, stack), by_hand)
    # its held-out prediction and scores are the mean's, which passed the bar of the model without the curve
    assert gate["mae"] < gate["graph_mae"] and gate["tau"] >= gate["graph_tau"]
    assert np.isfinite(stack.oof).all()


def test_a_mean_of_two_ridges_is_each_at_its_share_and_the_budget_zero_model_at_the_rest():
    rng = np.random.default_rng(2)
    oof, curve = rng.normal(size=30), rng.normal(size=(30, 2))
    graph = CurveStack("graph", np.array([1.0, 0.0, 0.0]), 0.0)
    first = CurveStack("linear", np.array([0.8, 0.3, -0.2]), 0.1)
    second = CurveStack("nonlinear", np.array([1.0, 0.5, 0.0]), -0.1)  # a kernel-free part reads as its line
    mean = CurveStack("linear", first.coef, first.intercept, weight=0.5, budget0=graph, others=[(second, 0.25)])
    none = np.zeros((30, 0))
    expected = 0.5 * (0.8 * oof + curve @ [0.3, -0.2] + 0.1) + 0.25 * (oof + 0.5 * curve[:, 0] - 0.1) + 0.25 * oof
    assert np.allclose(apply_stack(oof[None], curve, none, none, mean), expected[None])


def test_a_gate_with_one_near_mixture_keeps_that_pick_alone():
    rng = np.random.default_rng(0)
    target = rng.normal(size=200)
    oof = target + rng.normal(0, 0.5, 200)
    useful = (target - oof + rng.normal(0, 0.1, 200)).reshape(-1, 1)
    stack = fit_gated_stack(oof, useful, target, curve_kinds=("linear",))
    assert stack.kind == "linear" and not stack.others and "mean_of" not in stack.gate


def test_a_mean_of_curve_stacks_survives_a_checkpoint_round_trip(tmp_path):
    from naapgnn.models.gnn import GNNPredictor
    from naapgnn.models.kernels import kernel_ridge

    from test_baker import make_records

    records = make_records(80, u_shaped=True)
    tiny = dict(hidden=8, layers=1, max_epochs=5, patience=5, n_ensemble=2, blend_forest=0.0, random_state=0)
    model = GNNPredictor(budget=3, **tiny).fit(records[:64])
    before = model.predict(records[64:])
    from naapgnn.graph.statistics import GRAPH_STATISTICS

    width = 1 + len(model.curve_feature_names_)
    ridge = np.r_[0.9, np.linspace(-0.2, 0.2, width - 1)]
    # (prediction, curve features, hparams, the statistics but the count of mul nodes)
    columns = np.random.default_rng(0).normal(size=(30, width + len(model.hparam_names_) + len(GRAPH_STATISTICS) - 1))
    kernel = kernel_ridge((0.1, 1.0), columns).fit(columns, columns[:, 1])
    model.stack_coef_, model.stack_intercept_, model.stack_model_ = np.r_[1.0, np.zeros(width - 1)], 0.0, None
    model.stack_gate_.update(kind="linear", weight=0.25, used=True, budget0_kind="graph")
    model.stack_others_ = [(CurveStack("linear", ridge, 0.05), 0.25),
                           (CurveStack("nonlinear", np.ones(width), 0.0, kernel), 0.25)]
    model.stack_budget0_model_ = None
    mean = model.predict(records[64:])
    assert not np.allclose(mean, before)
    model.save(tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / "stack_other_1.joblib").is_file()
    assert not (tmp_path / "ckpt" / "stack_other_0.joblib").exists()  # a ridge's coefficients are in the config
    loaded = GNNPredictor.load(tmp_path / "ckpt")
    assert [(part.kind, share) for part, share in loaded.stack_others_] == [("linear", 0.25), ("nonlinear", 0.25)]
    assert np.array_equal(loaded.stack_others_[0][0].coef, ridge) and loaded.stack_others_[0][0].intercept == 0.05
    assert np.array_equal(loaded.predict(records[64:]), mean)
    (tmp_path / "ckpt" / "stack_other_1.joblib").unlink()
    with pytest.raises(NaapgnnError, match="the stack's mean holds kind nonlinear but stack_other_1.joblib is missing"):
        GNNPredictor.load(tmp_path / "ckpt")

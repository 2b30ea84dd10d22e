"""What a script that uses naapgnn as a library relies on, beyond fit and predict: its own random draws left
alone, a wrong-shaped ``y`` refused, every estimator refusing to predict before ``fit``, a failed refit never
predicting with the model before it, and records and architectures built in Python checked in one line."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone, is_regressor
from sklearn.exceptions import NotFittedError

from baselines.baker import BakerPredictor
from naapgnn import parse_architecture
from naapgnn.data.records import Record
from naapgnn.errors import NaapgnnError
from naapgnn.models.gnn import GNNPredictor

TINY = dict(hidden=8, layers=1, curve_hidden=4, max_epochs=4, patience=2, n_ensemble=2, forest_trees=10,
            n_threads=1)
SCHEME = [{"kernel_size": 3, "width": 16, "stride": 2, "residual": False}]


def _records(n: int = 12, percent: bool = False) -> list:
    scale = 100.0 if percent else 1.0
    return [Record(id=f"n{i}", arch=[dict(SCHEME[0], width=8 + 2 * i)],
                   curve={"accuracy": scale * np.array([0.3, 0.4, 0.45]) + scale * i / 100},
                   target=0.5 + i / 100) for i in range(n)]


def test_a_fit_leaves_the_callers_torch_draws_alone():
    records = _records()
    torch.manual_seed(1)
    expected = torch.randint(440, (3,)).tolist()
    torch.manual_seed(1)
    GNNPredictor(budget=0, **TINY).fit(records)
    assert torch.randint(440, (3,)).tolist() == expected


def test_a_seeded_fit_is_the_same_whatever_the_caller_drew_before():
    records = _records()
    torch.manual_seed(5)
    first = GNNPredictor(budget=0, random_state=3, **TINY).fit(records).predict(records)
    torch.rand(100)
    np.testing.assert_array_equal(GNNPredictor(budget=0, random_state=3, **TINY).fit(records).predict(records),
                                  first)


@pytest.mark.parametrize("make", [lambda: GNNPredictor(budget=0, **TINY), lambda: BakerPredictor(budget=0, cv=3)])
def test_a_y_of_another_shape_than_one_target_per_architecture_is_refused(make):
    records = _records()
    y = np.array([r.target for r in records])
    with pytest.raises(NaapgnnError, match=r": y must hold one target per architecture, got an array of shape "
                                           r"\(6, 2\)$"):
        make().fit(records, y.reshape(6, 2))
    fitted = make().fit(records, y.reshape(-1, 1))  # a column, as scikit-learn reads one
    with pytest.raises(NaapgnnError, match=r"shape \(6, 2\)$"):
        fitted.score(records, y.reshape(6, 2))


def test_a_baker_refit_that_is_refused_does_not_predict_with_the_former_model():
    records = _records()
    model = BakerPredictor(budget=0, cv=3).fit(records)
    with pytest.raises(NaapgnnError, match="outside"):
        model.fit(records, [100 * r.target for r in records])  # percentages: refused
    with pytest.raises(NaapgnnError, match=r"^BakerPredictor: its last fit did not finish; fit again$"):
        model.predict(records)


@pytest.mark.parametrize("curve, hparams, field", [(None, {}, "curve is NoneType"), ([0.3, 0.4], {}, "curve is list"),
                                                   ({}, None, "hparams is NoneType")])
def test_a_record_whose_curve_or_hparams_is_no_dict_is_named_in_one_line(curve, hparams, field):
    bad = Record(id="x", arch=SCHEME, curve=curve, hparams=hparams, target=0.6)
    with pytest.raises(NaapgnnError, match=rf"^input 12 \(record 'x'\): {field}; a Record's"):
        GNNPredictor(budget=0, **TINY).fit(_records() + [bad])


def test_a_curve_heuristic_predicts_only_once_fitted_and_in_fractions_either_way():
    from naapgnn.models.heuristics import CurveHeuristic

    records = _records(4, percent=True)
    with pytest.raises(NotFittedError, match="^CurveHeuristic: not fitted yet"):
        CurveHeuristic("last", budget=3).predict(records)
    without_records = CurveHeuristic("last", budget=3).fit().predict(records)
    np.testing.assert_allclose(without_records, [0.45, 0.46, 0.47, 0.48])
    np.testing.assert_array_equal(CurveHeuristic("last", budget=3).fit(records).predict(records), without_records)
    fitted = CurveHeuristic("last", budget=3).fit(records)
    assert fitted.score(records) == pytest.approx(fitted.score(records, [r.target for r in records]))


def test_every_baseline_refuses_to_predict_before_fit():
    from baselines.legacy import PaperKNeighborsRegressor, PaperLinearSVR
    from baselines.paper import PaperRegressor, PowerOutputRegression

    for est in (PaperRegressor("Random Forest (N=200)"), PowerOutputRegression(), PaperKNeighborsRegressor(),
                PaperLinearSVR()):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            est.predict(np.zeros((2, 3)))


def test_a_zero_cost_score_line_is_a_scikit_learn_regressor():
    from naapgnn.models.score_line import ScoreLine

    line = ScoreLine()
    assert is_regressor(line) and clone(line).get_params() == {}
    with pytest.raises(NotFittedError, match="^ScoreLine: not fitted yet"):
        line.predict_accuracy([[1.0], [2.0]])
    fitted = line.fit([[1.0], [2.0], [3.0]], [0.5, 0.6, 0.7])
    np.testing.assert_array_equal(fitted.predict([[4.0]]), [4.0])  # the raw score ranks
    np.testing.assert_allclose(fitted.predict_accuracy([[4.0]]), [0.8])
    assert fitted.score([[1.0], [2.0], [3.0]], [0.5, 0.6, 0.7]) == pytest.approx(1.0)
    with pytest.raises(NaapgnnError, match=r"^ScoreLine: expected one score per architecture, got an array of "
                                           r"shape \(2, 2\)$"):
        line.fit([[1.0, 2.0], [3.0, 4.0]], [0.5, 0.6])


def test_a_padding_written_as_a_float_of_no_fraction_reads_as_that_integer():
    conv = {"op": "conv", "out_channels": 8, "kernel_size": 3}
    assert parse_architecture({"layers": [dict(conv, padding=1.0)]}).layers[0].attrs["padding"] == 1
    with pytest.raises(NaapgnnError, match=r"^layer 0: padding must be a non-negative integer, got 1.5$"):
        parse_architecture({"layers": [dict(conv, padding=1.5)]})


def test_a_list_of_layers_without_its_wrapper_is_told_apart_from_a_scheme():
    with pytest.raises(NaapgnnError, match=r"^a list of layers \(objects with 'op'\) is a layer graph's 'layers': "
                                           r"give \{\"layers\": \[\.\.\.\]\}"):
        parse_architecture([{"op": "conv", "out_channels": 8, "kernel_size": 3}, {"op": "gap"}])


def test_every_unknown_top_level_field_is_named_at_once():
    with pytest.raises(NaapgnnError, match=r"^unknown top-level fields 'classes', 'inputshape' \(a layer graph has "):
        parse_architecture({"layers": [{"op": "gap"}], "classes": 10, "inputshape": [3, 32, 32]})


def test_the_graph_models_reset_their_parameters_as_pyg_modules_do():
    from naapgnn.models.network import AccuracyModel

    torch.manual_seed(0)
    model = AccuracyModel(node_dim=5, attr_dim=2, curve_dim=3, hidden=8, layers=2, direction="both")
    before = [p.detach().clone() for p in model.parameters()]
    model.reset_parameters()
    changed = [not torch.equal(a, b) for a, b in zip(before, model.parameters()) if a.dim() > 1]
    assert changed and all(changed)  # every weight matrix drawn anew


def test_the_estimators_are_importable_from_the_models_package():
    import naapgnn.models as models
    from naapgnn.models.heuristics import CurveHeuristic

    assert models.GNNPredictor is GNNPredictor and models.CurveHeuristic is CurveHeuristic
    with pytest.raises(AttributeError, match="has no attribute 'Predictor'"):
        models.Predictor


def test_the_import_paths_earlier_issues_named_still_import_the_same_functions():
    import naapgnn.evaluation.metrics as metrics
    import naapgnn.metrics
    import naapgnn.models.zero_cost as zero_cost
    import naapgnn.zero_cost

    assert naapgnn.metrics.kendall_tau is metrics.kendall_tau and naapgnn.metrics.violations is metrics.violations
    assert naapgnn.zero_cost.naswot is zero_cost.naswot and naapgnn.zero_cost.synflow is zero_cost.synflow
    assert set(naapgnn.metrics.__all__) == set(metrics.__all__)


def test_baselines_take_a_model_by_its_registry_key_too():
    from baselines.registry import BAKER_RF, PER_LAYER
    from baselines.runner import select_baselines

    assert select_baselines("baker_rf,paper:5-NN,paper_gb100,per_layer_forest") == [
        BAKER_RF, "5-NN", "Gradient Boosting (N=100)", PER_LAYER]
    assert len(select_baselines("baker")) == 2  # the group: both of Baker's models
    with pytest.raises(NaapgnnError, match=r"^unknown baseline 'bogus' \(groups: all, paper, extra, baker, "):
        select_baselines("bogus")


def test_a_zero_cost_score_is_fixed_by_its_seed_and_leaves_the_callers_draws_alone():
    """NASWOT runs the network in train mode, so a dropout between activations draws: from the score's seed."""
    from naapgnn.models.zero_cost import score_architectures

    arch = {"input_shape": [3, 16, 16], "num_classes": 10, "layers": [
        {"op": "conv", "out_channels": 8, "kernel_size": 3}, {"op": "dropout", "p": 0.5},
        {"op": "conv", "out_channels": 8, "kernel_size": 3}, {"op": "gap"}, {"op": "linear", "out_features": 10}]}
    scores = []
    for caller in (1, 2):
        torch.manual_seed(caller)
        expected = torch.rand(1).item()
        torch.manual_seed(caller)
        scores.append(float(score_architectures([arch], "naswot", batch_size=16)[0]))
        assert torch.rand(1).item() == expected
    assert scores[0] == scores[1]


def test_a_seed_is_told_by_its_last_word():
    from naapgnn.data.hparams import is_seed

    assert all(map(is_seed, ("seed", "random_seed", "torchSeed", "PRNGSeed", "SEED", "seed2", "seed_2", "seed_id",
                             "seed=7")))
    assert not any(map(is_seed, ("speed", "seedling", "num_seeds", "use_seed", "seed_lr", "seeds", "n_seed")))

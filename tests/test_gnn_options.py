"""GNNPredictor options reach the network and the data split; budget-k never reads later epochs;
the blended uncertainty; PerLayerForest's search mode."""
from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from naapgnn.data.records import records_from_naap440
from naapgnn.errors import NaapgnnError
from naapgnn.models.ensemble import validation_sets
from naapgnn.models.forest import PerLayerForest
from naapgnn.models.gnn import GNNPredictor

TINY = dict(hidden=8, layers=2, curve_hidden=8, max_epochs=4, patience=4, n_ensemble=2,
            forest_trees=10, lr=1e-2, n_threads=1)


@pytest.fixture(scope="module")
def records(naap440):
    return records_from_naap440(naap440)


@pytest.fixture(scope="module")
def train(records):
    return [r for r in records if r.split == "train"][:40]


@pytest.fixture(scope="module")
def test(records):
    return [r for r in records if r.split == "test"][:8]


def _poisoned(records, budget):
    """The records with every epoch after ``budget`` replaced by nonsense."""
    return [dataclasses.replace(r, curve={c: np.r_[v[:budget], np.full(len(v) - budget, 1e3)]
                                          for c, v in r.curve.items()}) for r in records]


@pytest.mark.parametrize("curve_mode", ["stack", "network"])
def test_budget_k_never_reads_later_epochs(train, test, curve_mode):
    params = dict(budget=3, curve_mode=curve_mode, blend_forest=0.5, forest="per_layer", forest_curve=True, **TINY)
    clean = GNNPredictor(**params).fit(train)
    poisoned = GNNPredictor(**params).fit(_poisoned(train, 3))
    mean, std = clean.predict(test, return_std=True)
    for model, X in [(clean, _poisoned(test, 3)), (poisoned, test), (poisoned, _poisoned(test, 3))]:
        m, s = model.predict(X, return_std=True)
        assert np.array_equal(m, mean) and np.array_equal(s, std)
    # The poison would show if it were read: a budget-4 model sees epoch 4.
    later = GNNPredictor(**{**params, "budget": 4}).fit(train)
    assert not np.array_equal(later.predict(test), later.predict(_poisoned(test, 3)))


@pytest.mark.parametrize("conv, layer", [("gin", "GINConv"), ("gatv2", "GATv2Conv"), ("sage", "SAGEConv")])
def test_conv_reaches_the_network(train, test, conv, layer):
    model = GNNPredictor(budget=0, conv=conv, blend_forest=0.0, **TINY).fit(train)
    convs = model.members_[0].graph.forward_convs
    assert len(convs) == 2 and all(type(c).__name__ == layer for c in convs)
    assert np.all(np.isfinite(model.predict(test)))


def _n_params(model) -> int:
    return sum(p.numel() for p in model.members_[0].parameters())


def test_direction_both_adds_backward_convolutions(train, test):
    forward = GNNPredictor(budget=0, blend_forest=0.0, **TINY).fit(train)
    both = GNNPredictor(budget=0, direction="both", blend_forest=0.0, **TINY).fit(train)
    graph = both.members_[0].graph
    assert len(graph.backward_convs) == 2 and len(forward.members_[0].graph.backward_convs) == 0
    conv_params = sum(p.numel() for p in graph.backward_convs.parameters())
    assert _n_params(both) == _n_params(forward) + conv_params > _n_params(forward)
    assert not np.array_equal(both.predict(test), forward.predict(test))


def test_batch_size_trains_on_mini_batches(train, monkeypatch):
    from naapgnn.models.network import AccuracyModel

    sizes = []
    forward = AccuracyModel.forward

    def counting(self, g, *args, **kwargs):
        sizes.append(g.num_graphs)
        return forward(self, g, *args, **kwargs)

    monkeypatch.setattr(AccuracyModel, "forward", counting)
    GNNPredictor(budget=0, batch_size=8, blend_forest=0.0, **{**TINY, "n_ensemble": 1}).fit(train)
    # one member holds out 8 of 40; the 8 held-out graphs are predicted once per epoch for the
    # held-out loss, the 32 others are trained on in 4 batches of 8 per epoch; all 40 are predicted
    # once at the end for the held-out predictions, and once for the training domain (the members' spread).
    assert sizes == [8, 8, 8, 8, 8] * TINY["max_epochs"] + [40, 40]
    sizes.clear()
    GNNPredictor(budget=0, blend_forest=0.0, **{**TINY, "n_ensemble": 1}).fit(train)
    assert sizes == [40] * TINY["max_epochs"] + [40, 40]  # "auto", 40 records: full-batch
    # "auto" above its record count: mini-batches of its size
    from naapgnn.models import ensemble

    monkeypatch.setattr(ensemble, "AUTO_FULL_BATCH_RECORDS", 39)
    monkeypatch.setattr(ensemble, "AUTO_BATCH_SIZE", 8)
    sizes.clear()
    GNNPredictor(budget=0, blend_forest=0.0, **{**TINY, "n_ensemble": 1}).fit(train)
    assert sizes == [8, 8, 8, 8, 8] * TINY["max_epochs"] + [40, 40]


def test_auto_batch_size_is_full_batch_up_to_600_records_then_64():
    from naapgnn.models.ensemble import step_size

    assert [step_size("auto", n) for n in (10, 600, 601, 15625)] == [None, None, 64, 64]
    assert step_size(None, 5000) is None and step_size(16, 10) == 16
    for bad in (0, "big", True, 2.5):
        with pytest.raises(NaapgnnError, match='batch_size must be None, "auto" or a positive integer'):
            GNNPredictor(batch_size=bad).fit([])


def test_val_fraction_sets_each_members_held_out_size(train):
    folds = validation_sets(40, 3, None, seed=0)
    assert [len(f) for f in folds] == [14, 13, 13] and len(np.unique(np.concatenate(folds))) == 40
    quarter = validation_sets(40, 3, 0.25, seed=0)
    assert [len(f) for f in quarter] == [10, 10, 10]
    assert validation_sets(9, 3, 0.25, seed=0)[0].size == 0  # too few to hold out
    model = GNNPredictor(budget=0, val_fraction=0.25, blend_forest=0.0, **{**TINY, "n_ensemble": 3}).fit(train)
    held_out = np.unique(np.concatenate(validation_sets(40, 3, 0.25, seed=0)))
    assert np.flatnonzero(np.isfinite(model.oof_prediction_)).tolist() == held_out.tolist()
    assert len(held_out) < 40  # independent draws overlap, unlike the default folds


def test_blend_uncertainty_is_the_spread_of_the_mixture(train, test):
    b = 0.3  # curve_mode "network" fits no stack: the mean is the mixture's
    model = GNNPredictor(budget=0, blend_forest=b, choose_blend=False, curve_mode="network",
                         **{**TINY, "n_ensemble": 3}).fit(train)
    mean, std = model.predict(test, return_std=True)
    members = []
    for member in model.members_:
        single = copy.copy(model)
        single.members_ = [member]
        members.append(single.predict_parts(test)["gnn"])
    forest = model.predict_parts(test)["forest"]
    # The mixture: weight (1 - b) spread evenly over the members' predictions, weight b on the forest.
    points = np.vstack(members + [forest])
    weights = np.r_[np.full(len(members), (1 - b) / len(members)), b][:, None]
    mixture_mean = (weights * points).sum(axis=0)
    mixture_std = np.sqrt((weights * (points - mixture_mean) ** 2).sum(axis=0))
    # The mixture's spread, times the calibration factor fitted at fit.
    assert np.allclose(mean, mixture_mean, atol=1e-12)
    assert np.allclose(std, mixture_std * model.std_scale_, atol=1e-12)


def test_the_statistics_forest_reads_statistics_and_hyperparameters(train, test):
    from naapgnn.graph.statistics import GRAPH_STATISTICS

    model = GNNPredictor(budget=0, **TINY).fit(train)
    assert model.forest == "statistics" and model.blend_forest == 0.25
    # every statistic but the count of mul nodes, which no NAAP-440 network has
    assert model.extension_types_ == ()
    assert model.forest_.n_features_in_ == len(GRAPH_STATISTICS) - 1 + len(model.hparam_names_)
    assert model.forest_.oob_prediction_.shape == (len(train),)
    parts = model.predict_parts(test)
    assert np.all(np.isfinite(parts["forest"]))
    # One tree: the records it trained on have no out-of-bag prediction (NaN, not scikit-learn's 0).
    single = GNNPredictor(budget=0, forest_trees=1, **{k: v for k, v in TINY.items() if k != "forest_trees"}).fit(train)
    oob = single.forest_.oob_prediction_
    in_bag = np.isin(np.arange(len(train)), single.forest_.estimators_samples_[0])
    assert np.all(np.isnan(oob[in_bag])) and np.all(np.isfinite(oob[~in_bag])) and in_bag.any()
    assert np.all(np.isfinite(single.predict(test)))
    assert np.allclose(model.predict_from_parts(parts), np.clip(parts["mean"], 0, 1))


def test_the_share_moves_only_when_the_held_out_blend_is_better_on_both_scores(train, test):
    from scipy.stats import kendalltau

    from naapgnn.models.blended_forest import BLEND_SHARES

    # a GNN that learned nothing (the forest is better); no stack, so the mean is the blend
    untrained = {**TINY, "lr": 1e-12, "max_epochs": 1, "curve_mode": "network"}  # lr must be > 0
    model = GNNPredictor(budget=0, **untrained).fit(train)
    y = np.array([r.target for r in train])
    assert sorted(model.blend_scores_) == list(BLEND_SHARES)
    for b, (mse, tau) in model.blend_scores_.items():
        blended = np.where(np.isnan(model.forest_.oob_prediction_), model.oof_prediction_,
                           (1 - b) * model.oof_prediction_ + b * model.forest_.oob_prediction_)
        assert mse == pytest.approx(np.mean((blended - y) ** 2)) and tau == pytest.approx(kendalltau(blended, y)[0])
    best = min(model.blend_scores_, key=lambda b: model.blend_scores_[b][0])
    assert model.blend_share_ == best == 0.75
    mean = model.predict_parts(test)
    assert np.allclose(mean["mean"], 0.25 * mean["gnn"] + 0.75 * mean["forest"])
    fixed = GNNPredictor(budget=0, choose_blend=False, **untrained).fit(train)
    assert fixed.blend_share_ == 0.25 and fixed.blend_scores_ == {}
    with pytest.raises(NaapgnnError, match="choose_blend must be True or False, got 'yes'"):
        GNNPredictor(choose_blend="yes", **TINY).fit(train)


@pytest.mark.parametrize("params, message", [
    ({"forest": "svm"}, "forest must be one of statistics, per_layer, got 'svm'"),
    ({"forest_curve": True}, "forest_curve needs forest='per_layer'"),
])
def test_bad_forest_settings_are_one_line_errors(train, params, message):
    with pytest.raises(NaapgnnError, match=message):
        GNNPredictor(budget=3, **params, **TINY).fit(train)


@pytest.mark.parametrize("params, message", [
    ({"dropout": 2}, "dropout must be in [0, 1) (a probability), got 2"),
    ({"dropout": 1.0}, "dropout must be in [0, 1)"),
    ({"lr": 1e300}, "lr must be a finite number > 0 (Adam's step size), got 1e+300"),
    ({"lr": 0}, "lr must be a finite number > 0"),
    ({"lr": float("nan")}, "lr must be a finite number > 0"),
    ({"rank_weight": 1e300}, "rank_weight must be a finite non-negative number, got 1e+300"),
    ({"rank_weight": float("inf")}, "rank_weight must be a finite non-negative number"),
    ({"weight_decay": -1}, "weight_decay must be a finite non-negative number, got -1"),
    ({"fold_repeats": "x"}, "fold_repeats must be True or False, got 'x'"),
    ({"curve_raw": "x"}, "curve_raw must be True or False, got 'x'"),
    ({"forest_curve": 1}, "forest_curve must be True or False, got 1"),
    ({"progress": "no"}, "progress must be True or False, got 'no'"),
    ({"device": 0}, "device must be a string"),
    ({"n_threads": "2"}, "n_threads must be None or a non-negative integer"),
    ({"hidden": 8.0}, "hidden must be a positive integer, got 8.0"),
])
def test_every_hyperparameter_is_type_and_range_checked(train, params, message):
    with pytest.raises(NaapgnnError) as info:
        GNNPredictor(budget=0, **{**TINY, **params}).fit(train)
    assert f"GNNPredictor: {message}" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("failure", [RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to "
                                                  "allocate 40000000000 bytes"), MemoryError()])
def test_running_out_of_memory_is_a_one_line_error_naming_the_sizes(train, monkeypatch, failure):
    def allocate(*args, **kwargs):
        raise failure

    monkeypatch.setattr("naapgnn.models.gnn.train_members", allocate)
    with pytest.raises(NaapgnnError, match=r"out of memory training the GNN \(hidden=8, layers=2, curve_hidden=8, "
                                           r"batch_size='auto', n_ensemble=2, n_jobs=None\): lower hidden"):
        GNNPredictor(budget=0, **TINY).fit(train)


def test_random_state_none_draws_a_fresh_seed(train, test):
    model = GNNPredictor(budget=0, random_state=None, blend_forest=0.5, **TINY)
    a = model.fit(train).predict(test)
    assert model.get_params()["random_state"] is None
    b = model.fit(train).predict(test)
    assert np.all(np.isfinite(a)) and not np.array_equal(a, b)


def test_predict_before_fit_is_not_fitted_error(test):
    with pytest.raises(NotFittedError):
        GNNPredictor().predict(test)
    with pytest.raises(NotFittedError):
        PerLayerForest().predict(test)


# --- PerLayerForest ------------------------------------------------------------------------------


def test_forest_gain_mode_predicts_the_gain_over_the_best_accuracy(records):
    train, test = records[:200], records[200:260]
    y = np.array([r.target for r in train])
    model = PerLayerForest(budget=6, curve="gain", n_estimators=16, random_state=0)
    features = model.featurize(train)
    assert "acc_best" in features.columns and "acc_extrapolated" in features.columns
    model.fit(features, y)
    per_tree = np.stack([t.predict(model.featurize(test).to_numpy(float)) for t in model.forest_.estimators_])
    best = model.featurize(test)["acc_best"].to_numpy()
    mean, std = model.predict(test, return_std=True)
    assert np.allclose(mean, per_tree.mean(axis=0) + best) and np.allclose(std, per_tree.std(axis=0))
    assert np.array_equal(model.predict(test), mean)
    assert model.n_features_in_ == features.shape[1]
    # the trees learned gains, so their leaves hold targets minus the best accuracy so far
    assert model.forest_.predict(features.to_numpy(float)).mean() == pytest.approx((y - features["acc_best"]).mean(),
                                                                                  abs=0.02)


def test_forest_stack_std_is_the_tree_spread_through_the_ridge(records):
    train, test = records[:200], records[200:230]
    model = PerLayerForest(budget=6, curve=True, n_estimators=40, random_state=0)
    model.fit(train, [r.target for r in train])
    mean, std = model.predict(test, return_std=True)
    assert np.array_equal(mean, model.predict(test))
    arch = model.featurize(test).drop(columns=model._curve_columns())
    per_tree = np.stack([t.predict(arch.to_numpy(float)) for t in model.forest_.estimators_])
    curve = model.featurize(test)[model._curve_columns()].to_numpy()
    through = np.stack([model.stack_.predict(np.c_[p, curve]) for p in per_tree])
    assert np.allclose(std, through.std(axis=0))


@pytest.mark.parametrize("batch_size", [None, 16])
def test_members_in_worker_processes_fit_the_same_model(train, test, batch_size):
    params = dict(budget=3, batch_size=batch_size, **{**TINY, "n_ensemble": 3})
    alone = GNNPredictor(**params).fit(train)
    workers = GNNPredictor(n_jobs=2, **params).fit(train)
    assert workers.best_epochs_ == alone.best_epochs_
    assert np.array_equal(workers.oof_prediction_, alone.oof_prediction_, equal_nan=True)
    assert np.array_equal(workers.predict(test), alone.predict(test))


@pytest.mark.parametrize("n_jobs", [0, -1, 1.5, True])
def test_bad_n_jobs_is_refused(train, n_jobs):
    with pytest.raises(NaapgnnError, match="n_jobs must be None or a positive integer"):
        GNNPredictor(n_jobs=n_jobs, **TINY).fit(train)


def test_constant_targets_are_refused(train):
    with pytest.raises(NaapgnnError, match=r"all 40 training targets are 0.5: nothing to learn or rank"):
        GNNPredictor(**TINY).fit(train, np.full(len(train), 0.5))


def test_a_missing_or_unknown_hyperparameter_is_out_of_domain(train, test):
    with_lr = [dataclasses.replace(r, hparams={"lr": 0.01 * (i % 3 + 1)}) for i, r in enumerate(train)]
    model = GNNPredictor(**TINY).fit(with_lr)
    probe = [dataclasses.replace(test[0], hparams={"lr": 0.02}), dataclasses.replace(test[1], hparams={}),
             dataclasses.replace(test[2], hparams={"learning_rate": 0.02})]
    inside, reasons = model.domain_report(probe)
    assert "hparam" not in reasons[0]
    assert not inside[1] and "hparam 'lr' missing (read as the training mean)" in reasons[1]
    assert not inside[2] and "hparam 'learning_rate' not read (not in the training data)" in reasons[2]


def test_uncertainty_never_exceeds_the_largest_std_of_an_accuracy(train, test):
    """A calibration factor fitted on tiny training spreads would scale a far-off network's spread past any
    accuracy's (3.98 was seen): the std is capped at 0.5, and below it is the spread times the factor."""
    model = GNNPredictor(budget=0, **{**TINY, "n_ensemble": 3}).fit(train)
    _, std = model.predict(test, return_std=True)
    model.std_scale_ *= 1e6
    _, huge = model.predict(test, return_std=True)
    assert np.all(std < 0.5) and np.all(huge[std > 0] == 0.5)


@pytest.mark.parametrize("command", [["evaluate", "--gnn-params"], ["train", "--budget", "0", "--params"]])
def test_out_of_range_params_are_refused_before_any_data_is_read(command, tmp_path, capsys):
    from naapgnn.cli import main

    argv = [*command, '{"dropout": 2}', "--data", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"{command[-1]}: dropout must be in [0, 1) (a probability), got 2") and "\n" not in err


def test_a_missing_category_is_named_once_not_by_its_indicators(train, test):
    from naapgnn.data.hparams import parse_hparams

    augment = ("none", "flip", "autoaugment")
    with_aug = [dataclasses.replace(r, hparams=parse_hparams({"augment": augment[i % 3], "bs": 32 * (i % 2 + 1)}))
                for i, r in enumerate(train)]
    model = GNNPredictor(**TINY).fit(with_aug)
    inside, reasons = model.domain_report([dataclasses.replace(test[0], hparams={})])
    assert not inside[0] and "hparam 'augment', 'bs' missing (read as the training mean)" in reasons[0]
    null = parse_hparams({"augment": None, "bs": 32})
    inside, reasons = model.domain_report([dataclasses.replace(test[0], hparams=null)])
    assert not inside[0] and "hparam 'augment' null, never in training" in reasons[0]

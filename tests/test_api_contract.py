"""The estimators' contract at its edges: saving over files, targets out of range, parameters changed after
fit, checkpoints reused at another budget, seeds, single architectures, and Baker's predictor alike."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from baselines.baker import BakerPredictor
from naapgnn import parse_architecture
from naapgnn.data.records import records_from_naap440
from naapgnn.errors import NaapgnnError
from naapgnn.models.gnn import GNNPredictor

TINY = dict(hidden=16, layers=2, curve_hidden=8, max_epochs=30, patience=10, n_ensemble=2, forest_trees=20,
            lr=1e-2, n_threads=1)
SCHEME = [{"kernel_size": 3, "width": 16, "stride": 2, "residual": False}]


@pytest.fixture(scope="module")
def records(naap440):
    return records_from_naap440(naap440)


@pytest.fixture(scope="module")
def train(records):
    return [r for r in records if r.split == "train"][:100]


@pytest.fixture(scope="module")
def test(records):
    return [r for r in records if r.split == "test"][:6]


@pytest.fixture(scope="module")
def fitted(train):
    return GNNPredictor(budget=3, **TINY).fit(train)


def test_saving_over_a_file_is_refused_and_the_file_kept(fitted, tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("id,acc\n1,0.5\n")
    with pytest.raises(NaapgnnError, match="results.csv: a file, not a checkpoint folder"):
        fitted.save(path)
    assert path.read_text() == "id,acc\n1,0.5\n"


def test_a_checkpoint_path_that_cannot_be_written_is_refused_before_a_fit(tmp_path, capsys):
    from naapgnn.cli import main
    from naapgnn.models.checkpoint import check_replaceable

    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    with pytest.raises(NaapgnnError, match=r"a-file/sub/ckpt: cannot write checkpoint: Not a directory$"):
        check_replaceable(blocked / "sub" / "ckpt")
    assert main(["train", "--budget", "0", "--out", str(blocked / "ck")]) == 2  # refused before NAAP-440 is read
    assert capsys.readouterr().err.strip().endswith("a-file/ck: cannot write checkpoint: Not a directory")
    check_replaceable(tmp_path / "new" / "deeper" / "ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # the check leaves nothing behind


def test_targets_outside_zero_one_are_refused(train):
    y = np.array([r.target for r in train]) * 100
    with pytest.raises(NaapgnnError, match=r"GNNPredictor: target 0 \(\d+\.?\d*\) is outside \[0, 1\]; "
                                           "accuracies in percent"):
        GNNPredictor(budget=0, **TINY).fit(train, y)
    with pytest.raises(NaapgnnError, match=r"BakerPredictor: target 3 \(-0.1\) is outside \[0, 1\]$"):
        BakerPredictor().fit(train[:10], [0.5, 0.6, 0.7, -0.1, 0.5, 0.6, 0.7, 0.5, 0.6, 0.7])


def test_records_sharing_an_id_are_refused_at_fit_as_in_a_file(train):
    from dataclasses import replace

    twice = list(train[:10]) + [replace(train[3], target=0.5)]
    for model in (GNNPredictor(budget=0, **TINY), BakerPredictor()):
        with pytest.raises(NaapgnnError, match=f"{type(model).__name__}: records 3 and 10 share the id "
                                               f"{train[3].id!r}; give each record its own id"):
            model.fit(twice)


def test_a_record_lacking_a_channel_every_training_record_had_is_warned_of(fitted, test):
    import warnings
    from dataclasses import replace

    from naapgnn.errors import NaapgnnWarning

    lacking = [replace(r, curve={k: v for k, v in r.curve.items() if k != "loss_mean"}) for r in test[:2]]
    with pytest.warns(NaapgnnWarning, match=r"GNNPredictor.predict: records lack what every training record gave, "
                                            r"read as its training mean: curve channel 'loss_mean' \(2 of 5, e.g. "
                                            f"'{lacking[0].id}'\\)$"):
        fitted.predict(lacking + list(test[2:5]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", NaapgnnWarning)
        fitted.predict(test)
        fitted.predict([replace(lacking[0], line=7)])  # read from a file, whose reader warned
    assert "curve channel 'loss_mean' missing" in fitted.domain_report(lacking)[1][0]


def test_parameters_changed_after_fit_are_refused(fitted, test):
    from sklearn.base import clone

    other = clone(fitted)
    other.__dict__.update({k: v for k, v in fitted.__dict__.items() if k.endswith("_")})
    before = other.predict(test)
    for change, match in (({"budget": 6}, r"budget is 6 but the model was fitted with 3 .*with_budget\(6, X\)"),
                          ({"budget": 0}, "budget is 0 but the model was fitted with 3"),
                          ({"forest": "per_layer"}, "forest is 'per_layer' but the model was fitted with 'statistics'"),
                          ({"curve_mode": "network"}, "curve_mode is 'network'")):
        other.set_params(**change)
        with pytest.raises(NaapgnnError, match=match):
            other.predict(test)
        other.set_params(**{k: getattr(fitted, k) for k in change})
    other.set_params(n_threads=2, device="cpu")  # settings that change a prediction by rounding only
    np.testing.assert_allclose(other.predict(test), before, rtol=0, atol=1e-6)


def test_a_loaded_checkpoint_moves_to_another_budget_as_the_fitted_model_does(fitted, train, test, tmp_path):
    loaded = GNNPredictor.load(fitted.save(tmp_path / "ckpt"))
    np.testing.assert_array_equal(loaded.oof_prediction_, fitted.oof_prediction_)
    np.testing.assert_allclose(loaded.with_budget(6, train).predict(test), fitted.with_budget(6, train).predict(test),
                               rtol=0, atol=1e-12)
    assert loaded.with_budget(6, train).fitted_params_["budget"] == 6


def test_domain_report_before_fit_is_not_fitted(test):
    with pytest.raises(NotFittedError, match="GNNPredictor: not fitted yet"):
        GNNPredictor().domain_report(test)


@pytest.mark.parametrize("seed", [-1, 2**40, 1.5, True, np.random.RandomState(0)])
def test_random_state_is_checked_up_front(train, seed):
    with pytest.raises(NaapgnnError, match=r"random_state must be None or an integer in \[0, 4294967295\]"):
        GNNPredictor(random_state=seed, **TINY).fit(train)


def test_one_architecture_is_predicted_like_a_list_of_one(fitted, train):
    plain = fitted.with_budget(0, train)
    arch = parse_architecture(SCHEME)
    expected = plain.predict([arch])
    for one in (arch, SCHEME, arch.to_dict()):
        np.testing.assert_array_equal(plain.predict(one), expected)


def test_scheme_wrapper_refuses_other_fields():
    assert parse_architecture({"scheme": SCHEME, "name": "tiny"}) == parse_architecture(SCHEME)
    with pytest.raises(NaapgnnError, match="unknown field 'num_classes' beside 'scheme'"):
        parse_architecture({"scheme": SCHEME, "num_classes": 100})


def test_even_kernels_pad_k_minus_one_over_two_as_documented():
    from naapgnn import build_model

    for k, padding, side in ((2, 0, 31), (3, 1, 32), (4, 1, 31), (5, 2, 32)):
        arch = parse_architecture([{"kernel_size": k, "width": 8, "stride": 1, "residual": False}])
        assert build_model(arch).ops[0][0].padding == (padding, padding)
        assert arch.layers[0].out_shape == (8, side, side)


def test_padding_beyond_any_network_is_refused_naming_the_layer():
    graph = {"layers": [{"op": "conv", "out_channels": 8, "kernel_size": 3, "padding": 10**12}]}
    with pytest.raises(NaapgnnError, match=r"layer 0: padding 1000000000000 is larger than any network"):
        parse_architecture(graph)


def test_numpy_integers_are_read_as_ints():
    arch = parse_architecture([{"kernel_size": np.int64(3), "width": np.int32(16), "stride": 2, "residual": False}])
    assert arch == parse_architecture(SCHEME) and type(arch.scheme[0]["kernel_size"]) is int
    graph = parse_architecture({"layers": [{"op": "conv", "out_channels": np.int64(8), "kernel_size": 3,
                                            "padding": np.int64(1)}]})
    assert graph.layers[0].attrs["padding"] == 1 and type(graph.layers[0].attrs["out_channels"]) is int


def test_baker_follows_the_same_contract(train, test):
    from naapgnn.models.registry import create

    with pytest.raises(NotFittedError, match="BakerPredictor: not fitted"):
        BakerPredictor().predict(test)
    est = BakerPredictor(budget=3).fit(train)
    assert est.score(test) == pytest.approx(est.score(test, [r.target for r in test]))
    with pytest.raises(NaapgnnError, match="^BakerPredictor: no architectures given$"):
        est.predict([])
    with pytest.raises(NaapgnnError, match="record '0': budget 3 reads .* it has no curve"):
        est.predict([r.arch for r in test])
    with pytest.raises(NaapgnnError, match="budget is 6 but the model was fitted with 3"):
        est.set_params(budget=6).predict(test)
    with pytest.raises(NaapgnnError, match="predictor 'baker': got multiple values for keyword argument 'model'"):
        create("baker", model="rf")


def test_baker_ignores_columns_that_never_vary(train, test):
    """A hyperparameter every run shares, or an op no network has, changes nothing (nor gamma's unit)."""
    import dataclasses

    shared = [dataclasses.replace(r, hparams={**(r.hparams or {}), "epochs": 90.0, "momentum": 0.9}) for r in train]
    plain, padded = BakerPredictor(budget=3).fit(train), BakerPredictor(budget=3).fit(shared)
    assert len(padded.feature_names_) == len(plain.feature_names_) + 2
    assert padded.best_params_ == plain.best_params_
    np.testing.assert_allclose(padded.predict(test), plain.predict(test), rtol=0, atol=1e-12)


def test_a_failed_refit_leaves_no_model_to_predict_with(fitted, train, test):
    import copy

    model = copy.deepcopy(fitted)
    model.set_params(hidden=32)
    with pytest.raises(NaapgnnError, match="need at least 4 training architectures"):
        model.fit(train[:3])
    with pytest.raises(NaapgnnError, match="GNNPredictor: its last fit did not finish; fit again"):
        model.predict(test)
    baker = BakerPredictor(budget=0).fit(train[:20])
    bare = [dataclasses_replace(r, curve={}) for r in train[:20]]
    with pytest.raises(NaapgnnError, match="budget 3 needs training curves"):
        baker.set_params(budget=3).fit(bare)
    with pytest.raises(NaapgnnError, match="BakerPredictor: its last fit did not finish; fit again"):
        baker.set_params(budget=0).predict(test)


def dataclasses_replace(record, **changes):
    import dataclasses

    return dataclasses.replace(record, **changes)


def test_with_budget_moves_a_model_whose_budget_was_set_after_fit(fitted, train, test):
    import copy

    model = copy.deepcopy(fitted)
    model.set_params(budget=6)
    np.testing.assert_allclose(model.with_budget(6, train).predict(test), fitted.with_budget(6, train).predict(test),
                               rtol=0, atol=1e-12)


def test_baker_fits_runs_of_one_configuration(records):
    from naapgnn.data.records import Record

    same = [Record(f"s{i}", records[0].arch, target=0.5 + 0.01 * i) for i in range(12)]
    for model in ("svr", "rf"):
        pred = BakerPredictor(budget=0, model=model, n_estimators=20).fit(same).predict(same[:3])
        assert np.ptp(pred) == 0 and 0.5 <= pred[0] <= 0.61  # nothing tells them apart: one value, near the mean


def test_layer_inputs_and_a_json_string_read_as_given(fitted, train):
    import json

    graph = {"layers": [{"op": "conv", "out_channels": 8, "kernel_size": 3},
                        {"op": "conv", "out_channels": 8, "kernel_size": 3, "inputs": [np.int64(0)]},
                        {"op": "add", "inputs": [np.int64(0), np.int32(1)]}]}
    assert parse_architecture(graph).layers[2].inputs == (0, 1)
    plain = fitted.with_budget(0, train)
    text = json.dumps(SCHEME)
    np.testing.assert_array_equal(plain.predict(text), plain.predict([SCHEME]))


def _with_value(record, channel, epoch, value):
    import dataclasses

    curve = {c: v.astype(float).copy() for c, v in record.curve.items()}
    curve[channel][epoch] = value
    return dataclasses.replace(record, curve=curve)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_a_record_built_in_python_with_a_non_finite_curve_value_is_refused(fitted, train, test, value):
    bad = _with_value(test[0], "accuracy", 1, value)
    message = rf"record '{test[0].id}': curve 'accuracy' epoch 2 is {value}; a record's curve must be finite"
    with pytest.raises(NaapgnnError, match="GNNPredictor: " + message):
        fitted.predict([test[1], bad])
    with pytest.raises(NaapgnnError, match="GNNPredictor: " + message):
        fitted.domain_report([bad])
    with pytest.raises(NaapgnnError, match="BakerPredictor: " + message):
        BakerPredictor(budget=3).fit(train[:20] + [bad], [0.5 + 0.01 * i for i in range(21)])


def test_with_budget_refuses_other_records_or_another_order(fitted, train):
    with pytest.raises(NaapgnnError, match="X must be the training data of fit, in the same order"):
        fitted.with_budget(0, train[::-1])
    with pytest.raises(NaapgnnError, match="X must be the training data of fit, in the same order"):
        fitted.with_budget(0, train, np.array([r.target for r in train]) + 0.01)
    assert fitted.with_budget(0, list(train)).fitted_params_["budget"] == 0


def test_a_checkpoint_saves_the_parameters_the_model_was_fitted_with(fitted, tmp_path):
    import copy

    model = copy.deepcopy(fitted)
    model.set_params(n_ensemble=7, random_state=123, lr=0.5)
    loaded = GNNPredictor.load(model.save(tmp_path / "ckpt"))
    assert (loaded.n_ensemble, loaded.random_state, loaded.lr) == (fitted.n_ensemble, fitted.random_state, fitted.lr)
    assert len(loaded.members_) == loaded.n_ensemble

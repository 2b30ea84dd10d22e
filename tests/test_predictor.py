"""GNNPredictor: tiny real training runs, the sklearn contract, curve features, checkpoints."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from naapgnn.data.records import Record, records_from_naap440
from naapgnn.errors import NaapgnnError, NaapgnnWarning
from naapgnn.evaluation.metrics import kendall_tau
from naapgnn.features.curves import curve_feature_names, curve_features
from naapgnn.graph.encoding import NODE_FEATURES
from naapgnn.models.ensemble import rank_loss, rank_pairs
from naapgnn.models.gnn import GNNPredictor

REPO = Path(__file__).resolve().parents[1]
TINY = dict(hidden=16, layers=2, curve_hidden=8, max_epochs=40, patience=15, n_ensemble=2,
            forest_trees=20, lr=1e-2, n_threads=1)


@pytest.fixture(scope="module")
def records(naap440):
    return records_from_naap440(naap440)


@pytest.fixture(scope="module")
def train(records):
    return [r for r in records if r.split == "train"][:120]


@pytest.fixture(scope="module")
def test(records):
    return [r for r in records if r.split == "test"]


@pytest.fixture(scope="module")
def fitted(train):
    return GNNPredictor(budget=3, blend_forest=0.5, **TINY).fit(train)


def test_fit_predict_with_uncertainty(fitted, test):
    mean, std = fitted.predict(test, return_std=True)
    assert mean.shape == std.shape == (40,)
    assert np.all(np.isfinite(mean)) and np.all(std >= 0) and std.max() > 0
    assert np.array_equal(mean, fitted.predict(test))
    y = np.array([r.target for r in test])
    assert kendall_tau(y, mean) > 0.5  # learned something from 120 architectures
    assert len(fitted.members_) == 2 and fitted.forest_ is not None


def test_fit_is_reproducible(train, test):
    a = GNNPredictor(budget=0, blend_forest=0, **{**TINY, "max_epochs": 10}).fit(train[:40])
    b = GNNPredictor(budget=0, blend_forest=0, **{**TINY, "max_epochs": 10}).fit(train[:40])
    assert np.array_equal(a.predict(test[:5]), b.predict(test[:5]))


def test_blend_weight_one_is_the_forest(train, test):
    # curve_mode "network" fits no stack, so the prediction is the blend itself
    model = GNNPredictor(budget=0, blend_forest=1.0, curve_mode="network", **{**TINY, "max_epochs": 5}).fit(train[:60])
    assert np.allclose(model.predict(test), model.predict_parts(test)["forest"])
    none = GNNPredictor(budget=0, blend_forest=0.0, **{**TINY, "max_epochs": 5}).fit(train[:60])
    assert none.forest_ is None


def test_sklearn_contract(train):
    from sklearn.base import clone
    from sklearn.metrics import mean_absolute_error
    from sklearn.model_selection import KFold, cross_val_score

    model = GNNPredictor(budget=0, blend_forest=0.0, **{**TINY, "max_epochs": 10})
    assert model.get_params()["budget"] == 0
    assert model.set_params(budget=3) is model and model.budget == 3
    assert clone(model).get_params() == model.get_params()
    X, y = train[:60], np.array([r.target for r in train[:60]])
    scores = cross_val_score(model, X, y, cv=3, scoring="neg_mean_absolute_error")
    # cross_val_score clones, fits and predicts: the same as doing it by hand with the same settings.
    by_hand = [-mean_absolute_error(y[te], clone(model).fit([X[i] for i in tr], y[tr]).predict([X[i] for i in te]))
               for tr, te in KFold(3).split(X)]
    assert np.array_equal(scores, by_hand)


def test_accepts_architectures_dicts_and_frames(naap440, train):
    model = GNNPredictor(budget=0, blend_forest=0.0, **{**TINY, "max_epochs": 5}).fit(naap440.iloc[:50])
    scheme = json.loads((REPO / "graphs" / "naap440_scheme.json").read_text())
    graph = json.loads((REPO / "graphs" / "resnet_like.json").read_text())
    preds = model.predict([scheme, train[0].arch, {"id": "x", "arch": scheme}, graph])
    assert preds.shape == (4,) and preds[0] == preds[2]


def test_blended_forest_falls_back_to_the_gnn_for_deeper_networks(train, test):
    model = GNNPredictor(budget=0, blend_forest=0.5, forest="per_layer", **{**TINY, "max_epochs": 5}).fit(train[:40])
    model.stack_model_ = None  # the blend itself, without the kernel correction a budget-0 stack may add to it
    graph = json.loads((REPO / "graphs" / "resnet_like.json").read_text())
    parts = model.predict_parts([graph, test[0]])
    assert np.isnan(parts["forest"][0]) and np.isfinite(parts["forest"][1])
    mean, std = model.predict([graph, test[0]], return_std=True)
    assert mean[0] == np.clip(parts["gnn"][0], 0, 1)  # the GNN alone, for this row only
    assert std[0] == pytest.approx(parts["gnn_std"][0] * model.std_scale_)
    assert mean[1] == pytest.approx(np.clip(0.5 * parts["gnn"][1] + 0.5 * parts["forest"][1], 0, 1))
    in_domain, reasons = model.domain_report([graph])
    assert not in_domain[0] and "forest not blended (deeper than its 4 blocks)" in reasons[0]



def test_a_batch_the_caller_encoded_is_reused_and_left_unchanged(fitted, test):
    """predict_parts and domain_report read a given batch as they would encode it themselves, and the
    batch stays unstandardised, so one encoding serves both (as `naapgnn predict` does)."""
    from naapgnn.models.network import batch_architectures

    graphs = batch_architectures([r.arch for r in test])
    x = graphs.x.clone()
    given, own = fitted.predict_parts(test, graphs), fitted.predict_parts(test)
    assert all(np.array_equal(given[k], own[k]) for k in ("gnn", "gnn_std", "mean"))
    (inside, why), (inside_own, why_own) = fitted.domain_report(test, given, graphs), fitted.domain_report(test)
    assert np.array_equal(inside, inside_own) and why == why_own
    assert graphs.x.equal(x)

def test_budget_needs_the_curve(fitted, test):
    bare = Record(id="bare", arch=test[0].arch)
    with pytest.raises(NaapgnnError, match=r"record 'bare': budget 3 reads the first 3 epochs of the curve "
                       r"channel\(s\) accuracy, loss_mean, loss_median; it has no curve"):
        fitted.predict([bare])
    short = Record(id="short", arch=test[0].arch, curve={"accuracy": np.array([0.3, 0.4])})
    with pytest.raises(NaapgnnError, match="'short'.*'accuracy' has 2 epochs"):
        fitted.predict([short])


def test_missing_channels_and_hparams(train, test):
    def strip(r, lr):
        return Record(r.id, r.arch, curve={"accuracy": r.curve["accuracy"]}, hparams={"lr": lr}, target=r.target)

    model = GNNPredictor(budget=3, blend_forest=0.0, **{**TINY, "max_epochs": 5})
    model.fit([strip(r, 0.1 * (i % 2 + 1)) for i, r in enumerate(train[:40])])
    assert model.curve_channels_ == ["accuracy"] and model.hparam_names_ == ["lr"]
    # Extra channels are ignored, a missing hyperparameter counts as the training mean.
    assert model.hparam_mean_[0] == pytest.approx(0.15)
    full = Record("f", test[1].arch, curve=test[1].curve, hparams={"lr": float(model.hparam_mean_[0])})
    bare = Record("n", test[1].arch, curve={"accuracy": test[1].curve["accuracy"]})
    other = Record("o", test[1].arch, curve={"accuracy": test[1].curve["accuracy"]}, hparams={"lr": 0.2})
    pred = [model.predict([r])[0] for r in (full, bare, other)]  # one by one: same batch position
    assert pred[0] == pred[1] and pred[1] != pred[2]


def test_curve_features_by_hand():
    acc = np.array([0.10, 0.30, 0.40, 0.35, 0.50, 0.55, 0.5, 0.6, 0.61])
    naap_lr = np.array([0.1, 0.01, 0.001] * 3)  # the declared schedule: cycle features
    record = Record("r", None, curve={"accuracy": acc, "lr": naap_lr})
    names = curve_feature_names(9, ["accuracy", "lr"])
    row = dict(zip(names, curve_features([record], 9, ["accuracy", "lr"])[0]))
    assert row["accuracy_present"] == 1 and row["accuracy_last"] == 0.61 and row["accuracy_best"] == 0.61
    assert row["accuracy_cycle_end"] == 0.61 and row["accuracy_cycle_gain"] == pytest.approx(0.06)
    ratio = 0.06 / 0.15
    assert row["accuracy_cycle_extrapolated"] == pytest.approx(0.61 + 0.06 * ratio / (1 - ratio))
    assert "accuracy_e1" not in row and "lr_cycle_end" not in row
    # no schedule declared: no cycle columns (never assumed)
    assert not any("cycle" in n for n in curve_feature_names(9, ["accuracy"]))
    absent = Record("a", None, curve={"accuracy": acc})
    both = curve_features([absent], 3, ["accuracy", "loss_mean"])
    assert both.shape == (1, len(curve_feature_names(3, ["accuracy", "loss_mean"])))
    assert np.all(both[0, len(curve_feature_names(3, ["accuracy"])):] == 0)


def test_rank_loss_prefers_the_right_order():
    import torch

    y = torch.tensor([0.1, 0.2, 0.3, 0.3])
    i, j = torch.triu_indices(4, 4, 1)
    pairs = rank_pairs(y, i, j)
    assert len(pairs[2]) == 5  # the tied pair is dropped
    assert rank_loss(y * 10, *pairs) < rank_loss(-y * 10, *pairs)


def test_bad_parameters_are_one_line_errors(train):
    for kwargs, match in [({"budget": -1}, "budget"), ({"conv": "gcn"}, "conv"),
                          ({"blend_forest": 2}, "blend_forest"), ({"curve_mode": "x"}, "curve_mode")]:
        with pytest.raises(NaapgnnError, match=match):
            GNNPredictor(**kwargs).fit(train[:20])
    with pytest.raises(NotFittedError, match="not fitted"):
        GNNPredictor().predict(train[:2])
    no_target = [Record(f"t{i}", train[0].arch) for i in range(5)]
    with pytest.raises(NaapgnnError, match="record 't0' has no target"):
        GNNPredictor().fit(no_target)


@pytest.mark.parametrize("cuda", [True, False])
def test_device_auto_uses_cuda_only_when_present(monkeypatch, cuda):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert GNNPredictor(device="auto")._device() == ("cuda" if cuda else "cpu")
    assert GNNPredictor(device="cpu")._device() == "cpu"
    if cuda:
        assert GNNPredictor(device="cuda:0")._device() == "cuda:0"
    else:
        with pytest.raises(NaapgnnError, match="CUDA is not available"):
            GNNPredictor(device="cuda")._device()
    with pytest.raises(NaapgnnError, match="only cuda and cpu"):
        GNNPredictor(device="meta")._device()
    with pytest.raises(NaapgnnError, match=r"device 'cpu:1': the CPU is one device \(give cpu\)"):
        GNNPredictor(device="cpu:1")._device()  # torch ran it on the CPU without a word


def test_held_out_predictions_cover_every_training_record(fitted, train):
    assert fitted.oof_prediction_.shape == (len(train),)
    assert np.all(np.isfinite(fitted.oof_prediction_))  # disjoint folds: each record held out once
    y = np.array([r.target for r in train])
    assert kendall_tau(y, fitted.oof_prediction_) > 0.3


# --- checkpoints -------------------------------------------------------------------------


def test_save_load_round_trip(fitted, test, tmp_path):
    from naapgnn import __version__

    path = fitted.save(tmp_path / "ckpt")
    config = json.loads((path / "config.json").read_text())
    assert config["naapgnn_version"] == __version__ and config["params"]["budget"] == 3
    loaded = GNNPredictor.load(path)
    a, sa = fitted.predict(test, return_std=True)
    b, sb = loaded.predict(test, return_std=True)
    assert np.allclose(a, b, atol=1e-7) and np.allclose(sa, sb, atol=1e-7)
    assert loaded.std_scale_ == fitted.std_scale_ and loaded.domain_ == json.loads(json.dumps(fitted.domain_))
    assert loaded.blend_share_ == config["state"]["blend_share"] == fitted.blend_share_
    assert loaded.domain_report(test)[1] == fitted.domain_report(test)[1]
    assert loaded.get_params() == {**fitted.get_params(), "progress": False}
    fitted.save(path)  # overwriting an existing checkpoint works
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def _tamper(path: Path, **changes):
    config = json.loads((path / "config.json").read_text())
    for key, value in changes.items():
        if key in config:
            config[key] = value
        else:
            config["params"][key] = value
    (path / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("changes, match", [
    ({"format_version": 99}, "format version 99"),
    ({"node_features": ["x"]}, "other graph features"),
    # a checkpoint of encoding version 4, before the mul node type (no is_mul column)
    ({"encoding_version": 4, "node_features": [f for f in NODE_FEATURES if f != "is_mul"]},
     r"trained on other graph features \(naapgnn .*, encoding v4\) than this naapgnn .* computes \(encoding v6\); "
     "retrain with naapgnn train"),
    ({"format": "other"}, "not a GNNPredictor checkpoint"),
    ({"hidden": 24}, "weights of member 0 do not fit"),
    ({"n_ensemble": 3}, r"ckpt: config.json gives n_ensemble 3, but weights.pt holds 2 ensemble members; retrain"),
])
def test_checkpoint_that_does_not_fit_fails_in_one_line(fitted, tmp_path, changes, match):
    path = fitted.save(tmp_path / "ckpt")
    _tamper(path, **changes)
    with pytest.raises(NaapgnnError, match=match) as info:
        GNNPredictor.load(path)
    assert "\n" not in str(info.value)


def test_a_checkpoint_of_encoding_5_loads_where_it_trained_on_square_inputs_alone(fitted, test, tmp_path):
    """Encoding 6 changed only a non-square map's size: a version-5 checkpoint of square inputs computes the same
    features, one that trained on a non-square input does not."""
    path = fitted.save(tmp_path / "ckpt")
    _tamper(path, encoding_version=5)
    assert np.array_equal(GNNPredictor.load(path).predict(test), fitted.predict(test))
    config = json.loads((path / "config.json").read_text())
    config["state"]["domain"]["input_shapes"].append([3, 32, 48])
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(NaapgnnError, match=r"encoding v5\) than this naapgnn .* computes \(encoding v6\); retrain"):
        GNNPredictor.load(path)


@pytest.mark.parametrize("key, edit, match", [
    ("best_epochs", lambda v: v[:1], "config.json gives best_epochs of 1 members, but weights.pt holds 2 ensemble "
                                     "members"),
    ("training_ids", lambda v: v[:5], "config.json gives 5 training_ids but held-out predictions "
                                      "\\(oof_prediction\\) of 120 "),
    ("training_configurations", lambda v: v[:7], "config.json gives 7 training_configurations but held-out "
                                                 "predictions \\(oof_prediction\\) of 120 "),
    ("hparam_log", lambda v: v + [True], "config.json gives hparam_log of 1 values for 0 hparam_names"),
    ("curve_mean", lambda v: v[:3], "config.json gives curve_mean of 3 values for [0-9]+ curve_feature_names"),
    ("node_std", lambda v: v[:30], f"config.json gives node_std of 30 values for {len(NODE_FEATURES)} node features"),
    ("attr_mean", lambda v: 0.5, "config.json gives attr_mean of shape \\(\\) for 4 graph attributes"),
    ("value_std", lambda v: v[:-1], "config.json gives value_std of [0-9]+ values for [0-9]+ curve_value_names"),
    ("curve_value_names", lambda v: v[:-1] + ["accuracy_e9"], "curve_value_names holds 'accuracy_e9', not a value "
                                                              "or difference of its channels' first 3 epochs"),
])
def test_a_count_of_config_json_that_does_not_fit_fails_in_one_line(fitted, tmp_path, key, edit, match):
    """A hand-edited count in config.json (one member's best epoch left out, fewer statistics) is refused at load,
    not read silently or with a traceback at predict."""
    path = fitted.save(tmp_path / "ckpt")
    config = json.loads((path / "config.json").read_text())
    config["state"][key] = edit(config["state"][key])
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(NaapgnnError, match=match) as info:
        GNNPredictor.load(path)
    assert "\n" not in str(info.value)


def test_missing_or_broken_checkpoint_files(fitted, tmp_path):
    with pytest.raises(NaapgnnError, match="no such folder"):
        GNNPredictor.load(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NaapgnnError, match="no config.json"):
        GNNPredictor.load(tmp_path / "empty")
    path = fitted.save(tmp_path / "ckpt")
    (path / "weights.pt").write_bytes(b"garbage")
    with pytest.raises(NaapgnnError, match="cannot read weights.pt"):
        GNNPredictor.load(path)
    (path / "weights.pt").write_bytes(b"\x80\x05garbage")  # a pickle protocol torch warns of before failing
    with warnings.catch_warnings(record=True) as caught, pytest.raises(NaapgnnError, match="cannot read weights.pt"):
        warnings.simplefilter("always")
        GNNPredictor.load(path)
    assert [str(w.message) for w in caught] == []  # the one-line error alone, not torch's warning too
    import torch

    torch.save({"state_dict": {}}, path / "weights.pt")
    with pytest.raises(NaapgnnError, match="weights.pt holds no 'members' list of weights \\(a dict with keys "
                                           "'state_dict'\\), so not a GNNPredictor's weights; retrain"):
        GNNPredictor.load(path)
    path = fitted.save(tmp_path / "ckpt")
    (path / "forest.joblib").unlink()
    with pytest.raises(NaapgnnError, match="forest.joblib is missing"):
        GNNPredictor.load(path)
    with pytest.raises(NaapgnnError, match="a file, not a checkpoint folder"):
        GNNPredictor.load(path / "config.json")


def test_a_forest_file_of_another_checkpoint_is_refused_at_load(fitted, train, tmp_path):
    """A forest.joblib swapped in from elsewhere is refused when loading, not with a traceback at predict."""
    import joblib
    from sklearn.ensemble import RandomForestRegressor

    path = fitted.save(tmp_path / "ckpt")
    joblib.dump({"not": "a forest"}, path / "forest.joblib")
    with pytest.raises(NaapgnnError, match="forest.joblib holds a dict, not the random forest the config gives"):
        GNNPredictor.load(path)
    width = fitted.forest_.n_features_in_
    rng = np.random.default_rng(0)
    other = RandomForestRegressor(n_estimators=10, oob_score=True, random_state=0)
    joblib.dump(other.fit(rng.normal(size=(30, width + 2)), rng.normal(size=30)), path / "forest.joblib")
    with pytest.raises(NaapgnnError, match=f"the forest reads {width + 2} columns, the config gives {width}; retrain"):
        GNNPredictor.load(path)
    joblib.dump(other.fit(rng.normal(size=(30, width)), rng.normal(size=30)), path / "forest.joblib")
    with pytest.raises(NaapgnnError, match=f"out-of-bag predictions for 30 training records, the config gives "
                                           f"{len(fitted.oof_prediction_)}"):
        GNNPredictor.load(path)


@pytest.mark.parametrize("mode", ["network", "stack", "both"])
def test_curve_modes(train, test, mode):
    model = GNNPredictor(budget=3, curve_mode=mode, blend_forest=0.0, **{**TINY, "max_epochs": 5}).fit(train[:40])
    n_curve = len(model.curve_feature_names_)
    assert (model.members_[0].curve is not None) == (mode != "stack")
    assert len(model.stack_coef_) == (1 if mode == "network" else 1 + n_curve)
    assert np.all(np.isfinite(model.predict(test[:5])))


def test_score_reads_targets_from_records(fitted, test):
    from sklearn.metrics import r2_score

    expected = r2_score([r.target for r in test], fitted.predict(test))
    assert fitted.score(test) == pytest.approx(expected)
    assert fitted.score(test, [r.target for r in test]) == pytest.approx(expected)
    with pytest.raises(NaapgnnError, match="no target"):
        fitted.score([{"id": "x", "arch": test[0].arch.scheme}])


def test_a_record_without_lr_is_read_with_the_training_recipe_schedule(fitted, test):
    from dataclasses import replace

    assert fitted.schedule_ == [0.1, 0.01, 0.001] * 30 or np.allclose(fitted.schedule_, [0.1, 0.01, 0.001] * 30)
    without = [replace(r, curve={k: v for k, v in r.curve.items() if k != "lr"}) for r in test[:5]]
    assert np.array_equal(fitted.predict(without), fitted.predict(test[:5]))
    other = [replace(r, curve={**r.curve, "lr": np.full(90, 0.05)}) for r in test[:5]]  # its own schedule wins
    assert not np.array_equal(fitted._curve(other), fitted._curve(test[:5]))


def test_a_channel_no_record_logs_is_refused_where_one_record_lacking_it_is_read_at_the_training_mean(fitted, test):
    """The same runs logged as an error rate where the model read an accuracy: read at the training mean in every
    record, the predictions were 0 (clipped) with no more than a flag per row."""
    from dataclasses import replace

    renamed = [replace(r, curve={**{k: v for k, v in r.curve.items() if k != "accuracy"},
                                 "val_error": 1 - np.asarray(r.curve["accuracy"])}) for r in test[:5]]
    logged = ", ".join(repr(c) for c in sorted(renamed[0].curve))
    with pytest.raises(NaapgnnError, match=rf"^GNNPredictor.predict: no record logs curve channel 'accuracy', which "
                                           rf"every training record logged and the model reads at budget 3 \(the "
                                           rf"records log {logged}\): give it under that name, or predict at budget 0$"):
        fitted.predict(renamed)
    with pytest.warns(NaapgnnWarning, match="curve channel 'accuracy' \\(1 of 5, e.g. "):
        assert np.all(np.isfinite(fitted.predict([renamed[0], *test[1:5]])))


def test_a_loss_every_training_record_logged_is_read_at_its_training_mean_when_lacking(train, test, monkeypatch):
    """README and the model's warning say so; the model read the lacking channel as zeros with presence 0, a value
    no training record had (a blind tester's prediction fell from 0.604 to 0.493 without its val_loss)."""
    import naapgnn.models.network as network
    from naapgnn.features.curves import channel_columns

    model = GNNPredictor(budget=3, blend_forest=0.0, **{**TINY, "max_epochs": 5}).fit(train[:40])
    seen = []
    real = network.predict_members
    monkeypatch.setattr(network, "predict_members", lambda members, g, curve, hp: seen.append(curve.clone())
                        or real(members, g, curve, hp))
    full = test[1]
    lacking = Record("n", full.arch, curve={c: v for c, v in full.curve.items() if c != "loss_median"})
    with pytest.warns(NaapgnnWarning, match="read as its training mean: curve channel 'loss_median'"):
        model.predict([full, lacking])
    columns = channel_columns(3, model.curve_channels_)
    assert model.curve_channels_ == ["accuracy", "loss_mean", "loss_median", "lr"]  # NAAP-440's cyclic rate
    assert [len(columns[c]) for c in model.curve_channels_] == [13, 13, 13, 10] and columns["loss_median"][0] == 26
    names = curve_feature_names(3, model.curve_channels_)
    assert all(names[j].startswith(f"{c}_") for c, js in columns.items() for j in js) and len(names) == 49
    assert (seen[0][1, columns["loss_median"]] == 0).all()  # standardised: the training mean
    others = columns["accuracy"] + columns["loss_mean"]
    assert seen[0][1, others].equal(seen[0][0, others]) and not (seen[0][0, columns["loss_median"]] == 0).all()

"""Applicability: the training domain recorded at fit, the reasons given outside it, clipping and calibration."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from naapgnn.data.records import Record, records_from_naap440
from naapgnn.models.applicability import blend, calibration_scale
from naapgnn.features.tabular import architectures_of, count_blocks
from naapgnn.models.forest import PerLayerForest, block_counts
from naapgnn.models.gnn import GNNPredictor

REPO = Path(__file__).resolve().parents[1]
TINY = dict(hidden=16, layers=2, max_epochs=20, patience=10, n_ensemble=3, forest_trees=30)


@pytest.fixture(scope="module")
def records(naap440):
    return records_from_naap440(naap440)


@pytest.fixture(scope="module")
def model(records):
    return GNNPredictor(budget=0, **TINY).fit([r for r in records if r.split == "train"])


def _net(layers, input_shape=(3, 32, 32), num_classes=10):
    return {"input_shape": list(input_shape), "num_classes": num_classes, "layers": layers}


def _conv(channels, **kw):
    return {"op": "conv", "out_channels": channels, "kernel_size": 3, **kw}


def test_naap440_test_architectures_are_in_domain(model, records):
    test = [r for r in records if r.split == "test"]
    in_domain, reasons = model.domain_report(test)
    assert in_domain.dtype == bool and in_domain.shape == (40,) and len(reasons) == 40
    assert [r for r in reasons if not r.startswith("ensemble disagreement")] == [""] * sum(
        not r.startswith("ensemble disagreement") for r in reasons)
    assert in_domain.sum() >= 36


@pytest.mark.parametrize("arch, expected", [
    (_net([_conv(16)] * 200), "depth 201 > 5"),
    (_net([{"op": "conv", "out_channels": 10**9, "kernel_size": 1}]), "above training max"),
    (_net([_conv(16), _conv(24, stride=2)], input_shape=(1, 28, 28)), "input 1x28x28 not 3x32x32"),
    (_net([_conv(16), _conv(24, stride=2)], num_classes=100), "100 classes (trained on 10)"),
    (_net([_conv(2, stride=4), _conv(2, stride=4)]), "below training min"),
])
def test_far_outside_inputs_are_flagged(model, arch, expected):
    mean = model.predict([arch])
    in_domain, reasons = model.domain_report([arch])
    assert not in_domain[0] and expected in reasons[0], reasons[0]
    assert 0.0 <= mean[0] <= 1.0


def test_params_reason_in_words(model):
    in_domain, reasons = model.domain_report([_net([{"op": "conv", "out_channels": 10**9, "kernel_size": 1}])])
    # 3e9 conv weights + 2e9 batch norm + 1e10 classifier weights; the largest NAAP-440 training net has 23k
    assert reasons[0].startswith("params 1.5e10 above training max 2.3e4; depth 2 < 4; ")


def test_predictions_are_clipped_and_the_clipping_is_said(model, records):
    test = [r for r in records if r.split == "test"][:3]
    shifted = GNNPredictor(**model.get_params())
    shifted.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    shifted.stack_intercept_ = model.stack_intercept_ + 1000.0  # the GNN now says far above 1
    assert np.all(shifted.predict(test) == 1.0)
    _, reasons = shifted.domain_report(test)
    assert all("clipped to [0, 1]" in r for r in reasons)


def test_a_clip_inside_the_training_targets_range_is_no_extrapolation(model, records):
    training = [r.target for r in records if r.split != "test"]
    assert model.domain_["target_range"] == [min(training), max(training)]
    test = [r for r in records if r.split == "test"][:6]
    parts = dict(model.predict_parts(test), mean=np.array([1.02, 1.08, -0.03, -0.07, 0.5, 0.99]))
    _, reasons = model.domain_report(test, parts=parts)  # NAAP-440's targets lie far inside [0, 1]
    assert ["clipped to [0, 1]" in r for r in reasons] == [True, True, True, True, False, False]
    assert "prediction 1.0800 clipped to [0, 1]" in reasons[1]
    wide = GNNPredictor(**model.get_params())
    wide.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    wide.domain_ = dict(model.domain_, target_range=[0.0, 1.0])  # training runs from chance to perfect: 5% margin
    _, reasons = wide.domain_report(test, parts=parts)
    assert ["clipped to [0, 1]" in r for r in reasons] == [False, True, False, True, False, False]
    del wide.domain_["target_range"]  # a checkpoint saved before the range was kept: every clip said
    _, reasons = wide.domain_report(test, parts=parts)
    assert ["clipped to [0, 1]" in r for r in reasons] == [True, True, True, True, False, False]


def test_disagreement_above_three_times_the_training_median_is_flagged(model, records):
    test = [r for r in records if r.split == "test"][:4]
    strict = GNNPredictor(**model.get_params())
    strict.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    strict.domain_ = {**model.domain_, "disagreement_median": 1e-12}
    in_domain, reasons = strict.domain_report(test)
    assert not in_domain.any() and all("ensemble disagreement" in r and "> 3x training median 1e-12" in r
                                       for r in reasons)


def test_curves_outside_the_training_range_are_flagged(records):
    train = [r for r in records if r.split == "train"][:60]
    model = GNNPredictor(budget=3, blend_forest=0.0, **TINY).fit(train)
    # a perfect accuracy from epoch 1 and losses of 5: outside the training range, in the training units (an
    # accuracy above 1.05 would mark the batch's accuracies as percentages, naapgnn.data.channels.fraction_scale)
    odd = Record(id="odd", arch=train[0].arch,
                 curve={c: [1.0 if c == "accuracy" else 5.0] * 3 for c in train[0].curve})
    in_domain, reasons = model.domain_report([train[0], odd])
    assert "curve feature" not in reasons[0] and not in_domain[1]
    assert "outside training range" in reasons[1] and "curve features" in reasons[1]
    # a channel every training record had, missing, is said so (its columns not listed as out of range); an `lr`
    # missing is the training recipe's shared schedule, not a gap
    lacking = Record(id="lacking", arch=train[0].arch,
                     curve={c: v[:3] for c, v in train[0].curve.items() if c not in ("loss_median", "lr")})
    in_domain, reasons = model.domain_report([lacking])
    assert not in_domain[0] and reasons[0] == "curve channel 'loss_median' missing (every training record had it)"
    both = Record(id="both", arch=train[0].arch,
                  curve={c: v[:3] for c, v in train[0].curve.items() if c not in ("loss_median", "loss_mean", "lr")})
    assert model.domain_report([both])[1][0] == ("curve channels 'loss_mean', 'loss_median' missing (every training "
                                                 "record had them)")


def test_uncertainty_is_calibrated_at_fit(model):
    assert model.std_scale_ > 1.0  # raw member spread is too narrow on held-out data
    assert model.domain_["disagreement_median"] > 0


def test_calibration_scale_hits_the_coverage():
    rng = np.random.default_rng(0)
    std = rng.uniform(0.5, 2.0, 20_000)
    y = rng.normal(0.0, 3.0 * std)  # errors three times the stated std
    assert calibration_scale(y, np.zeros_like(y), std) == pytest.approx(3.0, rel=0.03)
    assert calibration_scale(y[:9], np.zeros(9), std[:9]) == 1.0  # too few rows
    assert calibration_scale(y[:20], np.zeros(20), np.zeros(20)) == 1.0  # no spread to scale


def test_blend_falls_back_to_the_gnn_per_row():
    mean, std = blend(np.array([0.5, 0.5]), np.array([0.1, 0.1]), np.array([0.7, np.nan]), 0.25)
    assert mean[0] == pytest.approx(0.55) and mean[1] == 0.5
    assert std[0] == pytest.approx(np.sqrt(0.75 * 0.01 + 0.25 * 0.75 * 0.04)) and std[1] == pytest.approx(0.1)


def test_forest_domain_report(records):
    train = [r for r in records if r.split == "train"][:80]
    forest = PerLayerForest(n_estimators=20, random_state=0).fit(train, [r.target for r in train])
    graph = json.loads((REPO / "graphs" / "vgg11.json").read_text())
    in_domain, reasons = forest.domain_report([train[0], graph])
    assert in_domain.tolist() == [True, False] and reasons[0] == ""
    assert reasons[1] == "13 conv/pool blocks > 4"
    assert forest.readable([train[0], graph]).tolist() == [True, False]
    assert block_counts([train[0], graph]).tolist() == [count_blocks(a) for a in architectures_of([train[0], graph])]
    # Every NAAP-440 architecture is read by the forest, so the default blend there is unchanged.
    assert forest.readable(records).all()
    preds = forest.predict_readable([train[0], graph])
    assert preds[0] == forest.predict([train[0]])[0] and np.isnan(preds[1])
    big = {"input_shape": [3, 32, 32], "num_classes": 10, "layers": [_conv(4096)]}
    _, reasons = forest.domain_report([big])
    assert reasons[0].startswith("features ") and "b0_width" in reasons[0]
    assert forest.oob_prediction_.shape == (80,) and np.all(np.isfinite(forest.oob_prediction_))


def test_a_reason_names_at_most_three_columns():
    from naapgnn.models.applicability import range_reasons

    values = np.array([[5.0] * 6, [0.5] * 6])
    reasons = range_reasons("curve feature", list("abcdef"), values, [0.0] * 6, [1.0] * 6)
    assert reasons == ["curve features a, b, c (+3 more) outside training range", ""]

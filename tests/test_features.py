"""Tabular features: paper sets, per-layer features against dataset columns, curve features without leakage."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from naapgnn.data.records import records_from_naap440
from naapgnn.errors import NaapgnnError
from naapgnn.features.tabular import (
    BLOCK_FEATURES,
    TOTAL_FEATURES,
    cycle_feature_names,
    cycle_features,
    feature_set_name,
    paper_feature_columns,
    paper_features,
    per_layer_features,
)


@pytest.fixture(scope="module")
def per_layer(naap440):
    return per_layer_features(naap440)


def test_paper_feature_columns():
    assert paper_feature_columns(0) == ["NumParams", "NumStages"]
    cols = paper_feature_columns(3)
    assert cols[:6] == ["NumParams", "NumMACs", "NumLayers", "NumStages", "FirstLayerWidth", "LastLayerWidth"]
    assert cols[6:9] == ["e1LossMean", "e1LossMedian", "e1Accuracy"]
    assert len(cols) == 6 + 3 * 3 and len(paper_feature_columns(90)) == 6 + 270
    assert feature_set_name(0) == "Scheme" and feature_set_name(6) == "Scheme + Quantitative 6 epochs"


def test_paper_features_take_logs(naap440):
    f = paper_features(naap440, 9)
    assert np.array_equal(f["NumParams"].to_numpy(), np.log(naap440["NumParams"].to_numpy(dtype=float)))
    assert np.array_equal(f["NumMACs"].to_numpy(), np.log(naap440["NumMACs"].to_numpy(dtype=float)))
    assert np.array_equal(f["e9Accuracy"].to_numpy(), naap440["e9Accuracy"].to_numpy())
    raw = paper_features(naap440, 0, log=False)
    assert np.array_equal(raw["NumParams"].to_numpy(), naap440["NumParams"].to_numpy(dtype=float))


def test_paper_features_from_records_equal_the_table(naap440):
    subset = naap440.iloc[::37]
    from_records = paper_features(records_from_naap440(subset), 3)
    assert np.allclose(from_records.to_numpy(), paper_features(subset, 3).to_numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("budget", [-1, 2.5, True, "3"])
def test_bad_budget(naap440, budget):
    with pytest.raises(NaapgnnError, match="budget must be a non-negative integer number of epochs"):
        paper_features(naap440, budget)


def test_budget_beyond_the_curves_names_the_missing_epoch(naap440):
    """NAAP-440 has 90 epochs; longer budgets are for longer benchmarks and fail on the missing column."""
    with pytest.raises(NaapgnnError, match="paper features \\(budget 91\\): the table has no column 'e91LossMean'"):
        paper_features(naap440, 91)


def test_per_layer_shape_and_names(per_layer):
    assert per_layer.shape == (440, 4 * len(BLOCK_FEATURES) + len(TOTAL_FEATURES))
    assert list(per_layer.columns[:2]) == ["b0_present", "b0_pool"]
    assert per_layer.columns[-1] == "total_classifier_log_params"


def test_per_layer_totals_equal_dataset_columns(naap440, per_layer):
    assert np.allclose(per_layer["total_log_params"], np.log(naap440["NumParams"]), rtol=0, atol=1e-12)
    assert np.allclose(per_layer["total_log_macs"], np.log(naap440["NumMACs"]), rtol=0, atol=1e-12)
    for ours, theirs in [("total_num_blocks", "NumLayers"), ("total_num_stages", "NumStages"),
                         ("total_num_residual", "NumSkipConnections"),
                         ("total_num_partial_rf", "NumPartialRFLayers"),
                         ("total_first_width", "FirstLayerWidth"), ("total_last_width", "LastLayerWidth")]:
        assert list(per_layer[ours].astype(int)) == list(naap440[theirs]), ours


def test_per_layer_blocks_sum_to_the_totals(naap440, per_layer):
    params = sum(np.expm1(per_layer[f"b{i}_log_params"]) for i in range(4))
    params = params + np.expm1(per_layer["total_classifier_log_params"])
    assert np.allclose(params, naap440["NumParams"], rtol=1e-9)
    widths = [[b["width"] for b in s] + [0] * (4 - len(s)) for s in naap440["scheme"]]
    assert np.array_equal(per_layer[[f"b{i}_width" for i in range(4)]].to_numpy(), np.array(widths, dtype=float))


def test_per_layer_hand_worked_receptive_field_and_sizes():
    scheme = [
        {"kernel_size": 3, "width": 12, "stride": 2, "residual": False},
        {"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
        {"kernel_size": 1, "width": 16, "stride": 1, "residual": True},
    ]
    row = per_layer_features([scheme], max_blocks=4).iloc[0]
    # RF: 1 + 2*1 = 3; 3 + 2*2 = 7; 7 + 0 = 7. Sizes 32 -> 16 -> 8 -> 8.
    assert [row[f"b{i}_receptive_field"] for i in range(3)] == [3, 7, 7]
    assert [row[f"b{i}_out_size"] for i in range(3)] == [16, 8, 8]
    # thop: conv 3*3*3*12 = 324 params + BN 24; MACs 16*16*12*27 + 4*16*16*12.
    assert row["b0_log_params"] == pytest.approx(math.log1p(324 + 24))
    assert row["b0_log_macs"] == pytest.approx(math.log1p(16 * 16 * 12 * 27 + 4 * 16 * 16 * 12))
    assert row["b2_residual"] == 1 and row["total_num_residual"] == 1
    assert row["b3_present"] == 0 and row["b3_width"] == 0
    assert row["total_final_size"] == 8 and row["total_final_receptive_field"] == 7


def test_per_layer_accepts_layer_graphs():
    archs = [json.loads(p.read_text()) for p in sorted((REPO / "graphs").glob("*.json"))]
    table = per_layer_features(archs)
    assert len(table) == len(archs) and np.isfinite(table.to_numpy()).all()


def test_per_layer_max_blocks(naap440):
    wide = per_layer_features(naap440.iloc[:3], max_blocks=6)
    assert wide["b5_present"].sum() == 0
    with pytest.raises(NaapgnnError, match="more than max_blocks=2"):
        per_layer_features(naap440.iloc[:3], max_blocks=2)


def test_per_layer_needs_schemes(naap440):
    with pytest.raises(NaapgnnError, match="no 'scheme' column"):
        per_layer_features(naap440.drop(columns="scheme"))


@pytest.mark.parametrize("budget", [1, 3, 4, 9, 12])
def test_cycle_features_use_no_later_epoch(naap440, budget):
    table = cycle_features(naap440, budget)
    assert list(table.columns) == cycle_feature_names(budget)
    epoch = {c: re.match(r"e(\d+)(LossMean|LossMedian|Accuracy)$", c) for c in naap440.columns}
    later = [c for c, m in epoch.items() if m and int(m.group(1)) > budget]
    assert len(later) == 3 * (90 - budget)
    shuffled = naap440.copy()
    shuffled[later] = np.random.default_rng(0).permutation(shuffled[later].to_numpy())
    pd.testing.assert_frame_equal(cycle_features(shuffled, budget), table)


def test_cycle_features_values(naap440):
    table = cycle_features(naap440, 9)
    assert np.array_equal(table["acc_cycle1"], naap440["e3Accuracy"])
    assert np.array_equal(table["acc_cycle3"], naap440["e9Accuracy"])
    assert np.allclose(table["gain_cycle3"], naap440["e9Accuracy"] - naap440["e6Accuracy"])
    assert np.array_equal(table["acc_last"], naap440["e9Accuracy"])
    acc = naap440[[f"e{e}Accuracy" for e in range(1, 10)]].to_numpy()
    assert np.array_equal(table["acc_best"], acc.max(axis=1))
    assert (table["acc_extrapolated"] >= table["acc_cycle3"]).all()
    assert table["acc_log_fit_final"].between(0, 1).all()
    assert cycle_features(naap440, 0).shape == (440, 0)


def test_cycle_features_from_records(naap440):
    subset = naap440.iloc[:5]
    records = records_from_naap440(subset)
    assert np.allclose(cycle_features(records, 6).to_numpy(), cycle_features(subset, 6).to_numpy())
    records[2].curve["accuracy"] = records[2].curve["accuracy"][:4]
    with pytest.raises(NaapgnnError, match="record '3': 'accuracy' has 4 epochs, budget needs 5"):
        cycle_features(records, 6)


def test_geometric_tail_keeps_the_sign_of_shrinking_gains():
    from naapgnn.features.curves import geometric_tail

    two = np.array([[-0.02, -0.01], [0.02, 0.01], [0.02, -0.01], [0.01, 0.02], [0.0, 0.01]])
    # ratio 0.5 either sign; opposite signs or a zero previous gain stop the series; growth is clipped to 0.9
    assert np.allclose(geometric_tail(two), [-0.01, 0.01, 0.0, 0.02 * 0.9 / 0.1, 0.0])
    assert np.allclose(geometric_tail(np.array([[0.04], [-0.04]])), [0.04, -0.04])  # one gain: ratio 0.5
    assert np.array_equal(geometric_tail(np.zeros((3, 0))), np.zeros(3))


def test_forest_and_gnn_curve_features_extrapolate_alike():
    from naapgnn.arch.format import parse_architecture
    from naapgnn.arch.space import naap440_search_space
    from naapgnn.data.records import Record
    from naapgnn.features.curves import curve_feature_names, curve_features

    arch = parse_architecture(naap440_search_space()[0])
    falling = np.array([0.3, 0.4, 0.50, 0.45, 0.46, 0.48, 0.46, 0.46, 0.47])  # cycle ends 0.50, 0.48, 0.47
    lr = np.array([0.1, 0.01, 0.001] * 3)
    record = Record("r", arch, curve={"accuracy": falling, "loss_mean": 1 - falling, "lr": lr})
    tabular = cycle_features([record], 9)["acc_extrapolated"].iloc[0]
    gnn = dict(zip(curve_feature_names(9, ["accuracy", "lr"]), curve_features([record], 9, ["accuracy", "lr"])[0]))
    assert tabular == pytest.approx(0.46) and gnn["accuracy_cycle_extrapolated"] == pytest.approx(0.46)

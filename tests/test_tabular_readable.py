"""Per-layer features of the architectures a forest can read, from one pass over the layers."""
import json

import numpy as np
import pandas as pd
import pytest

from naapgnn.data.nb201 import nb201_network
from naapgnn.data.records import records_from_naap440
from naapgnn.features.tabular import (
    TOTAL_FEATURES, architectures_of, count_blocks, cycle_features, per_layer_features, readable_per_layer_features,
)
from naapgnn.models.forest import PerLayerForest

from conftest import REPO

DEEP = [json.loads((REPO / "graphs" / "vgg11.json").read_text()),
        nb201_network("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|")]


@pytest.fixture(scope="module")
def records(naap440):
    return records_from_naap440(naap440)


def test_readable_rows_equal_the_features_of_those_rows(naap440):
    mixed = [*naap440["scheme"][:3], DEEP[0], naap440["scheme"][3], DEEP[1]]
    table, readable = readable_per_layer_features(mixed, max_blocks=4)
    assert readable.tolist() == [count_blocks(a) <= 4 for a in architectures_of(mixed)] == [1, 1, 1, 0, 1, 0]
    pd.testing.assert_frame_equal(table, per_layer_features([a for a, r in zip(mixed, readable) if r], max_blocks=4))
    table, readable = readable_per_layer_features(mixed, max_blocks=200)
    assert readable.all()
    pd.testing.assert_frame_equal(table, per_layer_features(mixed, max_blocks=200))


def test_readable_rows_of_a_table_keep_its_index(naap440):
    frame = naap440.iloc[[5, 2, 9]]
    table, readable = readable_per_layer_features(frame, max_blocks=4)
    assert readable.all() and list(table.index) == list(frame.index)
    pd.testing.assert_frame_equal(table, per_layer_features(frame, max_blocks=4))


def test_no_architectures():
    table = per_layer_features([])
    assert table.shape == (0, len(TOTAL_FEATURES))
    table, readable = readable_per_layer_features([], max_blocks=3)
    assert table.shape == (0, 3 * 10 + len(TOTAL_FEATURES)) and len(readable) == 0


@pytest.mark.parametrize("curve", [False, "gain", "stack"])
def test_predict_readable_equals_predict_on_the_readable_rows(records, curve):
    train = [r for r in records if r.split == "train"][:60]
    forest = PerLayerForest(budget=6, curve=curve, n_estimators=20, random_state=0).fit(train, [r.target for r in train])
    rows = [records[-1], records[-2], records[-3]]
    expected = forest.predict(rows)
    assert np.array_equal(forest.predict_readable(rows), expected)
    assert np.array_equal(forest.predict_readable(forest.featurize(rows)), expected)
    if not curve:  # architectures alone
        preds = forest.predict_readable([DEEP[0], rows[0].arch, DEEP[1], rows[1].arch])
        assert np.isnan(preds[[0, 2]]).all() and preds[1] == expected[0] and preds[3] == expected[1]
        assert np.isnan(forest.predict_readable(DEEP)).all()
    table = forest.featurize(rows)
    if curve:
        assert list(table.columns[-len(cycle_features(rows, 6).columns):]) == list(cycle_features(rows, 6).columns)

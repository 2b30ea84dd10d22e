"""Records encoded once for many fits (naapgnn.models.inputs.EncodedRecords, GNNPredictor.featurize)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from naapgnn.errors import NaapgnnError
from naapgnn.models.gnn import GNNPredictor
from naapgnn.models.inputs import EncodedRecords, take
from naapgnn.models.network import batch_architectures

from test_folding import TINY_GNN, _resnet_records


def test_a_subset_holds_the_graphs_of_its_records_in_order():
    records = _resnet_records()
    encoded = GNNPredictor().featurize(records)
    assert len(encoded) == len(records) and encoded.fold
    idx = [7, 2, 11, 2]
    part = take(encoded, np.array(idx))
    assert [r.id for r in part] == [records[i].id for i in idx]
    direct = batch_architectures([records[i].arch for i in idx], fold=True)
    for key in ("x", "edge_index", "ptr", "graph_attr", "batch"):
        assert torch.equal(getattr(part.graphs, key), getattr(direct, key)), key


def test_fits_and_predictions_on_encoded_rows_equal_those_on_the_records():
    records = _resnet_records()
    encoded = GNNPredictor().featurize(records)
    train, test = np.arange(0, 15, 2), np.arange(1, 15, 2)
    from_encoded = GNNPredictor(**TINY_GNN).fit(take(encoded, train))
    from_records = GNNPredictor(**TINY_GNN).fit([records[i] for i in train])
    np.testing.assert_array_equal(from_encoded.predict(take(encoded, test)),
                                  from_records.predict([records[i] for i in test]))


def test_graphs_encoded_another_way_are_encoded_again():
    records = _resnet_records()
    unfolded = EncodedRecords(records, batch_architectures([r.arch for r in records]), fold=False)
    model = GNNPredictor(**TINY_GNN).fit(unfolded)  # reads folded graphs: encodes its own
    assert model.folds_
    np.testing.assert_array_equal(model.predict(unfolded), model.predict(records))


def test_records_and_graphs_must_agree_in_number():
    records = _resnet_records()
    with pytest.raises(NaapgnnError, match="15 records but 3 graphs"):
        EncodedRecords(records, batch_architectures([r.arch for r in records[:3]]), fold=False)

"""Graphs batched from their arrays (naapgnn.graph.batching) equal PyG's collation of one Data per graph."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from naapgnn.arch.format import parse_architecture
from naapgnn.arch.space import naap440_search_space
from naapgnn.graph import encoding
from naapgnn.graph.batching import batch_arrays
from naapgnn.graph.encoding import NODE_FEATURES, encode_arrays, encode_many
from naapgnn.graph.rows import RowTable
from naapgnn.models.network import batch_architectures

REPO = Path(__file__).resolve().parents[1]
GRAPHS = ("resnet20", "mobilenetv2", "densenet_style", "resnet_like")


def _archs():
    return [*naap440_search_space()[:10], *(parse_architecture(json.loads((REPO / "graphs" / f"{n}.json").read_text()))
                                           for n in GRAPHS)]


def _assert_same_batch(got, expected):
    assert type(got) is type(expected)
    assert list(got.keys()) == list(expected.keys())
    for key in expected.keys():
        assert getattr(got, key).dtype == getattr(expected, key).dtype, key
        assert torch.equal(getattr(got, key), getattr(expected, key)), key
    assert got.num_graphs == expected.num_graphs and got.num_nodes == expected.num_nodes
    for records in ("_slice_dict", "_inc_dict"):
        mine, theirs = getattr(got, records), getattr(expected, records)
        assert mine.keys() == theirs.keys(), records
        for key in theirs:
            assert mine[key].dtype == theirs[key].dtype and torch.equal(mine[key], theirs[key]), (records, key)


@pytest.mark.parametrize("fold", [False, True])
@pytest.mark.parametrize("count", [1, 2, 14])
def test_batch_arrays_equals_pyg_collation(count, fold):
    archs = _archs()[-count:]
    expected = Batch.from_data_list(encode_many(archs, totals=False, fold=fold))
    _assert_same_batch(batch_arrays(encode_arrays(archs, fold=fold)), expected)
    _assert_same_batch(batch_architectures(archs, fold=fold), expected)


def test_a_batch_from_arrays_separates_and_subsets_as_pyg_does():
    archs = _archs()
    got, expected = batch_architectures(archs), Batch.from_data_list(encode_many(archs, totals=False))
    for i in (0, 5, len(archs) - 1):
        mine, theirs = got.get_example(i), expected.get_example(i)
        assert all(torch.equal(mine[k], theirs[k]) for k in theirs.keys())
    idx = torch.tensor([12, 0, 3, 3])
    _assert_same_batch(Batch.from_data_list(got.index_select(idx)), Batch.from_data_list(expected.index_select(idx)))


def test_no_graphs_give_an_empty_batch():
    g = batch_architectures([])
    assert g.num_graphs == 0 and g.x.shape == (0, len(NODE_FEATURES))
    assert g.edge_index.shape == (2, 0) and g.graph_attr.shape == (0, 4) and g.ptr.tolist() == [0]
    assert g.batch.numel() == 0


@pytest.mark.parametrize("fold", [False, True])
def test_encoding_in_chunks_with_the_row_table_starting_afresh_is_the_same(monkeypatch, fold):
    archs = _archs()
    expected = encode_arrays(archs, fold=fold)
    monkeypatch.setattr(encoding, "_CHUNK", 3)
    monkeypatch.setattr(encoding, "_ROWS", RowTable(limit=3))
    got = encode_arrays(archs, fold=fold)
    for name, value in expected._asdict().items():
        if isinstance(value, np.ndarray):
            assert getattr(got, name).dtype == value.dtype and np.array_equal(getattr(got, name), value), name
        else:
            assert getattr(got, name) == value, name

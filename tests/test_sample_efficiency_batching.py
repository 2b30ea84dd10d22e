"""Mini-batches for large benchmarks: select_graphs gathers the same tensors as PyG's collation."""
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from naapgnn.arch.format import parse_architecture
from naapgnn.data.nb201 import EDGES, nb201_network
from naapgnn.models.ensemble import edge_offsets, select_graphs
from naapgnn.models.network import batch_architectures

CELLS = [("nor_conv_3x3", "skip_connect", "none", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3"),
         ("none",) * 6, ("skip_connect",) * 6, ("nor_conv_1x1",) * 6]
SCHEMES = [[{"kernel_size": 3, "width": 16 + 8 * i, "stride": 2, "residual": False}] * (1 + i % 3) for i in range(6)]


@pytest.fixture(scope="module")
def batch():
    archs = [parse_architecture(nb201_network(dict(zip(EDGES, c)))) for c in CELLS]
    return batch_architectures(archs + [parse_architecture(s) for s in SCHEMES])


@pytest.mark.parametrize("idx", [[0], [3, 1], [9, 0, 4, 2, 7], list(range(10))[::-1]])
def test_select_graphs_equals_pyg_collation(batch, idx):
    expected = Batch.from_data_list(batch.index_select(torch.tensor(idx)))
    got = select_graphs(batch, idx, edge_offsets(batch))
    for key in ("x", "edge_index", "graph_attr", "batch", "ptr"):
        assert torch.equal(getattr(got, key), getattr(expected, key)), key
    assert got.num_graphs == len(idx)


def test_edge_offsets_count_each_graphs_edges(batch):
    offsets = edge_offsets(batch).numpy()
    singles = [batch.get_example(i).edge_index.shape[1] for i in range(batch.num_graphs)]
    assert np.diff(offsets).tolist() == singles
    assert offsets[-1] == batch.edge_index.shape[1]

"""Path statistics of the encoding: hand-counted networks, a brute-force count over every path, error paths."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from naapgnn.arch.format import parse_architecture
from naapgnn.errors import NaapgnnError
from naapgnn.graph.encoding import NODE_TYPES, encode
from naapgnn.graph.paths import PATH_STATISTICS, path_statistics
from naapgnn.graph.statistics import GRAPH_STATISTICS, graph_statistics
from naapgnn.models.network import batch_architectures

GRAPHS = Path(__file__).resolve().parents[1] / "graphs"
SCHEME = [{"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
          {"kernel_size": 3, "width": 16, "stride": 1, "residual": True},
          {"kernel_size": 5, "width": 40, "stride": 2, "residual": False}]


def stats(arch, fold=False) -> dict:
    return dict(zip(PATH_STATISTICS, encode(arch, fold=fold).path_stats[0].tolist()))


def test_a_residual_block_makes_two_paths():
    row = stats(parse_architecture(SCHEME))
    # input -> conv0 -> (conv1 | skip) -> add -> conv2 -> gap -> classifier: 2 paths, depths 3 and 4
    assert row["log_paths"] == pytest.approx(math.log(3))
    assert (row["min_path_depth"], row["mean_path_depth"]) == pytest.approx((3, 3.5))
    assert (row["min_spatial_convs"], row["max_spatial_convs"], row["mean_spatial_convs"]) == pytest.approx((2, 3, 2.5))


def test_an_input_listed_twice_counts_twice_and_a_cut_off_output_has_no_path():
    conv = {"op": "conv", "out_channels": 4, "kernel_size": 1, "inputs": [-1]}
    twice = {"input_shape": [3, 8, 8], "layers": [conv, {"op": "conv", "out_channels": 4, "kernel_size": 3},
                                                  {"op": "add", "inputs": [1, 1, 0]}, {"op": "gap"}]}
    row = stats(twice)
    assert row["log_paths"] == pytest.approx(math.log(1 + 3))
    assert row["mean_path_depth"] == pytest.approx((3 + 3 + 2) / 3)  # the classifier counts on every path
    assert row["min_spatial_convs"] == 0 and row["max_spatial_convs"] == 1
    cut = {"input_shape": [3, 8, 8], "layers": [conv, {"op": "zero", "shape": [4, 8, 8]}, {"op": "gap", "inputs": [1]}]}
    assert set(stats(cut).values()) == {0.0}


def _all_paths(weighted, spatial, edges):
    """Every path from node 0 to the last node, each as (depth, spatial convs), by depth-first search."""
    n = len(weighted)
    out = [[] for _ in range(n)]
    for s, d in zip(edges[::2], edges[1::2]):
        out[s].append(d)
    found, stack = [], [(0, 0, 0)]
    while stack:
        node, depth, convs = stack.pop()
        depth, convs = depth + weighted[node], convs + spatial[node]
        if node == n - 1:
            found.append((depth, convs))
        stack.extend((d, depth, convs) for d in out[node])
    return found


DENSE_BLOCK = {"input_shape": [3, 8, 8], "layers": [  # convs reading the concatenation of all before them
    {"op": "conv", "out_channels": 4, "kernel_size": 3},
    {"op": "conv", "out_channels": 4, "kernel_size": 1, "inputs": [0]},
    {"op": "concat", "inputs": [0, 1]},
    {"op": "conv", "out_channels": 4, "kernel_size": 3, "inputs": [2]},
    {"op": "concat", "inputs": [2, 3]},
    {"op": "avgpool", "kernel_size": 2, "stride": 2},
    {"op": "gap"}]}


@pytest.mark.parametrize("name", ["resnet20.json", "mobilenetv2.json", "resnet_like.json", "vgg11.json", "dense"])
def test_equal_to_counting_every_path(name):
    data = encode(DENSE_BLOCK if name == "dense" else json.loads((GRAPHS / name).read_text()))
    kinds = data.node_type.numpy()
    weighted = np.isin(kinds, [NODE_TYPES.index(t) for t in ("conv", "linear", "classifier")]).astype(int)
    kernel = data.x[:, len(NODE_TYPES) + 2].numpy()  # kernel_size, the third numeric column
    spatial = ((kinds == NODE_TYPES.index("conv")) & (kernel > 1)).astype(int)
    edges = data.edge_index.t().reshape(-1).tolist()
    paths = np.array(_all_paths(weighted.tolist(), spatial.tolist(), edges), dtype=float)
    expected = (math.log(1 + len(paths)), paths[:, 0].min(), paths[:, 0].mean(), paths[:, 1].min(),
                paths[:, 1].max(), paths[:, 1].mean())
    assert data.path_stats[0].tolist() == pytest.approx(expected, rel=1e-5)
    assert path_statistics(weighted, spatial, edges) == pytest.approx(expected, rel=1e-9)


def test_folded_graphs_keep_the_whole_networks_statistics():
    arch = json.loads((GRAPHS / "resnet20.json").read_text())
    assert encode(arch, fold=True).num_nodes < encode(arch).num_nodes
    assert stats(arch, fold=True) == stats(arch)


def test_graph_statistics_end_with_the_path_statistics_and_refuse_graphs_without_them():
    batch = batch_architectures([parse_architecture(SCHEME), json.loads((GRAPHS / "resnet20.json").read_text())])
    rows = graph_statistics(batch)
    assert GRAPH_STATISTICS[-len(PATH_STATISTICS):] == PATH_STATISTICS
    np.testing.assert_allclose(rows[:, -len(PATH_STATISTICS):], batch.path_stats.numpy(), rtol=1e-6)
    del batch.path_stats
    with pytest.raises(NaapgnnError, match="no path statistics .*encode them again"):
        graph_statistics(batch)

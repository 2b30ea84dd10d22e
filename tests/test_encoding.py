import json
import math
import subprocess
import sys

import networkx as nx
import pytest
import torch

from naapgnn.arch.format import load_architecture, parse_architecture
from naapgnn.graph.encoding import GRAPH_ATTRS, NODE_FEATURES, NODE_TYPES, encode, to_networkx
from naapgnn.arch.profiling import profile

from conftest import REPO

SCHEME = [
    {"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
    {"kernel_size": 3, "width": 16, "stride": 1, "residual": True},
    {"kernel_size": 1, "width": 32, "stride": 2, "residual": False},
]


def feature(data, name):
    return data.x[:, NODE_FEATURES.index(name)]


def test_scheme_nodes_edges_and_residual_edge():
    data = encode(SCHEME)
    kinds = [NODE_TYPES[t] for t in data.node_type]
    assert kinds == ["input", "conv", "conv", "add", "conv", "gap", "classifier"]
    edges = sorted(map(tuple, data.edge_index.t().tolist()))
    assert edges == [(0, 1), (1, 2), (1, 3), (2, 3), (3, 4), (4, 5), (5, 6)]
    assert data.x.shape == (7, len(NODE_FEATURES))


def test_explicit_add_encodes_like_a_scheme_residual():
    explicit = {
        "layers": [
            {"op": "conv", "out_channels": 16, "kernel_size": 3, "stride": 2},
            {"op": "conv", "out_channels": 16, "kernel_size": 3},
            {"op": "add", "inputs": [0, 1]},
            {"op": "conv", "out_channels": 32, "kernel_size": 1, "stride": 2},
        ]
    }
    a, b = encode(SCHEME), encode(explicit)
    assert torch.equal(a.node_type, b.node_type)
    assert torch.equal(a.edge_index.sort(dim=1).values, b.edge_index.sort(dim=1).values)
    residual = NODE_FEATURES.index("residual")
    assert torch.allclose(torch.cat([a.x[:, :residual], a.x[:, residual + 1:]], 1),
                          torch.cat([b.x[:, :residual], b.x[:, residual + 1:]], 1))


def test_node_features_carry_sizes_costs_and_receptive_field():
    data = encode(SCHEME)
    assert feature(data, "log2_size_out")[1].item() == pytest.approx(torch.log2(torch.tensor(17.0)).item())
    assert feature(data, "kernel_size")[4].item() == 1 and feature(data, "stride")[4].item() == 2
    # Receptive field: 3 (first 3x3), +2*2 (second 3x3 after stride 2) = 7, 1x1 adds nothing.
    rf = 2 ** feature(data, "log2_receptive_field")
    assert rf[1].item() == pytest.approx(3) and rf[2].item() == pytest.approx(7) and rf[4].item() == pytest.approx(7)
    params = torch.expm1(feature(data, "log_params")).round().sum().item()
    assert params == profile(SCHEME)[0]
    assert feature(data, "macs_share").sum().item() == pytest.approx(1.0)


def _strided_net(height: int, width: int) -> dict:
    return {"input_shape": [3, height, width], "num_classes": 10,
            "layers": [{"op": "conv", "out_channels": 8, "kernel_size": 3, "stride": 2},
                       {"op": "maxpool", "kernel_size": 2, "stride": 2},
                       {"op": "conv", "out_channels": 16, "kernel_size": 5, "residual": False}]}


def test_a_non_square_map_reads_as_its_geometric_mean_side_and_a_transpose_encodes_the_same():
    """Sizes were the height alone: 48x80 encoded as 48x48 (40% fewer MACs), and its transpose 80x48 otherwise."""
    from naapgnn.arch.profiling import architecture_statistics
    from naapgnn.features.tabular import per_layer_features

    wide, tall, square = encode(_strided_net(48, 80)), encode(_strided_net(80, 48)), encode(_strided_net(48, 48))
    assert torch.equal(wide.x, tall.x) and torch.equal(wide.graph_attr, tall.graph_attr)
    assert feature(wide, "log2_size_in")[1].item() == pytest.approx(math.log2(1 + math.sqrt(48 * 80)))
    assert feature(wide, "log2_size_out")[3].item() == pytest.approx(math.log2(1 + math.sqrt(12 * 20)))
    assert feature(square, "log2_size_in")[1].item() == pytest.approx(math.log2(1 + 48))  # a square map: its side
    rf = 2 ** feature(wide, "log2_receptive_field")[3].item()
    assert feature(wide, "receptive_field_fraction")[3].item() == pytest.approx(rf / math.sqrt(48 * 80), rel=1e-6)
    assert architecture_statistics(_strided_net(48, 80))["FinalSize"] == pytest.approx(math.sqrt(12 * 20))
    assert architecture_statistics(_strided_net(48, 80)) == architecture_statistics(_strided_net(80, 48))
    assert per_layer_features([_strided_net(48, 80)]).equals(per_layer_features([_strided_net(80, 48)]))
    labels = [g["label"] for _, g in to_networkx(_strided_net(48, 80)).nodes(data=True)]
    assert labels[0].endswith("3x48x80") and labels[1].endswith("3->8, 24x40") and labels[2].endswith("8, 12x20")


def test_graph_attributes(naap440):
    row = naap440.iloc[123]
    data = encode(row.scheme)
    assert data.graph_attr.shape == (1, len(GRAPH_ATTRS))
    log_params, log_macs, depth, stages = data.graph_attr[0].tolist()
    assert int(data.num_params) == row.NumParams and int(data.num_macs) == row.NumMACs
    assert log_params == pytest.approx(torch.log(torch.tensor(float(row.NumParams))).item(), rel=1e-6)
    assert depth == row.NumLayers + 1  # conv blocks plus the classifier
    assert stages == row.NumStages


@pytest.mark.parametrize("name", ["vgg_like.json", "resnet_like.json", "naap440_scheme.json"])
def test_examples_are_dags(name):
    arch = load_architecture(REPO / "graphs" / name)
    g = to_networkx(arch)
    assert nx.is_directed_acyclic_graph(g)
    data = encode(arch)
    assert g.number_of_nodes() == data.num_nodes and g.number_of_edges() == data.edge_index.shape[1]
    assert nx.ancestors(g, data.num_nodes - 1) == set(range(data.num_nodes - 1))


def test_stages_count_pools():
    vgg = encode(load_architecture(REPO / "graphs/vgg_like.json"))
    assert vgg.graph_attr[0, 3].item() == 3


def test_graph_dataset_caches_and_rebuilds(tmp_path, data_dir):
    import shutil

    from naapgnn.graph.dataset import NAAP440Graphs

    src = tmp_path / "data"
    shutil.copytree(data_dir, src, ignore=shutil.ignore_patterns("raw_data"))
    ds = NAAP440Graphs(root=tmp_path / "cache", data=src)
    assert len(ds) == 440 and int(ds.is_test.sum()) == 40
    first = ds[0]
    assert first.curve.shape == (1, 90, 3) and int(first.model_id) == 1
    assert first.y.item() == pytest.approx(0.5888)
    processed = {p.name for p in (tmp_path / "cache" / "processed").glob("naap440_*.pt")}
    assert len(processed) == 1
    assert len(NAAP440Graphs(root=tmp_path / "cache", data=src)) == 440  # served from cache
    text = (src / "naap440v2.csv").read_text().replace("0.5888", "0.5889", 1)
    (src / "naap440v2.csv").write_text(text)
    (src / "naap440.csv").write_text((src / "naap440.csv").read_text().replace("0.5888", "0.5889", 1))
    rebuilt = NAAP440Graphs(root=tmp_path / "cache", data=src)
    assert rebuilt[0].y.item() == pytest.approx(0.5889)
    assert len(list((tmp_path / "cache" / "processed").glob("naap440_*.pt"))) == 2


def test_graph_dataset_takes_pygs_pre_processing_arguments(tmp_path, data_dir):
    from torch_geometric.transforms import AddSelfLoops

    from naapgnn.graph.dataset import NAAP440Graphs

    root = tmp_path / "cache"
    assert not NAAP440Graphs(root=root, data=data_dir, log=False)[0].has_self_loops()
    with pytest.warns(UserWarning, match="The `pre_transform` argument differs"):  # PyG's word: the cache is older
        NAAP440Graphs(root=root, data=data_dir, pre_transform=AddSelfLoops(), log=False)
    looped = NAAP440Graphs(root=root, data=data_dir, pre_transform=AddSelfLoops(), force_reload=True, log=False)
    assert looped[0].has_self_loops()

    def is_test(graph):
        return bool(graph.is_test)

    assert len(NAAP440Graphs(root=root, data=data_dir, pre_filter=is_test, force_reload=True, log=False)) == 40


def test_cli_encode_json_save_and_draw(tmp_path):
    out, png = tmp_path / "g.pt", tmp_path / "g.png"
    proc = subprocess.run(
        [sys.executable, "-m", "naapgnn", "encode", str(REPO / "graphs/resnet_like.json"),
         "-o", str(out), "--draw", str(png), "--json"],
        capture_output=True, text=True, check=True,
    )
    summary = json.loads(proc.stdout)
    arch = load_architecture(REPO / "graphs/resnet_like.json")
    assert summary == {"nodes": 13, "edges": 14, "params": profile(arch)[0], "macs": profile(arch)[1]}
    data = torch.load(out, weights_only=False)
    assert data.num_nodes == 13
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_version_2_3_and_5_columns_are_zero_for_version_1_architectures():
    from naapgnn.graph.encoding import ENCODING_VERSION

    assert ENCODING_VERSION == 6
    data = encode(load_architecture(REPO / "graphs/resnet_like.json"))
    for name in ("is_concat", "is_batchnorm", "is_zero", "is_mul", "log2_groups", "act_before_conv", "bn_before_conv",
                 "log2_repeats"):
        assert torch.count_nonzero(data.x[:, NODE_FEATURES.index(name)]) == 0, name


def test_new_ops_encode_as_their_own_nodes_with_labels_showing_groups_and_order():
    from test_builder import NEW_OPS

    data = encode(NEW_OPS)
    kinds = [NODE_TYPES[t] for t in data.node_type]
    assert kinds == ["input", "conv", "conv", "conv", "add", "zero", "concat", "conv", "batchnorm", "avgpool",
                     "gap", "classifier"]
    edges = data.edge_index.t().tolist()
    assert edges.count([2, 4]) == 2  # the input the add lists twice: two parallel edges
    assert not any(dst == 5 for _, dst in edges)  # the zero node has no in-edge
    assert [2 for s, _ in edges if s == 3] == []  # the dead branch has no out-edge
    assert data.x[7, NODE_FEATURES.index("log2_groups")] == pytest.approx(math.log2(10))
    assert data.x[1, NODE_FEATURES.index("act_before_conv")] == 1
    assert data.x[2, NODE_FEATURES.index("bn_before_conv")] == 1
    labels = [g["label"].split("\n")[0] for _, g in to_networkx(NEW_OPS).nodes(data=True)]
    assert labels[1:4] == ["relu+conv 3x3/1+bn", "bn+relu+conv 3x3/1", "conv 1x1/1+bn+relu"]
    assert labels[7] == "dw 3x3/1+relu" and labels[8] == "batchnorm+relu" and labels[5].startswith("zero")
    grouped = {"input_shape": [8, 4, 4], "layers": [{"op": "conv", "out_channels": 16, "kernel_size": 3, "groups": 4}]}
    assert to_networkx(grouped).nodes[1]["label"].startswith("conv 3x3/1 g=4+bn+relu")


def test_absurd_sizes_are_refused_in_one_line():
    from naapgnn.errors import NaapgnnError
    from naapgnn.graph.encoding import encode_many

    huge = {"input_shape": [3, 32, 32], "num_classes": 10, "layers": [{"op": "conv", "out_channels": 10 ** 30, "kernel_size": 3}]}
    with pytest.raises(NaapgnnError, match=r"layer 0: out_channels 1(0){19} is larger than any network naapgnn reads"):
        parse_architecture({**huge, "layers": [{**huge["layers"][0], "out_channels": 10 ** 19}]})
    with pytest.raises(NaapgnnError, match=r"layer 0: out_channels 100\.\.\. \(31 digits\) is larger than any "):
        parse_architecture(huge)  # a number too long to print whole
    widest = {"input_shape": [3, 64, 64], "num_classes": 10,
              "layers": [{"op": "conv", "out_channels": 2 ** 24, "kernel_size": 3}] * 2}
    with pytest.raises(NaapgnnError, match=r"network 0: 2.53e\+15 parameters, 1.04e\+19 MACs: beyond what naapgnn "
                                           r"counts \(2\^63\)"):
        encode_many([parse_architecture(widest)])

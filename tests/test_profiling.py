import pytest
import torch

from naapgnn.arch.format import load_architecture, parse_architecture
from naapgnn.arch.builder import build_model
from naapgnn.arch.profiling import layer_costs, profile

from conftest import REPO

EXAMPLES = sorted((REPO / "graphs").glob("*.json"))


def test_all_440_match_dataset_params_and_macs(naap440):
    mismatches = [
        row.ModelId for row in naap440.itertuples() if profile(row.scheme) != (row.NumParams, row.NumMACs)
    ]
    assert mismatches == []


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_params_equal_the_built_module(path):
    arch = load_architecture(path)
    model = build_model(arch)
    assert profile(arch)[0] == sum(p.numel() for p in model.parameters())
    assert sum(c.params for c in layer_costs(arch)) == profile(arch)[0]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_macs_follow_the_thop_convention(path):
    thop = pytest.importorskip("thop")
    arch = load_architecture(path)
    model = build_model(arch).eval()
    macs, params = thop.profile(model, inputs=(torch.randn(1, *arch.input_shape),), verbose=False)
    # thop counts modules only: it does not see a mul's product, which profile counts (one multiply per element)
    products = sum(c.macs for layer, c in zip(arch.layers, layer_costs(arch)) if layer.op == "mul")
    assert profile(arch) == (int(params), int(macs) + products)


@pytest.mark.parametrize("layer, beyond_thop", [
    # the bias: one add per output element, 8 channels of 8 x 8
    ({"op": "conv", "out_channels": 8, "kernel_size": 3, "bias": True, "batchnorm": False}, 8 * 8 * 8),
    # padded positions: per channel 16 windows of 9 positions, 121 of them inside the 8 x 8 input
    # (2 + 3 + 3 + 3 rows by as many columns), 3 channels
    ({"op": "avgpool", "kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}, 3 * (16 * 9 - 121)),
    ({"op": "avgpool", "kernel_size": 3, "stride": 2, "padding": 1}, 0),  # the padding counted: as thop
])
def test_macs_differ_from_ultralytics_thop_where_the_docstring_says(layer, beyond_thop):
    thop = pytest.importorskip("thop")
    arch = parse_architecture({"input_shape": [3, 8, 8], "num_classes": 10, "layers": [layer]})
    macs, params = thop.profile(build_model(arch).eval(), inputs=(torch.randn(1, 3, 8, 8),), verbose=False)
    assert profile(arch) == (int(params), int(macs) + beyond_thop)


def test_statistics_of_all_440_match_the_dataset_columns(data_dir):
    from naapgnn.data.naap440 import load_naap440
    from naapgnn.arch.profiling import SCHEME_STATISTICS, architecture_statistics

    v2 = load_naap440(data_dir)  # carries the v2 columns NumSkipConnections, NumPartialRFLayers
    mismatches = [
        (row["ModelId"], column)
        for row in v2.to_dict("records")
        for column, value in architecture_statistics(row["scheme"]).items()
        if column in SCHEME_STATISTICS and value != row[column]
    ]
    assert mismatches == []


def test_statistics_of_a_layer_graph():
    from naapgnn.arch.profiling import architecture_statistics

    arch = load_architecture(REPO / "graphs" / "resnet_like.json")
    stats = architecture_statistics(arch)
    assert {k: stats[k] for k in ("NumLayers", "NumStages", "FirstLayerWidth", "LastLayerWidth", "MaxLayerWidth",
                                  "NumSkipConnections", "NumPartialRFLayers", "NumBlocks", "Depth", "FinalSize")} == {
        "NumLayers": 7, "NumStages": 4, "FirstLayerWidth": 16, "LastLayerWidth": 64, "MaxLayerWidth": 64,
        "NumSkipConnections": 0, "NumPartialRFLayers": 1, "NumBlocks": 8, "Depth": 7, "FinalSize": 4,
    }
    assert stats["ClassifierParams"] == 64 * 10 + 10
    assert (stats["NumParams"], stats["NumMACs"]) == profile(arch)


def test_receptive_fields_grow_by_kernel_times_jump():
    from naapgnn.arch.profiling import architecture_statistics, receptive_fields

    scheme = [
        {"kernel_size": 3, "width": 16, "stride": 2, "residual": False},   # 1 + 2*1 = 3, jump 2
        {"kernel_size": 3, "width": 16, "stride": 1, "residual": True},    # 3 + 2*2 = 7
        {"kernel_size": 1, "width": 24, "stride": 2, "residual": False},   # 7 + 0 = 7, jump 4
    ]
    # then global pooling over the 8x8 map: 7 + 7*4 = 35; the linear layer adds nothing
    assert receptive_fields(scheme) == [3.0, 7.0, 7.0, 35.0, 35.0]
    stats = architecture_statistics(scheme)
    assert stats["FinalReceptiveField"] == 7.0 and stats["FinalSize"] == 8
    assert (stats["NumSkipConnections"], stats["NumPartialRFLayers"], stats["NumStages"]) == (1, 1, 2)


def test_receptive_field_of_a_join_takes_the_widest_input():
    from naapgnn.arch.profiling import receptive_fields

    arch = {"input_shape": [3, 16, 16], "num_classes": 10, "layers": [
        {"op": "conv", "out_channels": 8, "kernel_size": 5},                    # 5
        {"op": "conv", "out_channels": 8, "kernel_size": 1, "inputs": [-1]},    # 1
        {"op": "add", "inputs": [0, 1]},                                        # 5
        {"op": "maxpool", "kernel_size": 2},                                    # 6, jump 2
    ]}
    assert receptive_fields(arch)[:4] == [5.0, 1.0, 5.0, 6.0]


def test_new_ops_and_dead_branches_count_like_the_built_module():
    from test_builder import NEW_OPS

    model = build_model(NEW_OPS)
    assert profile(NEW_OPS)[0] == sum(p.numel() for p in model.parameters())
    costs = layer_costs(NEW_OPS)
    assert costs[1].params == 4 * 4 * 9 + 2 * 4 and costs[1].macs == 4 * 64 * 36 + 4 * 4 * 64  # BN on the input
    assert costs[2].params == 4 * 6 + 2 * 6  # the dead branch counts
    assert costs[6].params == 10 * 9 and costs[7] == (20, 4 * 10 * 64)
    assert costs[3] == costs[4] == costs[5] == (0, 0)

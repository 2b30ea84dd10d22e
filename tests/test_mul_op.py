"""The ``mul`` join: elementwise products, a feature map times per-channel gates (squeeze-and-excitation)."""
import json
import math

import pytest
import torch

from naapgnn.arch.builder import build_model
from naapgnn.arch.format import parse_architecture
from naapgnn.arch.profiling import architecture_statistics, layer_costs, profile
from naapgnn.cli import main
from naapgnn.errors import NaapgnnError
from naapgnn.graph.encoding import NODE_FEATURES, encode
from naapgnn.graph.rows import TYPE_INDEX


def conv(out_channels, **kw):
    return {"op": "conv", "out_channels": out_channels, "kernel_size": 3, **kw}


def se_block(i, channels, squeeze):
    """A squeeze-and-excitation block gating layer ``i`` (``channels`` wide); the mul is layer ``i + 4``."""
    return [{"op": "gap", "inputs": [i]}, {"op": "linear", "out_features": squeeze, "activation": "relu"},
            {"op": "linear", "out_features": channels, "activation": "sigmoid"},
            {"op": "mul", "inputs": [i, i + 3]}]


# An SE-ResNet-like network: stem, a residual block whose second conv's output is gated, the shortcut add,
# then more convs (the network goes on after the mul) and the appended classifier.
SE_RESNET = {"input_shape": [3, 16, 16], "num_classes": 10, "layers": [
    conv(32),                                                        # 0: stem
    conv(32),                                                        # 1
    conv(32, activation="none"),                                     # 2: gated below
    *se_block(2, 32, 8),                                             # 3-6: gap, linear, linear, mul
    {"op": "add", "inputs": [0, 6], "activation": "relu"},           # 7: shortcut
    conv(64, stride=2),                                              # 8
    conv(64),                                                        # 9
]}


def graph(*layers):
    return {"input_shape": [3, 16, 16], "num_classes": 10, "layers": list(layers)}


def test_se_resnet_parses_builds_and_runs_with_the_inferred_shapes():
    arch = parse_architecture(SE_RESNET)
    mul = arch.layers[6]
    assert (mul.op, mul.inputs, mul.out_shape, mul.attrs) == ("mul", (2, 5), (32, 16, 16), {"activation": "none"})
    assert arch.layers[5].out_shape == (32,) and arch.layers[3].out_shape == (32,)
    assert [layer.op for layer in arch.layers[-2:]] == ["gap", "linear"]
    model = build_model(arch).eval()
    captured = {}
    model.ops[6].register_forward_hook(lambda m, i, out: captured.setdefault("mul", out))
    with torch.no_grad():
        logits = model(torch.randn(4, *arch.input_shape))
    assert logits.shape == (4, 10)
    assert captured["mul"].shape == (4, *mul.out_shape)


def test_mul_multiplies_the_map_by_its_gates_and_applies_its_activation():
    arch = parse_architecture(graph(conv(4), {"op": "gap"}, {"op": "linear", "out_features": 4},
                                    {"op": "mul", "inputs": [0, 2], "activation": "relu"}))
    model = build_model(arch).eval()
    outputs = {}
    for i in range(4):
        model.ops[i].register_forward_hook(lambda m, inp, out, i=i: outputs.setdefault(i, out))
    with torch.no_grad():
        model(torch.randn(2, 3, 16, 16))
    expected = torch.relu(outputs[0] * outputs[2][:, :, None, None])
    torch.testing.assert_close(outputs[3], expected)
    assert (outputs[3] >= 0).all() and not torch.equal(outputs[3], outputs[0])


def test_params_match_the_torch_model_and_macs_count_one_multiply_per_output_element():
    arch = parse_architecture(SE_RESNET)
    params, macs = profile(arch)
    assert params == sum(p.numel() for p in build_model(arch).parameters())
    costs = layer_costs(arch)
    assert costs[6] == (0, 32 * 16 * 16)
    assert macs == sum(c.macs for c in costs) and costs[6].macs > 0
    # the gate's linear layers are not the classifier's
    assert architecture_statistics(arch)["ClassifierParams"] == 64 * 10 + 10


def test_gates_of_shape_c11_and_maps_of_one_shape_multiply_too():
    arch = parse_architecture(graph(conv(4), {"op": "avgpool", "kernel_size": 16}, {"op": "mul", "inputs": [0, 1]},
                                    conv(4), {"op": "mul", "inputs": [2, 3, 3]}))
    assert arch.layers[1].out_shape == (4, 1, 1)
    assert arch.layers[2].out_shape == arch.layers[4].out_shape == (4, 16, 16)
    model = build_model(arch).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    assert profile(arch)[0] == sum(p.numel() for p in model.parameters())


def test_encoded_graph_has_a_mul_node_reading_both_inputs():
    arch = parse_architecture(SE_RESNET)
    data = encode(arch)
    mul_nodes = (data.node_type == TYPE_INDEX["mul"]).nonzero().flatten().tolist()
    assert mul_nodes == [7]  # node k + 1 is layer k (no residual conv)
    assert data.x[7, NODE_FEATURES.index("is_mul")] == 1
    sources = sorted(data.edge_index[0, data.edge_index[1] == 7].tolist())
    assert sources == [3, 6]  # layer 2 (the conv) and layer 5 (the gates)
    assert int(data.num_macs) == profile(arch)[1]
    assert torch.equal(encode(arch, fold=True).x[:, :len(TYPE_INDEX)].sum(0), data.x[:, :len(TYPE_INDEX)].sum(0))


def test_layer_dicts_round_trip():
    arch = parse_architecture(SE_RESNET)
    layers = [layer.to_dict() for layer in arch.layers]
    assert layers[6] == {"op": "mul", "activation": "none", "inputs": [2, 5]}
    again = parse_architecture({"input_shape": [3, 16, 16], "num_classes": 10, "layers": layers})
    assert again == arch
    assert parse_architecture(json.loads(json.dumps(arch.to_dict()))) == arch


BAD = [
    (graph(conv(4), {"op": "mul", "inputs": [0]}), r"^layer 1: mul needs at least two inputs"),
    (graph(conv(4), {"op": "mul"}), r"^layer 1: mul needs 'inputs'"),
    (graph(conv(4), {"op": "gap"}, {"op": "linear", "out_features": 8}, {"op": "mul", "inputs": [0, 2]}),
     r"^layer 3: mul of mismatched shapes 4x16x16 and 8 \(expected equal shapes or per-channel gates 4 or 4x1x1\)$"),
    (graph(conv(4), conv(4, stride=2), {"op": "mul", "inputs": [0, 1]}),
     r"^layer 2: mul of mismatched shapes 4x16x16 and 4x8x8 "),
    (graph(conv(4), conv(8), {"op": "mul", "inputs": [0, 1]}), r"^layer 2: mul of mismatched shapes 4x16x16 and 8x16x16 "),
    (graph({"op": "gap"}, {"op": "linear", "out_features": 4}, {"op": "mul", "inputs": [0, 1]}),
     r"^layer 2: mul of mismatched shapes 3 and 4 \(expected equal shapes\)$"),
    (graph(conv(4), {"op": "mul", "inputs": [0, 0], "activation": "swish"}), r"^layer 1: unknown activation 'swish'"),
]


@pytest.mark.parametrize("arch, match", BAD)
def test_bad_mul_is_a_one_line_error_naming_the_layer(arch, match):
    with pytest.raises(NaapgnnError, match=match) as info:
        parse_architecture(arch)
    assert "\n" not in str(info.value)


def test_cli_encode_accepts_an_se_architecture(tmp_path, capsys):
    path = tmp_path / "se_resnet.json"
    path.write_text(json.dumps(SE_RESNET))
    assert main(["encode", str(path), "--json", "-o", str(tmp_path / "g.pt")]) == 0
    summary = json.loads(capsys.readouterr().out)
    params, macs = profile(SE_RESNET)
    assert summary == {"nodes": 13, "edges": 14, "params": params, "macs": macs}
    saved = torch.load(tmp_path / "g.pt", weights_only=False)
    assert int((saved.node_type == TYPE_INDEX["mul"]).sum()) == 1
    assert math.prod(saved.x.shape) > 0


def _se_records(n: int, gated: bool):
    """``n`` records of small networks, every other one with an SE block when ``gated``; the target grows with
    the width and, for a gated network, with its gate."""
    from naapgnn.data.records import record_from_dict

    out = []
    for i in range(n):
        width = 8 + 4 * (i % 6)
        layers = [conv(width), conv(width, stride=2)]
        has_se = gated and i % 2 == 0
        if has_se:
            layers += se_block(1, width, 4)
        target = 0.4 + 0.01 * width + (0.05 if has_se else 0.0)
        arch = {"input_shape": [3, 16, 16], "num_classes": 10, "layers": layers}
        out.append(record_from_dict({"id": f"n{i}", "arch": arch, "target": target}))
    return out


TINY_GNN = dict(hidden=8, layers=2, max_epochs=5, patience=5, n_ensemble=2, forest_trees=10, choose_blend=False)


def test_a_model_reads_the_mul_columns_only_when_its_training_graphs_have_mul_nodes(tmp_path):
    from naapgnn.graph.statistics import GRAPH_STATISTICS
    from naapgnn.models.gnn import GNNPredictor

    plain = GNNPredictor(**TINY_GNN).fit(_se_records(24, gated=False))
    gated = GNNPredictor(**TINY_GNN).fit(_se_records(24, gated=True))
    assert plain.extension_types_ == () and gated.extension_types_ == ("mul",)
    # neither has a repeated block, so log2_repeats is not read; the plain model leaves is_mul out as well
    assert (plain.node_dim_, gated.node_dim_) == (len(NODE_FEATURES) - 2, len(NODE_FEATURES) - 1)
    assert plain.forest_.n_features_in_ == len(GRAPH_STATISTICS) - 1
    assert gated.forest_.n_features_in_ == len(GRAPH_STATISTICS)
    loaded = GNNPredictor.load(gated.save(tmp_path / "gated"))
    assert loaded.extension_types_ == ("mul",)
    records = _se_records(24, gated=True)
    assert (loaded.predict(records) == gated.predict(records)).all()


def test_a_model_trained_without_mul_nodes_flags_an_se_network():
    from naapgnn.models.gnn import GNNPredictor

    plain = GNNPredictor(**TINY_GNN).fit(_se_records(24, gated=False))
    in_domain, reasons = plain.domain_report([SE_RESNET, _se_records(1, gated=False)[0].arch])
    assert not in_domain[0] and "is_mul" in reasons[0], reasons[0]

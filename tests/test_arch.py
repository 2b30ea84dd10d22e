import json
import subprocess
import sys

import pytest

from naapgnn.arch.format import load_architecture, parse_architecture
from naapgnn.errors import NaapgnnError

from conftest import REPO

SCHEME = [
    {"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
    {"kernel_size": 3, "width": 16, "stride": 1, "residual": True},
    {"kernel_size": 1, "width": 32, "stride": 2, "residual": False},
]


def graph(*layers, **top):
    return {"input_shape": [3, 32, 32], "num_classes": 10, "layers": list(layers), **top}


def conv(c, k=3, **kw):
    return {"op": "conv", "out_channels": c, "kernel_size": k, **kw}


def test_scheme_normalises_to_conv_blocks_gap_and_classifier():
    arch = parse_architecture(SCHEME)
    assert [layer.op for layer in arch.layers] == ["conv", "conv", "conv", "gap", "linear"]
    assert [layer.out_shape for layer in arch.layers] == [(16, 16, 16), (16, 16, 16), (32, 8, 8), (32,), (10,)]
    assert arch.layers[1].attrs["residual"] is True
    assert arch.layers[0].attrs["padding"] == 1 and arch.layers[2].attrs["padding"] == 0
    assert arch.scheme == SCHEME


def test_round_trip_through_layer_graph_form():
    for obj in (SCHEME, load_architecture(REPO / "graphs/resnet_like.json").to_dict()):
        arch = parse_architecture(obj)
        again = parse_architecture(json.loads(json.dumps(arch.to_dict())))
        assert again == arch


def test_classifier_appended_only_when_missing():
    arch = parse_architecture(graph(conv(8), {"op": "gap"}, {"op": "linear", "out_features": 10}))
    assert [layer.op for layer in arch.layers] == ["conv", "gap", "linear"]
    arch = parse_architecture(graph(conv(8), {"op": "maxpool", "kernel_size": 2}))
    assert [layer.op for layer in arch.layers] == ["conv", "maxpool", "gap", "linear"]
    assert arch.layers[-1].out_shape == (10,)
    arch = parse_architecture(graph(conv(8), {"op": "linear", "out_features": 64}))
    assert arch.layers[-2].in_shape == (8, 32, 32) and arch.layers[-1].in_shape == (64,)


def test_skip_connections_and_pool_defaults():
    arch = load_architecture(REPO / "graphs/resnet_like.json")
    assert arch.layers[3].inputs == (0, 2)
    assert arch.layers[6].inputs == (3,)
    pool = parse_architecture(graph(conv(4), {"op": "maxpool", "kernel_size": 2})).layers[1]
    assert pool.attrs["stride"] == 2 and pool.out_shape == (4, 16, 16)


def test_an_integer_written_as_a_float_reads_as_that_integer():
    as_floats = graph({"op": "conv", "out_channels": 8.0, "kernel_size": 3.0})
    assert parse_architecture(as_floats) == parse_architecture(graph({"op": "conv", "out_channels": 8, "kernel_size": 3}))


def test_numpy_numbers_read_as_python_ones_whatever_their_width():
    import numpy as np

    written = graph({"op": "conv", "out_channels": 8, "kernel_size": 3}, {"op": "dropout", "p": 0.5})
    for number in (np.float32, np.float16, np.float64):
        given = graph({"op": "conv", "out_channels": number(8.0), "kernel_size": np.int32(3)},
                      {"op": "dropout", "p": number(0.5)})
        assert parse_architecture(given) == parse_architecture(written)
    with pytest.raises(NaapgnnError, match=r"^layer 0: out_channels must be a positive integer, got np.float32\(8.5\)$"):
        parse_architecture(graph({"op": "conv", "out_channels": np.float32(8.5), "kernel_size": 3}))


def test_json_string_input():
    assert parse_architecture(json.dumps(SCHEME)) == parse_architecture(SCHEME)


BAD = [
    (graph({"op": "conv3d", "out_channels": 4, "kernel_size": 3}), "layer 0: unknown op 'conv3d'"),
    (graph({"op": "conv", "kernel_size": 3}), "layer 0: conv: missing field 'out_channels'"),
    (graph(conv(0)), "layer 0: out_channels must be a positive integer, got 0"),
    (graph(conv(4, k=-3)), "layer 0: kernel_size must be a positive integer, got -3"),
    (graph(conv(4.5)), "layer 0: out_channels must be a positive integer, got 4.5"),
    (graph(conv(4), conv(4, inputs=[2]), conv(4)),
     "layer 1: input index 2 points forward (layer 1 may read layer 0 or -1, the network input: a layer reads earlier "
     "layers only, so the graph has no cycle)"),
    (graph(conv(4), conv(4, inputs=[99])), "layer 1: input index 99 points forward (layer 1 may read layer 0 or -1"),
    (graph(conv(4), conv(4), conv(4, inputs=[5])), "layer 2: input index 5 points forward (layer 2 may read layers "
                                                   "0-1 or -1"),
    (graph(conv(4, inputs=[3]), conv(4)), "layer 0: input index 3 points forward (layer 0 may read -1, the network"),
    (graph(conv(4), conv(4, inputs=[1])), "layer 1: cycle"),
    (graph(conv(4, stride=2), conv(4, stride=2), conv(4, stride=2), conv(4, stride=2), conv(4, stride=2),
           {"op": "maxpool", "kernel_size": 2}), "layer 5: maxpool with kernel 2, stride 2, padding 0 shrinks the 1x1"),
    (graph(conv(4), conv(8), {"op": "add", "inputs": [0, 1]}), "layer 2: add of mismatched shapes 4x32x32 and 8x32x32"),
    (graph(conv(4), conv(8, residual=True)), "layer 1: residual needs equal input and output shapes"),
    (graph(), "empty network"),
    ([], "empty network"),
    ("[{\"kernel_size\": 3,", "invalid JSON at line 1"),
    ("resnet", "expected a scheme list or a layer-graph object, got a string"),
    ("", "expected a scheme list or a layer-graph object, got a string"),
    ("archs/tiny.json", "got a string (a file's path? read it with naapgnn.load_architecture)"),
    (graph(conv(4), {"op": "add"}), "layer 1: add needs 'inputs'"),
    (graph(conv(4), {"op": "dropout", "p": 1.5}), "layer 1: dropout p must be a number in [0, 1)"),
    (graph(conv(4, activation="swish")), "layer 0: unknown activation 'swish'"),
    (graph(conv(4, order="relu-conv")), "layer 0: conv order must be one of conv-bn-act, act-conv-bn, bn-act-conv, "
                                        "got 'relu-conv'"),
    (graph({"op": ["conv"]}), "layer 0: unknown op ['conv']"),
    (graph(conv(4, bias="yes")), "layer 0: bias must be true or false, got 'yes'"),
    (graph({"op": "avgpool", "kernel_size": 3, "count_include_pad": 0}), "layer 0: count_include_pad must be true"),
    (graph(conv(4), {"op": "concat", "inputs": [0]}), "layer 1: concat needs at least two inputs"),
    (graph(conv(4), {"op": "concat"}), "layer 1: concat needs 'inputs'"),
    (graph(conv(4), conv(4, stride=2), {"op": "concat", "inputs": [0, 1]}),
     "layer 2: concat needs feature maps of one spatial size, got 4x32x32 and 4x16x16"),
    (graph({"op": "gap"}, {"op": "gap", "inputs": -1}, {"op": "concat", "inputs": [0, 1]}),
     "layer 2: concat needs feature map (C, H, W) inputs, got a vector of size 3"),
    (graph(conv(4), {"op": "zero", "shape": [4, 32, 32], "inputs": [0]}), "layer 1: zero takes no inputs"),
    (graph({"op": "zero", "shape": [4, 0, 32]}), "layer 0: zero shape must be a positive integer, got 0"),
    (graph({"op": "zero", "shape": [4, 32]}), "layer 0: zero shape must be [channels, height, width]"),
    (graph({"op": "zero"}), "layer 0: zero: missing field 'shape'"),
    (graph({"op": "gap"}, {"op": "batchnorm"}), "layer 1: batchnorm needs a feature map"),
    (graph({"op": "batchnorm", "activation": "swish"}), "layer 0: unknown activation 'swish'"),
    (graph(conv(4, colour="red")), "layer 0: conv: unknown field 'colour'"),
    (graph(conv(4, colour="red", size=3)), "layer 0: conv: unknown fields 'colour', 'size'"),
    (graph({"op": "gap"}, {"op": "maxpool", "kernel_size": 2}), "layer 1: maxpool needs a feature map"),
    ([{"kernel_size": 3, "width": 8, "stride": 1}], "block 0: missing field 'residual'"),
    ([{"kernel_size": 3, "width": "8", "stride": 1, "residual": False}], "block 0: width must be a positive integer"),
    ([{"kernel_size": 3, "width": 8, "stride": 1, "residual": True}], "block 0: residual needs equal input and output shapes"),
    (42, "expected a scheme"),
]


@pytest.mark.parametrize("obj,message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_architectures_fail_with_one_line_naming_the_place(obj, message):
    with pytest.raises(NaapgnnError) as info:
        parse_architecture(obj)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_source_is_prefixed(tmp_path):
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(graph(conv(4), {"op": "pool"})))
    with pytest.raises(NaapgnnError, match=r"arch\.json: layer 1: unknown op 'pool'"):
        load_architecture(path)


def test_a_file_of_many_architectures_is_named_as_such(tmp_path):
    scheme = [{"kernel_size": 3, "width": 12, "stride": 2, "residual": False}]
    for name, text, words in (
            ("schemes.json", json.dumps([scheme, scheme]), "a list of 2 architectures; this reads one"),
            ("graphs.json", json.dumps([graph(conv(4))] * 3), "a list of 3 architectures; this reads one"),
            ("bench.jsonl", json.dumps({"id": "a", "arch": scheme}), "a JSON Lines benchmark; this reads one")):
        (tmp_path / name).write_text(text)
        with pytest.raises(NaapgnnError, match=f"^{tmp_path / name}: {words} architecture"):
            load_architecture(tmp_path / name)
    assert load_architecture(REPO / "graphs/vgg_like.json").num_classes == 10  # one architecture still reads


def test_cli_prints_one_line_without_traceback(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(graph(conv(4), conv(8), {"op": "add", "inputs": [0, 1]})))
    proc = subprocess.run([sys.executable, "-m", "naapgnn", "encode", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "layer 2: add of mismatched shapes" in lines[0]


# --- the ops NAS-Bench-201 and DenseNet-style nets need -------------------------------------------


def test_new_conv_fields_default_and_round_trip_without_changing_old_dicts():
    plain = parse_architecture(graph(conv(4)))
    assert plain.layers[0].attrs["order"] == "conv-bn-act" and plain.layers[0].attrs["bias"] is False
    assert plain.to_dict()["layers"][0] == {"op": "conv", "out_channels": 4, "kernel_size": 3, "stride": 1,
                                            "padding": 1, "groups": 1, "batchnorm": True, "activation": "relu",
                                            "residual": False}
    pre = parse_architecture(graph(conv(4, order="act-conv-bn", batchnorm=False, bias=False),
                                   {"op": "avgpool", "kernel_size": 3, "stride": 1, "padding": 1,
                                    "count_include_pad": False}))
    layer_dict = pre.to_dict()["layers"]
    assert layer_dict[0]["order"] == "act-conv-bn" and layer_dict[0]["bias"] is False
    assert layer_dict[1]["count_include_pad"] is False
    assert parse_architecture(json.loads(json.dumps(pre.to_dict()))) == pre


def test_identity_edges_dead_branches_concat_and_zero():
    arch = parse_architecture(graph(
        conv(4),                                            # 0
        conv(8, inputs=[0]),                                # 1: dead branch, nothing reads it
        {"op": "add", "inputs": [0, 0]},                    # 2: layer 0 summed twice
        {"op": "zero", "shape": [4, 32, 32]},               # 3: cut off from the input
        {"op": "concat", "inputs": [2, 3, -1]},             # 4: 4 + 4 + 3 channels
        {"op": "batchnorm", "activation": "relu"},          # 5
    ))
    assert arch.layers[1].out_shape == (8, 32, 32)
    assert arch.layers[2].inputs == (0, 0)
    assert arch.layers[3].inputs == () and arch.layers[3].in_shape == (4, 32, 32)
    assert arch.layers[4].out_shape == (11, 32, 32) and arch.layers[5].out_shape == (11, 32, 32)
    assert [layer.op for layer in arch.layers[6:]] == ["gap", "linear"]
    assert parse_architecture(json.loads(json.dumps(arch.to_dict()))) == arch


def test_a_file_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "arch.json"
    path.write_bytes(b'{"layers": [\xff]}')
    with pytest.raises(NaapgnnError, match=r"arch\.json: cannot read: not UTF-8 text \(byte 12: invalid start byte\)$"):
        load_architecture(path)


def test_a_layer_field_given_twice_is_refused(tmp_path):
    path = tmp_path / "arch.json"
    path.write_text('{"input_shape": [3, 32, 32], "num_classes": 10, "layers": [{"op": "conv", "out_channels": 8, '
                    '"kernel_size": 3, "kernel_size": 5}, {"op": "gap"}, {"op": "linear", "out_features": 10}]}')
    with pytest.raises(NaapgnnError, match=r"arch\.json: duplicate key 'kernel_size' in one JSON object$"):
        load_architecture(path)

import pytest
import torch
from torch import nn

from naapgnn.arch.format import load_architecture
from naapgnn.arch.builder import build_model

from conftest import REPO


@pytest.mark.parametrize("name", ["naap440_scheme.json", "vgg_like.json", "resnet_like.json"])
def test_forward_shape_and_backward(name):
    arch = load_architecture(REPO / "graphs" / name)
    model = build_model(arch)
    out = model(torch.randn(4, *arch.input_shape))
    assert out.shape == (4, arch.num_classes)
    out.sum().backward()


def test_naap_scheme_block_structure_and_init():
    torch.manual_seed(0)
    scheme = [
        {"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
        {"kernel_size": 3, "width": 16, "stride": 1, "residual": True},
        {"kernel_size": 1, "width": 24, "stride": 1, "residual": False},
    ]
    model = build_model(scheme)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.bias for c in convs] == [None, None, None]
    assert [c.padding for c in convs] == [(1, 1), (1, 1), (0, 0)]
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.all(b.weight == 1) and torch.all(b.bias == 0) for b in bns)
    linear = [m for m in model.modules() if isinstance(m, nn.Linear)][0]
    assert linear.in_features == 24 and linear.out_features == 10
    assert torch.all(linear.bias == 0) and 0.005 < linear.weight.std() < 0.02
    # Kaiming normal, fan-out: std = sqrt(2 / (out_channels * k * k)).
    assert convs[1].weight.std().item() == pytest.approx((2 / (16 * 9)) ** 0.5, rel=0.15)


def test_residual_adds_block_input_after_activation():
    scheme = [
        {"kernel_size": 3, "width": 8, "stride": 1, "residual": False},
        {"kernel_size": 3, "width": 8, "stride": 1, "residual": True},
    ]
    model = build_model(scheme).eval()
    x = torch.randn(2, 3, 32, 32)
    h0 = model.ops[0](x)
    h1 = model.ops[1](h0) + h0
    expected = model.ops[3](model.ops[2](h1))
    assert torch.allclose(model(x), expected)
    without_skip = model.ops[3](model.ops[2](model.ops[1](h0)))
    assert not torch.allclose(model(x), without_skip)


NEW_OPS = {
    "input_shape": [3, 8, 8], "num_classes": 5,
    "layers": [
        {"op": "conv", "out_channels": 4, "kernel_size": 3, "order": "act-conv-bn"},             # 0
        {"op": "conv", "out_channels": 4, "kernel_size": 3, "order": "bn-act-conv", "inputs": [0]},  # 1
        {"op": "conv", "out_channels": 6, "kernel_size": 1, "inputs": [0]},                       # 2: dead branch
        {"op": "add", "inputs": [1, 1]},                                                         # 3: 1 twice
        {"op": "zero", "shape": [2, 8, 8]},                                                     # 4
        {"op": "concat", "inputs": [3, 4, 0]},                                                  # 5: 4 + 2 + 4
        {"op": "conv", "out_channels": 10, "kernel_size": 3, "groups": 10, "batchnorm": False, "bias": False},  # 6
        {"op": "batchnorm", "activation": "relu"},                                              # 7
        {"op": "avgpool", "kernel_size": 3, "stride": 1, "padding": 1, "count_include_pad": False},  # 8
    ],
}


def test_new_ops_build_in_order_and_compute_what_they_say():
    model = build_model(NEW_OPS).eval()
    kinds = lambda i: [type(m).__name__ for m in model.ops[i]]  # noqa: E731
    assert kinds(0) == ["ReLU", "Conv2d", "BatchNorm2d"]
    assert kinds(1) == ["BatchNorm2d", "ReLU", "Conv2d"] and model.ops[1][0].num_features == 4
    assert model.ops[6][0].bias is None and model.ops[6][0].groups == 10 and kinds(6) == ["Conv2d", "ReLU"]
    assert model.ops[8].count_include_pad is False
    seen = {}
    for i in (1, 2, 3, 5):
        model.ops[i].register_forward_hook(lambda m, inp, out, i=i: seen.__setitem__(i, (inp[0], out)))
    out = model(torch.randn(3, 3, 8, 8))
    assert out.shape == (3, 5)
    assert 2 in seen  # the dead branch runs
    assert torch.equal(seen[3][0], 2 * seen[1][1])  # the add summed its one input twice
    concat_in = seen[5][0]
    assert concat_in.shape == (3, 10, 8, 8) and torch.count_nonzero(concat_in[:, 4:6]) == 0


DILATED = {"input_shape": [3, 32, 32], "num_classes": 10, "layers": [
    {"op": "conv", "out_channels": 16, "kernel_size": 3},
    {"op": "conv", "out_channels": 16, "kernel_size": 3, "dilation": 2, "groups": 16, "activation": "hardswish"},
    {"op": "conv", "out_channels": 32, "kernel_size": 5, "dilation": 2, "stride": 2, "activation": "mish"},
    {"op": "conv", "out_channels": 32, "kernel_size": 3, "dilation": 3, "padding": 0, "activation": "hardsigmoid"},
]}


def test_a_dilated_conv_reads_a_wider_window_with_the_same_weights():
    from naapgnn.arch.format import parse_architecture
    from naapgnn.arch.profiling import layer_costs, receptive_fields

    arch = parse_architecture(DILATED)
    model = build_model(arch)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.dilation for c in convs] == [(1, 1), (2, 2), (2, 2), (3, 3)]
    assert [c.padding for c in convs] == [(1, 1), (2, 2), (4, 4), (0, 0)]  # the default keeps the size at stride 1
    shapes = []
    hooks = [c.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:]))) for c in convs]
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    for h in hooks:
        h.remove()
    assert shapes == [layer.out_shape for layer in arch.layers[:4]] == [(16, 32, 32), (16, 32, 32), (32, 16, 16),
                                                                        (32, 10, 10)]
    assert sum(c.params for c in layer_costs(arch)) == sum(p.numel() for p in model.parameters())
    plain = parse_architecture({**DILATED, "layers": [{k: v for k, v in layer.items() if k != "dilation"}
                                                      for layer in DILATED["layers"]]})
    assert receptive_fields(arch)[1] == 7 and receptive_fields(plain)[1] == 5  # 3 + (5 - 1) against 3 + 2
    assert arch.to_dict()["layers"][1]["dilation"] == 2 and "dilation" not in arch.to_dict()["layers"][0]
    assert parse_architecture(arch.to_dict()) == arch


@pytest.mark.parametrize("layer, message", [
    ({"op": "conv", "out_channels": 8, "kernel_size": 3, "dilation": 0}, "layer 0: dilation must be a positive integer, got 0"),
    ({"op": "conv", "out_channels": 8, "kernel_size": 3, "dilation": 20, "padding": 0},
     "layer 0: conv with kernel 3 (dilation 20: a 41x41 window), stride 1, padding 0 shrinks the 32x32 input below 1x1"),
    ({"op": "conv", "out_channels": 8, "kernel_size": 3, "activation": "swish"},
     "layer 0: unknown activation 'swish' (expected one of relu, relu6, leaky_relu, gelu, silu, tanh, sigmoid, "
     "hardswish, hardsigmoid, mish, none)"),
])
def test_bad_dilations_and_activations_are_named(layer, message):
    from naapgnn.arch.format import parse_architecture
    from naapgnn.errors import NaapgnnError

    with pytest.raises(NaapgnnError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_architecture({"layers": [layer]})

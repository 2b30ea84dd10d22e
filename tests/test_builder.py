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

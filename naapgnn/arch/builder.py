"""The model builder: a PyTorch module for any valid architecture."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from naapgnn.arch.format import NETWORK_INPUT, Architecture, Layer, parse_architecture

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid,
    "mish": nn.Mish,
}


class ArchitectureNet(nn.Module):
    """Runs the layers of an :class:`~naapgnn.arch.format.Architecture` in order.

    ``ops[i]`` is the module of layer ``i``: a conv block is Conv2d,
    BatchNorm2d and activation in the layer's ``order``, then the residual add;
    an add layer sums its inputs (an input listed twice counts twice), a concat
    layer concatenates them along the channels, a mul layer multiplies them
    elementwise (per-channel gates of shape ``[N, C]`` broadcast over the
    feature map's height and width), each then applies its activation; a zero
    layer yields zeros of its shape. Every layer runs, dead branches included;
    outputs that a later layer still needs are kept until their last use. The
    last layer's output is returned.
    """

    def __init__(self, arch: Architecture):
        super().__init__()
        self.arch = arch
        self.ops = nn.ModuleList(_make_op(layer) for layer in arch.layers)
        self._inputs = [layer.inputs for layer in arch.layers]
        self._kind = [_kind(layer) for layer in arch.layers]
        self._zero_shape = [tuple(layer.out_shape) for layer in arch.layers]
        self._gate_inputs = [_gate_inputs(arch, layer) for layer in arch.layers]
        last_use = _last_use(arch)
        self._free = [sorted({j for j in layer.inputs if last_use[j] == layer.index}) +
                      ([layer.index] if layer.index not in last_use and layer.index != len(arch.layers) - 1 else [])
                      for layer in arch.layers]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = {NETWORK_INPUT: x}
        for i, op in enumerate(self.ops):
            sources, kind = self._inputs[i], self._kind[i]
            if kind == "add":
                y = outputs[sources[0]]
                for j in sources[1:]:
                    y = y + outputs[j]
                y = op(y)
            elif kind == "concat":
                y = op(torch.cat([outputs[j] for j in sources], dim=1))
            elif kind == "mul":
                y = op(_product([outputs[j] for j in sources], self._gate_inputs[i]))
            elif kind == "zero":
                y = x.new_zeros((x.shape[0], *self._zero_shape[i]))
            else:
                y = op(outputs[sources[0]])
                if kind == "residual":
                    y = y + outputs[sources[0]]
            outputs[i] = y
            for j in self._free[i]:
                del outputs[j]
        return outputs[len(self.ops) - 1]


def _kind(layer: Layer) -> str:
    if layer.op == "conv" and layer.attrs["residual"]:
        return "residual"
    return layer.op if layer.op in ("add", "concat", "mul", "zero") else "plain"


def _gate_inputs(arch: Architecture, layer: Layer) -> tuple[bool, ...]:
    """For a mul layer with a feature-map output, which inputs are ``[C]`` gates (viewed as ``[N, C, 1, 1]``)."""
    if layer.op != "mul" or len(layer.out_shape) != 3:
        return ()
    return tuple(len(arch.shape_of(j)) == 1 for j in layer.inputs)


def _product(tensors: list[torch.Tensor], gates: tuple[bool, ...]) -> torch.Tensor:
    """The elementwise product of ``tensors``, those flagged in ``gates`` viewed as ``[N, C, 1, 1]``."""
    y = None
    for k, t in enumerate(tensors):
        if gates and gates[k]:
            t = t.reshape(*t.shape, 1, 1)
        y = t if y is None else y * t
    return y


def build_model(arch: Any, init: str = "naap") -> ArchitectureNet:
    """Build a ``torch.nn.Module`` for an architecture.

    Parameters
    ----------
    arch : Architecture, scheme list or layer-graph dict
    init : {"naap", "default"}
        ``"naap"`` applies the NAAP-440 recipe's initialisation: Kaiming-normal
        (fan-out) conv weights, batch-norm weight 1 and bias 0, linear weights
        N(0, 0.01) and bias 0. ``"default"`` keeps PyTorch's defaults.

    Returns
    -------
    ArchitectureNet
        Takes NCHW float input of ``arch.input_shape`` and returns logits of
        shape ``[N, num_classes]``.
    """
    arch = parse_architecture(arch)
    model = ArchitectureNet(arch)
    if init == "naap":
        naap_init_(model)
    elif init != "default":
        raise ValueError(f"unknown init {init!r}: expected 'naap' or 'default'")
    return model


def naap_init_(model: nn.Module) -> None:
    """Initialise ``model`` in place as the NAAP-440 recipe does."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


def _make_op(layer: Layer) -> nn.Module:
    a = layer.attrs
    if layer.op == "conv":
        return _conv_block(layer)
    if layer.op == "maxpool":
        return nn.MaxPool2d(a["kernel_size"], a["stride"], a["padding"])
    if layer.op == "avgpool":
        return nn.AvgPool2d(a["kernel_size"], a["stride"], a["padding"], count_include_pad=a["count_include_pad"])
    if layer.op == "dropout":
        return nn.Dropout(a["p"])
    if layer.op == "gap":
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
    if layer.op == "linear":
        linear = nn.Linear(_flat(layer.in_shape), a["out_features"])
        parts = ([nn.Flatten(1)] if len(layer.in_shape) > 1 else []) + [linear] + _activation(a["activation"])
        return nn.Sequential(*parts) if len(parts) > 1 else linear
    if layer.op == "batchnorm":
        return nn.Sequential(nn.BatchNorm2d(layer.in_shape[0]), *_activation(a["activation"]))
    if layer.op in ("concat", "zero"):
        return nn.Identity()
    if layer.op in ("add", "mul"):
        return nn.Sequential(*_activation(a["activation"])) if a["activation"] != "none" else nn.Identity()
    raise AssertionError(layer.op)  # pragma: no cover


def _conv_block(layer: Layer) -> nn.Sequential:
    a = layer.attrs
    in_c = layer.in_shape[0]
    conv = nn.Conv2d(in_c, a["out_channels"], a["kernel_size"], a["stride"], a["padding"],
                     dilation=a["dilation"], groups=a["groups"], bias=a["bias"])
    act = _activation(a["activation"])
    if a["order"] == "bn-act-conv":
        return nn.Sequential(*([nn.BatchNorm2d(in_c)] if a["batchnorm"] else []), *act, conv)
    bn = [nn.BatchNorm2d(a["out_channels"])] if a["batchnorm"] else []
    if a["order"] == "act-conv-bn":
        return nn.Sequential(*act, conv, *bn)
    return nn.Sequential(conv, *bn, *act)


def _activation(name: str) -> list[nn.Module]:
    return [] if name == "none" else [_ACTIVATIONS[name]()]


def _flat(shape: tuple[int, ...]) -> int:
    size = 1
    for s in shape:
        size *= s
    return size


def _last_use(arch: Architecture) -> dict[int, int]:
    last = {}
    for layer in arch.layers:
        for j in layer.inputs:
            last[j] = layer.index
    return last

"""Parameter and MAC counts, computed from shapes alone.

The counting convention is that of the ``thop`` profiler used to build the
NAAP-440 dataset, so :func:`profile` reproduces its NumParams and NumMACs
columns exactly:

* conv: ``out_elements * (in_channels / groups * k * k + has_bias)``
* batch norm (affine): ``4 * elements``
* linear: ``in_features * out_features`` (bias not counted)
* average pooling, global or not: one add per input in each window plus one
  divide per output, i.e. ``(H * W + 1) * C`` for global pooling and
  ``(k * k + 1) * out_elements`` for a ``k x k`` pool (the maintained
  ``ultralytics-thop`` convention; NAAP-440 has only global pooling)
* max pooling, activations, dropout and adds: zero.

Parameters count weights and biases, and batch-norm scale and shift (running
statistics are buffers, not parameters).
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

from naapgnn.arch.format import Architecture, Layer, parse_architecture


class LayerCost(NamedTuple):
    params: int
    macs: int


def layer_cost(layer: Layer) -> LayerCost:
    """Parameters and MACs of one layer (conv includes its batch norm)."""
    op, a = layer.op, layer.attrs
    out_elements = math.prod(layer.out_shape)
    if op == "conv":
        in_c = layer.in_shape[0]
        k2 = a["kernel_size"] ** 2
        bias = 0 if a["batchnorm"] else 1
        weights = in_c // a["groups"] * k2 * a["out_channels"]
        params = weights + bias * a["out_channels"]
        macs = out_elements * (in_c // a["groups"] * k2 + bias)
        if a["batchnorm"]:
            params += 2 * a["out_channels"]
            macs += 4 * out_elements
        return LayerCost(params, macs)
    if op == "linear":
        in_features = math.prod(layer.in_shape)
        return LayerCost(in_features * a["out_features"] + a["out_features"], in_features * a["out_features"])
    if op == "gap":
        c, h, w = layer.in_shape
        return LayerCost(0, (h * w + 1) * c)
    if op == "avgpool":
        return LayerCost(0, out_elements * (a["kernel_size"] ** 2 + 1))
    return LayerCost(0, 0)


def layer_costs(arch: Any) -> list[LayerCost]:
    """Per-layer ``(params, macs)`` in layer order."""
    arch = parse_architecture(arch)
    return [layer_cost(layer) for layer in arch.layers]


def profile(arch: Any) -> tuple[int, int]:
    """Total parameters and MACs of an architecture.

    Parameters
    ----------
    arch : Architecture, scheme list or layer-graph dict

    Returns
    -------
    (params, macs) : tuple of int
        For the NAAP-440 schemes, equal to the dataset's NumParams and NumMACs.
    """
    costs = layer_costs(arch)
    return sum(c.params for c in costs), sum(c.macs for c in costs)


def architecture_summary(arch: Architecture) -> dict:
    """Scheme-level statistics used as graph attributes and features."""
    costs = [layer_cost(layer) for layer in arch.layers]
    return {
        "params": sum(c.params for c in costs),
        "macs": sum(c.macs for c in costs),
        "depth": weighted_depth(arch),
        "stages": sum(1 for layer in arch.layers if _downsamples(layer)),
    }


def weighted_depth(arch: Architecture) -> int:
    """Longest path counted in conv and linear layers (the network's depth)."""
    depth: dict[int, int] = {-1: 0}
    for layer in arch.layers:
        here = 1 if layer.op in ("conv", "linear") else 0
        depth[layer.index] = max(depth[i] for i in layer.inputs) + here
    return depth[arch.layers[-1].index]


def _downsamples(layer: Layer) -> bool:
    return len(layer.out_shape) == 3 and layer.out_shape[1] < layer.in_shape[1]

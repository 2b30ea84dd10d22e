"""Parameter and MAC counts, computed from shapes alone.

The counting convention is that of the ``thop`` profiler used to build the
NAAP-440 dataset, so :func:`profile` reproduces its NumParams and NumMACs
columns exactly:

* conv: ``out_elements * (in_channels / groups * k * k + has_bias)`` (one add per output for a bias, as the
  thop of the dataset's time counted it; ``ultralytics-thop`` 2.x leaves the bias out)
* batch norm (affine), standalone or in a conv block: ``4 * elements`` of the
  tensor it normalises (a ``bn-act-conv`` block normalises its input)
* linear: ``in_features * out_features`` (bias not counted)
* average pooling, global or not: one add per position of each window plus one
  divide per output, i.e. ``(H * W + 1) * C`` for global pooling and
  ``(k * k + 1) * out_elements`` for a ``k x k`` pool, padded positions
  included (``ultralytics-thop``'s convention where a window holds no padding,
  or the padding is counted; with ``count_include_pad`` false it counts only
  the inputs a border window holds, fewer; NAAP-440 has only global pooling)
* mul (elementwise product, e.g. squeeze-and-excitation gating): one
  multiply per output element, ``out_elements`` (whatever the number of
  inputs; like an add's, its cost depends on its shapes alone; thop, which
  counts modules, does not see this product)
* max pooling, activations, dropout, adds, concats and zero layers: zero.

Dead branches (layers whose output nothing reads) count like any other layer,
as the modules exist in the built network.

Parameters count weights and biases, and batch-norm scale and shift (running
statistics are buffers, not parameters).
"""
from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Sequence

from naapgnn.arch.format import Architecture, Layer, parse_architecture
from naapgnn.arch.ops import window_span


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
        bias = int(a["bias"])
        params = in_c // a["groups"] * k2 * a["out_channels"] + bias * a["out_channels"]
        macs = out_elements * (in_c // a["groups"] * k2 + bias)
        if a["batchnorm"]:
            normalised = layer.in_shape if a["order"] == "bn-act-conv" else layer.out_shape
            params += 2 * normalised[0]
            macs += 4 * math.prod(normalised)
        return LayerCost(params, macs)
    if op == "batchnorm":
        return LayerCost(2 * layer.out_shape[0], 4 * out_elements)
    if op == "linear":
        in_features = math.prod(layer.in_shape)
        return LayerCost(in_features * a["out_features"] + a["out_features"], in_features * a["out_features"])
    if op == "gap":
        c, h, w = layer.in_shape
        return LayerCost(0, (h * w + 1) * c)
    if op == "avgpool":
        return LayerCost(0, out_elements * (a["kernel_size"] ** 2 + 1))
    if op == "mul":
        return LayerCost(0, out_elements)
    return LayerCost(0, 0)


def layer_key(layer: Layer) -> tuple:
    """What a layer is, apart from where it sits: its op, fields and shapes, as a hashable key.

    Layers with equal keys have equal costs, windows and statistics; networks
    repeat a few distinct layers many times, each in a new object. Field values
    compare as Python compares them (``True`` equals ``1``; parsing checks the
    types, so only layers built by hand could differ so). A zero layer's one
    field, its shape (a list), is its output shape and is left out; a layer with
    another list-valued field has a key that raises TypeError when hashed.
    """
    return layer_keys((layer,))[0]


def layer_keys(layers: Sequence[Layer]) -> list[tuple]:
    """:func:`layer_key` of each layer (one expression, as it runs once per layer of every network)."""
    return [(layer.op, layer.in_shape, layer.out_shape, tuple(layer.attrs), *layer.attrs.values())
            if layer.op != "zero" else (layer.op, layer.in_shape, layer.out_shape) for layer in layers]


# Costs of the distinct layers seen last (by layer_key); cleared when it holds _CACHE_SIZE.
_COSTS: dict = {}
_CACHE_SIZE = 20000


def cached_layer_cost(layer: Layer) -> LayerCost:
    """:func:`layer_cost`, looked up among the last distinct layers seen (at most ``_CACHE_SIZE``)."""
    key = layer_key(layer)
    try:
        return _COSTS[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable field
        return layer_cost(layer)
    if len(_COSTS) >= _CACHE_SIZE:
        _COSTS.clear()
    cost = _COSTS[key] = layer_cost(layer)
    return cost


def _derived(arch: Architecture, name: str, compute: Callable[[Architecture], Any]) -> Any:
    """``compute(arch)``, computed once per architecture (kept in ``arch.derived``; callers get copies)."""
    if name not in arch.derived:
        arch.derived[name] = compute(arch)
    return arch.derived[name]


def layer_costs(arch: Any) -> list[LayerCost]:
    """Per-layer ``(params, macs)`` in layer order."""
    return list(_costs(parse_architecture(arch)))


def _costs(arch: Architecture) -> tuple[LayerCost, ...]:
    return _derived(arch, "layer_costs", lambda a: tuple(map(cached_layer_cost, a.layers)))


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


SCHEME_STATISTICS = (
    "NumParams", "NumMACs", "NumLayers", "NumStages", "FirstLayerWidth", "LastLayerWidth",
    "NumSkipConnections", "NumPartialRFLayers",
)
_SPATIAL_OPS = ("conv", "maxpool", "avgpool")


def architecture_statistics(arch: Any) -> dict[str, int | float]:
    """Every architecture-level statistic the package uses, computed in one place.

    Parameters
    ----------
    arch : Architecture, scheme list or layer-graph dict

    Returns
    -------
    dict
        The NAAP-440 scheme columns (:data:`SCHEME_STATISTICS`; for the 440
        schemes equal to the dataset's columns):

        * ``NumParams``, ``NumMACs`` - as :func:`profile`.
        * ``NumLayers`` - conv layers (a scheme's blocks).
        * ``NumStages`` - layers that shrink the feature map (a scheme's
          stride-2 blocks).
        * ``FirstLayerWidth``, ``LastLayerWidth`` - output channels of the
          first and last conv (0 without one).
        * ``NumSkipConnections`` - residual convs.
        * ``NumPartialRFLayers`` - conv or pool layers whose stride exceeds
          their kernel, so some input pixels are never seen.

        and, for features and graph attributes:

        * ``Depth`` - :func:`weighted_depth`.
        * ``NumBlocks`` - conv and pool layers.
        * ``MaxLayerWidth`` - widest conv (0 without one).
        * ``FinalSize`` - side of the last feature map (0 if none).
        * ``FinalReceptiveField`` - receptive field of the last feature map, in
          input pixels (1.0 if none).
        * ``ClassifierParams`` - parameters of the layers after the last
          feature map (not of a squeeze-and-excitation gate's linear layers
          before it).
    """
    return dict(_derived(parse_architecture(arch), "statistics", _statistics))


def _statistics(arch: Architecture) -> dict[str, int | float]:
    costs = _costs(arch)
    widths = [layer.attrs["out_channels"] for layer in arch.layers if layer.op == "conv"] or [0]
    spatial = [layer for layer in arch.layers if len(layer.out_shape) == 3]
    blocks = [layer for layer in arch.layers if layer.op in _SPATIAL_OPS]
    return {
        "NumParams": sum(c.params for c in costs),
        "NumMACs": sum(c.macs for c in costs),
        "NumLayers": sum(layer.op == "conv" for layer in arch.layers),
        "NumStages": sum(_downsamples(layer) for layer in arch.layers),
        "FirstLayerWidth": widths[0],
        "LastLayerWidth": widths[-1],
        "NumSkipConnections": sum(layer.op == "conv" and bool(layer.attrs["residual"]) for layer in arch.layers),
        "NumPartialRFLayers": sum(layer.attrs["stride"] > layer.attrs["kernel_size"] for layer in blocks),
        "Depth": weighted_depth(arch),
        "NumBlocks": len(blocks),
        "MaxLayerWidth": max(widths),
        "FinalSize": spatial_size(spatial[-1].out_shape) if spatial else 0,
        "FinalReceptiveField": _fields(arch)[spatial[-1].index] if spatial else 1.0,
        "ClassifierParams": sum(c.params for c in costs[spatial[-1].index + 1 if spatial else 0:]),
    }


def receptive_fields(arch: Any) -> list[float]:
    """Receptive field of each layer's output, in input pixels, in layer order.

    A conv or pool of kernel ``k`` adds ``(k - 1)`` times the input-pixel
    distance between neighbouring positions of its input (the "jump", which
    its stride multiplies); a global pool or a linear layer reading a feature
    map is a window over the whole map; a layer with several inputs takes the
    largest field and jump among them; the network input and a zero layer (no input) have field 1.

    Parameters
    ----------
    arch : Architecture, scheme list or layer-graph dict

    Returns
    -------
    list of float
        ``fields[i]`` belongs to ``arch.layers[i]``.
    """
    return list(_fields(parse_architecture(arch)))


def _fields(arch: Architecture) -> tuple[float, ...]:
    return _derived(arch, "receptive_fields", _compute_fields)


def _compute_fields(arch: Architecture) -> tuple[float, ...]:
    # index -1 (NETWORK_INPUT) reads the extra last slot, which holds the network input's values
    field = [1.0] * (len(arch.layers) + 1)
    jump = [1.0] * (len(arch.layers) + 1)
    for layer in arch.layers:
        inputs = layer.inputs
        if len(inputs) == 1:
            field_in, jump_in = field[inputs[0]], jump[inputs[0]]
        else:  # a join takes the largest; a zero layer (no input) starts afresh
            field_in = max((field[i] for i in inputs), default=1.0)
            jump_in = max((jump[i] for i in inputs), default=1.0)
        window, stride = _window(layer)
        field[layer.index] = field_in + (window - 1) * jump_in
        jump[layer.index] = jump_in * stride
    return tuple(field[:-1])


def _window(layer: Layer) -> tuple[int, int]:
    """Kernel side and stride of a layer, as a window over its input map."""
    if layer.op in _SPATIAL_OPS:
        return window_span(layer.op, layer.attrs), layer.attrs["stride"]
    if layer.op in ("gap", "linear") and len(layer.in_shape) == 3:
        return max(layer.in_shape[1:]), 1
    return 1, 1


def weighted_depth(arch: Any) -> int:
    """Longest path counted in conv and linear layers (the network's depth)."""
    return _derived(parse_architecture(arch), "weighted_depth", _compute_depth)


def _compute_depth(arch: Architecture) -> int:
    return layer_depths(arch)[-1]


def layer_depths(arch: Any) -> tuple[int, ...]:
    """Per layer, the longest path from the input to its output counted in conv and linear layers."""
    return _derived(parse_architecture(arch), "layer_depths", _compute_layer_depths)


def _compute_layer_depths(arch: Architecture) -> tuple[int, ...]:
    depth = [0] * (len(arch.layers) + 1)  # the extra last slot is index -1, the network input
    for layer in arch.layers:
        inputs = layer.inputs
        here = 1 if layer.op == "conv" or layer.op == "linear" else 0
        if len(inputs) == 1:
            depth[layer.index] = depth[inputs[0]] + here
        else:  # a join takes the deepest; a zero layer starts afresh
            depth[layer.index] = max((depth[i] for i in inputs), default=0) + here
    return tuple(depth[:-1])


def spatial_size(shape: Sequence[int]) -> float:
    """The side of a ``(channels, height, width)`` map as one number, the geometric mean of height and width (the
    side itself for a square map, an integer then; 0 for a flat shape): a network and its transpose, with the same
    parameters and MACs, read the same."""
    if len(shape) != 3:
        return 0
    height, width = shape[1], shape[2]
    return height if height == width else math.sqrt(height * width)


def _downsamples(layer: Layer) -> bool:
    return len(layer.out_shape) == 3 and layer.out_shape[1] < layer.in_shape[1]

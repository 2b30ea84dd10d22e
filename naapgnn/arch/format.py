"""The architecture format: parse, validate and normalise.

Two forms are accepted wherever an architecture is read:

1. A NAAP-440 *scheme*: a list of blocks
   ``{"kernel_size": k, "width": w, "stride": s, "residual": bool}``. Each block
   is Conv2d(bias=False, padding=k//2) -> BatchNorm2d -> ReLU; a residual adds
   the block input to its output. Global average pooling and
   ``Linear(last width, 10)`` follow.
2. A general *layer graph*:
   ``{"input_shape": [3, 32, 32], "num_classes": 10, "layers": [...]}`` with ops
   ``conv``, ``maxpool``, ``avgpool``, ``dropout``, ``gap``, ``linear`` and
   ``add``. A layer may name its ``inputs`` (indices of earlier layers, ``-1`` for
   the network input; default: the previous layer). A classifier to
   ``num_classes`` is appended when the last layer does not already produce it.

:func:`parse_architecture` turns either form into an :class:`Architecture` whose
layers carry resolved inputs and tensor shapes. Every problem is reported as a
one-line :class:`~naapgnn.errors.NaapgnnError` naming the layer index.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from naapgnn.errors import NaapgnnError

NETWORK_INPUT = -1
OPS = ("conv", "maxpool", "avgpool", "dropout", "gap", "linear", "add")
ACTIVATIONS = ("relu", "relu6", "leaky_relu", "gelu", "silu", "tanh", "sigmoid", "none")
SCHEME_KEYS = ("kernel_size", "width", "stride", "residual")

# Fields each op accepts: name -> (required, default). Defaults of None mean
# "derived" (stride of a pool defaults to its kernel size, padding to k // 2).
_OP_FIELDS: dict[str, dict[str, tuple[bool, Any]]] = {
    "conv": {
        "out_channels": (True, None),
        "kernel_size": (True, None),
        "stride": (False, 1),
        "padding": (False, None),
        "groups": (False, 1),
        "batchnorm": (False, True),
        "activation": (False, "relu"),
        "residual": (False, False),
    },
    "maxpool": {"kernel_size": (True, None), "stride": (False, None), "padding": (False, 0)},
    "avgpool": {"kernel_size": (True, None), "stride": (False, None), "padding": (False, 0)},
    "dropout": {"p": (True, None)},
    "gap": {},
    "linear": {"out_features": (True, None), "activation": (False, "none")},
    "add": {"activation": (False, "none")},
}
_COMMON_KEYS = {"op", "inputs", "name"}


@dataclass(frozen=True)
class Layer:
    """One normalised operation of an architecture.

    Attributes
    ----------
    index : int
        Position in :attr:`Architecture.layers`.
    op : str
        One of :data:`OPS`.
    inputs : tuple of int
        Indices of the layers feeding this one (``-1`` is the network input).
    attrs : dict
        The op's fields with defaults filled in.
    in_shape, out_shape : tuple of int
        Shape of the (first) input and of the output, without the batch axis:
        ``(C, H, W)`` for feature maps, ``(F,)`` for vectors.
    """

    index: int
    op: str
    inputs: tuple[int, ...]
    attrs: Mapping[str, Any]
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]

    def to_dict(self) -> dict:
        out = {"op": self.op, **dict(self.attrs)}
        if self.inputs != (self.index - 1,):
            out["inputs"] = list(self.inputs)
        return out


@dataclass(frozen=True)
class Architecture:
    """A validated architecture: a DAG of layers with known tensor shapes.

    Attributes
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of the network input.
    num_classes : int
        Size of the classifier output.
    layers : tuple of Layer
        Topologically ordered layers; the last one produces the logits.
    scheme : list of dict or None
        The NAAP-440 scheme this architecture came from, if any.
    """

    input_shape: tuple[int, ...]
    num_classes: int
    layers: tuple[Layer, ...]
    scheme: Any = field(default=None, compare=False)

    def to_dict(self) -> dict:
        """The general layer-graph form; ``parse_architecture(a.to_dict()) == a``."""
        return {
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "layers": [layer.to_dict() for layer in self.layers],
        }

    def shape_of(self, index: int) -> tuple[int, ...]:
        return self.input_shape if index == NETWORK_INPUT else self.layers[index].out_shape


def parse_architecture(obj: Any, source: str | None = None) -> Architecture:
    """Validate and normalise an architecture given in either accepted form.

    Parameters
    ----------
    obj : list, dict, str or Architecture
        A NAAP-440 scheme (list of blocks), a layer-graph dict, a JSON string of
        either, or an already parsed :class:`Architecture` (returned unchanged).
    source : str, optional
        Where the architecture came from (file name, ``"bench.jsonl line 3"``);
        prefixed to error messages.

    Returns
    -------
    Architecture

    Raises
    ------
    NaapgnnError
        One line naming the layer index and the problem.
    """
    if isinstance(obj, Architecture):
        return obj
    try:
        if isinstance(obj, str):
            obj = _loads(obj)
        if isinstance(obj, Mapping) and "layers" not in obj and "scheme" in obj:
            obj = obj["scheme"]
        if isinstance(obj, (list, tuple)):
            return _from_scheme(obj)
        if isinstance(obj, Mapping):
            return _from_graph(obj)
        raise NaapgnnError(
            f"expected a scheme (list of blocks) or a layer graph (object with 'layers'), "
            f"got {type(obj).__name__}"
        )
    except NaapgnnError as exc:
        if source:
            raise NaapgnnError(f"{source}: {exc}") from None
        raise


def load_architecture(path: str | Path) -> Architecture:
    """Read and parse one architecture from a JSON file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise NaapgnnError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        obj = _loads(text)
    except NaapgnnError as exc:
        raise NaapgnnError(f"{path}: {exc}") from None
    return parse_architecture(obj, source=str(path))


def is_scheme(obj: Any) -> bool:
    """True when ``obj`` looks like a NAAP-440 scheme (list of block dicts)."""
    return isinstance(obj, (list, tuple)) and all(
        isinstance(b, Mapping) and "op" not in b for b in obj
    )


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise NaapgnnError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


# --- scheme form -------------------------------------------------------------


def _from_scheme(blocks: Sequence[Any]) -> Architecture:
    if len(blocks) == 0:
        raise NaapgnnError("empty network: the scheme has no blocks")
    layers = []
    for i, block in enumerate(blocks):
        if not isinstance(block, Mapping):
            raise NaapgnnError(f"block {i}: expected an object, got {type(block).__name__}")
        missing = [k for k in SCHEME_KEYS if k not in block]
        if missing:
            raise NaapgnnError(f"block {i}: missing field {missing[0]!r}")
        unknown = sorted(set(block) - set(SCHEME_KEYS))
        if unknown:
            raise NaapgnnError(f"block {i}: unknown field {unknown[0]!r}")
        try:
            for key in ("kernel_size", "width", "stride"):
                _positive_int(block[key], key)
        except NaapgnnError as exc:
            raise NaapgnnError(f"block {i}: {exc}") from None
        if not isinstance(block["residual"], bool):
            raise NaapgnnError(f"block {i}: residual must be true or false, got {block['residual']!r}")
        layers.append(
            {
                "op": "conv",
                "out_channels": block["width"],
                "kernel_size": block["kernel_size"],
                "stride": block["stride"],
                "residual": block["residual"],
            }
        )
    graph = {"input_shape": [3, 32, 32], "num_classes": 10, "layers": layers}
    arch = _from_graph(graph, unit="block")
    return Architecture(arch.input_shape, arch.num_classes, arch.layers, scheme=[dict(b) for b in blocks])


# --- layer-graph form ----------------------------------------------------------


def _from_graph(graph: Mapping[str, Any], unit: str = "layer") -> Architecture:
    unknown = sorted(set(graph) - {"input_shape", "num_classes", "layers", "name"})
    if unknown:
        raise NaapgnnError(f"unknown top-level field {unknown[0]!r}")
    input_shape = _shape(graph.get("input_shape", [3, 32, 32]))
    num_classes = _positive_int(graph.get("num_classes", 10), "num_classes")
    raw_layers = graph.get("layers")
    if not isinstance(raw_layers, (list, tuple)):
        raise NaapgnnError("'layers' must be a list of layer objects")
    if len(raw_layers) == 0:
        raise NaapgnnError("empty network: 'layers' is empty")

    layers: list[Layer] = []
    for index, raw in enumerate(raw_layers):
        try:
            layers.append(_parse_layer(index, raw, layers, input_shape))
        except NaapgnnError as exc:
            raise NaapgnnError(f"{unit} {index}: {exc}") from None

    layers = _append_classifier(layers, num_classes)
    _check_all_used(layers, unit)
    return Architecture(input_shape, num_classes, tuple(layers))


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise NaapgnnError(f"input_shape must be [channels, height, width], got {value!r}")
    return tuple(_positive_int(v, "input_shape") for v in value)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise NaapgnnError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise NaapgnnError(f"{name} must be a positive integer, got {value}")
    return value


def _parse_layer(index: int, raw: Any, previous: list[Layer], input_shape) -> Layer:
    if not isinstance(raw, Mapping):
        raise NaapgnnError(f"expected an object, got {type(raw).__name__}")
    op = raw.get("op")
    if op is None:
        raise NaapgnnError("missing field 'op'")
    if op not in _OP_FIELDS:
        raise NaapgnnError(f"unknown op {op!r} (expected one of {', '.join(OPS)})")
    spec = _OP_FIELDS[op]
    unknown = sorted(set(raw) - set(spec) - _COMMON_KEYS)
    if unknown:
        raise NaapgnnError(f"{op}: unknown field {unknown[0]!r}")
    attrs = {}
    for name, (required, default) in spec.items():
        if name in raw:
            attrs[name] = raw[name]
        elif required:
            raise NaapgnnError(f"{op}: missing field {name!r}")
        else:
            attrs[name] = default
    _check_attrs(op, attrs)
    inputs = _resolve_inputs(index, raw.get("inputs"), op)
    shapes = [input_shape if i == NETWORK_INPUT else previous[i].out_shape for i in inputs]
    out_shape = _infer_shape(op, attrs, shapes)
    return Layer(index, op, inputs, attrs, shapes[0], out_shape)


def _check_attrs(op: str, attrs: dict) -> None:
    for name in ("out_channels", "kernel_size", "out_features", "groups"):
        if name in attrs:
            attrs[name] = _positive_int(attrs[name], name)
    if op in ("maxpool", "avgpool") and attrs["stride"] is None:
        attrs["stride"] = attrs["kernel_size"]
    if op == "conv" and attrs["padding"] is None:
        attrs["padding"] = attrs["kernel_size"] // 2
    if "stride" in attrs:
        attrs["stride"] = _positive_int(attrs["stride"], "stride")
    if "padding" in attrs:
        pad = attrs["padding"]
        if isinstance(pad, bool) or not isinstance(pad, int) or pad < 0:
            raise NaapgnnError(f"padding must be a non-negative integer, got {pad!r}")
    for name in ("batchnorm", "residual"):
        if name in attrs and not isinstance(attrs[name], bool):
            raise NaapgnnError(f"{name} must be true or false, got {attrs[name]!r}")
    if "activation" in attrs:
        act = attrs["activation"] if attrs["activation"] is not None else "none"
        if act not in ACTIVATIONS:
            raise NaapgnnError(f"unknown activation {act!r} (expected one of {', '.join(ACTIVATIONS)})")
        attrs["activation"] = act
    if op == "dropout":
        p = attrs["p"]
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise NaapgnnError(f"dropout p must be a number in [0, 1), got {p!r}")
        attrs["p"] = float(p)


def _resolve_inputs(index: int, inputs: Any, op: str) -> tuple[int, ...]:
    if inputs is None:
        if op == "add":
            raise NaapgnnError("add needs 'inputs' naming at least two earlier layers")
        return (index - 1,)
    if isinstance(inputs, int) and not isinstance(inputs, bool):
        inputs = [inputs]
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise NaapgnnError(f"'inputs' must be a non-empty list of layer indices, got {inputs!r}")
    for i in inputs:
        if isinstance(i, bool) or not isinstance(i, int):
            raise NaapgnnError(f"input index must be an integer, got {i!r}")
        if i == index:
            raise NaapgnnError(f"cycle: the layer names itself ({i}) as an input")
        if i > index:
            raise NaapgnnError(f"input index {i} points forward (only earlier layers or -1 allowed)")
        if i < NETWORK_INPUT:
            raise NaapgnnError(f"input index {i} is invalid (-1 is the network input)")
    if len(set(inputs)) != len(inputs):
        raise NaapgnnError(f"input indices repeat: {list(inputs)}")
    if op == "add" and len(inputs) < 2:
        raise NaapgnnError("add needs at least two inputs")
    if op != "add" and len(inputs) != 1:
        raise NaapgnnError(f"{op} takes exactly one input, got {len(inputs)} (use an add layer to join)")
    return tuple(inputs)


def _spatial(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _infer_shape(op: str, attrs: dict, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    shape = shapes[0]
    if op in ("conv", "maxpool", "avgpool"):
        if len(shape) != 3:
            raise NaapgnnError(f"{op} needs a feature map (C, H, W) input, got a vector of size {shape[0]}")
        c, h, w = shape
        k, s, p = attrs["kernel_size"], attrs["stride"], attrs["padding"]
        if op != "conv" and p > k // 2:
            raise NaapgnnError(f"{op} padding {p} exceeds half the kernel size {k}")
        oh, ow = _spatial(h, k, s, p), _spatial(w, k, s, p)
        if oh < 1 or ow < 1:
            raise NaapgnnError(
                f"{op} with kernel {k}, stride {s}, padding {p} shrinks the {h}x{w} input below 1x1"
            )
        if op != "conv":
            return (c, oh, ow)
        out_c, groups = attrs["out_channels"], attrs["groups"]
        if c % groups or out_c % groups:
            raise NaapgnnError(f"conv groups {groups} must divide in_channels {c} and out_channels {out_c}")
        out = (out_c, oh, ow)
        if attrs["residual"] and out != shape:
            raise NaapgnnError(
                f"residual needs equal input and output shapes, got {_fmt(shape)} -> {_fmt(out)}"
            )
        return out
    if op == "dropout":
        return shape
    if op == "gap":
        if len(shape) != 3:
            raise NaapgnnError("gap needs a feature map (C, H, W) input, got a vector")
        return (shape[0],)
    if op == "linear":
        return (attrs["out_features"],)
    if op == "add":
        for other in shapes[1:]:
            if other != shape:
                raise NaapgnnError(f"add of mismatched shapes {_fmt(shape)} and {_fmt(other)}")
        return shape
    raise AssertionError(op)  # pragma: no cover - guarded by _parse_layer


def _fmt(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)


def _append_classifier(layers: list[Layer], num_classes: int) -> list[Layer]:
    last = layers[-1]
    if last.op == "linear" and last.out_shape == (num_classes,):
        return layers
    if len(last.out_shape) == 3:
        layers.append(Layer(len(layers), "gap", (last.index,), {}, last.out_shape, (last.out_shape[0],)))
        last = layers[-1]
    attrs = {"out_features": num_classes, "activation": "none"}
    layers.append(Layer(len(layers), "linear", (last.index,), attrs, last.out_shape, (num_classes,)))
    return layers


def _check_all_used(layers: list[Layer], unit: str) -> None:
    used = {i for layer in layers for i in layer.inputs}
    for layer in layers[:-1]:
        if layer.index not in used:
            raise NaapgnnError(f"{unit} {layer.index}: output is never used (dead branch)")


def flat_size(shape: tuple[int, ...]) -> int:
    """Number of elements of a tensor of this (batch-free) shape."""
    return math.prod(shape)

"""The architecture format: parse, validate and normalise.

Two forms are accepted wherever an architecture is read:

1. A NAAP-440 *scheme*: a list of blocks
   ``{"kernel_size": k, "width": w, "stride": s, "residual": bool}``. Each block
   is Conv2d(bias=False, padding=(k-1)//2, which is k//2 for NAAP-440's odd k) -> BatchNorm2d
   -> ReLU; a residual adds the block input to its output. Global average pooling and
   ``Linear(last width, 10)`` follow. An object ``{"scheme": [...]}`` holds one too (beside it only a "name").
2. A general *layer graph*:
   ``{"input_shape": [3, 32, 32], "num_classes": 10, "layers": [...]}`` with ops
   ``conv``, ``maxpool``, ``avgpool``, ``dropout``, ``gap``, ``linear``,
   ``add``, ``concat``, ``mul``, ``batchnorm`` and ``zero`` (fields in
   :mod:`naapgnn.arch.ops`). A layer may name its ``inputs`` (indices of earlier
   layers, ``-1`` for the network input; default: the previous layer). A
   classifier to ``num_classes`` is appended when the last layer does not
   already produce it.

A ``mul`` multiplies its inputs elementwise, a feature map by per-channel gates
of shape ``[C]`` or ``[C, 1, 1]`` too (a squeeze-and-excitation block: ``gap``,
two ``linear`` layers, then ``mul`` of the block input and the gates); the
network goes on from the ``mul``'s feature map.

Graphs need not be tidy: an ``add``, ``concat`` or ``mul`` may list one input twice (an
identity edge counted twice), a layer whose output nothing reads is kept (a
dead branch: built, run and counted by :func:`~naapgnn.arch.profiling.profile`),
and a ``zero`` layer (no inputs, a given shape) stands for a node cut off from
the network input. The last layer is the network's output.

:func:`parse_architecture` turns either form into an :class:`Architecture` whose
layers carry resolved inputs and tensor shapes. Every problem is reported as a
one-line :class:`~naapgnn.errors.NaapgnnError` naming the layer index.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from naapgnn.arch.ops import ACTIVATIONS, JOIN_OPS, OP_FIELDS, OPS, check_attrs, infer_shape, is_default, positive_int
from naapgnn.errors import NaapgnnError, unknown_fields
from naapgnn.io import loads_json, read_text

__all__ = ["ACTIVATIONS", "OPS", "NETWORK_INPUT", "Layer", "Architecture", "parse_architecture",
           "parse_layer", "load_architecture", "is_scheme", "flat_size"]

NETWORK_INPUT = -1
SCHEME_KEYS = ("kernel_size", "width", "stride", "residual")
_COMMON_KEYS = {"op", "inputs", "name"}
_KNOWN_KEYS = {op: frozenset(spec) | _COMMON_KEYS for op, spec in OP_FIELDS.items()}


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
        Shape of the (first) input (a ``zero`` layer, having none, and a
        ``mul``, whose inputs may be a map and its gates, repeat their
        output shape) and of the output, without the batch axis:
        ``(C, H, W)`` for feature maps, ``(F,)`` for vectors.
    """

    index: int
    op: str
    inputs: tuple[int, ...]
    attrs: Mapping[str, Any]
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]

    def to_dict(self) -> dict:
        out = {"op": self.op}
        out.update((k, v) for k, v in self.attrs.items() if not is_default(self.op, k, v, self.attrs))
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

    Derived values (layer costs, receptive fields, statistics) are computed
    once per instance and kept in ``derived``, so an architecture must not be
    changed after parsing (build a new one instead).
    """

    input_shape: tuple[int, ...]
    num_classes: int
    layers: tuple[Layer, ...]
    scheme: Any = field(default=None, compare=False)
    derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def to_dict(self) -> dict:
        """The general layer-graph form; ``parse_architecture(a.to_dict()) == a``."""
        return {
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "layers": [layer.to_dict() for layer in self.layers],
        }

    def shape_of(self, index: int) -> tuple[int, ...]:
        """The output shape of layer ``index`` (the network input's for ``-1``)."""
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
            obj = _from_text(obj)
        if isinstance(obj, Mapping) and "layers" not in obj and "scheme" in obj:
            obj = _wrapped_scheme(obj)
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
    """Read and parse one architecture from a JSON file.

    Parameters
    ----------
    path : str or Path
        A ``.json`` file holding one scheme or layer graph.

    Returns
    -------
    Architecture

    Raises
    ------
    NaapgnnError
        One line naming the file and, for an invalid architecture, the layer index and the problem.
    """
    path = Path(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        raise NaapgnnError(f"{path}: a JSON Lines benchmark; this reads one architecture (a .json scheme or layer "
                           f"graph)")
    text = read_text(path)
    try:
        obj = _loads(text)
    except NaapgnnError as exc:
        raise NaapgnnError(f"{path}: {exc}") from None
    if _is_list_of_architectures(obj):
        raise NaapgnnError(f"{path}: a list of {len(obj)} architectures; this reads one architecture per file")
    return parse_architecture(obj, source=str(path))


def _is_list_of_architectures(obj: Any) -> bool:
    """True for a JSON list of schemes (lists) or of layer graphs (objects with ``layers``)."""
    return isinstance(obj, list) and bool(obj) and (all(isinstance(item, list) for item in obj) or all(
        isinstance(item, Mapping) and "layers" in item for item in obj))


def is_scheme(obj: Any) -> bool:
    """True when ``obj`` looks like a NAAP-440 scheme (list of block dicts)."""
    return isinstance(obj, (list, tuple)) and all(
        isinstance(b, Mapping) and "op" not in b for b in obj
    )


def _wrapped_scheme(obj: Mapping[str, Any]) -> Any:
    """The scheme of ``{"scheme": [...]}``; a scheme's network has NAAP-440's input and classes, so other keys
    (``num_classes``, ``input_shape``) would be silently ignored: refused."""
    unknown = sorted(set(obj) - {"scheme", "name"})
    if unknown:
        raise NaapgnnError(f"{unknown_fields(unknown)} beside 'scheme' (a scheme is NAAP-440's 3x32x32 input and "
                           "10 classes; give a layer graph with 'layers' for others)")
    return obj["scheme"]


def _from_text(text: str) -> Any:
    """The architecture a JSON string holds (a table's scheme column, say); a plain word (``"resnet"``) is no
    JSON text, and said so."""
    try:
        return _loads(text)
    except NaapgnnError:
        if text.lstrip()[:1] in ("[", "{"):
            raise
        hint = (" (a file's path? read it with naapgnn.load_architecture)"
                if text.strip().lower().endswith((".json", ".jsonl", ".txt")) else "")
        raise NaapgnnError(f"expected a scheme list or a layer-graph object, got a string{hint}") from None


def _loads(text: str) -> Any:
    return loads_json(text)


# --- scheme form -------------------------------------------------------------


def _from_scheme(blocks: Sequence[Any]) -> Architecture:
    if len(blocks) == 0:
        raise NaapgnnError("empty network: the scheme has no blocks")
    if all(isinstance(block, Mapping) and "op" in block for block in blocks):
        raise NaapgnnError("a list of layers (objects with 'op') is a layer graph's 'layers': give "
                           '{"layers": [...]} (with input_shape and num_classes where they are not 3x32x32 and 10)')
    layers, normalised = [], []
    for i, block in enumerate(blocks):
        if not isinstance(block, Mapping):
            raise NaapgnnError(f"block {i}: expected an object, got {type(block).__name__}")
        missing = [k for k in SCHEME_KEYS if k not in block]
        if missing:
            raise NaapgnnError(f"block {i}: missing field {missing[0]!r}")
        unknown = sorted(set(block) - set(SCHEME_KEYS))
        if unknown:
            raise NaapgnnError(f"block {i}: {unknown_fields(unknown)}")
        block = dict(block)
        try:
            for key in ("kernel_size", "width", "stride"):
                block[key] = positive_int(block[key], key)
        except NaapgnnError as exc:
            raise NaapgnnError(f"block {i}: {exc}") from None
        if not isinstance(block["residual"], bool):
            raise NaapgnnError(f"block {i}: residual must be true or false, got {block['residual']!r}")
        normalised.append(block)
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
    return Architecture(arch.input_shape, arch.num_classes, arch.layers, scheme=normalised)


# --- layer-graph form ----------------------------------------------------------


def _from_graph(graph: Mapping[str, Any], unit: str = "layer") -> Architecture:
    unknown = sorted(set(graph) - {"input_shape", "num_classes", "layers", "name"})
    if unknown:
        raise NaapgnnError(f"{unknown_fields(unknown, 'top-level field')} "
                           "(a layer graph has input_shape, num_classes, layers and name)")
    input_shape = _shape(graph.get("input_shape", [3, 32, 32]))
    num_classes = positive_int(graph.get("num_classes", 10), "num_classes")
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
    return Architecture(input_shape, num_classes, tuple(layers))


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise NaapgnnError(f"input_shape must be [channels, height, width], got {value!r}")
    return tuple(positive_int(v, "input_shape") for v in value)


def parse_layer(index: int, raw: Any, previous: Sequence[Layer], input_shape: tuple[int, ...]) -> Layer:
    """Validate one layer object as layer ``index`` of a graph whose earlier layers are ``previous``.

    For code that builds many networks from a few layer specs (NAS-Bench-201):
    it validates each spec once here and makes the other layers of that spec
    with the same ``attrs`` and shapes. Errors name the layer index.
    """
    try:
        return _parse_layer(index, raw, previous, tuple(input_shape))
    except NaapgnnError as exc:
        raise NaapgnnError(f"layer {index}: {exc}") from None


def _parse_layer(index: int, raw: Any, previous: Sequence[Layer], input_shape) -> Layer:
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise NaapgnnError(f"expected an object, got {type(raw).__name__}")
    op = raw.get("op")
    if op is None:
        raise NaapgnnError("missing field 'op'")
    if not isinstance(op, str) or op not in OP_FIELDS:
        raise NaapgnnError(f"unknown op {op!r} (expected one of {', '.join(OPS)})")
    key = _attrs_key(op, raw)
    attrs = _ATTRS_CACHE.get(key) if key is not None else None
    if attrs is None:
        attrs = _checked_attrs(op, raw)
        if key is not None:
            if len(_ATTRS_CACHE) > _CACHE_SIZE:
                _ATTRS_CACHE.clear()
            _ATTRS_CACHE[key] = attrs
    inputs = _resolve_inputs(index, raw.get("inputs"), op)
    shapes = tuple(input_shape if i == NETWORK_INPUT else previous[i].out_shape for i in inputs)
    shape_key = (key, shapes) if key is not None else None
    out_shape = _SHAPE_CACHE.get(shape_key) if shape_key is not None else None
    if out_shape is None:
        out_shape = infer_shape(op, attrs, list(shapes))
        if shape_key is not None:
            if len(_SHAPE_CACHE) > _CACHE_SIZE:
                _SHAPE_CACHE.clear()
            _SHAPE_CACHE[shape_key] = out_shape
    in_shape = shapes[0] if shapes and op != "mul" else out_shape
    return Layer(index, op, inputs, dict(attrs), in_shape, out_shape)


# Checked fields and output shapes of layers already seen: networks repeat a few layer
# specs many times (NAS-Bench-201's 15,625 networks hold about ten distinct ones).
_ATTRS_CACHE: dict = {}
_SHAPE_CACHE: dict = {}
_CACHE_SIZE = 20000


def _attrs_key(op: str, raw: Mapping) -> tuple | None:
    """A hashable key of a layer's fields (types included: true and 1 differ), or None."""
    fields = dict(raw)
    fields.pop("inputs", None)
    try:
        key = (op, tuple(fields.items()), tuple(map(type, fields.values())))
        hash(key)
    except TypeError:  # a list-valued field (zero's shape): not cached
        return None
    return key


def _checked_attrs(op: str, raw: Mapping) -> dict:
    spec = OP_FIELDS[op]
    if not raw.keys() <= _KNOWN_KEYS[op]:
        unknown = sorted(set(raw) - _KNOWN_KEYS[op])
        raise NaapgnnError(f"{op}: {unknown_fields(unknown)}")
    attrs = {}
    for name, (required, default) in spec.items():
        if name in raw:
            attrs[name] = raw[name]
        elif required:
            raise NaapgnnError(f"{op}: missing field {name!r}")
        else:
            attrs[name] = default
    check_attrs(op, attrs)
    return attrs


def _resolve_inputs(index: int, inputs: Any, op: str) -> tuple[int, ...]:
    if type(inputs) is list and len(inputs) == 1 and type(inputs[0]) is int and NETWORK_INPUT <= inputs[0] < index \
            and op not in JOIN_OPS and op != "zero":
        return (inputs[0],)  # the common case, valid as it stands
    if op == "zero":
        if inputs not in (None, [], ()):
            raise NaapgnnError(f"zero takes no inputs (it stands for a node cut off from the input), got {inputs!r}")
        return ()
    if inputs is None:
        if op in JOIN_OPS:
            raise NaapgnnError(f"{op} needs 'inputs' naming at least two earlier layers")
        return (index - 1,)
    if isinstance(inputs, numbers.Integral) and not isinstance(inputs, bool):
        inputs = [inputs]
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise NaapgnnError(f"'inputs' must be a non-empty list of layer indices, got {inputs!r}")
    for i in inputs:
        if isinstance(i, bool) or not isinstance(i, numbers.Integral):
            raise NaapgnnError(f"input index must be an integer, got {i!r}")
    inputs = [int(i) for i in inputs]  # a numpy integer too
    for i in inputs:
        if i == index:
            raise NaapgnnError(f"cycle: the layer names itself ({i}) as an input")
        if i > index:
            earlier = {0: "-1", 1: "layer 0 or -1"}.get(index, f"layers 0-{index - 1} or -1")
            raise NaapgnnError(f"input index {i} points forward (layer {index} may read {earlier}, the network input: "
                               "a layer reads earlier layers only, so the graph has no cycle)")
        if i < NETWORK_INPUT:
            raise NaapgnnError(f"input index {i} is invalid (-1 is the network input)")
    if op in JOIN_OPS and len(inputs) < 2:
        raise NaapgnnError(f"{op} needs at least two inputs (one listed twice counts twice)")
    if op not in JOIN_OPS and len(inputs) != 1:
        raise NaapgnnError(f"{op} takes exactly one input, got {len(inputs)} (use an add, concat or mul layer to join)")
    return tuple(inputs)


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


def flat_size(shape: tuple[int, ...]) -> int:
    """Number of elements of a tensor of this (batch-free) shape."""
    return math.prod(shape)

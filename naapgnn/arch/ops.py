"""The ops of the layer-graph format: their fields, defaults, checks and output shapes.

:mod:`naapgnn.arch.format` parses a layer's JSON object and resolves its
inputs; this module says what each op accepts (:data:`OP_FIELDS`), checks the
field values (:func:`check_attrs`) and infers the output shape
(:func:`infer_shape`). Every error is a one-line
:class:`~naapgnn.errors.NaapgnnError` naming the field and the value; the
caller prefixes the layer index.

Ops beyond the plain chain:

* ``conv`` with ``order``: ``"conv-bn-act"`` (default), ``"act-conv-bn"`` (a
  pre-activation conv, e.g. NAS-Bench-201's ReLU -> conv -> BN) or
  ``"bn-act-conv"`` (DenseNet's BN -> ReLU -> conv, the batch norm over the
  input channels); ``bias`` defaults to ``not batchnorm``; ``dilation`` (default 1) spaces the kernel's
  taps, so a k x k conv reads a ``dilation * (k - 1) + 1`` window (DARTS' and NAS-Bench-301's ``dil_conv``;
  its padding defaults to half that window, keeping the size at stride 1).
* ``avgpool`` with ``count_include_pad`` (default true, PyTorch's default).
* ``batchnorm``: a standalone BatchNorm2d, then its ``activation``.
* ``add``: the sum of its inputs; an input listed twice is summed twice.
* ``concat``: channel concatenation of inputs of equal spatial size.
* ``mul``: the elementwise product of its inputs, then its ``activation``:
  inputs of one shape, or a feature map ``[C, H, W]`` times per-channel gates
  ``[C]`` (a ``gap`` or ``linear`` output) or ``[C, 1, 1]``, broadcast over
  ``H`` and ``W`` (a squeeze-and-excitation block); the output is the map's shape.
* ``zero``: an all-zeros tensor of the given ``shape`` with no input, standing
  for a node cut off from the network input (a NAS-Bench-201 cell whose paths
  are all ``none``).
"""
from __future__ import annotations

import numbers
from typing import Any

from naapgnn.errors import NaapgnnError, as_written

OPS = ("conv", "maxpool", "avgpool", "dropout", "gap", "linear", "add", "concat", "batchnorm", "zero",
       "mul")
ACTIVATIONS = ("relu", "relu6", "leaky_relu", "gelu", "silu", "tanh", "sigmoid", "hardswish", "hardsigmoid", "mish",
               "none")
CONV_ORDERS = ("conv-bn-act", "act-conv-bn", "bn-act-conv")
JOIN_OPS = ("add", "concat", "mul")

# Fields each op accepts: name -> (required, default). Defaults of None mean
# "derived" (stride of a pool defaults to its kernel size, a conv's padding to dilation * (k - 1) // 2,
# k // 2 for an odd k without dilation, a conv's bias to ``not batchnorm``).
OP_FIELDS: dict[str, dict[str, tuple[bool, Any]]] = {
    "conv": {
        "out_channels": (True, None),
        "kernel_size": (True, None),
        "stride": (False, 1),
        "padding": (False, None),
        "groups": (False, 1),
        "dilation": (False, 1),
        "batchnorm": (False, True),
        "activation": (False, "relu"),
        "residual": (False, False),
        "order": (False, "conv-bn-act"),
        "bias": (False, None),
    },
    "maxpool": {"kernel_size": (True, None), "stride": (False, None), "padding": (False, 0)},
    "avgpool": {"kernel_size": (True, None), "stride": (False, None), "padding": (False, 0),
                "count_include_pad": (False, True)},
    "dropout": {"p": (True, None)},
    "gap": {},
    "linear": {"out_features": (True, None), "activation": (False, "none")},
    "add": {"activation": (False, "none")},
    "concat": {},
    "batchnorm": {"activation": (False, "none")},
    "zero": {"shape": (True, None)},
    "mul": {"activation": (False, "none")},
}


def is_default(op: str, name: str, value: Any, attrs: dict) -> bool:
    """True for a field added after format version 1 that holds its default value
    (left out of :meth:`Layer.to_dict`, so older architectures serialise as before)."""
    if op == "conv" and name == "order":
        return value == "conv-bn-act"
    if op == "conv" and name == "bias":
        return value == (not attrs["batchnorm"])
    if op == "avgpool" and name == "count_include_pad":
        return value is True
    if op == "conv" and name == "dilation":
        return value == 1
    return False


MAX_SIZE = 2 ** 31 - 1
"""Largest channel count, kernel, stride or image side accepted (what torch's layers take; the encoder also
refuses parameter or MAC totals beyond int64)."""


def _digits(value: int) -> str:
    """An integer for a message: in full up to 20 digits, else its first three and its length."""
    text = str(value)
    return text if len(text.lstrip("-")) <= 20 else f"{text[:3]}... ({len(text.lstrip('-'))} digits)"


def _whole(value: Any) -> Any:
    """A float of no fraction as that int (``8.0``, as a table export writes an integer column; a numpy float of
    any width too); anything else as it is."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)):
        return int(value) if float(value).is_integer() else value
    return value


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int (a numpy integer too, or a float of no fraction: ``8.0`` as a table export writes an
    integer column); one-line NaapgnnError unless it is in [1, MAX_SIZE]."""
    value = _whole(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise NaapgnnError(f"{name} must be a positive integer, got {as_written(value)}")
    value = int(value)
    if value <= 0:
        raise NaapgnnError(f"{name} must be a positive integer, got {_digits(value)}")
    if value > MAX_SIZE:
        raise NaapgnnError(f"{name} {_digits(value)} is larger than any network naapgnn reads (at most {MAX_SIZE:,})")
    return value


def check_attrs(op: str, attrs: dict) -> None:
    """Check and normalise the field values of one layer in place."""
    for name in ("out_channels", "kernel_size", "out_features", "groups", "dilation"):
        if name in attrs:
            attrs[name] = positive_int(attrs[name], name)
    if op in ("maxpool", "avgpool") and attrs["stride"] is None:
        attrs["stride"] = attrs["kernel_size"]
    if op == "conv" and attrs["padding"] is None:
        attrs["padding"] = attrs["dilation"] * (attrs["kernel_size"] - 1) // 2
    if "stride" in attrs:
        attrs["stride"] = positive_int(attrs["stride"], "stride")
    if "padding" in attrs:
        pad = _whole(attrs["padding"])
        if isinstance(pad, bool) or not isinstance(pad, numbers.Integral) or pad < 0:
            raise NaapgnnError(f"padding must be a non-negative integer, got {pad!r}")
        pad = attrs["padding"] = int(pad)
        if pad > MAX_SIZE:
            raise NaapgnnError(f"padding {_digits(pad)} is larger than any network naapgnn reads "
                               f"(at most {MAX_SIZE:,})")
    for name in ("batchnorm", "residual", "count_include_pad"):
        if name in attrs and not isinstance(attrs[name], bool):
            raise NaapgnnError(f"{name} must be true or false, got {attrs[name]!r}")
    if "activation" in attrs:
        act = attrs["activation"] if attrs["activation"] is not None else "none"
        if act not in ACTIVATIONS:
            raise NaapgnnError(f"unknown activation {act!r} (expected one of {', '.join(ACTIVATIONS)})")
        attrs["activation"] = act
    if op == "conv":
        _check_conv(attrs)
    elif op == "dropout":
        p = attrs["p"]
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:  # a numpy float too
            raise NaapgnnError(f"dropout p must be a number in [0, 1), got {p!r}")
        attrs["p"] = float(p)
    elif op == "zero":
        attrs["shape"] = _zero_shape(attrs["shape"])


def _check_conv(attrs: dict) -> None:
    if attrs["order"] not in CONV_ORDERS:
        raise NaapgnnError(f"conv order must be one of {', '.join(CONV_ORDERS)}, got {attrs['order']!r}")
    if attrs["bias"] is None:
        attrs["bias"] = not attrs["batchnorm"]
    elif not isinstance(attrs["bias"], bool):
        raise NaapgnnError(f"bias must be true or false, got {attrs['bias']!r}")


def _zero_shape(value: Any) -> list[int]:
    if not isinstance(value, (list, tuple)) or len(value) not in (1, 3):
        raise NaapgnnError(f"zero shape must be [channels, height, width] or [features], got {value!r}")
    return [positive_int(v, "zero shape") for v in value]


def spatial(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def fmt(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)


def infer_shape(op: str, attrs: dict, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    """Output shape of a layer from its fields and its input shapes (``[]`` for ``zero``)."""
    if op == "zero":
        return tuple(attrs["shape"])
    shape = shapes[0]
    if op in ("conv", "maxpool", "avgpool"):
        return _window_shape(op, attrs, shape)
    if op == "dropout":
        return shape
    if op in ("gap", "batchnorm"):
        if len(shape) != 3:
            raise NaapgnnError(f"{op} needs a feature map (C, H, W) input, got a vector of size {shape[0]}")
        return (shape[0],) if op == "gap" else shape
    if op == "linear":
        return (attrs["out_features"],)
    if op == "add":
        for other in shapes[1:]:
            if other != shape:
                raise NaapgnnError(f"add of mismatched shapes {fmt(shape)} and {fmt(other)}")
        return shape
    if op == "concat":
        vectors = [s for s in shapes if len(s) != 3]
        if vectors:  # after gap or linear: no spatial size to compare
            raise NaapgnnError(f"concat needs feature map (C, H, W) inputs, got a vector of size {vectors[0][0]}")
        for other in shapes:
            if other[1:] != shape[1:]:
                raise NaapgnnError(f"concat needs feature maps of one spatial size, got {fmt(shape)} and {fmt(other)}")
        return (sum(s[0] for s in shapes), *shape[1:])
    if op == "mul":
        return _product_shape(shapes)
    raise AssertionError(op)  # pragma: no cover - guarded by the parser


def _product_shape(shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    """Output shape of a ``mul``: the shape all inputs share, or the feature map that per-channel gates
    (``[C]`` or ``[C, 1, 1]``) scale."""
    maps = [s for s in shapes if len(s) == 3]
    out = max(maps, key=lambda s: s[1] * s[2]) if maps else shapes[0]
    gates = ((out[0],), (out[0], 1, 1)) if len(out) == 3 else ()
    for other in shapes:
        if other != out and other not in gates:
            expected = f" or per-channel gates {out[0]} or {out[0]}x1x1" if gates else ""
            raise NaapgnnError(f"mul of mismatched shapes {fmt(out)} and {fmt(other)} (expected equal shapes{expected})")
    return out


def window_span(op: str, attrs: dict) -> int:
    """The side of the input window one output reads: the kernel size, ``dilation * (k - 1) + 1`` for a
    dilated conv."""
    return attrs.get("dilation", 1) * (attrs["kernel_size"] - 1) + 1 if op == "conv" else attrs["kernel_size"]


def _window_shape(op: str, attrs: dict, shape: tuple[int, ...]) -> tuple[int, ...]:
    if len(shape) != 3:
        raise NaapgnnError(f"{op} needs a feature map (C, H, W) input, got a vector of size {shape[0]}")
    c, h, w = shape
    k, s, p = attrs["kernel_size"], attrs["stride"], attrs["padding"]
    if op != "conv" and p > k // 2:
        raise NaapgnnError(f"{op} padding {p} exceeds half the kernel size {k}")
    span = window_span(op, attrs)
    oh, ow = spatial(h, span, s, p), spatial(w, span, s, p)
    if oh < 1 or ow < 1:
        dilated = f" (dilation {attrs['dilation']}: a {span}x{span} window)" if span != k else ""
        raise NaapgnnError(f"{op} with kernel {k}{dilated}, stride {s}, padding {p} shrinks the {h}x{w} input "
                           "below 1x1")
    if op != "conv":
        return (c, oh, ow)
    out_c, groups = attrs["out_channels"], attrs["groups"]
    if c % groups or out_c % groups:
        raise NaapgnnError(f"conv groups {groups} must divide in_channels {c} and out_channels {out_c}")
    out = (out_c, oh, ow)
    if attrs["residual"] and out != shape:
        raise NaapgnnError(f"residual needs equal input and output shapes, got {fmt(shape)} -> {fmt(out)}")
    return out

"""NAS-Bench-201 (the NATS-Bench topology space) as naapgnn records.

All 15,625 cells of ``nats_bench.csv`` (one row per cell: the 200-epoch test
accuracy on CIFAR-10, CIFAR-100 and ImageNet16-120 and the cell in the
benchmark's notation ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``) become records
whose ``arch`` is the full network as a layer graph (:func:`nb201_network`), as
Dong & Yang (ICLR 2020) build it:

* a 3x3 conv stem (16 channels) -> BN;
* three stages of 5 copies of the cell at 16, 32, 64 channels; between stages
  a residual reduction block: ReLU-conv3x3 stride 2-BN, ReLU-conv3x3-BN, plus a
  shortcut 2x2 avg-pool (stride 2) -> 1x1 conv without bias or BN;
* BN -> ReLU, global average pooling, a linear classifier.

In a cell, node ``j`` (1..3) is the sum over ``i < j`` of ``op(i, j)(node i)``:
``nor_conv_kxk`` is a pre-activation conv (``order: "act-conv-bn"``),
``avg_pool_3x3`` an avgpool 3x3 / 1 with padding 1 (not counting the padding),
``skip_connect`` an identity edge (the layer reference itself, no layer) and
``none`` an absent edge. A node fed by one edge is that edge's layer; a node fed
by two or three is an ``add`` of them (a node reached twice through identity
edges is listed twice). A node whose edges are all ``none`` is cut off: it
becomes a ``zero`` layer of its shape, and the ops reading it stay in the
graph (they hold parameters that the benchmark counts, and output zeros).
Layers whose output nothing reads stay too (dead branches, counted in
:func:`naapgnn.arch.profiling.profile` like the benchmark's totals).
"""
from __future__ import annotations

import contextlib
import gc
from pathlib import Path

import numpy as np

from naapgnn.data.csv_rows import number, read_csv_rows
from naapgnn.errors import NaapgnnError

CELL_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # the order of the notation: node j, then i
DATASETS = {  # --dataset -> (CSV column, input shape, classes)
    "cifar10": ("CIFAR10TestAccuracy200Epochs", (3, 32, 32), 10),
    "cifar100": ("CIFAR100TestAccuracy200Epochs", (3, 32, 32), 100),
    "imagenet16": ("ImageNetTestAccuracy200Epochs", (3, 16, 16), 120),
}
ARCH_COLUMN = "ArchitectureString"
ID_PREFIX = "nb201-"
NUM_CELLS = 15625
CHANNELS = (16, 32, 64)
CELLS_PER_STAGE = 5


def parse_cell(text: str) -> dict[tuple[int, int], str]:
    """``{(i, j): op}`` of a cell in the benchmark's notation.

    Raises
    ------
    NaapgnnError
        Naming the part of the string that is wrong.
    """
    if not isinstance(text, str) or not text.startswith("|") or not text.endswith("|"):
        raise NaapgnnError(f"cell {text!r}: expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2|")
    nodes = text.split("+")
    if len(nodes) != 3:
        raise NaapgnnError(f"cell {text!r}: expected 3 nodes separated by '+', got {len(nodes)}")
    ops = {}
    for j, part in enumerate(nodes, start=1):
        entries = part.strip("|").split("|")
        if len(entries) != j:
            raise NaapgnnError(f"cell {text!r}: node {j} needs {j} inputs, got {len(entries)}")
        for i, entry in enumerate(entries):
            op, _, source = entry.partition("~")
            if op not in CELL_OPS:
                raise NaapgnnError(f"cell {text!r}: node {j}: unknown op {op!r} "
                                   f"(expected one of {', '.join(CELL_OPS)})")
            if source != str(i):
                raise NaapgnnError(f"cell {text!r}: node {j}: entry {entry!r} should read from node {i}")
            ops[(i, j)] = op
    return ops


def nb201_network(cell: dict[tuple[int, int], str] | str, dataset: str = "cifar10") -> dict:
    """The layer graph of the NAS-Bench-201 network with this cell (see the module docstring)."""
    if isinstance(cell, str):
        cell = parse_cell(cell)
    if dataset not in DATASETS:
        raise NaapgnnError(f"unknown NAS-Bench-201 dataset {dataset!r} (expected one of {', '.join(DATASETS)})")
    _, input_shape, classes = DATASETS[dataset]
    layers = [{"op": "conv", "out_channels": CHANNELS[0], "kernel_size": 3, "activation": "none"}]
    current, size = 0, input_shape[1]
    for stage, channels in enumerate(CHANNELS):
        if stage:
            size //= 2
            current = _reduction(layers, channels, current)
        for _ in range(CELLS_PER_STAGE):
            current = _cell(layers, cell, channels, size, current)
    layers += [{"op": "batchnorm", "activation": "relu", "inputs": [current]}, {"op": "gap"},
               {"op": "linear", "out_features": classes}]
    return {"input_shape": list(input_shape), "num_classes": classes, "layers": layers}


def nb201_architecture(cell: dict[tuple[int, int], str] | str, dataset: str = "cifar10"):
    """``parse_architecture(nb201_network(cell, dataset))``, built without validating every layer anew.

    The 15,625 networks are made of about twenty layer specs (an op, its fields and its input shape)
    per dataset: each is validated once by the format's parser (:func:`naapgnn.arch.format.parse_layer`)
    and its copies share the resulting fields and shapes. The cell's layers are laid out once per network
    and repeated in its 15 cells, and a layer equal to one already made (same index and inputs too; 3,657
    distinct among the 1.48 million) is that same immutable :class:`~naapgnn.arch.format.Layer`. A test
    checks that both ways give equal architectures; :func:`read_nb201` uses this one.
    """
    from naapgnn.arch.format import Architecture, Layer

    if isinstance(cell, str):
        cell = parse_cell(cell)
    if dataset not in DATASETS:
        raise NaapgnnError(f"unknown NAS-Bench-201 dataset {dataset!r} (expected one of {', '.join(DATASETS)})")
    _, input_shape, classes = DATASETS[dataset]
    entries, output = _cell_template(cell)
    layers: list = []
    current = _known_layer(layers, input_shape, (dataset, "stem"),
                           {"op": "conv", "out_channels": CHANNELS[0], "kernel_size": 3, "activation": "none"})
    size = input_shape[1]
    for stage, channels in enumerate(CHANNELS):
        if stage:
            size //= 2
            block: list = []
            base = len(layers)
            _reduction(block, channels, current - base)  # indices counted from the block's start
            for t, raw in enumerate(block):
                raw["inputs"] = [base + i for i in raw.get("inputs", [t - 1])]
                current = _known_layer(layers, input_shape, (dataset, stage, t), raw)
        kinds = [_entry_id(kind, channels, size, inputs, t) for t, (kind, inputs) in enumerate(entries)]
        for _ in range(CELLS_PER_STAGE):
            base = len(layers)
            for kind, (_, inputs) in zip(kinds, entries):
                index = len(layers)
                layer = _LAYERS.get((index, current, kind))
                if layer is None:
                    op, attrs, in_shape, out_shape = _cell_spec(*_ENTRIES[kind])
                    layer = _LAYERS[index, current, kind] = Layer(
                        index, op, tuple(current if i < 0 else base + i for i in inputs), attrs, in_shape, out_shape)
                layers.append(layer)
            current = current if output < 0 else base + output
    for t, raw in enumerate(({"op": "batchnorm", "activation": "relu", "inputs": [current]}, {"op": "gap"},
                             {"op": "linear", "out_features": classes})):
        _known_layer(layers, input_shape, (dataset, "head", t), raw)
    return Architecture(input_shape, classes, tuple(layers))


_SPECS: dict = {}  # a layer's place -> (op, attrs, in_shape, out_shape), validated the first time
_LAYERS: dict = {}  # (index, inputs or the cell's input, place) -> the shared Layer
_ENTRIES: list = []  # a cell layer's (kind, channels, size) by id
_ENTRY_IDS: dict = {}  # (kind, channels, size, inputs, position in the cell) -> its id


def _entry_id(kind: str, channels: int, size: int, inputs: tuple, position: int) -> int:
    """An id of a cell's layer that, with its index and the cell's input, says which layer it is."""
    key = (kind, channels, size, inputs, position)
    if key not in _ENTRY_IDS:
        _ENTRY_IDS[key] = len(_ENTRIES)
        _ENTRIES.append((kind, channels, size))
    return _ENTRY_IDS[key]


def _known_layer(layers: list, input_shape: tuple, key: tuple, raw: dict) -> int:
    """Append the layer ``raw`` (validated the first time ``key`` is seen); return its index."""
    from naapgnn.arch.format import Layer, parse_layer

    index = len(layers)
    inputs = tuple(raw.get("inputs", (index - 1,)))
    layer = _LAYERS.get((index, inputs, key))
    if layer is None:
        spec = _SPECS.get(key)
        if spec is None:
            layer = parse_layer(index, raw, layers, input_shape)
            spec = _SPECS[key] = (layer.op, layer.attrs, layer.in_shape, layer.out_shape)
        layer = _LAYERS[index, inputs, key] = Layer(index, spec[0], inputs, *spec[1:])
    layers.append(layer)
    return index


def _cell_spec(kind: str, channels: int, size: int) -> tuple:
    """``(op, attrs, in_shape, out_shape)`` of a cell's layer (all its tensors are ``channels x size x size``)."""
    key = ("cell", kind, channels, size)
    if key not in _SPECS:
        from naapgnn.arch.format import parse_layer

        if kind == "add":
            raw = {"op": "add", "inputs": [-1, -1]}
        elif kind == "zero":
            raw = {"op": "zero", "shape": [channels, size, size]}
        else:
            raw = _edge_layer(kind, channels, -1)
        layer = parse_layer(0, raw, [], (channels, size, size))
        _SPECS[key] = (layer.op, layer.attrs, layer.in_shape, layer.out_shape)
    return _SPECS[key]


def _preact_conv(channels: int, kernel: int, source: int, stride: int = 1) -> dict:
    return {"op": "conv", "out_channels": channels, "kernel_size": kernel, "stride": stride,
            "order": "act-conv-bn", "inputs": [source]}


def _reduction(layers: list, channels: int, source: int) -> int:
    """Append the residual reduction block reading ``source``; return the index of its output."""
    layers.append(_preact_conv(channels, 3, source, stride=2))
    layers.append(_preact_conv(channels, 3, len(layers) - 1))
    main = len(layers) - 1
    layers.append({"op": "avgpool", "kernel_size": 2, "stride": 2, "inputs": [source]})
    layers.append({"op": "conv", "out_channels": channels, "kernel_size": 1, "batchnorm": False, "bias": False,
                   "activation": "none"})
    layers.append({"op": "add", "inputs": [main, len(layers) - 1]})
    return len(layers) - 1


def _cell(layers: list, cell: dict, channels: int, size: int, source: int) -> int:
    """Append one cell reading ``source``; return the index of the layer holding its output (node 3)."""
    entries, output = _cell_template(cell)
    base = len(layers)
    for kind, inputs in entries:
        inputs = [source if i < 0 else base + i for i in inputs]
        if kind == "add":
            layers.append({"op": "add", "inputs": inputs})
        elif kind == "zero":
            layers.append({"op": "zero", "shape": [channels, size, size]})
        else:
            layers.append(_edge_layer(kind, channels, inputs[0]))
    return source if output < 0 else base + output


def _cell_template(cell: dict) -> tuple[list[tuple[str, tuple[int, ...]]], int]:
    """The layers of one cell as ``(kind, inputs)`` (kind: an op of an edge, ``add`` or ``zero``; inputs:
    positions among the cell's layers, -1 for the cell's input) and the position of its output (node 3)."""
    entries: list[tuple[str, tuple[int, ...]]] = []
    node = {0: -1}  # cell node -> position of the layer holding its value
    for j in (1, 2, 3):
        terms = []
        for i in range(j):
            op = cell[(i, j)]
            if op == "skip_connect":
                terms.append(node[i])
            elif op != "none":
                entries.append((op, (node[i],)))
                terms.append(len(entries) - 1)
        if len(terms) == 1:
            node[j] = terms[0]
            continue
        entries.append(("add", tuple(terms)) if terms else ("zero", ()))
        node[j] = len(entries) - 1
    return entries, node[3]


def _edge_layer(op: str, channels: int, source: int) -> dict:
    if op == "avg_pool_3x3":
        return {"op": "avgpool", "kernel_size": 3, "stride": 1, "padding": 1, "count_include_pad": False,
                "inputs": [source]}
    return _preact_conv(channels, 1 if op == "nor_conv_1x1" else 3, source)


def read_nb201(path: str | Path, dataset: str = "cifar10", train: int | None = None, seed: int = 0) -> list:
    """Records of every cell of ``nats_bench.csv``, in row order.

    Parameters
    ----------
    path : str or Path
        ``nats_bench.csv``.
    dataset : {"cifar10", "cifar100", "imagenet16"}
        Which accuracy is the target, and the input shape and classes of the network.
    train : int, optional
        Mark this many cells (a seeded random draw) ``"train"`` and the rest
        ``"test"``; default: no split.
    seed : int
        Seed of the draw.

    Returns
    -------
    list of Record
        id ``nb201-<row>`` (0-based data row), the network of :func:`nb201_network`,
        target = 200-epoch test accuracy / 100.
    """
    if dataset not in DATASETS:
        raise NaapgnnError(f"unknown NAS-Bench-201 dataset {dataset!r} (expected one of {', '.join(DATASETS)})")
    column = DATASETS[dataset][0]
    rows = read_csv_rows(Path(path), (ARCH_COLUMN, column), "the NAS-Bench-201 nats_bench.csv")
    if train is not None and not 0 < train < len(rows):
        raise NaapgnnError(f"--train must be between 1 and {len(rows) - 1} "
                           f"(the file has {len(rows)} cells), got {train}")
    is_train = np.zeros(len(rows), dtype=bool)
    if train is not None:
        is_train[np.random.default_rng(seed).permutation(len(rows))[:train]] = True
    with _gc_paused():
        records = _records(path, rows, dataset, column, None if train is None else is_train)
    if len(records) > 1 and max(r.target for r in records) <= 0.01:
        raise NaapgnnError(f"{path}: column {column}: every accuracy is at most 1, where nats_bench.csv gives "
                           f"percent (fractions already? multiply them by 100)")
    return records


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector: 1.5 million new layer objects (no cycles among
    them) would otherwise trigger full collections that scan everything built so far."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _records(path, rows: list, dataset: str, column: str, is_train: np.ndarray | None) -> list:
    from naapgnn.data.records import Record

    records, first_line = [], {}
    for i, (line, row) in enumerate(rows):
        where = f"{path} line {line}"
        cell = row[ARCH_COLUMN]
        if first_line.setdefault(cell, line) != line:  # NAS-Bench-201 holds each of its cells once
            raise NaapgnnError(f"{where}: column {ARCH_COLUMN}: the cell of line {first_line[cell]} again (each cell "
                               "is one row)")
        try:
            arch = nb201_architecture(parse_cell(cell), dataset)
        except NaapgnnError as exc:
            raise NaapgnnError(f"{where}: column {ARCH_COLUMN}: {exc}") from None
        records.append(Record(
            id=f"{ID_PREFIX}{i}",
            arch=arch,
            target=_accuracy(row, column, where),
            split=None if is_train is None else ("train" if is_train[i] else "test"),
        ))
    return records


def _accuracy(row: dict, column: str, where: str) -> float:
    value = number(row, column, where)
    if not 0 <= value <= 100:
        raise NaapgnnError(f"{where}: column {column}: accuracy {row[column]} is outside [0, 100]")
    return value / 100

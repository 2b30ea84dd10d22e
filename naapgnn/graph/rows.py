"""A layer's raw node row, and the table of the rows of the distinct layers seen so far.

The graph encoding (:mod:`naapgnn.graph.encoding`) describes a node by a raw
row, its type index then its raw values (channels, kernel, stride, sizes,
params, MACs, receptive field, flags, depth, groups); its node features are
computed from the rows of all the nodes at once. All of a row but the
receptive field and the depth depends on the layer alone, so it is made once
per distinct layer (:class:`RowTable`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naapgnn.arch.profiling import layer_cost, spatial_size

__all__ = ["NODE_TYPES", "TYPE_INDEX", "RAW_COLUMNS", "RF_COLUMN", "DEPTH_COLUMN", "Node", "node_row", "RowTable",
           "layer_node"]

NODE_TYPES = ("input", "conv", "maxpool", "avgpool", "dropout", "linear", "add", "gap", "classifier",
              "concat", "batchnorm", "zero", "mul")
TYPE_INDEX = {kind: i for i, kind in enumerate(NODE_TYPES)}
RAW_COLUMNS = 18  # a node's type index, then its 17 raw values (see node_row)
RF_COLUMN, DEPTH_COLUMN = 9, 14  # the two raw values that depend on the node's place in the graph


@dataclass(slots=True)
class Node:
    kind: str
    label: str
    channels_in: int
    channels_out: int
    kernel: int
    stride: int
    size_in: int
    size_out: int
    params: int
    macs: int
    receptive_field: float
    batchnorm: bool = False
    activation: bool = False
    dropout_p: float = 0.0
    residual: bool = False
    depth: int = 0
    groups: int = 1
    act_before_conv: bool = False
    bn_before_conv: bool = False


def node_row(node: Node) -> tuple:
    """A node's raw row: its type index, then its 17 raw values (the fields of :class:`Node` after ``label``)."""
    return (TYPE_INDEX[node.kind], node.channels_in, node.channels_out, node.kernel, node.stride, node.size_in,
            node.size_out, node.params, node.macs, node.receptive_field, node.batchnorm, node.activation,
            node.dropout_p, node.residual, node.depth, node.groups, node.act_before_conv, node.bn_before_conv)


class RowTable:
    """The raw rows of the distinct layers seen so far (a layer's op, fields and shapes, and whether it
    is the classifier), in a growing float64 table; networks repeat a few layers many times."""

    def __init__(self, limit: int = 50000):
        self.limit = limit
        self._reset()

    def _reset(self) -> None:
        self.index: dict = {}
        # id(layer) -> (layer, is_last, row ids) until the next gather; the layer is kept, so its id stays its own
        self.by_layer: dict = {}
        self.table = np.zeros((64, RAW_COLUMNS))
        self.count = 0

    def _add(self, row: tuple) -> int:
        if self.count == len(self.table):
            self.table = np.concatenate([self.table, np.zeros_like(self.table)])
        self.table[self.count] = row
        self.count += 1
        return self.count - 1

    def input_row(self, channels: int, size: int) -> int:
        key = ("input", channels, size)
        if key not in self.index:
            self.index[key] = self._add((TYPE_INDEX["input"], channels, channels, 0, 0, size, size, 0, 0, 1.0,
                                         False, False, 0.0, False, 0, 1, False, False))
        return self.index[key]

    def layer_rows(self, layer, is_last: bool) -> tuple[int, int, tuple[int, ...]]:
        """Row ids of the layer's node and of its residual add node (-1 if none), and the node's in-edges
        ``(source, target, ...)`` when node ``k + 1`` is layer ``k`` (None for a residual conv)."""
        seen = self.by_layer.get(id(layer))  # layers shared between networks (NAS-Bench-201's): looked up once
        if seen is not None and seen[0] is layer and seen[1] == is_last:
            return seen[2]
        classifier = is_last and layer.op == "linear"
        key = (layer.op, layer.in_shape, layer.out_shape, classifier, tuple(layer.attrs.items()))
        try:
            found = self.index.get(key)
        except TypeError:  # a list-valued field (zero's shape)
            key = (*key[:4], repr(key[4]))
            found = self.index.get(key)
        if found is None:
            found = self.index[key] = self._rows(layer, classifier)
        edges = None if found[1] >= 0 else _in_edges(layer.inputs, layer.index + 1)
        found = (*found, edges)
        self.by_layer[id(layer)] = (layer, is_last, found)
        return found

    def _rows(self, layer, classifier: bool) -> tuple[int, int]:
        node = layer_node(layer, classifier, layer_cost(layer), 1.0)
        residual = -1
        if layer.op == "conv" and layer.attrs["residual"]:
            add = Node("add", "", node.channels_out, node.channels_out, 0, 0, node.size_out, node.size_out, 0, 0,
                       1.0, residual=True)
            residual = self._add(node_row(add))
        return self._add(node_row(node)), residual

    def gather(self, ids: list[int]) -> np.ndarray:
        rows = self.table[ids]
        if self.count > self.limit:  # the rows gathered are copies
            self._reset()
        self.by_layer = {}  # kept longer, it would keep every layer encoded alive for the garbage collector to walk
        return rows


def _in_edges(inputs, target: int) -> tuple[int, ...]:
    """``(source, target, ...)`` for the node ids of a layer's inputs (node ``k + 1`` is layer ``k``)."""
    edges = []
    for i in inputs:
        edges += (i + 1, target)
    return tuple(edges)


def layer_node(layer, is_last: bool, cost, rf: float) -> Node:
    a = layer.attrs
    op = layer.op
    kind = "classifier" if is_last and op == "linear" else op
    in_shape, out_shape = layer.in_shape, layer.out_shape
    node = Node(kind, "", in_shape[0], out_shape[0], a.get("kernel_size", 0), a.get("stride", 0),
                spatial_size(in_shape), spatial_size(out_shape),
                cost.params, cost.macs, rf)
    if op == "conv":
        node.batchnorm = a["batchnorm"]
        node.activation = a["activation"] != "none"
        node.groups = a["groups"]
        node.act_before_conv = a["order"] != "conv-bn-act" and node.activation
        node.bn_before_conv = a["order"] == "bn-act-conv" and a["batchnorm"]
    elif op == "dropout":
        node.dropout_p = a["p"]
    elif op in ("linear", "add", "concat", "batchnorm", "mul"):
        node.activation = a.get("activation", "none") != "none"
        node.batchnorm = op == "batchnorm"
    return node

"""The graph encoding: an architecture as a PyTorch Geometric ``Data`` DAG.

One node per operation: the network input, each conv block (conv + batch norm
+ activation), pool, dropout, linear, add, global pool and the classifier. A
conv block with ``residual`` becomes a conv node followed by an add node whose
second input is the block input, so both architecture forms encode alike.
Edges follow the data flow (residual edges included).

Node features (``data.x``, :data:`NODE_FEATURES` columns): a one-hot op type,
then channels in/out (log2), kernel, stride, spatial size in/out (log2), the
node's own params and MACs (log), its receptive field (log2 and as a fraction of
the input size), batch norm, activation, dropout rate, whether it closes a
residual, its share of the network's MACs and its relative depth.

Graph attributes (``data.graph_attr``, shape ``[1, 4]``): log params, log MACs,
depth (conv and linear layers on the longest path) and number of downsampling
stages.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import networkx as nx
import torch
from torch_geometric.data import Data

from naapgnn.arch.format import NETWORK_INPUT, Architecture, parse_architecture
from naapgnn.arch.profiling import layer_cost, receptive_fields, weighted_depth

NODE_TYPES = ("input", "conv", "maxpool", "avgpool", "dropout", "linear", "add", "gap", "classifier")
NUMERIC_FEATURES = (
    "log2_channels_in",
    "log2_channels_out",
    "kernel_size",
    "stride",
    "log2_size_in",
    "log2_size_out",
    "log_params",
    "log_macs",
    "log2_receptive_field",
    "receptive_field_fraction",
    "batchnorm",
    "activation",
    "dropout_p",
    "residual",
    "macs_share",
    "relative_depth",
)
NODE_FEATURES = tuple(f"is_{t}" for t in NODE_TYPES) + NUMERIC_FEATURES
GRAPH_ATTRS = ("log_params", "log_macs", "depth", "stages")
ENCODING_VERSION = 1


@dataclass
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


def encode(arch: Any) -> Data:
    """Encode an architecture as a directed graph for PyTorch Geometric.

    Parameters
    ----------
    arch : Architecture, scheme list or layer-graph dict

    Returns
    -------
    torch_geometric.data.Data
        ``x`` ``[num_nodes, len(NODE_FEATURES)]``, ``edge_index`` ``[2, num_edges]``,
        ``node_type`` ``[num_nodes]`` (index into :data:`NODE_TYPES`),
        ``graph_attr`` ``[1, 4]`` and the integer totals ``num_params`` and
        ``num_macs`` (``[1]`` each).
    """
    arch = parse_architecture(arch)
    nodes, edges = _build_nodes(arch)
    total_macs = max(sum(n.macs for n in nodes), 1)
    max_depth = max(max(n.depth for n in nodes), 1)
    rows = [_features(n, arch.input_shape[1], total_macs, max_depth) for n in nodes]
    params = sum(n.params for n in nodes)
    stages = sum(1 for n in nodes if n.size_out < n.size_in and n.size_out > 0)
    depth = weighted_depth(arch)
    return Data(
        x=torch.tensor(rows, dtype=torch.float32),
        edge_index=torch.tensor(edges, dtype=torch.long).t().reshape(2, -1),
        node_type=torch.tensor([NODE_TYPES.index(n.kind) for n in nodes], dtype=torch.long),
        graph_attr=torch.tensor(
            [[math.log(params), math.log(max(total_macs, 1)), float(depth), float(stages)]], dtype=torch.float32
        ),
        num_params=torch.tensor([params], dtype=torch.long),
        num_macs=torch.tensor([total_macs], dtype=torch.long),
        num_nodes=len(nodes),
    )


def _build_nodes(arch: Architecture) -> tuple[list[Node], list[tuple[int, int]]]:
    c, h, _ = arch.input_shape
    nodes = [Node("input", f"input\n{c}x{h}x{arch.input_shape[2]}", c, c, 0, 0, h, h, 0, 0, 1.0)]
    node_of = {NETWORK_INPUT: 0}  # layer index -> node producing its output
    edges: list[tuple[int, int]] = []
    last = len(arch.layers) - 1
    for layer, rf in zip(arch.layers, receptive_fields(arch)):
        sources = [node_of[i] for i in layer.inputs]
        cost = layer_cost(layer)
        node = _layer_node(layer, layer.index == last, cost, rf)
        node.depth = max(nodes[s].depth for s in sources) + (1 if layer.op in ("conv", "linear") else 0)
        here = len(nodes)
        nodes.append(node)
        edges += [(s, here) for s in sources]
        if layer.op == "conv" and layer.attrs["residual"]:
            add = Node("add", "add (residual)", node.channels_out, node.channels_out, 0, 0,
                       node.size_out, node.size_out, 0, 0, rf, residual=True, depth=node.depth)
            nodes.append(add)
            edges += [(here, here + 1), (sources[0], here + 1)]
            here += 1
        node_of[layer.index] = here
    return nodes, edges


def _layer_node(layer, is_last: bool, cost, rf: float) -> Node:
    a = layer.attrs
    cin = layer.in_shape[0]
    cout = layer.out_shape[0]
    size_in = layer.in_shape[1] if len(layer.in_shape) == 3 else 0
    size_out = layer.out_shape[1] if len(layer.out_shape) == 3 else 0
    kind = "classifier" if is_last and layer.op == "linear" else layer.op
    node = Node(kind, "", cin, cout, a.get("kernel_size", 0), a.get("stride", 0),
                size_in, size_out, cost.params, cost.macs, rf)
    if layer.op == "conv":
        node.batchnorm = a["batchnorm"]
        node.activation = a["activation"] != "none"
        act = "" if a["activation"] == "none" else f"+{a['activation']}"
        bn = "+bn" if a["batchnorm"] else ""
        node.label = f"conv {node.kernel}x{node.kernel}/{node.stride}{bn}{act}\n{cin}->{cout}, {size_out}x{size_out}"
    elif layer.op in ("maxpool", "avgpool"):
        node.label = f"{layer.op} {node.kernel}x{node.kernel}/{node.stride}\n{cout}, {size_out}x{size_out}"
    elif layer.op == "dropout":
        node.dropout_p = a["p"]
        node.label = f"dropout p={a['p']:g}"
    elif layer.op == "linear":
        node.activation = a["activation"] != "none"
        act = "" if a["activation"] == "none" else f"+{a['activation']}"
        node.label = f"{'classifier' if kind == 'classifier' else 'linear'}{act}\n{math.prod(layer.in_shape)}->{cout}"
    elif layer.op == "gap":
        node.label = f"global avg pool\n{cin}"
    elif layer.op == "add":
        node.activation = a["activation"] != "none"
        act = "" if a["activation"] == "none" else f"+{a['activation']}"
        node.label = f"add{act}\n{cout}, {size_out}x{size_out}" if size_out else f"add{act}\n{cout}"
    return node


def _features(n: Node, input_size: int, total_macs: int, max_depth: int) -> list[float]:
    onehot = [0.0] * len(NODE_TYPES)
    onehot[NODE_TYPES.index(n.kind)] = 1.0
    return onehot + [
        math.log2(1 + n.channels_in),
        math.log2(1 + n.channels_out),
        float(n.kernel),
        float(n.stride),
        math.log2(1 + n.size_in),
        math.log2(1 + n.size_out),
        math.log1p(n.params),
        math.log1p(n.macs),
        math.log2(n.receptive_field),
        min(n.receptive_field / input_size, 4.0),
        float(n.batchnorm),
        float(n.activation),
        n.dropout_p,
        float(n.residual),
        n.macs / total_macs,
        n.depth / max_depth,
    ]


def to_networkx(arch: Any) -> nx.DiGraph:
    """The encoded DAG as a networkx graph (node attrs: ``kind``, ``label``)."""
    arch = parse_architecture(arch)
    nodes, edges = _build_nodes(arch)
    graph = nx.DiGraph()
    for i, n in enumerate(nodes):
        graph.add_node(i, kind=n.kind, label=n.label, params=n.params, macs=n.macs)
    graph.add_edges_from(edges)
    if not nx.is_directed_acyclic_graph(graph):  # pragma: no cover - parse forbids cycles
        raise AssertionError("encoded graph has a cycle")
    return graph


def summary(arch: Any) -> dict:
    """Nodes, edges, params and MACs of the encoded graph."""
    data = encode(arch)
    return {
        "nodes": int(data.num_nodes),
        "edges": int(data.edge_index.shape[1]),
        "params": int(data.num_params.item()),
        "macs": int(data.num_macs.item()),
    }

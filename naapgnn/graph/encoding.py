"""The graph encoding: an architecture as a PyTorch Geometric ``Data`` DAG.

One node per operation: the network input, each conv block (conv + batch norm
+ activation, in its order), pool, dropout, linear, add, concat, mul, standalone
batch norm, zero (a node cut off from the input: no in-edge), global pool and
the classifier. A
conv block with ``residual`` becomes a conv node followed by an add node whose
second input is the block input, so both architecture forms encode alike.
Edges follow the data flow (residual edges included); an input an add lists
twice gives two parallel edges. Dead branches keep their nodes.

Node features (``data.x``, :data:`NODE_FEATURES` columns): a one-hot op type,
then channels in/out (log2), kernel, stride, spatial size in/out (log2), the
node's own params and MACs (log), its receptive field (log2 and as a fraction of
the input size), batch norm, activation, dropout rate, whether it closes a
residual, its share of the network's MACs, its relative depth, log2 groups,
whether the activation / batch norm come before the conv (pre-activation),
and log2 of the node's repeat count (0 unless folded).
Version 2 (:data:`ENCODING_VERSION`) added three types and the three columns
before the last; version 3 the repeat count; version 4 the path statistics; version 5 the ``mul`` type (``is_mul``, after
``is_zero``: the numeric columns move one place right); version 6 reads a non-square map's size as the geometric mean
of its height and width (:func:`naapgnn.arch.profiling.spatial_size`; the height before, so a network and its
transpose read differently), a square map's as before. Other columns keep their values.

``fold=True`` folds each run of identical consecutive blocks (a stage of
NAS-Bench-201 cells, of ResNet blocks) into its first copy, whose nodes carry
the repeat count (:mod:`naapgnn.graph.folding`): the same network in a graph
up to as many times smaller. Node values that depend on the place in the
network (receptive field, depth) are the first copy's; graph attributes are
those of the whole network.

Graph attributes (``data.graph_attr``, shape ``[1, 4]``): log params, log MACs,
depth (conv and linear layers on the longest path) and number of downsampling
stages. Path statistics (``data.path_stats``, ``[1, 6]``, :data:`naapgnn.graph.paths.PATH_STATISTICS`):
how the input-to-classifier paths are made, of the whole network (folded or not); the
graph network does not read them, the statistics beside it do (:mod:`naapgnn.graph.statistics`).
"""
from __future__ import annotations

import math
from itertools import chain
from typing import TYPE_CHECKING, Any, NamedTuple, Sequence

import numpy as np

from naapgnn.arch.format import Architecture, parse_architecture
from naapgnn.arch.profiling import layer_costs, layer_depths, receptive_fields, spatial_size
from naapgnn.errors import NaapgnnError
from naapgnn.graph.folding import cut_nodes, fold_repeats
from naapgnn.graph.paths import PATH_STATISTICS, path_statistics
from naapgnn.graph.rows import (DEPTH_COLUMN, NODE_TYPES, RAW_COLUMNS, RF_COLUMN, TYPE_INDEX, Node, RowTable,
                                layer_node)

if TYPE_CHECKING:  # torch and PyG load only when a graph is built, so `naapgnn encode` starts fast
    import networkx as nx
    from torch_geometric.data import Data

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
    "log2_groups",
    "act_before_conv",
    "bn_before_conv",
    "log2_repeats",
)
NODE_FEATURES = tuple(f"is_{t}" for t in NODE_TYPES) + NUMERIC_FEATURES
GRAPH_ATTRS = ("log_params", "log_macs", "depth", "stages")
ENCODING_VERSION = 6
SQUARE_COMPATIBLE = 5  # the encoding computing this one's features on networks of square inputs
# Node types added after encoding version 4: a model reads their columns only when a training graph has the type
# (:func:`naapgnn.models.inputs.node_columns`), so a model of networks without them is the one it was before.
EXTENSION_TYPES = ("mul",)


def encode(arch: Any, fold: bool = False) -> Data:
    """Encode an architecture as a directed graph for PyTorch Geometric.

    Parameters
    ----------
    arch : Architecture, scheme list or layer-graph dict
    fold : bool
        Fold runs of identical blocks into one copy with a repeat count.

    Returns
    -------
    torch_geometric.data.Data
        ``x`` ``[num_nodes, len(NODE_FEATURES)]``, ``edge_index`` ``[2, num_edges]``,
        ``node_type`` ``[num_nodes]`` (index into :data:`NODE_TYPES`),
        ``graph_attr`` ``[1, 4]``, ``path_stats`` ``[1, 6]`` and the integer totals ``num_params`` and
        ``num_macs`` (``[1]`` each).
    """
    return encode_many([arch], fold=fold)[0]


def encode_many(archs: Sequence[Any], totals: bool = True, fold: bool = False) -> list[Data]:
    """:func:`encode` of each architecture; the node features of all of them are computed in one pass.

    Parameters
    ----------
    archs : sequence of Architecture, scheme list or layer-graph dict
    totals : bool
        Also ``node_type``, ``num_params`` and ``num_macs``. The GNN predictor reads
        only ``x``, ``edge_index``, ``graph_attr`` (its network) and ``path_stats`` (its statistics).
    fold : bool
        Fold runs of identical blocks (:func:`encode`).

    Returns
    -------
    list of torch_geometric.data.Data
        ``encode(a)`` for each ``a``, equal to it bit for bit (their ``x`` and
        ``node_type`` are views of one tensor each: collate them, or ``clone`` before changing one in place).
    """
    import torch
    from torch_geometric.data import Data

    enc = encode_arrays(archs, fold)
    sizes = enc.sizes.tolist()
    if totals:
        for i, (params, macs) in enumerate(enc.totals):
            if max(params, macs) >= 2 ** 63:
                raise NaapgnnError(f"network {i}: {params:.3g} parameters, {macs:.3g} MACs: beyond what naapgnn "
                                   "counts (2^63)")
        if len(sizes) == 1:  # one network (encode): splitting would cost more than its arrays took
            (params, macs), = enc.totals
            return [Data(x=torch.from_numpy(enc.x), edge_index=torch.from_numpy(enc.edge_index),
                         node_type=torch.from_numpy(enc.node_type), graph_attr=torch.from_numpy(enc.graph_attr),
                         path_stats=torch.from_numpy(enc.path_stats), num_params=torch.tensor([params]),
                         num_macs=torch.tensor([macs]), num_nodes=sizes[0])]
    x = torch.from_numpy(enc.x).split(sizes)
    attrs = torch.from_numpy(enc.graph_attr).split(1)
    paths = torch.from_numpy(enc.path_stats).split(1)
    edge_index = torch.from_numpy(enc.edge_index).split(enc.edge_counts.tolist(), dim=1)
    if not totals:
        return [Data(x=x_i, edge_index=e, graph_attr=a, path_stats=p) for x_i, e, a, p in zip(x, edge_index, attrs, paths)]
    counts = torch.tensor(enc.totals, dtype=torch.long).reshape(-1, 2)
    node_type = torch.from_numpy(enc.node_type).split(sizes)
    return [Data(x=x_i, edge_index=e, node_type=t, graph_attr=a, path_stats=ps, num_params=p, num_macs=m, num_nodes=size)
            for x_i, e, t, a, ps, p, m, size in zip(x, edge_index, node_type, attrs, paths,
                                                    counts[:, 0].split(1), counts[:, 1].split(1), sizes)]


class EncodedGraphs(NamedTuple):
    """The encoded graphs of many architectures as flat arrays (:func:`encode_arrays`)."""

    x: np.ndarray  # [nodes, len(NODE_FEATURES)] float32, the graphs' nodes one after the other
    node_type: np.ndarray  # [nodes] int64
    sizes: np.ndarray  # [graphs] int64, nodes per graph
    edge_index: np.ndarray  # [2, edges] int64, each graph's edges numbered within the graph
    edge_counts: np.ndarray  # [graphs] int64
    graph_attr: np.ndarray  # [graphs, len(GRAPH_ATTRS)] float32
    path_stats: np.ndarray  # [graphs, len(PATH_STATISTICS)] float32
    totals: list  # per graph (params, MACs), Python ints


def encode_arrays(archs: Sequence[Any], fold: bool = False) -> EncodedGraphs:
    """What :func:`encode_many` puts in its ``Data`` objects, as arrays over all the graphs.

    Parameters
    ----------
    archs : sequence of Architecture, scheme list or layer-graph dict
    fold : bool
        Fold runs of identical blocks (:func:`encode`).

    Returns
    -------
    EncodedGraphs
    """
    archs = [parse_architecture(a) for a in archs]
    nodes, rows = _gathered_nodes(archs)
    ids = [n[0] for n in nodes]
    sizes = np.array([len(i) for i in ids], dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    placed = np.ones(len(rows), dtype=bool)  # every node but the inputs, whose rows are all their own
    placed[starts] = False
    rows[placed, RF_COLUMN] = list(chain.from_iterable(n[2] for n in nodes))
    rows[placed, DEPTH_COLUMN] = list(chain.from_iterable(n[3] for n in nodes))
    per_graph, graph_attr, totals = _graph_values(rows, starts, [spatial_size(a.input_shape) for a in archs])
    edges = [n[1] for n in nodes]
    cuts = [cut_nodes(len(i), e) for i, e in zip(ids, edges)]
    paths = _path_statistics(rows, starts, edges, cuts)
    repeats = np.ones(len(rows))
    if fold:
        rows, sizes, edges, repeats = _folded(rows, starts, ids, edges, cuts)
    return EncodedGraphs(
        x=_feature_matrix(rows, np.repeat(per_graph, sizes, axis=0), repeats),
        node_type=rows[:, 0].astype(np.int64), sizes=sizes,
        edge_index=np.fromiter(chain.from_iterable(edges), dtype=np.int64).reshape(-1, 2).T.copy(),
        edge_counts=np.array([len(e) // 2 for e in edges], dtype=np.int64), graph_attr=graph_attr,
        path_stats=np.array(paths, dtype=np.float32).reshape(-1, len(PATH_STATISTICS)), totals=totals)


_CHUNK = 4096  # architectures whose rows are gathered at once (the row table may start afresh only in between)


def _gathered_nodes(archs: list[Architecture]) -> tuple[list, np.ndarray]:
    """:func:`_graph_nodes` of each architecture, and the raw rows of all their nodes ``[nodes, 18]``."""
    nodes, parts = [], [np.zeros((0, RAW_COLUMNS))]
    for first in range(0, len(archs), _CHUNK):
        chunk = [_graph_nodes(a) for a in archs[first:first + _CHUNK]]
        parts.append(_ROWS.gather(list(chain.from_iterable(n[0] for n in chunk))))
        nodes += chunk
    return nodes, np.concatenate(parts)


def _graph_nodes(arch: Architecture) -> tuple:
    """Row ids (:class:`naapgnn.graph.rows.RowTable`) of the nodes of ``arch``'s graph, its flat edge list
    ``[s0, d0, s1, d1, ...]``, and the receptive field and depth of each node after the input.

    A node's row is that of :func:`_build_nodes` (the same values, in :func:`naapgnn.graph.rows.node_row`
    order); all of it but the receptive field and the depth depends on the layer alone, so it is made once
    per distinct layer and gathered for all the graphs at once.
    """
    c, side = arch.input_shape[0], spatial_size(arch.input_shape)
    last = arch.layers[-1]
    layer_rows = _ROWS.layer_rows
    found = [layer_rows(layer, layer is last) for layer in arch.layers]
    in_edges = [layer_edges for _, _, layer_edges in found]
    fields, depths = receptive_fields(arch), list(layer_depths(arch))
    if None in in_edges:  # a residual conv adds a node: node k + 1 is no longer layer k
        ids, edges, fields, depths = _with_residual_nodes(arch, found, fields, depths)
    else:  # node k + 1 is layer k, and a layer's edges depend on it alone
        ids = [row for row, _, _ in found]
        edges = list(chain.from_iterable(in_edges))
    return [_ROWS.input_row(c, side), *ids], edges, fields, depths


def _graph_values(rows: np.ndarray, starts: np.ndarray, heights: list) -> tuple:
    """Per graph (its nodes' ``rows`` from ``starts`` on; ``heights``: input sizes): (input size, total MACs,
    maximum depth) ``[graphs, 3]``, the graph attributes ``[graphs, 4]`` float32 and (params, MACs)."""
    if not len(starts):
        return np.zeros((0, 3)), np.zeros((0, len(GRAPH_ATTRS)), dtype=np.float32), []
    params = [int(v) for v in np.add.reduceat(rows[:, 7], starts).tolist()]
    macs = [max(int(v), 1) for v in np.add.reduceat(rows[:, 8], starts).tolist()]
    stages = np.add.reduceat(((rows[:, 6] < rows[:, 5]) & (rows[:, 6] > 0)).astype(np.int64), starts)
    max_depth = np.maximum(np.maximum.reduceat(rows[:, DEPTH_COLUMN], starts), 1)
    depth = rows[np.append(starts[1:], len(rows)) - 1, DEPTH_COLUMN]  # the last node's
    graph_attr = np.array([(math.log(p), math.log(m)) for p, m in zip(params, macs)], dtype=np.float64)
    graph_attr = np.column_stack([graph_attr, depth, stages]).astype(np.float32)
    per_graph = np.column_stack([np.array(heights, dtype=np.float64), np.array(macs, dtype=np.float64), max_depth])
    return per_graph, graph_attr, list(zip(params, macs))


def _path_statistics(rows: np.ndarray, starts: np.ndarray, edges: list, cuts: list) -> list:
    """:func:`naapgnn.graph.paths.path_statistics` of each graph (of the whole network, folded or not)."""
    kinds = rows[:, 0]
    weighted = ((kinds == TYPE_INDEX["conv"]) | (kinds == TYPE_INDEX["linear"])
                | (kinds == TYPE_INDEX["classifier"])).tolist()
    spatial = ((kinds == TYPE_INDEX["conv"]) & (rows[:, 3] > 1)).tolist()
    ends = [*starts[1:].tolist(), len(rows)]
    return [path_statistics(weighted[a:b], spatial[a:b], e, c)
            for a, b, e, c in zip(starts.tolist(), ends, edges, cuts)]


def _folded(rows: np.ndarray, starts: np.ndarray, ids: list, edges: list, cuts: list) -> tuple:
    """Rows, sizes, edges and repeat counts of the graphs folded (:func:`naapgnn.graph.folding.fold_repeats`)."""
    folds = [fold_repeats(i, e, cuts=c) for i, e, c in zip(ids, edges, cuts)]  # a row id: a node's row but its place
    kept = [start + node for start, (nodes, _, _) in zip(starts.tolist(), folds) for node in nodes]
    sizes = np.array([len(k) for k, _, _ in folds], dtype=np.int64)
    repeats = np.fromiter(chain.from_iterable(r for _, _, r in folds), dtype=np.float64, count=len(kept))
    return rows[kept], sizes, [e for _, e, _ in folds], repeats


def _with_residual_nodes(arch: Architecture, found: list, fields: list, depths: list) -> tuple:
    """Row ids, edges, fields and depths of the nodes after the input when residual convs add nodes."""
    ids, node_fields, node_depths, edges = [], [], [], []
    node_of = [0] * (len(arch.layers) + 1)  # layer index -> node producing its output; [-1]: the input
    for layer, (row, residual_row, _), rf, depth in zip(arch.layers, found, fields, depths):
        here = len(ids) + 1
        for i in layer.inputs:
            edges += (node_of[i], here)
        ids.append(row)
        node_fields.append(rf)
        node_depths.append(depth)
        if residual_row >= 0:  # its add node follows, reading the conv and the block input
            ids.append(residual_row)
            node_fields.append(rf)
            node_depths.append(depth)
            edges += (here, here + 1, node_of[layer.inputs[0]], here + 1)
            here += 1
        node_of[layer.index] = here
    return ids, edges, node_fields, node_depths


_ROWS = RowTable()


def _build_nodes(arch: Architecture, labels: bool = False) -> tuple[list[Node], list[tuple[int, int]]]:
    c, h, w = arch.input_shape
    side = spatial_size(arch.input_shape)
    nodes = [Node("input", f"input\n{c}x{h}x{w}", c, c, 0, 0, side, side, 0, 0, 1.0)]
    node_of = [0] * (len(arch.layers) + 1)  # layer index -> node producing its output; [-1]: the input
    edges: list[tuple[int, int]] = []
    last = len(arch.layers) - 1
    for layer, cost, rf in zip(arch.layers, layer_costs(arch), receptive_fields(arch)):
        sources = [node_of[i] for i in layer.inputs]
        node = layer_node(layer, layer.index == last, cost, rf)
        if len(sources) == 1:
            node.depth = nodes[sources[0]].depth
        elif sources:
            node.depth = max(nodes[s].depth for s in sources)
        if layer.op == "conv" or layer.op == "linear":
            node.depth += 1
        if labels:
            node.label = _label(node, layer)
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


def _label(node: Node, layer) -> str:
    """The drawing label of a layer's node: a conv shows its order and groups (``dw`` for depthwise)."""
    a, op, cout = layer.attrs, layer.op, node.channels_out
    size_out = "x".join(map(str, layer.out_shape[1:])) if len(layer.out_shape) == 3 else ""
    act = "" if a.get("activation", "none") == "none" else f"+{a['activation']}"
    if op == "conv":
        return _conv_label(node, a, size_out)
    if op in ("maxpool", "avgpool"):
        return f"{op} {node.kernel}x{node.kernel}/{node.stride}\n{cout}, {size_out}"
    if op == "dropout":
        return f"dropout p={a['p']:g}"
    if op == "linear":
        return f"{'classifier' if node.kind == 'classifier' else 'linear'}{act}\n{math.prod(layer.in_shape)}->{cout}"
    if op == "gap":
        return f"global avg pool\n{node.channels_in}"
    if op == "zero":
        return "zero (cut off)\n" + "x".join(map(str, layer.out_shape))
    return f"{op}{act}\n{cout}, {size_out}" if size_out else f"{op}{act}\n{cout}"


def _conv_label(node: Node, a: dict, size_out: str) -> str:
    k = node.kernel
    if a["groups"] > 1 and a["groups"] == node.channels_in:
        name = f"dw {k}x{k}/{node.stride}"
    else:
        name = f"conv {k}x{k}/{node.stride}" + (f" g={a['groups']}" if a["groups"] > 1 else "")
    if a["dilation"] > 1:
        name += f" d={a['dilation']}"
    act = [] if a["activation"] == "none" else [a["activation"]]
    bn = ["bn"] if a["batchnorm"] else []
    steps = {"conv-bn-act": [name, *bn, *act], "act-conv-bn": [*act, name, *bn], "bn-act-conv": [*bn, *act, name]}
    where = f"{node.channels_in}->{node.channels_out}, {size_out}"
    return "+".join(steps[a["order"]]) + "\n" + where


def _feature_matrix(rows: np.ndarray, per_node: np.ndarray, repeats: np.ndarray) -> np.ndarray:
    """:data:`NODE_FEATURES` of every node, ``[num_nodes, len(NODE_FEATURES)]`` float32.

    ``rows``: the type index and raw values of each node (:func:`_graph_arrays`); ``per_node``: its graph's
    input size, total MACs and maximum depth; ``repeats``: its repeat count.
    """
    raw = rows[:, 1:]
    columns = (  # float64 values, rounded to float32 as they are stored
        np.log2(1 + raw[:, 0:2]),
        raw[:, 2:4],
        np.log2(1 + raw[:, 4:6]),
        np.log1p(raw[:, 6:8]),
        np.log2(raw[:, 8]),
        np.minimum(raw[:, 8] / per_node[:, 0], 4.0),
        raw[:, 9:13],
        raw[:, 7] / per_node[:, 1],
        raw[:, 13] / per_node[:, 2],
        np.log2(raw[:, 14]),
        raw[:, 15:17],
        np.log2(repeats),
    )
    out = np.zeros((len(rows), len(NODE_FEATURES)), dtype=np.float32)
    out[np.arange(len(rows)), rows[:, 0].astype(np.int64)] = 1.0
    start = len(NODE_TYPES)
    for values in columns:
        width = 1 if values.ndim == 1 else values.shape[1]
        out[:, start:start + width] = values.reshape(len(rows), width)
        start += width
    return out


def to_networkx(arch: Any) -> nx.DiGraph:
    """The encoded DAG as a networkx graph (node attrs: ``kind``, ``label``, ``params``, ``macs``, ``groups``)."""
    import networkx as nx

    arch = parse_architecture(arch)
    nodes, edges = _build_nodes(arch, labels=True)
    graph = nx.DiGraph()
    for i, n in enumerate(nodes):
        graph.add_node(i, kind=n.kind, label=n.label, params=n.params, macs=n.macs, groups=n.groups)
    graph.add_edges_from(edges)
    if not nx.is_directed_acyclic_graph(graph):  # pragma: no cover - parse forbids cycles
        raise AssertionError("encoded graph has a cycle")
    return graph


def summary(arch: Any) -> dict:
    """Nodes, edges, params and MACs of the encoded graph."""
    nodes, edges = _build_nodes(parse_architecture(arch))
    return {
        "nodes": len(nodes),
        "edges": len(edges),
        "params": sum(n.params for n in nodes),
        "macs": max(sum(n.macs for n in nodes), 1),
    }

"""The GNN accuracy model: a graph encoder fused with a training-curve encoder.

:class:`AccuracyModel` reads three inputs for a batch of architectures:

* the encoded graphs (:func:`naapgnn.graph.encoding.encode`), batched once into
  :class:`GraphBatch` tensors. Messages flow along the data flow (producer to
  consumer); with ``direction="both"`` a second set of convolutions also
  passes them backwards, so each node hears its consumers as well, with its
  own weights. The readout sees the whole graph: mean and max pooling of the
  node states plus the state of the classifier node, then the graph
  attributes (log params, log MACs, depth, stages) are appended;
* curve features of the first ``k`` epochs (see :mod:`naapgnn.models.gnn`),
  encoded by a small MLP and also fed linearly to the output, since the
  final accuracy is nearly linear in the late-cycle accuracy;
* optional numeric hyperparameters.

The estimator users call, :class:`naapgnn.models.gnn.GNNPredictor`, is
re-exported here (``from naapgnn.models.network import GNNPredictor``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

CONV_TYPES = ("gin", "gatv2", "sage")
DIRECTIONS = ("forward", "both")

__all__ = ["CONV_TYPES", "DIRECTIONS", "GraphBatch", "batch_graphs", "encode_batch", "AccuracyModel",
           "GNNPredictor"]


@dataclass
class GraphBatch:
    """Many encoded graphs as one set of tensors (what :class:`AccuracyModel` reads).

    Attributes
    ----------
    x : Tensor [num_nodes, num_node_features]
    edge_index : Tensor [2, num_edges]
        Along the data flow, node indices into ``x``.
    batch : Tensor [num_nodes]
        Graph of each node.
    classifier : Tensor [num_graphs]
        Index (into ``x``) of each graph's last node, the classifier.
    graph_attr : Tensor [num_graphs, num_graph_attrs]
    """

    x: torch.Tensor
    edge_index: torch.Tensor
    batch: torch.Tensor
    classifier: torch.Tensor
    graph_attr: torch.Tensor

    @property
    def num_graphs(self) -> int:
        return int(self.classifier.shape[0])

    def to(self, device) -> "GraphBatch":
        return GraphBatch(*(t.to(device) for t in (self.x, self.edge_index, self.batch,
                                                    self.classifier, self.graph_attr)))

    def subset(self, graphs: torch.Tensor) -> "GraphBatch":
        """The graphs ``graphs`` (indices, in that order) as a new batch."""
        graphs = torch.as_tensor(graphs, dtype=torch.long, device=self.x.device)
        counts = torch.bincount(self.batch, minlength=self.num_graphs)
        starts = torch.cumsum(counts, 0) - counts
        sel_counts = counts[graphs]
        new_batch = torch.repeat_interleave(torch.arange(len(graphs), device=self.x.device), sel_counts)
        offsets = torch.cumsum(sel_counts, 0) - sel_counts
        within = torch.arange(int(sel_counts.sum()), device=self.x.device) - offsets[new_batch]
        old_nodes = starts[graphs][new_batch] + within
        new_id = torch.full((self.x.shape[0],), -1, dtype=torch.long, device=self.x.device)
        new_id[old_nodes] = torch.arange(len(old_nodes), device=self.x.device)
        keep = new_id[self.edge_index[0]] >= 0
        edges = new_id[self.edge_index[:, keep]]
        edges = edges[:, torch.sort(new_batch[edges[0]], stable=True).indices]  # graphs in the new order
        return GraphBatch(
            x=self.x[old_nodes],
            edge_index=edges,
            batch=new_batch,
            classifier=new_id[self.classifier[graphs]],
            graph_attr=self.graph_attr[graphs],
        )


def batch_graphs(graphs: Sequence) -> GraphBatch:
    """Concatenate encoded graphs (``torch_geometric.data.Data``) into one :class:`GraphBatch`."""
    sizes = torch.tensor([int(g.num_nodes) for g in graphs], dtype=torch.long)
    offsets = torch.cumsum(sizes, 0) - sizes
    edges = [g.edge_index + int(o) for g, o in zip(graphs, offsets)]
    return GraphBatch(
        x=torch.cat([g.x for g in graphs]).float(),
        edge_index=torch.cat(edges, dim=1) if edges else torch.zeros(2, 0, dtype=torch.long),
        batch=torch.repeat_interleave(torch.arange(len(graphs)), sizes),
        classifier=offsets + sizes - 1,
        graph_attr=torch.cat([g.graph_attr for g in graphs]).float(),
    )


def encode_batch(archs: Sequence) -> GraphBatch:
    """Encode parsed architectures straight into one :class:`GraphBatch`.

    The same features as ``batch_graphs([encode(a) for a in archs])`` (a test
    checks it), about twice as fast: the per-graph ``Data`` objects and small
    tensors are never built, which matters when ranking thousands of candidates.
    """
    import math

    import numpy as np

    from naapgnn.graph import encoding
    from naapgnn.arch.profiling import weighted_depth

    rows, edges, attrs, sizes = [], [], [], []
    offset = 0
    for arch in archs:
        nodes, arch_edges = encoding._build_nodes(arch)
        total_macs = max(sum(n.macs for n in nodes), 1)
        max_depth = max(max(n.depth for n in nodes), 1)
        rows += [encoding._features(n, arch.input_shape[1], total_macs, max_depth) for n in nodes]
        edges += [(a + offset, b + offset) for a, b in arch_edges]
        params = sum(n.params for n in nodes)
        stages = sum(1 for n in nodes if n.size_out < n.size_in and n.size_out > 0)
        attrs.append([math.log(params), math.log(total_macs), float(weighted_depth(arch)), float(stages)])
        sizes.append(len(nodes))
        offset += len(nodes)
    sizes_t = torch.tensor(sizes, dtype=torch.long)
    ends = torch.cumsum(sizes_t, 0)
    return GraphBatch(
        x=torch.from_numpy(np.asarray(rows, dtype=np.float32)),
        edge_index=torch.from_numpy(np.asarray(edges, dtype=np.int64).reshape(-1, 2).T.copy()),
        batch=torch.repeat_interleave(torch.arange(len(sizes)), sizes_t),
        classifier=ends - 1,
        graph_attr=torch.from_numpy(np.asarray(attrs, dtype=np.float32)),
    )


def _mlp(sizes: Sequence[int], dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def make_conv(kind: str, hidden: int, heads: int = 4) -> nn.Module:
    """One message-passing layer ``hidden -> hidden`` of type ``kind`` (see :data:`CONV_TYPES`)."""
    from torch_geometric.nn import GATv2Conv, GINConv, SAGEConv

    if kind == "gin":
        return GINConv(_mlp([hidden, hidden, hidden]), train_eps=True)
    if kind == "gatv2":
        return GATv2Conv(hidden, hidden // heads, heads=heads, add_self_loops=True)
    if kind == "sage":
        return SAGEConv(hidden, hidden, aggr="mean", root_weight=True)
    raise ValueError(f"unknown conv type {kind!r} (expected one of {', '.join(CONV_TYPES)})")


class GraphEncoder(nn.Module):
    """Directed message passing over an architecture DAG, then a whole-graph readout.

    Parameters
    ----------
    in_dim : int
        Node feature size.
    hidden : int
        Node state size.
    layers : int
        Message-passing rounds.
    conv : str
        ``"gin"``, ``"gatv2"`` or ``"sage"``.
    direction : str
        ``"forward"`` (producer to consumer only) or ``"both"`` (plus a
        separately weighted backward pass in every round).
    dropout : float
        Dropout on node states.

    The output (size :attr:`out_dim` = ``3 * hidden``) is the mean and max
    of the final node states and the classifier node's state.
    """

    def __init__(self, in_dim: int, hidden: int = 64, layers: int = 3, conv: str = "gin",
                 direction: str = "forward", dropout: float = 0.0):
        super().__init__()
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {direction!r} (expected one of {', '.join(DIRECTIONS)})")
        self.direction = direction
        self.embed = nn.Linear(in_dim, hidden)
        self.forward_convs = nn.ModuleList(make_conv(conv, hidden) for _ in range(layers))
        self.backward_convs = nn.ModuleList(
            make_conv(conv, hidden) for _ in range(layers if direction == "both" else 0))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.out_dim = 3 * hidden

    def node_states(self, g: GraphBatch) -> torch.Tensor:
        """Final node states ``[num_nodes, hidden]``."""
        h = torch.relu(self.embed(g.x))
        reverse = g.edge_index.flip(0)
        for i, conv in enumerate(self.forward_convs):
            update = conv(h, g.edge_index)
            if self.direction == "both":
                update = update + self.backward_convs[i](h, reverse)
            h = h + self.dropout(torch.relu(self.norms[i](update)))
        return h

    def forward(self, g: GraphBatch) -> torch.Tensor:
        from torch_geometric.nn import global_max_pool, global_mean_pool

        h = self.node_states(g)
        size = g.num_graphs
        return torch.cat([
            global_mean_pool(h, g.batch, size),
            global_max_pool(h, g.batch, size),
            h[g.classifier],
        ], dim=1)


class AccuracyModel(nn.Module):
    """Graph encoder + curve encoder + hyperparameters -> one standardised accuracy.

    Parameters
    ----------
    node_dim, attr_dim, curve_dim, hparam_dim : int
        Sizes of the node features, graph attributes, curve features (0: no
        curve) and numeric hyperparameters (0: none).
    hidden : int
        Node state and head width.
    layers : int
        Message-passing rounds.
    conv, direction, dropout
        See :class:`GraphEncoder`.
    curve_hidden : int
        Width of the curve encoder.
    """

    def __init__(self, node_dim: int, attr_dim: int, curve_dim: int = 0, hparam_dim: int = 0,
                 hidden: int = 64, layers: int = 3, conv: str = "gin", direction: str = "forward",
                 dropout: float = 0.0, curve_hidden: int = 32):
        super().__init__()
        self.graph = GraphEncoder(node_dim, hidden, layers, conv, direction, dropout)
        self.curve = _mlp([curve_dim, curve_hidden, curve_hidden]) if curve_dim else None
        self.curve_linear = nn.Linear(curve_dim, 1, bias=False) if curve_dim else None
        fused = self.graph.out_dim + attr_dim + (curve_hidden if curve_dim else 0) + hparam_dim
        self.head = _mlp([fused, hidden, hidden, 1], dropout)

    def forward(self, g: GraphBatch, curve: torch.Tensor | None = None,
                hparams: torch.Tensor | None = None) -> torch.Tensor:
        parts = [self.graph(g), g.graph_attr]
        if self.curve is not None:
            parts.append(torch.relu(self.curve(curve)))
        if hparams is not None and hparams.shape[1]:
            parts.append(hparams)
        out = self.head(torch.cat(parts, dim=1)).squeeze(1)
        if self.curve_linear is not None:
            out = out + self.curve_linear(curve).squeeze(1)
        return out


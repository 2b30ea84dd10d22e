"""The GNN accuracy model: a graph encoder fused with a training-curve encoder.

:class:`AccuracyModel` reads three inputs for a batch of architectures:

* the encoded graphs (:func:`naapgnn.graph.encoding.encode`), batched once into
  a ``torch_geometric.data.Batch`` (:func:`batch_architectures`). Messages flow along the data flow (producer to
  consumer); with ``direction="both"`` a second set of convolutions also
  passes them backwards, so each node hears its consumers as well, with its
  own weights. The readout sees the whole graph: mean and max pooling of the
  node states plus the state of the classifier node, then the graph
  attributes (log params, log MACs, depth, stages) are appended;
* curve features of the first ``k`` epochs (:mod:`naapgnn.features.curves`),
  encoded by a small MLP and also fed linearly to the output, since the
  final accuracy is nearly linear in the late-cycle accuracy;
* optional numeric hyperparameters.

The estimator users call is :class:`naapgnn.models.gnn.GNNPredictor`.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Batch

CONV_TYPES = ("gin", "gatv2", "sage")
DIRECTIONS = ("forward", "both")

CHUNK_NODES = 16384  # nodes per chunk of :func:`predict_members` on the CPU: a chunk's node states stay in cache

__all__ = ["CONV_TYPES", "DIRECTIONS", "CHUNK_NODES", "batch_architectures", "classifier_nodes", "adjacency",
           "graph_chunks", "predict_members", "GraphEncoder", "AccuracyModel"]


def batch_architectures(archs: Sequence, fold: bool = False) -> Batch:
    """Encode architectures (:func:`naapgnn.graph.encoding.encode`, with ``fold``) into one PyG batch.

    The batch holds what the model reads: ``x``, ``edge_index`` and ``graph_attr`` (with ``batch`` and ``ptr``),
    and ``path_stats``. It equals ``Batch.from_data_list`` of :func:`~naapgnn.graph.encoding.encode_many`'s graphs,
    built from the encoding's arrays (:func:`naapgnn.graph.batching.batch_arrays`).
    A subset of a batch, in any order, is ``Batch.from_data_list(batch.index_select(idx))``.
    """
    from naapgnn.graph.batching import batch_arrays
    from naapgnn.graph.encoding import encode_arrays

    return batch_arrays(encode_arrays(archs, fold=fold))


def classifier_nodes(g: Batch) -> torch.Tensor:
    """Index of each graph's classifier node (its last node) in ``g.x``."""
    return g.ptr[1:] - 1


def adjacency(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Sparse CSR matrix ``A`` with ``A[i, j] = 1`` for each edge ``j -> i`` (a repeated edge counts twice).

    ``A @ h`` sums each node's incoming messages, as ``GINConv`` does along
    ``edge_index`` (the order of the sums may differ: equal up to float rounding).
    """
    src, dst = edge_index
    order = torch.argsort(dst * num_nodes + src)
    crow = torch.zeros(num_nodes + 1, dtype=torch.long, device=edge_index.device)
    crow[1:] = torch.cumsum(torch.bincount(dst, minlength=num_nodes), 0)
    values = torch.ones(len(order), device=edge_index.device)
    with warnings.catch_warnings():  # torch calls its sparse CSR support beta
        warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta", category=UserWarning)
        return torch.sparse_csr_tensor(crow, src[order], values, (num_nodes, num_nodes), check_invariants=False)


def graph_chunks(g: Batch, max_nodes: int):
    """Split a batch into consecutive batches of whole graphs with at most ``max_nodes`` nodes each (a
    larger graph is a chunk of its own); yields ``(graphs, chunk)``, ``graphs`` the slice of ``g``'s graphs.

    The chunks' tensors are views of ``g``'s where they can be (edges and graph indices are shifted).
    A graph's edges must be contiguous and in graph order, as in :func:`batch_architectures`.
    """
    from naapgnn.models.ensemble import edge_offsets

    starts = g.ptr.cpu().numpy()
    edge_ptr = edge_offsets(g).tolist()
    first = 0
    while first < g.num_graphs:
        end = max(int(np.searchsorted(starts, starts[first] + max_nodes, side="right")) - 1, first + 1)
        end = min(end, g.num_graphs)
        lo, hi = int(starts[first]), int(starts[end])
        yield slice(first, end), Batch(
            x=g.x[lo:hi], edge_index=g.edge_index[:, edge_ptr[first]:edge_ptr[end]] - lo,
            graph_attr=g.graph_attr[first:end], batch=g.batch[lo:hi] - first, ptr=g.ptr[first:end + 1] - lo)
        first = end


def predict_members(members: Sequence[nn.Module], g: Batch, curve: torch.Tensor | None = None,
                    hparams: torch.Tensor | None = None, max_nodes: int = CHUNK_NODES) -> torch.Tensor:
    """Each model's output ``[len(members), num_graphs]`` for the same inputs (call under ``torch.no_grad``).

    On the CPU the batch is evaluated in chunks of whole graphs (:func:`graph_chunks`), every member on a
    chunk before the next, with the chunk's message-passing adjacency (:meth:`GraphEncoder.edges`) built
    once for all of them: a chunk stays in cache, where a whole large batch streams every node state
    through memory at each step. Equal to ``torch.stack([m(g, curve, hparams) for m in members])`` up to
    float rounding; on other devices it is that.
    """
    if g.x.device.type != "cpu":
        return torch.stack([m(g, curve, hparams) for m in members])
    out = []
    for rows, chunk in graph_chunks(g, max_nodes):
        edges = members[0].graph.edges(chunk)
        parts = (None if curve is None else curve[rows], None if hparams is None else hparams[rows])
        out.append(torch.stack([m(chunk, *parts, edges=edges) for m in members]))
    return torch.cat(out, dim=1) if out else torch.zeros(len(members), 0)


def mlp(sizes: Sequence[int], dropout: float = 0.0) -> nn.Module:
    """``torch_geometric.nn.MLP`` through ``sizes`` (ReLU and dropout between layers, a plain last layer).

    PyG's MLP initialises its layers twice (at construction and again in
    ``reset_parameters``); the random state is rewound in between, so the
    weights and the random stream are those of one ``nn.Linear`` pass, as in
    earlier versions, and seeded fits reproduce their results.
    """
    from torch_geometric.nn import MLP

    state = torch.get_rng_state()
    module = MLP(list(sizes), dropout=dropout, act="relu", norm=None)
    torch.set_rng_state(state)
    module.reset_parameters()
    return module


def make_conv(kind: str, hidden: int, heads: int = 4) -> nn.Module:
    """One message-passing layer ``hidden -> hidden`` of type ``kind`` (see :data:`CONV_TYPES`)."""
    from torch_geometric.nn import GATv2Conv, GINConv, SAGEConv

    if kind == "gin":
        return GINConv(mlp([hidden, hidden, hidden]), train_eps=True)
    if kind == "gatv2":
        return GATv2Conv(hidden, hidden // heads, heads=heads, add_self_loops=True)
    if kind == "sage":
        return SAGEConv(hidden, hidden, aggr="mean", root_weight=True)
    raise ValueError(f"unknown conv type {kind!r} (expected one of {', '.join(CONV_TYPES)})")


def _convolve(conv: nn.Module, h: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """``conv(h, edges)``; for a GIN layer and an :func:`adjacency` matrix, its update
    ``nn(A @ h + (1 + eps) * h)`` with the sum as one sparse product (inference only: no gradient)."""
    if edges.layout != torch.sparse_csr:
        return conv(h, edges)
    return conv.nn(torch.sparse.mm(edges, h, "sum") + (1 + conv.eps) * h)


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
    of the final node states and the classifier node's state. A whole-graph model, not a layer: ``forward``
    takes a ``Batch`` of architecture graphs (:func:`batch_architectures`), as it reads each graph's classifier
    node; its message-passing layers are PyG's (:func:`make_conv`).
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

    def reset_parameters(self) -> None:
        """Draw new initial weights for every layer (from torch's random stream)."""
        for module in (self.embed, *self.forward_convs, *self.backward_convs, *self.norms):
            module.reset_parameters()

    def edges(self, g: Batch) -> tuple:
        """What the convolutions read for ``g``: the forward and backward edges (backward None with
        ``direction="forward"``), as :func:`adjacency` matrices for GIN, else as ``edge_index``.

        Computed once, they can be passed to :meth:`node_states` of every encoder of the same kind.
        """
        from torch_geometric.nn import GINConv

        reverse = g.edge_index.flip(0) if self.direction == "both" else None
        if not isinstance(self.forward_convs[0], GINConv):
            return g.edge_index, reverse
        n = g.num_nodes
        return adjacency(g.edge_index, n), None if reverse is None else adjacency(reverse, n)

    def node_states(self, g: Batch, edges: tuple | None = None) -> torch.Tensor:
        """Final node states ``[num_nodes, hidden]``; ``edges``: :meth:`edges` of ``g`` if already built
        (default: ``g.edge_index`` and its reverse)."""
        forward, backward = (g.edge_index, g.edge_index.flip(0)) if edges is None else edges
        h = torch.relu(self.embed(g.x))
        for i, conv in enumerate(self.forward_convs):
            update = _convolve(conv, h, forward)
            if self.direction == "both":
                update = update + _convolve(self.backward_convs[i], h, backward)
            h = h + self.dropout(torch.relu(self.norms[i](update)))
        return h

    def forward(self, g: Batch, edges: tuple | None = None) -> torch.Tensor:
        from torch_geometric.nn import global_max_pool, global_mean_pool

        h = self.node_states(g, edges)
        size = g.num_graphs
        return torch.cat([
            global_mean_pool(h, g.batch, size),
            global_max_pool(h, g.batch, size),
            h[classifier_nodes(g)],
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
        self.curve = mlp([curve_dim, curve_hidden, curve_hidden]) if curve_dim else None
        self.curve_linear = nn.Linear(curve_dim, 1, bias=False) if curve_dim else None
        fused = self.graph.out_dim + attr_dim + (curve_hidden if curve_dim else 0) + hparam_dim
        self.head = mlp([fused, hidden, hidden, 1], dropout)

    def reset_parameters(self) -> None:
        """Draw new initial weights for every layer (from torch's random stream)."""
        self.graph.reset_parameters()
        for module in (self.curve, self.curve_linear, self.head):
            if module is not None:
                module.reset_parameters()

    def forward(self, g: Batch, curve: torch.Tensor | None = None,
                hparams: torch.Tensor | None = None, edges: tuple | None = None) -> torch.Tensor:
        """Standardised accuracy per graph; ``edges``: :meth:`GraphEncoder.edges` of ``g`` if already built."""
        parts = [self.graph(g, edges), g.graph_attr]
        if self.curve is not None:
            parts.append(torch.relu(self.curve(curve)))
        if hparams is not None and hparams.shape[1]:
            parts.append(hparams)
        out = self.head(torch.cat(parts, dim=1)).squeeze(1)
        if self.curve_linear is not None:
            out = out + self.curve_linear(curve).squeeze(1)
        return out


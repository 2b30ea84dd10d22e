"""A few numbers per encoded network, read off a batch of graphs.

The graph attributes (log params, log MACs, depth, stages), the number of
nodes of each op type, the widest conv (log2 output channels; 0 without one) and the number
of residual adds: Baker et al. 2018's architecture statistics; then how the
paths from the input to the classifier are made (:mod:`naapgnn.graph.paths`). All are
computed from the encoding already built rather than by profiling each network again. A
folded graph's node counts as many times as it repeats, so folded and
unfolded graphs give the same statistics.
The GNN's curve stack reads them (:mod:`naapgnn.models.curve_stack`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from naapgnn.errors import NaapgnnError
from naapgnn.graph.encoding import GRAPH_ATTRS, NODE_FEATURES, NODE_TYPES
from naapgnn.graph.paths import PATH_STATISTICS

if TYPE_CHECKING:
    from torch_geometric.data import Batch

__all__ = ["GRAPH_STATISTICS", "graph_statistics"]

GRAPH_STATISTICS = GRAPH_ATTRS + tuple(f"num_{t}" for t in NODE_TYPES) + ("max_log2_conv_width", "num_residual") + PATH_STATISTICS


def graph_statistics(batch: "Batch") -> np.ndarray:
    """One row of :data:`GRAPH_STATISTICS` per graph of an unstandardised ``batch``.

    Parameters
    ----------
    batch : torch_geometric.data.Batch
        Encoded graphs (:func:`naapgnn.models.network.batch_architectures`), with ``x``, ``graph_attr``,
        ``path_stats`` and ``batch``.

    Returns
    -------
    numpy.ndarray of shape (num_graphs, len(GRAPH_STATISTICS))
    """
    import torch
    from torch_geometric.utils import scatter

    x, index, n = batch.x.double(), batch.batch, int(batch.num_graphs)
    types = len(NODE_TYPES)
    repeats = torch.exp2(x[:, NODE_FEATURES.index("log2_repeats")]).round()
    counts = scatter(x[:, :types] * repeats[:, None], index, dim=0, dim_size=n, reduce="sum")
    conv = x[:, NODE_FEATURES.index("is_conv")] > 0
    width = scatter(x[conv, NODE_FEATURES.index("log2_channels_out")], index[conv], dim=0, dim_size=n, reduce="max")
    residual = scatter(x[:, NODE_FEATURES.index("residual")] * repeats, index, dim=0, dim_size=n, reduce="sum")
    if "path_stats" not in batch:
        raise NaapgnnError("graph_statistics: the graphs have no path statistics (encoded before encoding version 4:"
                           " encode them again)")
    paths = batch.path_stats.double().reshape(n, len(PATH_STATISTICS))
    out = torch.cat([batch.graph_attr.double().reshape(n, len(GRAPH_ATTRS)), counts, width[:, None], residual[:, None],
                     paths], 1)
    return out.numpy()

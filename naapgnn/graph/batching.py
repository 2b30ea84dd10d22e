"""Encoded graphs batched straight from their arrays, as PyTorch Geometric's collation would batch them.

``Batch.from_data_list`` of one ``Data`` object per graph walks the graphs one
by one in Python (building each object, then its edge increments); for
thousands of small architecture graphs that costs as much as encoding them.
:func:`batch_arrays` builds the same batch from :func:`naapgnn.graph.encoding.encode_arrays`
with a few whole-array operations.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from naapgnn.graph.encoding import EncodedGraphs

if TYPE_CHECKING:
    from torch_geometric.data import Batch

__all__ = ["batch_arrays"]


def batch_arrays(enc: EncodedGraphs) -> Batch:
    """``Batch.from_data_list(encode_many(archs, totals=False))`` of the graphs ``enc`` holds.

    Parameters
    ----------
    enc : EncodedGraphs
        :func:`naapgnn.graph.encoding.encode_arrays` of the architectures.

    Returns
    -------
    torch_geometric.data.Batch
        ``x``, ``edge_index``, ``graph_attr``, ``path_stats``, ``batch`` and ``ptr``, with the slice and
        increment records of ``from_data_list`` (so ``index_select`` and ``get_example`` work); equal to
        it tensor for tensor. No graphs give an empty batch (where ``from_data_list`` fails).
    """
    import torch
    from torch_geometric.data import Batch

    n = len(enc.sizes)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(enc.sizes, out=ptr[1:])
    edge_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(enc.edge_counts, out=edge_ptr[1:])
    edge_index = enc.edge_index + np.repeat(ptr[:-1], enc.edge_counts)
    out = Batch(x=torch.from_numpy(enc.x), edge_index=torch.from_numpy(edge_index),
                graph_attr=torch.from_numpy(enc.graph_attr), path_stats=torch.from_numpy(enc.path_stats),
                batch=torch.from_numpy(np.repeat(np.arange(n, dtype=np.int64), enc.sizes)),
                ptr=torch.from_numpy(ptr))
    each = torch.arange(n + 1)
    out._num_graphs = n
    out._slice_dict = {"x": torch.from_numpy(ptr.copy()), "edge_index": torch.from_numpy(edge_ptr),
                       "graph_attr": each, "path_stats": each.clone()}
    out._inc_dict = {"x": torch.zeros(n, dtype=torch.long), "edge_index": torch.from_numpy(ptr[:-1].copy()),
                     "graph_attr": torch.zeros(n, dtype=torch.long), "path_stats": torch.zeros(n, dtype=torch.long)}
    return out

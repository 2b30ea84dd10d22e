"""Statistics of a network's input-to-classifier paths, by one pass over its graph in topological order.

A layer's node features say what it is and the graph attributes how deep the
network is at its deepest, but not how the paths through it are made: how many
there are, how deep the shallowest one is, and how deep a path is on average.
These decide much of how well a network trains (a residual or a skip edge makes
a short path beside a long one) and take many rounds of message passing to read
off a graph. Counted over all paths from the input node to the last node:

* ``log_paths``: ``log(1 + number of paths)`` (0 for a network whose output is
  cut off from its input);
* ``min_path_depth``, ``mean_path_depth``: conv and linear layers on the
  shallowest path, and on a path on average (every path counting once);
* ``min_spatial_convs``, ``max_spatial_convs``, ``mean_spatial_convs``: the
  same for convs with a kernel wider than 1 (those that widen the receptive field).

Counts are kept as logarithms and depths as path-weighted means, so a densely
connected network with astronomically many paths does not overflow.
"""
from __future__ import annotations

import math
from typing import Sequence

from naapgnn.graph.folding import cut_nodes

__all__ = ["PATH_STATISTICS", "path_statistics"]

PATH_STATISTICS = ("log_paths", "min_path_depth", "mean_path_depth", "min_spatial_convs", "max_spatial_convs",
                   "mean_spatial_convs")

_NONE = (-math.inf, 0.0, 0.0, 0.0, 0.0, 0.0)  # a node no path from the input reaches


def path_statistics(weighted: Sequence[bool], spatial: Sequence[bool], edges: Sequence[int],
                    cuts: Sequence[int] | None = None) -> tuple:
    """:data:`PATH_STATISTICS` of the paths from node 0 to the last node.

    Parameters
    ----------
    weighted : sequence of bool
        Per node: a conv or linear layer (counts towards a path's depth).
    spatial : sequence of bool
        Per node: a conv with a kernel wider than 1.
    edges : sequence of int
        Flat ``[s0, d0, s1, d1, ...]``, sorted by destination; nodes in topological order (every edge
        goes to a later node); an edge listed twice is two paths.
    cuts : sequence of int, optional
        :func:`naapgnn.graph.folding.cut_nodes` of the graph, when already computed.

    Returns
    -------
    tuple of float, in :data:`PATH_STATISTICS` order
    """
    # Every path passes through each cut node, so the statistics of the blocks between consecutive cut nodes
    # add up (log counts, depths, means over the product of the blocks' paths); networks repeat their blocks,
    # so each distinct block is worked out once (_BLOCKS).
    kinds = [2 * bool(w) + bool(sp) for w, sp in zip(weighted, spatial)]
    cuts = cut_nodes(len(kinds), edges) if cuts is None else cuts
    total = [0.0] * 6
    first = 0  # first edge (pair index) of the current block
    pairs = len(edges) // 2
    for entry, exit_ in zip(cuts, cuts[1:]):
        last = first
        while last < pairs and edges[2 * last + 1] <= exit_:
            last += 1
        key = (tuple(kinds[entry + 1:exit_ + 1]), tuple(v - entry for v in edges[2 * first:2 * last]))
        first = last
        block = _BLOCKS.get(key)
        if block is None:
            block = _block_statistics(*key)
            if len(_BLOCKS) > _BLOCK_LIMIT:
                _BLOCKS.clear()
            _BLOCKS[key] = block
        if block[0] == -math.inf:
            return (0.0,) * 6
        total = [t + b for t, b in zip(total, block)]
    return (_log_sum([0.0, total[0]]),) + tuple(total[1:])


_BLOCKS: dict = {}
_BLOCK_LIMIT = 100000


def _block_statistics(kinds: tuple, edges: tuple) -> tuple:
    """The statistics of the paths from a block's entry (node 0 here) to its exit (its last node);
    ``kinds[i]`` is ``2 * weighted + spatial`` of node ``i + 1``."""
    n = len(kinds) + 1
    sources: list[list[int]] = [[] for _ in range(n)]
    for s, d in zip(edges[::2], edges[1::2]):
        sources[d].append(s)
    # per node: log paths, min depth, mean depth, min / max / mean spatial convs (of the paths ending there)
    state = [_NONE] * n
    state[0] = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    for node in range(1, n):
        reached = [state[s] for s in sources[node] if state[s][0] > -math.inf]
        if not reached:
            continue
        w, sp = float(kinds[node - 1] >= 2), float(kinds[node - 1] % 2)
        if len(reached) == 1:
            r = reached[0]
            state[node] = (r[0], r[1] + w, r[2] + w, r[3] + sp, r[4] + sp, r[5] + sp)
            continue
        log_paths = _log_sum([r[0] for r in reached])
        shares = [math.exp(r[0] - log_paths) for r in reached]
        state[node] = (log_paths,
                       min(r[1] for r in reached) + w,
                       sum(f * r[2] for f, r in zip(shares, reached)) + w,
                       min(r[3] for r in reached) + sp,
                       max(r[4] for r in reached) + sp,
                       sum(f * r[5] for f, r in zip(shares, reached)) + sp)
    return state[n - 1]


def _log_sum(values: list[float]) -> float:
    if len(values) == 1:
        return values[0]
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))

"""Repeated blocks folded into one: a network's graph with each run of identical blocks kept once.

Networks repeat themselves: NAS-Bench-201 stacks each cell five times per
stage, a ResNet stage repeats its basic block. The graph network reads a
folded graph, where each run of ``t`` identical consecutive blocks is one
copy whose nodes carry the repeat count ``t``: the same network (it can be
rebuilt from the folded graph), with up to ``t`` times fewer nodes and a
shorter path from the input to the classifier.

A *block* is the stretch of nodes between two cut nodes, nodes that every
path from the input to the output passes through (in the topological order
of the nodes: no edge jumps over them). Two blocks are identical when their
nodes' rows are equal, apart from the values that depend on the place in the
network (``ignore`` columns: receptive field and depth), and their edges are
equal relative to the block's entry. A run may repeat a unit of several
blocks (a cell that is a chain of ops is a few blocks long).
"""
from __future__ import annotations

from typing import Sequence

MAX_PERIOD = 8  # blocks in a repeated unit, at most

__all__ = ["MAX_PERIOD", "cut_nodes", "fold_repeats"]


def cut_nodes(num_nodes: int, edges: Sequence[int]) -> list[int]:
    """Nodes no edge jumps over (no edge ``s -> d`` with ``s < node < d``), in order; node 0 and the last are among them.

    Nodes must be in topological order (every edge goes to a later node); ``edges`` is flat ``[s0, d0, s1, d1, ...]``.
    """
    reach = list(range(num_nodes))  # reach[s]: the furthest node an edge from s goes to
    for s, d in zip(edges[::2], edges[1::2]):
        if d > reach[s]:
            reach[s] = d
    cuts, furthest = [], 0
    for node in range(num_nodes):
        if furthest <= node:
            cuts.append(node)
        if reach[node] > furthest:
            furthest = reach[node]
    return cuts


def fold_repeats(node_ids: Sequence[int], edges: Sequence[int], max_period: int = MAX_PERIOD,
                 cuts: Sequence[int] | None = None) -> tuple[list[int], list[int], list[int]]:
    """Fold each run of identical consecutive blocks of a graph into its first copy.

    Parameters
    ----------
    node_ids : sequence of int
        Per node, in topological order, an id of its content: equal ids for equal nodes.
    edges : sequence of int
        Flat edge list ``[s0, d0, s1, d1, ...]``, sorted by destination.
    max_period : int
        Blocks in a repeated unit, at most.
    cuts : sequence of int, optional
        :func:`cut_nodes` of the graph, when already computed.

    Returns
    -------
    kept : list of int
        The old index of each node of the folded graph, in order.
    edges : list of int
        The folded graph's flat edge list (new indices): the edges into kept nodes, a
        source in a dropped copy replaced by its node in the kept copy.
    repeats : list of int
        Per kept node, how many times its block is repeated (1 where nothing folds).
    """
    n = len(node_ids)
    cuts = cut_nodes(n, edges) if cuts is None else cuts
    units = _tandem_units(_block_ids(node_ids, edges, cuts), max_period)
    if len(units) == len(cuts) - 1:  # nothing repeats
        return list(range(n)), list(edges), [1] * n
    new_id = [-1] * n
    new_id[0] = 0
    kept, repeats = [0], [1]
    for first, period, times in units:
        lo, hi = cuts[first] + 1, cuts[first + period] + 1  # the kept copy's nodes
        new_id[lo:hi] = range(len(kept), len(kept) + hi - lo)
        kept.extend(range(lo, hi))
        repeats.extend([times] * (hi - lo))
        for copy in range(1, times):  # a dropped copy's nodes stand for the kept copy's
            start = cuts[first + copy * period] + 1
            new_id[start:start + hi - lo] = new_id[lo:hi]
    is_kept = [False] * n
    for i in kept:
        is_kept[i] = True
    folded = []
    for s, d in zip(edges[::2], edges[1::2]):
        if is_kept[d]:
            folded += (new_id[s], new_id[d])
    return kept, folded, repeats


def _block_ids(node_ids, edges, cuts) -> list[int]:
    """An id per block (nodes ``cuts[j] + 1 .. cuts[j + 1]``), equal for identical blocks."""
    keys, e, m = {}, 0, len(edges)
    out = []
    for entry, exit_ in zip(cuts, cuts[1:]):
        relative = []
        while e < m and edges[e + 1] <= exit_:
            relative += (edges[e] - entry, edges[e + 1] - entry)
            e += 2
        key = (tuple(node_ids[entry + 1:exit_ + 1]), tuple(relative))
        out.append(keys.setdefault(key, len(keys)))
    return out


def _tandem_units(blocks: list[int], max_period: int) -> list[tuple[int, int, int]]:
    """Cover the block sequence, left to right, with ``(first, period, times)``: blocks
    ``first .. first + period - 1`` repeated ``times`` times in a row (the longest cover, then the shortest period)."""
    units, i, m = [], 0, len(blocks)
    while i < m:
        best = (1, 1)
        for period in range(1, min(max_period, (m - i) // 2) + 1):
            unit = blocks[i:i + period]
            times = 1
            while blocks[i + times * period:i + (times + 1) * period] == unit:
                times += 1
            if times > 1 and period * times > best[0] * best[1]:
                best = (period, times)
        units.append((i, *best))
        i += best[0] * best[1]
    return units

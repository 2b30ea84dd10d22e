"""NAS-Bench-201 cells recovered from their networks, and the cells one edge away.

A record of ``naapgnn import nb201`` holds the whole network as a layer graph,
not its cell string. :func:`cell_from_network` reads the cell back from the
graph. Some of the 15,625 cell strings build the same network (e.g. a
``skip_connect`` into node 1 makes the edges ``0->2`` and ``1->2`` read the
same tensor, so swapping their ops changes nothing); for those the recovered
cell is the first such string in :func:`all_cells` order, and building it gives
the same network again (the round trip network -> cell -> network is exact).

:func:`record_neighbours` gives, per record, the records whose cell differs in
one of the 6 edges (one group per edge), the neighbourhood of regularized
evolution on NAS-Bench-201.
"""
from __future__ import annotations

from functools import lru_cache
from itertools import product
from typing import Sequence

from naapgnn.data.nb201 import CELL_OPS, CELLS_PER_STAGE, CHANNELS, DATASETS, EDGES
from naapgnn.errors import NaapgnnError

NUM_EDGES = len(EDGES)
CELLS = 3 * CELLS_PER_STAGE
FIXED_LAYERS = 1 + 2 * 5 + 3  # stem; two reduction blocks; batchnorm, gap, linear


def cell_string(ops: Sequence[str]) -> str:
    """The benchmark's notation of a cell given the op of each edge in :data:`EDGES` order."""
    if len(ops) != NUM_EDGES:
        raise NaapgnnError(f"a NAS-Bench-201 cell has {NUM_EDGES} edges, got {len(ops)} ops")
    op = dict(zip(EDGES, ops))
    return "+".join("|" + "|".join(f"{op[(i, j)]}~{i}" for i in range(j)) + "|" for j in (1, 2, 3))


def cell_ops(cell: str) -> tuple[str, ...]:
    """The op of each edge of ``cell`` (benchmark notation), in :data:`EDGES` order."""
    from naapgnn.data.nb201 import parse_cell

    parsed = parse_cell(cell)
    return tuple(parsed[e] for e in EDGES)


def all_cells() -> list[str]:
    """All 5**6 = 15,625 cells, every edge op in :data:`CELL_OPS` order, the last edge fastest."""
    return [cell_string(ops) for ops in product(CELL_OPS, repeat=NUM_EDGES)]


def layer_keys(arch) -> list[tuple]:
    """Each layer's op, kernel, width and inputs; ``arch`` a layer-graph dict or a parsed
    :class:`naapgnn.arch.format.Architecture`."""
    if isinstance(arch, dict):
        return [(layer["op"], layer.get("kernel_size"), layer.get("out_channels"),
                 () if layer["op"] == "zero" else tuple(layer.get("inputs", [i - 1])))
                for i, layer in enumerate(arch["layers"])]
    return [(layer.op, layer.attrs.get("kernel_size"), layer.attrs.get("out_channels"), tuple(layer.inputs))
            for layer in arch.layers]


def first_cell_keys(cell: str | Sequence[str]) -> tuple:
    """:func:`layer_keys` of the first cell of :func:`nb201_network` (layers 1.., after the stem conv), and
    the layer holding the cell's output (what the next cell reads)."""
    ops = cell_ops(cell) if isinstance(cell, str) else tuple(cell)
    op = dict(zip(EDGES, ops))
    keys: list[tuple] = []
    node = {0: 0}  # cell node -> layer index holding its value (the stem is layer 0)
    for j in (1, 2, 3):
        terms = []
        for i in range(j):
            if op[(i, j)] == "skip_connect":
                terms.append(node[i])
            elif op[(i, j)] != "none":
                keys.append(_edge_key(op[(i, j)], node[i]))
                terms.append(len(keys))
        if len(terms) == 1:
            node[j] = terms[0]
            continue
        keys.append(("add", None, None, tuple(terms)) if terms else ("zero", None, None, ()))
        node[j] = len(keys)
    return tuple(keys), node[3]


def _edge_key(op: str, source: int) -> tuple:
    if op == "avg_pool_3x3":
        return ("avgpool", 3, None, (source,))
    return ("conv", 1 if op == "nor_conv_1x1" else 3, CHANNELS[0], (source,))


def dataset_of(arch) -> str | None:
    """The NAS-Bench-201 dataset whose input shape and classes ``arch`` has (None if none)."""
    if isinstance(arch, dict):
        shape, classes = tuple(arch.get("input_shape", ())), arch.get("num_classes")
    else:
        shape, classes = tuple(arch.input_shape), arch.num_classes
    return next((name for name, (_, s, c) in DATASETS.items() if tuple(s) == shape and c == classes), None)


@lru_cache(maxsize=None)
def _tables() -> tuple[dict, dict, dict]:
    """``first-cell key -> first cell building it``, ``cell -> that first cell`` (its canonical form), and
    the same by op tuples."""
    by_key: dict[tuple, tuple] = {}
    canonical_ops: dict[tuple, tuple] = {}
    for ops in product(CELL_OPS, repeat=NUM_EDGES):
        canonical_ops[ops] = by_key.setdefault(first_cell_keys(ops), ops)
    strings = {ops: cell_string(ops) for ops in canonical_ops}
    return ({k: strings[v] for k, v in by_key.items()}, {strings[k]: strings[v] for k, v in canonical_ops.items()},
            canonical_ops)


def canonical_cell(cell: str) -> str:
    """The first cell (in :func:`all_cells` order) that builds the same network as ``cell``."""
    return _tables()[1][cell_string(cell_ops(cell))]


def cell_from_network(arch, where: str = "architecture") -> str:
    """The cell of a NAS-Bench-201 network (the first of :func:`all_cells` that builds it).

    The network is read as :func:`nb201_network` builds it: a stem conv, then
    15 cells with 2 reduction blocks (5 layers each) between them, then
    batchnorm, global pooling and classifier; the first cell decides.

    Raises
    ------
    NaapgnnError
        Naming ``where`` when ``arch`` is not such a network.
    """
    if dataset_of(arch) is None:
        raise NaapgnnError(f"{where}: not a NAS-Bench-201 network (its input shape and classes match no "
                           f"dataset of {', '.join(DATASETS)})")
    keys = layer_keys(arch)
    per_cell, extra = divmod(len(keys) - FIXED_LAYERS, CELLS)
    cell = None
    if not extra and per_cell >= 0:
        # The first reduction reads the fifth cell's output: the layer at the first cell's output position
        # (4 cells further on), or the stem when every cell passes its input through.
        read = keys[1 + CELLS_PER_STAGE * per_cell][3][0]
        output = 0 if read == 0 else read - (CELLS_PER_STAGE - 1) * per_cell
        cell = _tables()[0].get((tuple(keys[1:1 + per_cell]), output))
    if cell is None:
        raise NaapgnnError(f"{where}: not a NAS-Bench-201 network (no cell builds these layers)")
    return cell


def record_neighbours(records: Sequence) -> list[list[list[int]]]:
    """Per record, the records one edge away (:func:`cell_neighbours` of the cells read back from their
    networks).

    Raises
    ------
    NaapgnnError
        When a record is not a NAS-Bench-201 network, naming its id.
    """
    return cell_neighbours([cell_from_network(r.arch, where=f"record {r.id!r}") for r in records])


def cell_neighbours(cells: Sequence[str]) -> list[list[list[int]]]:
    """Per cell, the indices of the cells one edge away: one group per edge that has any.

    Changing one edge of a cell to each of the 4 other ops gives 4 cells; the
    group of that edge holds every other index whose cell builds the same
    network as one of them (:func:`canonical_cell`; a network several cell
    strings build is reached through each of them).
    """
    canonical = _tables()[2]
    cells = [canonical[cell_ops(c)] for c in cells]
    holders: dict[tuple, list[int]] = {}
    for i, ops in enumerate(cells):
        holders.setdefault(ops, []).append(i)
    table = []
    for i, ops in enumerate(cells):
        groups = []
        for edge in range(NUM_EDGES):
            found = set()
            for op in CELL_OPS:
                if op != ops[edge]:
                    found.update(holders.get(canonical[ops[:edge] + (op,) + ops[edge + 1:]], ()))
            found.discard(i)
            if found:
                groups.append(sorted(found))
        table.append(groups)
    return table


def first_not_network(records: Sequence, file: str) -> str | None:
    """Where (:meth:`naapgnn.data.records.Record.place`) the first of ``records`` that is not a network of
    :func:`naapgnn.data.nb201.nb201_network` is; None when every one is."""
    for record in records:
        try:
            cell_from_network(record.arch)
        except NaapgnnError:
            return record.place(file)
    return None

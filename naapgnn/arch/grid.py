"""Profiling many architectures at once: their layers as a grid of distinct-layer indices.

:func:`layer_grid` reads each layer once (its :func:`~naapgnn.arch.profiling.layer_key`
and inputs); receptive fields, depths and the statistics of
:func:`~naapgnn.arch.profiling.architecture_statistics` then follow with numpy
over layer positions for all architectures together (:func:`grid_statistics`),
equal to the per-architecture functions.
"""
from __future__ import annotations

from itertools import chain
from operator import attrgetter
from typing import NamedTuple

import numpy as np

from naapgnn.arch.format import NETWORK_INPUT, Architecture, Layer
from naapgnn.arch.profiling import _SPATIAL_OPS, _downsamples, _window, cached_layer_cost, layer_keys, spatial_size


class LayerGrid(NamedTuple):
    """The layers of many architectures, one row each, as indices into their distinct layers.

    Attributes
    ----------
    kinds : numpy.ndarray of int, shape (n, width)
        ``kinds[a, i]`` indexes the distinct layer (by :func:`layer_key`) that
        is layer ``i`` of architecture ``a``; past its last layer, ``len(layers)``.
    layers : list of Layer
        One layer of each kind.
    lengths : numpy.ndarray of int, shape (n,)
        Layers of each architecture.
    fields : numpy.ndarray of float, shape (n, width)
        :func:`receptive_fields` of each architecture (padded past its last layer).
    depths : numpy.ndarray of int, shape (n, width)
        :func:`layer_depths` of each architecture (padded past its last layer).
    """

    kinds: np.ndarray
    layers: list
    lengths: np.ndarray
    fields: np.ndarray
    depths: np.ndarray

    def take(self, rows: np.ndarray) -> "LayerGrid":
        """The grid of the architectures ``rows`` (indices or a boolean mask)."""
        return self._replace(kinds=self.kinds[rows], lengths=self.lengths[rows], fields=self.fields[rows],
                             depths=self.depths[rows])


_INPUTS = attrgetter("inputs")


def layer_grid(archs: list[Architecture]) -> LayerGrid:
    """The :class:`LayerGrid` of parsed architectures, with their receptive fields and depths.

    Each layer is read once, for its key and its inputs; fields and depths then
    advance one layer position at a time for all architectures together, with
    the arithmetic of :func:`receptive_fields` and :func:`layer_depths` (so the
    values are equal).
    """
    kinds, layers, counts, sources = _grid_rows(archs)
    lengths = np.fromiter(map(len, kinds), dtype=np.intp, count=len(kinds))
    width = int(lengths.max(initial=0))
    present = np.arange(width) < lengths[:, None]
    grid = np.full((len(kinds), width), len(layers), dtype=np.intp)
    grid[present] = np.fromiter(chain.from_iterable(kinds), dtype=np.intp, count=int(lengths.sum()))
    fields, depths = _propagate(grid, layers, _input_columns(counts, sources, present))
    return LayerGrid(grid, layers, lengths, fields, depths)


def _grid_rows(archs: list[Architecture]) -> tuple[list[list[int]], list[Layer], list[int], list[int]]:
    """Per architecture the kind of each layer; one layer of each kind; the number of inputs
    of each layer and the inputs, all layers of all architectures in a row."""
    index: dict = {}
    layers: list[Layer] = []
    kinds, counts, sources = [], [], []
    for arch in archs:
        keys = layer_keys(arch.layers)
        try:
            kinds.append(list(map(index.__getitem__, keys)))
        except (KeyError, TypeError):  # a layer not seen yet
            kinds.append([_kind(index, layers, key, layer) for key, layer in zip(keys, arch.layers)])
        inputs = list(map(_INPUTS, arch.layers))
        counts += map(len, inputs)
        sources += chain.from_iterable(inputs)
    return kinds, layers, counts, sources


def _kind(index: dict, layers: list[Layer], key: tuple, layer: Layer) -> int:
    """The kind of ``layer``, a new one when its key is new (or unhashable)."""
    try:
        return index[key]
    except KeyError:
        index[key] = len(layers)
    except TypeError:  # an unhashable field: a kind of its own
        pass
    layers.append(layer)
    return len(layers) - 1


def _input_columns(counts: list[int], sources: list[int], present: np.ndarray) -> np.ndarray:
    """``(n, width, most inputs)`` grid columns each layer reads: ``width`` for the network input
    (which a zero layer, having no input, reads too: it starts afresh), ``width + 1`` (a column no
    layer's value can beat) for unused slots."""
    n, width = present.shape
    per_cell = np.zeros((n, width), dtype=np.intp)
    per_cell[present] = counts
    columns = np.full((n, width, int(per_cell.max(initial=1))), width + 1, dtype=np.intp)
    columns[per_cell == 0, 0] = width  # a zero layer, and padding past the last layer, read the network input
    sources = np.array(sources, dtype=np.intp)
    columns[np.arange(columns.shape[2]) < per_cell[..., None]] = np.where(sources == NETWORK_INPUT, width, sources)
    return columns


def _propagate(grid: np.ndarray, layers: list[Layer], columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Receptive fields and depths of every grid cell, one layer position at a time.

    The values are kept position-major (``value[j * n + a]`` is column ``j`` of
    architecture ``a``), so a position's inputs are one flat gather.
    """
    n, width = grid.shape
    windows = np.array([_window(layer) for layer in layers] + [(1, 1)], dtype=np.int64).reshape(-1, 2)[grid.T]
    counted = np.array([layer.op in ("conv", "linear") for layer in layers] + [False])[grid.T]
    reads = columns.transpose(1, 2, 0) * n + np.arange(n)
    field, jump = np.ones((width + 2) * n), np.ones((width + 2) * n)
    field[-n:] = jump[-n:] = -np.inf
    depth = np.zeros((width + 2) * n, dtype=np.int64)
    depth[-n:] = -1
    for i in range(width):
        read, here = reads[i], slice(i * n, (i + 1) * n)
        field_in, jump_in = field.take(read).max(axis=0), jump.take(read).max(axis=0)
        field[here] = field_in + (windows[i, :, 0] - 1) * jump_in
        jump[here] = jump_in * windows[i, :, 1]
        depth[here] = depth.take(read).max(axis=0) + counted[i]
    return field[:width * n].reshape(width, n).T, depth[:width * n].reshape(width, n).T


def grid_statistics(grid: LayerGrid) -> dict[str, np.ndarray]:
    """:func:`architecture_statistics` of every architecture of a :class:`LayerGrid`, one array per statistic."""
    cell = _cell_facts(grid)
    rows = np.arange(len(grid.kinds))
    first, last, final = _first(cell["conv"]), _last(cell["conv"]), _last(cell["spatial"])
    return {
        "NumParams": cell["params"].sum(axis=1),
        "NumMACs": cell["macs"].sum(axis=1),
        "NumLayers": cell["conv"].sum(axis=1),
        "NumStages": cell["downsamples"].sum(axis=1),
        "FirstLayerWidth": np.where(first >= 0, cell["width"][rows, first], 0),
        "LastLayerWidth": np.where(last >= 0, cell["width"][rows, last], 0),
        "NumSkipConnections": cell["residual"].sum(axis=1),
        "NumPartialRFLayers": cell["partial"].sum(axis=1),
        "Depth": grid.depths[rows, grid.lengths - 1],
        "NumBlocks": cell["block"].sum(axis=1),
        "MaxLayerWidth": cell["width"].max(axis=1, initial=0),
        "FinalSize": np.where(final >= 0, cell["size"][rows, final], 0),
        "FinalReceptiveField": np.where(final >= 0, grid.fields[rows, final], 1.0),
        "ClassifierParams": (cell["params"] * (np.arange(grid.kinds.shape[1]) > final[:, None])).sum(axis=1),
    }


def _cell_facts(grid: LayerGrid) -> dict[str, np.ndarray]:
    """What the statistics count, worked out per distinct layer and spread to the grid's cells
    (False or 0 past an architecture's last layer)."""
    layers = grid.layers
    costs = [cached_layer_cost(layer) for layer in layers]
    masks = {
        "conv": [layer.op == "conv" for layer in layers],
        "spatial": [len(layer.out_shape) == 3 for layer in layers],
        "block": [layer.op in _SPATIAL_OPS for layer in layers],
        "downsamples": [_downsamples(layer) for layer in layers],
        "residual": [layer.op == "conv" and bool(layer.attrs["residual"]) for layer in layers],
        "partial": [layer.op in _SPATIAL_OPS and layer.attrs["stride"] > layer.attrs["kernel_size"] for layer in layers],
    }
    numbers = {
        "width": [layer.attrs["out_channels"] if layer.op == "conv" else 0 for layer in layers],
        "size": [spatial_size(layer.out_shape) for layer in layers],
        "params": [cost.params for cost in costs],
        "macs": [cost.macs for cost in costs],
    }
    cell = {name: np.array([*values, False], dtype=bool)[grid.kinds] for name, values in masks.items()}
    width = grid.kinds.shape[1]
    cell.update({name: np.array([*values, 0], dtype=_int_type(values, width))[grid.kinds]
                 for name, values in numbers.items()})
    return cell


def _int_type(values: list[int], width: int) -> type:
    """int64 when sums of ``width`` of these values fit in it, else Python ints."""
    return np.int64 if max(values, default=0) * max(width, 1) < 2 ** 63 else object


def _first(mask: np.ndarray) -> np.ndarray:
    """Per row, the first column where ``mask`` holds (-1 where none does)."""
    from_end = _last(mask[:, ::-1])
    return np.where(from_end >= 0, mask.shape[1] - 1 - from_end, -1)


def _last(mask: np.ndarray) -> np.ndarray:
    """Per row, the last column where ``mask`` holds (-1 where none does)."""
    return np.where(mask, np.arange(mask.shape[1]), -1).max(axis=1, initial=-1)

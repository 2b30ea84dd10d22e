"""Tabular features shared by the baselines and the predictors.

Three families, each returned as a :class:`pandas.DataFrame` with one row per
architecture (in input order) and named float columns:

* :func:`paper_features` - the NAAP-440 paper's feature sets for a budget of
  ``k`` epochs (``k = 0``: log NumParams and NumStages; ``k > 0``: six scheme
  columns plus LossMean, LossMedian and Accuracy of epochs ``1..k``).
* :func:`per_layer_features` - a fixed-length description of each block
  (width, kernel, stride, residual, output size, log params and MACs,
  cumulative receptive field) padded with zeros to ``max_blocks``, plus totals.
* :func:`cycle_features` - training-curve summaries aligned to NAAP-440's
  cyclic learning rate (0.1, 0.01, 0.001 repeating, so epochs 3, 6, 9, ... end
  a cycle at the lowest rate). Only epochs ``<= budget`` are ever read.

Inputs may be a NAAP-440 DataFrame (:func:`naapgnn.data.naap440.load_naap440`), a list
of :class:`naapgnn.data.records.Record`, or (for the architecture features) a list
of schemes, layer-graph dicts or :class:`naapgnn.arch.format.Architecture`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from naapgnn.errors import NaapgnnError
from naapgnn.features.curves import cycle_summary

CYCLE_LENGTH = 3
SCHEME_LIMITED = ("NumParams", "NumStages")
SCHEME_FULL = ("NumParams", "NumMACs", "NumLayers", "NumStages", "FirstLayerWidth", "LastLayerWidth")
CURVE_METRICS = ("LossMean", "LossMedian", "Accuracy")
BLOCK_FEATURES = (
    "present", "pool", "width", "kernel", "stride", "residual", "out_size",
    "log_params", "log_macs", "receptive_field",
)
TOTAL_FEATURES = (
    "log_params", "log_macs", "num_blocks", "num_stages", "num_residual", "num_partial_rf",
    "first_width", "last_width", "max_width", "final_size", "final_receptive_field",
    "classifier_log_params",
)
_CHANNEL = {"LossMean": "loss_mean", "LossMedian": "loss_median", "Accuracy": "accuracy"}
_SPATIAL_OPS = ("conv", "maxpool", "avgpool")

__all__ = [
    "paper_feature_columns", "paper_features", "feature_set_name",
    "per_layer_features", "readable_per_layer_features", "count_blocks", "cycle_features", "cycle_feature_names",
    "curve_matrix", "architectures_of",
]


def _check_budget(budget: int) -> int:
    """A non-negative integer; whether the curves are that long is checked where they are read
    (NAAP-440 has 90 epochs, other benchmarks their own length)."""
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or not 0 <= budget:
        raise NaapgnnError(f"budget must be a non-negative integer number of epochs, got {budget!r}")
    return int(budget)


def _is_frame(data) -> bool:
    return hasattr(data, "columns") and hasattr(data, "iloc")


def _frame(rows: dict[str, Any], index=None):
    import pandas as pd

    return pd.DataFrame(rows, index=index).astype(float)


# --- the paper's features ----------------------------------------------------


def paper_feature_columns(budget: int) -> list[str]:
    """The dataset columns of the paper's feature set for ``budget`` epochs, in order."""
    budget = _check_budget(budget)
    if budget == 0:
        return list(SCHEME_LIMITED)
    return [*SCHEME_FULL, *(f"e{e}{m}" for e in range(1, budget + 1) for m in CURVE_METRICS)]


def feature_set_name(budget: int) -> str:
    """The paper's name of a feature set: ``"Scheme"`` or ``"Scheme + Quantitative k epochs"``."""
    budget = _check_budget(budget)
    return "Scheme" if budget == 0 else f"Scheme + Quantitative {budget} epochs"


def paper_features(data, budget: int, log: bool = True):
    """The paper's features for ``budget`` epochs.

    Parameters
    ----------
    data : DataFrame or list of Record
        A NAAP-440 table (its columns are read directly) or benchmark records
        (scheme columns computed from the architecture, epochs from the curve).
    budget : int
        Epochs of training curve, 0..90.
    log : bool
        Take ``log`` of NumParams and NumMACs, as the paper does.

    Returns
    -------
    pandas.DataFrame
        Columns :func:`paper_feature_columns`; float.
    """
    columns = paper_feature_columns(budget)
    if _is_frame(data):
        missing = [c for c in columns if c not in data.columns]
        if missing:
            raise NaapgnnError(f"paper features (budget {budget}): the table has no column {missing[0]!r}")
        out = data[columns].astype(float).copy()
    else:
        out = _paper_from_records(list(data), budget, columns)
    if log:
        for c in ("NumParams", "NumMACs"):
            if c in out:
                out[c] = np.log(out[c])
    return out


def _paper_from_records(records: list, budget: int, columns: list[str]):
    rows = []
    for r in records:
        row = _scheme_columns(r.arch)
        for e in range(1, budget + 1):
            for m in CURVE_METRICS:
                row[f"e{e}{m}"] = _curve_value(r, _CHANNEL[m], e)
        rows.append([row[c] for c in columns])
    return _frame(dict(zip(columns, np.array(rows, dtype=float).reshape(len(rows), len(columns)).T)))


def _scheme_columns(arch) -> dict[str, float]:
    from naapgnn.arch.profiling import architecture_statistics

    stats = architecture_statistics(_parse(arch))
    return {name: stats[name] for name in SCHEME_FULL}


def _curve_value(record, channel: str, epoch: int) -> float:
    values = record.curve.get(channel)
    if values is None or len(values) == 0:
        raise NaapgnnError(f"record {record.id!r}: the curve has no {channel!r} channel")
    if len(values) < epoch:
        raise NaapgnnError(f"record {record.id!r}: {channel!r} has {len(values)} epochs, budget needs {epoch}")
    return float(values[epoch - 1])


# --- architecture features ------------------------------------------------------


def architectures_of(data) -> list:
    """Parsed architectures of a NAAP-440 DataFrame (its ``scheme`` column), a
    list of records, or a list of schemes / layer graphs / Architectures."""
    if _is_frame(data):
        if "scheme" not in data.columns:
            raise NaapgnnError("per-layer features: the table has no 'scheme' column (use naapgnn.data.naap440.load_naap440)")
        items = list(data["scheme"])
    else:
        items = [getattr(item, "arch", item) for item in data]
    return [_parse(item) for item in items]


def _parse(arch):
    from naapgnn.arch.format import Architecture, parse_architecture

    return arch if isinstance(arch, Architecture) else parse_architecture(arch)


def count_blocks(arch) -> int:
    """Conv and pool layers of a parsed architecture: the block slots :func:`per_layer_features` needs."""
    return sum(layer.op in _SPATIAL_OPS for layer in arch.layers)


def _block_values(layer, cost) -> tuple[float, ...]:
    """The :data:`BLOCK_FEATURES` of a conv / pool layer but its receptive field (which depends on where it sits)."""
    from naapgnn.arch.profiling import spatial_size

    return (1.0, float(layer.op != "conv"), float(layer.out_shape[0]), float(layer.attrs["kernel_size"]),
            float(layer.attrs["stride"]), float(bool(layer.attrs.get("residual", False))),
            float(spatial_size(layer.out_shape)), math.log1p(cost.params), math.log1p(cost.macs))


def _fill_blocks(grid, out: np.ndarray) -> None:
    """Write the block features of every architecture of a :class:`~naapgnn.arch.grid.LayerGrid`
    into ``out`` (shape ``(n, max_blocks, len(BLOCK_FEATURES))``, zeros).

    Each distinct layer's values are worked out once and copied to the slots of the blocks that are that layer.
    """
    from naapgnn.arch.profiling import cached_layer_cost

    width = len(BLOCK_FEATURES) - 1
    values = np.array([_block_values(layer, cached_layer_cost(layer)) if layer.op in _SPATIAL_OPS else (0.0,) * width
                       for layer in grid.layers] + [(0.0,) * width]).reshape(-1, width)
    is_block = values[grid.kinds, 0] == 1.0  # the "present" column
    arch, position = np.nonzero(is_block)
    slot = np.cumsum(is_block, axis=1)[arch, position] - 1
    out[arch, slot, :width] = values[grid.kinds[arch, position]]
    out[arch, slot, width] = grid.fields[arch, position]


def _total_columns(stats: dict[str, np.ndarray]) -> np.ndarray:
    """The :data:`TOTAL_FEATURES` columns from :func:`~naapgnn.arch.grid.grid_statistics` (logs by :mod:`math`)."""
    columns = (
        [math.log(max(1, p)) for p in stats["NumParams"].tolist()],
        [math.log(max(1, m)) for m in stats["NumMACs"].tolist()],
        stats["NumBlocks"],
        stats["NumStages"],
        stats["NumSkipConnections"],
        stats["NumPartialRFLayers"],
        stats["FirstLayerWidth"],
        stats["LastLayerWidth"],
        stats["MaxLayerWidth"],
        stats["FinalSize"],
        stats["FinalReceptiveField"],
        [math.log1p(c) for c in stats["ClassifierParams"].tolist()],
    )
    return np.array(columns, dtype=float).reshape(len(columns), len(stats["NumBlocks"])).T


def per_layer_features(data, max_blocks: int | None = None):
    """Fixed-length per-block architecture features.

    Each conv or pool layer is a block. Block ``i`` contributes the columns
    ``b{i}_{name}`` for ``name`` in :data:`BLOCK_FEATURES` (zeros when the
    network has fewer blocks); the totals follow as ``total_{name}`` for
    ``name`` in :data:`TOTAL_FEATURES`. Params and MACs follow the thop
    convention of :mod:`naapgnn.arch.profiling` (a block's batch norm included);
    receptive fields are in input pixels.

    Parameters
    ----------
    data : DataFrame, list of Record, or list of architectures
        See :func:`architectures_of`.
    max_blocks : int, optional
        Number of block slots. Default: the most blocks of any input (4 for
        NAAP-440). Pass the same value when featurising a training set and new
        architectures separately.

    Returns
    -------
    pandas.DataFrame
    """
    grid, stats = _layer_statistics(data)
    longest = int(stats["NumBlocks"].max(initial=0))
    if max_blocks is None:
        max_blocks = longest
    elif longest > max_blocks:
        i = int(np.argmax(stats["NumBlocks"] > max_blocks))
        raise NaapgnnError(
            f"per-layer features: architecture {i} has {stats['NumBlocks'][i]} conv/pool blocks, "
            f"more than max_blocks={max_blocks}"
        )
    return _per_layer_frame(grid, stats, max_blocks, data.index if _is_frame(data) else None)


def readable_per_layer_features(data, max_blocks: int):
    """:func:`per_layer_features` of the architectures that have at most ``max_blocks`` conv/pool blocks.

    Returns
    -------
    features : pandas.DataFrame
        One row per such architecture, in input order.
    readable : numpy.ndarray of bool, shape (n,)
        Which architectures those are.
    """
    grid, stats = _layer_statistics(data)
    readable = stats["NumBlocks"] <= max_blocks
    index = data.index if _is_frame(data) else None
    if not readable.all():
        rows = np.flatnonzero(readable)
        grid, stats = grid.take(rows), {name: column[rows] for name, column in stats.items()}
        index = index[rows] if index is not None else None
    return _per_layer_frame(grid, stats, max_blocks, index), readable


def _layer_statistics(data):
    """The :class:`~naapgnn.arch.grid.LayerGrid` of the architectures of ``data`` and its statistics."""
    from naapgnn.arch.grid import grid_statistics, layer_grid

    grid = layer_grid(architectures_of(data))
    return grid, grid_statistics(grid)


def _per_layer_frame(grid, stats: dict[str, np.ndarray], max_blocks: int, index):
    """The :func:`per_layer_features` table of a grid whose architectures have at most ``max_blocks`` blocks."""
    import pandas as pd

    names = [f"b{i}_{f}" for i in range(max_blocks) for f in BLOCK_FEATURES] + [f"total_{f}" for f in TOTAL_FEATURES]
    values = np.zeros((len(grid.kinds), len(names)))
    blocks = max_blocks * len(BLOCK_FEATURES)
    _fill_blocks(grid, values[:, :blocks].reshape(len(values), max_blocks, len(BLOCK_FEATURES)))  # a view
    values[:, blocks:] = _total_columns(stats)
    return pd.DataFrame(values, columns=names, index=index)


# --- curve features ---------------------------------------------------------------


def curve_matrix(data, budget: int, metric: str = "Accuracy") -> np.ndarray:
    """Epochs ``1..budget`` of one curve metric as an ``(n, budget)`` array.

    ``metric`` is ``"Accuracy"``, ``"LossMean"`` or ``"LossMedian"``. A record
    whose curve is shorter than ``budget`` is an error.
    """
    budget = _check_budget(budget)
    if metric not in CURVE_METRICS:
        raise NaapgnnError(f"unknown curve metric {metric!r} (expected one of {', '.join(CURVE_METRICS)})")
    if _is_frame(data):
        columns = [f"e{e}{metric}" for e in range(1, budget + 1)]
        missing = [c for c in columns if c not in data.columns]
        if missing:
            raise NaapgnnError(f"curve features (budget {budget}): the table has no column {missing[0]!r}")
        return data[columns].to_numpy(dtype=float)
    records = list(data)
    out = np.zeros((len(records), budget))
    for i, r in enumerate(records):
        for e in range(1, budget + 1):
            out[i, e - 1] = _curve_value(r, _CHANNEL[metric], e)
    return out


def cycle_feature_names(budget: int, cycle: int = CYCLE_LENGTH) -> list[str]:
    """Column names of :func:`cycle_features` for ``budget`` epochs."""
    budget = _check_budget(budget)
    if budget == 0:
        return []
    n_cycles = budget // cycle
    names = ["acc_last", "acc_best", "loss_last", "loss_best"]
    names += [f"acc_cycle{c}" for c in range(1, n_cycles + 1)]
    names += [f"loss_cycle{c}" for c in range(1, n_cycles + 1)]
    names += [f"gain_cycle{c}" for c in range(2, n_cycles + 1)]
    if n_cycles >= 1:
        names += ["acc_extrapolated"]
    if n_cycles >= 2:
        names += ["acc_log_fit_final"]
    return names


def cycle_features(data, budget: int, cycle: int = CYCLE_LENGTH, final_epoch: int = 90):
    """Curve summaries aligned to the cyclic learning rate, from epochs ``<= budget``.

    Columns (see :func:`cycle_feature_names`): last and best accuracy and loss
    mean so far; accuracy and loss mean at each completed cycle end (epochs
    ``cycle, 2 * cycle, ...``, the lowest learning rate); the accuracy gain of
    each cycle over the previous one; ``acc_extrapolated``, the last cycle-end
    accuracy plus :func:`naapgnn.features.curves.geometric_tail` of the gains;
    and ``acc_log_fit_final``, a least-squares line of cycle-end accuracy
    against ``log(epoch)`` evaluated at ``final_epoch`` and clipped to [0, 1].

    Parameters
    ----------
    data : DataFrame or list of Record
    budget : int
        Epochs available, 0..90 (0 gives an empty table).
    cycle : int
        Epochs per learning-rate cycle (3 for NAAP-440).

    Returns
    -------
    pandas.DataFrame
    """
    budget = _check_budget(budget)
    index = data.index if _is_frame(data) else None
    names = cycle_feature_names(budget, cycle)
    if budget == 0:
        n = len(data)
        return _frame({}, index=index if index is not None else range(n))
    acc = curve_matrix(data, budget, "Accuracy")
    loss = curve_matrix(data, budget, "LossMean")
    ends = np.arange(cycle, budget + 1, cycle)
    acc_end, gains, acc_extrapolated = cycle_summary(acc, cycle)
    cols = [acc[:, -1], acc.max(axis=1), loss[:, -1], loss.min(axis=1)]
    cols += list(acc_end.T) + list(loss[:, ends - 1].T) + list(gains.T)
    if len(ends) >= 1:
        cols.append(acc_extrapolated)
    if len(ends) >= 2:
        cols.append(_log_fit(acc_end, ends, final_epoch))
    return _frame(dict(zip(names, cols)), index=index)


def _log_fit(acc_end: np.ndarray, ends: np.ndarray, final_epoch: int) -> np.ndarray:
    x = np.log(ends.astype(float))
    x = x - x.mean()
    slope = (acc_end - acc_end.mean(axis=1, keepdims=True)) @ x / (x @ x)
    at_final = acc_end.mean(axis=1) + slope * (math.log(final_epoch) - np.log(ends.astype(float)).mean())
    return np.clip(at_final, 0.0, 1.0)

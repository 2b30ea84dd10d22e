"""What :class:`naapgnn.models.gnn.GNNPredictor` accepts: ``X`` turned into records, and its hyperparameters checked."""
from __future__ import annotations

import numpy as np

from naapgnn.errors import NaapgnnError

CURVE_MODES = ("network", "stack", "both")

__all__ = ["as_records", "check_params"]


def as_records(X) -> list:
    """Turn estimator input into a list of :class:`naapgnn.data.records.Record`.

    Accepts a NAAP-440 DataFrame (with its ``scheme`` column), or a sequence
    of records, :class:`naapgnn.arch.format.Architecture` objects, schemes, layer
    graphs or JSON Lines record dicts (with an ``"arch"`` key). Items that are
    not records get their position as id.
    """
    from naapgnn.arch.format import parse_architecture
    from naapgnn.data.records import Record, record_from_dict, records_from_naap440

    if hasattr(X, "columns") and hasattr(X, "iloc"):
        if "scheme" not in X.columns:
            raise NaapgnnError("GNNPredictor: the table has no 'scheme' column (use naapgnn.data.naap440.load_naap440)")
        return records_from_naap440(X)
    if isinstance(X, Record):
        X = [X]
    out = []
    for i, item in enumerate(X):
        if isinstance(item, Record):
            out.append(item)
        elif isinstance(item, dict) and "arch" in item:
            try:
                out.append(record_from_dict(item))
            except NaapgnnError as exc:
                raise NaapgnnError(f"input {i}: {exc}") from None
        else:
            out.append(Record(id=str(i), arch=parse_architecture(item, source=f"input {i}")))
    if not out:
        raise NaapgnnError("GNNPredictor: no architectures given")
    return out


# --- the estimator -------------------------------------------------------------------------


def targets_of(records: list, y, who: str) -> np.ndarray:
    """``y`` as a float array, or the records' own targets when ``y`` is None; one-line errors naming ``who``."""
    if y is None:
        missing = [r.id for r in records if r.target is None]
        if missing:
            raise NaapgnnError(f"{who}: record {missing[0]!r} has no target (pass y or a target)")
        y = [r.target for r in records]
    y = np.asarray(y, dtype=float).reshape(-1)
    if len(y) != len(records):
        raise NaapgnnError(f"{who}: {len(records)} architectures but {len(y)} targets")
    if not np.all(np.isfinite(y)):
        raise NaapgnnError(f"{who}: target {int(np.flatnonzero(~np.isfinite(y))[0])} is not finite")
    return y


def check_params(est) -> None:
    """Raise a one-line NaapgnnError for the first GNNPredictor hyperparameter of ``est`` out of range."""
    from naapgnn.models.network import CONV_TYPES, DIRECTIONS

    b = est.budget
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 0:
        raise NaapgnnError(f"GNNPredictor: budget must be a non-negative integer number of epochs, got {b!r}")
    for name in ("hidden", "layers", "curve_hidden", "max_epochs", "patience", "n_ensemble",
                 "forest_trees"):
        value = getattr(est, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise NaapgnnError(f"GNNPredictor: {name} must be a positive integer, got {value!r}")
    for name in ("dropout", "rank_weight", "lr", "weight_decay"):
        value = getattr(est, name)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not value >= 0:
            raise NaapgnnError(f"GNNPredictor: {name} must be a non-negative number, got {value!r}")
    if est.batch_size is not None and (not isinstance(est.batch_size, (int, np.integer)) or est.batch_size < 1):
        raise NaapgnnError(f"GNNPredictor: batch_size must be None or a positive integer, got {est.batch_size!r}")
    if est.conv not in CONV_TYPES:
        raise NaapgnnError(f"GNNPredictor: conv must be one of {', '.join(CONV_TYPES)}, got {est.conv!r}")
    if est.direction not in DIRECTIONS:
        raise NaapgnnError(f"GNNPredictor: direction must be one of {', '.join(DIRECTIONS)}, got {est.direction!r}")
    if not _number_in(est.blend_forest, 0.0, 1.0):
        raise NaapgnnError(f"GNNPredictor: blend_forest must be in [0, 1], got {est.blend_forest!r}")
    if est.val_fraction is not None and not (_number_in(est.val_fraction, 0.0, 1.0) and est.val_fraction < 1):
        raise NaapgnnError(f"GNNPredictor: val_fraction must be None or in [0, 1), got {est.val_fraction!r}")
    if est.curve_mode not in CURVE_MODES:
        raise NaapgnnError(f"GNNPredictor: curve_mode must be one of {', '.join(CURVE_MODES)}, got {est.curve_mode!r}")
    if est.conv == "gatv2" and est.hidden % 4:
        raise NaapgnnError(f"GNNPredictor: hidden must be a multiple of 4 (attention heads) for gatv2, got {est.hidden}")


def _number_in(value, low: float, high: float) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
            and low <= value <= high)

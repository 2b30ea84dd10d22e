"""The gated curve stack: when to trust the curve.

:class:`naapgnn.models.gnn.GNNPredictor` (``curve_mode="stack"``) predicts
from the graph alone with its ensemble, then may correct that with a ridge
regression of the target on (held-out ensemble prediction, curve features).
:func:`fit_gated_stack` fits that ridge and keeps it only when it helps: it
compares, on the training split's cross-validation (the members' held-out
predictions, then ``cv`` folds for the ridge), the mean squared error and
Kendall tau of the stacked prediction with those of the graph-only
prediction, which is the same model's prediction at budget 0. The stack is
kept only if it lowers the error without lowering the tau; otherwise the
curve gets weight 0, so the model at budget ``k >= 1`` is never worse than at
budget 0 on that cross-validation.
"""
from __future__ import annotations

import numpy as np

from naapgnn.errors import NaapgnnError

__all__ = ["fit_gated_stack"]


def fit_gated_stack(oof: np.ndarray, curve: np.ndarray, target: np.ndarray, cv: int = 5,
                    random_state: int = 0) -> tuple[np.ndarray, float, dict]:
    """Ridge of ``target`` on ``[oof, curve]`` if it beats ``oof`` alone on cross-validation.

    Parameters
    ----------
    oof : numpy.ndarray of shape (n,)
        Held-out graph-only predictions (NaN where none; those rows are skipped).
    curve : numpy.ndarray of shape (n, d)
        Standardised curve features.
    target : numpy.ndarray of shape (n,)
        Standardised targets.
    cv : int
        Folds for the ridge's own held-out predictions.
    random_state : int
        Seed of the folds.

    Returns
    -------
    (coef, intercept, gate)
        ``coef`` of length ``1 + d`` (``[1, 0, ...]`` and intercept 0 when the
        curve is dropped); ``gate``: ``used`` (bool) and the cross-validated
        ``mse`` and ``tau`` of both candidates (``graph_*``, ``stack_*``).
    """
    from scipy.stats import kendalltau
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_predict

    rows = np.isfinite(oof)
    if rows.sum() < max(10, 2 * cv):
        raise NaapgnnError(f"GNNPredictor: the curve stack needs held-out predictions of at least "
                           f"{max(10, 2 * cv)} records, got {int(rows.sum())} (more data or val_fraction)")
    X, y, base = np.c_[oof[rows], curve[rows]], target[rows], oof[rows]
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 13))
    stacked = cross_val_predict(ridge, X, y, cv=KFold(cv, shuffle=True, random_state=random_state))
    gate = {"graph_mse": float(np.mean((base - y) ** 2)), "stack_mse": float(np.mean((stacked - y) ** 2)),
            "graph_tau": float(kendalltau(base, y)[0]), "stack_tau": float(kendalltau(stacked, y)[0])}
    gate["used"] = bool(gate["stack_mse"] < gate["graph_mse"] and gate["stack_tau"] >= gate["graph_tau"])
    if not gate["used"]:
        return np.r_[1.0, np.zeros(curve.shape[1])], 0.0, gate
    ridge.fit(X, y)
    return ridge.coef_.astype(float), float(ridge.intercept_), gate

"""The gated curve stack: when to trust the curve, linearly or not.

:class:`naapgnn.models.gnn.GNNPredictor` (``curve_mode="stack"``) predicts
from the graph alone (its ensemble blended with the per-layer forest), then
may correct that with a model stacked on the held-out graph predictions. :func:`fit_gated_stack` weighs
three candidates on the training split's cross-validation (the members'
held-out predictions, then ``cv`` folds for the stacked model):

* ``"graph"``: the held-out graph-only prediction itself, which is the same
  model's prediction at budget 0;
* ``"linear"``: a ridge regression of the target on (held-out prediction,
  curve features), alpha by cross-validation;
* ``"nonlinear"``: the held-out prediction plus an RBF kernel ridge
  regression of its residual on (held-out prediction, curve features,
  hyperparameters, and Baker et al. 2018's raw curve values with their
  first and second differences), its ``alpha`` and ``gamma`` chosen in
  :data:`KERNEL_GRID` on the same folds, as Baker et al. choose their
  nu-SVR's (a kernel ridge fits in milliseconds, where a nu-SVR with a
  large ``C`` took seconds on 550 records). It catches what a line cannot:
  diverged nets, learning-rate interactions, an early value that says it
  all. Far from the training data an RBF kernel's output decays to zero,
  so the prediction falls back to the graph's.

A stack is kept only if its cross-validated mean squared error is lower than
the graph-only one and its Kendall tau not lower; of the stacks kept, the
lower error wins. Otherwise the curve gets weight 0, so the model at budget
``k >= 1`` is never worse than at budget 0 on that cross-validation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from naapgnn.errors import NaapgnnError

__all__ = ["CurveStack", "fit_gated_stack", "apply_stack", "STACK_KINDS", "KERNEL_GRID"]

STACK_KINDS = ("graph", "linear", "nonlinear")
# Kernel ridge settings (alpha, gamma as a multiple of 1 / number of columns; the columns are standardised)
KERNEL_GRID = tuple((alpha, g) for alpha in (0.01, 0.03, 0.1, 0.3, 1.0) for g in (0.1, 0.3, 1.0, 3.0))


@dataclass
class CurveStack:
    """A fitted gate: ``kind`` (one of :data:`STACK_KINDS`), the ridge's ``coef`` (length ``1 + d``;
    ``[1, 0, ...]`` unless linear) and ``intercept``, the nonlinear ``model`` (or None), ``oof``: the
    cross-validated predictions of the kind kept (what calibration reads), and ``gate``: the
    cross-validated ``mse`` and ``tau`` of each candidate (``graph_*``, ``stack_*`` for the ridge,
    ``nonlinear_*``), the nonlinear setting chosen, ``kind`` and ``used`` (a stack was kept)."""

    kind: str
    coef: np.ndarray
    intercept: float
    model: object = None
    oof: np.ndarray | None = None
    gate: dict = field(default_factory=dict)


def fit_gated_stack(oof: np.ndarray, curve: np.ndarray, target: np.ndarray, hparams: np.ndarray | None = None,
                    values: np.ndarray | None = None, cv: int = 5, random_state: int = 0) -> CurveStack:
    """The best of graph-only, a ridge and a nonlinear stack on cross-validation (see the module docstring).

    Parameters
    ----------
    oof : numpy.ndarray of shape (n,)
        Held-out graph-only predictions, standardised (NaN where none; those rows are skipped).
    curve : numpy.ndarray of shape (n, d)
        Standardised curve features.
    target : numpy.ndarray of shape (n,)
        Standardised targets.
    hparams : numpy.ndarray of shape (n, h), optional
        Standardised hyperparameters (read by the nonlinear stack only).
    values : numpy.ndarray of shape (n, v), optional
        Raw curve values and differences (:func:`naapgnn.features.curves.values_and_differences`;
        NaN where absent; read by the nonlinear stack only, which imputes and scales them).
    cv : int
        Folds for the stacked models' own held-out predictions.
    random_state : int
        Seed of the folds.

    Returns
    -------
    CurveStack
    """
    rows = np.isfinite(oof)
    if rows.sum() < max(10, 2 * cv):
        raise NaapgnnError(f"GNNPredictor: the curve stack needs held-out predictions of at least "
                           f"{max(10, 2 * cv)} records, got {int(rows.sum())} (more data or val_fraction)")
    n = len(oof)
    hparams = np.zeros((n, 0)) if hparams is None else hparams
    values = np.zeros((n, 0)) if values is None else values
    base, y = oof[rows], target[rows]
    linear_X, kernel_X = np.c_[base, curve[rows]], np.c_[base, curve[rows], hparams[rows], values[rows]]
    held_out = _cross_validated(linear_X, kernel_X, base, y, cv, random_state)
    setting = min(KERNEL_GRID, key=lambda s: _scores(held_out[s], y)[0])
    candidates = {"graph": base, "stack": held_out["linear"], "nonlinear": held_out[setting]}
    gate = {}
    for name, pred in candidates.items():
        gate[f"{name}_mse"], gate[f"{name}_tau"] = _scores(pred, y)
    gate["nonlinear_setting"] = dict(zip(("alpha", "gamma"), setting))
    kept = [(gate[f"{n}_mse"], n) for n in ("stack", "nonlinear")
            if gate[f"{n}_mse"] < gate["graph_mse"] and gate[f"{n}_tau"] >= gate["graph_tau"]]
    name = min(kept)[1] if kept else "graph"
    kind = {"stack": "linear", "nonlinear": "nonlinear", "graph": "graph"}[name]
    gate.update(kind=kind, used=kind != "graph")
    stacked_oof = np.full(n, np.nan)
    stacked_oof[rows] = candidates[name]
    identity = np.r_[1.0, np.zeros(curve.shape[1])]
    if kind == "linear":
        ridge = _ridge().fit(linear_X, y)
        return CurveStack(kind, ridge.coef_.astype(float), float(ridge.intercept_), None, stacked_oof, gate)
    if kind == "nonlinear":
        model = _kernel_ridge(setting, kernel_X.shape[1]).fit(kernel_X, y - base)
        return CurveStack(kind, identity, 0.0, model, stacked_oof, gate)
    return CurveStack(kind, identity, 0.0, None, stacked_oof, gate)


def _scores(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean squared error and Kendall tau of ``pred`` against ``y``."""
    from scipy.stats import kendalltau

    return float(np.mean((pred - y) ** 2)), float(kendalltau(pred, y)[0])


def _ridge():
    from sklearn.linear_model import RidgeCV

    return RidgeCV(alphas=np.logspace(-3, 3, 13))


def _kernel_ridge(setting: tuple[float, float], n_columns: int):
    """Mean imputation, scaling and an RBF kernel ridge regression with ``(alpha, gamma factor)``."""
    from sklearn.impute import SimpleImputer
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    alpha, factor = setting
    return make_pipeline(SimpleImputer(strategy="mean", keep_empty_features=True), StandardScaler(),
                         KernelRidge(alpha=alpha, kernel="rbf", gamma=factor / max(n_columns, 1)))


def _cross_validated(linear_X, kernel_X, base, y, cv: int, random_state: int) -> dict:
    """Held-out predictions of the ridge (``"linear"``) and of each nonlinear setting (its tuple)."""
    from sklearn.model_selection import KFold, cross_val_predict

    folds = KFold(cv, shuffle=True, random_state=random_state)
    out = {"linear": cross_val_predict(_ridge(), linear_X, y, cv=folds)}
    for setting in KERNEL_GRID:
        out[setting] = base + cross_val_predict(_kernel_ridge(setting, kernel_X.shape[1]), kernel_X, y - base, cv=folds)
    return out


def apply_stack(preds: np.ndarray, curve: np.ndarray, hparams: np.ndarray, values: np.ndarray, coef: np.ndarray,
                intercept: float, model=None) -> np.ndarray:
    """The stacked predictions of each member (rows of ``preds``, standardised), member by member.

    ``curve`` and ``hparams``: the standardised inputs of the columns, ``values``
    the raw curve values and differences. The linear part is exactly the
    ridge's arithmetic; a nonlinear ``model`` adds its residual, read from each
    member's own prediction.
    """
    preds = preds * coef[0] + intercept
    if len(coef) > 1:
        preds = preds + curve @ coef[1:]
    if model is not None:
        preds = np.stack([p + model.predict(np.c_[p, curve, hparams, values]) for p in preds])
    return preds

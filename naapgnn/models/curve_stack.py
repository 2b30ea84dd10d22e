"""The gated curve stack: when to trust the curve, linearly or not.

:class:`naapgnn.models.gnn.GNNPredictor` (``curve_mode="stack"``) predicts
from the graph alone with its ensemble, then may correct that with a model
stacked on the members' held-out predictions. :func:`fit_gated_stack` weighs
three candidates on the training split's cross-validation (the members'
held-out predictions, then ``cv`` folds for the stacked model):

* ``"graph"``: the held-out graph-only prediction itself, which is the same
  model's prediction at budget 0;
* ``"linear"``: a ridge regression of the target on (held-out prediction,
  curve features), alpha by cross-validation;
* ``"nonlinear"``: the held-out prediction plus an RBF nu-SVR of its residual
  on (held-out prediction, curve features, hyperparameters), ``C`` chosen
  among :data:`SVR_C` on the same folds. It catches what a line cannot:
  diverged nets, learning-rate interactions. Far from the training data an
  RBF kernel's output decays to its intercept, so the prediction falls back
  to the graph's.

A stack is kept only if its cross-validated mean squared error is lower than
the graph-only one and its Kendall tau not lower; of the stacks kept, the
lower error wins. Otherwise the curve gets weight 0, so the model at budget
``k >= 1`` is never worse than at budget 0 on that cross-validation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from naapgnn.errors import NaapgnnError

__all__ = ["CurveStack", "fit_gated_stack", "apply_stack", "STACK_KINDS", "SVR_C"]

STACK_KINDS = ("graph", "linear", "nonlinear")
SVR_C = (1.0, 10.0)


@dataclass
class CurveStack:
    """A fitted gate: ``kind`` (one of :data:`STACK_KINDS`), the ridge's ``coef`` (length ``1 + d``;
    ``[1, 0, ...]`` unless linear) and ``intercept``, the nonlinear ``model`` (or None), and ``gate``:
    the cross-validated ``mse`` and ``tau`` of each candidate (``graph_*``, ``stack_*`` for the ridge,
    ``nonlinear_*``), ``kind`` and ``used`` (a stack was kept)."""

    kind: str
    coef: np.ndarray
    intercept: float
    model: object = None
    gate: dict = field(default_factory=dict)


def fit_gated_stack(oof: np.ndarray, curve: np.ndarray, target: np.ndarray, hparams: np.ndarray | None = None,
                    cv: int = 5, random_state: int = 0) -> CurveStack:
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
    hparams = np.zeros((len(oof), 0)) if hparams is None else hparams
    base, y = oof[rows], target[rows]
    linear_X, svr_X = np.c_[base, curve[rows]], np.c_[base, curve[rows], hparams[rows]]
    scores = {kind: _scores(pred, y) for kind, pred in _cross_validated(linear_X, svr_X, base, y, cv,
                                                                        random_state).items()}
    best_C = min(SVR_C, key=lambda C: scores[f"nonlinear/{C:g}"][0])
    gate = {}
    for name, kind in (("graph", None), ("stack", "linear"), ("nonlinear", f"nonlinear/{best_C:g}")):
        gate[f"{name}_mse"], gate[f"{name}_tau"] = _scores(base, y) if kind is None else scores[kind]
    gate["nonlinear_C"] = best_C
    kept = [(gate[f"{n}_mse"], n) for n in ("stack", "nonlinear")
            if gate[f"{n}_mse"] < gate["graph_mse"] and gate[f"{n}_tau"] >= gate["graph_tau"]]
    kind = {"stack": "linear", "nonlinear": "nonlinear"}[min(kept)[1]] if kept else "graph"
    gate.update(kind=kind, used=kind != "graph")
    identity = np.r_[1.0, np.zeros(curve.shape[1])]
    if kind == "linear":
        ridge = _ridge().fit(linear_X, y)
        return CurveStack(kind, ridge.coef_.astype(float), float(ridge.intercept_), None, gate)
    if kind == "nonlinear":
        return CurveStack(kind, identity, 0.0, _svr(gate["nonlinear_C"]).fit(svr_X, y - base), gate)
    return CurveStack(kind, identity, 0.0, None, gate)


def _scores(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean squared error and Kendall tau of ``pred`` against ``y``."""
    from scipy.stats import kendalltau

    return float(np.mean((pred - y) ** 2)), float(kendalltau(pred, y)[0])


def _ridge():
    from sklearn.linear_model import RidgeCV

    return RidgeCV(alphas=np.logspace(-3, 3, 13))


def _svr(C: float):
    from sklearn.svm import NuSVR

    return NuSVR(kernel="rbf", C=C, nu=0.5, gamma="scale")


def _cross_validated(linear_X, svr_X, base, y, cv: int, random_state: int) -> dict:
    """Held-out predictions of the ridge (``"linear"``) and of each nonlinear stack (``"nonlinear/C"``)."""
    from sklearn.model_selection import KFold, cross_val_predict

    folds = KFold(cv, shuffle=True, random_state=random_state)
    out = {"linear": cross_val_predict(_ridge(), linear_X, y, cv=folds)}
    for C in SVR_C:
        out[f"nonlinear/{C:g}"] = base + cross_val_predict(_svr(C), svr_X, y - base, cv=folds)
    return out


def apply_stack(preds: np.ndarray, curve: np.ndarray, hparams: np.ndarray, coef: np.ndarray, intercept: float,
                model=None) -> np.ndarray:
    """The stacked predictions of each member (rows of ``preds``, standardised), member by member.

    ``curve`` and ``hparams``: the standardised inputs of the columns. The
    linear part is exactly the ridge's arithmetic; a nonlinear ``model`` adds
    its residual, read from each member's own prediction.
    """
    preds = preds * coef[0] + intercept
    if len(coef) > 1:
        preds = preds + curve @ coef[1:]
    if model is not None:
        preds = np.stack([p + model.predict(np.c_[p, curve, hparams]) for p in preds])
    return preds

"""The curve stack's kinds: what each candidate of the gate reads, how a kept one is refitted, and how a fitted
stack is applied to the graph prediction. The gate that weighs them is :mod:`naapgnn.models.curve_stack` (its
docstring says what each kind is and why it is there)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from naapgnn.models.gate_rules import ridge_regression
from naapgnn.models.kernels import kernel_ridge, nu_svr

__all__ = ["CurveStack", "TargetMixture", "kernel_columns", "model_columns", "fit_kind", "gate_key", "apply_stack",
           "STACK_KINDS", "CURVE_KINDS", "SVR_KINDS", "PREDICTION_BLIND", "KERNEL_INPUTS", "MIXTURE_WEIGHTS"]

STACK_KINDS = ("graph", "architecture", "hparams", "robust", "linear", "nonlinear", "svr", "svr_statistics",
               "svr_values", "svr_no_graph")
# the candidates reading the curve
CURVE_KINDS = ("linear", "nonlinear", "svr", "svr_statistics", "svr_values", "svr_no_graph")
SVR_KINDS = ("svr", "svr_statistics", "svr_values", "svr_no_graph")
# The kernel models that do not read the prediction (the first column of kernel_columns)
PREDICTION_BLIND = ("hparams", "svr_no_graph")
# The kinds with a fitted kernel model, and the inputs it reads after the prediction, in order
KERNEL_INPUTS = {"architecture": ("hparams", "statistics"), "hparams": ("hparams",),
                 "robust": ("hparams", "statistics"), "nonlinear": ("curve", "hparams", "statistics"),
                 "svr": ("curve", "hparams"), "svr_statistics": ("curve", "hparams", "statistics"),
                 "svr_values": ("curve", "values", "hparams", "statistics"),
                 "svr_no_graph": ("curve", "values", "hparams", "statistics")}
# Weights of a model mixed with the graph prediction or the budget-0 choice (1: the model alone)
MIXTURE_WEIGHTS = (0.25, 0.5, 0.75, 1.0)


@dataclass
class CurveStack:
    """A fitted gate: ``kind`` (one of :data:`STACK_KINDS`), the ridge's ``coef`` (length ``1 + d``;
    ``[1, 0, ...]`` unless linear) and ``intercept``, the kernel ``model`` (or None), ``oof``:
    the cross-validated predictions of the kind kept (what calibration reads), ``gate``: the
    cross-validated ``mae`` and ``tau`` of each candidate (``graph_*``, ``architecture_*``, ``hparams_*``,
    ``stack_*`` for the ridge, ``nonlinear_*``, ``svr_*``), the settings chosen (``*_setting``), ``budget0_kind`` (the
    choice without the curve), ``kind``, ``weight``, ``used`` (a curve stack was kept) and the choice's own
    ``mae`` and ``tau`` (standardised units); and
    ``weight`` with ``budget0``: a curve stack's share and the budget-0 stack mixed in (None at 1); ``others``:
    further curve stacks of other kinds and their shares, where the gate kept the mean of several (the budget-0
    stack then gets what the shares leave); ``shared``: the budget-0 part of the gate, which a fit at another
    budget of the same model reuses."""

    kind: str
    coef: np.ndarray
    intercept: float
    model: object = None
    oof: np.ndarray | None = None
    gate: dict = field(default_factory=dict)
    weight: float = 1.0
    budget0: "CurveStack | None" = None
    shared: object = None  # a naapgnn.models.budget0_gate.Budget0Gate
    others: list = field(default_factory=list)  # (CurveStack, share) pairs


def kernel_columns(kind: str, pred, curve, hparams, statistics, values=None) -> np.ndarray:
    """The columns a kernel stack of ``kind`` reads, in order: the prediction, then :data:`KERNEL_INPUTS`."""
    values = np.zeros((len(pred), 0)) if values is None else values
    inputs = {"curve": curve, "values": values, "hparams": hparams, "statistics": statistics}
    return np.c_[(pred, *(inputs[name] for name in KERNEL_INPUTS[kind]))]


def model_columns(kind: str, columns: np.ndarray) -> np.ndarray:
    """What the kernel model of ``kind`` reads of its :func:`kernel_columns`: all of them, or all but the prediction
    for the kinds of :data:`PREDICTION_BLIND`."""
    return columns[:, 1:] if kind in PREDICTION_BLIND else columns


class TargetMixture:
    """A model of the target itself (the ``"hparams"``, ``"robust"`` and svr stacks) as a residual of the prediction
    ``p`` (the first column of its input): ``weight * (kernel(columns) - p)``, so that ``p`` plus it is the
    mixture; the kernel reads every column with ``reads_prediction``, else all but ``p``."""

    def __init__(self, kernel, weight: float, reads_prediction: bool = False):
        self.kernel, self.weight, self.reads_prediction = kernel, float(weight), bool(reads_prediction)
        self.n_features_in_ = int(kernel.n_features_in_) + (0 if reads_prediction else 1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.weight * (self.kernel.predict(X if self.reads_prediction else X[:, 1:]) - X[:, 0])


def fit_kind(kind: str, base: np.ndarray, curve: np.ndarray, y: np.ndarray, inputs: dict, settings: dict) -> CurveStack:
    """The stack of ``kind`` refitted on all rows (``inputs``: the kernel stacks' columns by kind)."""
    if kind == "linear":
        ridge = ridge_regression().fit(np.c_[base, curve], y)
        return CurveStack(kind, ridge.coef_.astype(float), float(ridge.intercept_))
    model = None
    if kind in ("hparams", "robust", *SVR_KINDS):
        setting, weight = (settings[kind][:3], settings[kind][3]) if kind not in SVR_KINDS else (settings[kind], 1.0)
        columns = model_columns(kind, inputs[kind])
        model = TargetMixture(nu_svr(setting, columns).fit(columns, y), weight,
                              reads_prediction=kind not in PREDICTION_BLIND)
    elif kind != "graph":
        model = kernel_ridge(settings[kind], inputs[kind]).fit(inputs[kind], y - base)
    return CurveStack(kind, np.r_[1.0, np.zeros(curve.shape[1])], 0.0, model)


def gate_key(kind: str) -> str:
    """The prefix of a kind's scores in the gate dict (the ridge's are ``stack_*``)."""
    return "stack" if kind == "linear" else kind


def apply_stack(preds: np.ndarray, curve: np.ndarray, hparams: np.ndarray, statistics: np.ndarray,
                stack: CurveStack, values: np.ndarray | None = None) -> np.ndarray:
    """The stacked predictions of each member (rows of ``preds``, standardised), member by member.

    ``curve``, ``hparams`` and ``values``: the standardised inputs of the columns,
    ``statistics`` the networks' statistics. The linear part is exactly the ridge's arithmetic; a kernel
    stack adds its residual, read from each member's own prediction; a
    mixture weighs that with the budget-0 stack's output, and a mean of several kinds each by its share, the
    budget-0 stack by what their shares leave.
    """
    if stack.others or (stack.budget0 is not None and stack.weight < 1):
        parts = [(CurveStack(stack.kind, stack.coef, stack.intercept, stack.model), stack.weight), *stack.others]
        mixed = sum(share * apply_stack(preds, curve, hparams, statistics, part, values) for part, share in parts)
        rest = 1 - sum(share for _, share in parts)
        if stack.budget0 is None:
            return mixed
        return mixed + rest * apply_stack(preds, curve, hparams, statistics, stack.budget0, values)
    preds = preds * stack.coef[0] + stack.intercept
    if len(stack.coef) > 1:
        preds = preds + curve @ stack.coef[1:]
    if stack.model is not None:
        preds = np.stack([p + stack.model.predict(kernel_columns(stack.kind, p, curve, hparams, statistics,
                                                                 values)) for p in preds])
    return preds

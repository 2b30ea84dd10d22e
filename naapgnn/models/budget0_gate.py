"""The part of the curve stack's gate that reads no curve (:mod:`naapgnn.models.curve_stack`): the budget-0
candidates scored on the training split's cross-validation, and their choice, computed once per model and reused at
every budget."""
from __future__ import annotations

import numpy as np

from naapgnn.errors import TooFewRecordsError
from naapgnn.models.gate_rules import (better_candidate, folds, mean_scores, minimum_records, rescaled_bar,
                                      rescaled_predictions, target_mixtures, varies_in_every_fold)
from naapgnn.models.kernels import best_kernel, best_svr
from naapgnn.models.stack_kinds import MIXTURE_WEIGHTS, CurveStack, fit_kind, gate_key, kernel_columns, model_columns

__all__ = ["Budget0Gate", "fit_budget0_gate", "fingerprint", "at_most", "MAX_STACK_ROWS", "GATE_REPEATS",
           "REPEATED_ROWS"]

# Most records a stack reads (see :mod:`naapgnn.models.curve_stack`)
MAX_STACK_ROWS = 2000
# Draws of folds the gate's scores are averaged over, on at most REPEATED_ROWS records
# (see :mod:`naapgnn.models.curve_stack`)
GATE_REPEATS = 3
REPEATED_ROWS = 1000


class Budget0Gate:
    """The part of a gate that reads no curve, and so is the same at every budget of one model: the rows read, the
    draws of folds, the budget-0 candidates' held-out predictions, scores and settings, and their choice.
    Computing it once spares a model's refit at another budget (:meth:`GNNPredictor.with_budget`) the
    nu-SVR's search and every budget-0 cross-validation."""

    def __init__(self, key: bytes, rows, draws, held_out, scores, settings, gate, choice, inputs):
        self.key, self.rows, self.draws, self.choice = key, rows, draws, choice
        self.held_out, self.scores, self.settings, self.gate, self._inputs = held_out, scores, settings, gate, inputs
        self._rescaled = self._bar = self._fitted = None

    def reads(self, *args) -> bool:
        """Whether this part was fitted on these arguments of :func:`fit_budget0_gate`."""
        return self.key == fingerprint(*args)

    def rescaled(self) -> list:
        """:func:`naapgnn.models.gate_rules.rescaled_predictions` of the choice (computed once)."""
        if self._rescaled is None:
            self._rescaled = rescaled_predictions(self.held_out[self.choice], self._inputs["target"], self.draws)
        return self._rescaled

    def rescaled_bar(self) -> tuple[float, float]:
        """:func:`naapgnn.models.gate_rules.rescaled_bar` of the choice (computed once)."""
        if self._bar is None:
            self._bar = rescaled_bar(self.held_out[self.choice], self.rescaled(), self._inputs["target"])
        return self._bar

    def fitted(self) -> CurveStack:
        """The choice refitted on all rows (computed once)."""
        if self._fitted is None:
            base, y = self._inputs["base"], self._inputs["target"]
            self._fitted = fit_kind(self.choice, base, np.zeros((len(y), 0)), y, self._inputs, self.settings)
        return self._fitted


def fit_budget0_gate(oof: np.ndarray, target: np.ndarray, hparams: np.ndarray, statistics: np.ndarray,
                     cv: int = 5, random_state: int = 0, max_rows: int = MAX_STACK_ROWS,
                     repeats: int | None = None, groups: np.ndarray | None = None) -> Budget0Gate:
    """The budget-0 candidates of :func:`fit_gated_stack` (``"graph"``, ``"architecture"``, ``"hparams"``,
    ``"robust"``) scored on cross-validation, and their choice; arguments as there (``hparams`` and ``statistics``
    arrays, perhaps of no column)."""
    key = fingerprint(oof, target, hparams, statistics, cv, random_state, max_rows, repeats, groups)
    rows = np.isfinite(oof)
    if rows.sum() < minimum_records(cv):
        raise TooFewRecordsError(f"GNNPredictor: the stack needs held-out predictions of at least "
                                 f"{minimum_records(cv)} records, got {int(rows.sum())} (more data or val_fraction)")
    rows = at_most(rows, max_rows, random_state)
    base, y = oof[rows], target[rows]
    inputs = {kind: kernel_columns(kind, base, np.zeros((len(y), 0)), hparams[rows], statistics[rows])
              for kind in ("architecture", "hparams", "robust")}
    inputs.update(base=base, target=y)
    if repeats is None:
        repeats = GATE_REPEATS if rows.sum() <= REPEATED_ROWS else 1
    draws = [folds(cv, random_state + r, None if groups is None else groups[rows]) for r in range(repeats)]
    held_out, gate, settings = {"graph": [base] * repeats}, {}, {}
    kinds = ["architecture"] if inputs["architecture"].shape[1] > 1 else []
    if kinds:
        settings["architecture"], held_out["architecture"] = best_kernel(inputs["architecture"], base, y, draws)
        gate["architecture_setting"] = dict(zip(("alpha", "gamma"), settings["architecture"]))
    scores = {k: mean_scores(held_out[k], y) for k in ["graph", *kinds]}
    if varies_in_every_fold(hparams[rows], draws) and _target_candidate(
            "hparams", model_columns("hparams", inputs["hparams"]), y, draws, held_out, scores, settings):
        kinds.insert(0, "hparams")
    if _target_candidate("robust", model_columns("robust", inputs["robust"]), y, draws, held_out, scores, settings):
        kinds.append("robust")
    for k in kinds:
        if k in ("hparams", "robust"):
            gate[f"{k}_setting"] = dict(zip(("C", "nu", "gamma", "weight"), settings[k]))
    for k in ["graph", *kinds]:
        gate[f"{gate_key(k)}_mae"], gate[f"{gate_key(k)}_tau"] = scores[k]
    choice = better_candidate("graph", kinds, scores)
    return Budget0Gate(key, rows, draws, held_out, scores, settings, gate, choice, inputs)


def fingerprint(*args) -> bytes:
    """A digest of arrays and plain values, to tell whether a :class:`Budget0Gate` read the same."""
    import hashlib

    digest = hashlib.sha256()
    for arg in args:
        if isinstance(arg, np.ndarray):
            digest.update(repr((arg.shape, arg.dtype.str)).encode() + np.ascontiguousarray(arg).tobytes())
        else:
            digest.update(repr(arg).encode())
        digest.update(b"|")
    return digest.digest()


def _target_candidate(kind: str, columns: np.ndarray, y: np.ndarray, draws, held_out: dict, scores: dict,
                      settings: dict) -> bool:
    """Score the mixtures of a nu-SVR of the target on ``columns`` with the graph prediction (``"hparams"``,
    ``"robust"``), and keep the best of those that beat the graph prediction (the rule of :func:`better_candidate`)
    as the candidate ``kind`` in ``held_out``, ``scores`` and ``settings`` (``(C, nu, gamma, weight)``); False
    when none does."""
    setting, alone = best_svr(columns, y, draws)
    mixed = target_mixtures(alone, held_out["graph"], y, draws, MIXTURE_WEIGHTS)
    weights = {w: mean_scores(preds, y) for w, preds in mixed.items()}
    best = better_candidate(0.0, list(mixed), {0.0: scores["graph"], **weights})
    if best == 0.0:
        return False
    held_out[kind], scores[kind], settings[kind] = mixed[best], weights[best], (*setting, best)
    return True


def at_most(rows: np.ndarray, limit: int, random_state: int) -> np.ndarray:
    """``rows`` (a boolean mask) thinned to a seeded random ``limit`` of its true entries."""
    kept = np.flatnonzero(rows)
    if len(kept) <= limit:
        return rows
    out = np.zeros_like(rows)
    out[np.random.default_rng(random_state).choice(kept, limit, replace=False)] = True
    return out

"""Curve heuristics: predict final accuracy from the first epochs with no learning.

Each heuristic looks only at one architecture's own accuracy curve, epochs
``1..budget``, and never at other architectures or their final accuracies
(which channel is the accuracy is read off the training records:
:func:`naapgnn.data.channels.target_channel`):

``last``
    The accuracy after the last observed epoch.
``best``
    The best accuracy seen so far.
``power_law``
    A least-squares fit of ``acc(t) = a - b * t ** -c`` evaluated at the final
    epoch (90 for NAAP-440).
``exponential``
    The same with ``acc(t) = a - b * exp(-c * t)``.

NAAP-440 trains with a cyclic learning rate (0.1, 0.01, 0.001 repeating), so
accuracy drops at the start of every cycle and peaks at its end. With
``cycle=3`` a heuristic reads only the cycle-end epochs (3, 6, 9, ...: the
lowest rate, the least noisy). The ``*_cycle`` names of :data:`HEURISTICS`
are those variants.

The two fitted families are fitted exactly for their linear parameters
``(a, b)`` and by a vectorised grid search (two refinements) for ``c``, so
every architecture gets the global least-squares optimum over the range of
``c`` and no optimiser can fail. Predictions are clipped to [0, 1].
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from naapgnn.data.gaps import carried_epochs
from naapgnn.data.naap440 import NUM_EPOCHS
from naapgnn.errors import NaapgnnError, NaapgnnWarning
from naapgnn.models.inputs import RecordsScoreMixin

METHODS = ("last", "best", "power_law", "exponential")
FAMILIES = ("power_law", "exponential")
# Ranges of the shape parameter c, fixed a priori: power-law exponents of
# learning curves are well inside [0.05, 3]; an exponential rate below 0.01
# (time constant above 100 epochs) would extrapolate a straight line.
C_RANGE = {"power_law": (0.05, 3.0), "exponential": (0.01, 3.0)}
MIN_POINTS = {"last": 1, "best": 1, "power_law": 3, "exponential": 3}
HEURISTICS = {
    "last": {"method": "last"},
    "best": {"method": "best"},
    "power_law": {"method": "power_law"},
    "exponential": {"method": "exponential"},
    "power_law_cycle": {"method": "power_law", "cycle": 3},
    "exponential_cycle": {"method": "exponential", "cycle": 3},
}
"""Named heuristics for :mod:`naapgnn.evaluation.evaluate`: name -> :class:`CurveHeuristic` parameters."""

__all__ = ["METHODS", "HEURISTICS", "CurveHeuristic", "fit_curves", "extrapolate", "too_few_logged", "min_budget",
           "observed_epochs"]


def _basis(family: str, t: np.ndarray, c: np.ndarray) -> np.ndarray:
    # Broadcasts c[..., None] against t.
    c = np.asarray(c, dtype=float)[..., None]
    return t ** -c if family == "power_law" else np.exp(-c * t)


def fit_curves(curves, epochs, family: str = "power_law", grid: int = 80, refine: int = 2) -> dict[str, np.ndarray]:
    """Least-squares fit of ``y(t) = a - b * g_c(t)`` to each row of ``curves``.

    Parameters
    ----------
    curves : array-like of shape (n, k)
        Accuracy of each architecture at ``epochs``.
    epochs : array-like of shape (k,)
        The epochs (1-based) of the columns; at least 3 distinct.
    family : {"power_law", "exponential"}
        ``g_c(t) = t ** -c`` or ``exp(-c t)``.
    grid, refine : int
        Points of the log-spaced grid over :data:`C_RANGE` and number of
        finer grids around each row's best ``c``.

    Returns
    -------
    dict with arrays ``a``, ``b``, ``c`` and ``sse`` of shape (n,)
        ``a`` is the asymptote (``t -> inf``).
    """
    if family not in FAMILIES:
        raise NaapgnnError(f"unknown curve family {family!r} (expected one of {', '.join(FAMILIES)})")
    Y = np.asarray(curves, dtype=float)
    t = np.asarray(epochs, dtype=float).reshape(-1)
    if Y.ndim != 2 or Y.shape[1] != len(t):
        raise NaapgnnError(f"fit_curves: curves of shape {Y.shape} do not match {len(t)} epochs")
    if len(np.unique(t)) < 3:
        raise NaapgnnError(f"fit_curves: a 3-parameter {family} fit needs at least 3 epochs, got {len(t)}")
    lo, hi = C_RANGE[family]
    yc = Y - Y.mean(axis=1, keepdims=True)
    yy = (yc ** 2).sum(axis=1)

    def solve(cs: np.ndarray):
        # cs: (m,) shared by all rows, or (n, m) per row.
        G = _basis(family, t, cs)  # (..., m, k)
        xc = G - G.mean(axis=-1, keepdims=True)
        var = np.maximum((xc ** 2).sum(axis=-1), 1e-300)
        cov = np.einsum("nk,mk->nm", yc, xc) if G.ndim == 2 else np.einsum("nk,nmk->nm", yc, xc)
        sse = yy[:, None] - cov ** 2 / var
        return sse, cov / var, np.broadcast_to(G.mean(axis=-1), sse.shape)

    log_grid = np.linspace(math.log(lo), math.log(hi), grid)
    step = log_grid[1] - log_grid[0]
    cs = np.broadcast_to(np.exp(log_grid), (len(Y), grid))
    sse, slope, gmean = solve(np.exp(log_grid))
    for _ in range(refine):
        best = np.log(cs[np.arange(len(Y)), sse.argmin(axis=1)])
        offsets = np.linspace(-step, step, 21)
        cs = np.exp(np.clip(best[:, None] + offsets[None, :], math.log(lo), math.log(hi)))
        sse, slope, gmean = solve(cs)
        step = offsets[1] - offsets[0]
    j = sse.argmin(axis=1)
    rows = np.arange(len(Y))
    b = -slope[rows, j]
    a = Y.mean(axis=1) + b * gmean[rows, j]
    return {"a": a, "b": b, "c": cs[rows, j], "sse": np.maximum(sse[rows, j], 0.0)}


def extrapolate(curves, epochs, family: str = "power_law", final_epoch=NUM_EPOCHS, logged=None) -> np.ndarray:
    """Fitted value at ``final_epoch`` (one epoch, or one per row; the asymptote ``a`` when None),
    clipped to [0, 1].

    ``logged``: optional ``(n, k)`` booleans, False where a row's value was not logged but carried from another
    epoch (a sparse log, :func:`naapgnn.data.gaps.carried_epochs`). Each row is fitted to its logged epochs
    alone; a row with fewer than 3 of them has no curve to fit and reads its last value (see
    :func:`too_few_logged`).
    """
    if logged is not None and not np.all(logged):
        return _extrapolate_logged(np.asarray(curves, dtype=float), np.asarray(epochs), family, final_epoch,
                                   np.asarray(logged, dtype=bool))
    fit = fit_curves(curves, epochs, family)
    if final_epoch is None:
        value = fit["a"]
    else:
        final = np.asarray(final_epoch, dtype=float).reshape(-1)
        t = final if final.size == 1 else final[:, None]  # one epoch for all, or row by row
        value = fit["a"] - fit["b"] * _basis(family, t, fit["c"])[:, 0]
    return np.clip(value, 0.0, 1.0)


def too_few_logged(logged: np.ndarray, epochs) -> np.ndarray:
    """Per row of ``logged`` (see :func:`extrapolate`), whether it logs fewer than 3 distinct ``epochs``."""
    t = np.asarray(epochs).reshape(-1)
    return np.array([len(np.unique(t[row])) < 3 for row in np.asarray(logged, dtype=bool)], dtype=bool)


def _extrapolate_logged(curves: np.ndarray, epochs: np.ndarray, family: str, final_epoch,
                        logged: np.ndarray) -> np.ndarray:
    """:func:`extrapolate` row by row on the logged epochs: one fit per pattern of logged epochs (a sparse log
    shares one over the file)."""
    out = np.clip(curves[:, -1].copy(), 0.0, 1.0)
    final = None if final_epoch is None else np.broadcast_to(np.asarray(final_epoch, dtype=float).reshape(-1),
                                                               (len(curves),))
    short = too_few_logged(logged, epochs)
    patterns, group = np.unique(logged, axis=0, return_inverse=True)
    for g, pattern in enumerate(patterns):
        rows = np.flatnonzero((group.reshape(-1) == g) & ~short)
        if len(rows):
            out[rows] = extrapolate(curves[np.ix_(rows, pattern)], epochs[pattern], family,
                                    None if final is None else final[rows])
    return out


def observed_epochs(budget: int, cycle: int | None = None) -> np.ndarray:
    """The 1-based epochs a heuristic reads: ``1..budget``, or the cycle ends ``<= budget``."""
    if cycle:
        return np.arange(int(cycle), int(budget) + 1, int(cycle))
    return np.arange(1, int(budget) + 1)


def min_budget(method: str, cycle: int | None = None) -> int:
    """Smallest budget at which a heuristic has enough epochs."""
    if method not in METHODS:
        raise NaapgnnError(f"unknown heuristic {method!r} (expected one of {', '.join(METHODS)})")
    return MIN_POINTS[method] * (int(cycle) if cycle else 1)


class CurveHeuristic(RecordsScoreMixin, RegressorMixin, BaseEstimator):
    """Final accuracy from an architecture's own first epochs; nothing is learned.

    Parameters
    ----------
    method : {"last", "best", "power_law", "exponential"}
        See the module docstring.
    budget : int
        Epochs of curve available.
    cycle : int, optional
        Read only the cycle-end epochs ``cycle, 2 * cycle, ...`` (3 for NAAP-440).
    final_epoch : "full", float or None
        Epoch the fitted curves are evaluated at: ``"full"`` (default) the
        length of each record's accuracy curve, i.e. its full training (90 for
        NAAP-440's table), a number that epoch, None their asymptote.
    channel : str or None
        The records' curve channel read; None (default): ``accuracy``, or on
        records without one the channel whose end the training targets are
        (:func:`naapgnn.data.channels.target_channel`, read by ``fit``). Either
        way a channel in percent is read as fractions.

    ``fit`` learns nothing from the targets' values but which channel holds the accuracy (the
    interface is scikit-learn's so the heuristic runs wherever a learned predictor does);
    ``predict`` takes a NAAP-440 DataFrame or a list of :class:`naapgnn.data.records.Record`.

    Attributes
    ----------
    channel_ : str
        The channel read (``accuracy`` for a NAAP-440 table).
    scale_ : float
        Its factor to a fraction (0.01 for a channel in percent), negated for an error rate, read as one
        minus the accuracy (:func:`naapgnn.data.channels.as_accuracy`).
    diverged_value_ : float or None
        What a run that logged none of the channel reads (as a diverged run does, README "Read as the runs stood
        at k"): the fit records' worst value over their first ``budget`` epochs, where most of them log that many
        (else None: such a run is refused). Fitted without records (``fitted_on_records_`` False): the same of
        the records predicted, as is ``scale_`` (a channel in percent is read as fractions either way).
    """

    def __init__(self, method: str = "last", budget: int = 3, cycle: int | None = None,
                 final_epoch: float | str | None = "full", channel: str | None = None):
        self.method = method
        self.budget = budget
        self.cycle = cycle
        self.final_epoch = final_epoch
        self.channel = channel

    def _check(self) -> np.ndarray:
        need = min_budget(self.method, self.cycle)
        b = self.budget
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or not need <= b:
            where = f" reading every {self.cycle}th epoch" if self.cycle else ""
            raise NaapgnnError(f"heuristic {self.method!r}{where} needs a budget of at least {need} epochs, got {b!r}")
        return observed_epochs(b, self.cycle)

    def fit(self, X=None, y=None):
        """Check the parameters and find the accuracy channel of ``X`` (records; optional). Returns self."""
        from naapgnn.data.channels import ACCURACY_CHANNEL

        self.epochs_ = self._check()
        self.channel_, self.scale_, self.diverged_value_ = self.channel or ACCURACY_CHANNEL, 1.0, None
        self.fitted_on_records_ = False
        if X is None or hasattr(X, "columns"):
            return self
        records, y = list(X), None if y is None else np.asarray(y, dtype=float)
        # the channel is chosen among the runs that logged every channel (a diverged run's empty one aside)
        logged = [i for i, r in enumerate(records) if all(len(v) for v in r.curve.values())]
        if 2 * len(logged) > len(records):
            self._fit_channel([records[i] for i in logged], None if y is None else y[logged])
        else:
            self._fit_channel(records, y)
        self.fitted_on_records_ = True
        self.diverged_value_ = _worst_if_most_log(records, self.channel_, int(self.budget))
        return self

    def _fit_channel(self, records: list, y) -> None:
        from naapgnn.data.channels import accuracy_candidates, accuracy_channels, target_channel

        if self.channel is not None:
            lacking = [r.id for r in records if self.channel not in r.curve]
            if lacking:
                raise NaapgnnError(f"heuristic {self.method!r}: record {lacking[0]!r} has no {self.channel!r} channel")
            self.scale_ = _factor_of(records, self.channel, f"heuristic {self.method!r}")
            return
        found = target_channel(records, None if y is None else np.asarray(y, dtype=float))
        if found is None and len(accuracy_candidates(records)) > 1:
            raise NaapgnnError(f"heuristic {self.method!r}: several curve channels could hold the accuracy "
                               f"({', '.join(accuracy_candidates(records))}); pass the targets y or channel=")
        if found is None:
            raise NaapgnnError(f"heuristic {self.method!r}: no curve channel holds the accuracy (channels "
                               f"every record has, losses aside: {accuracy_channels(records) or 'none'}; "
                               "an accuracy lies in [0, 1] or [0, 100]); pass channel=")
        self.channel_, self.scale_ = found

    def predict(self, X) -> np.ndarray:
        """Predicted final accuracy of each architecture of ``X`` (records or a NAAP-440 table)."""
        check_is_fitted(self, "channel_", msg="CurveHeuristic: not fitted yet (call fit; X may be left out, "
                                             "as it learns nothing but which channel holds the accuracy)")
        epochs = self._check()
        curves = self._curves(X)[:, epochs - 1]
        if self.method == "last":
            return curves[:, -1].copy()
        if self.method == "best":
            return curves.max(axis=1)
        logged = None
        if not hasattr(X, "columns"):  # records: a sparse log's unlogged epochs are no points of the curve
            logged = ~carried_epochs(X, self._channel()[0], int(self.budget))[:, epochs - 1]
        if logged is not None and too_few_logged(logged, epochs).any():
            warnings.warn(f"heuristic {self.method!r} at budget {self.budget}: runs that log fewer than 3 of the "
                          f"epochs it reads (a sparse log) have no curve to fit and read their last logged value",
                          NaapgnnWarning, stacklevel=2)
        return extrapolate(curves, epochs, self.method, self._final_epochs(X), logged)

    def _curves(self, X) -> np.ndarray:
        """Epochs ``1..budget`` of the accuracy channel, as fractions."""
        from naapgnn.data.channels import as_accuracy
        from naapgnn.features.curves import check_logged
        from naapgnn.features.tabular import curve_matrix

        budget = int(self.budget)
        if hasattr(X, "columns"):  # the NAAP-440 table
            return curve_matrix(X, budget, "Accuracy")
        channel, scale = self._channel()
        if not self.fitted_on_records_:
            scale = _factor_of(X, channel, f"heuristic {self.method!r}")
        out = np.zeros((len(X), budget))
        diverged = self._diverged_value(X) if any(not len(r.curve.get(channel, ())) for r in X) else None
        for i, r in enumerate(X):
            values = r.curve.get(channel, ())
            if not len(values) and diverged is not None:
                out[i] = diverged  # logged nothing while most runs logged it: diverged
                continue
            if len(values) < budget:
                raise NaapgnnError(f"record {r.id!r}: {channel!r} has {len(values)} epochs, budget needs {budget}")
            check_logged(r, budget, channel)
            out[i] = values[:budget]
        return as_accuracy(out, scale)

    def _diverged_value(self, X) -> float | None:
        """What a record without the channel reads: the fit's :attr:`diverged_value_`; fitted on no records, the
        worst of ``X``'s first epochs. None (the budget refused) where most of the runs read lack the channel."""
        if self.fitted_on_records_:
            return self.diverged_value_
        return _worst_if_most_log(X, self._channel()[0], int(self.budget))

    def _channel(self) -> tuple[str, float]:
        """The channel read and its factor."""
        return self.channel_, self.scale_

    def _final_epochs(self, X):
        if self.final_epoch != "full":
            return self.final_epoch
        if hasattr(X, "columns"):  # the NAAP-440 table
            return NUM_EPOCHS
        lengths = np.array([len(r.curve.get(self._channel()[0], ())) for r in X], dtype=float)
        return np.where(lengths > 0, lengths, np.median(lengths[lengths > 0]) if lengths.any() else np.nan)


def _factor_of(records, channel: str, who: str) -> float:
    """The factor ``channel`` of ``records`` is read with (:func:`naapgnn.data.channels.accuracy_factor`; 1 where
    none logs it); a one-line error naming ``who`` where it holds no accuracy."""
    from naapgnn.data.channels import accuracy_factor

    logged = [r for r in records if len(r.curve.get(channel, ()))]
    factor = accuracy_factor(logged, channel) if logged else 1.0
    if factor is None:
        raise NaapgnnError(f"{who}: channel {channel!r} holds values outside [0, 1] and [0, 100], so no accuracy "
                           "(nor an error rate)")
    return factor


def _worst_if_most_log(records, channel: str, budget: int) -> float | None:
    """The worst value of ``channel`` over the records' first ``budget`` epochs, when most of them log that many
    (a run without it then reads as diverged); else None."""
    from naapgnn.data.gaps import worst_logged

    if 2 * sum(len(r.curve.get(channel, ())) >= budget for r in records) <= len(records):
        return None
    return worst_logged(records, [channel], budget).get(channel)

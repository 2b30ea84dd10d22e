"""Prediction quality: error, pairwise order violations, rank correlations, top-k.

All functions take ``y_true`` (the measured final accuracies) and ``y_pred``
(predictions) as 1-D array-likes of the same length.

Violations are counted as in the NAAP-440 paper: the architectures are put in
order of true accuracy (a stable sort, so ties keep the order in which they
were given), the predictions are listed in that order, and every pair
``i < j`` whose prediction for ``i`` is strictly greater than for ``j`` is one
violation. Equal predictions never count. This is the number of inversions of
the stable sort of the predictions, which is what the paper's script counts. A pair of
equal true accuracies thus counts by the order of the records (``evaluate``'s report notes such pairs).
Where every prediction is equal, a constant predictor orders nothing: :func:`monotonicity_score` and
:func:`all_metrics`' violations, monotonicity score, precision@k and top-k regret are then undefined (NaN), as
Kendall tau is, not a perfect 0 violations and score 1, nor the first k records read as its top k
(:func:`violations` itself, the raw count, gives 0).
"""
from __future__ import annotations

import math

import numpy as np

from naapgnn.errors import NaapgnnError

__all__ = [
    "mae",
    "violations",
    "max_violations",
    "monotonicity_score",
    "kendall_tau",
    "spearman",
    "precision_at_k",
    "top_k_regret",
    "all_metrics",
    "count_inversions",
    "undefined_tau_reason",
    "format_tau",
]


def _pair(y_true, y_pred, min_len: int = 1) -> tuple[np.ndarray, np.ndarray]:
    t, p = _numbers(y_true, "true values"), _numbers(y_pred, "predictions")
    if t.ndim != 1 or p.ndim != 1:
        raise NaapgnnError(f"metrics: expected 1-D arrays, got shapes {t.shape} and {p.shape}")
    if len(t) != len(p):
        raise NaapgnnError(f"metrics: {len(t)} true values but {len(p)} predictions")
    if len(t) < min_len:
        raise NaapgnnError(f"metrics: need at least {min_len} values, got {len(t)}")
    for name, a in (("true value", t), ("prediction", p)):
        bad = ~np.isfinite(a)
        if bad.any():
            raise NaapgnnError(f"metrics: {name} {int(np.flatnonzero(bad)[0])} is not finite ({a[bad][0]})")
    return t, p


def _numbers(values, what: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise NaapgnnError(f"metrics: the {what} are not all numbers ({exc})") from None


def _count(n, what: str) -> int:
    """``n`` as an int, refusing 2.7 (a silently truncated k or n is a wrong number)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) and not (
            isinstance(n, (float, np.floating)) and float(n).is_integer()):
        raise NaapgnnError(f"metrics: {what} must be a whole number, got {n!r}")
    return int(n)


def mae(y_true, y_pred) -> float:
    """Mean absolute error."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(p - t)))


def count_inversions(values) -> int:
    """Number of pairs ``i < j`` with ``values[i] > values[j]`` (ties do not count).

    O(n log^2 n) and vectorised: ranks are compared bit by bit from the lowest
    bit up; a pair is counted at the highest bit where the ranks differ, among
    elements that share all higher bits.
    """
    a = np.asarray(values)
    if a.size < 2:
        return 0
    ranks = np.unique(a, return_inverse=True)[1].reshape(-1).astype(np.int64)
    total = 0
    for b in range(int(ranks.max()).bit_length()):
        group = ranks >> (b + 1)
        order = np.argsort(group, kind="stable")  # positions stay in order inside a group
        g = group[order]
        bit = (ranks[order] >> b) & 1
        new_group = np.r_[True, g[1:] != g[:-1]]
        ones_before = np.cumsum(bit) - bit
        group_start = ones_before[np.flatnonzero(new_group)][np.cumsum(new_group) - 1]
        total += int((ones_before - group_start)[bit == 0].sum())
    return total


def violations(y_true, y_pred) -> int:
    """Pairs of architectures whose predicted order contradicts the true order.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)

    Returns
    -------
    int
        Inversions of the predictions listed in stable true-accuracy order
        (see the module docstring); between 0 and ``max_violations(n)``.
    """
    t, p = _pair(y_true, y_pred)
    return count_inversions(p[np.argsort(t, kind="stable")])


def max_violations(n: int) -> int:
    """Number of pairs among ``n`` architectures, ``n * (n - 1) / 2``."""
    n = _count(n, "n")
    if n < 0:
        raise NaapgnnError(f"max_violations: n must be >= 0, got {n}")
    return n * (n - 1) // 2


def monotonicity_score(y_true, y_pred) -> float:
    """``1 - violations / max_violations`` (the paper's score; 1 is a perfect order); NaN when every prediction
    is equal (a constant predictor orders nothing)."""
    t, p = _pair(y_true, y_pred, min_len=2)
    return math.nan if _constant(p) else 1.0 - violations(t, p) / max_violations(len(t))


def kendall_tau(y_true, y_pred) -> float:
    """Kendall's tau-b (``scipy.stats.kendalltau``); NaN when either side is constant."""
    from scipy.stats import kendalltau

    t, p = _pair(y_true, y_pred, min_len=2)
    if _constant(t) or _constant(p):
        return math.nan
    return float(kendalltau(t, p).statistic)


def spearman(y_true, y_pred) -> float:
    """Spearman's rank correlation (``scipy.stats.spearmanr``); NaN when either side is constant."""
    from scipy.stats import spearmanr

    t, p = _pair(y_true, y_pred, min_len=2)
    if _constant(t) or _constant(p):
        return math.nan
    return float(spearmanr(t, p).statistic)


def undefined_tau_reason(y_true, y_pred) -> str | None:
    """Why :func:`kendall_tau` of these is undefined (NaN), in words: all targets, or all predictions, equal;
    None when it is defined."""
    t, p = _pair(y_true, y_pred, min_len=2)
    if _constant(t):
        return f"all {len(t)} targets are {t[0]:g}"
    if _constant(p):
        return f"all {len(p)} predictions are {p[0]:g}"
    return None


def describe_tau(y_true, y_pred, digits: int = 3) -> str:
    """Kendall tau of these to ``digits`` digits, or ``"undefined (why)"`` where it is (never ``"nan"``)."""
    why = undefined_tau_reason(y_true, y_pred)
    return f"undefined ({why})" if why else f"{kendall_tau(y_true, y_pred):.{digits}f}"


def format_tau(value: float, digits: int = 3) -> str:
    """A Kendall tau for a summary line: ``"undefined"`` where it is NaN (nothing to rank), never ``"nan"``."""
    return "undefined" if math.isnan(value) else f"{value:.{digits}f}"


def _constant(a: np.ndarray) -> bool:
    return bool(np.all(a == a[0]))


def _top(a: np.ndarray, k: int) -> np.ndarray:
    # Highest first; ties broken by position (stable) so the result is deterministic.
    return np.argsort(-a, kind="stable")[:k]


def _check_k(k: int, n: int) -> int:
    k = _count(k, "k")
    if not 1 <= k <= n:
        raise NaapgnnError(f"metrics: k must be between 1 and the number of architectures ({n}), got {k}")
    return k


def precision_at_k(y_true, y_pred, k: int) -> float:
    """Fraction of the true top-k architectures that are in the predicted top-k.

    Ties are broken by position, earlier first.
    """
    t, p = _pair(y_true, y_pred)
    k = _check_k(k, len(t))
    return len(set(_top(t, k).tolist()) & set(_top(p, k).tolist())) / k


def top_k_regret(y_true, y_pred, k: int) -> float:
    """Accuracy lost by training only the predicted top-k and keeping the best.

    ``max(y_true) - max(y_true[predicted top-k])``; 0 when the best
    architecture is among the predicted top-k.
    """
    t, p = _pair(y_true, y_pred)
    k = _check_k(k, len(t))
    return float(t.max() - t[_top(p, k)].max())


def all_metrics(y_true, y_pred, ks=(5, 10)) -> dict[str, float]:
    """Every metric of this module in one dict.

    Keys: ``mae, violations, max_violations, monotonicity_score, kendall_tau,
    spearman`` then ``precision_at_{k}`` and ``top_{k}_regret`` for each k in
    ``ks`` (values of k larger than the number of architectures are skipped). Violations, monotonicity
    score, precision and regret are NaN where every prediction is equal (see the module docstring).
    """
    t, p = _pair(y_true, y_pred, min_len=2)
    v = math.nan if _constant(p) else violations(t, p)
    m = max_violations(len(t))
    out: dict[str, float] = {
        "mae": mae(t, p),
        "violations": v,
        "max_violations": m,
        "monotonicity_score": 1.0 - v / m,
        "kendall_tau": kendall_tau(t, p),
        "spearman": spearman(t, p),
    }
    for k in ks:
        if k <= len(t):  # a constant predictor's top k is the first k records: undefined too
            out[f"precision_at_{k}"] = math.nan if _constant(p) else precision_at_k(t, p, k)
            out[f"top_{k}_regret"] = math.nan if _constant(p) else top_k_regret(t, p, k)
    return out

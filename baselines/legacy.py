"""Tie orders of the paper's software stack, made explicit.

The paper's table was produced with numpy 1.x, pandas and scikit-learn <= 1.0.
Where values tie, its numbers depend on how those versions ordered them:

* ``DataFrame.sort_values("MaxAccuracy")`` used numpy's scalar introsort
  argsort (``kind="quicksort"``), which is not stable: the training rows with
  equal accuracy come out in an order that later decides k-NN ties.
  :func:`numpy1_argsort` reimplements that algorithm.
* ``KNeighborsRegressor(algorithm="brute")`` picked the ``k`` nearest with
  ``np.argpartition`` (numpy 1.x introselect), then ordered them by distance
  with the same argsort. Many NAAP-440 architectures share NumParams and
  NumStages, so at budget 0 the choice among equidistant neighbours moves the
  result. :func:`numpy1_argpartition` and :class:`PaperKNeighborsRegressor`
  reproduce it.

Newer numpy versions dispatch both operations to SIMD sorting networks whose
tie orders differ, so the library calls cannot be used for this.

One result depends on rounding rather than on ties: scikit-learn's libsvm
computes the linear kernel with BLAS ``ddot``, whose rounding depends on the
CPU kernel OpenBLAS picks at run time (an AVX-512 kernel accumulates
differently from the Haswell one). ``SVR (Linear kernel)`` at budget 0 has a
near-tie of two test predictions that this rounding flips (64 or 65
violations). :class:`PaperLinearSVR` computes the kernel with plain
sequential multiply-then-add arithmetic, which gives the paper's numbers on
every CPU.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

_SMALL_QUICKSORT = 16


def _msb(n: int) -> int:
    return max(int(n).bit_length() - 1, 0)


def numpy1_argsort(values) -> np.ndarray:
    """``np.argsort(values, kind="quicksort")`` as numpy 1.x computed it (scalar introsort).

    Median-of-three quicksort with an insertion sort below 17 elements. The
    heapsort fallback at depth ``2 * log2(n)`` is replaced by a stable sort of
    the remaining range (never reached for NAAP-440).
    """
    v = np.asarray(values).reshape(-1).tolist()
    t = list(range(len(v)))
    if len(t) < 2:
        return np.array(t, dtype=np.int64)
    pl, pr = 0, len(t) - 1
    depth = 2 * _msb(len(t))
    stack: list[tuple[int, int, int]] = []
    while True:
        if depth < 0:
            t[pl:pr + 1] = sorted(t[pl:pr + 1], key=lambda i: v[i])
        else:
            while pr - pl > _SMALL_QUICKSORT:
                pm = pl + ((pr - pl) >> 1)
                if v[t[pm]] < v[t[pl]]:
                    t[pm], t[pl] = t[pl], t[pm]
                if v[t[pr]] < v[t[pm]]:
                    t[pr], t[pm] = t[pm], t[pr]
                if v[t[pm]] < v[t[pl]]:
                    t[pm], t[pl] = t[pl], t[pm]
                vp = v[t[pm]]
                pi, pj = pl, pr - 1
                t[pm], t[pj] = t[pj], t[pm]
                while True:
                    pi += 1
                    while v[t[pi]] < vp:
                        pi += 1
                    pj -= 1
                    while vp < v[t[pj]]:
                        pj -= 1
                    if pi >= pj:
                        break
                    t[pi], t[pj] = t[pj], t[pi]
                t[pi], t[pr - 1] = t[pr - 1], t[pi]
                depth -= 1
                if pi - pl < pr - pi:
                    stack.append((pi + 1, pr, depth))
                    pr = pi - 1
                else:
                    stack.append((pl, pi - 1, depth))
                    pl = pi + 1
            for i in range(pl + 1, pr + 1):
                ti, vi, j = t[i], v[t[i]], i
                while j > pl and vi < v[t[j - 1]]:
                    t[j] = t[j - 1]
                    j -= 1
                t[j] = ti
        if not stack:
            break
        pl, pr, depth = stack.pop()
    return np.array(t, dtype=np.int64)


def numpy1_argpartition(values, kth: int) -> np.ndarray:
    """``np.argpartition(values, kth)`` as numpy 1.x computed it (introselect).

    Selection sort for ``kth < 3``, else median-of-three quickselect. The
    median-of-medians fallback after ``2 * log2(n)`` rounds is replaced by a
    stable sort of the remaining range (never reached for NAAP-440).
    """
    v = np.asarray(values).reshape(-1).tolist()
    num = len(v)
    if not 0 <= kth < num:
        raise ValueError(f"kth={kth} out of range for {num} values")
    t = list(range(num))
    if kth < 3:
        for i in range(kth + 1):
            best, best_v = i, v[t[i]]
            for k in range(i + 1, num):
                if v[t[k]] < best_v:
                    best, best_v = k, v[t[k]]
            t[i], t[best] = t[best], t[i]
        return np.array(t, dtype=np.int64)
    if kth == num - 1:
        best = 0
        for k in range(1, num):
            if not v[t[k]] <= v[t[best]]:
                best = k
        t[kth], t[best] = t[best], t[kth]
        return np.array(t, dtype=np.int64)
    low, high = 0, num - 1
    depth = 2 * _msb(num)
    while low + 1 < high:
        if depth <= 0 and high - low - 1 >= 5:
            t[low:high + 1] = sorted(t[low:high + 1], key=lambda i: v[i])
            return np.array(t, dtype=np.int64)
        ll, hh = low + 1, high
        mid = low + (high - low) // 2
        if v[t[high]] < v[t[mid]]:
            t[high], t[mid] = t[mid], t[high]
        if v[t[high]] < v[t[low]]:
            t[high], t[low] = t[low], t[high]
        if v[t[low]] < v[t[mid]]:
            t[low], t[mid] = t[mid], t[low]
        t[mid], t[low + 1] = t[low + 1], t[mid]
        depth -= 1
        pivot = v[t[low]]
        while True:
            ll += 1
            while v[t[ll]] < pivot:
                ll += 1
            hh -= 1
            while pivot < v[t[hh]]:
                hh -= 1
            if hh < ll:
                break
            t[ll], t[hh] = t[hh], t[ll]
        t[low], t[hh] = t[hh], t[low]
        if hh >= kth:
            high = hh - 1
        if hh <= kth:
            low = ll
    if low + 1 == high and v[t[high]] < v[t[low]]:
        t[high], t[low] = t[low], t[high]
    return np.array(t, dtype=np.int64)


class PaperKNeighborsRegressor(RegressorMixin, BaseEstimator):
    """Brute-force k-NN regression with scikit-learn 1.0's choice among tied neighbours.

    Squared Euclidean distances (``euclidean_distances(squared=True)``), the
    ``k`` nearest by :func:`numpy1_argpartition`, ordered by
    :func:`numpy1_argsort` of their distances, prediction = their mean target
    (uniform weights).

    Parameters
    ----------
    n_neighbors : int
        Number of neighbours ``k``.
    """

    def __init__(self, n_neighbors: int = 5):
        self.n_neighbors = n_neighbors

    def fit(self, X, y):
        """Store the training set. Returns self."""
        self.X_ = np.asarray(X, dtype=float)
        self.y_ = np.asarray(y, dtype=float)
        if not 1 <= self.n_neighbors <= len(self.X_):
            raise ValueError(f"n_neighbors={self.n_neighbors} but {len(self.X_)} training samples")
        return self

    def kneighbors(self, X) -> np.ndarray:
        """Indices of the ``k`` nearest training samples of each row, nearest first."""
        from sklearn.metrics.pairwise import euclidean_distances

        dist = euclidean_distances(np.asarray(X, dtype=float), self.X_, squared=True)
        k = self.n_neighbors
        out = np.empty((len(dist), k), dtype=np.int64)
        for i, row in enumerate(dist):
            nearest = numpy1_argpartition(row, k - 1)[:k]
            out[i] = nearest[numpy1_argsort(row[nearest])]
        return out

    def predict(self, X):
        """Mean target of the ``k`` nearest neighbours."""
        check_is_fitted(self, "X_", msg="PaperKNeighborsRegressor: not fitted yet (call fit)")
        return np.mean(self.y_[self.kneighbors(X)], axis=1)


def sequential_linear_kernel(A, B) -> np.ndarray:
    """``A @ B.T`` summed feature by feature, each product rounded before it is added.

    The same value on every CPU (no BLAS kernel choice, no fused multiply-add).
    """
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    out = np.zeros((len(A), len(B)))
    for f in range(A.shape[1]):
        out = out + A[:, f:f + 1] * B[None, :, f]
    return out


class PaperLinearSVR(RegressorMixin, BaseEstimator):
    """``SVR(kernel="linear")`` with the kernel computed by :func:`sequential_linear_kernel`.

    libsvm then sees the same kernel values whatever BLAS kernel the CPU
    selects, so the fit (and the paper's violations count) is reproducible.

    Parameters
    ----------
    epsilon : float
        Width of the insensitive tube.
    C : float
        Regularisation parameter.
    """

    def __init__(self, epsilon: float = 0.001, C: float = 0.1):
        self.epsilon = epsilon
        self.C = C

    def fit(self, X, y):
        """Fit libsvm on the precomputed linear kernel. Returns self."""
        from sklearn.svm import SVR

        self.X_ = np.asarray(X, dtype=float)
        self.svr_ = SVR(kernel="precomputed", epsilon=self.epsilon, C=self.C)
        self.svr_.fit(sequential_linear_kernel(self.X_, self.X_), np.asarray(y, dtype=float))
        return self

    def predict(self, X):
        """Predictions from the kernel between ``X`` and the training set."""
        check_is_fitted(self, "svr_", msg="PaperLinearSVR: not fitted yet (call fit)")
        return self.svr_.predict(sequential_linear_kernel(X, self.X_))

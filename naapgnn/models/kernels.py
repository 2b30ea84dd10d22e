"""The regressors the curve gate (:mod:`naapgnn.models.curve_stack`) fits, and their held-out predictions.

* An RBF kernel ridge regression, for the residual stacks (``"architecture"``, ``"nonlinear"``): it fits in
  milliseconds, and one fit per fold and gamma gives every alpha of :data:`KERNEL_GRID`.
* An RBF nu-SVR, for the models of the target itself (``"hparams"``, ``"svr"``): its loss grows linearly
  beyond a margin, where a kernel ridge's grows with the square, so a few diverged runs at chance accuracy
  do not pull its fit of the others (see :mod:`naapgnn.models.curve_stack`). Its grid,
  :data:`SVR_GRID`, is Baker et al. 2018's as :mod:`baselines.baker` reads it.

Both read their columns mean-imputed, with constant columns dropped and the rest standardised; gamma is a
factor over the number of columns that vary.
"""
from __future__ import annotations

import numpy as np

__all__ = ["KERNEL_GRID", "SVR_GRID", "varying_columns", "folds_over", "kernel_ridge", "nu_svr", "best_kernel",
           "best_svr", "kernel_grid_held_out", "svr_grid_held_out"]

# Kernel ridge settings (alpha, gamma as a multiple of 1 / number of varying columns)
KERNEL_GRID = tuple((alpha, g) for alpha in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0) for g in (0.1, 0.3, 1.0, 3.0))
# nu-SVR settings (C, nu, gamma as a multiple of 1 / number of varying columns)
SVR_SEARCH_ROWS = 250  # most rows the nu-SVR's grid is searched on (see best_svr)
SVR_GRID = tuple((c, nu, g) for c in (1.0, 10.0, 100.0) for nu in (0.3, 0.6, 0.9) for g in (0.03, 0.1, 0.3, 1.0))


def varying_columns(columns: np.ndarray) -> int:
    """How many columns take two values (NaN aside)."""
    import warnings

    if not columns.size:
        return 0
    with warnings.catch_warnings():  # an all-NaN column: nanmax warns, and it does not vary
        warnings.simplefilter("ignore", RuntimeWarning)
        return int(np.sum(np.nanmax(columns, axis=0) > np.nanmin(columns, axis=0)))


def _gamma(factor: float, X: np.ndarray) -> float:
    """An RBF gamma: ``factor`` over the number of columns of ``X`` that vary (at least 1)."""
    return factor / max(varying_columns(X), 1)


def _preprocessing():
    from sklearn.feature_selection import VarianceThreshold
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(strategy="mean", keep_empty_features=True), VarianceThreshold(),
                         StandardScaler())


def kernel_ridge(setting: tuple, X: np.ndarray):
    """The preprocessing and an RBF kernel ridge regression with ``(alpha, gamma factor)`` (``X``: the
    columns that set gamma; a column constant in them would otherwise dilute it)."""
    from sklearn.kernel_ridge import KernelRidge

    alpha, factor = setting
    model = _preprocessing()
    model.steps.append(("kernelridge", KernelRidge(alpha=alpha, kernel="rbf", gamma=_gamma(factor, X))))
    return model


def nu_svr(setting: tuple, X: np.ndarray):
    """The preprocessing and an RBF nu-SVR with ``(C, nu, gamma factor)`` (``X`` as in :func:`kernel_ridge`)."""
    from sklearn.svm import NuSVR

    c, nu, factor = setting
    model = _preprocessing()
    model.steps.append(("nusvr", NuSVR(C=c, nu=nu, kernel="rbf", gamma=_gamma(factor, X))))
    return model


def best_kernel(X: np.ndarray, base: np.ndarray, y: np.ndarray, draws) -> tuple[tuple, list]:
    """The :data:`KERNEL_GRID` setting whose residual regression on ``X`` has the lowest held-out
    error averaged over the fold ``draws``, and its held-out predictions (``base`` plus the residual) in each."""
    grids = [kernel_grid_held_out(X, y - base, folds) for folds in draws]
    return _best(KERNEL_GRID, [{s: base + p for s, p in grid.items()} for grid in grids], y)


def best_svr(X: np.ndarray, y: np.ndarray, draws, search_rows: int = SVR_SEARCH_ROWS) -> tuple[tuple, list]:
    """The :data:`SVR_GRID` setting whose nu-SVR of ``y`` on ``X`` has the lowest held-out error on the first
    of the fold ``draws`` (over a seeded ``search_rows`` of the rows at most), and its held-out predictions on
    all rows in each draw.

    A nu-SVR with a large ``C`` fits slowly (1.6 s of CPU for the grid on 440 rows), so the setting is
    searched once, on at most :data:`SVR_SEARCH_ROWS` rows, as Baker et al.'s predictor searches its grid
    on a subset; the fits read every row.
    """
    from sklearn.model_selection import cross_val_predict

    rows = np.arange(len(y))
    if len(rows) > search_rows:
        rows = np.sort(np.random.default_rng(0).choice(len(y), search_rows, replace=False))
    best, _ = _best(SVR_GRID, [svr_grid_held_out(X[rows], y[rows], folds_over(draws[0], rows, len(y)))], y[rows])
    return best, [cross_val_predict(nu_svr(best, X), X, y, cv=folds) for folds in draws]


def folds_over(folds, rows: np.ndarray, n: int):
    """The splitter ``folds`` of ``n`` rows, for the ``rows`` of them alone: a grouped one
    (:class:`naapgnn.models.gate_rules.GroupedFolds`) over those rows' groups; a plain one splits what it is given."""
    return folds.subset(rows) if len(rows) < n and hasattr(folds, "subset") else folds


def _best(grid: tuple, held_out: list, y: np.ndarray) -> tuple[tuple, list]:
    error = {setting: np.mean([np.mean((draw[setting] - y) ** 2) for draw in held_out]) for setting in grid}
    best = min(grid, key=error.get)  # the first of equal errors, in grid order
    return best, [draw[best] for draw in held_out]


def kernel_grid_held_out(X: np.ndarray, target: np.ndarray, folds) -> dict:
    """Held-out predictions of ``target`` by every :data:`KERNEL_GRID` setting on ``folds``.

    Per fold and gamma, one kernel ridge fits a column of ``target`` per alpha (scikit-learn's per-target
    penalties), so the scaling and the kernel matrix are computed once for all alphas; equal to a
    ``cross_val_predict`` per setting up to float rounding.
    """
    alphas = tuple(dict.fromkeys(a for a, _ in KERNEL_GRID))
    factors = tuple(dict.fromkeys(g for _, g in KERNEL_GRID))
    out = {setting: np.empty(len(target)) for setting in KERNEL_GRID}
    columns = np.repeat(target[:, None], len(alphas), axis=1)
    for train, test in folds.split(X):
        for factor in factors:
            model = kernel_ridge((np.asarray(alphas), factor), X).fit(X[train], columns[train])
            for alpha, pred in zip(alphas, model.predict(X[test]).T):
                out[(alpha, factor)][test] = pred
    return out


def svr_grid_held_out(X: np.ndarray, target: np.ndarray, folds) -> dict:
    """Held-out predictions of ``target`` by every :data:`SVR_GRID` setting on ``folds``.

    Per fold the preprocessing is fitted once, and per gamma the kernel matrices are computed once for all
    ``(C, nu)``; equal to a ``cross_val_predict`` of :func:`nu_svr` per setting up to float rounding.
    """
    from sklearn.metrics.pairwise import rbf_kernel
    from sklearn.svm import NuSVR

    out = {setting: np.empty(len(target)) for setting in SVR_GRID}
    for train, test in folds.split(X):
        prepare = _preprocessing().fit(X[train])
        A, B = prepare.transform(X[train]), prepare.transform(X[test])
        for factor in dict.fromkeys(g for *_, g in SVR_GRID):
            gamma = _gamma(factor, X)
            gram, cross = rbf_kernel(A, A, gamma=gamma), rbf_kernel(B, A, gamma=gamma)
            for c, nu, g in SVR_GRID:
                if g == factor:
                    model = NuSVR(C=c, nu=nu, kernel="precomputed").fit(gram, target[train])
                    out[(c, nu, g)][test] = model.predict(cross)
    return out

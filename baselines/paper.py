"""The NAAP-440 paper's 24 scikit-learn regressors and its feature sets.

Names and hyperparameters are the paper's (Hakim 2022, table of baselines).
Models whose ``random_state`` is left at ``None`` draw from numpy's global
generator, which the runner seeds (with python's ``random``) before each fit,
as the paper's script does.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression
from sklearn.utils.validation import check_is_fitted

from naapgnn.errors import NaapgnnError
from naapgnn.features.tabular import feature_set_name, paper_feature_columns, paper_features  # noqa: F401 (re-exported)

SEEDS = tuple(20220905 + i for i in range(5))
PAPER_BUDGETS = (0, 3, 6, 9)


class PowerOutputRegression(RegressorMixin, BaseEstimator):
    """Linear regression with a power output activation ``(Xw + b + 1) ** degree``.

    Fitted by ordinary least squares on the inverse-activated target
    ``y ** (1 / degree) - 1``, as in the paper ("Linear Regression D=...").
    A linear part below -1 (a power of a negative number: NaN) predicts 0, the
    activation's lowest value: on NAAP-440 it never falls there, on a benchmark
    with runs that diverged to chance it can.

    Parameters
    ----------
    degree : float
        The exponent ``D`` of the output activation.
    """

    def __init__(self, degree: float = 0.5):
        self.degree = degree

    def fit(self, X, y):
        """Fit on the inverse-activated target. Returns self."""
        y = np.asarray(y, dtype=float)
        self.linear_ = LinearRegression().fit(X, y ** (1.0 / float(self.degree)) - 1.0)
        return self

    def predict(self, X):
        """Predictions ``max(linear(X) + 1, 0) ** degree``."""
        check_is_fitted(self, "linear_", msg="PowerOutputRegression: not fitted yet (call fit)")
        return np.maximum(self.linear_.predict(X) + 1.0, 0.0) ** self.degree


class PaperRegressor(RegressorMixin, BaseEstimator):
    """One of the paper's 24 regressors as the paper ran it.

    ``fit`` seeds python's ``random`` and numpy's global generator with
    ``random_state`` (the paper's script did; models whose own
    ``random_state`` is None draw from it), fits a StandardScaler on the
    training rows, then the model on the scaled rows.

    Parameters
    ----------
    model : str
        A key of :data:`PAPER_MODELS`.
    random_state : int, optional
        Seed of the global generators (None: left as they are).
    """

    def __init__(self, model: str = "Linear Regression", random_state: int | None = None):
        self.model = model
        self.random_state = random_state

    def fit(self, X, y):
        """Seed, scale and fit. Returns self."""
        import random

        from sklearn.preprocessing import StandardScaler

        if self.model not in PAPER_MODELS:
            raise NaapgnnError(f"{self.model!r} is not one of the paper's models")
        if self.random_state is not None:
            random.seed(self.random_state)
            np.random.seed(self.random_state)
        self.scaler_ = StandardScaler().fit(X)
        self.model_ = PAPER_MODELS[self.model]().fit(self.scaler_.transform(X), y)
        return self

    def predict(self, X):
        """Predicted final accuracy."""
        check_is_fitted(self, "model_", msg=f"PaperRegressor {self.model!r}: not fitted yet (call fit)")
        return np.asarray(self.model_.predict(self.scaler_.transform(X)), dtype=float)


def _knn(k: int):
    # Brute-force k-NN; the paper's tie order among equidistant neighbours (see baselines.legacy).
    from baselines.legacy import PaperKNeighborsRegressor

    return lambda: PaperKNeighborsRegressor(n_neighbors=k)


def _svr(kernel: str):
    from sklearn.svm import SVR

    if kernel == "linear":
        # The kernel's rounding must not depend on the CPU (see baselines.legacy).
        from baselines.legacy import PaperLinearSVR

        return lambda: PaperLinearSVR(epsilon=0.001, C=0.1)
    return lambda: SVR(kernel=kernel, epsilon=0.001, C=0.1)


def _ensemble(cls_name: str, n: int):
    def make():
        from sklearn import ensemble

        return getattr(ensemble, cls_name)(n_estimators=n)

    return make


def _tree():
    from sklearn.tree import DecisionTreeRegressor

    return DecisionTreeRegressor()


PAPER_MODELS: dict[str, Callable[[], BaseEstimator]] = {
    **{f"{k}-NN": _knn(k) for k in (1, 3, 5, 7, 9)},
    "Linear Regression": LinearRegression,
    "Linear Regression D=0.5": lambda: PowerOutputRegression(0.5),
    "Linear Regression D=0.25": lambda: PowerOutputRegression(0.25),
    "Decision Tree": _tree,
    **{f"Gradient Boosting (N={n})": _ensemble("GradientBoostingRegressor", n) for n in (25, 50, 100, 200)},
    **{f"AdaBoost (N={n})": _ensemble("AdaBoostRegressor", n) for n in (25, 50, 100, 200)},
    "SVR (RBF kernel)": _svr("rbf"),
    "SVR (Polynomial kernel)": _svr("poly"),
    "SVR (Linear kernel)": _svr("linear"),
    **{f"Random Forest (N={n})": _ensemble("RandomForestRegressor", n) for n in (25, 50, 100, 200)},
}
"""The 24 regressors in the paper's table order: name -> factory of an unfitted estimator."""

DETERMINISTIC = tuple(
    name for name in PAPER_MODELS
    if name.endswith("-NN") or name.startswith("Linear Regression") or name.startswith("SVR")
)
"""Paper models whose fit uses no randomness (their results must match the paper exactly)."""


def paper_order(df):
    """The paper's row order: ``df.sort_values("MaxAccuracy")`` as pandas on numpy 1.x sorted it.

    ``df`` is in ModelId order (as :func:`naapgnn.data.naap440.load_naap440` returns
    it). The sort is not stable: rows of equal MaxAccuracy (none in the test
    split, some in the training split) come out in numpy 1.x's introsort
    order, which decides k-NN ties (see :mod:`baselines.legacy`).
    """
    from baselines.legacy import numpy1_argsort

    return df.iloc[numpy1_argsort(df["MaxAccuracy"].to_numpy(dtype=float))]

"""The plain one-hot-of-ops regressor of NAS-Bench-201 predictor studies.

A NAS-Bench-201 cell is 6 edges, each one of 5 ops (none, skip_connect,
nor_conv_1x1, nor_conv_3x3, avg_pool_3x3); the features are the 30-value
one-hot of those ops (edge by edge, in the benchmark's notation order). The
regressor is a scikit-learn random forest (``model="rf"``, 500 trees, otherwise
scikit-learn's defaults), the one-hot "RF" baseline of White et al. 2021 ("How
powerful are performance predictors in neural architecture search?",
NASLib); ``model="gbm"`` is their gradient-boosting variant (scikit-learn's
``GradientBoostingRegressor`` with its defaults). Nothing is tuned.

The cell is read back from the layer graph that :func:`naapgnn.data.nb201.nb201_network`
builds (:func:`cell_of`, through :func:`naapgnn.data.nb201_cells.cell_from_network`),
so this regressor sees exactly what the GNN sees. Cells that build the same
network (a single ``skip_connect`` into a node makes that node an alias of its
source, so a later edge from either node gives the same layer graph; 15,625
cell strings build 14,039 distinct networks) cannot be told apart from the
graph; they get one canonical cell, the first in product order of the ops.
Anything that is not a NAS-Bench-201 network fails with one line naming it.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from naapgnn.errors import NaapgnnError

__all__ = ["OneHotOpsRegressor", "onehot_features", "cell_of", "ONEHOT_MODELS"]

ONEHOT_MODELS = ("rf", "gbm")


def cell_of(arch, where: str = "architecture") -> tuple[str, ...]:
    """The 6 edge ops of the NAS-Bench-201 cell of ``arch`` (a parsed layer graph), in notation order
    (:func:`naapgnn.data.nb201_cells.cell_from_network`: the canonical cell of that network).

    Raises
    ------
    NaapgnnError
        ``arch`` is not a network of :func:`naapgnn.data.nb201.nb201_network`, naming ``where``.
    """
    from naapgnn.data.nb201_cells import cell_from_network, cell_ops

    return cell_ops(cell_from_network(arch, where=where))


def onehot_features(X, file: str | None = None) -> np.ndarray:
    """The ``(n, 30)`` one-hot of the cell ops of records or architectures ``X`` (edge-major); an error names a
    record by ``file`` and line (:meth:`naapgnn.data.records.Record.place`) when ``file`` is given."""
    from naapgnn.data.nb201 import CELL_OPS
    from naapgnn.models.inputs import as_records

    index = {op: k for k, op in enumerate(CELL_OPS)}
    records = as_records(X)
    out = np.zeros((len(records), 6 * len(CELL_OPS)))
    for row, record in enumerate(records):
        where = record.place(file) if file else f"record {record.id!r}"
        for edge, op in enumerate(cell_of(record.arch, where=where)):
            out[row, edge * len(CELL_OPS) + index[op]] = 1.0
    return out


class OneHotOpsRegressor(RegressorMixin, BaseEstimator):
    """A random forest (or gradient boosting) on the one-hot of a NAS-Bench-201 cell's 6 edge ops.

    Parameters
    ----------
    model : {"rf", "gbm"}
        scikit-learn ``RandomForestRegressor`` or ``GradientBoostingRegressor``.
    n_estimators : int
        Trees (500 for the forest; scikit-learn's 100 for boosting when None).
    random_state : int or None
        Seed.

    ``fit`` and ``predict`` take records or architectures, or the ``(n, 30)``
    output of :func:`onehot_features`.

    Attributes
    ----------
    estimator_ : the fitted scikit-learn regressor
    n_features_in_ : int
        30.
    """

    def __init__(self, model: str = "rf", n_estimators: int | None = None, random_state: int | None = 0):
        self.model = model
        self.n_estimators = n_estimators
        self.random_state = random_state

    def _features(self, X) -> np.ndarray:
        if isinstance(X, np.ndarray) and X.ndim == 2:
            if X.shape[1] != 30:
                raise NaapgnnError(f"OneHotOpsRegressor: expected 30 one-hot columns, got {X.shape[1]}")
            return X
        return onehot_features(X)

    def fit(self, X, y):
        """Fit the regressor.

        Parameters
        ----------
        X : list of Record or architectures, or an (n, 30) array
        y : array-like of shape (n,)
            Final accuracies.

        Returns
        -------
        self
        """
        from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

        if self.model not in ONEHOT_MODELS:
            raise NaapgnnError(f"OneHotOpsRegressor: model must be one of {', '.join(ONEHOT_MODELS)}, "
                               f"got {self.model!r}")
        features = self._features(X)
        y = np.asarray(y, dtype=float).reshape(-1)
        if len(y) != len(features):
            raise NaapgnnError(f"OneHotOpsRegressor: {len(features)} architectures but {len(y)} targets")
        if self.model == "rf":
            trees = 500 if self.n_estimators is None else int(self.n_estimators)
            self.estimator_ = RandomForestRegressor(n_estimators=trees, random_state=self.random_state)
        else:
            trees = 100 if self.n_estimators is None else int(self.n_estimators)
            self.estimator_ = GradientBoostingRegressor(n_estimators=trees, random_state=self.random_state)
        self.estimator_.fit(features, y)
        self.n_features_in_ = features.shape[1]
        return self

    def predict(self, X, return_std: bool = False):
        """Predicted final accuracy (and, with ``return_std`` and the forest, the trees' spread).

        Parameters
        ----------
        X : list of Record or architectures, or an (n, 30) array
            As :meth:`fit` reads them.
        return_std : bool

        Returns
        -------
        numpy.ndarray of shape (n,), or a tuple (mean, std) of two
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "estimator_", msg="OneHotOpsRegressor: not fitted yet (call fit)")
        features = self._features(X)
        mean = self.estimator_.predict(features)
        if not return_std:
            return mean
        if self.model != "rf":
            return mean, np.zeros_like(mean)
        per_tree = np.stack([tree.predict(features) for tree in self.estimator_.estimators_])
        return mean, per_tree.std(axis=0)

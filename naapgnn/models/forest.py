"""The per-layer random forest: the strong non-graph baseline and the search's fast predictor.

The paper's budget-0 features (log NumParams, NumStages) cannot tell apart
architectures of equal size; the per-block description of
:func:`naapgnn.features.tabular.per_layer_features` (width, kernel, stride, residual,
output size, params, MACs and receptive field of every block) can.

With ``budget > 0`` the cycle-aligned curve features of
:func:`naapgnn.features.tabular.cycle_features` enter in one of two ways
(``curve``):

* ``True`` / ``"stack"``: the forest's out-of-bag prediction is stacked with the
  curve features in a ridge regression: the forest carries the architecture,
  the ridge adds what the first epochs say (``naapgnn baselines``).
* ``"gain"``: the trees read the curve features too and predict the gain of
  the final accuracy over the best accuracy of the first ``budget`` epochs,
  which is added back: a forest cannot predict beyond its training targets,
  and early stopping must recognise candidates better than every one trained
  so far (``naapgnn search``).

Hyperparameters (300 trees, ``max_features=0.33``, ``min_samples_leaf=2``)
were chosen by repeated 40-architecture splits inside the official training
split (IsTest 0) only.
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from naapgnn.errors import NaapgnnError
from naapgnn.features.tabular import (
    cycle_feature_names, cycle_features, per_layer_features, readable_per_layer_features,
)

CURVE_MODES = (False, True, "stack", "gain")


class PerLayerForest(RegressorMixin, BaseEstimator):
    """Random forest on per-layer features, optionally with curve features.

    Parameters
    ----------
    budget : int
        Epochs of training curve available (0..90). Only used with ``curve``.
    curve : {False, True, "stack", "gain"}
        How the cycle curve features enter (needs ``budget >= 1``; see the
        module docstring): not at all, stacked in a ridge regression (``True``
        is ``"stack"``), or as tree inputs with the trees predicting the gain
        over the best accuracy so far.
    n_estimators, max_features, min_samples_leaf
        Passed to :class:`sklearn.ensemble.RandomForestRegressor`.
    max_blocks : int, optional
        Block slots of the per-layer features; pass the largest depth that will
        be predicted (default: the deepest architecture in the data featurised).
    random_state : int, optional
        Seed of the forest.
    n_jobs : int, optional
        Parallel trees.

    ``fit`` and ``predict`` take a NAAP-440 DataFrame (with its ``scheme``
    column), a list of :class:`naapgnn.data.records.Record`, a list of
    architectures (budget 0 or ``curve=False`` only) or the output of
    :meth:`featurize` (so a study featurises once and fits many times).

    Attributes
    ----------
    forest_ : sklearn.ensemble.RandomForestRegressor
    stack_ : sklearn.pipeline.Pipeline
        The ridge on (out-of-bag forest prediction, curve features); only with
        ``curve="stack"``.
    max_blocks_ : int
        Block slots of the features seen in fit: the deepest architecture the
        forest can read (:meth:`readable`).
    oob_prediction_ : numpy.ndarray
        Each training row's prediction by the trees that did not see it (then
        the stacking ridge or the gain anchor as in :meth:`predict`).
    feature_min_, feature_max_ : numpy.ndarray
        The training range of every feature column (:meth:`domain_report`).
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray of str
        The feature columns seen in fit, in order.
    """

    def __init__(self, budget: int = 0, curve: bool | str = False, n_estimators: int = 300,
                 max_features: float = 0.33, min_samples_leaf: int = 2, max_blocks: int | None = None,
                 random_state: int | None = None, n_jobs: int | None = None):
        self.budget = budget
        self.curve = curve
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.max_blocks = max_blocks
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _curve_mode(self) -> str | None:
        """``"stack"``, ``"gain"`` or None (no curve features)."""
        if not any(self.curve is mode or self.curve == mode for mode in CURVE_MODES):
            raise NaapgnnError(f"PerLayerForest: curve must be False, True, 'stack' or 'gain', got {self.curve!r}")
        if not self.curve or self.budget <= 0:
            return None
        return "gain" if self.curve == "gain" else "stack"

    def featurize(self, X):
        """The feature table this model reads: per-layer features, then the
        cycle features when curve features are used. Already featurised input is returned as is.

        Parameters
        ----------
        X : DataFrame, list of Record or architectures

        Returns
        -------
        pandas.DataFrame
        """
        return self._featurize(X, getattr(self, "max_blocks_", self.max_blocks))

    def _featurize(self, X, max_blocks):
        if self._is_featurized(X):
            return X
        return self._with_curve(per_layer_features(X, max_blocks=max_blocks), X)

    def _featurize_readable(self, X):
        """The feature table of the rows of ``X`` the forest can read (:meth:`readable`), and which
        those are, from one pass over the layers."""
        if self._is_featurized(X):
            return X, np.ones(len(X), dtype=bool)
        table, readable = readable_per_layer_features(X, self.max_blocks_)
        return self._with_curve(table, _subset(X, np.flatnonzero(readable))), readable

    def _with_curve(self, table, X):
        """``table`` followed by the cycle curve features of ``X`` when curve features are used."""
        import pandas as pd

        if not self._curve_mode():
            return table
        return pd.concat([table, cycle_features(X, self.budget).set_axis(table.index)], axis=1)

    @staticmethod
    def _is_featurized(X) -> bool:
        return hasattr(X, "columns") and "total_log_params" in X.columns

    def _curve_columns(self) -> list[str]:
        return cycle_feature_names(self.budget) if self._curve_mode() else []

    def _tree_inputs(self, table) -> np.ndarray:
        """What the trees read: every column with ``"gain"``, the per-layer columns otherwise."""
        missing = [c for c in self._curve_columns() if c not in table.columns]
        if missing:
            raise NaapgnnError(f"PerLayerForest: feature table has no column {missing[0]!r}")
        if self._curve_mode() == "stack":
            table = table.drop(columns=self._curve_columns())
        return table.to_numpy(dtype=float)

    def _anchor(self, table) -> np.ndarray | float:
        """What the trees' prediction is added to: the best accuracy so far with ``"gain"``, else 0."""
        if self._curve_mode() != "gain":
            return 0.0
        return table["acc_best"].to_numpy(dtype=float)

    def fit(self, X, y):
        """Fit the forest (and the stacking ridge).

        Parameters
        ----------
        X : DataFrame, list of Record or architectures, or :meth:`featurize` output
        y : array-like of shape (n,)
            Final accuracies.

        Returns
        -------
        self
        """
        from sklearn.ensemble import RandomForestRegressor

        mode = self._curve_mode()
        table = self._featurize(X, self.max_blocks)
        y = np.asarray(y, dtype=float)
        self.max_blocks_ = sum(c.endswith("_present") for c in table.columns)
        self.feature_names_in_ = np.asarray(table.columns, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        values = table.to_numpy(dtype=float)
        self.feature_min_, self.feature_max_ = values.min(axis=0), values.max(axis=0)
        with warnings.catch_warnings():  # a tiny forest leaves some rows without out-of-bag trees
            warnings.filterwarnings("ignore", message=".*OOB.*", category=UserWarning)
            self.forest_ = RandomForestRegressor(
                n_estimators=self.n_estimators, max_features=self.max_features,
                min_samples_leaf=self.min_samples_leaf, oob_score=True,
                random_state=self.random_state, n_jobs=self.n_jobs,
            ).fit(self._tree_inputs(table), y - self._anchor(table))
        oob = self.forest_.oob_prediction_ + self._anchor(table)
        if mode == "stack":
            self.stack_ = _ridge().fit(np.c_[self.forest_.oob_prediction_, table[self._curve_columns()]], y)
            oob = self.stack_.predict(np.c_[oob, table[self._curve_columns()]])
        self.oob_prediction_ = oob
        return self

    def readable(self, X) -> np.ndarray:
        """Which rows of ``X`` the forest can read: at most :attr:`max_blocks_` conv/pool blocks.

        Returns
        -------
        numpy.ndarray of bool, shape (n,)
        """
        check_is_fitted(self, "forest_")
        if self._is_featurized(X):
            return np.ones(len(X), dtype=bool)
        return block_counts(X) <= self.max_blocks_

    def predict_readable(self, X) -> np.ndarray:
        """:meth:`predict` for the rows it can read (:meth:`readable`), NaN for the others."""
        check_is_fitted(self, "forest_")
        table, readable = self._featurize_readable(X)
        out = np.full(len(readable), np.nan)
        if readable.any():
            out[readable] = self.predict(table)
        return out

    def domain_report(self, X) -> tuple[np.ndarray, list[str]]:
        """Whether each row of ``X`` lies inside what the forest was trained on, and why not.

        A row is outside when it has more conv/pool blocks than any training
        architecture (the forest cannot read it) or a feature outside its
        training range (beyond :data:`naapgnn.models.applicability.MARGIN`
        of the range at either end).

        Returns
        -------
        in_domain : numpy.ndarray of bool, shape (n,)
        reasons : list of str
            "" for a row in domain, else short reasons joined by "; ".
        """
        from naapgnn.models.applicability import range_reasons

        check_is_fitted(self, "forest_")
        readable = self.readable(X)
        blocks = None if self._is_featurized(X) else block_counts(X)
        reasons = [[] for _ in range(len(readable))]
        for i in np.flatnonzero(~readable):
            reasons[i].append(f"{blocks[i]} conv/pool blocks > {self.max_blocks_}")
        rows = np.flatnonzero(readable)
        if len(rows):
            table = self.featurize(_subset(X, rows))
            found = range_reasons("feature", self.feature_names_in_, table.to_numpy(dtype=float),
                                  self.feature_min_, self.feature_max_)
            for i, reason in zip(rows, found):
                reasons[i] += [reason] if reason else []
        joined = ["; ".join(r) for r in reasons]
        return np.array([not r for r in joined], dtype=bool), joined

    def predict(self, X, return_std: bool = False):
        """Predicted final accuracy.

        Parameters
        ----------
        X : DataFrame, list of Record or architectures, or :meth:`featurize` output
        return_std : bool
            Also return the spread (standard deviation) of the trees, carried
            through the stacking ridge with ``curve="stack"``.

        Returns
        -------
        numpy.ndarray of shape (n,), or a tuple (mean, std) of two
        """
        check_is_fitted(self, "forest_")
        table = self.featurize(X)
        if list(table.columns) != list(self.feature_names_in_):
            raise NaapgnnError(f"PerLayerForest: {table.shape[1]} features, fitted on {self.n_features_in_} "
                               "(pass the same max_blocks and budget)")
        inputs = self._tree_inputs(table)
        if return_std or self._curve_mode() == "gain":
            per_tree = np.stack([tree.predict(inputs) for tree in self.forest_.estimators_])
            mean, std = per_tree.mean(axis=0), per_tree.std(axis=0)
        else:
            mean, std = self.forest_.predict(inputs), None
        mean = mean + self._anchor(table)
        if self._curve_mode() == "stack":
            mean = self.stack_.predict(np.c_[mean, table[self._curve_columns()]])
            if std is not None:
                scaler, ridge = self.stack_[0], self.stack_[-1]
                std = std * abs(ridge.coef_[0] / scaler.scale_[0])
        return (mean, std) if return_std else mean


def block_counts(X) -> np.ndarray:
    """Conv/pool blocks (the per-layer feature slots) of each architecture in ``X``.

    Counted from the layers' ops (:func:`naapgnn.features.tabular.count_blocks`);
    :meth:`PerLayerForest.predict_readable` reads them from its one pass over the layers instead.
    """
    from naapgnn.features.tabular import architectures_of, count_blocks

    return np.array([count_blocks(a) for a in architectures_of(X)], dtype=int)


def _subset(X, rows: np.ndarray):
    """Rows ``rows`` of a DataFrame or a list."""
    return X.iloc[rows] if hasattr(X, "iloc") else [X[i] for i in rows]


def _ridge():
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-4, 3, 30)))

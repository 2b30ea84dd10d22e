"""The strong non-graph baseline: a random forest on per-layer architecture features.

The paper's budget-0 features (log NumParams, NumStages) cannot tell apart
architectures of equal size; the per-block description of
:func:`naapgnn.features.tabular.per_layer_features` (width, kernel, stride, residual,
output size, params, MACs and receptive field of every block) can.

With ``curve=True`` and ``budget > 0`` the forest's out-of-bag prediction is
stacked with the cycle-aligned curve features of
:func:`naapgnn.features.tabular.cycle_features` in a ridge regression: the forest
carries the architecture, the ridge adds what the first epochs say.

Hyperparameters (300 trees, ``max_features=0.33``, ``min_samples_leaf=2``)
were chosen by repeated 40-architecture splits inside the official training
split (IsTest 0) only.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from naapgnn.errors import NaapgnnError
from naapgnn.features.tabular import cycle_feature_names, cycle_features, per_layer_features


class PerLayerForest(RegressorMixin, BaseEstimator):
    """Random forest on per-layer features, optionally stacked with curve features.

    Parameters
    ----------
    budget : int
        Epochs of training curve available (0..90). Only used with ``curve``.
    curve : bool
        Stack the forest with a ridge regression on cycle-aligned curve
        features (needs ``budget >= 1``).
    n_estimators, max_features, min_samples_leaf
        Passed to :class:`sklearn.ensemble.RandomForestRegressor`.
    max_blocks : int, optional
        Block slots of the per-layer features (default: the most blocks in
        the training data).
    random_state : int, optional
        Seed of the forest.
    n_jobs : int, optional
        Parallel trees.

    ``fit`` and ``predict`` take a NAAP-440 DataFrame (with its ``scheme``
    column), a list of :class:`naapgnn.data.records.Record`, a list of
    architectures (``budget`` 0 or ``curve=False`` only) or the output of
    :meth:`featurize`.
    """

    def __init__(self, budget: int = 0, curve: bool = False, n_estimators: int = 300,
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

    def _uses_curve(self) -> bool:
        return bool(self.curve) and self.budget > 0

    def featurize(self, X):
        """The feature table this model reads: per-layer features, then the
        cycle features when ``curve`` is on. Already featurised input is returned as is."""
        return self._featurize(X, getattr(self, "max_blocks_", self.max_blocks))

    def _featurize(self, X, max_blocks):
        import pandas as pd

        if self._is_featurized(X):
            return X
        table = per_layer_features(X, max_blocks=max_blocks)
        if self._uses_curve():
            curve = cycle_features(X, self.budget).set_axis(table.index)
            table = pd.concat([table, curve], axis=1)
        return table

    @staticmethod
    def _is_featurized(X) -> bool:
        return hasattr(X, "columns") and "total_log_params" in X.columns

    def _split(self, table) -> tuple[np.ndarray, np.ndarray]:
        curve_cols = cycle_feature_names(self.budget) if self._uses_curve() else []
        missing = [c for c in curve_cols if c not in table.columns]
        if missing:
            raise NaapgnnError(f"PerLayerForest: feature table has no column {missing[0]!r}")
        arch = table.drop(columns=curve_cols)
        return arch.to_numpy(dtype=float), table[curve_cols].to_numpy(dtype=float)

    def fit(self, X, y):
        """Fit the forest (and the stacking ridge). Returns self."""
        from sklearn.ensemble import RandomForestRegressor

        table = self._featurize(X, self.max_blocks)
        self.max_blocks_ = sum(c.endswith("_present") for c in table.columns)
        self.feature_names_ = list(table.columns)
        arch, curve = self._split(table)
        y = np.asarray(y, dtype=float)
        self.forest_ = RandomForestRegressor(
            n_estimators=self.n_estimators, max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf, oob_score=self._uses_curve(),
            random_state=self.random_state, n_jobs=self.n_jobs,
        ).fit(arch, y)
        if self._uses_curve():
            self.stack_ = _ridge().fit(np.c_[self.forest_.oob_prediction_, curve], y)
        return self

    def predict(self, X):
        """Predicted final accuracy."""
        table = self.featurize(X)
        if list(table.columns) != self.feature_names_:
            raise NaapgnnError("PerLayerForest: the features differ from those seen in fit (max_blocks or budget)")
        arch, curve = self._split(table)
        pred = self.forest_.predict(arch)
        if self._uses_curve():
            pred = self.stack_.predict(np.c_[pred, curve])
        return pred


def _ridge():
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-4, 3, 30)))

"""The early-stopping forest for benchmarks without NAAP-440's cyclic learning rate.

:class:`naapgnn.models.forest.PerLayerForest` with ``curve="gain"`` reads
NAAP-440's cycle-aligned curve features (accuracy and loss mean at every third
epoch); :func:`naapgnn.search.early_stop.early_stop_study` keeps it where the
records declare that schedule. Any other benchmark gets :class:`CurveGainForest`:
the same per-layer architecture features and the same target (the gain of the
final accuracy over the best accuracy of the first ``budget`` epochs, added
back), with the schedule-free curve features of
:func:`naapgnn.features.curves.curve_features` for every channel the records
have, and their numeric hyperparameters.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from naapgnn.errors import NaapgnnError


class CurveGainForest(RegressorMixin, BaseEstimator):
    """Random forest on per-layer, hyperparameter and schedule-free curve features that predicts the
    gain over the best accuracy of the first ``budget`` epochs.

    Parameters
    ----------
    budget : int
        Epochs of curve read (>= 1).
    n_estimators, max_features, min_samples_leaf : forest settings
        (those of :data:`naapgnn.search.problem.FOREST_FAST` and ``PerLayerForest``).
    random_state : int or None
    n_jobs : int

    Attributes
    ----------
    forest_ : sklearn.ensemble.RandomForestRegressor
        Fitted on the features, predicting ``target - anchor``.
    n_features_in_ : int
    """

    def __init__(self, budget: int = 1, n_estimators: int = 64, max_features: float = 0.33,
                 min_samples_leaf: int = 2, random_state: int | None = None, n_jobs: int = 1):
        self.budget = budget
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state
        self.n_jobs = n_jobs

    def featurize(self, records) -> np.ndarray:
        """``(n, 1 + features)``: column 0 the anchor (best accuracy of epochs ``1..budget``: the ``accuracy``
        channel, else the one channel that reads as an accuracy or an error rate, in accuracy fractions
        (:func:`naapgnn.data.channels.target_channel`); 0 without one), then per-layer architecture features,
        hyperparameters and curve features.

        Featurise every architecture the model will see in one call: the per-layer block slots are
        those of the deepest one.
        """
        from naapgnn.features.curves import curve_channels, curve_features
        from naapgnn.features.tabular import per_layer_features

        records = list(records)
        if self.budget < 1:
            raise NaapgnnError(f"CurveGainForest: budget must be >= 1 epoch, got {self.budget}")
        architecture = per_layer_features(records).to_numpy(dtype=float)
        curve = curve_features(records, self.budget, curve_channels(records))
        return np.column_stack([_anchor(records, self.budget), architecture, _hparams(records), curve])

    def fit(self, X, y):
        """Fit on :meth:`featurize` output (or records) and final accuracies ``y``.

        Returns
        -------
        self
        """
        from sklearn.ensemble import RandomForestRegressor

        X = self._features(X)
        y = np.asarray(y, dtype=float)
        self.n_features_in_ = X.shape[1]
        self.forest_ = RandomForestRegressor(
            n_estimators=self.n_estimators, max_features=self.max_features, min_samples_leaf=self.min_samples_leaf,
            random_state=self.random_state, n_jobs=self.n_jobs,
        ).fit(X[:, 1:], y - X[:, 0])
        return self

    def predict(self, X, return_std: bool = False):
        """Predicted final accuracy (anchor + mean gain of the trees); with ``return_std`` also the
        spread of the trees.

        Returns
        -------
        numpy.ndarray, or (mean, std)
        """
        check_is_fitted(self, "forest_")
        X = self._features(X)
        if X.shape[1] != self.n_features_in_:
            raise NaapgnnError(f"CurveGainForest: fitted on {self.n_features_in_ - 1} features, got {X.shape[1] - 1} "
                               "(featurise all architectures in one call)")
        per_tree = np.stack([tree.predict(X[:, 1:]) for tree in self.forest_.estimators_])
        mean = X[:, 0] + per_tree.mean(axis=0)
        return (mean, per_tree.std(axis=0)) if return_std else mean

    def _features(self, X) -> np.ndarray:
        return X if isinstance(X, np.ndarray) else self.featurize(X)


def _anchor(records, budget: int) -> np.ndarray:
    from naapgnn.data.channels import as_accuracy, target_channel

    out = np.zeros(len(records))
    found = target_channel(records)
    if found is None:
        return out
    channel, factor = found
    for i, r in enumerate(records):
        out[i] = float(np.max(as_accuracy(r.curve[channel][:budget], factor)))
    return out


def _hparams(records) -> np.ndarray:
    from naapgnn.data.hparams import is_seed, not_applicable
    from naapgnn.features.hparams import hparam_inputs, training_mean

    names = sorted({k for r in records for k in r.hparams if not is_seed(k)})  # a seed is no part of the recipe
    out = hparam_inputs(records, names)
    null = np.array([[not_applicable(r.hparams, k) for k in names] for r in records], dtype=bool).reshape(out.shape)
    rows, columns = np.nonzero(np.isnan(out) & ~null)
    if len(rows):  # the first missing value, row by row
        raise NaapgnnError(f"record {records[rows[0]].id!r}: no hparam {names[columns[0]]!r} (other records have it)")
    means = training_mean(out)  # a column null in every record: 0
    return np.where(null, means, out)  # a hyperparameter that does not apply: the mean of those it applies to

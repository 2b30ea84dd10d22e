"""Baker et al. 2018's learning-curve predictor ("Accelerating neural architecture search
using performance prediction", ICLR 2018 workshop).

A regressor (nu-SVR, or the paper's random-forest variant) on three groups of
features, computed per record:

* architecture (:mod:`naapgnn.features.architecture`): log parameters, log MACs,
  depth, conv layers, stride-2 stages, residual convs, log widest conv, and the
  number of layers of each op type;
* numeric hyperparameters (every ``hparams`` key seen in training, and the
  peak of a per-epoch ``lr`` schedule when ``hparams`` give no rate; those
  spread over two decades in log10: :mod:`naapgnn.features.hparams`, the
  same reading as naapgnn's own predictor; a missing value counts as the
  training mean);
* the first ``budget`` values of every curve channel seen in training
  (accuracy, losses, a per-epoch ``lr``, ...) and their first and second
  differences, as in the paper.

Columns constant in the training data (an op type no network has, a hyperparameter every run shares, a
learning-rate schedule all runs follow) are dropped before scaling, so they neither dilute the nu-SVR's
``gamma`` (a multiple of one over the number of varying columns) nor change any result.

The hyperparameters of the regressor (nu-SVR: ``C``, ``nu``, ``gamma``; forest:
``max_features``, ``min_samples_leaf``) are chosen by a grid search over ``cv``
shuffled folds of the training data only, with a fixed seed (:func:`grid_search`:
``GridSearchCV``'s choice, with the preprocessing fitted once per fold); where a configuration has several
records (seeds), a configuration's records lie in one fold, as in :class:`naapgnn.models.gnn.GNNPredictor`'s own
held-out predictions: a fold scored on twins of its training records picked settings that fit seeds, not
architectures (README, "Held out by configuration"). The
uncertainty (``predict(X, return_std=True)``) is the spread of the ``cv``
models refitted with the chosen setting on each fold's training part (nu-SVR)
or of the trees (forest).
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.feature_selection import VarianceThreshold
from sklearn.utils.validation import check_is_fitted

from naapgnn.data.gaps import as_seen_at, training_reading
from naapgnn.errors import NaapgnnError, TooFewRecordsError
from naapgnn.models.inputs import MAX_SEED, RecordsScoreMixin, as_records, check_unchanged, targets_of
from naapgnn.models.kernels import folds_over, varying_columns

__all__ = ["BakerPredictor", "baker_features", "grid_search", "BAKER_MODELS"]

BAKER_MODELS = ("svr", "rf")
MAX_SEARCH_ROWS = 1000


def feature_names(budget: int, channels, hparams) -> list[str]:
    """Names of :func:`baker_features` columns, in order."""
    from naapgnn.features.architecture import architecture_feature_names
    from naapgnn.features.curves import values_and_differences_names

    names = architecture_feature_names() + [f"hp_{h}" for h in hparams]
    return names + values_and_differences_names(budget, channels)


def baker_features(records, budget: int, channels, hparams, log=None) -> np.ndarray:
    """The feature matrix of ``records`` (NaN where a record lacks a channel or a hyperparameter).

    A channel a record has must hold at least ``budget`` epochs; only the first
    ``budget`` are read. ``log``: which of ``hparams`` to read in log10.
    """
    from naapgnn.features.architecture import architecture_features
    from naapgnn.features.curves import values_and_differences
    from naapgnn.features.hparams import hparam_inputs

    return np.c_[architecture_features([r.arch for r in records]), hparam_inputs(records, hparams, log),
                 values_and_differences(records, budget, channels)]


class BakerPredictor(RecordsScoreMixin, RegressorMixin, BaseEstimator):
    """Baker et al. 2018's predictor of final accuracy from architecture, hyperparameters and a partial curve.

    Parameters
    ----------
    budget : int
        Epochs of curve read per record (0: architecture and hyperparameters only).
    model : {"svr", "rf"}
        nu-SVR with an RBF kernel (the paper's best) or a random forest.
    cv : int
        Folds of the hyperparameter search inside the training data.
    n_estimators : int
        Trees of the random forest.
    random_state : int or None
        Seed of the folds, of the forest and of the search subset.
    max_search_rows : int or None
        Most training records the grid search reads (a seeded random subset beyond that; None: all). The
        chosen setting is then refitted on every record. A nu-SVR's fit grows with about the square of
        its rows (9 s at 550 records, 87 s at 2,200 for the 108 fits of the search), so a benchmark of
        ten thousand runs would spend hours choosing ``C``, ``nu`` and ``gamma``.

    Attributes
    ----------
    fitted_params_ : dict
        The ``budget`` and ``model`` of the fit (predicting after ``set_params`` changed them is refused).
    channels_ : list of str
        Curve channels read (every channel a training record has).
    diverged_values_, unlogged_epochs_ : dict
        Per channel, the training records' worst value and the epochs most of them left unlogged, both over the
        first ``budget`` epochs (:func:`naapgnn.data.gaps.training_reading`): how a run's first ``budget`` epochs
        are read as it stood then (:func:`naapgnn.data.gaps.as_seen_at`).
    hparam_names_ : list of str
        Hyperparameters read (:func:`naapgnn.features.hparams.hparam_input_names`).
    hparam_log_ : list of bool
        Which of them are read in log10.
    feature_names_ : list of str
    best_params_ : dict
        The setting chosen by cross-validation.
    cv_mse_ : float
        Its cross-validated mean squared error (in target units; on the search's records).
    model_ : Pipeline
        Imputer, scaler and regressor refitted on all training data.
    fold_models_ : list of Pipeline
        The chosen setting refitted on each fold's training part (nu-SVR's uncertainty).
    """

    def __init__(self, budget: int = 0, model: str = "svr", cv: int = 3, n_estimators: int = 100,
                 random_state: int | None = 0, max_search_rows: int | None = MAX_SEARCH_ROWS):
        self.budget = budget
        self.model = model
        self.cv = cv
        self.n_estimators = n_estimators
        self.random_state = random_state
        self.max_search_rows = max_search_rows

    def _check_params(self) -> None:
        b = self.budget
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 0:
            raise NaapgnnError(f"BakerPredictor: budget must be a non-negative integer, got {b!r}")
        if self.model not in BAKER_MODELS:
            raise NaapgnnError(f"BakerPredictor: model must be one of {', '.join(BAKER_MODELS)}, got {self.model!r}")
        if isinstance(self.cv, bool) or not isinstance(self.cv, (int, np.integer)) or self.cv < 2:
            raise NaapgnnError(f"BakerPredictor: cv must be an integer >= 2, got {self.cv!r}")
        rows = self.max_search_rows
        if rows is not None and (isinstance(rows, bool) or not isinstance(rows, (int, np.integer))
                                 or rows < 2 * self.cv):
            raise NaapgnnError(f"BakerPredictor: max_search_rows must be None or an integer >= 2 * cv, got {rows!r}")
        trees = self.n_estimators
        if isinstance(trees, bool) or not isinstance(trees, (int, np.integer)) or trees < 1:
            raise NaapgnnError(f"BakerPredictor: n_estimators must be a positive integer, got {trees!r}")
        rs = self.random_state
        if rs is not None and (isinstance(rs, bool) or not isinstance(rs, (int, np.integer))
                               or not 0 <= rs <= MAX_SEED):
            raise NaapgnnError(f"BakerPredictor: random_state must be None or an integer in [0, {MAX_SEED}], "
                               f"got {rs!r}")

    def _pipeline_and_grid(self, n_features: int):
        """The pipeline and its grid; ``n_features``: the columns that vary in the training data (gamma's unit)."""
        from sklearn.ensemble import RandomForestRegressor
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import NuSVR

        if self.model == "svr":
            reg, grid = NuSVR(kernel="rbf"), {"reg__C": [1.0, 10.0, 100.0], "reg__nu": [0.3, 0.6, 0.9],
                                              "reg__gamma": [g / n_features for g in (0.03, 0.1, 0.3, 1.0)]}
        else:
            reg = RandomForestRegressor(n_estimators=int(self.n_estimators), random_state=self.random_state, n_jobs=1)
            grid = {"reg__max_features": [0.33, 1.0], "reg__min_samples_leaf": [1, 3]}
        steps = [("impute", SimpleImputer(strategy="mean", keep_empty_features=True)),
                 ("constant", _DropConstant()), ("scale", StandardScaler()), ("reg", reg)]
        return Pipeline(steps), grid

    def fit(self, X, y=None):
        """Choose the regressor's setting by cross-validation and refit it on all of ``X``.

        Parameters
        ----------
        X : list of Record (or what :func:`naapgnn.models.inputs.as_records` accepts)
        y : array-like of shape (n,), optional
            Final accuracies; default: the records' ``target``.

        Returns
        -------
        self
        """
        from naapgnn.data.configurations import held_out_groups
        from naapgnn.features.hparams import hparam_reading
        from naapgnn.models.gate_rules import folds as gate_folds

        self.__dict__.pop("fitted_params_", None)  # until this fit succeeds, predict refuses
        self._check_params()
        records = as_records(X, "BakerPredictor")
        y = targets_of(records, y, "BakerPredictor")
        if len(records) < 2 * int(self.cv):
            raise TooFewRecordsError(f"BakerPredictor: need at least {2 * int(self.cv)} training architectures, "
                               f"got {len(records)}")
        if np.ptp(y) == 0:  # as GNNPredictor refuses them: a constant fit ranks nothing
            raise NaapgnnError(f"BakerPredictor: all {len(y)} training targets are {y[0]:g}: nothing to learn or rank")
        budget = int(self.budget)
        self.channels_ = _channels(records) if budget else []
        if budget and not self.channels_:
            raise NaapgnnError(f"BakerPredictor: budget {budget} needs training curves, but no record has one")
        self.diverged_values_, self.unlogged_epochs_ = training_reading(records, self.channels_, budget)
        records = self._as_stood(records)
        self.hparam_names_, self.hparam_log_ = hparam_reading(records)
        self.feature_names_ = feature_names(budget, self.channels_, self.hparam_names_)
        features = baker_features(records, budget, self.channels_, self.hparam_names_, self.hparam_log_)
        self.y_mean_, self.y_std_ = float(y.mean()), float(y.std()) or 1.0
        z = (y - self.y_mean_) / self.y_std_
        pipeline, grid = self._pipeline_and_grid(max(varying_columns(features), 1))
        # where configurations repeat, a configuration's records in one fold: scored on twins of its training
        # records, the search picked settings that fit seeds, not architectures
        folds = gate_folds(int(self.cv), self.random_state, held_out_groups(records))
        search = _search_rows(len(z), self.max_search_rows, self.random_state)
        best_params, best_mse = grid_search(pipeline, grid, folds_over(folds, search, len(z)), features[search],
                                            z[search])
        self.best_params_ = {k.removeprefix("reg__"): v for k, v in best_params.items()}
        self.cv_mse_ = best_mse * self.y_std_ ** 2
        best = clone(pipeline).set_params(**best_params)
        self.model_ = clone(best).fit(features, z)
        self.fold_models_ = []
        if self.model == "svr":
            self.fold_models_ = [clone(best).fit(features[train], z[train]) for train, _ in folds.split(features)]
        self.fitted_params_ = {"budget": budget, "model": self.model}
        return self

    def predict(self, X, return_std: bool = False):
        """Predicted final accuracy (and its uncertainty, see the module docstring).

        Parameters
        ----------
        X : list of Record
        return_std : bool

        Returns
        -------
        numpy.ndarray of shape (n,), or (mean, std)
        """
        check_is_fitted(self, "model_", msg="BakerPredictor: not fitted yet (call fit)")
        check_unchanged(self)
        features = baker_features(self._as_stood(as_records(X, "BakerPredictor")), int(self.budget), self.channels_,
                                  self.hparam_names_, self.hparam_log_)
        mean = self.model_.predict(features) * self.y_std_ + self.y_mean_
        if not return_std:
            return mean
        if self.model == "rf":
            transformed = self.model_[:-1].transform(features)
            trees = np.stack([t.predict(transformed) for t in self.model_[-1].estimators_])
            return mean, trees.std(axis=0) * self.y_std_
        folds = np.stack([m.predict(features) for m in self.fold_models_])
        return mean, folds.std(axis=0) * self.y_std_

    def _as_stood(self, records: list) -> list:
        """Each run's first ``budget`` epochs as it stood then, whatever its file logged later, with the
        training runs' worst values and unlogged epochs (:func:`naapgnn.data.gaps.as_seen_at`)."""
        return as_seen_at(records, int(self.budget), worst=self.diverged_values_, unlogged=self.unlogged_epochs_)


class _DropConstant(VarianceThreshold):
    """scikit-learn's ``VarianceThreshold``: the columns constant in the training data dropped; every column
    kept where none varies (one configuration run many times, or a grid-search fold of such runs), so that the
    regressor predicts the mean there instead of failing."""

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        self.keep_all_ = varying_columns(X) == 0
        if not self.keep_all_:
            return super().fit(X, y)
        self.variances_, self.n_features_in_ = np.zeros(X.shape[1]), X.shape[1]
        return self

    def _get_support_mask(self):
        return np.ones(len(self.variances_), dtype=bool) if self.keep_all_ else super()._get_support_mask()


def _search_rows(n: int, limit: int | None, random_state) -> np.ndarray:
    """Indices of the records the grid search reads: all ``n``, or a seeded random ``limit`` of them (sorted)."""
    if limit is None or n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(random_state).choice(n, int(limit), replace=False))


def grid_search(pipeline, grid: dict, folds, X: np.ndarray, y: np.ndarray) -> tuple[dict, float]:
    """The setting of ``grid`` with the lowest mean squared error over ``folds``, and that error.

    The same choice as ``GridSearchCV(pipeline, grid, cv=folds, scoring="neg_mean_squared_error")`` (the
    first of equal means in grid order), at a fraction of its cost: the pipeline's preprocessing steps,
    which no setting changes, are fitted once per fold instead of once per fold and setting.
    """
    from sklearn.metrics import mean_squared_error
    from sklearn.model_selection import ParameterGrid

    settings = list(ParameterGrid(grid))
    errors = np.empty((len(settings), folds.get_n_splits()))
    for j, (train, test) in enumerate(folds.split(X)):
        prepare = clone(pipeline[:-1]).fit(X[train], y[train])
        X_train, X_test = prepare.transform(X[train]), prepare.transform(X[test])
        for i, setting in enumerate(settings):
            reg = clone(pipeline[-1]).set_params(**{k.split("__", 1)[1]: v for k, v in setting.items()})
            errors[i, j] = mean_squared_error(y[test], reg.fit(X_train, y[train]).predict(X_test))
    means = errors.mean(axis=1)
    best = int(np.argmin(means))
    return settings[best], float(means[best])


def _channels(records) -> list[str]:
    """Every curve channel some record has, in a fixed order (the usual ones first)."""
    seen = {c for r in records for c, v in r.curve.items() if v is not None and len(v)}
    usual = [c for c in ("accuracy", "loss_mean", "loss_median") if c in seen]
    return usual + sorted(seen - set(usual))

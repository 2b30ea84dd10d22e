"""A zero-cost score (:mod:`naapgnn.models.zero_cost`) as a scikit-learn regressor: it ranks by the score, and
reads accuracies off a line fitted to the training architectures."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from naapgnn.errors import NaapgnnError

__all__ = ["ScoreLine"]


class ScoreLine(RegressorMixin, BaseEstimator):
    """A zero-cost score used as a predictor: it ranks by the raw score.

    ``fit(X, y)`` fits a least-squares line score -> accuracy on ``X``'s only
    column; ``predict`` returns the raw score (what is ranked) and
    ``predict_accuracy`` the line's accuracy (what the MAE reads); ``score`` is the R^2 of the latter.

    Attributes
    ----------
    slope_, intercept_ : float
        The fitted line.
    """

    def fit(self, X, y):
        """Fit the line on the training scores.

        Parameters
        ----------
        X : array-like of shape (n, 1)
            The architectures' scores.
        y : array-like of shape (n,)
            Their final accuracies.

        Returns
        -------
        self
        """
        x, y = self._scores(X), np.asarray(y, dtype=float)
        if y.shape != x.shape:
            raise NaapgnnError(f"ScoreLine: {len(x)} scores but targets of shape {y.shape}")
        self.slope_, self.intercept_ = np.polyfit(x, y, 1)
        return self

    def predict(self, X) -> np.ndarray:
        """The raw scores, of shape (n,)."""
        check_is_fitted(self, "slope_", msg="ScoreLine: not fitted yet (call fit)")
        return self._scores(X)

    def predict_accuracy(self, X) -> np.ndarray:
        """Accuracy read off the fitted line, of shape (n,)."""
        scores = self.predict(X)
        return self.slope_ * scores + self.intercept_

    def score(self, X, y, sample_weight=None) -> float:
        """R^2 of :meth:`predict_accuracy` against ``y`` (the raw scores are on no accuracy's scale)."""
        from sklearn.metrics import r2_score

        return float(r2_score(y, self.predict_accuracy(X), sample_weight=sample_weight))

    @staticmethod
    def _scores(X) -> np.ndarray:
        x = np.asarray(X, dtype=float)
        if x.ndim > 2 or (x.ndim == 2 and x.shape[1] != 1):
            raise NaapgnnError(f"ScoreLine: expected one score per architecture, got an array of shape {x.shape}")
        return x.reshape(-1)

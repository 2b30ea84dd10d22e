"""How the curve gate (:mod:`naapgnn.models.curve_stack`) scores its candidates and picks one.

Each candidate is a list of held-out predictions, one per draw of folds; its score is the mean over the draws of
the mean absolute error and the Kendall tau (:func:`mean_scores`), the two figures a predictor is judged by, and a
challenger replaces the incumbent only with a lower error and a tau not lower (:func:`better_candidate`). Of the
curve mixtures so kept, :func:`better_mixture` takes the highest tau among those whose error is within one standard
error of the lowest.
Not the squared error: there the few runs that diverged to chance accuracy outweigh the order of all the others,
so a model that ranks the trained runs better but misses a diverged one by far loses to one that ranks them worse
(README, "The gate weighs the absolute error"). :mod:`naapgnn.models.blended_forest` weighs its blend by the same
rule on the squared error (:func:`mse_and_tau`), as it did before.
"""
from __future__ import annotations

import numpy as np

from naapgnn.models.kernels import varying_columns

__all__ = ["minimum_records", "better_candidate", "better_mixture", "within_one_standard_error", "highest_tau",
           "mean_of_near", "mse_and_tau", "mae_and_tau", "mean_scores", "target_mixtures", "rescaled_predictions",
           "rescaled_bar", "selection_holds", "varies_in_every_fold", "ridge_regression", "folds", "GroupedFolds"]


def minimum_records(cv: int = 5) -> int:
    """Held-out predictions a stack needs to be cross-validated with ``cv`` folds."""
    return max(10, 2 * cv)


def better_candidate(incumbent, challengers, scores: dict):
    """The challenger of lowest error among those with a lower error than ``incumbent`` and a Kendall tau not
    lower (``scores``: candidate -> (error, tau)); ``incumbent`` if none."""
    kept = _kept(incumbent, challengers, scores)
    return min(kept, key=lambda k: scores[k][0]) if kept else incumbent


def _kept(incumbent, challengers, scores: dict) -> list:
    """The ``challengers`` with a lower error than ``incumbent`` and a Kendall tau not lower, in their order."""
    bar_error, bar_tau = scores[incumbent]
    return [k for k in challengers if scores[k][0] < bar_error and scores[k][1] >= bar_tau]


def better_mixture(incumbent, challengers: dict, scores: dict, y: np.ndarray):
    """Of the challengers :func:`better_candidate` would keep (``challengers``: name -> a held-out prediction in each
    draw), the one of highest Kendall tau among those whose error is within one standard error of the lowest; the
    lower error breaks a tie; ``incumbent`` if none is kept.

    The one-standard-error rule of model selection: an error within one standard error of the lowest (of each
    record's absolute error, averaged over the draws, less that of the lowest's) is one these records cannot tell
    from it, while the order is the figure a search reads. Fresh records of ``scripts/gate_ground_truth.py``'s
    generators: tau +0.0027 where the curve tells the diverged runs, with a lower MAE; +0.0003 on a weak curve; none
    on noise (README, "The highest tau within one standard error")."""
    return highest_tau(within_one_standard_error(incumbent, challengers, scores, y), incumbent, scores)


def highest_tau(near: list, incumbent, scores: dict):
    """Of ``near`` (:func:`within_one_standard_error`), the one of highest Kendall tau, the lower error breaking a
    tie; ``incumbent`` where ``near`` is empty."""
    return max(near, key=lambda k: (scores[k][1], -scores[k][0])) if near else incumbent


def within_one_standard_error(incumbent, challengers: dict, scores: dict, y: np.ndarray) -> list:
    """The challengers :func:`better_candidate` would keep whose error is within one standard error of the lowest
    (of each record's absolute error, averaged over the draws, less that of the lowest's), in their order; empty
    where none is kept. :func:`better_mixture` picks one of them, :func:`mean_of_near` averages them."""
    kept = _kept(incumbent, challengers, scores)
    if not kept:
        return []
    errors = {k: np.mean([np.abs(p - y) for p in challengers[k]], axis=0) for k in kept}
    lowest = errors[min(kept, key=lambda k: scores[k][0])]

    def within(k) -> bool:
        gap = errors[k] - lowest
        return gap.mean() <= gap.std(ddof=1) / np.sqrt(len(gap))

    return [k for k in kept if within(k)]


def mean_of_near(near: list, challengers: dict, bar: tuple, y: np.ndarray) -> "tuple[list, tuple] | None":
    """The held-out predictions of the equal-weight mean of the ``near`` challengers (a list per draw) and its
    score, where there are two or more of them and that mean passes the ``bar`` (error, tau) any challenger must
    pass (a lower error, a Kendall tau not lower); None otherwise.

    Of candidates these records cannot tell apart, the one picked partly won by luck, and another draw of folds or
    of the ensemble's members picks another: their mean moves less between draws and errs less on records no fit
    read (README, "The mean of the candidates within one standard error")."""
    if len(near) < 2:
        return None
    draws = len(challengers[near[0]])
    mean = [np.mean([challengers[k][d] for k in near], axis=0) for d in range(draws)]
    score = mean_scores(mean, y)
    return (mean, score) if score[0] < bar[0] and score[1] >= bar[1] else None


def mse_and_tau(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean squared error and Kendall tau of ``pred`` against ``y``."""
    from scipy.stats import kendalltau

    return float(np.mean((pred - y) ** 2)), float(kendalltau(pred, y)[0])


def mae_and_tau(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean absolute error and Kendall tau of ``pred`` against ``y``."""
    from scipy.stats import kendalltau

    return float(np.mean(np.abs(pred - y))), float(kendalltau(pred, y)[0])


def mean_scores(preds: list, y: np.ndarray) -> tuple[float, float]:
    """:func:`mae_and_tau` of each draw's held-out predictions, averaged over the draws."""
    mae, tau = np.mean([mae_and_tau(p, y) for p in preds], axis=0)
    return float(mae), float(tau)


def target_mixtures(alone: list, base: list, y: np.ndarray, draws, weights) -> dict:
    """``w`` -> held-out ``w * model + (1 - w) * base`` in each draw, for the ``weights`` at which that
    errs less, in absolute error, than ``w * c + (1 - w) * base``, ``c`` the median of each fold's training part
    (the constant of least absolute error): a share of any model that says little shrinks ``base`` toward a
    constant, which lowers the error of a prediction spread wider than the target whatever the model reads.

    Absolute error, the measure the gate scores its candidates by, not squared: where a tenth of the targets
    diverged to chance and nothing read can tell which, a robust model that predicts the others closely errs
    more, squared, than the mean pulled toward the diverged ones, and a squared test shuts it out, while by
    absolute error it halves the error (README, "A robust model shut out by the squared test")."""
    constants = [np.empty(len(y)) for _ in draws]
    for constant, folds in zip(constants, draws):
        for train, test in folds.split(y):
            constant[test] = np.median(y[train])
    out = {}
    for w in weights:
        mixed = [w * a + (1 - w) * b for a, b in zip(alone, base)]
        if _absolute_error(mixed, y) < _absolute_error([w * c + (1 - w) * b for c, b in zip(constants, base)], y):
            out[w] = mixed
    return out


def _absolute_error(preds: list, y: np.ndarray) -> float:
    """The mean absolute error of each draw's held-out predictions, averaged over the draws."""
    return float(np.mean([np.mean(np.abs(p - y)) for p in preds]))


def rescaled_predictions(held_out: list, y: np.ndarray, draws) -> list:
    """The linear rescaling of ``held_out`` (a prediction in each draw): :func:`ridge_regression` on it alone,
    cross-validated on that draw's folds."""
    from sklearn.model_selection import cross_val_predict

    return [cross_val_predict(ridge_regression(), p[:, None], y, cv=f) for p, f in zip(held_out, draws)]


def rescaled_bar(held_out: list, rescaled: list, y: np.ndarray) -> tuple[float, float]:
    """The error to beat for a model that reads ``held_out`` or is mixed with it: the lower of its own and that of
    its linear rescaling (``rescaled``, of :func:`rescaled_predictions`), with its own tau."""
    mae, tau = mean_scores(held_out, y)
    return min(mae, mean_scores(rescaled, y)[0]), tau


def selection_holds(challengers: dict, held_out: list, rescaled: list, y: np.ndarray, draws) -> bool:
    """Whether picking among ``challengers`` (name -> a held-out prediction in each draw) by
    :func:`better_mixture`, against ``held_out`` and its ``rescaled`` bar, still wins on records the pick did not
    read. In each draw's folds the pick is made on the others' records and read on the fold's: over all folds its
    error must be lower than the bar's, and its Kendall tau within each fold, on average, not lower than that of
    ``held_out`` (within a fold, as picks differ between folds). The best of a dozen candidates wins on the records
    it was picked on partly by luck; this asks the same of the rule that picked it. What the ``check_picks``
    ablation of :func:`naapgnn.models.curve_stack.fit_gated_stack` reads; off by default, as on fresh records of
    synthetic generators it struck real gains more often than lucky ones (``scripts/gate_ground_truth.py``)."""
    errors, taus = [], []
    for r, (base, scaled, pick_folds) in enumerate(zip(held_out, rescaled, draws)):
        out = base.copy()
        for fit, check in pick_folds.split(y):
            picked_on = {name: [preds[r][fit]] for name, preds in challengers.items()}
            scores = {name: mae_and_tau(preds[0], y[fit]) for name, preds in picked_on.items()}
            scores[None] = rescaled_bar([base[fit]], [scaled[fit]], y[fit])
            name = better_mixture(None, picked_on, scores, y[fit])
            if name is not None:
                out[check] = challengers[name][r][check]
            taus.append(mae_and_tau(out[check], y[check])[1] - mae_and_tau(base[check], y[check])[1])
        errors.append(np.mean(np.abs(out - y)))
    return float(np.mean(errors)) < rescaled_bar(held_out, rescaled, y)[0] and float(np.mean(taus)) >= 0


def varies_in_every_fold(columns: np.ndarray, draws) -> bool:
    """Whether some column varies in every fold's training part (or a kernel would read no column)."""
    return all(varying_columns(columns[train]) for folds in draws for train, _ in folds.split(columns))


def ridge_regression():
    """A ridge regression, alpha by its own leave-one-out cross-validation."""
    from sklearn.linear_model import RidgeCV

    return RidgeCV(alphas=np.logspace(-3, 3, 13))


def folds(cv: int, random_state: int, groups: np.ndarray | None = None):
    """Shuffled ``cv``-fold splits, seeded; with ``groups`` where some group has two rows, :class:`GroupedFolds`."""
    from sklearn.model_selection import KFold

    if groups is None or len(np.unique(groups)) == len(groups):
        return KFold(cv, shuffle=True, random_state=random_state)
    return GroupedFolds(cv, random_state, groups)


class GroupedFolds:
    """``cv`` folds of whole groups (a configuration's runs), the groups shuffled by ``random_state``: held out
    together, so that no held-out prediction was fitted on a twin of its own record (a cross-validation splitter,
    its ``groups`` fixed, as scikit-learn's ``cv`` arguments take one)."""

    def __init__(self, cv: int, random_state: int, groups: np.ndarray):
        self.cv, self.random_state, self.groups = cv, random_state, np.asarray(groups)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.cv

    def split(self, X=None, y=None, groups=None):
        ids = np.unique(self.groups)
        for part in np.array_split(np.random.default_rng(self.random_state).permutation(ids), self.cv):
            test = np.isin(self.groups, part)
            yield np.flatnonzero(~test), np.flatnonzero(test)

    def subset(self, rows: np.ndarray) -> "GroupedFolds":
        """The same splitter over ``rows`` of the data only."""
        return GroupedFolds(self.cv, self.random_state, self.groups[rows])

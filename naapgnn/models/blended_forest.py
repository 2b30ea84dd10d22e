"""The random forest blended into :class:`naapgnn.models.gnn.GNNPredictor`'s graph prediction.

With ``blend_forest = b > 0`` the graph prediction is ``(1 - b) * GNN + b * forest``. Two forests
(``forest``):

* ``"statistics"`` (the default): scikit-learn's random forest on each network's statistics
  (:mod:`naapgnn.graph.statistics`: size, depth, counts of each op, and how its input-to-classifier
  paths are made) and its numeric hyperparameters. It reads any network the encoding reads, and
  errs differently from the graph network: it sees the whole network at once where message passing
  sees a few hops, and it splits where the network smooths;
* ``"per_layer"``: :class:`naapgnn.models.forest.PerLayerForest` on the per-block description
  (with ``forest_curve``, also the cycle curve features), NaN for a network deeper than it reads.

The forest's out-of-bag predictions stand for its held-out ones in the curve stack and the calibration
(NaN for a record every tree trained on, which then reads the GNN alone there). Where a configuration has several
records (seeds), a record's are the trees' whose bag holds none of them: a tree that trained on a twin predicts it
almost exactly, and the blend and the gate would lean on the forest for it.

The share ``b`` is ``blend_forest`` unless, with ``choose_blend``, another of :data:`BLEND_SHARES` blends the
members' held-out predictions and the forest's out-of-bag ones with a lower squared error and a Kendall
tau not lower on the training records (the curve gate's rule, :func:`naapgnn.models.gate_rules.better_candidate`).
Where the forest knows as much as the graph network (a few hundred networks of NAS-Bench-201), a larger
share pays; where the network knows more, the default stays. The held-out GNN prediction comes from one
member where a new record's averages them all, so the choice leans to the forest: hence the default is
the incumbent and must be beaten on both scores.
"""
from __future__ import annotations

import numpy as np

from naapgnn.models.inputs import FOREST_KINDS

__all__ = ["FOREST_KINDS", "BLEND_SHARES", "ForestMixin"]

BLEND_SHARES = (0.0, 0.25, 0.5, 0.75)  # the shares ``choose_blend`` weighs against ``blend_forest``


class ForestMixin:
    """Fit and apply the blended forest; the estimator provides ``blend_forest``, ``forest``,
    ``forest_curve``, ``forest_trees``, ``budget`` and, fitted, ``forest_``."""

    def _fit_forest(self, records, y: np.ndarray, graphs, hparams: np.ndarray, seed: int,
                    statistics: np.ndarray | None = None, *, groups: np.ndarray | None):
        """The fitted forest (None when ``blend_forest`` is 0); ``graphs``: the records' unstandardised batch,
        ``hparams``: their hyperparameters (missing values filled), ``statistics``: the graphs'
        :func:`~naapgnn.graph.statistics.graph_statistics`, when already computed; ``groups``: the records'
        :func:`~naapgnn.data.configurations.held_out_groups` (the out-of-bag predictions keep a configuration out)."""
        if float(self.blend_forest) <= 0:
            return None
        if self.forest == "per_layer":
            from naapgnn.models.forest import PerLayerForest

            return PerLayerForest(budget=int(self.budget), curve=bool(self.forest_curve),
                                  n_estimators=int(self.forest_trees), random_state=seed).fit(records, y)
        import warnings

        from sklearn.ensemble import RandomForestRegressor

        forest = RandomForestRegressor(n_estimators=int(self.forest_trees), oob_score=True, random_state=seed, n_jobs=1)
        inputs = self._forest_inputs(graphs, hparams, statistics)
        with warnings.catch_warnings():  # a few trees leave some records in every bag: handled below
            warnings.filterwarnings("ignore", message="Some inputs do not have OOB scores", category=UserWarning)
            forest.fit(inputs, y)
        if groups is None:
            forest.oob_prediction_ = np.where(_out_of_bag(forest, len(y)), forest.oob_prediction_, np.nan)
        else:
            forest.oob_prediction_ = _out_of_group_bag(forest, inputs, groups)
        return forest

    def _forest_inputs(self, graphs, hparams: np.ndarray, statistics: np.ndarray | None = None) -> np.ndarray:
        statistics = self._statistics(graphs) if statistics is None else statistics
        return np.hstack([statistics, np.asarray(hparams, dtype=float).reshape(graphs.num_graphs, -1)])

    def _choose_share(self, y: np.ndarray) -> tuple[float, dict]:
        """The share blended and the held-out ``{share: (mse, tau)}`` it was chosen on (empty when not chosen:
        no forest, ``choose_blend`` off or too few held-out predictions)."""
        from naapgnn.models.applicability import blend
        from naapgnn.models.gate_rules import better_candidate, minimum_records, mse_and_tau

        share = float(self.blend_forest)
        rows = np.isfinite(self.oof_prediction_)
        if self.forest_ is None or not self.choose_blend or rows.sum() < minimum_records():
            return share, {}
        gnn, forest = self.oof_prediction_[rows], self.forest_.oob_prediction_[rows]
        scores = {b: mse_and_tau(blend(gnn, np.zeros(len(gnn)), forest, b)[0], y[rows])
                  for b in sorted({share, *BLEND_SHARES})}
        return float(better_candidate(share, [b for b in scores if b != share], scores)), scores

    def _forest_prediction(self, records, graphs, hparams: np.ndarray, statistics: np.ndarray | None = None):
        """The blended forest's prediction of ``records`` (None without a forest); ``statistics``: the
        graphs' :func:`~naapgnn.graph.statistics.graph_statistics`, when already computed."""
        if self.forest_ is None:
            return None
        if self.forest == "per_layer":
            return self.forest_.predict_readable(records)
        return self.forest_.predict(self._forest_inputs(graphs, hparams, statistics))


def _out_of_group_bag(forest, X: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each record's mean prediction by the trees whose bag holds no record of its configuration (NaN where every
    tree's does): scikit-learn's out-of-bag prediction of a record is made by trees that trained on its twins."""
    total, count = np.zeros(len(groups)), np.zeros(len(groups))
    for tree, in_bag in zip(forest.estimators_, forest.estimators_samples_):
        out = ~np.isin(groups, np.unique(groups[in_bag]))
        if out.any():
            total[out] += tree.predict(X[out].astype(np.float32))
            count[out] += 1
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _out_of_bag(forest, n: int) -> np.ndarray:
    """Which of the ``n`` training records some tree did not train on (scikit-learn gives the others an
    out-of-bag prediction of 0; they get NaN instead, so the blend reads the GNN alone for them)."""
    left_out = np.zeros(n, dtype=bool)
    for in_bag in forest.estimators_samples_:
        left_out |= np.bincount(in_bag, minlength=n) == 0
    return left_out

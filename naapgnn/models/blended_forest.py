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
(NaN for a record every tree trained on, which then reads the GNN alone there).
"""
from __future__ import annotations

import numpy as np

from naapgnn.models.inputs import FOREST_KINDS

__all__ = ["FOREST_KINDS", "ForestMixin"]


class ForestMixin:
    """Fit and apply the blended forest; the estimator provides ``blend_forest``, ``forest``,
    ``forest_curve``, ``forest_trees``, ``budget`` and, fitted, ``forest_``."""

    def _fit_forest(self, records, y: np.ndarray, graphs, hparams: np.ndarray, seed: int):
        """The fitted forest (None when ``blend_forest`` is 0); ``graphs``: the records' unstandardised batch,
        ``hparams``: their hyperparameters (missing values filled)."""
        if float(self.blend_forest) <= 0:
            return None
        if self.forest == "per_layer":
            from naapgnn.models.forest import PerLayerForest

            return PerLayerForest(budget=int(self.budget), curve=bool(self.forest_curve),
                                  n_estimators=int(self.forest_trees), random_state=seed).fit(records, y)
        import warnings

        from sklearn.ensemble import RandomForestRegressor

        forest = RandomForestRegressor(n_estimators=int(self.forest_trees), oob_score=True, random_state=seed, n_jobs=1)
        with warnings.catch_warnings():  # a few trees leave some records in every bag: handled below
            warnings.filterwarnings("ignore", message="Some inputs do not have OOB scores", category=UserWarning)
            forest.fit(_forest_inputs(graphs, hparams), y)
        forest.oob_prediction_ = np.where(_out_of_bag(forest, len(y)), forest.oob_prediction_, np.nan)
        return forest

    def _forest_prediction(self, records, graphs, hparams: np.ndarray, statistics: np.ndarray | None = None):
        """The blended forest's prediction of ``records`` (None without a forest); ``statistics``: the
        graphs' :func:`~naapgnn.graph.statistics.graph_statistics`, when already computed."""
        if self.forest_ is None:
            return None
        if self.forest == "per_layer":
            return self.forest_.predict_readable(records)
        return self.forest_.predict(_forest_inputs(graphs, hparams, statistics))


def _out_of_bag(forest, n: int) -> np.ndarray:
    """Which of the ``n`` training records some tree did not train on (scikit-learn gives the others an
    out-of-bag prediction of 0; they get NaN instead, so the blend reads the GNN alone for them)."""
    left_out = np.zeros(n, dtype=bool)
    for in_bag in forest.estimators_samples_:
        left_out |= np.bincount(in_bag, minlength=n) == 0
    return left_out


def _forest_inputs(graphs, hparams: np.ndarray, statistics: np.ndarray | None = None) -> np.ndarray:
    from naapgnn.graph.statistics import graph_statistics

    statistics = graph_statistics(graphs) if statistics is None else statistics
    return np.hstack([statistics, np.asarray(hparams, dtype=float).reshape(graphs.num_graphs, -1)])

"""Baseline predictors of final accuracy, for comparison with naapgnn's GNN.

* :mod:`baselines.paper` - the NAAP-440 paper's 24 scikit-learn regressors,
  with its names, hyperparameters and feature sets.
* :mod:`naapgnn.models.forest` - :class:`PerLayerForest`, a random forest on
  per-layer architecture features (optionally stacked with cycle-aligned
  curve features), the strong non-graph baseline.
* :mod:`baselines.baker` - :class:`BakerPredictor`, Baker et al. 2018's
  nu-SVR (or random forest) on architecture, hyperparameters and the first k
  curve values with their differences, tuned by cross-validation inside the
  training data (registry keys ``baker``, ``baker_rf``).
* :mod:`baselines.registry` - puts them in naapgnn's predictor registry
  (entry point ``naapgnn.predictors``; naapgnn never imports this package).
* :mod:`baselines.runner` - runs any of them under an evaluation protocol
  (the paper's official split with five seeds, or the sturdier repeated,
  k-fold and extrapolation protocols) through naapgnn's engine and
  tabulates the results.
* :mod:`baselines.legacy` - the paper's software stack's tie orders (numpy
  1.x sorting, scikit-learn 1.0 k-NN), needed to reproduce its table exactly.

The command ``naapgnn baselines`` drives all of this.
"""
from baselines.baker import BakerPredictor
from baselines.paper import PAPER_MODELS, SEEDS, PowerOutputRegression
from naapgnn.models.forest import PerLayerForest

__all__ = ["BakerPredictor", "PAPER_MODELS", "SEEDS", "PowerOutputRegression", "PerLayerForest"]

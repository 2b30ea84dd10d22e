"""The paper's regressors in naapgnn's predictor registry (entry point ``naapgnn.predictors``).

Keys: ``paper:<model name>`` for each of the 24 (label ``"<name>, paper
features"``), ``paper_gb100`` and ``paper_rf200`` (the paper's best rows), and
``per_layer_forest`` / ``per_layer_forest+cycle`` (the per-layer forests under
their ``naapgnn baselines`` names, at every budget), ``baker`` and ``baker_rf``
(:class:`baselines.baker.BakerPredictor`: Baker et al. 2018's nu-SVR and random
forest on architecture, hyperparameters and curve values with their differences),
``onehot_ops`` and ``onehot_ops_gbm`` (:class:`baselines.onehot.OneHotOpsRegressor`: a random
forest, or gradient boosting, on the one-hot of a NAS-Bench-201 cell's 6 edge ops; budget 0).
"""
from __future__ import annotations

import numpy as np

from baselines.paper import PAPER_MODELS, PaperRegressor, paper_features

PER_LAYER = "Per-layer Random Forest"
PER_LAYER_CYCLE = "Per-layer Random Forest + cycle"
BAKER_SVR = "Baker et al. nu-SVR"
BAKER_RF = "Baker et al. Random Forest"
BAKER_KEYS = {BAKER_SVR: "baker", BAKER_RF: "baker_rf"}
ONEHOT_RF = "One-hot ops Random Forest"
ONEHOT_GBM = "One-hot ops Gradient Boosting"
SHORT_KEYS = {"paper_gb100": "Gradient Boosting (N=100)", "paper_rf200": "Random Forest (N=200)"}


def paper_key(name: str) -> str:
    """The registry key of a row of ``naapgnn baselines`` (a paper model or a per-layer forest)."""
    keys = {PER_LAYER: "per_layer_forest", PER_LAYER_CYCLE: "per_layer_forest+cycle", **BAKER_KEYS}
    return keys.get(name, f"paper:{name}")


def paper_table(bench, budget):
    """The paper's features of every row, as a float array (scaled per fit by :class:`PaperRegressor`)."""
    return np.ascontiguousarray(paper_features(bench.table, budget).to_numpy(dtype=float))


def _paper(name: str):
    def make(budget, random_state, **params):
        return PaperRegressor(model=name, random_state=random_state, **params)

    return make


def _baker(model: str):
    def make(budget, random_state, **params):
        from baselines.baker import BakerPredictor

        return BakerPredictor(budget=budget, model=model, random_state=random_state, **params)

    return make


def _onehot(model: str):
    def make(budget, random_state, **params):
        from baselines.onehot import OneHotOpsRegressor

        return OneHotOpsRegressor(model=model, random_state=random_state, **params)

    return make


def onehot_table(bench, budget):
    """The one-hot of the cell ops of every row (NAS-Bench-201 networks only)."""
    from baselines.onehot import onehot_features

    return onehot_features(bench.records, file=bench.file)


def register_all(register) -> None:
    """Add every baseline to the registry (called through the entry point)."""
    from naapgnn.features.tabular import CYCLE_LENGTH
    from naapgnn.models.registry import (CYCLE_CHANNELS, PAPER_CHANNELS, Entry, forest_factory, per_layer_cycle_table,
                                         per_layer_table)

    for name in PAPER_MODELS:
        register(Entry(f"paper:{name}", f"{name}, paper features", "baseline", _paper(name), featurize=paper_table,
                       config={"baseline": name}, channels=PAPER_CHANNELS))
    for key, name in SHORT_KEYS.items():
        register(Entry(key, f"{name}, paper features", "baseline", _paper(name), featurize=paper_table,
                       config={"baseline": name}, channels=PAPER_CHANNELS))
    register(Entry("per_layer_forest", PER_LAYER, "baseline", forest_factory(False), featurize=per_layer_table,
                   has_std=True, config={"baseline": PER_LAYER}))
    register(Entry("per_layer_forest+cycle", PER_LAYER_CYCLE, "baseline", forest_factory(True),
                   featurize=per_layer_cycle_table, min_budget=1, has_std=True, config={"baseline": PER_LAYER_CYCLE},
                   channels=CYCLE_CHANNELS, cycle=CYCLE_LENGTH))
    for name, model in ((BAKER_SVR, "svr"), (BAKER_RF, "rf")):
        # version 2: columns constant in the training data dropped (and so out of gamma's unit); 3: the grid search's
        # folds keep a configuration's records together where configurations repeat
        register(Entry(BAKER_KEYS[name], name, "baseline", _baker(model), has_std=True,
                       config={"baseline": name, "version": 3}))
    for key, label, model in (("onehot_ops", ONEHOT_RF, "rf"), ("onehot_ops_gbm", ONEHOT_GBM, "gbm")):
        register(Entry(key, label, "baseline", _onehot(model), featurize=onehot_table, max_budget=0,
                       has_std=model == "rf", config={"baseline": label, "version": 1}, nb201_cells=True))

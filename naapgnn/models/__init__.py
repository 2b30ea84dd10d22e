"""Predictors: the GNN network and estimator, the per-layer forest, curve heuristics, zero-cost scores."""

"""Predictors: the GNN network and estimator, the per-layer forest, curve heuristics, zero-cost scores.

The estimators are importable from here (``from naapgnn.models import GNNPredictor``), each loaded when first
named, so importing one module of this package does not load torch for the others.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "GNNPredictor": "naapgnn.models.gnn",
    "PerLayerForest": "naapgnn.models.forest",
    "CurveHeuristic": "naapgnn.models.heuristics",
    "ScoreLine": "naapgnn.models.score_line",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'naapgnn.models' has no attribute {name!r}")

"""Baker et al. 2018's architecture statistics: a few numbers per network.

Log parameters, log MACs, depth, conv layers, stride-2 stages, residual
convs, log widest conv, and the number of layers of each op type, profiled
from the architecture as Baker et al.'s predictor (``baselines/baker.py``)
reads them. The GNN's stack reads the same kind of numbers off the graph
encoding it has already built (:mod:`naapgnn.graph.statistics`), which costs
no second profiling pass.
"""
from __future__ import annotations

import numpy as np

__all__ = ["ARCHITECTURE_FEATURES", "architecture_feature_names", "architecture_features"]

ARCHITECTURE_FEATURES = ("log_params", "log_macs", "depth", "conv_layers", "stages", "residual_convs",
                         "log_max_width")


def architecture_feature_names() -> list[str]:
    """Names of :func:`architecture_features` columns, in order."""
    from naapgnn.arch.format import OPS

    return list(ARCHITECTURE_FEATURES) + [f"num_{op}" for op in OPS]


def _row(arch) -> list[float]:
    from naapgnn.arch.format import OPS
    from naapgnn.arch.profiling import architecture_statistics

    s = architecture_statistics(arch)
    row = [np.log(max(s["NumParams"], 1)), np.log(max(s["NumMACs"], 1)), s["Depth"], s["NumLayers"], s["NumStages"],
           s["NumSkipConnections"], np.log(max(s["MaxLayerWidth"], 1))]
    return row + [sum(layer.op == op for layer in arch.layers) for op in OPS]


def architecture_features(archs) -> np.ndarray:
    """One row of :func:`architecture_feature_names` per architecture (parsed :class:`Architecture`)."""
    rows = [_row(a) for a in archs]
    return np.asarray(rows, dtype=float).reshape(len(rows), len(architecture_feature_names()))

"""naapgnn: predict final accuracy of CNN architectures from their graph and early training curve.

Data flows one way through the modules:

* :mod:`naapgnn.arch`      - the architecture format (parse and validate)
* :mod:`naapgnn.space`     - the NAAP-440 search space, enumerated from its rules
* :mod:`naapgnn.builder`   - the model builder (``nn.Module`` from an architecture)
* :mod:`naapgnn.profiling` - parameter and MAC counts
* :mod:`naapgnn.encoding`  - the graph encoding for PyTorch Geometric
* :mod:`naapgnn.data`      - the NAAP-440 dataset (local path, cache or checksummed download)
* :mod:`naapgnn.benchmark` - benchmark records (NAAP-440 or JSON Lines)
* :mod:`naapgnn.features`  - tabular features shared by baselines and predictors
* :mod:`naapgnn.metrics`   - MAE, violations, rank correlations, top-k
* :mod:`naapgnn.gnn`       - the GNN predictor
* :mod:`naapgnn.zero_cost` - zero-training scores (NASWOT, synflow)
* :mod:`naapgnn.trainer`   - the companion CIFAR-10 trainer
* :mod:`naapgnn.cli`       - the command-line interface
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "parse_architecture": "naapgnn.arch",
    "load_architecture": "naapgnn.arch",
    "Architecture": "naapgnn.arch",
    "naap440_search_space": "naapgnn.space",
    "build_model": "naapgnn.builder",
    "profile": "naapgnn.profiling",
    "encode": "naapgnn.encoding",
    "load_naap440": "naapgnn.data",
    "load_benchmark": "naapgnn.benchmark",
    "Record": "naapgnn.benchmark",
    "GNNPredictor": "naapgnn.gnn",
    "NaapgnnError": "naapgnn.errors",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    # Lazy so that ``import naapgnn`` (and ``naapgnn --help``) does not pay for torch.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'naapgnn' has no attribute {name!r}")

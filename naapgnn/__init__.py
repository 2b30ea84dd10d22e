"""naapgnn: predict final accuracy of CNN architectures from their graph and early training curve.

Data flows one way through the modules:

* :mod:`naapgnn.arch.format`      - the architecture format (parse and validate)
* :mod:`naapgnn.arch.space`     - the NAAP-440 search space, enumerated from its rules
* :mod:`naapgnn.arch.builder`   - the model builder (``nn.Module`` from an architecture)
* :mod:`naapgnn.arch.profiling` - parameter and MAC counts
* :mod:`naapgnn.graph.encoding`  - the graph encoding for PyTorch Geometric
* :mod:`naapgnn.data.naap440`      - the NAAP-440 dataset (local path, cache or checksummed download)
* :mod:`naapgnn.data.records` - benchmark records (NAAP-440 or JSON Lines)
* :mod:`naapgnn.features.tabular`  - tabular features shared by baselines and predictors
* :mod:`naapgnn.evaluation.metrics`   - MAE, violations, rank correlations, top-k
* :mod:`naapgnn.models.network`       - the GNN predictor
* :mod:`naapgnn.models.zero_cost` - zero-training scores (NASWOT, synflow)
* :mod:`naapgnn.trainer.training`   - the companion CIFAR-10 trainer
* :mod:`naapgnn.cli`       - the command-line interface
"""
from __future__ import annotations

import importlib
import warnings

__version__ = "0.1.0"

# importing torch_geometric calls the deprecated torch.jit.script; the notice is nothing a naapgnn user can act on
warnings.filterwarnings("ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning)

_LAZY = {
    "parse_architecture": "naapgnn.arch.format",
    "load_architecture": "naapgnn.arch.format",
    "Architecture": "naapgnn.arch.format",
    "naap440_search_space": "naapgnn.arch.space",
    "build_model": "naapgnn.arch.builder",
    "profile": "naapgnn.arch.profiling",
    "encode": "naapgnn.graph.encoding",
    "load_naap440": "naapgnn.data.naap440",
    "load_benchmark": "naapgnn.data.records",
    "Record": "naapgnn.data.records",
    "GNNPredictor": "naapgnn.models.gnn",
    "NaapgnnError": "naapgnn.errors",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    # Lazy so that ``import naapgnn`` (and ``naapgnn --help``) does not pay for torch.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'naapgnn' has no attribute {name!r}")

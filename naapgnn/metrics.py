"""The metrics at the import path issue 3 gave them, ``naapgnn.metrics`` (MAE, the paper's violations, Kendall tau,
Spearman, precision and regret at k); they live in :mod:`naapgnn.evaluation.metrics`, where issue 11's one-way
layout put them, and this module names the same functions."""
from naapgnn.evaluation import metrics as _source

__all__ = list(_source.__all__)
globals().update({name: getattr(_source, name) for name in __all__})

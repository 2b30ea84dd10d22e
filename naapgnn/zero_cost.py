"""The zero-cost scores at the import path issue 5 gave them, ``naapgnn.zero_cost`` (``naswot(model, images)``,
``synflow``, ``score_architectures``, ...); they live in :mod:`naapgnn.models.zero_cost`, where issue 11's one-way
layout put them, and this module names the same functions."""
from naapgnn.models import zero_cost as _source

__all__ = list(_source.__all__)
globals().update({name: getattr(_source, name) for name in __all__})

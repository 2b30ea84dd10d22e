"""The zero-cost scores at the import path issue 5 gave them, ``naapgnn.zero_cost`` (``naswot(model, images)``,
``synflow``, ``score_architectures``, ...); they live in :mod:`naapgnn.models.zero_cost`, where issue 11's one-way
layout put them, and this module names the same functions."""
from naapgnn.models.zero_cost import *  # noqa: F401,F403
from naapgnn.models.zero_cost import __all__  # noqa: F401

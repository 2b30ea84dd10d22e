"""Option parsers shared by the commands and scripts (one place for each)."""
from __future__ import annotations

import json

from naapgnn.errors import NaapgnnError

RUN_SETTINGS = ("budget", "random_state", "device", "n_threads", "progress")
"""GNNPredictor arguments that a command sets itself, never through ``--params``."""


def parse_params(text: str | None, option: str = "--params") -> dict:
    """A JSON object of GNNPredictor hyperparameters, checked against its signature.

    Raises :class:`NaapgnnError` with one line naming the option and the problem
    (invalid JSON and its column, not an object, an unknown or a run-level key).
    """
    from naapgnn.models.gnn import GNNPredictor

    if not text:
        return {}
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NaapgnnError(f"{option}: invalid JSON at column {exc.colno}: {exc.msg}") from None
    if not isinstance(params, dict):
        raise NaapgnnError(f"{option}: expected a JSON object of GNNPredictor hyperparameters")
    for key in RUN_SETTINGS:
        if key in params:
            raise NaapgnnError(f"{option}: {key!r} is set by the command itself, not through {option}")
    known = set(GNNPredictor().get_params()) - set(RUN_SETTINGS)
    unknown = sorted(set(params) - known)
    if unknown:
        raise NaapgnnError(f"{option}: unknown hyperparameter {unknown[0]!r} (known: {', '.join(sorted(known))})")
    return params

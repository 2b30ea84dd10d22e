"""The words of a name a user gives a curve channel or a hyperparameter: one splitter for every rule that reads
names (lower-is-better channels, learning rates, seeds)."""
from __future__ import annotations

import re

__all__ = ["name_words", "close_name"]

_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def name_words(name: str) -> list[str]:
    """The lower-case words of ``name``, split at non-letters, camelCase, ALLCaps runs and digits
    (``valErr``: val, err; ``PRNGSeed``: prng, seed; ``top5_acc``: top, 5, acc)."""
    return [w.lower() for w in _WORD.findall(name)]


def close_name(name: str, candidates) -> str | None:
    """The one of ``candidates`` that reads as ``name`` misspelt (``validation_acuracy`` for ``validation_accuracy``),
    or None: one threshold for every message that names a likely typo."""
    import difflib

    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.8)
    return close[0] if close else None

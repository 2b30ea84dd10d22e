"""The words of a name a user gives a curve channel or a hyperparameter: one splitter for every rule that reads
names (lower-is-better channels, learning rates, seeds)."""
from __future__ import annotations

import re

__all__ = ["name_words"]

_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def name_words(name: str) -> list[str]:
    """The lower-case words of ``name``, split at non-letters, camelCase, ALLCaps runs and digits
    (``valErr``: val, err; ``PRNGSeed``: prng, seed; ``top5_acc``: top, 5, acc)."""
    return [w.lower() for w in _WORD.findall(name)]

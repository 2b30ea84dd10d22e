"""A short digest of a benchmark's records: what caches and resume logs key their work on."""
from __future__ import annotations

import hashlib
import json
from typing import Sequence

import numpy as np

__all__ = ["records_digest", "training_digest"]


def records_digest(records: Sequence, y, is_test) -> str:
    """16 hex digits of a sha256 over the records' ids, architectures, hyperparameters and curves, their targets
    ``y`` and test flags ``is_test``: equal for the same data, whatever object holds it."""
    digest = hashlib.sha256()
    digest.update(json.dumps([[r.id, r.arch.to_dict(), r.hparams] for r in records], sort_keys=True,
                             default=str).encode())
    digest.update(np.ascontiguousarray(y, dtype=float).tobytes())
    digest.update(np.ascontiguousarray(is_test, dtype=bool).tobytes())
    for r in records:
        for channel in sorted(r.curve):
            digest.update(channel.encode())
            digest.update(np.ascontiguousarray(r.curve[channel], dtype=float).tobytes())
    return digest.hexdigest()[:16]


def training_digest(records: Sequence, y) -> str:
    """16 hex digits of a sha256 over the records' ids and architectures, in order, and their targets ``y``: what a
    model fitted on them checks when it is handed its training data again (its curves may be read at another
    budget, so they are left out)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([[r.id, r.arch.to_dict()] for r in records], sort_keys=True, default=str).encode())
    digest.update(np.ascontiguousarray(y, dtype=float).tobytes())
    return digest.hexdigest()[:16]

"""Records that are runs of one configuration: the same architecture and the same hyperparameters.

A benchmark may list every seed of a run, or a run twice (the deep ResNets'
CSV holds 51 configurations more than once). A record whose twin lies on the
other side of a split is predicted from what is in effect itself, so every
split and cross-validation fold keeps a configuration's records together:
the evaluation's splits (:mod:`naapgnn.evaluation.protocols`), the GNN's
held-out members and curve stack, Baker's grid search.
"""
from __future__ import annotations

import json
from typing import Sequence

import numpy as np

from naapgnn.data.hparams import hparams_to_json

__all__ = ["configuration_groups", "group_folds"]


def configuration_groups(records: Sequence) -> np.ndarray | None:
    """Per record, the index of its configuration (architecture and hyperparameters), when some configuration
    has more than one record; None when every record is its own (then nothing needs grouping)."""
    keys = [json.dumps([r.arch.to_dict(), hparams_to_json(r.hparams)], sort_keys=True) for r in records]
    _, first, index = np.unique(keys, return_index=True, return_inverse=True)
    return index.astype(np.int64) if len(first) < len(keys) else None


def group_folds(n: int, n_folds: int, random_state: int, groups: np.ndarray | None = None) -> list:
    """Seeded, shuffled K-fold ``(train, test)`` pairs over ``n`` rows; with ``groups`` (and at least
    ``n_folds`` of them) a group's rows share a fold (scikit-learn's ``GroupKFold``), else plain ``KFold``."""
    from sklearn.model_selection import GroupKFold, KFold

    rows = np.zeros(n)
    if groups is not None and len(np.unique(groups)) >= n_folds:
        return list(GroupKFold(n_folds, shuffle=True, random_state=random_state).split(rows, groups=groups))
    return list(KFold(n_folds, shuffle=True, random_state=random_state).split(rows))

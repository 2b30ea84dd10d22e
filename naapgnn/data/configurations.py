"""Records that are runs of one configuration: the same architecture and the same hyperparameters (a seed among
them aside: :func:`naapgnn.data.hparams.is_seed`).

A benchmark may list every seed of a run, or a run twice (the deep ResNets'
CSV holds 51 configurations more than once). A record whose twin lies on the
other side of a split is predicted from what is in effect itself, so the
evaluation's splits keep a configuration's records together
(:mod:`naapgnn.evaluation.protocols`, :attr:`naapgnn.evaluation.benchmark.Benchmark.groups`).
"""
from __future__ import annotations

import hashlib
import json
from typing import Sequence

import numpy as np

from naapgnn.data.channels import SCHEDULE_CHANNEL
from naapgnn.data.hparams import hparams_to_json, is_seed

__all__ = ["configuration_groups", "held_out_groups", "configuration_keys", "identical_records", "MIN_HELD_OUT_GROUPS"]

MIN_HELD_OUT_GROUPS = 10  # configurations a fit needs to hold its records out by configuration


def configuration_groups(records: Sequence) -> np.ndarray | None:
    """Per record, the index of its configuration (architecture and hyperparameters, with the peak of an ``lr``
    channel: a recipe that logs its learning rate per epoch gives it there), when some configuration has more than
    one record; None when every record is its own (then nothing needs grouping)."""
    keys = _configurations(records)  # numbered in the order of these texts: the evaluation's splits depend on it
    _, first, index = np.unique(keys, return_index=True, return_inverse=True)
    return index.astype(np.int64) if len(first) < len(keys) else None


def held_out_groups(records: Sequence) -> np.ndarray | None:
    """:func:`configuration_groups` where a fit holds records out by configuration (a configuration's runs together,
    so that no held-out prediction comes from a model fitted on a twin): where some configuration repeats and there
    are at least :data:`MIN_HELD_OUT_GROUPS` of them; None otherwise (records held out one by one: with fewer
    configurations a grouped hold-out leaves too few to fit on or to score)."""
    groups = configuration_groups(records)
    return groups if groups is not None and len(np.unique(groups)) >= MIN_HELD_OUT_GROUPS else None


def configuration_keys(records: Sequence) -> list[str]:
    """Per record, a digest of its configuration (as :func:`configuration_groups` compares them): a checkpoint
    keeps its training records' so that ``predict`` can tell a new run of a configuration it trained on."""
    return [hashlib.sha1(text.encode()).hexdigest()[:16] for text in _configurations(records)]


def identical_records(records: Sequence) -> list[tuple[int, int]]:
    """``(first, later)`` index pairs of records that repeat an earlier one in full: configuration, curves and
    target (a row given twice, where a repeated run would log another curve), in the order of ``later``."""
    first_of: dict[str, int] = {}
    pairs = []
    for i, (configuration, r) in enumerate(zip(_configurations(records), records)):
        curves = {name: np.asarray(values, dtype=float).tolist() for name, values in r.curve.items()}
        key = json.dumps([configuration, curves, r.target], sort_keys=True)
        if key in first_of:
            pairs.append((first_of[key], i))
        else:
            first_of[key] = i
    return pairs


def _configurations(records: Sequence) -> list[str]:
    recipes = [{k: v for k, v in r.hparams.items() if not is_seed(k)} for r in records]  # runs of one recipe
    return [json.dumps([r.arch.to_dict(), hparams_to_json(recipe), _schedule_peak(r)], sort_keys=True)
            for r, recipe in zip(records, recipes)]


def _schedule_peak(record) -> float | None:
    """The highest learning rate of the record's ``lr`` channel, None without one (or with no finite value)."""
    rates = np.asarray(record.curve.get(SCHEDULE_CHANNEL, ()), dtype=float)
    rates = rates[np.isfinite(rates)]
    return float(rates.max()) if rates.size else None

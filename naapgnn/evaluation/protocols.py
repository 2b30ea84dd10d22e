"""Evaluation protocols: which architectures train a predictor and which test it.

Every protocol yields a list of ``(train_idx, test_idx)`` pairs of sorted
integer index arrays into the data (row positions, not ModelIds):

``official``
    One split, the dataset's own: test = ``is_test`` (NAAP-440's IsTest 1,
    40 architectures), train = the rest.
``repeated``
    ``n_repeats`` (default 20) seeded random splits with ``test_size`` test
    architectures each (default: the size of the official test set when
    ``is_test`` is given, else ``round(n / 11)``, i.e. 400/40 on NAAP-440),
    drawn by scikit-learn's ``ShuffleSplit``; or with ``train_size`` training
    architectures each and every other one tested (train N, predict many).
``kfold``
    ``n_folds`` (default 10) seeded folds over all architectures (scikit-learn's
    shuffled ``KFold``); each is the test set once.
``extrapolate``
    One split: train on the ``1 - top_fraction`` (default 80%) lowest by
    target, test on the top ``top_fraction``. Can a predictor rank
    architectures better than any it has seen?

With ``groups`` (the index of each record's configuration, when some
configuration was run more than once: :attr:`naapgnn.evaluation.benchmark.Benchmark.groups`),
``repeated`` and ``kfold`` keep every configuration's records on one side of
each split: a predictor is not scored on a run whose twin it trained on.

Studies run their fits on these splits through the engine
(:func:`naapgnn.evaluation.engine.run_units`); :func:`aggregate` summarises
per-split metrics.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from naapgnn.errors import NaapgnnError

PROTOCOLS = ("official", "repeated", "kfold", "extrapolate")

Split = tuple[np.ndarray, np.ndarray]
MIN_TESTED = 2  # a test part's fewest records: Kendall tau and the other ranking metrics compare pairs

__all__ = ["PROTOCOLS", "MIN_TESTED", "splits", "splits_for", "targets_and_flags", "aggregate", "paired_difference",
           "small_test_note"]

# Fewest test architectures a Kendall tau is read from without a note: 10 give 45 pairs, one flipped pair moving
# tau by 0.04; with fewer the steps grow (2 architectures, one pair: tau is +1 or -1) and ties among predictors
# at 1.000 +- 0.000 say nothing.
MIN_TEST_ARCHITECTURES = 10


def splits(
    protocol: str,
    targets,
    is_test=None,
    seed: int = 0,
    n_repeats: int = 20,
    n_folds: int = 10,
    test_size: int | None = None,
    top_fraction: float = 0.2,
    train_size: int | None = None,
    groups=None,
) -> list[Split]:
    """Train/test index pairs for one protocol.

    Parameters
    ----------
    protocol : str
        One of :data:`PROTOCOLS`.
    targets : array-like of shape (n,)
        Final accuracies (used by ``extrapolate``; gives ``n`` for all).
    is_test : array-like of bool of shape (n,), optional
        The official test flags; required by ``official``.
    seed : int
        Seed of the random protocols (``repeated``, ``kfold``).
    n_repeats, n_folds, test_size, top_fraction
        Sizes of the ``repeated``, ``kfold`` and ``extrapolate`` protocols.
    train_size : int, optional
        ``repeated``: training architectures per split, every other one tested (instead of ``test_size``).
    groups : array-like of int of shape (n,), optional
        ``repeated`` and ``kfold``: records of one group stay on one side of every split. ``repeated`` then
        meets its test and training sizes to within one group's size; ``kfold`` (scikit-learn's shuffled
        ``GroupKFold``) puts the same number of groups in each fold, so its folds' record counts vary more.

    Returns
    -------
    list of (train_idx, test_idx)
        Sorted ``int64`` arrays, disjoint, together covering every index.
    """
    y = np.asarray(targets, dtype=float).reshape(-1)
    n = len(y)
    flags = None if is_test is None else np.asarray(is_test).astype(bool).reshape(-1)
    if flags is not None and len(flags) != n:
        raise NaapgnnError(f"splits: {n} targets but {len(flags)} is_test flags")
    if n < MIN_TESTED + 1:
        raise NaapgnnError(f"splits: need at least {MIN_TESTED + 1} architectures (one to train on, {MIN_TESTED} to "
                           f"rank), got {n}")
    if protocol == "official":
        if flags is None:
            raise NaapgnnError("splits: the official protocol needs the is_test flags (IsTest column or record split)")
        if not flags.any() or flags.all():
            which, fix = ("none", "mark some") if not flags.any() else ("every one", "leave some unmarked")
            raise NaapgnnError(f"splits: the official protocol needs training and test records; {which} of the {n} "
                               f"is marked test (split \"test\" / IsTest 1): {fix}, or use the repeated or kfold "
                               "protocol")
        if flags.sum() < MIN_TESTED:
            raise NaapgnnError(f"splits: the official protocol tests the {int(flags.sum())} record marked test; "
                               f"ranking needs at least {MIN_TESTED}: mark another, or use the repeated or kfold "
                               "protocol")
        return [_pair(np.flatnonzero(flags), n)]
    if protocol == "repeated":
        marked = int(flags.sum()) if flags is not None else 0
        if train_size is not None:
            if test_size is not None:
                raise NaapgnnError("splits: give the repeated protocol a train_size or a test_size, not both")
            if not 1 <= train_size <= n - MIN_TESTED:
                raise NaapgnnError(f"splits: repeated train_size must be between 1 and {n - MIN_TESTED} (at least "
                                   f"{MIN_TESTED} of the {n} architectures tested), got {train_size}")
            test_size = n - train_size
        # as many test architectures as the official split has; else NAAP-440's share (40 of 440), 2 at least
        size = test_size if test_size is not None else (marked if MIN_TESTED <= marked < n
                                                         else max(MIN_TESTED, round(n / 11)))
        if not MIN_TESTED <= size < n:
            raise NaapgnnError(f"splits: repeated test_size must be between {MIN_TESTED} and {n - 1}, got {size}")
        if n_repeats < 1:
            raise NaapgnnError(f"--repeats (n_repeats) must be >= 1, got {n_repeats}")
        if groups is not None:
            draws = _group_draws(np.asarray(groups), size, n_repeats, seed, fill_train=train_size is not None)
            return _tested(draws, "a larger test_size or a smaller train_size")
        from sklearn.model_selection import ShuffleSplit

        draws = ShuffleSplit(n_splits=n_repeats, test_size=size, random_state=seed).split(np.zeros(n))
        return [_pair(test, n) for _, test in draws]
    if protocol == "kfold":
        if not 2 <= n_folds <= n // MIN_TESTED:
            raise NaapgnnError(f"--folds (n_folds) must be between 2 and {n // MIN_TESTED} (each fold tests at least "
                               f"{MIN_TESTED} of the {n} architectures), got {n_folds}")
        if groups is not None:
            from sklearn.model_selection import GroupKFold

            if n_folds > len(np.unique(groups)):
                raise NaapgnnError(f"--folds (n_folds) must be at most the {len(np.unique(groups))} configurations, "
                                   f"got {n_folds}")
            folds = GroupKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(np.zeros(n), groups=groups)
            return _tested(([_pair(test, n) for _, test in folds]), "fewer folds")
        from sklearn.model_selection import KFold

        folds = KFold(n_splits=n_folds, shuffle=True, random_state=seed).split(np.zeros(n))
        return [_pair(test, n) for _, test in folds]
    if protocol == "extrapolate":
        size = int(round(n * top_fraction))
        if not 0 < top_fraction < 1 or not MIN_TESTED <= size < n:
            raise NaapgnnError(f"splits: top_fraction must test at least {MIN_TESTED} and train on at least one of "
                               f"the {n} architectures, got {top_fraction}")
        return [_pair(np.argsort(y, kind="stable")[n - size:], n)]
    raise NaapgnnError(f"unknown protocol {protocol!r} (expected one of {', '.join(PROTOCOLS)})")


def _group_draws(groups: np.ndarray, size: int, n_repeats: int, seed: int, fill_train: bool) -> list[Split]:
    """``n_repeats`` seeded draws of whole groups: test groups in a random order until ``size`` records are
    tested (``fill_train``: training groups until ``n - size`` are trained on, the rest tested)."""
    n = len(groups)
    labels, counts = np.unique(groups, return_counts=True)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_repeats):
        order = rng.permutation(len(labels))
        filled = np.cumsum(counts[order])
        target = n - size if fill_train else size
        taken = order[:int(np.searchsorted(filled, target)) + 1]
        chosen = np.isin(groups, labels[taken])
        test = np.flatnonzero(~chosen if fill_train else chosen)
        if not 0 < len(test) < n:
            raise NaapgnnError(f"splits: the groups leave no {'test' if len(test) == 0 else 'training'} records")
        out.append(_pair(test, n))
    return out


def _tested(pairs: list[Split], fix: str) -> list[Split]:
    """``pairs``, after a one-line NaapgnnError when a test part holds fewer than :data:`MIN_TESTED` records
    (the runs of one configuration kept together can leave a fold that small)."""
    small = min(len(test) for _, test in pairs)
    if small < MIN_TESTED:
        raise NaapgnnError(f"splits: keeping each configuration's runs together leaves a test part of {small} "
                           f"record(s); ranking needs at least {MIN_TESTED}: {fix}")
    return pairs


def _pair(test: np.ndarray, n: int) -> Split:
    mask = np.zeros(n, dtype=bool)
    mask[test] = True
    return np.flatnonzero(~mask).astype(np.int64), np.flatnonzero(mask).astype(np.int64)


def targets_and_flags(data) -> tuple[np.ndarray, np.ndarray]:
    """``(targets, is_test)`` of a NAAP-440 DataFrame or a list of benchmark records.

    DataFrame: ``MaxAccuracy`` and ``IsTest``. Records
    (:class:`naapgnn.data.records.Record`): ``target`` and ``split == "test"``;
    a record without a target is an error.
    """
    if hasattr(data, "columns"):
        missing = [c for c in ("MaxAccuracy", "IsTest") if c not in data.columns]
        if missing:
            raise NaapgnnError(f"splits: the table has no {missing[0]!r} column")
        return data["MaxAccuracy"].to_numpy(dtype=float), data["IsTest"].to_numpy().astype(bool)
    records = list(data)
    for record in records:
        if record.target is None:
            raise NaapgnnError(f"splits: record {record.id!r} has no target")
    return (np.array([r.target for r in records], dtype=float),
            np.array([r.split == "test" for r in records], dtype=bool))


def splits_for(protocol: str, data, **kwargs) -> list[Split]:
    """:func:`splits` with the targets and test flags taken from ``data``
    (see :func:`targets_and_flags`)."""
    y, flags = targets_and_flags(data)
    return splits(protocol, y, flags, **kwargs)


def aggregate(results: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean and spread of each metric over splits.

    Returns ``{name: mean, name + "_std": std}`` for every numeric key of the
    first result (``std`` with ``ddof=1``; 0 for a single split). NaN values
    propagate: a metric undefined on one split is undefined on average.
    """
    if not results:
        raise NaapgnnError("aggregate: no results")
    out: dict[str, float] = {}
    for key, value in results[0].items():
        if isinstance(value, (bool, str)) or not np.isscalar(value):
            continue
        values = np.array([r[key] for r in results], dtype=float)
        out[key] = float(values.mean())
        out[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return out


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """``a - b`` over the same splits: its mean, the standard error of that mean, and the splits where ``a >= b``.

    Two predictors scored on the same splits share each split's difficulty;
    the spread of their per-split differences, not of either one's scores,
    says whether one is ahead. Returns ``{"mean", "se", "at_least", "n"}``
    (``se`` with ``ddof=1``, NaN for a single split).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise NaapgnnError(f"paired_difference: needs two equal, non-empty lists of scores, got {len(a)} and {len(b)}")
    d = a - b
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    return {"mean": float(d.mean()), "se": se, "at_least": int((d >= 0).sum()), "n": len(d)}


def small_test_note(test_sizes: Sequence[int], n: int, protocol: str, choices: Sequence[str] = PROTOCOLS) -> str | None:
    """A note (one line, no prefix) when the smallest of ``test_sizes`` (the ``protocol`` splits of ``n`` architectures) is below
    :data:`MIN_TEST_ARCHITECTURES`: how many pairs each Kendall tau rests on, and, when ``kfold`` is among the
    command's ``choices``, the fold count whose test splits are largest while every architecture is tested once."""
    smallest = min(test_sizes)
    if smallest >= MIN_TEST_ARCHITECTURES:
        return None
    pairs = smallest * (smallest - 1) // 2
    folds = max(2, n // MIN_TEST_ARCHITECTURES)
    hint = (f"; --protocol kfold --folds {folds} tests every architecture once, {n // folds} or more per split"
            if "kfold" in choices and n // folds > smallest else "")
    return (f"the {protocol} test splits hold as few as {smallest} architecture{'s' * (smallest != 1)}, so a "
            f"Kendall tau rests on {pairs} pair{'s' * (pairs != 1)} of them and is coarse{hint}")

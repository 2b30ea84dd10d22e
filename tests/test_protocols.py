"""Evaluation protocols: exact split contents on NAAP-440, determinism, aggregation, errors."""
from __future__ import annotations

import numpy as np
import pytest

from naapgnn.errors import NaapgnnError
from naapgnn.evaluation.protocols import aggregate, paired_difference, splits, splits_for, targets_and_flags


def _check_partition(train, test, n):
    assert train.dtype == np.int64 and test.dtype == np.int64
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    assert len(np.intersect1d(train, test)) == 0
    assert len(train) + len(test) == n


def test_official_is_the_istest_flag(naap440):
    (train, test), = splits_for("official", naap440)
    _check_partition(train, test, 440)
    assert list(test) == list(np.flatnonzero(naap440["IsTest"].to_numpy() == 1))
    assert len(test) == 40


def test_official_needs_flags():
    with pytest.raises(NaapgnnError, match="needs the is_test flags"):
        splits("official", [0.1, 0.2, 0.3])


def test_repeated_default_is_twenty_400_40_splits(naap440):
    y, flags = targets_and_flags(naap440)
    out = splits("repeated", y, flags, seed=0)
    assert len(out) == 20
    for train, test in out:
        _check_partition(train, test, 440)
        assert len(test) == 40
    assert len({tuple(test) for _, test in out}) == 20
    again = splits("repeated", y, flags, seed=0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(out, again))
    other = splits("repeated", y, flags, seed=1)
    assert not np.array_equal(out[0][1], other[0][1])


def test_repeated_without_flags_uses_one_eleventh():
    out = splits("repeated", np.arange(440.0), n_repeats=3)
    assert [len(test) for _, test in out] == [40, 40, 40]


def test_repeated_with_a_train_size_tests_every_other_architecture():
    out = splits("repeated", np.arange(1000.0), n_repeats=3, train_size=100)
    assert [(len(train), len(test)) for train, test in out] == [(100, 900)] * 3
    assert len({tuple(train) for train, _ in out}) == 3
    with pytest.raises(NaapgnnError, match="a train_size or a test_size, not both"):
        splits("repeated", np.arange(1000.0), train_size=100, test_size=50)
    with pytest.raises(NaapgnnError, match="train_size must be between 1 and 998 .at least 2 of the 1000 architectures "
                                           "tested., got 999"):
        splits("repeated", np.arange(1000.0), train_size=999)


def test_grouped_splits_keep_a_configuration_on_one_side():
    groups = np.repeat(np.arange(50), [3 if i % 5 == 0 else 1 for i in range(50)])  # 10 configurations run 3 times
    n = len(groups)
    y = np.arange(float(n))
    draws = {"repeated": splits("repeated", y, n_repeats=4, test_size=10, groups=groups, seed=2),
             "train_size": splits("repeated", y, n_repeats=2, train_size=30, groups=groups),
             "kfold": splits("kfold", y, n_folds=5, groups=groups)}
    for name, out in draws.items():
        for train, test in out:
            _check_partition(train, test, n)
            assert not set(groups[train]) & set(groups[test]), name
    assert all(10 <= len(test) <= 12 for _, test in draws["repeated"])  # met to within one group
    assert all(30 <= len(train) <= 32 for train, _ in draws["train_size"])
    assert sorted(np.concatenate([test for _, test in draws["kfold"]])) == list(range(n))
    assert [t.tolist() for _, t in draws["repeated"]] == [
        t.tolist() for _, t in splits("repeated", y, n_repeats=4, test_size=10, groups=groups, seed=2)]


def test_kfold_tests_every_architecture_once(naap440):
    y, _ = targets_and_flags(naap440)
    out = splits("kfold", y, seed=3)
    assert len(out) == 10
    tested = np.concatenate([test for _, test in out])
    assert sorted(tested) == list(range(440))
    for train, test in out:
        _check_partition(train, test, 440)
        assert len(test) == 44


def test_extrapolate_tests_on_the_top_fifth(naap440):
    y, _ = targets_and_flags(naap440)
    (train, test), = splits("extrapolate", y)
    _check_partition(train, test, 440)
    assert len(test) == 88
    assert y[test].min() >= y[train].max()
    assert set(test) == set(np.argsort(y, kind="stable")[-88:])


def test_splits_from_records():
    from naapgnn.data.records import Record

    records = [Record(id=str(i), arch=None, target=i / 10, split="test" if i % 2 else "train") for i in range(6)]
    (train, test), = splits_for("official", records)
    assert list(test) == [1, 3, 5]
    records.append(Record(id="x", arch=None))
    with pytest.raises(NaapgnnError, match="record 'x' has no target"):
        splits_for("kfold", records)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"protocol": "bogus"}, "unknown protocol 'bogus'"),
        ({"protocol": "kfold", "n_folds": 1}, "--folds \\(n_folds\\) must be between 2 and"),
        ({"protocol": "repeated", "n_repeats": 0}, "^--repeats \\(n_repeats\\) must be >= 1, got 0"),
        ({"protocol": "repeated", "test_size": 10}, "test_size must be between 2 and 9"),
        ({"protocol": "repeated", "test_size": 1}, "test_size must be between 2 and 9, got 1"),
        ({"protocol": "kfold", "n_folds": 6},
         r"--folds \(n_folds\) must be between 2 and 5 \(each fold tests at least 2 of the 10"),
        ({"protocol": "extrapolate", "top_fraction": 0.1}, "top_fraction must test at least 2"),
        ({"protocol": "official", "is_test": [True] + [False] * 9}, "tests the 1 record marked test; ranking needs"),
        ({"protocol": "extrapolate", "top_fraction": 1.5}, "top_fraction"),
    ],
)
def test_bad_arguments(kwargs, message):
    protocol = kwargs.pop("protocol")
    with pytest.raises(NaapgnnError, match=message):
        splits(protocol, np.arange(10.0), **kwargs)


def test_a_grouped_split_too_small_to_rank_is_refused():
    groups = np.r_[np.zeros(8, dtype=int), 1, 2]  # one configuration of 8 runs, two single runs
    with pytest.raises(NaapgnnError, match="leaves a test part of 1 record"):
        splits("kfold", np.arange(10.0), n_folds=3, groups=groups)
    with pytest.raises(NaapgnnError, match="need at least 3 architectures"):
        splits("repeated", np.arange(2.0))


def test_aggregate_mean_and_sample_std():
    out = aggregate([{"mae": 1.0, "violations": 2, "name": "x"}, {"mae": 3.0, "violations": 4, "name": "x"}])
    assert out == {"mae": 2.0, "mae_std": pytest.approx(np.sqrt(2)), "violations": 3.0,
                   "violations_std": pytest.approx(np.sqrt(2))}
    assert aggregate([{"mae": 1.0}])["mae_std"] == 0.0



@pytest.mark.parametrize("flags, message", [
    (np.zeros(10, bool), "none of the 10 is marked test .*: mark some, or use the repeated or kfold protocol"),
    (np.ones(10, bool), "every one of the 10 is marked test .*: leave some unmarked"),
])
def test_official_protocol_needs_both_sides(flags, message):
    with pytest.raises(NaapgnnError, match=message):
        splits("official", np.arange(10.0), flags)


@pytest.mark.parametrize("n, flags, size", [
    (440, np.arange(440) < 40, 40),   # the official split's test size
    (440, np.zeros(440, bool), 40),   # none marked: NAAP-440's share, 1 in 11
    (10, np.zeros(10, bool), 2),      # at least 2, so that a rank metric is defined
    (30, None, 3),
])
def test_repeated_test_size_without_marked_records(n, flags, size):
    pairs = splits("repeated", np.arange(float(n)), flags, n_repeats=2)
    assert [len(test) for _, test in pairs] == [size, size]


def test_paired_difference_mean_standard_error_and_count():
    out = paired_difference([0.9, 0.8, 0.7], [0.8, 0.8, 0.8])
    assert out["mean"] == pytest.approx(0.0)
    assert out["se"] == pytest.approx(np.std([0.1, 0.0, -0.1], ddof=1) / np.sqrt(3))
    assert (out["at_least"], out["n"]) == (2, 3)
    assert np.isnan(paired_difference([1.0], [0.5])["se"])


def test_paired_difference_refuses_unequal_lists():
    with pytest.raises(NaapgnnError, match="2 and 3"):
        paired_difference([1.0, 2.0], [1.0, 2.0, 3.0])


def test_small_test_note_counts_the_pairs_and_suggests_fewer_folds():
    from naapgnn.evaluation.protocols import small_test_note

    assert small_test_note([10, 12], 120, "repeated") is None
    assert small_test_note([2, 2], 12, "repeated") == (
        "the repeated test splits hold as few as 2 architectures, so a Kendall tau rests on 1 pair of them and is "
        "coarse; --protocol kfold --folds 2 tests every architecture once, 6 or more per split")
    assert small_test_note([9, 9], 90, "kfold", ("repeated",)) == (
        "the kfold test splits hold as few as 9 architectures, so a Kendall tau rests on 36 pairs of them and is "
        "coarse")

"""Metrics: hand-worked cases, the paper's counting rule, scipy agreement, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

from naapgnn.errors import NaapgnnError
from naapgnn.evaluation.metrics import (
    all_metrics,
    count_inversions,
    kendall_tau,
    mae,
    max_violations,
    monotonicity_score,
    precision_at_k,
    spearman,
    top_k_regret,
    violations,
)


def paper_rule(y_true, y_pred):
    """The paper's counting written out literally: rows in true order (stable),
    the stable sort of the predictions, then every pair listed out of order."""
    order = sorted(range(len(y_true)), key=lambda i: y_true[i])
    pred = [y_pred[i] for i in order]
    sorting = sorted(range(len(pred)), key=lambda i: pred[i])
    return sum(1 for i, s in enumerate(sorting) for j in range(i) if sorting[j] > s)


def brute_inversions(a):
    return sum(1 for i in range(len(a)) for j in range(i + 1, len(a)) if a[i] > a[j])


def test_hand_worked_violations():
    assert violations([0.1, 0.2, 0.3], [1, 2, 3]) == 0
    assert violations([0.1, 0.2, 0.3], [3, 2, 1]) == 3
    assert violations([0.1, 0.2, 0.3], [2, 1, 3]) == 1
    # Rows need not arrive sorted: the true order is restored first.
    assert violations([0.3, 0.1, 0.2], [3, 2, 1]) == 1  # true order gives predictions 2, 1, 3
    # Equal predictions are never a violation.
    assert violations([0.1, 0.2, 0.3, 0.4], [5, 5, 5, 5]) == 0
    assert violations([0.1, 0.2, 0.3], [2, 1, 1]) == 2


def test_ties_in_truth_follow_the_given_order():
    # Equal true values keep their input order (stable sort), as in the paper.
    assert violations([0.5, 0.5], [2.0, 1.0]) == 1
    assert violations([0.5, 0.5], [1.0, 2.0]) == 0


@pytest.mark.parametrize("seed", range(8))
def test_violations_equal_the_papers_loop(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    y_true = rng.integers(0, n // 2 + 1, n) / 100  # with ties
    y_pred = rng.integers(0, n // 3 + 1, n) / 10  # with ties
    assert violations(y_true, y_pred) == paper_rule(list(y_true), list(y_pred))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 17, 64, 257])
def test_count_inversions_matches_brute_force(n):
    rng = np.random.default_rng(n)
    for values in (rng.normal(size=n), rng.integers(0, 4, n), np.arange(n)[::-1], np.zeros(n)):
        assert count_inversions(values) == brute_inversions(list(values))


def test_count_inversions_on_large_inputs():
    n = 200_000
    assert count_inversions(np.arange(n)) == 0
    assert count_inversions(np.arange(n)[::-1]) == n * (n - 1) // 2
    # Swapping two neighbours of a sorted array makes exactly one inversion.
    values = np.arange(n)
    values[[1000, 1001]] = values[[1001, 1000]]
    assert count_inversions(values) == 1


def test_max_violations_and_monotonicity():
    assert max_violations(40) == 780
    assert max_violations(1) == 0
    assert monotonicity_score([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx(1 - 1 / 6)
    with pytest.raises(NaapgnnError):
        max_violations(-1)


def test_mae_hand_worked():
    assert mae([0.5, 0.6], [0.4, 0.8]) == pytest.approx(0.15)


def _tau_b_by_pairs(t, p):
    """Kendall's tau-b from its definition: (concordant - discordant) / sqrt((n0 - n1)(n0 - n2))."""
    n = len(t)
    conc = disc = ties_t = ties_p = 0
    for i in range(n):
        for j in range(i + 1, n):
            dt, dp = np.sign(t[i] - t[j]), np.sign(p[i] - p[j])
            ties_t += dt == 0
            ties_p += dp == 0
            conc += dt * dp > 0
            disc += dt * dp < 0
    n0 = n * (n - 1) / 2
    return (conc - disc) / math.sqrt((n0 - ties_t) * (n0 - ties_p))


def _average_ranks(a):
    order = np.argsort(a, kind="stable")
    ranks = np.empty(len(a))
    ranks[order] = np.arange(1, len(a) + 1)
    for value in np.unique(a):
        ranks[a == value] = ranks[a == value].mean()
    return ranks


@pytest.mark.parametrize("seed", range(5))
def test_rank_correlations_match_their_definitions(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.normal(size=40)
    y_pred = y_true + rng.normal(scale=0.5, size=40)
    y_pred[:5] = y_pred[5]  # ties
    assert kendall_tau(y_true, y_pred) == pytest.approx(_tau_b_by_pairs(y_true, y_pred))
    expected = np.corrcoef(_average_ranks(y_true), _average_ranks(y_pred))[0, 1]
    assert spearman(y_true, y_pred) == pytest.approx(expected)


def test_kendall_tau_relates_to_violations_without_ties():
    rng = np.random.default_rng(3)
    y_true, y_pred = rng.normal(size=30), rng.normal(size=30)
    v, m = violations(y_true, y_pred), max_violations(30)
    assert kendall_tau(y_true, y_pred) == pytest.approx((m - 2 * v) / m)


def test_constant_predictions_have_no_rank_correlation():
    assert math.isnan(kendall_tau([1, 2, 3], [0.5, 0.5, 0.5]))
    assert math.isnan(spearman([1, 2, 3], [0.5, 0.5, 0.5]))


def test_constant_predictions_have_no_top_k():
    """The first k records are no predicted top k: precision and regret of a constant predictor are undefined, not
    the luck of the file's order (here it would read perfect)."""
    y_true = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    out = all_metrics(y_true, [0.5] * 6, ks=(5,))
    assert math.isnan(out["precision_at_5"]) and math.isnan(out["top_5_regret"])
    assert precision_at_k(y_true, [0.5] * 6, 5) == 1.0  # the tie-broken function itself, as documented
    assert all_metrics(y_true, [0.5] * 5 + [0.4], ks=(5,))["precision_at_5"] == 1.0  # one order is order enough


def test_precision_and_regret_hand_worked():
    y_true = [0.9, 0.8, 0.7, 0.6, 0.5]
    y_pred = [0.1, 0.8, 0.9, 0.2, 0.3]  # predicted top-2: items 2, 1
    assert precision_at_k(y_true, y_pred, 2) == 0.5  # true top-2 is {0, 1}
    assert top_k_regret(y_true, y_pred, 2) == pytest.approx(0.9 - 0.8)
    assert top_k_regret(y_true, y_true, 1) == 0.0
    assert precision_at_k(y_true, y_pred, 5) == 1.0
    with pytest.raises(NaapgnnError, match="k must be between 1 and"):
        precision_at_k(y_true, y_pred, 6)


def test_all_metrics_keys_and_values():
    rng = np.random.default_rng(0)
    y_true = rng.normal(size=40)
    y_pred = y_true + rng.normal(scale=0.3, size=40)
    out = all_metrics(y_true, y_pred)
    assert list(out) == ["mae", "violations", "max_violations", "monotonicity_score", "kendall_tau",
                         "spearman", "precision_at_5", "top_5_regret", "precision_at_10", "top_10_regret"]
    assert out["violations"] == violations(y_true, y_pred)
    assert out["max_violations"] == 780
    assert out["monotonicity_score"] == pytest.approx(1 - out["violations"] / 780)
    assert "precision_at_10" not in all_metrics(y_true[:6], y_pred[:6])


@pytest.mark.parametrize(
    "y_true, y_pred, message",
    [
        ([1, 2, 3], [1, 2], "3 true values but 2 predictions"),
        ([1, 2, 3], [1, float("nan"), 2], "prediction 1 is not finite"),
        ([[1, 2]], [[1, 2]], "expected 1-D arrays"),
    ],
)
def test_bad_inputs_raise(y_true, y_pred, message):
    with pytest.raises(NaapgnnError, match=message):
        all_metrics(y_true, y_pred)


@pytest.mark.parametrize("call, message", [
    (lambda: precision_at_k([1, 2, 3], [1, 2, 3], 2.9), "metrics: k must be a whole number, got 2.9"),
    (lambda: max_violations(2.7), "metrics: n must be a whole number, got 2.7"),
    (lambda: mae(["a", "b"], [0.1, 0.2]), "metrics: the true values are not all numbers"),
    (lambda: all_metrics([0.1, 0.2], [0.1, "x"]), "metrics: the predictions are not all numbers"),
])
def test_a_fractional_count_or_a_word_is_refused_not_truncated(call, message):
    with pytest.raises(NaapgnnError, match=message.replace(".", r"\.")):
        call()
    assert precision_at_k([1, 2, 3], [1, 2, 3], 2.0) == 1.0 and max_violations(np.int64(4)) == 6

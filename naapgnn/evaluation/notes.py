"""The notes ``naapgnn evaluate`` adds on screen and in report.md about its splits and its data: test splits too
small, tied or all equal targets, curves cut short."""
from __future__ import annotations

import numpy as np

from naapgnn.evaluation.analysis import headline_protocol

# Fewest architectures in an inner test fold (190 pairs) below which the advice gets a note on its folds
SMALL_INNER_FOLD = 20

__all__ = ["test_sizes", "small_split_note", "small_inner_note", "tie_note", "equal_targets_note", "cut_short_note",
           "longest_curve", "full_source", "configuration_note", "result_headline"]


def result_headline(result) -> str:
    """The protocol an evaluation's answer is read under: the one its advice was nested in, else the headline of
    those it ran (:func:`naapgnn.evaluation.analysis.headline_protocol`)."""
    return result.advice_protocol or headline_protocol(result.protocols)


def test_sizes(result, protocol: str) -> list[int]:
    """The test split sizes of ``protocol``'s runs."""
    return [len(run["test"]) for (_, _, p), runs in result.predictions.items() if p == protocol for run in runs]


def small_split_note(result) -> str | None:
    """:func:`naapgnn.evaluation.protocols.small_test_note` of the headline protocol's test splits."""
    from naapgnn.evaluation.protocols import small_test_note

    headline = result_headline(result)
    sizes = test_sizes(result, headline)
    return small_test_note(sizes, len(result.bench.records), headline) if sizes else None


def small_inner_note(result, advice: dict | None) -> str | None:
    """A sentence when the advice's inner folds test fewer than :data:`SMALL_INNER_FOLD` architectures: a Kendall
    tau over so few pairs spreads widely from fold to fold, and the advice's margin, that spread, with it."""
    if advice is None or result.inner_runs is None or result.inner_runs.empty:
        return None
    pairs = result.inner_runs["max_violations"].to_numpy(dtype=float)  # n (n - 1) / 2 of each fold's n
    sizes = np.rint((1 + np.sqrt(1 + 8 * pairs)) / 2).astype(int)
    if max(sizes) >= SMALL_INNER_FOLD:
        return None
    span = f"{min(sizes)}-{max(sizes)}" if min(sizes) < max(sizes) else str(min(sizes))
    spreads = [c["best_kendall_tau_std"] for c in advice["choices"] if np.isfinite(c["best_kendall_tau_std"])]
    std = f" (std up to {max(spreads):.2f} at a split's best budget)" if spreads else ""
    return (f"the advice's inner folds test {span} architectures each: over so few pairs a fold's Kendall tau spreads "
            f"widely{std}, and a budget is advised when it is within that spread of the best, so budgets well below "
            "the best can pass: read the advice as rough")


def tie_note(result) -> str | None:
    """A sentence when true accuracies tie within a test split of the headline protocol: the paper's violations
    count such a pair by the order of the records (:mod:`naapgnn.evaluation.metrics`); else None."""
    headline = result_headline(result)
    tests = {tuple(run["test"]) for (_, _, p), runs in result.predictions.items() if p == headline for run in runs}
    tied = [int(sum(c * (c - 1) // 2 for c in np.unique(result.bench.y[list(t)], return_counts=True)[1]))
            for t in tests]
    if not tied or not max(tied):
        return None
    return (f"{sum(map(bool, tied))} of {len(tied)} {headline} test splits hold architectures of equal final "
            f"accuracy (up to {max(tied)} tied pairs in one); violations, the paper's count, take a tied pair in "
            "the order of the records, so they may move by that much with it, where Kendall tau counts no tied pair")


def equal_targets_note(result) -> str | None:
    """A sentence when every target of some test split of the headline protocol is the same: Kendall tau is
    undefined there (and the violations, counted in the records' order, say nothing); else None."""
    headline = result_headline(result)
    tests = {tuple(run["test"]) for (_, _, p), runs in result.predictions.items() if p == headline for run in runs}
    equal = [t for t in tests if np.ptp(result.bench.y[list(t)]) == 0]
    if not equal:
        return None
    return (f"in {len(equal)} of {len(tests)} {headline} test splits every architecture has the same final "
            f"accuracy ({result.bench.y[list(equal[0])[0]]:g}): nothing to rank, so Kendall tau is undefined there "
            "and no best predictor is named where it is undefined on every split")


def cut_short_note(result) -> str | None:
    """:func:`naapgnn.data.channels.cut_short_note` when the full training is the curves' length, not a longer
    ``--full-epochs``: ``evaluate`` says it on screen and the report in its setup."""
    from naapgnn.data.channels import cut_short_note as note

    return note(result.bench.records, result.full_epochs) if result.full_epochs == longest_curve(result) else None


def longest_curve(result) -> int:
    """Epochs of the longest curve of the benchmark."""
    return max(r.num_epochs for r in result.bench.records)


def full_source(result) -> str:
    """Where the full training's length comes from, for the report's setup."""
    longest = longest_curve(result)
    return "the benchmark's curve length" if result.full_epochs == longest else f"given; the curves hold {longest}"


def configuration_note(result, name, plus_minus: str = "+-") -> str | None:
    """One sentence where the headline protocol's test splits hold runs of one configuration more than once: how many
    pairs of a split are such twins, and each predictor's Kendall tau over configuration means at each budget
    (:func:`naapgnn.evaluation.analysis.configuration_taus`; ``name``: predictor key -> its name)."""
    from naapgnn.evaluation.analysis import configuration_taus

    protocol = result_headline(result)
    frame = configuration_taus(result, protocol)
    if frame is None:
        return None
    per_budget = "; ".join(f"{budget} epochs " + ", ".join(
        f"{name(r.predictor)} {r.kendall_tau:.3f}" + ("" if np.isnan(r.kendall_tau_std) else
                                                      f" {plus_minus} {r.kendall_tau_std:.3f}")
        for r in part.sort_values("kendall_tau", ascending=False).itertuples())
        for budget, part in frame.groupby("budget"))
    return (f"a test split holds {frame.twin_pairs.iloc[0]:.1f} pairs of two runs of one configuration on average "
            "(seeds: their order is noise, which every figure above counts as any pair's); Kendall tau over "
            f"configuration means, each configuration's runs' targets and predictions averaged: {per_budget}")

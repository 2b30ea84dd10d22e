"""Curve heuristics: fits recover known curves; the heuristics read only what they may."""
from __future__ import annotations

import numpy as np
import pytest

from naapgnn.arch.format import parse_architecture
from naapgnn.data.records import Record
from naapgnn.errors import NaapgnnError
from naapgnn.models.heuristics import HEURISTICS, CurveHeuristic, extrapolate, fit_curves, min_budget, observed_epochs

SCHEME = [{"kernel_size": 3, "width": 8, "stride": 2, "residual": False}]


def test_power_law_recovers_a_known_asymptote():
    t = np.arange(1, 10)
    params = [(0.80, 0.50, 0.70), (0.65, 0.30, 0.25), (0.72, 0.10, 1.80)]
    curves = np.array([a - b * t ** -c for a, b, c in params])
    fit = fit_curves(curves, t, "power_law")
    np.testing.assert_allclose(fit["a"], [p[0] for p in params], atol=1e-3)
    np.testing.assert_allclose(fit["c"], [p[2] for p in params], rtol=1e-2)
    np.testing.assert_allclose(extrapolate(curves, t, "power_law", final_epoch=None), [p[0] for p in params], atol=1e-3)
    at_90 = [a - b * 90.0 ** -c for a, b, c in params]
    np.testing.assert_allclose(extrapolate(curves, t, "power_law", final_epoch=90), at_90, atol=1e-4)


def test_exponential_recovers_a_known_asymptote_from_cycle_ends():
    t = np.array([3, 6, 9, 12, 15])
    curve = 0.7 - 0.4 * np.exp(-0.15 * t)
    assert extrapolate(curve[None], t, "exponential", final_epoch=None)[0] == pytest.approx(0.7, abs=1e-3)


def test_fits_need_three_epochs():
    with pytest.raises(NaapgnnError, match="at least 3 epochs"):
        fit_curves(np.ones((1, 2)), [1, 2])


def _records(curves):
    return [Record(id=str(i), arch=parse_architecture(SCHEME), curve={"accuracy": np.asarray(c, dtype=float)},
                   target=0.5) for i, c in enumerate(curves)]


def test_last_and_best_read_exactly_the_budget():
    records = _records([[0.1, 0.5, 0.3, 0.9], [0.2, 0.1, 0.4, 0.0]])
    np.testing.assert_array_equal(CurveHeuristic("last", budget=3).fit().predict(records), [0.3, 0.4])
    np.testing.assert_array_equal(CurveHeuristic("best", budget=3).fit().predict(records), [0.5, 0.4])
    np.testing.assert_array_equal(CurveHeuristic("best", budget=2).fit().predict(records), [0.5, 0.2])


def test_cycle_variants_read_only_cycle_ends():
    t = np.arange(1, 13)
    smooth = 0.8 - 0.5 * t ** -0.7
    noisy = smooth.copy()
    noisy[t % 3 != 0] = np.random.default_rng(0).uniform(0, 1, size=int((t % 3 != 0).sum()))
    h = CurveHeuristic("power_law", budget=12, cycle=3, final_epoch=None).fit()
    a, b = h.predict(_records([smooth, noisy]))
    assert a == pytest.approx(b)
    assert a == pytest.approx(0.8, abs=2e-3)
    np.testing.assert_array_equal(observed_epochs(9, 3), [3, 6, 9])


def test_budgets_below_the_minimum_are_refused():
    assert min_budget("last") == 1 and min_budget("power_law") == 3 and min_budget("power_law", 3) == 9
    with pytest.raises(NaapgnnError, match="needs a budget of at least 9 epochs, got 6"):
        CurveHeuristic("exponential", budget=6, cycle=3).fit()
    with pytest.raises(NaapgnnError, match="needs a budget of at least 1 epochs, got 0"):
        CurveHeuristic("last", budget=0).fit()
    with pytest.raises(NaapgnnError, match="unknown heuristic"):
        CurveHeuristic("median", budget=3).fit()


def test_heuristics_on_naap440_use_the_dataset_columns(naap440):
    for k in (1, 3, 9):
        pred = CurveHeuristic("last", budget=k).fit().predict(naap440)
        np.testing.assert_array_equal(pred, naap440[f"e{k}Accuracy"].to_numpy())
    best = CurveHeuristic("best", budget=90).fit().predict(naap440)
    np.testing.assert_allclose(best, naap440["MaxAccuracy"].to_numpy(), atol=1e-12)
    for name, params in HEURISTICS.items():
        budget = max(9, min_budget(params["method"], params.get("cycle")))
        pred = CurveHeuristic(budget=budget, **params).fit().predict(naap440)
        assert pred.shape == (440,) and np.all((pred >= 0) & (pred <= 1)), name


def test_extrapolation_targets_each_records_full_training():
    """A 140-epoch benchmark is extrapolated to epoch 140, NAAP-440's table to 90, row by row."""
    t = np.arange(1, 141)
    short, long_ = 0.8 - 0.5 * t[:90] ** -0.7, 0.8 - 0.5 * t ** -0.7
    records = _records([short, long_])
    pred = CurveHeuristic("power_law", budget=20).fit().predict(records)
    assert pred[0] == pytest.approx(0.8 - 0.5 * 90 ** -0.7, abs=1e-3)
    assert pred[1] == pytest.approx(0.8 - 0.5 * 140 ** -0.7, abs=1e-3)
    fixed = CurveHeuristic("power_law", budget=20, final_epoch=90).fit().predict(records)
    assert fixed == pytest.approx([pred[0], pred[0]], abs=1e-9)


def test_records_without_an_accuracy_channel_are_read_from_the_channel_the_targets_end():
    arch = parse_architecture(SCHEME)
    records = [Record(id=str(i), arch=arch, curve={"train_acc": np.array([50.0, 90.0, 99.0]),
                                                  "val_acc": np.array([v, v + 10.0, v + 12.0])},
                      target=(v + 12.0) / 100) for i, v in enumerate((30.0, 40.0))]
    h = CurveHeuristic("last", budget=2).fit(records, [r.target for r in records])
    assert (h.channel_, h.scale_) == ("val_acc", 0.01)
    np.testing.assert_allclose(h.predict(records), [0.4, 0.5])
    assert CurveHeuristic("last", budget=2, channel="train_acc").fit(records).predict(records).tolist() == [0.9, 0.9]
    with pytest.raises(NaapgnnError, match="heuristic 'best': channel 'seconds' holds values outside"):
        timed = [Record(id="a", arch=arch, curve={"seconds": np.array([40.0, 181.0])}, target=0.5)]
        CurveHeuristic("best", budget=2, channel="seconds").fit(timed)
    assert CurveHeuristic("last", budget=2).fit(records).channel_ == "val_acc"  # no targets: held out first
    held_out = [Record(id=r.id, arch=arch, curve={"test_acc": r.curve["train_acc"], "val_acc": r.curve["val_acc"]},
                       target=r.target) for r in records]
    with pytest.raises(NaapgnnError, match=r"several curve channels could hold the accuracy \(test_acc, val_acc\); "
                                           "pass the targets y or channel="):
        CurveHeuristic("last", budget=2).fit(held_out)
    errors = [Record(id=r.id, arch=arch, curve={"val_error": 100 - r.curve["val_acc"]}, target=r.target)
              for r in records]
    h = CurveHeuristic("best", budget=2).fit(errors)
    assert (h.channel_, h.scale_) == ("val_error", -0.01)
    np.testing.assert_allclose(h.predict(errors), [0.4, 0.5])  # one minus the lowest error rate
    only_losses = [Record(id="a", arch=arch, curve={"loss": np.array([2.0, 1.0])}, target=0.5)]
    with pytest.raises(NaapgnnError, match=r"heuristic 'last': no curve channel holds the accuracy \(channels every "
                                           r"record has, losses aside: none; an accuracy lies in \[0, 1\] or \[0, 100\]\); pass channel="):
        CurveHeuristic("last", budget=2).fit(only_losses, [0.5])


# --- sparse logs: a fit reads the logged epochs only ----------------------------------------------------------


def _sparse_file(tmp_path, every=3, epochs=30, params=((0.80, 0.50, 0.70), (0.65, 0.30, 0.25), (0.72, 0.40, 1.2))):
    """Power-law accuracy curves logged every ``every``-th epoch (null elsewhere), as a validation every few
    epochs writes them."""
    import json
    import warnings

    from naapgnn.data.records import load_jsonl

    t = np.arange(1, epochs + 1)
    lines = []
    for i, (a, b, c) in enumerate(params):
        curve = [round(a - b * e ** -c, 6) if e % every == 0 else None for e in t]
        lines.append(json.dumps({"id": f"n{i}", "arch": SCHEME, "curve": {"accuracy": curve}, "target": 0.5}))
    path = tmp_path / "sparse.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_jsonl(path), params


@pytest.mark.parametrize("budget", [9, 15])
def test_a_fit_on_a_sparse_log_reads_its_logged_epochs_not_the_carried_ones(budget, tmp_path):
    records, params = _sparse_file(tmp_path)
    predicted = CurveHeuristic("power_law", budget=budget, final_epoch=30).fit(records).predict(records)
    truth = [a - b * 30.0 ** -c for a, b, c in params]
    np.testing.assert_allclose(predicted, truth, atol=2e-3)
    logged = np.arange(3, budget + 1, 3)  # the same fit on the logged epochs given directly
    curves = np.array([r.curve["accuracy"][logged - 1] for r in records])
    np.testing.assert_array_equal(predicted, extrapolate(curves, logged, "power_law", final_epoch=30))


def test_a_sparse_run_with_fewer_than_three_logged_epochs_reads_its_last_value_with_a_warning(tmp_path):
    from naapgnn.errors import NaapgnnWarning

    records, _ = _sparse_file(tmp_path)
    heuristic = CurveHeuristic("exponential", budget=8, final_epoch=30).fit(records)
    with pytest.warns(NaapgnnWarning, match="budget 8: runs that log fewer than 3 of the epochs it reads"):
        predicted = heuristic.predict(records)
    np.testing.assert_array_equal(predicted, [r.curve["accuracy"][5] for r in records])  # epoch 6, the last logged


def test_a_diverged_runs_worst_values_are_points_of_its_curve(tmp_path):
    import json
    import warnings

    from naapgnn.data.gaps import carried_epochs
    from naapgnn.data.records import load_jsonl

    rising = [round(0.3 + 0.02 * e, 4) for e in range(12)]
    gap = rising[:4] + [None, None] + rising[6:]
    diverged = rising[:5] + [None] * 7
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"id": f"n{i}", "arch": SCHEME, "curve": {"accuracy": c}, "target": 0.5}) + "\n"
                            for i, c in enumerate([rising, gap, diverged])))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = load_jsonl(path)
    carried = carried_epochs(records, "accuracy", 12)
    assert not carried[0].any() and not carried[2].any()  # logged, and a divergence's worst values
    assert np.flatnonzero(carried[1]).tolist() == [4, 5]


def test_fully_logged_curves_fit_as_before(tmp_path):
    t = np.arange(1, 10)
    curves = np.array([0.8 - 0.5 * t ** -0.7, 0.7 - 0.2 * t ** -0.3])
    records = _records(curves)
    predicted = CurveHeuristic("power_law", budget=9, final_epoch=90).fit(records).predict(records)
    np.testing.assert_array_equal(predicted, extrapolate(curves, t, "power_law", final_epoch=90))

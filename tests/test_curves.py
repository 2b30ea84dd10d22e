"""Schedule-free curve features, and the cycle features only where an ``lr`` channel declares a cycle."""
import numpy as np
import pytest

from naapgnn.arch.format import parse_architecture
from naapgnn.data.records import Record
from naapgnn.errors import NaapgnnError
from naapgnn.features.curves import curve_channels, curve_feature_names, curve_features, lr_period

ARCH = parse_architecture([{"kernel_size": 3, "width": 16, "stride": 2, "residual": False}])
NAAP_LR = np.array([0.1, 0.01, 0.001] * 30)


def record(rid="r", **curve):
    return Record(rid, ARCH, curve={k: np.asarray(v, dtype=float) for k, v in curve.items()})


def features(records, budget):
    channels = curve_channels(records)
    return [dict(zip(curve_feature_names(budget, channels), row)) for row in curve_features(records, budget, channels)]


def test_schedule_free_features_by_hand():
    acc = [0.1, 0.2, 0.25, 0.3, 0.9]
    row = features([record(accuracy=acc)], 4)[0]
    assert set(row) == {f"accuracy_{f}" for f in ("present", "last", "best", "mean_last3", "diff1", "diff2", "slope",
                                                  "logfit_slope", "logfit_x4", "flat")}  # no cycle without a schedule
    assert row["accuracy_last"] == 0.3 and row["accuracy_best"] == 0.3
    assert row["accuracy_mean_last3"] == pytest.approx(0.25)
    assert row["accuracy_diff1"] == pytest.approx(0.05) and row["accuracy_diff2"] == pytest.approx(0.0)
    assert row["accuracy_slope"] == pytest.approx(0.05)  # the last half: epochs 3 and 4
    b, a = np.polyfit(np.log([1, 2, 3, 4]), acc[:4], 1)
    assert row["accuracy_logfit_slope"] == pytest.approx(b)
    assert row["accuracy_logfit_x4"] == pytest.approx(a + b * np.log(16))
    assert row["accuracy_flat"] == 0.0


def test_any_channel_any_length_and_losses_take_the_minimum():
    rows = features([record(loss=[2.0, 1.0, 1.5], train_accuracy=[0.3, 0.5, 0.6])], 3)[0]
    assert rows["loss_best"] == 1.0 and rows["train_accuracy_best"] == 0.6
    long = features([record(accuracy=np.linspace(0.1, 0.6, 140))], 40)[0]
    assert len(long) == 10 and long["accuracy_last"] == pytest.approx(np.linspace(0.1, 0.6, 140)[39])


def test_flat_marks_a_channel_that_never_changed_over_two_or_more_epochs():
    dead = record("dead", accuracy=[0.0] * 5, loss=[2.3, 2.3, 2.3, 2.3, 1.0])
    slow = record("slow", accuracy=[0.005, 0.005, 0.006, 0.05, 0.1], loss=[2.3, 2.2, 2.1, 2.0, 1.9])
    rows = features([dead, slow], 4)
    assert [r["accuracy_flat"] for r in rows] == [1.0, 0.0] and [r["loss_flat"] for r in rows] == [1.0, 0.0]
    assert features([dead, slow], 5)[0]["loss_flat"] == 0.0  # it moved at epoch 5
    assert [r["accuracy_flat"] for r in features([dead, slow], 1)] == [0.0, 0.0]  # one epoch says nothing
    no_loss = features([record("a", accuracy=[0.1, 0.2]), record("b", accuracy=[0.0, 0.0], loss=[1.0, 1.0])], 2)
    assert no_loss[0]["loss_flat"] == 0.0 and no_loss[1]["loss_flat"] == 1.0  # absent: zero, as every column


def test_at_one_epoch_flat_marks_a_run_at_the_training_records_worst_value():
    dead = record("dead", accuracy=[0.0, 0.0], loss=[5.3, 5.3])
    slow = record("slow", accuracy=[0.005, 0.02], loss=[5.29, 5.0])
    worse = record("worse", accuracy=[-0.001, 0.0], loss=[7.0, 6.0])  # beyond the worst: as dead
    channels = ["accuracy", "loss"]
    names = curve_feature_names(1, channels)
    rows = [dict(zip(names, row)) for row in curve_features([dead, slow, worse], 1, channels,
                                                             worst={"accuracy": 0.0, "loss": 5.3})]
    assert [r["accuracy_flat"] for r in rows] == [1.0, 0.0, 1.0] and [r["loss_flat"] for r in rows] == [1.0, 0.0, 1.0]
    assert [r["accuracy_flat"] for r in features([dead, slow], 1)] == [0.0, 0.0]  # no worst given: nothing marked
    at_two = curve_features([dead, slow], 2, channels, worst={"accuracy": 0.005, "loss": 5.29})
    assert np.array_equal(at_two, curve_features([dead, slow], 2, channels))  # from two epochs on: never changed
    percent = record("p", accuracy=[0.5, 1.0])  # logged in percent (0.5 %): the worst is given in fractions
    chance = record("q", accuracy=[20.0, 30.0])
    row = curve_features([percent, chance], 1, ["accuracy"], worst={"accuracy": 0.005})
    assert list(row[:, curve_feature_names(1, ["accuracy"]).index("accuracy_flat")]) == [1.0, 0.0]


def test_only_the_first_budget_epochs_are_read():
    a = features([record(accuracy=[0.1, 0.2, 0.3, 0.4])], 2)[0]
    b = features([record(accuracy=[0.1, 0.2, 0.9, 0.0])], 2)[0]
    assert a == b


def test_lr_period():
    assert lr_period(NAAP_LR) == 3
    assert lr_period([0.1] * 30 + [0.01] * 30) is None  # step decay
    assert lr_period([0.1] * 20) is None
    assert lr_period(0.05 * (1 + np.cos(np.linspace(0, np.pi, 50)))) is None  # cosine
    assert lr_period([0.1, 0.1, 0.01, 0.01] * 5) == 4


def test_cycle_features_only_with_a_cyclic_lr_channel():
    acc = [0.1, 0.3, 0.4, 0.42, 0.5, 0.55, 0.6]
    cyclic = record("c", accuracy=acc, lr=NAAP_LR[:7])
    step = record("s", accuracy=acc, lr=[0.1] * 4 + [0.01] * 3)
    rows = features([cyclic, step], 6)
    assert "accuracy_cycle_end" in rows[0] and "lr_cycle_end" not in rows[0]
    assert rows[0]["accuracy_cycle_end"] == 0.55 and rows[0]["accuracy_cycle_gain"] == pytest.approx(0.15)
    # gains 0.15 after 0.4 with one gain: ratio 0.5, tail 0.15
    assert rows[0]["accuracy_cycle_extrapolated"] == pytest.approx(0.7)
    assert (rows[1]["accuracy_cycle_end"], rows[1]["accuracy_cycle_gain"]) == (0.55, 0.0)  # no cycle: last value
    assert rows[0]["lr_last"] == pytest.approx(0.001)


def test_missing_channel_is_zero_and_short_curves_fail():
    rows = features([record("a", accuracy=[0.1, 0.2]), record("b", loss=[1.0, 0.5])], 2)
    assert rows[0]["loss_present"] == 0 and rows[0]["loss_last"] == 0 and rows[1]["loss_last"] == 0.5
    with pytest.raises(NaapgnnError, match="record 'a': curve channel 'accuracy' has 2 epochs, budget 3"):
        curve_features([record("a", accuracy=[0.1, 0.2])], 3, ["accuracy"])
    with pytest.raises(NaapgnnError, match=r"record 'x': budget 2 reads the first 2 epochs of the curve "
                       r"channel\(s\) accuracy; it has no curve"):
        curve_features([record("x")], 2, ["accuracy"])
    with pytest.raises(NaapgnnError, match=r"channel\(s\) accuracy; it has loss only"):
        curve_features([record("x", loss=[1.0, 0.5])], 2, ["accuracy"])


def test_a_curve_shorter_than_the_budget_is_named():
    from naapgnn.features.curves import values_and_differences

    acc = np.arange(1, 21) / 100.0
    with pytest.raises(NaapgnnError, match="record 'a': curve channel 'accuracy' has 20 epochs, budget 21"):
        values_and_differences([record("a", accuracy=acc)], 21, ["accuracy"])


def test_a_loss_is_any_channel_whose_name_holds_loss():
    from naapgnn.features.curves import is_loss_channel, ranking_channel

    assert [is_loss_channel(c) for c in ("loss_mean", "val_loss", "train_Loss", "accuracy", "train_acc")] == [
        True, True, True, False, False]
    rows = features([record("a", val_loss=[2.0, 1.0, 1.5])], 3)
    assert rows[0]["val_loss_best"] == 1.0 and rows[0]["val_loss_last"] == 1.5
    # early stopping compares a shared non-loss channel first, else a loss negated
    assert ranking_channel([record("a", val_loss=[2.0], train_acc=[0.3])]) == ("train_acc", 1.0)
    assert ranking_channel([record("a", val_loss=[2.0], train_loss=[1.0])]) == ("train_loss", -1.0)


def test_an_error_rate_a_cross_entropy_or_a_perplexity_is_lower_is_better_too():
    from naapgnn.features.curves import is_loss_channel, ranking_channel

    lower = ("valid_error", "top1_err", "valErr", "val_cross_entropy", "Train/val_cross_entropy", "val_nll",
             "test_mse", "valid_ce", "ppl", "val_perplexity", "simple_regret", "valid/error_rate")
    higher = ("accuracy", "val_acc", "Train/val_balanced_accuracy", "f1", "precision", "interval", "train_acc")
    assert [c for c in lower if not is_loss_channel(c)] == []
    assert [c for c in higher if is_loss_channel(c)] == []
    rows = features([record("a", valid_error=[0.6, 0.4, 0.45])], 3)
    assert rows[0]["valid_error_best"] == 0.4 and rows[0]["valid_error_last"] == 0.45
    # an error rate holds the accuracy (one minus it): it ranks before a cross-entropy
    assert ranking_channel([record("a", valid_error=[0.5], val_cross_entropy=[1.0])]) == ("valid_error", -1.0)
    assert ranking_channel([record("a", valid_error=[0.5], val_acc=[0.5])]) == ("val_acc", 1.0)


def test_the_ranking_channel_is_the_one_the_targets_end_not_a_time_or_the_first_name():
    from dataclasses import replace

    from naapgnn.features.curves import ranking_channel

    timed = [record("a", epoch_time=[40.0, 41.0], val_acc=[0.3, 0.5]), record("b", epoch_time=[30.0, 31.0],
                                                                               val_acc=[0.2, 0.4])]
    # not epoch_time, first by name (its seconds could be percentages): a name holding acc first
    assert ranking_channel(timed) == ("val_acc", 1.0)
    both = [replace(record(r, train_acc=[0.5, 0.9], val_acc=[0.3, v]), target=v) for r, v in (("a", 0.5), ("b", 0.4))]
    assert ranking_channel(both) == ("val_acc", 1.0)  # the targets end val_acc, not train_acc (first by name)
    assert ranking_channel([replace(r, target=None) for r in both]) == ("val_acc", 1.0)  # no targets: held out first
    assert ranking_channel([record("a", epoch_time=[40.0], val_loss=[2.0])]) == ("val_loss", -1.0)


def test_accuracies_and_error_rates_in_percent_are_read_as_fractions_and_losses_as_logged():
    from naapgnn.features.curves import values_and_differences

    fractions = [record("a", val_acc=[0.30, 0.41, 0.52], top1_err=[0.7, 0.59, 0.48], loss=[2.5, 1.9, 1.6]),
                 record("b", val_acc=[0.004, 0.008, 0.35], top1_err=[0.996, 0.992, 0.65], loss=[5.2, 5.1, 2.4])]
    percent = [record(r.id, val_acc=100 * r.curve["val_acc"], top1_err=100 * r.curve["top1_err"], loss=r.curve["loss"])
               for r in fractions]
    channels = curve_channels(fractions)
    np.testing.assert_allclose(curve_features(percent, 3, channels), curve_features(fractions, 3, channels),
                               atol=1e-12)
    np.testing.assert_allclose(values_and_differences(percent, 2, channels),
                               values_and_differences(fractions, 2, channels), atol=1e-12)
    # the unit is the file's: a run whose first epochs stay under 1.05 % is still read in percent
    assert features(percent, 2)[1]["val_acc_last"] == pytest.approx(0.008)  # 0.8 %, not 80 %
    # a loss above 1.05 is no percentage: read as logged
    assert features(percent, 1)[0]["loss_last"] == 2.5

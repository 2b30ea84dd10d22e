"""Diverged runs: non-finite curve values in a benchmark file read as the channel's worst (naapgnn.data.channels)."""
from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest

from naapgnn.cli import main
from naapgnn.data.channels import (accuracy_channels, as_accuracy, fraction_scale, is_schedule_name,
                                   is_training_channel, target_channel)
from naapgnn.data.records import load_jsonl, record_from_dict
from naapgnn.errors import NaapgnnError, NaapgnnWarning
from naapgnn.features.curves import ranking_channel
from naapgnn.features.hparams import SCHEDULE_PEAK, record_hparam

SCHEME = [{"kernel_size": 3, "width": 8, "stride": 2, "residual": False}]


def _write(path, curves, target=0.5):
    """One record per curve dict; curve values may be float('nan'), float('inf') or None."""
    path.write_text("".join(json.dumps({"id": f"n{i}", "arch": SCHEME, "curve": c, "target": target}) + "\n"
                            for i, c in enumerate(curves)))
    return path


def test_values_non_finite_to_the_end_read_as_the_channel_worst_with_one_warning(tmp_path):
    path = _write(tmp_path / "b.jsonl", [
        {"accuracy": [0.3, 0.4, 0.5], "loss": [2.0, 1.5, 1.2]},
        {"accuracy": [0.1, 0.2, None], "loss": [2.5, float("nan"), float("inf")]},
        {"accuracy": [0.2, 0.3, 0.35], "loss": [2.2, 1.9, 1.7]},
    ])
    with pytest.warns(NaapgnnWarning) as caught:
        records = load_jsonl(path)
    assert len(caught) == 1
    assert str(caught[0].message) == (
        f"{path}: 1 record(s) with non-finite curve values (first: line 2, curve.accuracy[2]) stayed non-finite to "
        "the end, read as diverged runs, each such value as its channel's worst finite value in the file "
        "(accuracy 0.1, loss 2.5)")
    assert records[1].curve["accuracy"].tolist() == [0.1, 0.2, 0.1]  # the lowest accuracy
    assert records[1].curve["loss"].tolist() == [2.5, 2.5, 2.5]  # the highest loss
    assert records[0].curve["loss"].tolist() == [2.0, 1.5, 1.2]


def test_a_diverged_run_reads_the_values_given_for_its_channels_else_the_files_worst(tmp_path):
    path = _write(tmp_path / "b.jsonl", [
        {"accuracy": [0.3, 0.4, 0.5], "loss": [2.0, 1.5, 1.2]},
        {"accuracy": [0.1, 0.2, None], "loss": [2.5, float("nan"), float("inf")]},
    ])
    with pytest.warns(NaapgnnWarning) as caught:
        records = load_jsonl(path, diverged_values={"loss": 9.0})
    assert records[1].curve["loss"].tolist() == [2.5, 9.0, 9.0]  # the value given, not the file's 2.5
    assert records[1].curve["accuracy"].tolist() == [0.1, 0.2, 0.1]  # none given: the file's lowest
    assert str(caught[0].message).endswith(
        "each such value as its channel's worst finite value in the file (accuracy 0.1) or the checkpoint's "
        "training worst (loss 9)")


def test_values_followed_by_finite_ones_read_as_epochs_not_logged(tmp_path):
    path = _write(tmp_path / "b.jsonl", [
        {"val_acc": [0.3, 0.4, 0.5, 0.6]},
        {"val_acc": [None, 0.2, None, 0.4]},  # validated every other epoch
        {"val_acc": [0.2, float("nan"), float("nan"), 0.5]},
        {"val_acc": [0.25, 0.3, 0.35, None]},  # diverged at the last epoch
    ])
    with pytest.warns(NaapgnnWarning) as caught:
        records = load_jsonl(path)
    assert str(caught[0].message) == (
        f"{path}: 2 record(s) with non-finite curve values (first: line 2, curve.val_acc[0]) logged finite values "
        "later, so each non-finite value before the last finite one was read as an epoch not logged (the last "
        "logged value; after it, as many epochs as the record's longest gap or epochs most records leave unlogged, "
        "the last value; no budget reads a channel before its first logged epoch); 1 record(s) with non-finite curve values (first: line 4, curve.val_acc[3]) stayed "
        "non-finite to the end, read as diverged runs, each such value as its channel's worst finite value in the "
        "file (val_acc 0.2)")
    # the last logged value, what the run had logged by then (the first logged one before it)
    assert records[1].curve["val_acc"] == pytest.approx([0.2, 0.2, 0.2, 0.4])
    assert records[2].curve["val_acc"] == pytest.approx([0.2, 0.2, 0.2, 0.5])
    assert records[1].logged_from == {"val_acc": 2} and records[2].logged_from == {}
    assert records[1].unlogged(1) == ("val_acc", 2) and records[1].unlogged(2) is None
    # written back, the epochs not logged (before the first logged one too) are null again: the same on reading
    assert records[1].to_dict()["curve"]["val_acc"] == [None, 0.2, None, 0.4]
    assert records[3].to_dict()["curve"]["val_acc"] == [0.25, 0.3, 0.35, None]
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in records))
    with pytest.warns(NaapgnnWarning):
        again = load_jsonl(path)
    assert [r.curve["val_acc"].tolist() for r in again] == [r.curve["val_acc"].tolist() for r in records]
    assert records[3].curve["val_acc"] == pytest.approx([0.25, 0.3, 0.35, 0.2])


def test_a_file_of_finite_curves_gives_no_warning(tmp_path):
    path = _write(tmp_path / "b.jsonl", [{"accuracy": [0.3, 0.4]}, {"accuracy": [0.2, 0.25]}])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_jsonl(path)


def test_a_non_finite_learning_rate_is_an_error(tmp_path):
    path = _write(tmp_path / "b.jsonl", [{"accuracy": [0.3, 0.4], "lr": [0.1, 0.1]},
                                         {"accuracy": [0.3, 0.4], "lr": [0.1, float("nan")]}])
    with pytest.raises(NaapgnnError, match=r"b.jsonl line 2: curve.lr\[1\] \(epoch 2\): expected a finite "
                                           r"number, got NaN"):
        load_jsonl(path)


@pytest.mark.parametrize("curve, message", [
    ({"accuracy": [0.3, -0.2]}, "b.jsonl line 2: curve.accuracy[1] (epoch 2, record 'n1'): -0.2 is negative; an "
                                "accuracy lies in [0, 1] or in percent"),
    ({"accuracy": [0.3, 0.4], "val_acc": [-30.0, 40.0]}, "b.jsonl line 2: curve.val_acc[0] (epoch 1, record 'n1'): "
                                                         "-30 is negative"),
    ({"accuracy": [0.3, 0.4], "lr": [0.1, -0.01]}, "b.jsonl line 2: curve.lr[1] (epoch 2, record 'n1'): -0.01 is "
                                                   "negative; a learning rate is 0 or more"),
    ({"accuracy": [0.3, 0.4], "learning_rate": [-0.1, 0.1]}, "curve.learning_rate[0] (epoch 1, record 'n1'): -0.1"),
    ({"accuracy": [0.3, 0.4], "valid_top1": [30.0, -3.0]}, "curve.valid_top1[1] (epoch 2, record 'n1'): -3 is "
                                                          "negative; an accuracy lies in [0, 1] or in percent"),
])
def test_a_negative_accuracy_or_learning_rate_is_an_error(tmp_path, curve, message):
    path = _write(tmp_path / "b.jsonl", [{"accuracy": [0.3, 0.4], "lr": [0.1, 0.1]}, curve])
    with pytest.raises(NaapgnnError) as info:
        load_jsonl(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_negative_learning_rate_in_hparams_is_an_error(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text("".join(json.dumps({"id": f"n{i}", "arch": SCHEME, "hparams": {"lr": lr}, "target": 0.5}) + "\n"
                            for i, lr in enumerate([0.1, -0.1])))
    with pytest.raises(NaapgnnError, match=r"b.jsonl line 2: hparams.lr \(record 'n1'\): -0.1 is negative; a "
                                           "learning rate is 0 or more"):
        load_jsonl(path)


def _with_lr(path, pairs):
    """One record per ``(hparams, lr channel)``."""
    path.write_text("".join(json.dumps({"id": f"n{i}", "arch": SCHEME, "hparams": hparams,
                                        "curve": {"accuracy": [0.3] * len(lr), "lr": lr}, "target": 0.5}) + "\n"
                            for i, (hparams, lr) in enumerate(pairs)))
    return path


def test_a_learning_rate_in_hparams_that_its_channel_contradicts_is_warned_of_by_line_and_id(tmp_path):
    path = _with_lr(tmp_path / "b.jsonl", [({"lr": 0.5}, [0.5] * 3), ({"lr": 0.1}, [0.5] * 3),
                                           ({"lr": 0.5}, [0.1, 0.1, 0.01]), ({"lr": 0.1}, [0.1] * 3)])
    with pytest.warns(NaapgnnWarning) as caught:
        load_jsonl(path)
    assert [str(w.message) for w in caught] == [
        f"{path} line 2 (record 'n1'): hparams.lr 0.1 contradicts curve.lr (0.5), a rate its schedule never takes; a "
        "model reads hparams.lr as the learning rate; and 1 more record(s) (line 3)"]


@pytest.mark.parametrize("lr, rates", [
    (0.1, [0.02, 0.04, 0.06, 0.08, 0.1, 0.09, 0.07]),  # warmup to the hparams rate, then a decay
    (0.02, [0.02, 0.04, 0.06, 0.08, 0.1, 0.09, 0.07]),  # the hparams rate is the warmup's first
    (0.1, [0.02, 0.04, 0.06]),  # a warmup cut before the peak the hparams give
    (0.1, [0.0976, 0.0905, 0.0794, 0.0655, 0.05]),  # a cosine logged after each epoch's step
    (0.1, [0.1, 0.1, 0.01, 0.01, 0.001]),  # step decay
    (0.001, [0.001, 0.05, 0.1, 0.05, 0.001, 0.05]),  # cyclic, hparams giving its base rate
    (0.1, [0.001, 0.05, 0.1, 0.05, 0.001, 0.05]),  # cyclic, hparams giving its top
    (0.1, [0.1, 0.0, 0.0]),  # a schedule down to 0
])
def test_a_learning_rate_in_hparams_that_its_schedule_takes_is_read_without_a_word(tmp_path, lr, rates):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_jsonl(_with_lr(tmp_path / "b.jsonl", [({"lr": lr}, rates)]))


def test_a_learning_rate_above_a_schedule_that_falls_or_stays_is_warned_of(tmp_path):
    for rates in ([0.05] * 3, [0.05, 0.04, 0.03]):
        with pytest.warns(NaapgnnWarning, match=r"line 1 \(record 'n0'\): hparams.learning_rate 0.1 contradicts "
                                                r"curve.lr \((0.03 to )?0.05\), a rate its schedule never takes"):
            load_jsonl(_with_lr(tmp_path / "b.jsonl", [({"learning_rate": 0.1}, rates)]))


def test_a_top_k_is_an_accuracy_and_its_error_rate_is_not():
    from naapgnn.data.plausibility import is_accuracy_name

    assert all(map(is_accuracy_name, ["valid_top1", "top5", "Top1Acc", "test_top_1"]))
    assert not any(map(is_accuracy_name, ["top1_err", "valid_top1_loss", "top_layer", "stop", "top1_gain"]))


def test_negative_values_of_other_channels_are_read(tmp_path):
    # a loss, a channel of unknown meaning, an accuracy's gain, noise just below 0 are read as they are
    curves = [{"accuracy": [-0.01, 0.4], "loss": [0.5, 0.0], "reward": [-3.0, 2.0], "acc_gain": [-0.1, 0.1]}] * 2
    records = load_jsonl(_write(tmp_path / "b.jsonl", curves))
    assert records[0].curve["reward"][0] == -3.0 and records[0].curve["acc_gain"][0] == -0.1


def test_a_channel_without_any_finite_value_is_an_error(tmp_path):
    path = _write(tmp_path / "b.jsonl", [{"accuracy": [0.3], "loss": [None]}, {"accuracy": [0.2], "loss": [None]}])
    with pytest.raises(NaapgnnError, match="b.jsonl: curve channel 'loss' has no finite value in any record"):
        load_jsonl(path)


def test_a_single_record_outside_a_file_stays_strict():
    with pytest.raises(NaapgnnError, match=r"curve.loss\[0\] \(epoch 1\): expected a finite number, got NaN"):
        record_from_dict({"id": "a", "arch": SCHEME, "curve": {"loss": [float("nan")]}})


def test_the_cli_prints_the_warning_in_one_line(small_benchmark, tmp_path, capsys):
    bench = small_benchmark(5)
    lines = bench.read_text().splitlines()
    first = json.loads(lines[3])
    first["curve"]["loss_mean"][2] = None
    bench.write_text("\n".join(lines[:3] + [json.dumps(first)] + lines[4:]) + "\n")
    rc = main(["evaluate", "--jobs", "1",
               "--data", str(bench), "--budgets", "3", "--seeds", "1", "--jobs", "1", "--inner-folds", "0",
               "--predictors", "curve_best", "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 0
    assert f"naapgnn evaluate: warning: {bench}: 1 record(s) with non-finite curve values (first: line 4, " \
           "curve.loss_mean[2])" in err
    # and at budget 3, where that null is still open, it reads as a run stopped there shows it: said in one line too
    assert ("naapgnn evaluate: warning: budget 3: 1 record(s) read otherwise than their whole file reads them, as a "
            "file cut after epoch 3 shows them (naapgnn.data.gaps): 1 (first: " in err
            and "read as a run that diverged (the worst value of the first 3 epochs)" in err)
    assert len([e for e in err.splitlines() if "warning" in e]) == 2


def _records_with(curves, targets=None):
    from naapgnn.arch.format import parse_architecture
    from naapgnn.data.records import Record

    targets = targets or [0.5] * len(curves)
    return [Record(id=f"n{i}", arch=parse_architecture(SCHEME), curve={k: np.asarray(v, dtype=float) for k, v in c.items()},
                   target=t) for i, (c, t) in enumerate(zip(curves, targets))]


def test_the_target_channel_is_accuracy_only_when_neither_targets_nor_names_tell():
    records = _records_with([{"accuracy": [0.2, 0.3], "val_acc": [0.1, 0.9]}] * 2)
    assert target_channel(records) == ("accuracy", 1.0)
    assert target_channel(records, [0.9, 0.9]) == ("val_acc", 1.0)  # the targets are val_acc's end
    assert target_channel(records, [0.4, 0.4]) == ("accuracy", 1.0)  # closer to its end (0.1 against 0.5)


def test_a_held_out_channel_is_read_before_a_training_one_on_curves_cut_short():
    # Keras logs the training accuracy as ``accuracy`` beside ``val_accuracy``; after 2 of many epochs the
    # training accuracy lies closer to the final validation accuracy, but it is not what the target ends
    keras = _records_with([{"accuracy": [0.5, 0.7], "val_accuracy": [0.3, 0.5]},
                           {"accuracy": [0.6, 0.8], "val_accuracy": [0.35, 0.55]}])
    assert is_training_channel("accuracy", ["accuracy", "val_accuracy"])
    assert not is_training_channel("accuracy", ["accuracy", "loss"])
    assert is_training_channel("train_acc") and is_training_channel("trainingAccuracy")
    assert target_channel(keras) == ("val_accuracy", 1.0)
    assert target_channel(keras, [0.72, 0.8]) == ("val_accuracy", 1.0)
    assert ranking_channel(keras) == ("val_accuracy", 1.0)
    # full curves whose training accuracy is the target: the channel that ends on the targets wins
    assert target_channel(keras, [0.7, 0.8]) == ("accuracy", 1.0)


def test_lcbench_channel_names_load_and_its_held_out_accuracy_is_the_target_channel(tmp_path):
    # LCBench prefixes every channel with Train/: the word train there says nothing of the data logged
    curves = [{"Train/train_accuracy": [55.0, 70.0], "Train/val_accuracy": [40.0, 52.0], "Train/lr": [0.1, 0.09]},
              {"Train/train_accuracy": [60.0, 75.0], "Train/val_accuracy": [45.0, 58.0], "Train/lr": [0.1, 0.09]}]
    records = load_jsonl(_write(tmp_path / "lcbench.jsonl", curves, target=72.0), target_scale="percent")
    assert is_training_channel("Train/train_accuracy") and not is_training_channel("Train/val_accuracy")
    assert not is_training_channel("training_test_acc")
    assert target_channel(records, [0.72, 0.72]) == ("Train/val_accuracy", 0.01)  # train ends closer, cut short
    assert sorted(records[0].curve) == ["Train/train_accuracy", "Train/val_accuracy", "lr"]


def test_a_non_finite_learning_rate_under_another_name_is_refused_as_in_lr(tmp_path):
    curves = [{"accuracy": [0.3, 0.4], "learning_rate": [0.1, 0.05]},
              {"accuracy": [0.3, 0.4], "learning_rate": [0.1, float("nan")]}]
    with pytest.raises(NaapgnnError, match=r"line 2: curve.learning_rate\[1\] \(epoch 2\): expected a "
                                           r"finite number, got NaN"):
        load_jsonl(_write(tmp_path / "lrnan.jsonl", curves))


def test_the_target_channel_is_the_one_whose_end_the_targets_are_in_its_units():
    curves = [{"train_acc": [40.0, 80.0], "val_acc": [30.0, 61.0], "loss": [2.0, 1.0]},
              {"train_acc": [50.0, 90.0], "val_acc": [35.0, 70.0], "loss": [2.0, 0.8]}]
    records = _records_with(curves)
    assert accuracy_channels(records) == ["train_acc", "val_acc"]
    assert target_channel(records, [0.61, 0.70]) == ("val_acc", 0.01)
    assert target_channel(records, [0.8, 0.9]) == ("train_acc", 0.01)
    assert target_channel(records) == ("val_acc", 0.01)  # no targets: the held-out channel, not the training one
    two_held_out = _records_with([{"val_acc": [0.3, 0.6], "test_acc": [0.3, 0.5]}])
    assert target_channel(two_held_out) is None  # two candidates and neither targets nor names tell them apart
    assert target_channel(_records_with([{"val_acc": [0.3, 0.6]}])) == ("val_acc", 1.0)
    assert target_channel(_records_with([{"loss": [2.0, 1.0], "lr": [0.1, 0.1]}])) is None
    timed = _records_with([{"val_acc": [0.3, 0.6], "seconds": [40.0, 181.0]}])
    assert target_channel(timed, [0.6]) == ("val_acc", 1.0)
    assert target_channel(_records_with([{"seconds": [40.0, 181.0]}]), [0.6]) is None  # 1.81 as a percentage
    assert target_channel(_records_with([{"noisy_acc": [-0.02, 1.03]}]), [0.9]) == ("noisy_acc", 1.0)


def test_an_error_rate_holds_the_accuracy_only_when_no_held_out_accuracy_channel_does():
    only_error = _records_with([{"top1_err": [70.0, 40.0], "loss": [2.0, 1.0]}])
    assert accuracy_channels(only_error) == ["top1_err"]
    assert target_channel(only_error) == ("top1_err", -0.01)
    np.testing.assert_allclose(as_accuracy([70.0, 40.0], -0.01), [0.3, 0.6])
    both = _records_with([{"val_acc": [0.3, 0.6], "valid_error": [0.7, 0.4]}])
    assert accuracy_channels(both) == ["val_acc"]  # an accuracy logged beside its error rate is the one read
    assert target_channel(both) == ("val_acc", 1.0)
    # a cross-entropy is lower-is-better but no error rate: one minus it is no accuracy
    assert target_channel(_records_with([{"val_cross_entropy": [0.9, 0.5]}])) is None
    # a held-out error rate beside a training accuracy is the one read, by name and by the targets alone
    beside = _records_with([{"val_error": [0.6, 0.4], "train_accuracy": [0.7, 0.99]},
                            {"val_error": [0.5, 0.3], "train_accuracy": [0.8, 0.99]}], targets=[0.62, 0.71])
    assert accuracy_channels(beside) == ["train_accuracy", "val_error"]
    assert target_channel(beside) == ("val_error", -1.0) and ranking_channel(beside) == ("val_error", -1.0)
    assert target_channel(beside, [0.62, 0.71]) == ("val_error", -1.0)
    assert accuracy_channels(_records_with([{"train_error": [0.6, 0.4], "train_accuracy": [0.7, 0.9]}])) == [
        "train_accuracy"]  # no held-out channel: the accuracy, as before


def test_a_diverged_error_rate_reads_as_its_highest_value(tmp_path):
    path = _write(tmp_path / "b.jsonl", [{"valid_error": [0.8, 0.5, 0.4]}, {"valid_error": [0.9, None, None]}])
    with pytest.warns(NaapgnnWarning, match=r"\(valid_error 0.9\)"):
        records = load_jsonl(path)
    assert records[1].curve["valid_error"].tolist() == [0.9, 0.9, 0.9]


def test_a_sparse_log_ending_on_an_unlogged_epoch_is_no_divergence(tmp_path):
    path = _write(tmp_path / "b.jsonl", [
        {"val_acc": [None, 0.3, None, 0.5, None]},  # every other epoch, the last not logged
        {"val_acc": [0.2, 0.3, None, 0.4, None, None]},  # a longer trailing gap than any inside: diverged
        {"val_acc": [0.2, 0.3, 0.35, 0.4, 0.45, 0.5]},
    ])
    with pytest.warns(NaapgnnWarning):
        records = load_jsonl(path)
    assert records[0].curve["val_acc"] == pytest.approx([0.3, 0.3, 0.3, 0.5, 0.5, 0.5])  # 5 logged, then stopped
    assert records[0].stopped_at == 5
    assert records[1].curve["val_acc"] == pytest.approx([0.2, 0.3, 0.3, 0.4, 0.2, 0.2])


def test_no_budget_reads_a_value_logged_after_it(tmp_path, capsys):
    """A log that starts at epoch 3 (a validation every third epoch): budgets 1 and 2 would read epoch 3."""
    from naapgnn.features.curves import curve_features, values_and_differences
    from naapgnn.models.heuristics import CurveHeuristic

    curves = [{"val_acc": [None, None, 0.1 * i + 0.2, None, None, 0.1 * i + 0.3]} for i in range(6)]
    path = tmp_path / "b.jsonl"
    path.write_text("".join(json.dumps({"id": f"n{i}", "arch": SCHEME, "curve": c, "target": 0.1 * i + 0.35,
                                        "split": "test" if i >= 4 else "train"}) + "\n" for i, c in enumerate(curves)))
    with pytest.warns(NaapgnnWarning):
        records = load_jsonl(path)
    message = "record 'n0': curve channel 'val_acc' logs its first value at epoch 3; budget 2 would read epochs 1..2"
    for read in (lambda: curve_features(records, 2, ["val_acc"]), lambda: values_and_differences(records, 2, ["val_acc"]),
                 lambda: CurveHeuristic("last", budget=2).fit(records).predict(records)):
        with pytest.raises(NaapgnnError, match=re.escape(message)):
            read()
    assert curve_features(records, 3, ["val_acc"]).shape[0] == 6
    assert main(["train", "--data", str(path), "--budget", "2", "--out", str(tmp_path / "m")]) == 2
    assert ("budget 2 needs a logged value by epoch 2; 4 of the 4 records log a channel first later: "
            "'n0' (line 1, val_acc from epoch 3)") in capsys.readouterr().err
    assert main(["evaluate", "--jobs", "1", "--data", str(path), "--budgets", "0,1", "--predictors", "curve_last",
                 "--out", str(tmp_path / "e")]) == 2
    assert ("--budgets: budget 1 reads epochs 1..1, but b.jsonl line 1 (record 'n0') logs 'val_acc' first at epoch 3"
            in capsys.readouterr().err)


def test_a_cost_never_holds_the_accuracy():
    from naapgnn.data.channels import is_cost_channel

    assert all(is_cost_channel(c) for c in ("epoch_time", "train_seconds", "grad_norm", "step", "runtime", "memoryMB"))
    assert not any(is_cost_channel(c) for c in ("accuracy", "val_acc", "epoch_acc", "batchnorm_acc", "top1", "f1"))
    timed = _records_with([{"epoch_time": [40.0, 41.0], "val_acc": [30.0, 61.0]}])
    assert accuracy_channels(timed) == ["val_acc"] and target_channel(timed) == ("val_acc", 0.01)


def test_a_lone_longer_run_is_named_as_maybe_the_odd_one_out(tmp_path):
    curves = [{"val_acc": [0.2, 0.3]}] * 3 + [{"val_acc": [0.2, 0.3, 0.4, 0.5]}]
    with pytest.warns(NaapgnnWarning, match=r"3 record\(s\) with a target end their curve before epoch 4, the "
                                            r"longest .* where there is one\); only 1 reach it \(line 4\): the odd ones "
                                            r"out\?$"):
        load_jsonl(_write(tmp_path / "long.jsonl", curves))


def test_a_finished_run_whose_curve_ends_early_stands_still_to_the_longest(tmp_path, capsys):
    """Early stopping or a divergence its trainer caught: a record with a target and a shorter curve."""
    cyclic = [0.1, 0.01, 0.1, 0.01]
    lines = [{"id": "long", "arch": SCHEME, "curve": {"val_acc": [0.2, 0.3, 0.4, 0.5], "lr": cyclic}, "target": 0.6},
             {"id": "stopped", "arch": SCHEME, "curve": {"val_acc": [0.1, 0.15], "lr": cyclic[:2]}, "target": 0.15},
             {"id": "running", "arch": SCHEME, "curve": {"val_acc": [0.3], "lr": [0.1]}}]
    path = tmp_path / "b.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in lines))
    with pytest.warns(NaapgnnWarning) as caught:
        records = load_jsonl(path)
    assert [str(w.message) for w in caught] == [
        f"{path}: 1 record(s) with a target end their curve before epoch 4, the longest (shortest: line 2, "
        "2 epochs): read as runs stopped early, each channel's last value carried to the end (an lr channel "
        "instead goes on as the schedule of a full-length run whose rates it matched up to its stop, where there is "
        "one)"]
    assert records[1].curve["val_acc"].tolist() == [0.1, 0.15, 0.15, 0.15]
    assert records[1].curve["lr"].tolist() == cyclic  # the schedule it followed goes on
    assert records[1].stopped_at == 2 and records[0].stopped_at is None
    assert records[2].curve["val_acc"].tolist() == [0.3]  # no target: it may still be training
    assert [r.to_dict() for r in records] == lines  # written back as logged
    finished = tmp_path / "finished.jsonl"
    more = [dict(lines[0], id=f"long{i}", arch=[dict(SCHEME[0], width=8 + 2 * i)], target=0.5 + 0.03 * i)
            for i in range(12)]
    finished.write_text("".join(json.dumps(d) + "\n" for d in lines[:2] + more))
    assert main(["train", "--data", str(finished), "--budget", "3", "--out", str(tmp_path / "m"),
                 "--params", '{"max_epochs": 2}', "--quiet"]) == 0
    assert "read as runs stopped early" in capsys.readouterr().err
    assert main(["predict", "--checkpoint", str(tmp_path / "m"), str(path), "--split", "all"]) == 2
    assert "budget 3 needs the first 3 epochs of curve; 1 of the 3 records have fewer: 'running' (line 3, 1 epoch)" in (
        capsys.readouterr().err)


def test_a_file_mixing_percent_and_fraction_curves_is_warned_of(tmp_path):
    fractions = [{"val_acc": [0.3, 0.5]}, {"val_acc": [0.2, 0.6]}, {"val_acc": [0.25, 0.4]}]
    percent = [{"val_acc": [30.0, 50.0]}, {"val_acc": [0.4, 0.5]}, {"val_acc": [20.0, 60.0]}, {"val_acc": [25.0, 40.0]},
               {"val_acc": [22.0, 45.0]}]  # one run dead at 0.5 % of a 200-class task: no warning
    mixed = fractions[:2] + [{"val_acc": [20.0, 60.0]}] * 2
    with pytest.warns(NaapgnnWarning, match=r"curve.val_acc: 2 of 4 records never exceed 1.05 while others reach "
                                            r"60: read as percentages"):  # no majority either way, no targets
        load_jsonl(_write(tmp_path / "mixed.jsonl", mixed, target=None))
    with pytest.raises(NaapgnnError, match=r"curve.val_acc: mixed units: lines 1 \(ends 0.5, target 0.5\), 2 "):
        load_jsonl(_write(tmp_path / "mixed.jsonl", mixed))  # the targets tell: runs in fractions
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dead = _write(tmp_path / "percent.jsonl", percent).read_text().splitlines()
        dead[1] = dead[1].replace('"target": 0.5', '"target": 0.006')  # near chance, as the dead run ends
        (tmp_path / "percent.jsonl").write_text("\n".join(dead) + "\n")
        load_jsonl(tmp_path / "percent.jsonl")
        load_jsonl(_write(tmp_path / "fractions.jsonl", fractions))


@pytest.mark.parametrize("odd, message", [
    ([3], r"line 4 exceeds 1.05 \(up to 60, percentages\?\) while 3 of 4 records never do \(fractions\); give "
          r"every record in the same unit$"),
    ([0, 2, 3, 5, 6], r"lines 1, 3, 4 and 2 more exceed 1.05 \(up to 60, percentages\?\) while 6 of 11 records "),
])
def test_mostly_fractions_with_some_runs_in_percent_is_refused_by_line(odd, message, tmp_path):
    curves = [{"val_acc": [20.0, 60.0] if i in odd else [0.3, 0.5]} for i in range(4 if len(odd) == 1 else 11)]
    with pytest.raises(NaapgnnError, match=r"mixed.jsonl: curve.val_acc: mixed units: " + message):
        load_jsonl(_write(tmp_path / "mixed.jsonl", curves))


def test_declared_percent_files_are_no_mixed_units_and_low_percentages_are_warned_of(tmp_path):
    low = [{"val_acc": [0.5, 0.87], "train_acc": [0.6, 0.9]}, {"val_acc": [0.4, 0.6], "train_acc": [0.5, 0.8]}]
    with pytest.warns(NaapgnnWarning, match=r"low.jsonl: curve val_acc: no value above 1.05, read as fractions, "
                                            r"though most runs would then end off their final accuracy \(in "
                                            r"percent they would not\): percentages\? give them as fractions "
                                            r"\(divided by 100\)$"):
        records = load_jsonl(_write(tmp_path / "low.jsonl", low, target=40), target_scale="percent")
    assert records[0].curve["val_acc"].tolist() == [0.5, 0.87]  # the values alone cannot tell: not changed
    mostly_low = [{"val_acc": [20.0, 60.0]}] + [{"val_acc": [0.3, 0.5]}] * 3  # refused as mixed units undeclared
    records = load_jsonl(_write(tmp_path / "mostly.jsonl", mostly_low, target=60), target_scale="percent")
    assert fraction_scale(records, "val_acc") == 0.01
    with warnings.catch_warnings():  # fractions below their targets, or just above them: no word
        warnings.simplefilter("error")
        load_jsonl(_write(tmp_path / "ends.jsonl", [{"val_acc": [0.3, 0.605]}] * 2, target=60), target_scale="percent")


def test_an_error_rate_in_percent_that_never_exceeds_one_is_warned_of(tmp_path):
    mnist = [{"val_error": [1.0, 0.8]}, {"val_error": [0.9, 0.7]}]  # 0.8 % error, read as 80 %: 20 % accuracy
    with pytest.warns(NaapgnnWarning, match=r"mnist.jsonl: curve val_error: no value above 1.05, read as fractions"):
        load_jsonl(_write(tmp_path / "mnist.jsonl", mnist, target=99.2), target_scale="percent")
    with warnings.catch_warnings():  # error rates in fractions, cut short below the final accuracy: no word
        warnings.simplefilter("error")
        load_jsonl(_write(tmp_path / "early.jsonl", [{"val_error": [0.6, 0.45]}] * 2, target=90), target_scale="percent")
        load_jsonl(_write(tmp_path / "done.jsonl", [{"val_error": [0.2, 0.08]}] * 2, target=92), target_scale="percent")


@pytest.mark.parametrize("name, is_schedule", [
    ("lr", True), ("LR", True), ("head_lr", True), ("learning_rate", True), ("learningRate", True),
    ("val_acc", False), ("learning_progress", False), ("rate_of_success", False), ("clr_acc", False),
    ("lr_acc", False), ("accuracy_at_lr", False), ("lrAcc", False), ("lr_loss", False),
])
def test_a_learning_rate_is_known_by_its_name(name, is_schedule):
    assert is_schedule_name(name) is is_schedule


def test_a_learning_rate_logged_under_another_name_is_the_schedule_never_the_accuracy(tmp_path):
    rates = [0.4, 0.39, 0.37]  # a cosine's start: values an accuracy could have, and the same for every run
    path = _write(tmp_path / "lr.jsonl", [{"val_acc": [0.1 * i, 0.2 * i, 0.3 * i], "learning_rate": rates}
                                          for i in (1, 2, 3)], target=0.4)
    with pytest.warns(NaapgnnWarning, match=r"lr.jsonl: curve channel 'learning_rate' read as the learning-rate "
                                            r"schedule 'lr', never as an accuracy$"):
        records = load_jsonl(path)
    assert list(records[0].curve) == ["val_acc", "lr"] and records[0].curve["lr"].tolist() == rates
    assert target_channel(records, [r.target for r in records]) == ("val_acc", 1.0)
    assert ranking_channel(records) == ("val_acc", 1.0)
    assert record_hparam(records[0], SCHEDULE_PEAK) == 0.4
    gaps = _write(tmp_path / "gaps.jsonl", [{"val_acc": [0.1, 0.2, 0.3], "learning_rate": [0.4, None, 0.37]}] * 2)
    with pytest.raises(NaapgnnError, match=r"line 1: curve.learning_rate\[1\] \(epoch 2\): expected a "
                                           r"finite number, got null"):
        load_jsonl(gaps)  # a gap in the schedule is refused, as in lr


def test_the_learning_rate_name_is_decided_once_per_file(tmp_path):
    mixed = [{"acc": [0.1, 0.2], "lr": [0.3, 0.2]}, {"acc": [0.1, 0.2], "learning_rate": [0.3, 0.2]}]
    with pytest.warns(NaapgnnWarning, match="curve channel 'learning_rate' read as the learning-rate schedule"):
        assert all("lr" in r.curve for r in load_jsonl(_write(tmp_path / "m.jsonl", mixed)))
    two = [{"acc": [0.1, 0.2], "learning_rate": [0.3, 0.2], "head_lr": [0.5, 0.4]}, {"acc": [0.1, 0.2],
                                                                                    "learning_rate": [0.3, 0.2]}]
    with warnings.catch_warnings():  # two names: neither is renamed, in any record, and nothing is said missing
        warnings.simplefilter("error")
        records = load_jsonl(_write(tmp_path / "two.jsonl", two))
    assert [sorted(r.curve) for r in records] == [["acc", "head_lr", "learning_rate"], ["acc", "learning_rate"]]
    both = [{"acc": [0.1, 0.2], "lr": [0.3, 0.2], "learning_rate": [0.3, 0.2]}] * 2
    assert sorted(load_jsonl(_write(tmp_path / "both.jsonl", both))[0].curve) == ["acc", "learning_rate", "lr"]


def test_two_learning_rates_stay_as_named_and_neither_is_an_accuracy(tmp_path):
    path = _write(tmp_path / "two.jsonl", [{"acc": [0.1, 0.2], "lr": [0.3, 0.3], "head_lr": [0.5, 0.4]}] * 2)
    records = load_jsonl(path)
    assert sorted(records[0].curve) == ["acc", "head_lr", "lr"]
    assert accuracy_channels(records) == ["acc"]


def test_records_without_the_learning_rate_others_log_are_warned_of_by_line(tmp_path):
    curves = [{"acc": [0.1, 0.2], "lr": [0.1 * (i + 1)] * 2} for i in range(4)]
    curves[2] = {"acc": [0.1, 0.2]}
    with pytest.warns(NaapgnnWarning, match=r"s.jsonl: 1 record\(s\) \(first: line 3\) log no 'lr' channel, which 3 "
                                            r"other\(s\) log: their learning rate is read as unknown"):
        load_jsonl(_write(tmp_path / "s.jsonl", curves))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_jsonl(_write(tmp_path / "none.jsonl", [{"acc": [0.1, 0.2]}] * 2))  # no record logs one: no warning
        given = tmp_path / "given.jsonl"  # the record without the channel gives its rate in hparams
        given.write_text("".join(json.dumps({"id": f"n{i}", "arch": SCHEME, "curve": c,
                                             "hparams": {"lr": 0.1 * (i + 1)}, "target": 0.5}) + "\n"
                                 for i, c in enumerate(curves)))  # each the rate its channel logs
        load_jsonl(given)


def test_an_id_holding_a_unicode_line_separator_is_one_record(tmp_path):
    path = _write(tmp_path / "u.jsonl", [{"acc": [0.1, 0.2]}] * 3)
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"n1"', '"n\u20281"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert [r.id for r in load_jsonl(path)] == ["n0", "n\u20281", "n2"]
    lines[2] = "{"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(NaapgnnError, match=r"u.jsonl line 3: invalid JSON"):  # the line numbers of the file
        load_jsonl(path)


def test_a_key_given_twice_is_refused_by_line_not_read_as_the_last(tmp_path):
    path = _write(tmp_path / "d.jsonl", [{"acc": [0.1, 0.2]}] * 2)
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"target": 0.5', '"target": 0.5, "target": 0.9')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(NaapgnnError, match=r"d.jsonl line 2: duplicate key 'target' in one JSON object"):
        load_jsonl(path)


@pytest.mark.parametrize("values", [[0.1, 0.2, 3], [], [1e15, -2.5], [0.1, float("nan"), None], [True, 0.2],
                                    [2 ** 60, 0.1], [2 ** 53 + 1], [-(2 ** 53) - 1], [2 ** 53], [1e31], [10 ** 400],
                                    ["0.3"], [float("inf")]])
@pytest.mark.parametrize("diverged_ok", [False, True])
def test_a_channel_read_at_once_reads_as_value_by_value(values, diverged_ok):
    from naapgnn.data.channels import curve_value, curve_values

    def one_by_one():
        return np.array([curve_value(v, "acc", f"curve.acc[{i}] (epoch {i + 1})", diverged_ok)
                         for i, v in enumerate(values)])

    try:
        expected = one_by_one()
    except NaapgnnError as exc:
        with pytest.raises(NaapgnnError, match=re.escape(str(exc))):
            curve_values(values, "acc", diverged_ok)
        return
    got = curve_values(values, "acc", diverged_ok)
    assert got.dtype == float and np.array_equal(got, expected, equal_nan=True)


def test_an_early_stopping_benchmark_whose_runs_reach_its_cap_is_not_asked_about_odd_ones_out(tmp_path):
    curves = [{"val_acc": [0.2, 0.3]}] * 5 + [{"val_acc": [0.2, 0.3, 0.4, 0.5]}] * 3
    with pytest.warns(NaapgnnWarning) as caught:
        load_jsonl(_write(tmp_path / "capped.jsonl", curves))
    ending = "(an lr channel instead goes on as the schedule of a full-length run whose rates it matched up to its " \
             "stop, where there is one)"
    assert [str(w.message).endswith(ending) for w in caught] == [True]


@pytest.mark.parametrize("channel, as_logged", [("val_acc", lambda a: a), ("valid_error", lambda a: 100 * (1 - a))])
def test_targets_that_fall_as_the_final_accuracy_rises_read_as_error_rates(tmp_path, channel, as_logged):
    """Targets of 1 - the final accuracy (error rates) get one warning, whatever the accuracy channel's name and
    unit; the same records with the final accuracy as target get none."""
    finals = np.linspace(0.4, 0.9, 12)
    path = tmp_path / "b.jsonl"
    for targets, warned in [(1 - finals, True), (finals, False)]:
        path.write_text("".join(json.dumps({"id": f"n{i}", "arch": SCHEME, "target": round(float(t), 6), "curve": {
            channel: [round(float(as_logged(a)), 6) for a in (0.2, f)]}}) + "\n" for i, (f, t) in enumerate(zip(
                finals, targets))))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load_jsonl(path)
        said = [str(w.message) for w in caught if "targets fall" in str(w.message)]
        assert said == ([f"{path}: the targets fall as the curves' final {channel} rises (Spearman -1.00 over 12 "
                         "records): error rates? naapgnn's target is the final accuracy, higher is better (give 1 - "
                         "the error), or its top-k figures name the worst architectures"] if warned else [])


def _graph_line(i, classes, head=None):
    layers = [{"op": "conv", "out_channels": 8, "kernel_size": 3}, {"op": "gap"}]
    if head is not None:
        layers.append({"op": "linear", "out_features": head})
    return json.dumps({"id": f"g{i}", "arch": {"input_shape": [3, 32, 32], "num_classes": classes, "layers": layers},
                       "target": 0.5})


def test_records_ending_in_another_number_of_classes_than_most_are_named(tmp_path):
    """A record whose num_classes is 1000 where the others give 100, its own last layer a linear to 100: the format
    appends a classifier, so only the loader's warning can tell the typo."""
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join([_graph_line(i, 100, head=100) for i in range(5)] + [_graph_line(5, 1000, head=100)]
                              + [_graph_line(6, 100)]) + "\n")
    with pytest.warns(NaapgnnWarning) as caught:
        records = load_jsonl(path)
    said = [str(w.message) for w in caught if "num_classes" in str(w.message)]
    assert said == [f"{path}: num_classes differ: 100 in 6 of 7 records, another on line 6 (1000): one benchmark is "
                    "one task (a typo? a classifier to num_classes is appended where a record's last layer gives "
                    "another width)"]
    assert records[5].arch.layers[-1].out_shape == (1000,)  # read as written
    path.write_text("\n".join(_graph_line(i, 100) for i in range(4)) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", NaapgnnWarning)
        load_jsonl(path)  # one number of classes: nothing said

"""Hyperparameters as model inputs (naapgnn.features.hparams): a per-epoch lr schedule's peak, log scales."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from scipy.stats import kendalltau

from baselines.baker import BakerPredictor
from naapgnn.data.records import load_jsonl
from naapgnn.features.hparams import (SCHEDULE_PEAK, hparam_input_names, hparam_inputs, log_columns,
                                      peak_maybe_later, record_hparam, schedule_peak_epoch)
from naapgnn.models.gnn import GNNPredictor

TINY = dict(hidden=16, layers=2, max_epochs=60, patience=15, n_ensemble=2, forest_trees=30)
SCHEME = [{"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
          {"kernel_size": 3, "width": 32, "stride": 2, "residual": False}]


def _cosine(peak, epochs=6):
    return [peak * 0.5 * (1 + math.cos(math.pi * e / epochs)) for e in range(epochs)]


def _record(i, peak, wd, target=None, hparams=True, schedule=True):
    out = {"id": f"n{i}", "arch": SCHEME, "curve": {"accuracy": [0.3, 0.4, 0.45, 0.5, 0.52, 0.53]}}
    if schedule:
        out["curve"]["lr"] = _cosine(peak)
    if hparams:
        out["hparams"] = {"weight_decay": wd}
    if target is not None:
        out["target"] = target
    return out


def _load(tmp_path, rows, name="b.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return load_jsonl(path)


def test_the_schedule_peak_is_read_from_the_lr_channel_when_it_varies(tmp_path):
    records = _load(tmp_path, [_record(0, 0.1, 1e-4), _record(1, 0.01, 1e-3)])
    assert hparam_input_names(records) == ["weight_decay", SCHEDULE_PEAK]
    assert record_hparam(records[0], SCHEDULE_PEAK) == pytest.approx(0.1)
    assert record_hparam(records[1], SCHEDULE_PEAK) == pytest.approx(0.01)
    (bare,) = _load(tmp_path, [_record(2, 0.1, 1e-4, schedule=False)], "bare.jsonl")
    assert math.isnan(record_hparam(bare, SCHEDULE_PEAK))


def test_no_schedule_peak_when_it_is_constant_or_the_hparams_give_a_rate(tmp_path):
    same = _load(tmp_path, [_record(0, 0.1, 1e-4), _record(1, 0.1, 1e-3)])
    assert hparam_input_names(same) == ["weight_decay"]  # NAAP-440: one cyclic schedule for all
    given = [_record(0, 0.1, 1e-4), _record(1, 0.01, 1e-3)]
    for row in given:
        row["hparams"]["lr"] = row["curve"]["lr"][0]
    assert hparam_input_names(_load(tmp_path, given, "given.jsonl")) == ["lr", "weight_decay"]


def test_a_positive_column_over_two_decades_is_read_in_log10():
    values = np.array([[1e-5, 0.1, 2.0, 16.0, np.nan],
                       [1e-3, 0.5, -1.0, 1024.0, 3.0],
                       [np.nan, 1.0, 5.0, 64.0, 600.0]])
    assert log_columns(values) == [True, False, False, False, True]
    assert log_columns(np.zeros((3, 0))) == []


def test_a_zero_in_a_column_spread_over_decades_is_warned_of_as_keeping_it_linear(tmp_path):
    from naapgnn.errors import TrainingRecordsWarning
    from naapgnn.features.hparams import hparam_reading

    spread = [_record(i, 0.1, wd) for i, wd in enumerate([1e-5, 1e-4, 1e-3, 1e-2])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hparam_reading(_load(tmp_path, spread)) == (["weight_decay"], [True])
    with pytest.warns(TrainingRecordsWarning, match=r"hparams weight_decay: positive values spread over 100x or "
                                                    r"more, but some training records give 0, so read on a linear"):
        assert hparam_reading(_load(tmp_path, spread + [_record(9, 0.1, 0.0)])) == (["weight_decay"], [False])
    narrow = [_record(i, 0.1, wd) for i, wd in enumerate([0.0, 1e-4, 5e-4])]  # no two decades: nothing to say
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hparam_reading(_load(tmp_path, narrow)) == (["weight_decay"], [False])


def test_log_inputs_keep_missing_values_and_push_non_positive_ones_far_below(tmp_path):
    records = _load(tmp_path, [_record(0, 0.1, 1e-6), _record(1, 0.01, 1e-2)])
    names = hparam_input_names(records)
    log = log_columns(hparam_inputs(records, names))
    assert log == [True, False]  # weight decay over 4 decades; the peaks over one
    assert hparam_inputs(records, names, log)[:, 0] == pytest.approx([-6.0, -2.0])
    odd = _load(tmp_path, [_record(2, 0.1, 0.0)], "zero.jsonl") + _load(
        tmp_path, [_record(3, 0.1, 1e-3, hparams=False)], "none.jsonl")
    out = hparam_inputs(odd, names, log)
    assert out[0, 0] == pytest.approx(-30.0) and np.isnan(out[1, 0])


@pytest.fixture(scope="module")
def schedule_benchmark(tmp_path_factory):
    """One architecture; the target peaks at a learning rate of 0.01 (given only as the lr channel) and falls
    with log weight decay: at budget 0 only the hyperparameters tell the nets apart."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(120):
        peak, wd = 10 ** rng.uniform(-4, 0), 10 ** rng.uniform(-6, -2)
        target = 0.8 - 0.05 * (math.log10(peak) + 2) ** 2 - 0.02 * (math.log10(wd) + 6)
        rows.append(_record(i, peak, wd, target=round(target, 5)))
    records = _load(tmp_path_factory.mktemp("sched"), rows)
    return records[:90], records[90:]


@pytest.mark.parametrize("make", [lambda: GNNPredictor(budget=0, random_state=0, **TINY),
                                  lambda: BakerPredictor(budget=0)])
def test_predictors_rank_by_the_schedule_and_log_hparams_at_budget_0(schedule_benchmark, make):
    train, test = schedule_benchmark
    model = make().fit(train, np.array([r.target for r in train]))
    assert model.hparam_names_ == ["weight_decay", SCHEDULE_PEAK] and model.hparam_log_ == [True, True]
    tau = kendalltau(model.predict(test), [r.target for r in test])[0]
    assert tau > 0.7, tau  # one architecture: without the schedule and log scales the order is lost


def test_the_log_flags_survive_a_checkpoint_and_the_domain_check_reads_the_channel(schedule_benchmark, tmp_path):
    train, test = schedule_benchmark
    model = GNNPredictor(budget=0, random_state=0, **TINY).fit(train, np.array([r.target for r in train]))
    model.save(tmp_path / "ck")
    loaded = GNNPredictor.load(tmp_path / "ck")
    assert loaded.hparam_log_ == [True, True]
    np.testing.assert_allclose(loaded.predict(test), model.predict(test), rtol=1e-6)
    assert model.domain_report(test[:1])[1] == [""]
    (bare,) = _load(tmp_path, [_record(0, 0.1, 1e-4, schedule=False)], "bare.jsonl")
    reasons = model.domain_report([bare])[1][0]
    assert f"hparam '{SCHEDULE_PEAK}' missing (read as the training mean)" in reasons


def _warmup(peak, epochs=6, warm=3):
    """A linear warmup to ``peak`` at epoch ``warm``, then a cosine decay."""
    return [peak * (e + 1) / warm if e < warm else peak * 0.5 * (1 + math.cos(math.pi * (e - warm + 1) / epochs))
            for e in range(epochs)]


def test_the_peak_epoch_of_the_training_schedules():
    class R:
        def __init__(self, rates, hparams=None):
            self.curve, self.hparams = ({"lr": np.array(rates)} if rates else {}), hparams or {}

    assert schedule_peak_epoch([R(_cosine(0.1)), R(_warmup(0.1)), R(None)]) == 3
    assert schedule_peak_epoch([R(None)]) is None
    assert peak_maybe_later(R(_warmup(0.1)[:2]), 3)  # still warming up
    assert not peak_maybe_later(R(_warmup(0.1)[:5]), 3) and not peak_maybe_later(R(_cosine(0.1)[:2]), 3)
    assert not peak_maybe_later(R(_warmup(0.1)[:2], {SCHEDULE_PEAK: 0.1}), 3)  # the hparams give it
    assert not peak_maybe_later(R(_warmup(0.1)[:2]), None)


def test_a_record_still_in_its_warmup_is_flagged_where_its_peak_is_read(tmp_path):
    rng = np.random.default_rng(1)
    rows = []
    for i in range(40):
        peak = 10 ** rng.uniform(-3, 0)
        row = _record(i, peak, 1e-4, target=round(0.8 - 0.05 * (math.log10(peak) + 1.5) ** 2, 5))
        row["curve"]["lr"] = _warmup(peak)
        rows.append(row)
    records = _load(tmp_path, rows)
    model = GNNPredictor(budget=0, random_state=0, **TINY).fit(records, np.array([r.target for r in records]))
    assert model.domain_["schedule_peak_epoch"] == 3
    cut = []
    for n in (2, 4):
        row = dict(rows[0], id=f"cut{n}", curve={k: v[:n] for k, v in rows[0]["curve"].items()})
        cut += _load(tmp_path, [row], f"cut{n}.jsonl")
    reasons = model.domain_report(cut)[1]
    assert ("lr channel ends at epoch 2 on its highest rate so far, before the training schedules peak (by epoch 3): "
            f"its {SCHEDULE_PEAK} may lie later") in reasons[0]
    assert "lr channel" not in reasons[1]


def test_a_checkpoint_reading_a_learning_rate_as_a_measurement_is_refused(tmp_path):
    from dataclasses import replace

    from naapgnn.errors import NaapgnnError

    rows = [_record(i, 0.1 * (i % 5 + 1), 1e-4, target=0.5 + 0.01 * (i % 7)) for i in range(30)]
    records = [replace(r, curve={"accuracy": r.curve["accuracy"], "learning_rate": r.curve["lr"]})
               for r in _load(tmp_path, rows)]  # as a model saved before such a channel was read as "lr" has it
    model = GNNPredictor(budget=2, random_state=0, **TINY).fit(records, np.array([r.target for r in records]))
    assert "learning_rate" in model.curve_channels_
    model.save(tmp_path / "old")
    with pytest.raises(NaapgnnError, match=r"old: it reads curve channel 'learning_rate' as a measurement, which "
                                           r"this naapgnn .* reads as the learning rate 'lr'; retrain$"):
        GNNPredictor.load(tmp_path / "old")


def test_a_seed_among_the_hparams_is_no_input_and_no_part_of_the_configuration(tmp_path):
    from naapgnn.data.configurations import configuration_groups

    rows = [dict(_record(i, 0.1, 1e-4 * (1 + i // 2), target=0.5 + 0.01 * i), id=f"n{i}") for i in range(12)]
    for i, row in enumerate(rows):
        row["arch"] = [dict(SCHEME[0], width=8 + 8 * (i // 2)), SCHEME[1]]
        row["hparams"]["seed"] = i % 2  # each configuration trained twice
    path = tmp_path / "seeds.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.warns(Warning, match=r"seeds.jsonl: hparams seed: read as the run's seed, not a hyperparameter: no "
                                     r"predictor reads it, and records that differ only in it are runs of one "
                                     r"configuration \(kept on one side of every split\)$"):
        records = load_jsonl(path)
    groups = configuration_groups(records).tolist()
    assert groups[0::2] == groups[1::2] and len(set(groups)) == 6  # each configuration's two seeds together
    assert "seed" not in hparam_input_names(records) and "weight_decay" in hparam_input_names(records)
    model = GNNPredictor(budget=0, **TINY).fit(records)
    inside, reasons = model.domain_report([dict(rows[0], hparams={"weight_decay": 1e-4, "seed": 7})])
    assert inside[0] and "seed" not in reasons[0]  # a new seed is no new recipe
    assert "seed" not in BakerPredictor(budget=0, cv=3).fit(records).hparam_names_

"""Where a configuration has several records (seeds), every held-out prediction inside a fit holds them out together."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import KFold

from naapgnn.data.configurations import held_out_groups
from naapgnn.data.records import records_from_naap440
from naapgnn.models.blended_forest import _out_of_group_bag
from naapgnn.models.ensemble import validation_sets
from naapgnn.models.gate_rules import GroupedFolds, folds
from naapgnn.models.gnn import GNNPredictor

TINY = dict(hidden=8, layers=2, curve_hidden=8, max_epochs=4, patience=4, n_ensemble=3, forest_trees=20, lr=1e-2,
            n_threads=1)


@pytest.fixture(scope="module")
def seeded(naap440):
    """20 NAAP-440 configurations, each run twice (the second run 0.002 more accurate)."""
    records = [r for r in records_from_naap440(naap440) if r.split == "train"][:20]
    return [run for r in records for run in (r, dataclasses.replace(r, id=f"{r.id}-s1", target=r.target + 0.002))]


def _one_set_each(sets, groups) -> bool:
    return all(len({k for k, s in enumerate(sets) if np.isin(np.flatnonzero(groups == g), s).any()}) <= 1
               for g in np.unique(groups))


def test_members_hold_a_configurations_records_out_together():
    groups = np.repeat(np.arange(12), 3)
    sets = validation_sets(36, 3, None, seed=0, groups=groups)
    assert sorted(np.concatenate(sets).tolist()) == list(range(36))  # disjoint folds, every record held out once
    assert _one_set_each(sets, groups)
    assert [len(s) for s in sets] == [12, 12, 12]
    assert all(np.array_equal(a, b) for a, b in zip(validation_sets(36, 3, None, 0), validation_sets(36, 3, None, 0,
                                                                                                     None)))


def test_the_gates_folds_are_grouped_only_where_a_group_repeats():
    groups = np.repeat(np.arange(10), 2)
    grouped = folds(5, 0, groups)
    assert isinstance(grouped, GroupedFolds) and grouped.get_n_splits() == 5
    tests = [test for _, test in grouped.split(np.zeros(20))]
    assert sorted(np.concatenate(tests).tolist()) == list(range(20)) and _one_set_each(tests, groups)
    assert isinstance(folds(5, 0, np.arange(20)), KFold) and isinstance(folds(5, 0), KFold)
    rows = np.arange(0, 20, 2)  # one record of each group: a subset's folds are of its own rows
    assert sorted(np.concatenate([t for _, t in grouped.subset(rows).split()]).tolist()) == list(range(10))


def test_the_forests_held_out_prediction_of_a_record_reads_no_tree_that_trained_on_its_twin():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(60), 3)
    X, y = rng.normal(size=(60, 4))[groups], rng.normal(size=60)[groups]  # a configuration's runs: same inputs
    forest = RandomForestRegressor(n_estimators=100, oob_score=True, random_state=0).fit(X, y)
    plain = np.mean(np.abs(forest.oob_prediction_ - y))
    grouped = _out_of_group_bag(forest, X, groups)
    assert np.isfinite(grouped).all()  # 100 trees: some bag none of a configuration's three runs
    assert plain < 0.3 and np.mean(np.abs(grouped - y)) > 0.8  # the targets are noise: only a twin tells them


def test_with_fewer_than_ten_configurations_records_are_held_out_one_by_one(seeded):
    few = [dataclasses.replace(r, id=f"{r.id}-{k}") for r in seeded[:10:2] for k in range(6)]  # 5 configurations
    assert held_out_groups(few) is None and held_out_groups(seeded) is not None
    model = GNNPredictor(budget=0, **TINY).fit(few)
    assert np.isfinite(model.oof_prediction_).all() and model.stack_gate_  # held-out predictions, a gate


def test_a_fit_holds_both_runs_of_a_configuration_out_by_one_member(seeded):
    model = GNNPredictor(budget=0, **TINY).fit(seeded)
    oof = model.oof_prediction_
    assert np.isfinite(oof).all() and np.allclose(oof[0::2], oof[1::2])  # same inputs, the same member
    assert model.stack_gate_["kind"] in ("graph", "architecture", "hparams", "robust")

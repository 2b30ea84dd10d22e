"""The engine: one fit -> predict -> score loop, resumable, the same with any number of jobs."""
from __future__ import annotations

import numpy as np
import pytest

from naapgnn.data.records import records_from_naap440
from naapgnn.evaluation import engine
from naapgnn.evaluation.benchmark import Benchmark
from naapgnn.evaluation.engine import Predictor, plan_units, run_units
from naapgnn.evaluation.protocols import splits
from naapgnn.io import ResumeLog

SEEDS = (7, 8)


@pytest.fixture(scope="module")
def bench(naap440):
    rows = np.r_[np.flatnonzero(naap440["IsTest"].to_numpy() == 0)[:60],
                 np.flatnonzero(naap440["IsTest"].to_numpy() == 1)[:15]]
    df = naap440.iloc[np.sort(rows)]
    return Benchmark(records_from_naap440(df), df, df["MaxAccuracy"].to_numpy(dtype=float),
                     df["IsTest"].to_numpy().astype(bool), "subset", 90)


def _study(bench):
    predictors = [Predictor("paper:Decision Tree"), Predictor("curve_best"), Predictor("paper:Linear Regression")]
    split_lists = {"official": splits("official", bench.y, bench.is_test),
                   "kfold": splits("kfold", bench.y, n_folds=3, seed=0)}
    units = [u for protocol, split_list in split_lists.items() for p in predictors for b in (0, 3)
             if p.entry.applies(b) for u in plan_units(p, b, protocol, len(split_list), SEEDS)]
    return predictors, units, split_lists


def test_plan_fits_each_seed_on_fixed_splits_and_each_split_otherwise(bench):
    predictors, units, _ = _study(bench)
    official = [(u.predictor, u.budget, u.seed) for u in units if u.protocol == "official"]
    assert official.count(("paper:Decision Tree", 0, 7)) == 1 and ("paper:Decision Tree", 0, 8) in official
    assert [u.seed for u in units if u.protocol == "official" and u.predictor == "curve_best"] == [7]  # unseeded
    assert sorted(u.split for u in units if u.protocol == "kfold" and u.predictor == "curve_best") == [0, 1, 2]


def test_rows_score_the_saved_predictions(bench):
    from naapgnn.evaluation.metrics import all_metrics

    predictors, units, split_lists = _study(bench)
    rows, computed = run_units(bench, predictors, units, split_lists, ResumeLog(None), progress=False)
    assert computed == len(units) == len(rows)
    for unit, row in zip(units, rows):
        assert (row["predictor"], row["budget"], row["protocol"], row["split"], row["seed"]) == (
            unit.predictor, unit.budget, unit.protocol, unit.split, unit.seed)
        assert row["test"] == split_lists[unit.protocol][unit.split][1].tolist()
        expected = all_metrics(bench.y[row["test"]], row["pred"])
        assert row["kendall_tau"] == pytest.approx(expected["kendall_tau"])
        assert row["violations"] == expected["violations"]


def test_a_prefilled_store_is_not_recomputed_and_gives_the_fresh_rows(bench, tmp_path, monkeypatch):
    predictors, units, split_lists = _study(bench)
    fresh, _ = run_units(bench, predictors, units, split_lists, ResumeLog(None), progress=False)
    log = ResumeLog(tmp_path / "runs.jsonl")
    run_units(bench, predictors, units[::2], split_lists, log, progress=False)  # half the units, then "killed"

    done = []
    original = engine.fit_score
    monkeypatch.setattr(engine, "fit_score", lambda p, unit, *a: done.append(unit) or original(p, unit, *a))
    resumed, computed = run_units(bench, predictors, units, split_lists, ResumeLog(tmp_path / "runs.jsonl"),
                                  progress=False)
    assert sorted(map(repr, done)) == sorted(map(repr, units[1::2]))
    assert computed == len(units[1::2])
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in resumed] == \
           [{k: v for k, v in r.items() if k != "seconds"} for r in fresh]


def test_two_jobs_give_the_rows_of_one(bench):
    predictors, units, split_lists = _study(bench)
    one, _ = run_units(bench, predictors, units, split_lists, ResumeLog(None), jobs=1, progress=False)
    two, _ = run_units(bench, predictors, units, split_lists, ResumeLog(None), jobs=2, progress=False)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(two) == strip(one)


def test_a_changed_setting_changes_the_key(bench):
    p, unit = Predictor("gnn", {"hidden": 16}), engine.Unit("gnn", 0, "official", 0, 1)
    test = np.arange(5)
    key = engine.unit_key(bench.fingerprint(), p, unit, test)
    assert key != engine.unit_key(bench.fingerprint(), Predictor("gnn", {"hidden": 32}), unit, test)
    assert key != engine.unit_key(bench.fingerprint(), p, engine.Unit("gnn", 0, "official", 0, 2), test)
    assert key != engine.unit_key(bench.fingerprint(), p, unit, test + 1)


def test_a_new_model_format_changes_the_key(bench, monkeypatch):
    """A store written by an older model (same package version) is not reused for the new one."""
    import naapgnn.models.checkpoint as checkpoint

    p, unit, test = Predictor("gnn", {"hidden": 16}), engine.Unit("gnn", 0, "official", 0, 1), np.arange(5)
    key = engine.unit_key(bench.fingerprint(), p, unit, test)
    monkeypatch.setattr(checkpoint, "CHECKPOINT_VERSION", checkpoint.CHECKPOINT_VERSION + 1)
    assert key != engine.unit_key(bench.fingerprint(), p, unit, test)


def test_gnn_budgets_of_one_split_share_the_graph_part_and_match_fits_from_scratch(bench, monkeypatch):
    from naapgnn.models.gnn import GNNPredictor

    tiny = {"hidden": 8, "layers": 1, "max_epochs": 4, "patience": 4, "n_ensemble": 2, "forest_trees": 10}
    gnn = Predictor("gnn", params=tiny)
    split_lists = {"official": splits("official", bench.y, bench.is_test)}
    units = [u for b in (0, 3, 6) for u in plan_units(gnn, b, "official", 1, SEEDS[:1])]
    fits = []
    monkeypatch.setattr(GNNPredictor, "fit", lambda self, *a, _fit=GNNPredictor.fit, **k: fits.append(self.budget)
                        or _fit(self, *a, **k))
    shared, _ = run_units(bench, [gnn], units, split_lists, ResumeLog(None), progress=False)
    assert fits == [0]  # one graph fit; budgets 3 and 6 refit the curve side only
    for unit, row in zip(units, shared):
        alone, _ = run_units(bench, [gnn], [unit], split_lists, ResumeLog(None), progress=False)
        assert row["budget"] == unit.budget and row["pred"] == alone[0]["pred"]
    assert fits == [0, 0, 3, 6]

"""The forest's share in the GNN's prediction, chosen on the training records' held-out predictions."""
from __future__ import annotations

import numpy as np
import pytest

from naapgnn.data.records import records_from_naap440
from naapgnn.errors import NaapgnnError
from naapgnn.models.applicability import BLEND_WEIGHTS, FALLBACK_BLEND, choose_blend_weight
from naapgnn.models.gnn import GNNPredictor

TINY = dict(hidden=16, layers=2, max_epochs=30, patience=10, n_ensemble=2, forest_trees=20, lr=1e-2, n_threads=1)


def test_the_better_ranking_held_out_predictor_gets_the_weight():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    close, far = y + 0.01 * rng.normal(size=200), y + rng.normal(size=200)
    assert choose_blend_weight(y, close, far)[0] == 0.0
    assert choose_blend_weight(y, far, close)[0] == 0.75  # the GNN keeps a share
    # two independent errors of the same size: the half-half mix ranks best
    weight, taus = choose_blend_weight(y, y + rng.normal(size=200), y + rng.normal(size=200))
    assert weight == 0.5 and sorted(taus) == list(BLEND_WEIGHTS) == [0.0, 0.25, 0.5, 0.75]
    assert taus[0.5] > taus[0.0] + 0.05


def test_rank_not_level_decides():
    rng = np.random.default_rng(2)
    y = rng.normal(size=300)
    gnn = y + 5.0  # the right order at the wrong level
    forest = y + 0.3 * rng.normal(size=300)  # the right level, a noisier order
    weight, taus = choose_blend_weight(y, gnn, forest)
    assert weight == 0.0 and taus[0.0] == pytest.approx(1.0)
    # a tie (a constant forest changes no order) goes to the smaller share
    assert choose_blend_weight(y, y.copy(), np.zeros(300))[0] == 0.0


def test_rows_without_both_predictions_are_skipped_and_too_few_fall_back():
    rng = np.random.default_rng(1)
    y = rng.normal(size=40)
    gnn, forest = y.copy(), y + rng.normal(size=40)
    gnn[:5], forest[5:10] = np.nan, np.nan  # not held out by a member / not readable by the forest
    weight, taus = choose_blend_weight(y, gnn, forest)
    assert weight == 0.0 and taus[0.0] == pytest.approx(1.0) and taus[0.75] < 1.0
    gnn[:35] = np.nan  # 5 rows left with both
    assert choose_blend_weight(y, gnn, forest) == (FALLBACK_BLEND, {})


@pytest.fixture(scope="module")
def train(naap440):
    return [r for r in records_from_naap440(naap440) if r.split == "train"][:100]


def test_auto_blend_fit_predict_and_checkpoint(train, tmp_path):
    from scipy.stats import kendalltau

    model = GNNPredictor(budget=0, **TINY).fit(train)
    assert model.blend_forest == "auto"  # the default, stored unchanged
    assert sorted(model.blend_taus_) == list(BLEND_WEIGHTS)
    assert model.blend_taus_[model.blend_weight_] == max(model.blend_taus_.values())
    assert (model.forest_ is None) == (model.blend_weight_ == 0)
    y = np.array([r.target for r in train])
    share = model.blend_weight_
    forest = model.forest_.oob_prediction_ if model.forest_ is not None else y  # y: unused at share 0
    expected = kendalltau((1 - share) * model.oof_prediction_ + share * forest, y)[0]
    assert model.blend_taus_[share] == pytest.approx(expected, abs=1e-12)
    loaded = GNNPredictor.load(model.save(tmp_path / "ckpt"))
    assert loaded.blend_weight_ == model.blend_weight_ and loaded.blend_taus_ == model.blend_taus_
    assert np.array_equal(loaded.predict(train[:20]), model.predict(train[:20]))


def test_a_fixed_share_is_kept_and_zero_fits_no_forest(train):
    model = GNNPredictor(budget=0, blend_forest=0.75, **TINY).fit(train[:60])
    assert model.blend_weight_ == 0.75 and model.forest_ is not None and model.blend_taus_ == {}
    none = GNNPredictor(budget=0, blend_forest=0, **TINY).fit(train[:60])
    assert none.blend_weight_ == 0.0 and none.forest_ is None


@pytest.mark.parametrize("value", ["half", 1.5, -0.1, True])
def test_bad_blend_values_are_refused_in_one_line(value, train):
    with pytest.raises(NaapgnnError, match="blend_forest must be \"auto\" or in \\[0, 1\\]"):
        GNNPredictor(blend_forest=value, **TINY).fit(train[:20])


def test_blend_choice_script_prints_every_share(naap440, tmp_path, capsys):
    import importlib.util
    import json
    from pathlib import Path

    from naapgnn.data.records import write_jsonl

    path = tmp_path / "bench.jsonl"
    write_jsonl(records_from_naap440(naap440)[:90], path)
    script_path = Path(__file__).resolve().parents[1] / "scripts" / "blend_choice.py"
    spec = importlib.util.spec_from_file_location("blend_choice", script_path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    params = json.dumps({k: v for k, v in TINY.items() if k != "n_threads"})
    assert script.main([str(path), "--draw", "60", "--seed", "3", "--gnn-params", params]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "60 training records; chosen share" in lines[0]
    shares = [float(line.split(" | ")[0]) for line in lines[2:]]
    assert shares == list(BLEND_WEIGHTS)
    taus = [float(line.split(" | ")[1]) for line in lines[2:]]
    chosen = float(lines[0].rsplit(" ", 1)[1])
    assert taus[shares.index(chosen)] == max(taus) and all(len(line.split(" | ")) == 4 for line in lines[2:])
    assert script.main([str(tmp_path / "missing.jsonl")]) == 2

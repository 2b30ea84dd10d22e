"""Records in fractions among records in percent, and channels some records never log (naapgnn.data.units,
naapgnn.data.gaps.never_logged_notice)."""
from __future__ import annotations

import json
import warnings

import pytest

from naapgnn.data.records import load_jsonl
from naapgnn.errors import NaapgnnError, NaapgnnWarning

SCHEME = [{"kernel_size": 3, "width": 16, "stride": 2, "residual": False}]


def _write(path, rows):
    """``rows``: (curve dict, target) pairs, one record each."""
    path.write_text("".join(json.dumps({"id": f"n{i}", "arch": SCHEME, "curve": c, "target": t}) + "\n"
                            for i, (c, t) in enumerate(rows)))
    return path


def _percent_runs(n=9):
    """Runs in percent, each ending a little below its target (a curve cut short)."""
    return [({"val_acc": [20.0 + i, 50.0 + 2 * i]}, (55.0 + 2 * i) / 100) for i in range(n)]


def test_one_record_in_fractions_among_percentages_is_refused_naming_its_line(tmp_path):
    rows = _percent_runs()
    rows.insert(4, ({"val_acc": [0.21, 0.52]}, 0.57))
    path = _write(tmp_path / "mixed.jsonl", rows)
    with pytest.raises(NaapgnnError) as info:
        load_jsonl(path)
    assert str(info.value) == (f"{path}: curve.val_acc: mixed units: line 5 (ends 0.52, target 0.57) in fractions "
                               "(so read, like the others in percent against their targets) while 9 records give "
                               "percent; give every record in the same unit")
    with pytest.raises(NaapgnnError, match="line 5 .* in fractions"):  # declared percent: the same
        load_jsonl(path, target_scale="percent")


def test_an_error_rate_in_fractions_among_percentages_is_refused(tmp_path):
    rows = [({"top1_err": [80.0 - i, 50.0 - 2 * i]}, (52.0 + 2 * i) / 100) for i in range(6)]
    rows.append(({"top1_err": [0.8, 0.47]}, 0.55))
    with pytest.raises(NaapgnnError, match=r"curve.top1_err: mixed units: line 7 \(ends 0.47, target 0.55\)"):
        load_jsonl(_write(tmp_path / "err.jsonl", rows))


def test_a_run_dead_near_chance_in_percent_is_no_fraction(tmp_path):
    # 200 classes: chance is 0.5 %, and the dead run's target is near chance too
    rows = _percent_runs() + [({"val_acc": [0.5, 0.6]}, 0.006), ({"val_acc": [0.4, 0.55]}, 0.005)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        records = load_jsonl(_write(tmp_path / "dead.jsonl", rows))
    assert len(records) == 11


def test_a_slow_start_in_percent_is_no_fraction(tmp_path):
    # a many-class task's first epochs: under 1 % after two epochs, 70 % at the end, while the others reach 5-10 %
    rows = [({"val_acc": [3.0 + i, 6.0 + i]}, 0.7) for i in range(5)] + [({"val_acc": [0.4, 0.9]}, 0.7)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_jsonl(_write(tmp_path / "slow.jsonl", rows))


@pytest.mark.parametrize("odd", [{"val_acc": [], "loss": [2.0, 1.5]}, {"loss": [2.0, 1.5]}])
def test_a_channel_a_record_never_logs_is_named_in_one_warning(odd, tmp_path):
    rows = [({"val_acc": [0.3, 0.5], "loss": [2.0, 1.4]}, 0.55)] * 4
    rows.insert(2, (odd, 0.5))
    with pytest.warns(NaapgnnWarning) as caught:
        load_jsonl(_write(tmp_path / "b.jsonl", rows))
    said = [str(w.message) for w in caught if "log no value" in str(w.message)]
    assert said == [f"{tmp_path / 'b.jsonl'}: curve.val_acc: 1 record(s) log no value (line 3) while 4 do: read as "
                    "runs that diverged before logging it, the channel's worst value at every budget (give its "
                    "values, or null for each epoch not logged)"]


def test_a_misspelt_channel_of_one_record_is_named_beside_the_channel_it_lacks(tmp_path):
    rows = [({"val_acc": [0.3, 0.5], "loss": [2.0, 1.4]}, 0.55)] * 4
    rows.insert(1, ({"val_accc": [0.3, 0.5], "loss": [2.0, 1.4]}, 0.55))
    rows.insert(3, ({"val_loss": [0.3, 0.5], "loss": [2.0, 1.4]}, 0.55))  # a rare channel of no close name
    with pytest.warns(NaapgnnWarning) as caught:
        load_jsonl(_write(tmp_path / "b.jsonl", rows))
    said = [str(w.message) for w in caught if "log no value" in str(w.message)]
    assert said == [f"{tmp_path / 'b.jsonl'}: curve.val_acc: 2 record(s) log no value (line 2, 4) while 4 do (line 2 "
                    "logs 'val_accc', which 1 record(s) log: a misspelling of 'val_acc'?): read as runs that diverged "
                    "before logging it, the channel's worst value at every budget (give its values, or null for each "
                    "epoch not logged)"]


def test_a_channel_most_records_leave_out_is_no_news(tmp_path):
    rows = [({"val_acc": [0.3, 0.5]}, 0.55)] * 3 + [({"val_acc": [0.3, 0.5], "test_acc": [0.3, 0.5]}, 0.55)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_jsonl(_write(tmp_path / "b.jsonl", rows))



def test_records_built_in_python_that_mix_units_are_refused_as_a_file_is(tmp_path):
    """One run in percent among runs in fractions, passed to a predictor in one call: read by one unit, the call
    would read the others 100 times too small and move their predictions with no word."""
    from dataclasses import replace

    import numpy as np

    from naapgnn.models.inputs import as_records

    fractions = [({"val_acc": [0.2 + 0.01 * i, 0.5 + 0.02 * i]}, 0.55 + 0.02 * i) for i in range(9)]
    records = load_jsonl(_write(tmp_path / "f.jsonl", fractions))
    assert as_records(records) == records  # one unit: as given
    percent = replace(records[0], id="pct", curve={"val_acc": 100 * np.asarray(records[0].curve["val_acc"])})
    with pytest.raises(NaapgnnError) as info:
        as_records([percent, *records[1:]], "GNNPredictor")
    assert str(info.value) == ("GNNPredictor: curve.val_acc: mixed units: record 'pct' exceeds 1.05 (up to 50, "
                               "percentages?) while 8 of 9 records never do (fractions); give every record in the "
                               "same unit")
    runs = load_jsonl(_write(tmp_path / "p.jsonl", _percent_runs()))
    assert as_records(runs) == runs  # all in percent: read so
    # one of each, a prediction's records without targets: no majority tells the unit, so the reader's warning,
    # which a Python call once dropped without a word (it read the fraction run 100 times too small)
    bare = [replace(percent, target=None), replace(records[1], target=None)]
    with pytest.warns(NaapgnnWarning, match=r"^GNNPredictor: curve.val_acc: 1 of 2 records never exceed 1.05 while "
                                            r"others reach 50: read as percentages, all of them; fractions mixed in "
                                            r"would read 100 times too small$"):
        as_records(bare, "GNNPredictor")


def test_one_prediction_of_records_in_mixed_units_warns_once(tmp_path):
    """The estimator's steps of one call read its records again (the curve, the graphs): one warning, not one per
    step."""
    from dataclasses import replace

    import numpy as np

    from naapgnn.models.gnn import GNNPredictor

    runs = load_jsonl(_write(tmp_path / "f.jsonl", [({"val_acc": [0.2 + 0.01 * i, 0.5 + 0.02 * i]}, 0.55 + 0.02 * i)
                                                     for i in range(12)]))
    model = GNNPredictor(budget=2, n_ensemble=1, hidden=8, layers=2, curve_hidden=8, max_epochs=4, patience=2,
                         forest_trees=5, n_threads=1, n_jobs=1).fit(runs)
    percent = replace(runs[0], id="pct", target=None, curve={"val_acc": 100 * np.asarray(runs[0].curve["val_acc"])})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        model.predict([percent, replace(runs[1], target=None)])
    said = [str(w.message) for w in caught if w.category is NaapgnnWarning]
    assert len(said) == 1 and said[0].startswith("GNNPredictor: curve.val_acc: 1 of 2 records never exceed 1.05")


def test_a_file_declared_in_percent_whose_runs_mostly_died_near_chance_is_fitted_as_it_was_read(tmp_path):
    """Most runs dead at 0.5 % of a 200-class task stay below 1.05 in percent: the file declared in percent reads
    them so, and a fit of its records must not count them as fractions again (it once refused them)."""
    from dataclasses import replace

    from naapgnn.models.inputs import as_records

    dead = [({"val_acc": [0.4 + 0.01 * i, 0.5]}, 0.5) for i in range(6)]
    alive = [({"val_acc": [30.0 + i, 50.0 + i]}, 55.0 + i) for i in range(4)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NaapgnnWarning)  # the reader's notice of low targets
        records = load_jsonl(_write(tmp_path / "dead.jsonl", dead + alive), target_scale="percent")
    assert all(r.declared_percent for r in records) and records[0].target == 0.005
    assert as_records(records) == records
    with pytest.raises(NaapgnnError, match="mixed units"):  # the same records, undeclared, read as a mixture
        as_records([replace(r, declared_percent=False) for r in records], "GNNPredictor")
    with pytest.raises(NaapgnnError, match="mixed units"):  # one in fractions is still told by its target
        as_records([*records, replace(records[-1], id="f", curve={"val_acc": [0.33, 0.53]}, target=0.58)])

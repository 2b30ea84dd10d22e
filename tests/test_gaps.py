"""Non-finite curve values read as a run stopped at the budget had logged them (naapgnn.data.gaps)."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from naapgnn.data.gaps import as_seen_at
from naapgnn.data.records import load_jsonl

SCHEME = [{"kernel_size": 3, "width": 8, "stride": 2, "residual": False}]
RISING = [round(0.1 + 0.01 * e, 4) for e in range(12)]


def _load(path, curves, targets=None):
    targets = targets or [0.5 + 0.01 * i for i in range(len(curves))]
    path.write_text("".join(json.dumps({"id": f"n{i}", "arch": SCHEME, "curve": {"acc": c}, "target": t}) + "\n"
                            for i, (c, t) in enumerate(zip(curves, targets))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_jsonl(path)


def _two_files(tmp_path):
    """Two files equal in their first 8 epochs: run n1 logs nothing at epochs 6-8, then logs again in one and
    never in the other."""
    others = [RISING, [v + 0.05 for v in RISING]]
    resumed = RISING[:5] + [None] * 3 + RISING[8:]
    diverged = RISING[:5] + [None] * 7
    return (_load(tmp_path / "a.jsonl", [others[0], resumed, others[1]]),
            _load(tmp_path / "b.jsonl", [others[0], diverged, others[1]]))


def test_a_budget_reads_a_gap_still_open_there_the_same_whatever_follows(tmp_path):
    resumed, diverged = _two_files(tmp_path)
    # the whole files differ: one run logged again, the other never did
    assert resumed[1].curve["acc"][5:8].tolist() == [0.14] * 3
    assert diverged[1].curve["acc"][5:8].tolist() == [0.1] * 3
    for budget in (6, 7, 8):
        a, b = as_seen_at(resumed, budget), as_seen_at(diverged, budget)
        # an open gap longer than any earlier one, at epochs the other runs logged: a divergence, in both
        assert a[1].curve["acc"][:budget].tolist() == b[1].curve["acc"][:budget].tolist() \
            == RISING[:5] + [0.1] * (budget - 5)
    # once the run logged again, its gap reads as epochs not logged; the other runs are the same objects
    later = as_seen_at(resumed, 10)
    assert later[1].curve["acc"][:10].tolist() == RISING[:5] + [0.14] * 3 + RISING[8:10]
    assert later[0] is resumed[0] and later[1] is not resumed[1]
    assert resumed[1].curve["acc"][5:8].tolist() == [0.14] * 3  # the loaded records stay as they were


def test_budgets_before_the_gap_or_files_without_one_are_returned_as_they_are(tmp_path):
    resumed, _ = _two_files(tmp_path)
    assert as_seen_at(resumed, 5) is resumed and as_seen_at(resumed, 0) is resumed
    finite = _load(tmp_path / "c.jsonl", [RISING, RISING])
    assert as_seen_at(finite, 6) is finite


def test_a_gap_no_shorter_than_an_earlier_one_is_no_divergence(tmp_path):
    every_other = [None if e % 2 else v for e, v in enumerate(RISING)]  # logged at epochs 1, 3, 5, ...
    records = _load(tmp_path / "d.jsonl", [RISING, every_other, RISING])
    assert as_seen_at(records, 6)[1].curve["acc"][:6].tolist() == [0.1, 0.1, 0.12, 0.12, 0.14, 0.14]


def test_a_sparse_log_at_fixed_epochs_is_read_as_one_at_every_budget(tmp_path):
    # NAS-Bench-101 style: every run logs at epochs 4, 12 and 36 only, gaps longer than any before them
    def sparse(shift):
        curve = [None] * 36
        curve[3], curve[11], curve[35] = 0.3 + shift, 0.5 + shift, 0.7 + shift
        return curve

    extra = sparse(0.03)
    extra[5] = extra[15] = 0.6  # one run logs two more epochs: the others' gaps there stay gaps
    records = _load(tmp_path / "e.jsonl", [sparse(0.0), sparse(0.01), sparse(0.02), extra])
    for budget, last in [(4, 0.3), (8, 0.3), (11, 0.3), (20, 0.5), (35, 0.5), (36, 0.7)]:
        assert as_seen_at(records, budget)[0].curve["acc"][budget - 1] == pytest.approx(last)
    # one run alone says nothing of the file's log: its open gap, longer than any before, reads as a divergence
    alone = _load(tmp_path / "f.jsonl", [sparse(0.0), RISING * 3])
    assert as_seen_at(alone, 20)[0].curve["acc"][19] == pytest.approx(min(RISING))


def test_a_checkpoints_values_stand_for_the_files(tmp_path):
    _, diverged = _two_files(tmp_path)
    seen = as_seen_at(diverged, 7, worst={"acc": 0.05}, unlogged={"acc": []})
    assert seen[1].curve["acc"][:7].tolist() == RISING[:5] + [0.05, 0.05]
    # epochs the checkpoint's training runs did not log: an open gap there is no divergence
    seen = as_seen_at(diverged, 7, worst={"acc": 0.05}, unlogged={"acc": [5, 6]})
    assert seen[1].curve["acc"][:7].tolist() == RISING[:5] + [0.14, 0.14]


def test_evaluate_reads_each_budget_as_the_runs_had_logged_it(tmp_path):
    from naapgnn.evaluation.benchmark import load_benchmark_for_evaluation
    from naapgnn.evaluation.engine import Predictor, plan_units, run_units
    from naapgnn.evaluation.protocols import splits
    from naapgnn.io import ResumeLog

    rng = np.random.default_rng(0)
    curves = [list(np.round(np.sort(rng.uniform(0.1, 0.6, 12)), 4)) for _ in range(12)]
    resumed = [list(c) for c in curves]
    resumed[3][5:8] = [None] * 3
    diverged = [list(c) for c in curves]
    diverged[3][5:] = [None] * 7
    targets = [c[-1] for c in curves]
    predictions = []
    for name, file_curves in [("a", resumed), ("b", diverged)]:
        _load(tmp_path / f"{name}.jsonl", file_curves, targets)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bench = load_benchmark_for_evaluation(tmp_path / f"{name}.jsonl")
        predictor = Predictor("curve_last")
        split_list = {"kfold": splits("kfold", bench.y, n_folds=3, seed=0)}
        units = plan_units(predictor, 7, "kfold", 3, (0,))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rows, _ = run_units(bench, [predictor], units, split_list, ResumeLog(None), progress=False)
        said = [str(w.message) for w in caught if "read otherwise" in str(w.message)]
        # the run that logs again later is read otherwise at budget 7, and said so once
        assert said == ([] if name == "b" else ["budget 7: 1 record(s) read otherwise than their whole file reads "
                                                "them, as a file cut after epoch 7 shows them (naapgnn.data.gaps): 1 "
                                                "(first: 'n3') with non-finite values still open at epoch 7, or a "
                                                "channel not logged by then while most runs log it, read as a run "
                                                "that diverged (the worst value of the first 7 epochs); a run logged "
                                                "every few epochs reads its own values at budgets on its logged "
                                                "epochs"])
        predictions.append({i: p for row in rows for i, p in zip(row["test"], row["pred"])})
    assert predictions[0] == predictions[1]


def test_a_run_that_diverged_after_the_budget_is_said_to_read_what_it_had_logged(tmp_path):
    """On a log at fixed epochs (4, 8, 12) a run that logs 4 and is NaN from 8 to the end reads its epoch-4 value at
    budget 6, as the others do; the warning said it was read as a run that diverged there."""
    from naapgnn.evaluation.benchmark import load_benchmark_for_evaluation
    from naapgnn.evaluation.engine import Predictor, plan_units, run_units
    from naapgnn.evaluation.protocols import splits
    from naapgnn.io import ResumeLog

    curves = [[None] * 3 + [0.3 + 0.01 * i] + [None] * 3 + [0.4 + 0.01 * i] + [None] * 3 + [0.5 + 0.01 * i]
              for i in range(12)]
    curves[2][7:] = [float("nan")] * 5
    curves[5][11] = 0.1  # the file's worst value comes at the last epoch
    _load(tmp_path / "f.jsonl", curves)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench = load_benchmark_for_evaluation(tmp_path / "f.jsonl")
    assert bench.records[2].curve["acc"][:6].tolist() == [0.32] * 4 + [0.1] * 2  # the whole file: diverged
    predictor = Predictor("curve_last")
    split_list = {"kfold": splits("kfold", bench.y, n_folds=3, seed=0)}

    def run(budget):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rows, _ = run_units(bench, [predictor], plan_units(predictor, budget, "kfold", 3, (0,)), split_list,
                                ResumeLog(None), progress=False)
        return rows, [str(w.message) for w in caught if "read otherwise" in str(w.message)]

    # at 8 its NaN is open at the cut: read as diverged there, with the worst of the first 8 epochs, not the file's
    said = run(8)[1]
    assert len(said) == 1 and "1 (first: 'n2') with non-finite values still open at epoch 8" in said[0]
    assert "non-finite from an epoch on" not in said[0]
    rows, said = run(6)
    assert said == ["budget 6: 1 record(s) read otherwise than their whole file reads them, as a file cut after epoch "
                    "6 shows them (naapgnn.data.gaps): 1 (first: 'n2') non-finite from an epoch on to the end of the "
                    "file (a divergence the whole file reads from their last logged value on), read as they stood at "
                    "epoch 6: that value carried over the epochs most runs leave unlogged; a run logged every few "
                    "epochs reads its own values at budgets on its logged epochs"]
    predicted = {i: p for row in rows for i, p in zip(row["test"], row["pred"])}
    assert predicted[2] == pytest.approx(0.32)


def test_search_replays_stop_each_run_at_the_budget(tmp_path):
    from naapgnn.search.problem import SearchProblem

    resumed, diverged = _two_files(tmp_path)
    a, b = SearchProblem(resumed), SearchProblem(diverged)
    np.testing.assert_array_equal(a.stopping_curve(7), b.stopping_curve(7))
    assert [r.curve["acc"][:7].tolist() for r in a.records_at(7)] == [r.curve["acc"][:7].tolist()
                                                                      for r in b.records_at(7)]
    assert a.stopping_curve(10)[1].tolist() != b.stopping_curve(10)[1].tolist()


@pytest.mark.parametrize("seed", range(6))
def test_a_budget_reads_what_the_file_cut_there_reads(tmp_path, seed):
    """Random logs with gaps, divergences, late starts, sparse epochs and early stops: at every budget the first k
    epochs read as those of the same file cut after epoch k, but where a budget is refused (a channel first logged
    later)."""
    rng = np.random.default_rng(seed)
    n, length = 7, 12
    curves = []
    for i in range(n):
        acc = list(np.round(np.sort(rng.uniform(0.1, 0.9, length)), 3))
        loss = list(np.round(np.sort(rng.uniform(0.5, 2.5, length))[::-1], 3))
        for values in (acc, loss):
            kind = rng.integers(5)
            if kind == 1:  # a divergence
                start = int(rng.integers(1, length))
                values[start:] = [None] * (length - start)
            elif kind == 2:  # scattered epochs not logged
                for e in rng.choice(length, 3, replace=False):
                    values[e] = None
            elif kind == 3:  # a late first log
                first = int(rng.integers(1, 4))
                values[:first] = [None] * first
            elif kind == 4 and i % 2:  # a log every third epoch
                values[:] = [v if e % 3 == 2 else None for e, v in enumerate(values)]
        stop = length - 3 * (i % 3 == 2)  # every third run stopped early (its target reached 3 epochs before)
        curves.append({"acc": acc[:stop], "loss": loss[:stop]})
    full = _load_channels(tmp_path / "full.jsonl", curves)
    checked = 0
    for k in range(1, length + 1):
        try:
            cut = _load_channels(tmp_path / f"cut{k}.jsonl", [{c: v[:k] for c, v in r.items()} for r in curves])
        except Exception as exc:  # a channel no record logged by epoch k: no budget k reads it
            assert "has no finite value in any record" in str(exc)
            continue
        seen = as_seen_at(full, k)
        for a, b in zip(seen, cut):
            for c in ("acc", "loss"):
                if a.unlogged(k, [c]) is None:
                    assert a.curve[c][:k].tolist() == pytest.approx(b.curve[c].tolist()), (k, a.id, c)
                    checked += 1
    assert checked > n * length


def _load_channels(path, curves):
    path.write_text("".join(json.dumps({"id": f"n{i}", "arch": SCHEME, "curve": c, "target": 0.5}) + "\n"
                            for i, c in enumerate(curves)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_jsonl(path)


def test_baker_reads_each_run_as_it_stood_at_its_budget(tmp_path):
    from baselines.baker import BakerPredictor

    rng = np.random.default_rng(1)
    curves = [list(np.round(np.sort(rng.uniform(0.1, 0.6, 12)), 4)) for _ in range(12)]
    targets = [c[-1] for c in curves]
    curves[0][9] = 0.01  # a dip after the budget: no diverged run reads it
    training = _load(tmp_path / "train.jsonl", curves, targets)
    model = BakerPredictor(budget=7).fit(training)
    assert model.unlogged_epochs_ == {"acc": []} and model.diverged_values_ == {"acc": min(min(c[:7]) for c in curves)}
    resumed, diverged = _two_files(tmp_path)
    np.testing.assert_array_equal(model.predict(resumed), model.predict(diverged))


def test_a_run_not_yet_logging_where_most_do_reads_as_diverged_else_the_budget_is_refused(tmp_path):
    from naapgnn.data.channels import first_logged_epoch, late_logs

    late = [None] * 5 + RISING[5:]  # its first value at epoch 6
    records = _load(tmp_path / "g.jsonl", [RISING, [v + 0.05 for v in RISING], [v + 0.1 for v in RISING], late])
    assert late_logs(records, 4) == [] and first_logged_epoch(records) == 1
    seen = as_seen_at(records, 4)
    assert seen[3].curve["acc"][:4].tolist() == [0.1] * 4 and seen[3].unlogged(4) is None  # the file's worst
    assert records[3].unlogged(4) == ("acc", 6)  # the loaded record is unchanged
    never = _load(tmp_path / "h.jsonl", [RISING, [v + 0.05 for v in RISING], [v + 0.1 for v in RISING], [None] * 12])
    assert as_seen_at(never, 4)[3].curve["acc"][:4].tolist() == [0.1] * 4  # the same as a run that never logs
    # most runs log first at epoch 3: budgets 1 and 2 are refused, as before
    sparse = _load(tmp_path / "i.jsonl", [[None, None] + RISING[2:]] * 3 + [RISING])
    assert [(r.id, c, e) for r, c, e in late_logs(sparse, 2)] == [("n0", "acc", 3), ("n1", "acc", 3), ("n2", "acc", 3)]
    assert first_logged_epoch(sparse) == 3


def test_a_curve_shorter_than_the_budget_is_not_lengthened(tmp_path):
    # a run in progress, 6 epochs logged, its last not: read at budget 8, it stays 6 epochs long (a reader refuses it)
    records = _load(tmp_path / "j.jsonl", [RISING, RISING, RISING[:5] + [None]], [0.5, 0.5, None])
    assert len(as_seen_at(records, 8)[2].curve["acc"]) == 6


def test_a_run_stopped_early_without_a_channel_others_log_reaches_none_of_its_epochs(tmp_path):
    from naapgnn.data.gaps import training_reading

    lr = [0.1] * 12
    records = _load_channels(tmp_path / "s.jsonl", [{"acc": RISING[:5]}] + [{"acc": RISING, "lr": lr}] * 3)
    assert records[0].stopped_at == 5 and "lr" not in records[0].curve
    worst, unlogged = training_reading(records, ["acc", "lr"], 3)
    assert unlogged == {"acc": [], "lr": []} and worst["acc"] == 0.1


def test_default_budgets_are_counted_in_logging_steps_when_no_default_reads_a_logged_value():
    from naapgnn.data.gaps import budgets_within

    assert budgets_within(range(10), 300, 10) == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert budgets_within([0, 3, 6, 9], 300, 10) == [0, 30, 60, 90]
    assert budgets_within((3, 6, 9), 65, 10) == [30, 60]  # as many as the curve holds
    assert budgets_within(range(10), 300, 5) == [0, 5, 6, 7, 8, 9]  # some default reads a logged value: kept
    assert budgets_within(range(10), 140, 1) == list(range(10))
    assert budgets_within(range(10), 4, 1) == [0, 1, 2, 3, 4]


def _sparse(epochs, length=12, value=None):
    """A curve logged at ``epochs`` (1-based) only, null elsewhere."""
    return [RISING[e - 1] if e in epochs else value for e in range(1, length + 1)]


def test_logged_epochs_are_those_some_record_logs_a_finite_measured_value_at(tmp_path):
    from naapgnn.data.gaps import logged_epochs

    lr = [0.1 * (1 + e % 3) for e in range(12)]  # a schedule: logged every epoch, read at none
    records = _load_channels(tmp_path / "s.jsonl", [{"acc": _sparse({4, 8, 12}), "lr": lr},
                                                    {"acc": _sparse({4, 8, 12}), "loss": _sparse({2, 4, 12})},
                                                    {"acc": _sparse({4, 8, 12}), "lr": lr}])
    assert logged_epochs(records) == [2, 4, 8, 12]
    dense = _load_channels(tmp_path / "d.jsonl", [{"acc": RISING}] * 3)
    assert logged_epochs(dense) == list(range(1, 13))
    diverged = _load_channels(tmp_path / "n.jsonl", [{"acc": RISING[:5] + [None] * 7}, {"acc": RISING}])
    assert logged_epochs(diverged[:1]) == [1, 2, 3, 4, 5]  # its diverged tail logs nothing


def test_default_budgets_move_to_the_last_logged_epoch_before_them():
    """A log at NAS-Bench-101's epochs 4, 12, 36 and 108: budgets 5-9 read what 4 read, for more training."""
    from naapgnn.data.gaps import budgets_within

    nb101 = [4, 12, 36, 108]
    assert budgets_within(range(10), 108, 4, nb101) == [0, 4]
    assert budgets_within((3, 6, 9), 107, 4, nb101) == [4]
    assert budgets_within(range(10), 300, 2, list(range(2, 301, 2))) == [0, 2, 4, 6, 8]
    assert budgets_within(range(10), 300, 10, list(range(10, 301, 10))) == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert budgets_within(range(10), 140, 1, list(range(1, 141))) == list(range(10))


def test_the_budget_note_says_when_defaults_move_to_logged_epochs(tmp_path, capsys):
    from naapgnn.cli.options import budgets_held

    records = _load_channels(tmp_path / "s.jsonl", [{"acc": _sparse({4, 8, 12})}] * 3)
    assert budgets_held((0, 3, 6, 9), 12, first_logged=4, records=records) == [0, 4, 8]
    assert capsys.readouterr().out == (
        "note: budgets 0, 4, 8 instead of 0, 3, 6, 9: some record logs its first value at epoch 4 and the records log "
        "values at epochs 4, 8, 12 only, and a budget between two of them reads what the earlier one read, for more "
        "training (--budgets to choose)\n")


def test_the_budget_note_says_when_defaults_are_counted_in_logging_steps(capsys):
    from naapgnn.cli.options import budgets_held

    assert budgets_held(range(10), 300, first_logged=10) == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
    out = capsys.readouterr().out
    assert ("note: budgets 0, 10, 20, 30, 40, 50, 60, 70, 80, 90 instead of 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, counted in "
            "steps of 10 epochs: some record logs its first value at epoch 10 (--budgets to choose)") in out


def test_the_budget_note_names_the_records_without_a_curve(capsys):
    from types import SimpleNamespace

    from naapgnn.cli.options import budgets_held

    records = [SimpleNamespace(id=f"n{i}", line=i + 1, num_epochs=0 if i % 2 == 0 else 12) for i in range(6)]
    assert budgets_held([0, 3, 6, 9], 0, records=records) == [0]
    assert capsys.readouterr().out == ("note: budgets 0 kept, 3, 6, 9 left out: 3 of the 6 records have no curve "
                                       "(first: line 1, record 'n0'): every budget >= 1 would need one "
                                       "(--budgets to choose)\n")

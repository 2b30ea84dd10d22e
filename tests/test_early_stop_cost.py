"""What early stopping costs when some runs of the benchmark stopped early on their own.

A record whose curve ends before the file's longest is a finished run that stopped early: the loader carries its
last value to the longest length and notes its logged length in ``Record.stopped_at``. Training it to the end costs
that length, stopping it at budget ``k`` costs ``min(k, length)``, and training everything costs the sum of the
lengths; a file whose runs all went the full length costs what it always did (``full_epochs`` each).
"""
import json

import numpy as np
import pandas as pd
import pytest

from naapgnn.search.early_stop import early_stop_run, early_stop_study
from naapgnn.search.problem import load_problem
from naapgnn.search.summary import early_stop_summary
from naapgnn.search.tables import epochs_words

FULL = 20
BUDGET = 6
# (run length, accuracy at epoch BUDGET (the last one for a shorter run), final accuracy = target)
# the loader's notice that it read the short curves as runs stopped early
pytestmark = pytest.mark.filterwarnings("ignore:.*read as runs stopped early")
RUNS = [(20, 0.40, 0.50), (15, 0.30, 0.45), (8, 0.45, 0.60), (5, 0.35, 0.35), (20, 0.20, 0.55)]


def _curve(length: int, at_budget: float, final: float, pad_to: int | None) -> list[float]:
    """A ramp to ``at_budget`` at epoch BUDGET (or at the run's end when it is shorter), then to ``final``; with
    ``pad_to``, the last value repeated to that length (a run that went the full length, flat at the end)."""
    head = np.linspace(0.1, at_budget, min(length, BUDGET))
    tail = np.linspace(at_budget, final, length - BUDGET + 1)[1:] if length > BUDGET else np.array([])
    curve = np.r_[head, tail]
    if pad_to:
        curve = np.r_[curve, np.full(pad_to - length, curve[-1])]
    return [round(float(x), 6) for x in curve]


def _benchmark(path, equal: bool):
    """The five RUNS as a JSON Lines benchmark: curves of their own lengths, or (``equal``) all carried to FULL."""
    lines = []
    for i, (length, at_budget, final) in enumerate(RUNS):
        arch = {"input_shape": [3, 16, 16], "num_classes": 10, "layers": [
            {"op": "conv", "out_channels": 8 + 4 * i, "kernel_size": 3},
            {"op": "conv", "out_channels": 16, "kernel_size": 3, "stride": 2}]}
        curve = _curve(length, at_budget, final, FULL if equal else None)
        lines.append(json.dumps({"id": f"net-{i}", "arch": arch, "curve": {"accuracy": curve}, "target": curve[-1]}))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def mixed(tmp_path):
    return load_problem(_benchmark(tmp_path / "mixed.jsonl", equal=False))


@pytest.fixture
def equal(tmp_path):
    return load_problem(_benchmark(tmp_path / "equal.jsonl", equal=True))


def _curve_rule(problem, order=(0, 1, 2, 3, 4), **lengths):
    return early_stop_run(problem.accuracy, np.array(order), BUDGET, "curve", warmup=1,
                          curve=problem.stopping_curve(BUDGET), ranks=problem.ranks,
                          full_epochs=problem.full_epochs, **lengths)


def test_the_problem_knows_each_run_length(mixed, equal):
    assert [r.stopped_at for r in mixed.records] == [None, 15, 8, 5, None]
    assert mixed.full_epochs == FULL and mixed.run_epochs.tolist() == [20, 15, 8, 5, 20]
    assert mixed.all_epochs == 68 and not mixed.equal_runs
    assert equal.full_epochs == FULL and equal.run_epochs.tolist() == [FULL] * 5
    assert equal.all_epochs == FULL * 5 and equal.equal_runs
    assert isinstance(mixed.all_epochs, int)


def test_the_replay_counts_each_run_by_hand(mixed):
    # warm-up: net-0 kept (20 epochs); net-1: 0.30 < 0.40 at epoch 6, stopped (6); net-2: 0.45 > 0.40, kept to its
    # end at epoch 8 (8); net-3's run was over at epoch 5, before the decision: kept (5); net-4 stopped (6)
    run = _curve_rule(mixed, run_epochs=mixed.run_epochs)
    assert (run.kept, run.stopped, run.epochs) == (3, 2, 20 + 6 + 8 + 5 + 6)
    assert run.best_found == pytest.approx(0.60) and run.best_rank == 1
    # before: every kept candidate cost the longest run, every stopped one the budget
    assert _curve_rule(mixed).epochs == 2 * FULL + 3 * BUDGET
    # keeping everyone costs the sum of the run lengths
    never = early_stop_run(mixed.accuracy, np.arange(5), BUDGET, "predictor", 1e9, mixed.records,
                           lambda i: TargetOracle(), warmup=2, full_epochs=FULL, run_epochs=mixed.run_epochs)
    assert (never.kept, never.epochs) == (5, mixed.all_epochs)


def test_equal_runs_cost_what_they_did(equal):
    run = _curve_rule(equal, run_epochs=equal.run_epochs)
    assert run == _curve_rule(equal)
    assert (run.kept, run.stopped, run.epochs) == (2, 3, 2 * FULL + 3 * BUDGET)
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(5)
        assert _curve_rule(equal, order, run_epochs=equal.run_epochs) == _curve_rule(equal, order)


def test_a_run_over_before_the_budget_is_kept_whatever_the_predictor_says():
    # candidate 2's run stopped on its own at epoch 4, with the best accuracy: at the decision (epoch 6) it is a
    # finished run, so a predictor that expects nothing of it cannot stop it
    accuracy = np.array([0.5, 0.4, 0.9])
    run = early_stop_run(accuracy, np.arange(3), BUDGET, "predictor", 0.0, [None] * 3, lambda i: Pessimist(),
                         warmup=1, full_epochs=FULL, run_epochs=np.array([FULL, FULL, 4]))
    assert (run.kept, run.stopped, run.epochs) == (2, 1, FULL + BUDGET + 4)
    assert run.best_found == pytest.approx(0.9) and run.best_rank == 1


class Pessimist:
    """A predictor that expects every candidate to be useless."""

    def fit(self, X, y):
        return self

    def predict(self, X, return_std=False):
        mean = np.zeros(len(X))
        return (mean, np.zeros(len(X))) if return_std else mean


class TargetOracle:
    """A predictor on records that knows their targets, with a constant spread."""

    def fit(self, X, y):
        return self

    def predict(self, X, return_std=False):
        mean = np.array([r.target for r in X], dtype=float)
        return (mean, np.full_like(mean, 0.01)) if return_std else mean


def _study(problem):
    rows = early_stop_study(problem, budgets=[BUDGET], thresholds=[0.0, 1e9], trials=3, warmup=2,
                            predictor=lambda b, s: TargetOracle(), progress=False)
    return rows, early_stop_summary(rows, problem)


def test_the_train_all_cost_and_speed_ups_are_over_the_run_lengths(mixed, equal):
    rows, summary = _study(mixed)
    never = summary[summary.z == 1e9].iloc[0]  # an enormous z keeps everyone: the cost of training all
    assert never.epochs == 68 and never.speedup == 1.0
    for row in summary.itertuples():
        assert row.speedup == pytest.approx(68 / row.epochs)
    assert all(isinstance(r["epochs"], int) for r in rows)
    rows, summary = _study(equal)
    never = summary[summary.z == 1e9].iloc[0]
    assert never.epochs == FULL * 5 and never.speedup == 1.0
    for r in rows:
        assert r["epochs"] == BUDGET * r["stopped"] + FULL * r["kept"]


def test_the_reports_state_the_costs(tmp_path, capsys):
    from naapgnn.cli import main

    for name, equal, words in [("mixed", False, "up to 20 epochs"), ("equal", True, "20 epochs")]:
        problem = load_problem(_benchmark(tmp_path / f"{name}.jsonl", equal=equal))
        assert epochs_words(problem, " each") == f" ({words} each)"
        assert epochs_words(problem, "") == f" ({words})"
    common = ["--strategy", "early-stop", "--budget", str(BUDGET), "--trials", "1", "--thresholds", "0",
              "--warmup", "2", "--predictor", "forest", "--quiet"]
    assert main(["search", *common, "--data", str(tmp_path / "mixed.jsonl"), "--out", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "train-all cost 68 epochs (runs of 5 to 20 epochs)\n" in out
    text = (tmp_path / "m" / "early_stop.md").read_text()
    assert "| train all" in text and "| 68 " in text and "a kept one its run's length (a run over by epoch k" in text
    assert "3 of the 5 runs stopped early on their own, so a run lasts 5 to 20 epochs and training all costs 68" in text
    assert main(["search", *common, "--data", str(tmp_path / "equal.jsonl"), "--out", str(tmp_path / "e")]) == 0
    out = capsys.readouterr().out
    assert "train-all cost 100 epochs\n" in out
    text = (tmp_path / "e" / "early_stop.md").read_text()
    assert "A stopped candidate costs k epochs, a kept one 20; kept candidates" in text and "| 100 " in text


def _cut_short(path):
    """The five RUNS' first BUDGET + 2 epochs, each target its 20-epoch final accuracy (above its curve's best)."""
    lines = []
    for i, (length, at_budget, final) in enumerate(RUNS):
        arch = {"input_shape": [3, 16, 16], "num_classes": 10, "layers": [
            {"op": "conv", "out_channels": 8 + 4 * i, "kernel_size": 3}]}
        curve = list(np.linspace(0.1, at_budget, BUDGET + 2).round(6))
        lines.append(json.dumps({"id": f"net-{i}", "arch": arch, "curve": {"accuracy": curve}, "target": final + 0.2}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_full_epochs_charges_a_full_training_to_runs_cut_short(tmp_path):
    problem = load_problem(_cut_short(tmp_path / "cut.jsonl"), full_epochs=140)
    assert problem.full_epochs == 140 and problem.run_epochs.tolist() == [140] * 5 and problem.equal_runs
    assert problem.all_epochs == 700
    rows, summary = _study(problem)
    never = summary[summary.z == 1e9].iloc[0]
    assert never.epochs == 700 and never.speedup == 1.0
    for r in rows:
        assert r["epochs"] == BUDGET * r["stopped"] + 140 * r["kept"]


def test_search_full_epochs_option_and_the_cut_short_note(tmp_path, capsys):
    from naapgnn.cli import main

    data = str(_cut_short(tmp_path / "cut.jsonl"))
    common = ["search", "--strategy", "early-stop", "--data", data, "--budget", "3", "--trials", "1",
              "--thresholds", "0", "--warmup", "2", "--predictor", "forest", "--quiet"]
    assert main(common + ["--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert ("note: the costs assume the curves are full trainings (8 epochs), but most targets lie above their "
            "curve's best value, as when the curves hold only the first epochs of longer runs; give --full-epochs N, "
            "the epochs of a full training\n") in out
    assert "train-all cost 40 epochs" in out
    assert main(common + ["--out", str(tmp_path / "b"), "--full-epochs", "140"]) == 0
    out = capsys.readouterr().out
    assert "note: the costs assume" not in out and "train-all cost 700 epochs" in out
    assert "--full-epochs 140" in (tmp_path / "b" / "early_stop.md").read_text()
    assert main(common + ["--out", str(tmp_path / "c"), "--full-epochs", "5"]) == 2
    assert "--full-epochs: 5 is shorter than the longest curve (8 epochs)" in capsys.readouterr().err


def test_no_cut_short_note_when_the_targets_end_the_curves(tmp_path, capsys):
    from naapgnn.cli import main

    _benchmark(tmp_path / "equal.jsonl", equal=True)
    assert main(["search", "--strategy", "early-stop", "--data", str(tmp_path / "equal.jsonl"), "--budget", "6",
                 "--trials", "1", "--thresholds", "0", "--warmup", "2", "--quiet", "--out", str(tmp_path / "e")]) == 0
    assert "note: the costs assume" not in capsys.readouterr().out


def test_evaluate_says_the_same_note_on_screen_and_in_its_report(tmp_path, capsys):
    from naapgnn.cli import main

    data = str(_cut_short(tmp_path / "cut.jsonl"))
    common = ["evaluate", "--data", data, "--budgets", "0,3", "--predictors", "curve_last", "--inner-folds", "0",
              "--seeds", "1", "--jobs", "1", "--quiet"]
    assert main(common + ["--out", str(tmp_path / "a")]) == 0
    note = ("the costs assume the curves are full trainings (8 epochs), but most targets lie above their curve's best "
            "value, as when the curves hold only the first epochs of longer runs; give --full-epochs N, the epochs of "
            "a full training")
    assert f"note: {note}\n" in capsys.readouterr().err
    assert f"- Note: {note}.\n" in (tmp_path / "a" / "report.md").read_text()
    assert main(common + ["--out", str(tmp_path / "b"), "--full-epochs", "140"]) == 0
    assert "the costs assume" not in capsys.readouterr().err
    assert "the costs assume" not in (tmp_path / "b" / "report.md").read_text()


def test_every_early_stopping_figure_has_its_interval_over_orders(mixed, tmp_path, capsys):
    from scipy.stats import binomtest

    from naapgnn.search.settings import SearchSettings
    from naapgnn.search.summary import mean_ci
    from naapgnn.search.early_stop_tables import early_stop_markdown, early_stop_stdout

    rows, summary = _study(mixed)
    frame = pd.DataFrame(rows)
    for r in summary.itertuples():
        same_z = frame.z.isna() if pd.isna(r.z) else frame.z == r.z
        part = frame[(frame.rule == r.rule) & same_z & (frame.budget == r.budget)]
        assert len(part) == 3
        found = int((part.best_rank == 1).sum())
        wilson = binomtest(found, len(part)).proportion_ci(method="wilson")
        assert (r.p_found_best_low, r.p_found_best_high) == pytest.approx((wilson.low, wilson.high))
        assert (r.rank_mean, r.rank_mean_ci) == pytest.approx(mean_ci(part.best_rank), nan_ok=True)
        assert (r.kept, r.kept_ci) == pytest.approx(mean_ci(part.kept), nan_ok=True)
        least = np.minimum(r.budget, mixed.run_epochs).sum()  # every run stopped at the budget: no order spends less
        if r.epochs_ci > 0:
            assert r.speedup_low == pytest.approx(68 / (r.epochs + r.epochs_ci))
            assert r.speedup_high == pytest.approx(68 / max(r.epochs - r.epochs_ci, least))
            assert r.speedup_high > r.speedup
        assert r.epochs >= least
    from naapgnn.search.summary import _speedup_interval

    # a few orders' interval reaching below what stopping every run at the budget costs ends there, not at infinity
    assert _speedup_interval(100, 20, 30, 10) == {"speedup_low": 2.0, "speedup_high": 10.0}
    assert _speedup_interval(100, 50, 10, 10) == {"speedup_low": 100 / 60, "speedup_high": 2.5}
    settings = SearchSettings(strategy="early-stop", trials=3, warmup=2, thresholds=(0.0, 1e9), budget=(BUDGET,))
    row = summary.iloc[0]
    share = f"{row.p_found_best:.0%} ({row.p_found_best_low:.0%}–{row.p_found_best_high:.0%})"
    screen = early_stop_stdout(summary, settings, mixed)
    assert share in screen and f"{row.epochs:,.0f} ± {row.epochs_ci:,.0f}" in screen
    assert share in early_stop_markdown(summary, settings, mixed)

"""``scripts/scoreboard.py``: the GNN-against-Baker table and its count of budgets behind, from the runs' CSVs."""
from __future__ import annotations

import pytest


def _rows():
    return [{"benchmark": "f", "budget": 0, "gnn_tau": 0.5, "baker_tau": 0.6, "gnn_mae": 0.02, "baker_mae": 0.01},
            {"benchmark": "f", "budget": 1, "gnn_tau": 0.7, "baker_tau": 0.71, "gnn_mae": 0.02, "baker_mae": 0.03},
            {"benchmark": "g", "budget": 3, "gnn_tau": 0.8, "baker_tau": 0.79, "gnn_mae": 0.02, "baker_mae": 0.01}]


def test_the_summary_counts_the_budgets_behind_from_one_epoch_on(load_script):
    text = load_script("scoreboard").summary(_rows())
    assert "| f | 0 | 0.500 | 0.600 | 0.0200 | 0.0100 |" in text  # budget 0: no bold, not counted
    assert "| f | 1 | 0.700 | **0.710** | 0.0200 | 0.0300 |" in text
    assert "| g | 3 | 0.800 | 0.790 | 0.0200 | **0.0100** |" in text
    assert text.endswith("Budgets k >= 1: 2; the GNN's tau below Baker's on 1 (f 1); its MAE above Baker's on 1. "
                         "Mean tau over them: GNN 0.7500, Baker 0.7500.\n")


def test_rows_are_read_from_an_evaluate_results_csv_and_a_baker_report_csv(tmp_path, load_script):
    board = load_script("scoreboard")
    results = tmp_path / "results.csv"
    results.write_text("predictor,budget,protocol,mae,kendall_tau\ngnn,0,repeated,0.02,0.5\nbaker,0,repeated,0.01,0.6\n"
                       "gnn,1,repeated,0.02,0.7\nbaker,1,repeated,0.03,0.71\n")
    assert board.evaluate_rows("f", results) == _rows()[:2]
    report = tmp_path / "baker_report.csv"
    report.write_text("benchmark,predictor,budget,kendall_tau,kendall_tau_std,mae,mae_std,seconds\n"
                      "g,gnn,3,0.8,0.1,0.02,0.0,1.0\ng,baker,3,0.79,0.1,0.01,0.0,1.0\n")
    assert board.baker_report_rows(report) == _rows()[2:]


def test_an_unknown_entry_is_refused_in_one_line(tmp_path, load_script):
    with pytest.raises(SystemExit, match="^scoreboard.py: error: --only: unknown entry 'B3'$"):
        load_script("scoreboard").main(["--only", "B2,B3", "--out", str(tmp_path)])
    assert not (tmp_path / "data").exists()

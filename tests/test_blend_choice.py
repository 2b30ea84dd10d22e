"""``scripts/blend_choice.py``: each forest share's held-out and unseen Kendall tau."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from naapgnn.data.records import records_from_naap440, write_jsonl

TINY = dict(hidden=16, layers=2, max_epochs=30, patience=10, n_ensemble=2, forest_trees=20, lr=1e-2)


def test_blend_choice_script_prints_every_share(naap440, tmp_path, capsys):
    path = tmp_path / "bench.jsonl"
    write_jsonl(records_from_naap440(naap440)[:90], path)
    script_path = Path(__file__).resolve().parents[1] / "scripts" / "blend_choice.py"
    spec = importlib.util.spec_from_file_location("blend_choice", script_path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main([str(path), "--draw", "60", "--seed", "3", "--gnn-params", json.dumps(TINY)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(": 60 training records (draw seed 3), statistics forest")
    cells = [line.split(" | ") for line in lines[2:6]]
    assert [float(c[0]) for c in cells] == [0.0, 0.25, 0.5, 0.75] and all(len(c) == 4 for c in cells)
    assert all(-1 <= float(c[1]) <= 1 and float(c[2]) >= 0 and -1 <= float(c[3]) <= 1 for c in cells)
    # the share choose_blend keeps: the default unless another has a lower error and a tau not lower
    held_out = {float(c[0]): (float(c[2]), float(c[1])) for c in cells}
    better = [b for b, (mse, tau) in held_out.items() if mse < held_out[0.25][0] and tau >= held_out[0.25][1]]
    expected = min(better, key=lambda b: held_out[b][0]) if better else 0.25
    assert lines[6] == f"choose_blend (default share 0.25) would blend {expected:g}"
    assert script.main([str(path), "--draw", "60", "--seeds", "3,4", "--every", "1", "--forest", "per_layer",
                        "--gnn-params", json.dumps(TINY)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("(draw seed 3), per_layer forest") and lines[7].endswith("(draw seed 4), per_layer forest")
    assert lines[-1].startswith("mean over seeds 3,4: tau on other records b = 0: ")
    assert script.main([str(tmp_path / "missing.jsonl")]) == 2

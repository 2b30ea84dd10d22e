"""``scripts/baker_report.py --variants``: the deep ResNets' curves transformed as the script says."""
from __future__ import annotations

import numpy as np
import pytest

from naapgnn.data.records import load_benchmark


def test_each_variant_rewrites_the_accuracy_curve_and_nothing_else(small_benchmark, tmp_path, load_script):
    script = load_script("baker_report")
    source = small_benchmark(8, channels=["accuracy"])
    original = load_benchmark(source)
    every4, loss, noisy, again = (load_benchmark(script.variant_file(source, v, tmp_path / v))
                                  for v in ("every4", "loss", "noisy", "noisy"))
    for r, a, b, c, d in zip(original, every4, loss, noisy, again):
        assert (a.id, a.target, a.split, a.arch.to_dict()) == (r.id, r.target, r.split, r.arch.to_dict())
        assert a.curve["accuracy"].tolist() == r.curve["accuracy"][[3, 7]].tolist()
        assert list(b.curve) == ["val_loss"]
        np.testing.assert_allclose(b.curve["val_loss"], -np.log(r.curve["accuracy"] + 0.005))
        assert np.abs(c.curve["accuracy"] - r.curve["accuracy"]).max() < 0.06
        assert c.curve["accuracy"].tolist() == d.curve["accuracy"].tolist()  # seeded
    noise = np.concatenate([c.curve["accuracy"] - r.curve["accuracy"] for r, c in zip(original, noisy)])
    assert noise.std() == pytest.approx(0.01, rel=0.2)


def test_an_unknown_variant_or_one_without_the_deep_file_is_refused(tmp_path, load_script):
    script = load_script("baker_report")
    with pytest.raises(SystemExit, match="--variants: 'cosine' is not one of every4, loss, noisy"):
        script.main(["--variants", "cosine", "--deep", "x.jsonl", "--deep-budgets", "", "--naap-budgets", "",
                     "--out", str(tmp_path)])


def test_bad_input_ends_the_report_with_one_line(tmp_path, load_script):
    """A NAAP-440 path that holds no dataset and --gnn-params that are not a JSON object end in one line naming
    them, not a traceback."""
    script = load_script("baker_report")
    base = ["--deep-budgets", "", "--out", str(tmp_path / "out")]
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit,
                       match=r"^baker_report\.py: error: .*empty \(path\): missing naap440\.csv") as raised:
        script.main(["--naap", str(tmp_path / "empty"), *base])
    assert "\n" not in str(raised.value)
    for params, said in (("{bad", "not JSON"), ("[1]", "expected a JSON object, got '\\[1\\]'")):
        with pytest.raises(SystemExit, match=f"^baker_report\\.py: error: --gnn-params: {said}"):
            script.main(["--gnn-params", params, *base])


def test_gate_ground_truth_script_prints_both_gates_per_generator(capsys, monkeypatch, load_script):
    """A tiny run of scripts/gate_ground_truth.py: a row per generator and gate, and a one-line error for an
    unknown generator."""
    script = load_script("gate_ground_truth")
    rows = script.judge(script.weak, 60, 2, 200, check_picks=False)
    assert rows.shape == (2, 3) and np.isfinite(rows).all() and set(rows[:, 2]) <= {0.0, 1.0}
    monkeypatch.setattr("sys.argv", ["gate_ground_truth.py", "--records", "60", "--draws", "1", "--fresh", "100"])
    assert script.main() == 0
    monkeypatch.setattr("sys.argv", ["gate_ground_truth.py", "--generators", "weak,nonsense"])
    with pytest.raises(SystemExit):
        script.main()
    out, err = capsys.readouterr()
    assert [line.split(" | ")[:2] for line in out.splitlines()[2:]] == [
        [g, gate] for g in ("diverged", "weak", "noise") for gate in ("shipped", "check_picks")]
    assert "unknown nonsense" in err

"""Search beyond NAAP-440: NAS-Bench-201 cells read back from networks, evolution's neighbour hook,
early stopping on a benchmark with 140-epoch curves and no NAAP-440 schedule."""
import json

import numpy as np
import pytest

from naapgnn.arch.format import parse_architecture
from naapgnn.data.nb201 import nb201_network
from naapgnn.data.nb201_cells import (
    all_cells, canonical_cell, cell_from_network, cell_neighbours, cell_string, record_neighbours,
)
from naapgnn.data.records import Record
from naapgnn.errors import NaapgnnError
from naapgnn.search import neighbours as neighbour_hooks
from naapgnn.search.compare import compare_strategies
from naapgnn.search.problem import SearchProblem, rank_targets
from naapgnn.search.strategies import regularized_evolution

ALL_NONE = cell_string(["none"] * 6)
PASS_THROUGH = cell_string(["skip_connect", "skip_connect", "none", "skip_connect", "none", "none"])  # no layer
SAMPLE = [ALL_NONE, PASS_THROUGH, cell_string(["nor_conv_3x3"] * 6),
          cell_string(["none", "nor_conv_1x1", "none", "avg_pool_3x3", "skip_connect", "none"]),  # node 1 cut off
          cell_string(["nor_conv_3x3", "none", "none", "none", "none", "none"]),  # output cut off, dead conv kept
          *all_cells()[::997]]


def conv3_cell(**changes):
    """All edges nor_conv_3x3 except ``changes`` (edge index -> op)."""
    return cell_string([changes.get(f"e{e}", "nor_conv_3x3") for e in range(6)])


def record(i, cell, dataset="cifar10"):
    return Record(id=f"nb201-{i}", arch=parse_architecture(nb201_network(cell, dataset)), target=0.5 + 0.01 * i)


@pytest.mark.parametrize("dataset", ["cifar10", "imagenet16"])
def test_cell_round_trip(dataset):
    assert any("none" in c for c in SAMPLE) and len(SAMPLE) == 21
    for cell in SAMPLE:
        network = nb201_network(cell, dataset)
        recovered = cell_from_network(parse_architecture(network))
        assert nb201_network(recovered, dataset) == network, cell
        assert cell_from_network(network) == recovered == canonical_cell(cell)
        assert canonical_cell(recovered) == recovered


def test_cells_that_build_one_network_share_a_canonical_cell():
    # 0->2 and 1->2 read the same tensor when 0->1 is a skip: swapping their ops changes nothing
    a = cell_string(["skip_connect", "nor_conv_3x3", "none", "none", "none", "skip_connect"])
    b = cell_string(["skip_connect", "none", "nor_conv_3x3", "none", "none", "skip_connect"])
    assert nb201_network(a) == nb201_network(b) and canonical_cell(a) == canonical_cell(b)
    distinct = {canonical_cell(c) for c in all_cells()}
    assert len(all_cells()) == 15625 and len(distinct) == 14039


def test_cell_recovery_errors():
    net = nb201_network(SAMPLE[2])
    with pytest.raises(NaapgnnError, match="record 'x': not a NAS-Bench-201 network"):
        cell_from_network({**net, "num_classes": 7}, where="record 'x'")
    with pytest.raises(NaapgnnError, match="no cell builds these layers"):
        cell_from_network({**net, "layers": net["layers"][:-4] + net["layers"][-3:]})


def test_neighbours_of_a_hand_made_benchmark():
    a, b, c = conv3_cell(), conv3_cell(e0="avg_pool_3x3"), conv3_cell(e5="nor_conv_1x1")
    d = conv3_cell(e0="avg_pool_3x3", e5="nor_conv_1x1")  # two edges from a
    far = conv3_cell(e1="none", e2="none", e3="none")  # three edges from everything
    assert cell_neighbours([a, b, c, d, far]) == [[[1], [2]], [[0], [3]], [[3], [0]], [[2], [1]], []]  # groups by edge
    records = [record(i, cell) for i, cell in enumerate([a, b, c, d, far])]
    assert record_neighbours(records) == cell_neighbours([a, b, c, d, far])
    full = cell_neighbours(all_cells()[:0] + [a] + [conv3_cell(**{f"e{e}": op}) for e in range(6)
                                                    for op in ("none", "skip_connect", "nor_conv_1x1", "avg_pool_3x3")])
    assert [len(g) for g in full[0]] == [4] * 6 and sum(len(g) for g in full[0]) == 24


def test_neighbour_hook_drives_evolution(monkeypatch):
    a, b, c, d = conv3_cell(), conv3_cell(e0="avg_pool_3x3"), conv3_cell(e5="nor_conv_1x1"), \
        conv3_cell(e0="avg_pool_3x3", e5="nor_conv_1x1")
    problem = SearchProblem([record(i, cell) for i, cell in enumerate([a, b, c, d])])
    table = neighbour_hooks.neighbours_of(problem)  # found by the NAS-Bench-201 finder
    assert table == [[[1], [2]], [[0], [3]], [[3], [0]], [[2], [1]]]
    log = []
    order = regularized_evolution(table, problem.accuracy, 4, np.random.default_rng(0), population_size=2,
                                  sample_size=1, log=log)
    assert sorted(order.tolist()) == [0, 1, 2, 3]
    assert all(parent is None or any(child in g for g in table[parent]) for parent, child in log)

    # a benchmark no finder knows: a clear error, then a registered finder makes evolution run
    toy = [Record(id=f"t{i}", arch=parse_architecture({"input_shape": [3, 8, 8], "num_classes": 2, "layers": [
        {"op": "conv", "out_channels": 4 + i, "kernel_size": 3}]}), target=0.1 * i) for i in range(5)]
    with pytest.raises(NaapgnnError, match="register a neighbour finder"):
        compare_strategies(SearchProblem(toy), trials=1, strategies=["evolution"], progress=False)
    monkeypatch.setattr(neighbour_hooks, "NEIGHBOUR_FINDERS", list(neighbour_hooks.NEIGHBOUR_FINDERS))
    chain = [[[j] for j in (i - 1, i + 1) if 0 <= j < 5] for i in range(5)]
    neighbour_hooks.register_neighbours(lambda records: chain if records[0].id == "t0" else None)
    result = compare_strategies(SearchProblem(toy), trials=2, strategies=["evolution"], population_size=2,
                                sample_size=1, progress=False)
    assert result.orders["evolution"].shape == (2, 5)
    assert all(sorted(o) == list(range(5)) for o in result.orders["evolution"].tolist())


def test_rank_targets_follow_the_space():
    assert rank_targets(440) == [(1, "the best"), (5, "top 5 (1%)"), (22, "top 22 (5%)")]
    assert [r for r, _ in rank_targets(15625)] == [1, 16, 157, 782]


def long_curve_benchmark(path, n=30, epochs=140):
    """``n`` small nets, each with a 140-epoch step-decay-like accuracy curve and an ``lr`` hparam."""
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        final = 0.3 + 0.6 * rng.random()
        t = np.arange(1, epochs + 1)
        curve = final * (1 - np.exp(-t / 15)) + 0.01 * rng.standard_normal(epochs)
        curve[-1] = final
        arch = {"input_shape": [3, 16, 16], "num_classes": 10, "layers": [
            {"op": "conv", "out_channels": 8 + 4 * (i % 5), "kernel_size": 3},
            {"op": "conv", "out_channels": 16, "kernel_size": 3, "stride": 2}]}
        lines.append(json.dumps({"id": f"net-{i}", "arch": arch, "curve": {"accuracy": np.clip(curve, 0, 1).tolist()},
                                 "hparams": {"lr": [0.1, 0.01][i % 2]}, "target": float(final)}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_early_stop_on_a_140_epoch_benchmark(tmp_path, capsys):
    import pandas as pd

    from naapgnn.cli import main

    data = long_curve_benchmark(tmp_path / "long.jsonl")
    out = tmp_path / "out"
    common = ["--data", str(data), "--out", str(out), "--quiet", "--warmup", "8", "--predictor", "forest"]
    assert main(["search", "--strategy", "early-stop", "--budget", "5", "20", "--trials", "2",
                 "--thresholds", "0", "100", *common]) == 0
    summary = pd.read_csv(out / "early_stop_summary.csv")
    assert len(summary) == 2 * 3  # per budget: the curve rule and two thresholds
    never = summary[summary.z == 100]  # an enormous z never stops: every candidate trained for 140 epochs
    assert (never.epochs == 30 * 140).all() and (never.p_found_best == 1).all()
    text = (out / "early_stop.md").read_text()
    assert "long.jsonl" in text and "schedule-free curve features" in text and f"{30 * 140:,}" in text
    assert main(["search", "--strategy", "early-stop", "--budget", "140", "--trials", "1", *common]) == 2
    assert "early stopping needs 1..139 epochs (a full training is 140)" in capsys.readouterr().err


def test_default_budgets_fit_a_short_benchmark(tmp_path, capsys):
    """Early stopping's 3, 6, 9 and the baselines' 0, 3, 6, 9 keep the budgets a 5-epoch benchmark holds."""
    import pandas as pd

    from naapgnn.cli import main

    data = long_curve_benchmark(tmp_path / "short.jsonl", epochs=5)
    out = tmp_path / "out"
    assert main(["search", "--strategy", "early-stop", "--trials", "1", "--thresholds", "0", "--data", str(data),
                 "--out", str(out), "--quiet", "--warmup", "8", "--predictor", "forest"]) == 0
    assert ("note: budgets 3 kept, 6, 9 left out: a full training is 5 epochs and the shortest curve 5"
            in capsys.readouterr().out)
    assert pd.read_csv(out / "early_stop_summary.csv").budget.unique().tolist() == [3]
    code = main(["baselines", "--jobs", "1",
                 "--data", str(data), "--models", "Baker et al. nu-SVR", "--jobs", "1", "--quiet",
                 "--protocol", "repeated", "--repeats", "2", "--out", str(tmp_path / "bl")])
    assert code == 0, capsys.readouterr().err
    assert ("note: budgets 0, 3 kept, 6, 9 left out: the shortest curve of the benchmark has 5 epochs"
            in capsys.readouterr().out)
    assert pd.read_csv(tmp_path / "bl" / "baselines.csv").budget.tolist() == [0, 3]

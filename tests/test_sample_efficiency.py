"""scripts/nb201_sample_efficiency.py: splits, seeds, the table, and a resumable run on a tiny NB201 file."""
import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest

from naapgnn.arch.format import parse_architecture
from naapgnn.data.nb201 import CELL_OPS, EDGES, nb201_network
from naapgnn.data.records import Record, write_jsonl
from naapgnn.errors import NaapgnnError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def se():
    spec = importlib.util.spec_from_file_location("nb201_sample_efficiency",
                                                  REPO / "scripts" / "nb201_sample_efficiency.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seed_list(se):
    assert se.seed_list("3") == [0, 1, 2]
    assert se.seed_list("4,7") == [4, 7]
    assert se.seed_list("5") == [0, 1, 2, 3, 4]
    with pytest.raises(NaapgnnError, match="--seeds: empty item in '5,'"):
        se.seed_list("5,")


def test_splits_are_disjoint_cover_all_and_repeat(se):
    pairs = se.sample_splits(100, 10, [0, 1])
    for train, test in pairs:
        assert len(train) == 10 and len(test) == 90
        assert sorted(np.r_[train, test].tolist()) == list(range(100))
    assert not np.array_equal(pairs[0][0], pairs[1][0])
    again = se.sample_splits(100, 10, [1])[0]
    assert np.array_equal(again[0], pairs[1][0]) and np.array_equal(again[1], pairs[1][1])
    # the same seed draws the same first cells whatever N (nested training sets)
    assert set(se.sample_splits(100, 5, [0])[0][0]) <= set(pairs[0][0])


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    cells = list(itertools.islice(itertools.product(CELL_OPS, repeat=6), 0, 15625, 390))[:40]
    records = []
    for i, ops in enumerate(cells):
        convs = sum(op.startswith("nor_conv") for op in ops)
        records.append(Record(id=f"nb201-{i}", arch=parse_architecture(nb201_network(dict(zip(EDGES, ops)))),
                              target=0.5 + 0.05 * convs + 0.001 * i))
    path = tmp_path_factory.mktemp("nb201") / "tiny.jsonl"
    write_jsonl(records, path)
    return path


def test_run_writes_the_table_and_resumes(se, tiny_file, tmp_path, capsys):
    argv = ["--datasets", "cifar10", "--data", f"cifar10={tiny_file}", "--predictors", "onehot_ops",
            "--n-train", "10,20", "--seeds", "2", "--out", str(tmp_path)]
    assert se.main(argv) == 0
    out = capsys.readouterr()
    assert "4 fits computed now, 0 resumed" in out.err
    lines = [line for line in out.out.splitlines() if line.startswith("| CIFAR-10")]
    assert [line.split(" | ")[1] for line in lines] == ["10 (25.0%)", "20 (50.0%)"]
    assert "+-" in lines[0]
    table = (tmp_path / "sample_efficiency.csv").read_text().splitlines()
    assert table[0].startswith("dataset,n_train,predictor,seeds,kendall_tau,kendall_tau_std")
    assert len(table) == 3
    assert se.main(argv) == 0
    assert "0 fits computed now, 4 resumed" in capsys.readouterr().err


def test_bad_options_fail_in_one_line(se, tmp_path, capsys):
    assert se.main(["--datasets", "mnist", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == ("nb201_sample_efficiency: error: --datasets: unknown 'mnist' "
                                               "(expected cifar10, cifar100, imagenet16)")
    assert se.main(["--datasets", "cifar10", "--predictors", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown predictor 'nope'" in capsys.readouterr().err

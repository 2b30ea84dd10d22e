import csv
import json
import subprocess
import sys

import pytest
import torch
from scipy.stats import spearmanr

from naapgnn.arch.builder import build_model
from naapgnn.arch.format import parse_architecture
from naapgnn.arch.profiling import profile
from naapgnn.data.nb201 import nb201_network, parse_cell, read_nb201
from naapgnn.errors import NaapgnnError
from naapgnn.models.zero_cost import score_architectures

from conftest import REPO

NB201 = (REPO / "../shared/data/nb201").resolve()
ZC_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
ZC_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
ZC_DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16"}
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.fixture(scope="module")
def zc():
    path = NB201 / "zc_nasbench201.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return json.loads(path.read_text())["nasbench201"]


def zc_cell(key: str) -> dict:
    return {edge: ZC_OPS[int(o)] for edge, o in zip(ZC_EDGES, key.strip("()").split(","))}


def test_parse_cell_reads_the_notation_and_names_what_is_wrong():
    cell = parse_cell("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|")
    assert cell == {(0, 1): "nor_conv_3x3", (0, 2): "none", (1, 2): "skip_connect",
                    (0, 3): "avg_pool_3x3", (1, 3): "nor_conv_1x1", (2, 3): "none"}
    for text, message in [("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1: unknown op 'conv'"),
                          ("|none~0|+|none~0|none~1|", "expected 3 nodes"),
                          ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "entry 'none~0' should read from node 1"),
                          ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2 inputs, got 1")]:
        with pytest.raises(NaapgnnError, match=message):
            parse_cell(text)


def test_network_layout_identity_edges_and_cut_off_cells():
    arch = parse_architecture(nb201_network(ALL_NONE, "imagenet16"))
    assert arch.input_shape == (3, 16, 16) and arch.num_classes == 120
    zeros = [layer for layer in arch.layers if layer.op == "zero"]
    assert len(zeros) == 15 * 3 and {z.out_shape for z in zeros} == {(16, 16, 16), (32, 8, 8), (64, 4, 4)}
    # only the stem, the two reduction blocks, the last BN-ReLU, pool and classifier hold parameters
    assert profile(arch)[0] == 79156 + (120 - 100) * 65
    twice = parse_architecture(nb201_network("|skip_connect~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|none~2|"))
    assert [layer.inputs for layer in twice.layers if layer.op == "add"][0] == (0, 0)
    model = build_model(twice).eval()
    add_index = next(layer.index for layer in twice.layers if layer.op == "add")
    seen = {}
    model.ops[add_index].register_forward_hook(lambda m, inp, out: seen.setdefault("sum", out))
    model.ops[0].register_forward_hook(lambda m, inp, out: seen.setdefault("stem", out))
    x = torch.randn(2, 3, 32, 32)
    assert model(x).shape == (2, 10)
    assert torch.equal(seen["sum"], 2 * seen["stem"])


@pytest.mark.parametrize("dataset", sorted(ZC_DATASETS))
def test_params_equal_the_published_counts_on_a_sample(zc, dataset):
    cells = sorted(zc[dataset])[::10]
    ours = [round(profile(nb201_network(zc_cell(k), ZC_DATASETS[dataset]))[0] / 1e6, 6) for k in cells]
    assert ours == [zc[dataset][k]["params"] for k in cells]


def test_synflow_ranks_a_sample_as_the_published_scores(zc):
    keys = sorted(zc["cifar10"])[::40] + ["(1, 0, 1, 0, 4, 1)"]  # the last one is cut off: score 0
    archs = [nb201_network(zc_cell(k)) for k in keys]
    ours = score_architectures(archs, "synflow", init="default", batchnorm=False)
    ref = [zc["cifar10"][k]["synflow"] for k in keys]
    assert ours[-1] == 0.0 and ref[-1] == 0.0
    assert spearmanr(ours, ref).statistic >= 0.95


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["CIFAR10TestAccuracy200Epochs", "CIFAR100TestAccuracy200Epochs",
                         "ImageNetTestAccuracy200Epochs", "ArchitectureString", "UniqueString"])
        writer.writerows(rows)


ROWS = [[93.5, 70.25, 44.0, "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
         "skip_connect~2|", "x"], [10.0, 1.0, 0.83, ALL_NONE, "y"]] + \
       [[80 + i, 50, 30, f"|skip_connect~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|{op}~2|", "z"]
        for i, op in enumerate(("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3", "skip_connect"))]


def test_read_nb201_ids_targets_split_and_round_trip(tmp_path):
    from naapgnn.data.records import load_benchmark, write_jsonl

    write_csv(tmp_path / "nb.csv", ROWS)
    records = read_nb201(tmp_path / "nb.csv", "cifar100", train=4, seed=3)
    assert [r.id for r in records] == [f"nb201-{i}" for i in range(6)]
    assert records[0].target == pytest.approx(0.7025) and records[1].target == pytest.approx(0.01)
    assert [r.split for r in records].count("train") == 4 and [r.split for r in records].count("test") == 2
    assert records[0].arch.num_classes == 100
    assert read_nb201(tmp_path / "nb.csv", "cifar10")[0].split is None
    write_jsonl(records, tmp_path / "nb.jsonl")
    again = load_benchmark(tmp_path / "nb.jsonl")
    assert [r.arch for r in again] == [r.arch for r in records]


@pytest.mark.parametrize("row,message", [
    ([101, 1, 1, ALL_NONE, "u"], "line 2: column CIFAR10TestAccuracy200Epochs: accuracy 101 is outside"),
    (["n/a", 1, 1, ALL_NONE, "u"], "line 2: column CIFAR10TestAccuracy200Epochs: expected a number"),
    ([50, 1, 1, "|none~0|", "u"], "line 2: column ArchitectureString: cell '|none~0|': expected 3 nodes"),
])
def test_read_nb201_errors_name_file_line_and_column(tmp_path, row, message):
    write_csv(tmp_path / "nb.csv", [row])
    with pytest.raises(NaapgnnError, match=message):
        read_nb201(tmp_path / "nb.csv", "cifar10")


def test_a_cell_given_twice_is_refused_naming_both_lines(tmp_path):
    write_csv(tmp_path / "nb.csv", [ROWS[0], ROWS[1], ROWS[0]])
    with pytest.raises(NaapgnnError, match=r"nb\.csv line 4: column ArchitectureString: the cell of line 2 again "
                                           r"\(each cell is one row\)$"):
        read_nb201(tmp_path / "nb.csv", "cifar10")


def test_a_column_named_twice_is_refused(tmp_path):
    path = tmp_path / "nb.csv"
    path.write_text(f"ArchitectureString,CIFAR10TestAccuracy200Epochs,ArchitectureString\n{ALL_NONE},10,{ALL_NONE}\n")
    with pytest.raises(NaapgnnError, match=r"nb\.csv: column 'ArchitectureString' appears twice \(columns 1 and 3\)$"):
        read_nb201(path, "cifar10")


def test_accuracies_given_as_fractions_are_refused(tmp_path):
    """nats_bench.csv gives percent; a file of fractions would be divided by 100 a second time."""
    fractions = [[row[0] / 100, *row[1:]] for row in ROWS]
    write_csv(tmp_path / "nb.csv", fractions)
    with pytest.raises(NaapgnnError, match=r"nb.csv: column CIFAR10TestAccuracy200Epochs: every accuracy is at most "
                                           r"1, where nats_bench.csv gives percent"):
        read_nb201(tmp_path / "nb.csv", "cifar10")


def test_cli_import_nb201(tmp_path):
    write_csv(tmp_path / "nb.csv", ROWS)
    out = tmp_path / "nb.jsonl"
    proc = subprocess.run([sys.executable, "-m", "naapgnn", "import", "nb201", str(tmp_path / "nb.csv"),
                           "--dataset", "imagenet16", "-o", str(out), "--train", "2", "--seed", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "wrote 6 records" in proc.stdout and "2 train, 4 test" in proc.stdout and "1 with a cut-off" in proc.stdout
    first = json.loads(out.read_text().splitlines()[0])
    assert first["id"] == "nb201-0" and first["arch"]["input_shape"] == [3, 16, 16]
    proc = subprocess.run([sys.executable, "-m", "naapgnn", "import", "nb201", str(tmp_path / "nb.csv"),
                           "--dataset", "cifar10", "-o", str(out), "--train", "6"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--train must be between 1 and 5" in proc.stderr

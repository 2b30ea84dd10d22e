"""The deep-ResNets importer: the CSV's 684 networks as records, and its errors."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from naapgnn.arch.builder import build_model
from naapgnn.arch.profiling import architecture_statistics
from naapgnn.cli import main
from naapgnn.data.deep_resnets import NUM_EPOCHS, read_deep_resnets, resnet_layers
from naapgnn.data.records import load_benchmark
from naapgnn.errors import NaapgnnError

CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "deep_resnets" / "deep_resnets_tinyimagenet.csv"
needs_csv = pytest.mark.skipif(not CSV.is_file(), reason="deep_resnets_tinyimagenet.csv not beside the checkout")


def _rows():
    with open(CSV, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("num_blocks", [1, 3])
def test_template_depth_is_six_n_plus_two(num_blocks):
    arch = resnet_layers(num_blocks, 8, 3)
    convs = [l for l in arch["layers"] if l["op"] == "conv" and l["kernel_size"] == 3]
    linears = [l for l in arch["layers"] if l["op"] == "linear"]
    assert len(convs) + len(linears) == 6 * num_blocks + 2
    stats = architecture_statistics(arch)
    assert stats["FinalSize"] == 16  # 64x64 halved by stages 2 and 3
    assert stats["NumLayers"] == 1 + 6 * num_blocks + 2  # + the two 1x1 projection shortcuts


def test_post_add_relu_is_built_and_runs():
    net = build_model(resnet_layers(1, 4, 3))
    out = net(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 200)
    adds = [op for op, layer in zip(net.ops, net.arch.layers) if layer.op == "add"]
    assert adds and all(isinstance(op[0], torch.nn.ReLU) for op in adds)


@needs_csv
def test_every_row_becomes_a_record_with_its_curve_and_hparams():
    rows = _rows()
    records = read_deep_resnets(CSV, seed=0)
    assert len(records) == len(rows) == 684
    for i in (0, 100, 683):
        r, row = records[i], rows[i]
        assert r.id == f"deep-resnets-{i}"
        assert r.target == float(row["acc_140"])
        assert len(r.curve["accuracy"]) == NUM_EPOCHS
        assert r.curve["accuracy"][0] == float(row["acc_1"])
        assert r.hparams == {"lr": float(row["lr"]), "ss": float(row["ss"])}
        depth = 6 * int(row["num_blocks"]) + 2
        assert len([l for l in r.arch.layers if l.op in ("conv", "linear")]) == depth + 2  # + two 1x1 projections
    assert sum(r.split == "test" for r in records) == round(0.2 * 684)
    assert sum(r.target < 0.05 for r in records) == sum(float(row["acc_140"]) < 0.05 for row in rows)


@needs_csv
def test_split_is_seeded():
    a = [r.split for r in read_deep_resnets(CSV, seed=1)]
    assert a == [r.split for r in read_deep_resnets(CSV, seed=1)]
    assert a != [r.split for r in read_deep_resnets(CSV, seed=2)]


@needs_csv
def test_cli_writes_a_benchmark_that_reads_back(tmp_path, capsys):
    out = tmp_path / "deep.jsonl"
    assert main(["import", "deep-resnets", str(CSV), "-o", str(out), "--seed", "3"]) == 0
    assert "wrote 684 records" in capsys.readouterr().out
    back = load_benchmark(out)
    assert [r.id for r in back] == [r.id for r in read_deep_resnets(CSV, seed=3)]
    assert back[5] == read_deep_resnets(CSV, seed=3)[5]


@needs_csv
def test_the_schedule_probe_built_on_them_is_a_benchmark_the_reader_takes(tmp_path, load_script):
    """scripts/schedule_probe.py's noise took near-chance curves below 0, which the reader refuses: README's
    command to measure it failed at once."""
    deep, probe = tmp_path / "deep.jsonl", tmp_path / "probe.jsonl"
    assert main(["import", "deep-resnets", str(CSV), "-o", str(deep)]) == 0
    assert load_script("schedule_probe").main(["--deep", str(deep), "-o", str(probe)]) == 0
    records = load_benchmark(probe)
    assert len(records) == 400 and min(r.curve["val_acc"].min() for r in records) >= 0


def _write(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


HEADER = ["num_blocks", "num_filters", "filter_size", "lr", "ss"] + [f"acc_{e}" for e in range(NUM_EPOCHS + 1)]


def test_errors_name_file_line_and_column(tmp_path, capsys):
    good = [1, 4, 3, 0.1, 35000] + [0.5] * (NUM_EPOCHS + 1)
    bad_acc = list(good)
    bad_acc[5 + 7] = "x"
    path = tmp_path / "d.csv"
    _write(path, HEADER, [good, bad_acc])
    with pytest.raises(NaapgnnError, match=r"d.csv line 3: column acc_7: expected a number, got 'x'"):
        read_deep_resnets(path)
    _write(path, HEADER, [[0, 4, 3, 0.1, 35000] + [0.5] * (NUM_EPOCHS + 1)])
    with pytest.raises(NaapgnnError, match=r"line 2: column num_blocks: expected a positive integer"):
        read_deep_resnets(path)
    _write(path, HEADER, [[1, 4, 3, 0.1, 35000] + [50.0] * (NUM_EPOCHS + 1)])
    with pytest.raises(NaapgnnError, match=r"column acc_1: accuracy 50.0 is outside \[0, 1\]"):
        read_deep_resnets(path)
    _write(path, HEADER, [[1, 4, 3, 0.1, -5] + [0.5] * (NUM_EPOCHS + 1)])
    with pytest.raises(NaapgnnError, match=r"line 2: column ss: expected a positive number, got '-5'"):
        read_deep_resnets(path)
    _write(path, ["base_model", "training_dataset", *HEADER], [["vgg", "tinyimagenet", *good]])
    with pytest.raises(NaapgnnError, match=r"line 2: column base_model: expected 'resnet' \(the template read here\), "
                                           r"got 'vgg'"):
        read_deep_resnets(path)
    _write(path, HEADER, [[1, 4, 4, 0.1, 35000] + [0.5] * (NUM_EPOCHS + 1)])
    with pytest.raises(NaapgnnError, match=r"line 2: column filter_size: expected an odd kernel size, got '4'"):
        read_deep_resnets(path)
    _write(path, HEADER, [good, good + [0.5]])
    with pytest.raises(NaapgnnError, match=rf"d.csv line 3: {len(HEADER) + 1} cells, the header has {len(HEADER)}$"):
        read_deep_resnets(path)
    _write(path, HEADER, [good[:-2]])
    with pytest.raises(NaapgnnError, match=rf"d.csv line 2: {len(HEADER) - 2} cells, the header has {len(HEADER)}$"):
        read_deep_resnets(path)
    _write(path, HEADER, [[201, 4, 3, 0.1, 35000] + [0.5] * (NUM_EPOCHS + 1)])
    with pytest.raises(NaapgnnError, match=r"line 2: column num_blocks: at most 200 blocks per stage .*got '201'"):
        read_deep_resnets(path)
    for text in ("", "\n"):
        path.write_text(text)
        with pytest.raises(NaapgnnError, match=r"d.csv: empty file, expected a header line$"):
            read_deep_resnets(path)
    for share in (0, 1, 1.5):
        with pytest.raises(NaapgnnError, match=rf"^--test-fraction must be strictly between 0 and 1 .*got {share:g}$"):
            read_deep_resnets(path, test_fraction=share)
    _write(path, HEADER[:-1], [good[:-1]])
    assert main(["import", "deep-resnets", str(path), "-o", str(tmp_path / "o.jsonl")]) == 2
    assert "missing column 'acc_140'" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_post_add_activation_is_encoded():
    from naapgnn.graph.encoding import NODE_FEATURES, encode

    with_relu = resnet_layers(1, 4, 3)
    without = json.loads(json.dumps(with_relu))
    for layer in without["layers"]:
        if layer["op"] == "add":
            layer["activation"] = "none"
    col = NODE_FEATURES.index("activation")
    add = NODE_FEATURES.index("type_add") if "type_add" in NODE_FEATURES else None
    a, b = encode(with_relu), encode(without)
    assert a.x.shape == b.x.shape
    assert (a.x[:, col] - b.x[:, col]).sum() == 3  # one add per block, three blocks
    if add is not None:
        assert set(((a.x[:, col] != b.x[:, col]).nonzero().flatten()).tolist()) <= set(
            (a.x[:, add] == 1).nonzero().flatten().tolist())


@pytest.mark.parametrize("benchmark", ["deep-resnets", "nb201"])
def test_import_refuses_to_overwrite_its_input_a_folder_or_a_negative_seed(benchmark, tmp_path, capsys):
    path = tmp_path / "d.csv"
    _write(path, HEADER, [[1, 4, 3, 0.1, 35000] + [0.5] * (NUM_EPOCHS + 1)])
    before = path.read_bytes()
    extra = ["--dataset", "cifar10"] if benchmark == "nb201" else []
    cases = [(["-o", str(path)], f"-o {path}: is the input CSV; give another file"),
             (["-o", str(tmp_path)], f"-o {tmp_path}: is a folder; give a file name"),
             (["-o", str(tmp_path / "o.jsonl"), "--seed", "-1"],
              "--seed must be an integer from 0 to 4294967295, got -1")]
    for argv, message in cases:
        assert main(["import", benchmark, str(path), *extra, *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err
    assert path.read_bytes() == before


@needs_csv
def test_baselines_run_on_a_benchmark_of_records(tmp_path, capsys):
    from naapgnn.data.records import write_jsonl

    path = tmp_path / "deep60.jsonl"
    write_jsonl(read_deep_resnets(CSV, seed=0)[:60], path)
    out = tmp_path / "bl"
    code = main(["baselines", "--jobs", "1",
                 "--data", str(path), "--budgets", "0,3", "--protocol", "repeated", "--repeats", "2",
                 "--models", "Baker et al. nu-SVR,Per-layer Random Forest + cycle", "--jobs", "1", "--quiet",
                 "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    table = pd.read_csv(out / "baselines.csv")
    # the cycle forest reads loss_mean, which the deep ResNets do not record: left out at budget 3, with a note
    assert table[["model", "budget"]].values.tolist() == [["Baker et al. nu-SVR", 0], ["Baker et al. nu-SVR", 3]]
    assert table["kendall_tau"].between(-1, 1).all() and (table["kendall_tau"] > 0).all()
    assert "Per-layer Random Forest + cycle is left out at budgets >= 1" in captured.err
    assert not (out / "paper_comparison.csv").exists()


@needs_csv
@pytest.mark.parametrize("extra, message", [
    (["--budgets", "141"], "--budgets: budget 141 needs 141 epochs of curve, deep20.jsonl line 1 (record "
                                  "'deep-resnets-0') has 140"),
    (["--compare-paper"], "--compare-paper: the paper's table is of NAAP-440"),
])
def test_baselines_on_records_refuse_what_does_not_apply(tmp_path, capsys, extra, message):
    from naapgnn.data.records import write_jsonl

    path = tmp_path / "deep20.jsonl"
    write_jsonl(read_deep_resnets(CSV, seed=0)[:20], path)
    assert main(["baselines", "--jobs", "1", "--data", str(path), "--out", str(tmp_path / "bl"), *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_csv_with_a_byte_order_mark_reads_as_without(tmp_path):
    """Excel's "CSV UTF-8" starts the file with a byte-order mark, which would glue itself to the first column name."""
    good = [1, 4, 3, 0.1, 35000] + [0.5] * (NUM_EPOCHS + 1)
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    _write(plain, HEADER, [good])
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert [r.to_dict() for r in read_deep_resnets(marked)] == [r.to_dict() for r in read_deep_resnets(plain)]


def test_a_column_named_twice_is_refused_naming_both_columns(tmp_path, capsys):
    """A dict reader would keep the last column of the name: the file's own acc_3 would be silently replaced."""
    good = [1, 4, 3, 0.1, 35000] + [0.5] * (NUM_EPOCHS + 1)
    path = tmp_path / "d.csv"
    _write(path, [*HEADER, "acc_3", "lr", "acc_3"], [good + [0.99, 0.1, 0.99]])
    with pytest.raises(NaapgnnError, match=r"^.*d\.csv: column 'lr' appears twice \(columns 4 and 148\)$"):
        read_deep_resnets(path)  # the first name repeated in column order
    _write(path, [*HEADER, "acc_3"], [good + [0.99]])
    assert main(["import", "deep-resnets", str(path), "-o", str(tmp_path / "o.jsonl")]) == 2
    message = f"{path}: column 'acc_3' appears twice (columns 9 and 147)"
    assert capsys.readouterr().err == f"naapgnn import: error: {message}\n"
    _write(path, [*HEADER, "acc_3", "acc_3"], [good + [0.99, 0.99]])
    with pytest.raises(NaapgnnError, match=r"column 'acc_3' appears 3 times \(columns 9, 147 and 148\)$"):
        read_deep_resnets(path)


def test_a_repeated_row_is_kept_as_its_own_record(tmp_path):
    """Ids count rows, not configurations: the published CSV itself repeats 66 rows in full (repeated runs)."""
    good = [1, 4, 3, 0.1, 35000] + [0.5] * (NUM_EPOCHS + 1)
    _write(tmp_path / "d.csv", HEADER, [good, good])
    assert [r.id for r in read_deep_resnets(tmp_path / "d.csv")] == ["deep-resnets-0", "deep-resnets-1"]


def test_the_import_notes_repeated_configurations_and_rows_copied_in_full(tmp_path, capsys):
    rows = [[1 + i, 4, 3, 0.1, 35000] + [round(0.3 + 0.01 * i, 3)] * (NUM_EPOCHS + 1) for i in range(6)]
    rerun = rows[1][:5] + [0.6] * (NUM_EPOCHS + 1)  # configuration of row 1, another curve: a repeated run
    _write(tmp_path / "d.csv", HEADER, [*rows, list(rows[4]), rerun, list(rows[4])])
    assert main(["import", "deep-resnets", str(tmp_path / "d.csv"), "-o", str(tmp_path / "d.jsonl"),
                 "--test-fraction", "0.5"]) == 0
    note = capsys.readouterr().out.splitlines()[-1]
    assert note.startswith("note: 2 configurations (architecture and hyperparameters) appear in more than one row, "
                           "5 rows in all, 2 of them copies of an earlier row in full (first: deep-resnets-6 repeats "
                           "deep-resnets-4), kept as repeated runs: evaluate's repeated and kfold splits keep each "
                           "configuration on one side; ")
    records = load_benchmark(tmp_path / "d.jsonl")
    twins = {1: [1, 7], 4: [4, 6, 8]}
    straddle = sum(records[i].split == "test" and any(records[j].split == "train" for j in group)
                   for group in twins.values() for i in group)
    assert note.endswith(f"; {straddle} records marked test here share theirs with a training record, which the "
                         "official split scores as new")
    _write(tmp_path / "d.csv", HEADER, rows)
    assert main(["import", "deep-resnets", str(tmp_path / "d.csv"), "-o", str(tmp_path / "e.jsonl")]) == 0
    assert "note:" not in capsys.readouterr().out


def test_a_test_fraction_that_leaves_one_side_empty_gets_a_note(tmp_path, capsys):
    rows = [[1 + i % 3, 4 * (1 + i % 4), 3, 0.1, 35000] + [round(0.3 + 0.01 * i, 3)] * (NUM_EPOCHS + 1)
            for i in range(10)]
    _write(tmp_path / "ten.csv", HEADER, rows)
    assert main(["import", "deep-resnets", str(tmp_path / "ten.csv"), "-o", str(tmp_path / "a.jsonl"),
                 "--test-fraction", "0.01"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "note: --test-fraction 0.01 of 10 records marks 0 test, every record train: none to test on; give a share "
        "above 0.05 and below 0.95 to keep some on each side")
    assert main(["import", "deep-resnets", str(tmp_path / "ten.csv"), "-o", str(tmp_path / "b.jsonl"),
                 "--test-fraction", "0.3"]) == 0
    assert "note:" not in capsys.readouterr().out

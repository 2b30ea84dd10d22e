"""``naapgnn import logs``: training logs -> records, equal to NAAP-440's own records on the published raw logs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from naapgnn.cli import main
from naapgnn.arch.format import parse_architecture
from naapgnn.arch.profiling import profile
from naapgnn.data.deep_resnets import resnet_layers
from naapgnn.data.log_records import LOG_CHANNELS, read_log_records
from naapgnn.data.logs import epoch_lines, header_lines
from naapgnn.data.records import load_benchmark, records_from_naap440
from naapgnn.errors import NaapgnnError

SCHEME = [{"kernel_size": 3, "width": 12, "stride": 2, "residual": False},
          {"kernel_size": 3, "width": 12, "stride": 1, "residual": True}]
LRS = (0.1, 0.01, 0.001)


def _write_log(folder: Path, model_id: int, arch, accuracies) -> Path:
    """``scheme_<model_id>.txt`` with one epoch per accuracy (correct images of 10,000), NAAP-440's lr cycle."""
    lines = header_lines(arch, "cpu", *profile(parse_architecture(arch)))
    for epoch, correct in enumerate(accuracies, start=1):
        lines += epoch_lines(epoch, LRS[(epoch - 1) % 3], 2.0 / epoch, 1.9 / epoch, correct, 10000)
    path = folder / f"scheme_{model_id}.txt"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_imported_raw_logs_equal_the_published_records(data_dir, naap440):
    ours, theirs = read_log_records(data_dir / "raw_data"), records_from_naap440(naap440)
    assert [r.id for r in ours] == [r.id for r in theirs]
    assert [r.split for r in ours] == [r.split for r in theirs] and sum(r.split == "test" for r in ours) == 40
    for mine, published in zip(ours, theirs):
        assert mine.target == published.target and mine.arch == published.arch, mine.id
        assert set(mine.curve) == set(LOG_CHANNELS) == set(published.curve)
        assert np.array_equal(mine.curve["accuracy"], published.curve["accuracy"]), mine.id
        for channel in ("loss_mean", "loss_median"):  # the log's 5 decimals; build-csv writes round(x, 4)
            assert [round(v, 4) for v in mine.curve[channel].tolist()] == published.curve[channel].tolist(), mine.id
        # the log's "LR: 0.01" against the declared schedule's 0.1 * 0.1 ** k: equal up to the last bit
        np.testing.assert_allclose(mine.curve["lr"], published.curve["lr"], rtol=1e-12)


def test_import_logs_says_when_the_datasets_split_marks_many_records_test(tmp_path, capsys):
    """Its bins hold round(n / 40) logs: of 64 logs, bins of 2, so half are marked test, which a note says."""
    logs = tmp_path / "logs"
    logs.mkdir()
    for i in range(1, 65):
        _write_log(logs, i, SCHEME, [3000 + i, 3100 + i])
    assert main(["import", "logs", str(logs), "-o", str(tmp_path / "mine.jsonl")]) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "note: 32 of the 64 records are marked test (build-csv's split: bins of round(64 / 40) = 2 logs by final "
        "accuracy, the middle of each to test, where NAAP-440's 440 make 40 test); --test-fraction 0.2 draws a split "
        "instead")


def test_import_logs_cli_writes_layer_graphs_that_load_back(tmp_path, capsys):
    logs = tmp_path / "logs"
    logs.mkdir()
    graph = resnet_layers(1, 4, 3)
    _write_log(logs, 2, SCHEME, [3625, 4093, 4000, 4500])
    _write_log(logs, 10, graph, [1000, 2500, 2600, 2400])
    out = tmp_path / "mine.jsonl"
    assert main(["import", "logs", str(logs), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote 2 records to {out} (0 train, 2 test; 4 epochs each)\n")
    assert "every record is marked test" in printed and "--test-fraction 0.2 draws a split instead" in printed
    records = load_benchmark(out)
    assert [r.id for r in records] == ["2", "10"]
    net = records[1]
    assert net.arch.scheme is None and len(net.arch.layers) == len(graph["layers"])
    assert net.target == 0.26 and net.split == "test"
    assert net.curve["accuracy"].tolist() == [0.1, 0.25, 0.26, 0.24]
    assert net.curve["lr"].tolist() == [0.1, 0.01, 0.001, 0.1]
    assert net.curve["loss_mean"].tolist() == [2.0, 1.0, 0.66667, 0.5]
    assert records[0].arch.scheme == SCHEME
    assert main(["import", "logs", str(logs), "-o", str(tmp_path / "cut.jsonl"), "--epochs", "2"]) == 0
    cut = load_benchmark(tmp_path / "cut.jsonl")
    assert [r.num_epochs for r in cut] == [2, 2] and [r.target for r in cut] == [0.4093, 0.25]
    for i in range(3, 11):  # ten logs: build-csv's split marks all test, a drawn share leaves a training split
        _write_log(logs, 10 + i, SCHEME, [3000 + i, 3100, 3200, 3300])
    drawn = tmp_path / "drawn.jsonl"
    assert main(["import", "logs", str(logs), "-o", str(drawn), "--test-fraction", "0.3", "--seed", "4"]) == 0
    assert "(7 train, 3 test;" in capsys.readouterr().out
    splits = [r.split for r in load_benchmark(drawn)]
    assert main(["import", "logs", str(logs), "-o", str(drawn), "--test-fraction", "0.3", "--seed", "4"]) == 0
    assert [r.split for r in load_benchmark(drawn)] == splits  # seeded
    assert main(["import", "logs", str(logs), "-o", str(drawn), "--test-fraction", "1"]) == 2
    assert "--test-fraction must be strictly between 0 and 1" in capsys.readouterr().err


def test_import_logs_errors(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    _write_log(logs, 1, SCHEME, [3000, 3100, 3200])
    _write_log(logs, 2, SCHEME, [3000])
    out = tmp_path / "o.jsonl"
    cases = [
        ([str(logs)], r"^1 of 2 logs have fewer complete epochs than the longest \(3\): scheme_2\.txt \(1\); "
                      r".* or pass --epochs 1 to cut every log to the shortest$"),
        ([str(logs), "--epochs", "2"], r"scheme_2\.txt: has 1 complete epochs, the benchmark needs 2$"),
        ([str(logs), "--epochs", "0"], r"^--epochs must be >= 1, got 0$"),
        ([str(empty)], r"empty: no training logs \(scheme_<id>\.txt\)$"),
    ]
    for argv, message in cases:
        with pytest.raises(NaapgnnError, match=message):
            read_log_records(argv[0], epochs=int(argv[2]) if len(argv) > 2 else None)
        assert main(["import", "logs", *argv, "-o", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("naapgnn import: error: ") and "\n" not in err
    for target, message in [(tmp_path, f"-o {tmp_path}: is a folder; give a file name"),
                            (logs, f"-o {logs}: is a folder; give a file name"),
                            (logs / "scheme_3.txt", "is a training log's name in RAW_DIR; give another file")]:
        assert main(["import", "logs", str(logs), "-o", str(target), "--epochs", "1"]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err
    assert not out.exists() and sorted(p.name for p in logs.iterdir()) == ["scheme_1.txt", "scheme_2.txt"]
    (logs / "scheme_01.txt").write_text((logs / "scheme_1.txt").read_text())
    with pytest.raises(NaapgnnError, match=r"scheme_1\.txt: model id 1 again \(also .*scheme_01\.txt\)$"):
        read_log_records(logs, epochs=1)


def test_a_csv_built_from_logs_is_pointed_to_the_import(data_dir, tmp_path):
    from naapgnn.data.naap440 import load_naap440

    built = tmp_path / "mine.csv"
    built.write_bytes((data_dir / "naap440.csv").read_bytes())
    with pytest.raises(NaapgnnError) as err:
        load_naap440(built)
    message = str(err.value)
    assert "expected a NAAP-440 folder or its naap440.csv / naap440v2.csv" in message and "\n" not in message
    assert "naapgnn import logs RAW_DIR -o FILE.jsonl" in message


@pytest.mark.parametrize("edit, message", [
    (("#params: 1798,", "#params: 999,"), "line 3: #params 999, but the scheme has 1798 parameters"),
    (("LR: 0.01", "LR: -0.1"), "line 9: LR -0.1 is negative"),
])
def test_import_logs_refuses_a_wrong_count_or_a_negative_lr(tmp_path, capsys, edit, message):
    """Caught at import, not when the written benchmark is loaded."""
    logs = tmp_path / "logs"
    logs.mkdir()
    path = _write_log(logs, 3, SCHEME, [3000, 3100, 3200])
    path.write_text(path.read_text().replace(*edit))
    out = tmp_path / "o.jsonl"
    assert main(["import", "logs", str(logs), "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"naapgnn import: error: {path}: {message}\n"
    assert not out.exists()


def test_a_log_whose_loss_diverged_is_imported_and_reads_as_a_diverged_run(tmp_path, capsys):
    """A trainer logs a diverged loss as nan or inf: the record is written with null there (the import once
    stopped with a traceback), and its reader reads a diverged run, the channel's worst value from then on."""
    logs = tmp_path / "logs"
    logs.mkdir()
    for i in range(1, 4):
        _write_log(logs, i, SCHEME, [3000 + 100 * i, 3100 + 100 * i, 3200 + 100 * i, 3300 + 100 * i])
    path = logs / "scheme_2.txt"
    text = path.read_text().splitlines()
    epochs = [j for j, line in enumerate(text) if "Loss mean, median" in line][2:]
    for j, word in zip(epochs, ("nan", "inf")):
        text[j] = text[j].split("Loss")[0] + f"Loss mean, median: {word}, {word}"
    path.write_text("\n".join(text) + "\n")
    out = tmp_path / "div.jsonl"
    assert main(["import", "logs", str(logs), "-o", str(out)]) == 0
    assert '"loss_mean": [2.0, 1.0, null, null]' in out.read_text().splitlines()[1]
    with pytest.warns(Warning, match="read as diverged runs"):
        diverged = load_benchmark(out)[1]
    assert diverged.curve["loss_mean"].tolist() == [2.0, 1.0, 2.0, 2.0]  # the file's worst, the first epoch's 2.0

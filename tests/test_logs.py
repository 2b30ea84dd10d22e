"""Training-log format and build-csv: the published CSVs byte for byte, malformed logs."""
from __future__ import annotations

from pathlib import Path

import pytest

from naapgnn.cli import main
from naapgnn.errors import NaapgnnError, NaapgnnWarning
from naapgnn.data.logs import (
    assign_test_split,
    build_csv,
    epoch_lines,
    format_lr,
    header_lines,
    parse_log,
    read_log_folder,
)

SCHEME = [{"kernel_size": 3, "width": 12, "stride": 2, "residual": False},
          {"kernel_size": 1, "width": 16, "stride": 2, "residual": False},
          {"kernel_size": 3, "width": 16, "stride": 1, "residual": True}]


@pytest.mark.parametrize("version, name", [(1, "naap440.csv"), (2, "naap440v2.csv")])
def test_build_csv_reproduces_published_csv(data_dir, tmp_path, version, name):
    out = tmp_path / name
    assert build_csv(data_dir / "raw_data", out, version=version) == 440
    assert out.read_bytes() == (data_dir / name).read_bytes()


def test_build_csv_cli_values_match(data_dir, tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "v2.csv"
    assert main(["build-csv", str(data_dir / "raw_data"), str(out), "--version", "2"]) == 0
    assert "440 rows" in capsys.readouterr().out
    ours, theirs = pd.read_csv(out), pd.read_csv(data_dir / "naap440v2.csv")
    pd.testing.assert_frame_equal(ours, theirs)
    assert ours["IsTest"].sum() == 40


def test_original_log_parses(data_dir, naap440):
    log = parse_log(data_dir / "raw_data" / "scheme_1.txt")
    row = naap440.set_index("ModelId").loc[1]
    assert log.model_id == 1 and log.device == "cuda:0" and len(log.epochs) == 90
    assert (log.params, log.macs) == (row["NumParams"], row["NumMACs"])
    assert log.max_accuracy == row["MaxAccuracy"]
    assert [e.lr_text for e in log.epochs[:4]] == ["0.1", "0.01", "0.001", "0.1"]
    assert log.epochs[0].accuracy == row["e1Accuracy"]


def test_written_log_round_trips(tmp_path):
    lines = header_lines(SCHEME, "cpu", 1234, 56789)
    lines += epoch_lines(1, 0.1, 2.302585093, 2.25, 3625, 10000)
    lines += epoch_lines(2, 0.1 * 0.1, 1.5, 1.4999999, 4093, 10000)
    path = tmp_path / "scheme_7.txt"
    path.write_text("".join(line + "\n" for line in lines))
    log = parse_log(path)
    assert log.model_id == 7 and log.scheme == SCHEME and (log.params, log.macs) == (1234, 56789)
    assert [(e.lr_text, e.loss_mean_text, e.loss_median_text, e.accuracy_text) for e in log.epochs] == [
        ("0.1", "2.30259", "2.25", "0.3625"), ("0.01", "1.5", "1.5", "0.4093")]


def test_a_log_saved_with_a_byte_order_mark_or_not_in_utf8(tmp_path):
    path = tmp_path / "scheme_3.txt"
    path.write_bytes(b"\xef\xbb\xbf" + (GOOD_HEAD + EPOCH1).encode())
    log = parse_log(path)
    assert log.model_id == 3 and len(log.epochs) == 1 and log.epochs[0].accuracy == 0.3625
    path.write_bytes((GOOD_HEAD + EPOCH1).encode("utf-16"))
    with pytest.raises(NaapgnnError, match=r"scheme_3.txt: cannot read: not UTF-8 text \(byte "):
        parse_log(path)


def test_lr_format_matches_original():
    assert [format_lr(v) for v in (0.1, 0.1 * 0.1, 0.1 * 0.1 * 0.1)] == ["0.1", "0.01", "0.001"]


def _log(tmp_path, body: str, name: str = "scheme_3.txt") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


GOOD_HEAD = (
    '20220901141247 Network scheme: [{"kernel_size": 3, "width": 12, "stride": 2, "residual": false}]\n'
    "20220901141250 Network has been init on device cuda:0\n"
    "20220901141250 Network #params: 478, #MACs: 98436\n"  # the counts of the scheme, as the trainer logs them
)
EPOCH1 = ("20220901141252 Epoch 1, LR: 0.1\n20220901141310 Loss mean, median: 1.86513, 1.81158\n"
          "20220901141314 Test accuracy: 0.3625\n")


@pytest.mark.parametrize("body, line, words", [
    (GOOD_HEAD + "Epoch 1, LR: 0.1\n", 4, "timestamp"),
    (GOOD_HEAD + "20220901141252 Epoch 2, LR: 0.1\n", 4, "expected epoch 1"),
    (GOOD_HEAD + EPOCH1.replace("LR: 0.1", "LR: -0.1"), 4, ": LR -0.1 is negative"),
    (GOOD_HEAD + EPOCH1.replace("LR: 0.1", "LR: nan"), 4, ": LR nan is not a finite number"),
    (GOOD_HEAD + EPOCH1 + "20220901141252 Epoch 3, LR: 0.1\n", 7, "expected epoch 2"),
    (GOOD_HEAD + EPOCH1 + EPOCH1, 7, "expected epoch 2"),
    (GOOD_HEAD + "20220901141252 Epoch 1, LR: 0.1\n20220901141310 Test accuracy: 0.3\n", 5, "before"),
    (GOOD_HEAD + "20220901141252 Epoch 1, LR: 0.1\n20220901141310 Loss mean, median: 1.8, 1.7\n", 5,
     "ends inside epoch 1"),
    (GOOD_HEAD + "20220901141252 Epoch 1, LR: 0.1\n20220901141310 Loss mean, median: 1.8, abc\n", 5,
     "unknown log message"),
    ("20220901141247 Network scheme: [{\"kernel_size\": 3,\n", 1, "invalid scheme JSON"),
    (GOOD_HEAD.replace("#MACs", "MACs"), 3, "unknown log message"),
    (GOOD_HEAD + EPOCH1.replace("0.3625", "45.3653"), 6, "test accuracy 45.3653 outside [0, 1] (the logs give"),
    ("\n".join(GOOD_HEAD.splitlines()[:2]) + "\n" + EPOCH1, 5, "no 'Network #params"),
])
def test_malformed_log_names_file_and_line(tmp_path, body, line, words):
    path = _log(tmp_path, body)
    with pytest.raises(NaapgnnError) as err:
        parse_log(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: line {line}:"), message
    assert words in message


def test_build_csv_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NaapgnnError, match="no training logs"):
        build_csv(empty, tmp_path / "x.csv")
    logs = tmp_path / "logs"
    logs.mkdir()
    _log(logs, GOOD_HEAD + EPOCH1, "scheme_1.txt")
    _log(logs, GOOD_HEAD + EPOCH1 + EPOCH1.replace("Epoch 1", "Epoch 2"), "scheme_2.txt")
    with pytest.raises(NaapgnnError, match=r"scheme_1\.txt: has 1 complete epochs, the CSV needs 2"):
        build_csv(logs, tmp_path / "x.csv", epochs=2)
    for bad in (0, -3):
        with pytest.raises(NaapgnnError, match=f"--epochs must be >= 1, got {bad}"):
            build_csv(logs, tmp_path / "x.csv", epochs=bad)
    # logs of different lengths (an interrupted regenerate) are not cut to the shortest unless asked
    with pytest.raises(NaapgnnError, match=r"^1 of 2 logs have fewer complete epochs than the longest \(2\): "
                                           r"scheme_1\.txt \(1\); finish .* or pass --epochs 1 to cut"):
        build_csv(logs, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()
    assert build_csv(logs, tmp_path / "cut.csv", epochs=1) == 2
    _log(logs, GOOD_HEAD, "scheme_4.txt")
    with pytest.raises(NaapgnnError, match=r"scheme_4\.txt: no complete epoch to write"):
        build_csv(logs, tmp_path / "x.csv")
    _log(logs, "oops\n", "scheme_3.txt")
    with pytest.raises(NaapgnnError, match=r"scheme_3\.txt: line 1:"):
        build_csv(logs, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_a_log_cut_inside_an_epoch_is_read_up_to_it_with_epochs(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    _log(logs, GOOD_HEAD + EPOCH1 + EPOCH1.replace("Epoch 1", "Epoch 2"), "scheme_1.txt")
    _log(logs, GOOD_HEAD + EPOCH1 + "20220901141252 Epoch 2, LR: 0.01\n", "scheme_2.txt")
    with pytest.raises(NaapgnnError, match=r"scheme_2\.txt: line 7: the log ends inside epoch 2 \(no 'Loss mean, "
                                           r"median' line; --epochs 1 reads the epochs before it\)"):
        build_csv(logs, tmp_path / "x.csv")
    assert build_csv(logs, tmp_path / "x.csv", epochs=1) == 2
    with pytest.raises(NaapgnnError, match=r"scheme_2\.txt: has 1 complete epochs, the CSV needs 2"):
        build_csv(logs, tmp_path / "x.csv", epochs=2)


def test_build_csv_small_folder(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    for i in (2, 10):
        _log(logs, GOOD_HEAD + EPOCH1, f"scheme_{i}.txt")
    assert build_csv(logs, tmp_path / "new" / "out.csv", version=2, line_terminator="\n") == 2  # folder made
    lines = (tmp_path / "new" / "out.csv").read_text().splitlines()
    assert lines[0].endswith("MaxAccuracy,e1LossMean,e1LossMedian,e1Accuracy")
    assert lines[1] == "2,1,478,98436,1,1,12,12,0,0,0.3625,1.8651,1.8116,0.3625"
    assert [line.split(",")[0] for line in lines[1:]] == ["2", "10"]  # fewer than 40 logs: bins of one
    assert [log.model_id for log in read_log_folder(logs)] == [10, 2]  # name order breaks accuracy ties


def test_test_split_is_middle_of_each_bin():
    flags = assign_test_split([float(v) for v in range(440)])
    assert sum(flags) == 40
    assert [i for i, f in enumerate(flags) if f][:3] == [5, 16, 27]
    reversed_flags = assign_test_split([float(-v) for v in range(440)])
    assert [i for i, f in enumerate(reversed_flags) if f][-1] == 439 - 5


def test_build_csv_refuses_two_logs_of_one_model_id(tmp_path, capsys):
    """scheme_3.txt and scheme_03.txt: as import logs, build-csv refuses instead of writing ModelId 3 twice."""
    logs = tmp_path / "logs"
    logs.mkdir()
    _log(logs, GOOD_HEAD + EPOCH1, "scheme_3.txt")
    _log(logs, GOOD_HEAD + EPOCH1, "scheme_03.txt")
    assert main(["build-csv", str(logs), str(tmp_path / "x.csv")]) == 2
    assert capsys.readouterr().err == (f"naapgnn build-csv: error: {logs / 'scheme_3.txt'}: model id 3 again "
                                       f"(also {logs / 'scheme_03.txt'})\n")
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("logged, message", [
    ("#params: 999, #MACs: 98436", "line 3: #params 999, but the scheme has 478 parameters"),
    ("#params: 478, #MACs: 5", "line 3: #MACs 5, but the scheme has 98436 MACs"),
])
def test_build_csv_refuses_a_logged_count_the_scheme_does_not_have(tmp_path, capsys, logged, message):
    """The published logs all give the scheme's own counts (test_build_csv_reproduces_published_csv reads them)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    path = _log(logs, GOOD_HEAD.replace("#params: 478, #MACs: 98436", logged) + EPOCH1)
    with pytest.raises(NaapgnnError, match=f"^{path}: {message}$"):
        build_csv(logs, tmp_path / "x.csv")
    assert main(["build-csv", str(logs), str(tmp_path / "x.csv")]) == 2
    assert capsys.readouterr().err == f"naapgnn build-csv: error: {path}: {message}\n"


def test_a_log_named_without_a_numeric_id_is_warned_of(tmp_path, capsys):
    logs = tmp_path / "logs"
    logs.mkdir()
    _log(logs, GOOD_HEAD + EPOCH1, "scheme_3.txt")
    _log(logs, GOOD_HEAD + EPOCH1, "scheme_x.txt")
    (logs / "notes.txt").write_text("not a log, skipped silently\n")
    with pytest.warns(NaapgnnWarning, match=r"logs: skipped scheme_x\.txt: not named scheme_<id>\.txt with a number"):
        assert [log.model_id for log in read_log_folder(logs)] == [3]
    assert main(["build-csv", str(logs), str(tmp_path / "x.csv")]) == 0
    err = capsys.readouterr().err
    assert err == (f"naapgnn build-csv: warning: {logs}: skipped scheme_x.txt: not named scheme_<id>.txt with a "
                   "number as id\n")

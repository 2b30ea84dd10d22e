"""Bad arguments give one line and exit 2 (never a traceback); help texts; resume lines; start-up cost."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from naapgnn.cli import main
from naapgnn.data.records import records_from_naap440, write_jsonl

REPO = Path(__file__).resolve().parents[1]
GRAPH = str(REPO / "graphs" / "resnet_like.json")


@pytest.fixture()
def places(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("not a checkpoint")
    (tmp_path / "file").write_text("x")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe garbage")
    (tmp_path / "percent.jsonl").write_text(json.dumps(
        {"id": 1, "arch": [{"kernel_size": 3, "width": 8, "stride": 1, "residual": False}], "target": 60}) + "\n")
    return tmp_path


@pytest.mark.parametrize("argv, message", [
    (["encode", GRAPH, "--draw", "g.xyz"], "g.xyz: cannot draw to '.xyz'; use one of .png, .svg, .pdf"),
    (["encode", GRAPH, "--draw", "{folder}"], "{folder}: no image suffix; use one of .png"),
    (["encode", GRAPH, "-o", "{folder}"], "-o {folder}: is a folder; give a file name"),
    (["predict", "--checkpoint", "{folder}", GRAPH, "--out", "{folder}"], "--out {folder}: is a folder; give a file "
                                                                          "name, e.g. {folder}/preds.csv"),
    (["predict", "--checkpoint", "{folder}", GRAPH, "--threads", "0"], "--threads must be >= 1, got 0"),
    # an output over what the command reads is refused before anything is written
    (["predict", "--checkpoint", "{folder}", "{percent}", "--out", "{percent}"],
     "--out {percent}: is the input {percent}; give another file"),
    (["predict", "--checkpoint", "{folder}", GRAPH, "--out", "{folder}/config.json"],
     "--out {folder}/config.json: lies inside {folder}, which this command reads; give a file elsewhere"),
    (["encode", "{percent}", "-o", "{percent}"], "-o {percent}: is the input {percent}; give another file"),
    (["build-csv", "{folder}", "{folder}/scheme_1.txt"], "OUT.csv {folder}/scheme_1.txt: is a training log's name "
                                                         "in RAW_DIR; give another file"),
    (["train", "--budget", "0", "--data", "{percent}", "--out", "{file}"], "--out {file}: is a file; give a folder"),
    (["train", "--budget", "0", "--data", "{percent}", "--out", "{folder}/c"],
     "percent.jsonl line 1: target: 60 is outside [0, 1]; accuracies in percent? use --target-scale percent"),
    (["train", "--budget", "0", "--data", "{binary}", "--out", "{folder}/c"],
     "binary.json: cannot read: not UTF-8 text (byte 0: invalid start byte)"),
    (["train", "--budget", "0", "--data", "{percent}", "--out", "{full}"], "{full}: a folder that holds no checkpoint "
     "(no config.json); saving replaces the whole folder, so give a new or empty folder, or an old checkpoint"),
    (["train", "--budget", "0", "--seed", "-1", "--out", "{folder}/c"],
     "--seed must be an integer from 0 to 4294967295, got -1"),
    (["search", "--seed", "4294967296", "--out", "{folder}"], "--seed must be an integer from 0 to 4294967295"),
    (["baselines", "--seed", "-2", "--models", "5-NN", "--out", "{folder}"], "--seed must be an integer from 0"),
    (["train", "--budget", "0", "--params", '{{"max_epochs": 5, "max_epochs": 1}}', "--out", "{folder}/c"],
     "--params: duplicate key 'max_epochs' in one JSON object"),
    (["baselines", "--models", " ", "--data", "{percent}", "--target-scale", "percent", "--budgets", "0", "--out",
      "{folder}"], "no baseline selected"),
    (["evaluate", "--budgets", "0,,3", "--data", "{percent}", "--out", "{folder}"], "--budgets: empty item in '0,,3'"),
    (["evaluate", "--predictors", "gnn,", "--data", "{percent}", "--out", "{folder}"],
     "--predictors: empty item in 'gnn,'"),
    (["evaluate", "--protocol", ",random", "--data", "{percent}", "--out", "{folder}"],
     "--protocol: empty item in ',random'"),
    (["baselines", "--budgets", "0,,3", "--models", "5-NN", "--out", "{folder}"], "--budgets: empty item in '0,,3'"),
    (["baselines", "--models", "5-NN,,1-NN", "--out", "{folder}"], "--models: empty item in '5-NN,,1-NN'"),
    (["evaluate", "--device", "bogus", "--data", "{percent}", "--out", "{folder}"],
     "--device bogus: not a device (expected auto, cpu, cuda or cuda:N)"),
    (["evaluate", "--data", "{percent}", "--out", "{file}"], "--out {file}: is a file; give a folder"),
    (["evaluate", "--tolerance", "nan", "--data", "{percent}", "--out", "{folder}"],
     "--tolerance must be a finite margin >= 0 (a Kendall tau difference), got nan"),
    (["evaluate", "--tolerance", "-1", "--data", "{percent}", "--out", "{folder}"], "--tolerance must be a finite"),
    (["evaluate", "--data", "{percent}", "--out", "{folder}"], "use --target-scale percent"),
    (["baselines", "--out", "{file}", "--models", "5-NN"], "--out {file}: is a file; give a folder"),
    (["search", "--out", "{file}"], "--out {file}: is a file; give a folder"),
    (["search", "--strategy", "predictor", "--checkpoint", "m0", "--out", "{folder}"],
     "--checkpoint is read by --strategy enlarged only, not predictor; leave it out"),
    (["search", "--strategy", "random", "--top-k", "3", "--out", "{folder}"],
     "--top-k is read by --strategy predictor only, not random; leave it out"),
    (["search", "--strategy", "compare", "--thresholds", "1", "--out", "{folder}"],
     "--thresholds is read by --strategy early-stop only, not compare; leave it out"),
    (["search", "--data", "{percent}", "--out", "{folder}"], "use --target-scale percent"),
    (["search", "--strategy", "early-stop", "--thresholds", "1", "nan", "--out", "{folder}"],
     "--thresholds: nan is not a finite number"),
    (["search", "--strategy", "early-stop", "--thresholds", "0", "-1", "--out", "{folder}"],
     "--thresholds: -1: each Z must be a finite number >= 0 (a candidate stops when its predicted mean + Z x std is "
     "below the best so far; below 0 it would stop those predicted to beat it)"),
    (["search", "--strategy", "early-stop", "--budget", "-3", "--out", "{folder}"],
     "--budget: -3 is negative; give a number of epochs"),
    (["search", "--strategy", "early-stop", "--budget", "3", "3", "--out", "{folder}"],
     "--budget: 3 is given twice; give each value once"),
    (["search", "--strategy", "early-stop", "--thresholds", "1", "2", "1", "--out", "{folder}"],
     "--thresholds: 1 is given twice; give each value once"),
    (["search", "--strategy", "compare", "--n-train", "10", "10", "--out", "{folder}"],
     "--n-train: 10 is given twice; give each value once"),
    (["search", "--strategy", "enlarged", "--checkpoint", "m0", "--predictor", "forest", "--out", "{folder}"],
     "--predictor forest: with --checkpoint the enlarged space is ranked by the checkpoint's GNNPredictor; leave it "
     "out"),
    (["encode", "{binary}", "-o", "same.png", "--draw", "same.png"],
     "-o same.png and --draw same.png: one file; the drawing would replace the graph"),
])
def test_bad_arguments_are_one_line_errors(argv, message, places, capsys, monkeypatch):
    monkeypatch.chdir(places)
    names = {"folder": places / "folder", "file": places / "file", "binary": places / "binary.json",
             "percent": places / "percent.jsonl", "full": places / "full"}
    argv = [a.format(**names) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"naapgnn {argv[0]}: error: " + err.split(": error: ", 1)[1]
    assert message.format(**names) in err and "\n" not in err
    assert (places / "full" / "notes.txt").read_text() == "not a checkpoint"


def test_train_reads_percent_targets_only_with_target_scale_percent(places, capsys):
    # The percent-scaled benchmark trains once --target-scale percent says so (tiny, fast settings).
    path = places / "percent.jsonl"
    lines = [json.loads(path.read_text())]
    path.write_text("".join(json.dumps({**lines[0], "id": i, "target": 40 + i}) + "\n" for i in range(6)))
    argv = ["train", "--budget", "0", "--data", str(path), "--out", str(places / "ckpt"), "--quiet",
            "--ensemble", "1", "--params", '{"max_epochs": 2, "hidden": 8, "forest_trees": 5}']
    assert main(argv) == 2
    assert main(argv + ["--target-scale", "percent"]) == 0
    config = json.loads((places / "ckpt" / "config.json").read_text())
    assert config["state"]["y_mean"] == pytest.approx(np.mean([0.40, 0.41, 0.42, 0.43, 0.44, 0.45]))


def test_search_help_has_no_doubled_percent_and_promises_only_what_is_written(capsys):
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "95% confidence" in text and "%%" not in text
    assert "a .png figure for every strategy but enlarged" in text


def test_every_command_that_reads_a_benchmark_takes_target_scale(capsys):
    for command in ("train", "predict", "evaluate", "search", "baselines"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--target-scale {fraction,percent}" in capsys.readouterr().out, command


def test_threads_default_is_one(capsys):
    from naapgnn.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["train", "--budget", "3"]).threads == 1
    assert parser.parse_args(["predict", "--checkpoint", "c", "x.json"]).threads == 1


def test_evaluate_says_what_it_resumes(naap440, tmp_path, capsys):
    flags = naap440["IsTest"].to_numpy() == 1
    rows = np.sort(np.r_[np.flatnonzero(flags)[:8], np.flatnonzero(~flags)[::20]])
    records = records_from_naap440(naap440.iloc[rows])
    for r in records:
        r.curve = {k: v[:3] for k, v in r.curve.items()}
    bench = tmp_path / "bench.jsonl"
    write_jsonl(records, bench)
    argv = ["evaluate", "--data", str(bench), "--budgets", "1,2", "--seeds", "1", "--jobs", "1",
            "--predictors", "curve_last,curve_best", "--out", str(tmp_path / "out"), "--quiet"]
    assert main(argv) == 0
    assert "resuming" not in capsys.readouterr().err
    assert main(argv) == 0
    err = capsys.readouterr().err
    # 2 predictors x 2 budgets on the official split, and the same on 5 inner folds of its training part
    assert f"evaluate: resuming 24 of 24 fits (saved in {tmp_path / 'out' / 'cache' / 'runs.jsonl'}; " \
           "--fresh starts over)" in err


def _run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=REPO).stdout


def test_help_does_not_import_torch():
    out = _run_python("import sys, contextlib, io\nfrom naapgnn.cli import main\n"
                      "with contextlib.redirect_stdout(io.StringIO()):\n"
                      "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
                      "print(sorted(m for m in ('torch', 'torch_geometric', 'pandas', 'sklearn', 'numpy') if m in sys.modules))")
    assert out.strip() == "[]"


def test_the_python_api_shows_no_deprecation_notice_of_torch_geometric_imports():
    """Warnings shown by default (-W default): importing the predictor pulls in torch_geometric, whose
    torch.jit.script notice is not the user's to act on; naapgnn's own warnings still show."""
    proc = subprocess.run([sys.executable, "-W", "default", "-c",
                           "import warnings\nfrom naapgnn import GNNPredictor\nimport torch_geometric.nn\n"
                           "warnings.warn('naapgnn note', UserWarning)"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0 and "torch.jit.script" not in proc.stderr and "naapgnn note" in proc.stderr


def test_unrecognized_arguments_are_named_by_their_command_with_the_list_hint(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["baselines", "--jobs", "1", "--budgets", "0", "3", "--out", "x"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err == ("naapgnn baselines: error: unrecognized arguments: 3 (options that take a list read it "
                   "comma-separated, e.g. --budgets 0,3)")
    with pytest.raises(SystemExit):
        main(["encode", "graphs/vgg_like.json", "--bogus"])
    assert capsys.readouterr().err.splitlines()[-1] == "naapgnn encode: error: unrecognized arguments: --bogus"


def test_cli_copies_of_constants_match_their_source():
    from naapgnn.cli import regenerate, search
    from naapgnn.data.naap440 import NUM_EPOCHS
    from naapgnn.search.problem import PREDICTORS
    from naapgnn.search.settings import STRATEGY_CHOICES

    assert search.STRATEGY_CHOICES == STRATEGY_CHOICES and regenerate.NUM_EPOCHS == NUM_EPOCHS
    assert search.PREDICTOR_CHOICES == PREDICTORS


def test_a_default_n_train_too_large_for_the_benchmark_says_it_is_the_default(places, capsys):
    path = places / "five.jsonl"
    path.write_text("".join(json.dumps({"id": i, "arch": [{"kernel_size": 3, "width": 8 + i, "stride": 1,
                                                             "residual": False}], "target": 0.4 + i / 100}) + "\n"
                            for i in range(5)))
    common = ["--data", str(path), "--quiet"]
    assert main(["search", "--strategy", "compare", "--out", str(places / "a"), *common]) == 2
    assert ("--n-train (default 10 20 50) must be between 2 and 4, got 10: the benchmark holds only 5 architectures"
            in capsys.readouterr().err)
    assert main(["search", "--strategy", "compare", "--n-train", "6", "--out", str(places / "b"), *common]) == 2
    assert "error: --n-train must be between 2 and 4, got 6" in capsys.readouterr().err


def test_the_default_n_train_drops_only_what_the_benchmark_is_too_small_for(places, capsys):
    path = places / "thirty.jsonl"
    path.write_text("".join(json.dumps({"id": i, "arch": [{"kernel_size": 3, "width": 8 + i, "stride": 1 + i % 2,
                                                             "residual": False}], "target": 0.4 + (i * 7 % 30) / 100})
                            + "\n" for i in range(30)))
    assert main(["search", "--strategy", "compare", "--trials", "2", "--data", str(path), "--out",
                 str(places / "c"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "note: --n-train's default 10 20 50 less 50: the benchmark holds only 30 architectures" in out
    frame = pd.read_csv(places / "c" / "compare.csv")
    assert {"predictor N=10", "predictor N=20"} <= set(frame["strategy"]) and \
        not any("N=50" in s for s in frame["strategy"])


def test_every_command_writing_outputs_takes_dash_o_for_out():
    from naapgnn.cli import build_parser

    parser = build_parser()
    for argv in (["train", "--budget", "3"], ["evaluate"], ["baselines"], ["predict", "--checkpoint", "c", "in.jsonl"],
                 ["search"],
                 ["regenerate", "--schemes", "naap440", "--cifar-root", "c"]):
        assert parser.parse_args([*argv, "-o", "there"]).out == "there", argv
    for flag in ("-o", "--out", "--output"):  # encode's long option was --output alone
        assert parser.parse_args(["encode", "a.json", flag, "g.pt"]).output == "g.pt"


def test_an_output_folder_is_held_by_one_run_and_cleared_of_a_killed_runs_temporaries(places, capsys):
    from naapgnn.folders import held_folder

    path = places / "thirty.jsonl"
    path.write_text("".join(json.dumps({"id": i, "arch": [{"kernel_size": 3, "width": 8 + i, "stride": 1,
                                                             "residual": False}], "target": 0.4 + i / 100}) + "\n"
                            for i in range(30)))
    out = places / "held"
    out.mkdir()
    argv = ["search", "--strategy", "random", "--trials", "2", "--data", str(path), "--out", str(out), "--quiet"]
    with held_folder(out, "naapgnn search run is writing into this folder"):
        assert main(argv) == 2
        assert capsys.readouterr().err.strip() == (f"naapgnn search: error: {out}: another naapgnn search run is "
                                                    f"writing into this folder (process {os.getpid()}); wait for it "
                                                    "to end or give another --out")
    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    (out / f".random.md.tmp{dead.pid}.k2j4x9q1.md").write_text("half a report")  # what a SIGKILL mid-write leaves
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == [".naapgnn.lock", "random.csv", "random.md", "random.png",
                                                     "random_efficiency.csv"]
    blocked = places / "a-file"
    blocked.write_text("x")
    for command in (["search", "--strategy", "random", "--data", str(path)], ["evaluate", "--data", str(path)],
                    ["baselines", "--data", str(path)]):
        assert main([*command, "--out", str(blocked / "sub"), "--quiet"]) == 2
        assert capsys.readouterr().err.strip().endswith(f"{blocked / 'sub'}: cannot write: Not a directory")
    bad = places / "never-made"
    assert main(["search", "--strategy", "random", "--trials", "0", "--data", str(path), "--out",
                 str(bad / "p2" / "p3")]) == 2
    assert not bad.exists()  # made for the lock, removed with it (parents too) when the run wrote nothing


def test_a_warmup_too_small_for_the_predictor_names_the_option(data_dir, tmp_path, capsys):
    assert main(["search", "--strategy", "early-stop", "--warmup", "2", "--budget", "3", "--thresholds", "1",
                 "--trials", "1", "--predictor", "baker", "--processes", "1", "--data", str(data_dir),
                 "--out", str(tmp_path / "es")]) == 2
    assert capsys.readouterr().err.endswith(
        "naapgnn search: error: --warmup 2: BakerPredictor: need at least 6 training architectures, got 2\n")


@pytest.mark.parametrize("command, output", [(["baselines", "--models", "5-NN"], "baselines.csv"),
                                             (["evaluate", "--predictors", "baker"], "report.md")])
def test_a_folder_where_an_output_goes_is_refused_before_any_work(data_dir, tmp_path, capsys, command, output):
    out = tmp_path / "out"
    (out / output).mkdir(parents=True)
    assert main([*command, "--data", str(data_dir), "--budgets", "0", "--jobs", "1", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"naapgnn {command[0]}: error: {out / output}: a folder stands "
                                       f"where naapgnn {command[0]} writes a file; move it away\n")
    assert not list(out.glob(".baselines-*")) and not (out / "cache" / "runs.jsonl").exists()  # no fit ran

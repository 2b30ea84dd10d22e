"""Companion trainer on a tiny CIFAR-format data set (CPU): recipe, exactness, resume, errors."""
from __future__ import annotations

import math
import re
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from naapgnn.arch.builder import build_model
from naapgnn.data.cifar import FOLDER, write_synthetic_cifar10
from naapgnn.cli import main
from naapgnn.errors import NaapgnnError
from naapgnn.data.logs import build_csv, epoch_values, format_loss, format_lr, parse_log
from naapgnn.arch.profiling import profile
from naapgnn.arch.space import naap440_search_space
from naapgnn.trainer.jobs import Recipe, TrainOptions, load_schemes, parse_ids
from naapgnn.trainer.order import epoch_permutation
from naapgnn.trainer.training import regenerate, train_reference

REPO = Path(__file__).resolve().parents[1]
SCHEMES = naap440_search_space()
IDS = [1, 300, 440]  # 3 blocks; 4 blocks; 4 blocks with a residual
RECIPE = Recipe(epochs=3, batch_size=16, test_batch_size=16)  # 4 batches per epoch on 64 images
CPU = TrainOptions(device="cpu", group_size=3)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    write_synthetic_cifar10(root, n_train=64, n_test=32, seed=3)
    return root


@pytest.fixture(scope="module")
def grouped(cifar, tmp_path_factory):
    out = tmp_path_factory.mktemp("grouped")
    summary = regenerate(SCHEMES, cifar, out, ids=IDS, recipe=RECIPE, options=CPU, progress=False)
    assert sorted(summary.trained) == IDS and summary.arch_epochs == 9
    return out


def values(out, model_id):
    return epoch_values(parse_log(Path(out) / f"scheme_{model_id}.txt"))


def test_logs_parse_with_recipe_lr_params_and_scheme(grouped):
    for model_id in IDS:
        log = parse_log(grouped / f"scheme_{model_id}.txt")
        assert log.scheme == SCHEMES[model_id - 1] and log.device == "cpu"
        assert (log.params, log.macs) == profile(SCHEMES[model_id - 1])
        assert log.params == sum(p.numel() for p in build_model(SCHEMES[model_id - 1]).parameters())
        assert [e.lr_text for e in log.epochs] == ["0.1", "0.01", "0.001"]
        assert all(e.accuracy * 32 == round(e.accuracy * 32) for e in log.epochs)
    assert not list((grouped / "checkpoints").iterdir())


def test_lr_schedule_matches_the_original_logs(data_dir):
    original = parse_log(data_dir / "raw_data" / "scheme_1.txt")
    assert [format_lr(Recipe().lr_at(e)) for e in range(90)] == [e.lr_text for e in original.epochs]
    assert Recipe().lr_at(1) == 0.1 * 0.1 and Recipe().lr_at(3) == 0.1


def test_data_order_replays_the_original_dataloaders():
    train = torch.utils.data.TensorDataset(torch.arange(50))
    test = torch.utils.data.TensorDataset(torch.arange(20))
    torch.manual_seed(Recipe().seed)
    train_loader = torch.utils.data.DataLoader(train, batch_size=8, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test, batch_size=8, shuffle=False)
    for epoch in range(3):
        order = torch.cat([batch[0] for batch in train_loader])
        for _ in test_loader:
            pass
        assert torch.equal(order, epoch_permutation(Recipe().seed, epoch, 50))


def test_matches_the_plain_dataloader_pipeline(grouped, cifar):
    """GPU-style data path and grouped stepping give exactly the per-image pipeline's logs."""
    for model_id in (300, 440):
        history = train_reference(SCHEMES[model_id - 1], cifar, RECIPE)
        expected = [(float(format_lr(lr)), float(format_loss(m)), float(format_loss(md)), c / 32)
                    for lr, m, md, c in history]
        assert values(grouped, model_id) == expected


def test_one_at_a_time_and_repeat_runs_give_identical_logs(grouped, cifar, tmp_path):
    single = regenerate(SCHEMES, cifar, tmp_path / "a", ids=IDS, recipe=RECIPE,
                        options=TrainOptions(device="cpu", group_size=1), progress=False)
    again = regenerate(SCHEMES, cifar, tmp_path / "b", ids=IDS, recipe=RECIPE, options=CPU, progress=False)
    assert single.trained and again.trained
    for model_id in IDS:
        assert values(tmp_path / "a", model_id) == values(grouped, model_id)
        assert values(tmp_path / "b", model_id) == values(grouped, model_id)


def test_rerun_skips_finished_and_build_csv_reads_the_logs(grouped, cifar, tmp_path, capsys):
    stamps = (grouped / "scheme_1.txt").read_text()
    summary = regenerate(SCHEMES, cifar, grouped, ids=IDS, recipe=RECIPE, options=CPU, progress=False)
    assert f"regenerate: all {len(IDS)} schemes trained this far in an earlier run; nothing to train (skipped)\n" == \
        capsys.readouterr().err
    assert summary.skipped == IDS and not summary.trained and summary.arch_epochs == 0
    assert (grouped / "scheme_1.txt").read_text() == stamps
    assert build_csv(grouped, tmp_path / "tiny.csv", version=2) == 3


class Stop(Exception):
    pass


def _stop_after(model_id, epoch):
    def hook(mid, e):
        if (mid, e) == (model_id, epoch):
            raise Stop
    return hook


def test_interrupted_run_resumes_without_lost_or_repeated_epochs(grouped, cifar, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(Stop):
        regenerate(SCHEMES, cifar, out, ids=[1, 300], recipe=RECIPE, options=CPU, progress=False,
                   on_epoch_end=_stop_after(1, 1))
    # Network 1 stopped right after its epoch 1 was saved; network 300 never finished epoch 1.
    assert len(parse_log(out / "scheme_1.txt").epochs) == 1
    assert (out / "checkpoints" / "scheme_1.pt").exists() and not (out / "scheme_300.txt").exists()
    # A torn state: the log got ahead of the checkpoint; the resume rewrites it from the checkpoint.
    with open(out / "scheme_1.txt", "a") as f:
        f.write("20990101000000 Epoch 2, LR: 0.01\n")
    summary = regenerate(SCHEMES, cifar, out, ids=[1, 300], recipe=RECIPE, options=CPU, progress=False)
    assert summary.resumed == [1] and summary.trained == [300] and summary.arch_epochs == 5
    for model_id in (1, 300):
        assert values(out, model_id) == values(grouped, model_id)
        text = (out / f"scheme_{model_id}.txt").read_text()
        assert [text.count(f" Epoch {e},") for e in (1, 2, 3)] == [1, 1, 1]
    assert not list((out / "checkpoints").iterdir())


def test_resuming_under_other_speed_up_options_warns_once(cifar, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(Stop):
        regenerate(SCHEMES, cifar, out, ids=[1, 300], recipe=RECIPE, options=CPU, progress=False,
                   on_epoch_end=_stop_after(300, 1))
    assert len(list((out / "checkpoints").glob("*.pt"))) == 2
    capsys.readouterr()
    other = TrainOptions(device="cpu", channels_last=True)
    summary = regenerate(SCHEMES, cifar, out, ids=[1, 300], recipe=RECIPE, options=other, progress=False)
    assert sorted(summary.resumed) == [1, 300]
    warnings = [line for line in capsys.readouterr().err.splitlines() if "speed-up options" in line]
    assert warnings == [f"naapgnn: warning: 2 schemes (the first, 1, started with speed-up options "
                        f"{CPU.numerics()}) resume with {other.numerics()}"]


# In the child: wait until the log of ``model_id`` holds ``epochs`` epochs (its files are written on a thread).
ON_DISK = (
    "import time\n"
    "from pathlib import Path\n"
    "from naapgnn.data.logs import parse_log\n"
    "def on_disk(model_id, epochs):\n"
    "    log = Path(sys.argv[2]) / f'scheme_{model_id}.txt'\n"
    "    while not (log.exists() and len(parse_log(log).epochs) >= epochs):\n"
    "        time.sleep(0.01)\n"
)


def _kill_and_resume(grouped, cifar, out: Path, model_id: int, setup: str, hook: str, kept: int = 2) -> None:
    """Train ``model_id`` in a child process that SIGKILLs itself (no cleanup at all) where ``setup``
    and ``hook`` say, check that ``kept`` epochs were kept, resume in this process, and compare the
    logs with an uninterrupted run."""
    script = (
        "import os, signal, sys, torch\n"
        "torch.set_num_threads(1)\n"
        f"{ON_DISK}{setup}"
        "from naapgnn.arch.space import naap440_search_space\n"
        "from naapgnn.trainer.jobs import Recipe, TrainOptions\nfrom naapgnn.trainer.training import regenerate\n"
        f"regenerate(naap440_search_space(), sys.argv[1], sys.argv[2], ids=[{model_id}], recipe={RECIPE!r},\n"
        f"           options=TrainOptions(device='cpu'), progress=False{hook})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", script, str(cifar), str(out)], env=env, timeout=120,
                          capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert len(parse_log(out / f"scheme_{model_id}.txt").epochs) == kept
    summary = regenerate(SCHEMES, cifar, out, ids=[model_id], recipe=RECIPE, options=CPU, progress=False)
    assert summary.resumed == [model_id] and summary.arch_epochs == RECIPE.epochs - kept
    assert values(out, model_id) == values(grouped, model_id)


def test_killed_process_resumes(grouped, cifar, tmp_path):
    """SIGKILL right after epoch 2 of network 300 is on disk."""
    setup = (
        "def hook(model_id, epoch):\n"
        "    if (model_id, epoch) == (300, 2):\n"
        "        on_disk(300, 2)\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    _kill_and_resume(grouped, cifar, tmp_path / "out", 300, setup, ", on_epoch_end=hook")


def test_killed_while_an_epochs_files_are_queued_resumes_from_the_one_before(grouped, cifar, tmp_path):
    """SIGKILL on the writer thread as it starts on epoch 2's checkpoint: epoch 1 is what the disk holds."""
    setup = (
        "import naapgnn.trainer.group as group\n"
        "save = group.save_checkpoint\n"
        "def killing_save(path, state):\n"
        "    if state['epoch'] == 2:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    save(path, state)\n"
        "group.save_checkpoint = killing_save\n"
    )
    _kill_and_resume(grouped, cifar, tmp_path / "out", 300, setup, "", kept=1)


def test_killed_mid_epoch_resumes_from_last_complete_epoch(grouped, cifar, tmp_path):
    """SIGKILL in the middle of epoch 3 (before its second of four SGD steps): the partial epoch is
    lost, epochs 1-2 stay, and the resumed run retrains epoch 3 to the uninterrupted run's values."""
    setup = (
        "steps = [0]\n"
        "step = torch.optim.SGD.step\n"
        "def counted(self, *a, **k):\n"
        "    steps[0] += 1\n"
        "    if steps[0] == 10:\n"
        "        on_disk(440, 2)\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return step(self, *a, **k)\n"
        "torch.optim.SGD.step = counted\n"
    )
    _kill_and_resume(grouped, cifar, tmp_path / "out", 440, setup, "")


def _no_training_happened(out: Path):
    assert not out.exists() or not list(out.glob("scheme_*.txt"))


def test_a_run_resumed_on_other_cifar_files_is_refused(cifar, tmp_path):
    """Resuming on another CIFAR-10 folder would mix epochs trained on two datasets in one log."""
    out = tmp_path / "out"
    with pytest.raises(Stop):
        regenerate(SCHEMES, cifar, out, ids=[1], recipe=RECIPE, options=CPU, progress=False,
                   on_epoch_end=_stop_after(1, 1))
    other = write_synthetic_cifar10(tmp_path / "other", n_train=64, n_test=32, seed=4)
    (out / ".cifar10-digest").unlink()  # a folder of an earlier version: its checkpoints still say
    with pytest.raises(NaapgnnError, match=r"scheme_1.pt: checkpoint was trained on other CIFAR-10 files \(digest "
                                           r"[0-9a-f]{16}, these [0-9a-f]{16}\); give the --cifar-root it started"):
        regenerate(SCHEMES, other, out, ids=[1], recipe=RECIPE, options=CPU, progress=False)
    assert len(parse_log(out / "scheme_1.txt").epochs) == 1  # nothing written
    summary = regenerate(SCHEMES, cifar, out, ids=[1], recipe=RECIPE, options=CPU, progress=False)
    assert summary.resumed == [1]


def test_a_folder_of_logs_finished_on_other_cifar_files_is_refused(grouped, cifar, tmp_path):
    """Finished logs carry no digest: a rerun on another CIFAR-10 folder skipped them without a word and trained the
    rest on the other files, one benchmark of two datasets."""
    out = tmp_path / "out"
    shutil.copytree(grouped, out)
    other = write_synthetic_cifar10(tmp_path / "other", n_train=64, n_test=32, seed=4)
    with pytest.raises(NaapgnnError, match=rf"^{re.escape(str(out))}: its logs were trained on other CIFAR-10 files "
                                           r"\(digest [0-9a-f]{16}, these [0-9a-f]{16}\); give the --cifar-root they "
                                           r"used, or another --out$"):
        regenerate(SCHEMES, other, out, ids=[*IDS, 2], recipe=RECIPE, options=CPU, progress=False)
    assert not (out / "scheme_2.txt").exists()
    assert regenerate(SCHEMES, cifar, out, ids=IDS, recipe=RECIPE, options=CPU, progress=False).skipped == IDS


def test_errors_before_training(cifar, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(NaapgnnError, match="CIFAR-10 folder not found"):
        regenerate(SCHEMES, tmp_path / "nowhere", out, ids=[1], recipe=RECIPE, options=CPU)
    bad = tmp_path / "bad"
    shutil.copytree(cifar / FOLDER, bad / FOLDER)
    (bad / FOLDER / "test_batch").write_bytes(b"\x80\x02garbage")
    with pytest.raises(NaapgnnError, match=r"test_batch: not a CIFAR-10 pickle"):
        regenerate(SCHEMES, bad, out, ids=[1], recipe=RECIPE, options=CPU)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(NaapgnnError, match=r"/file: exists and is not a folder \(the output folder\); move it away"):
        regenerate(SCHEMES, cifar, blocker, ids=[1], recipe=RECIPE, options=CPU)
    (tmp_path / "o2").mkdir()
    (tmp_path / "o2" / "checkpoints").write_text("x")
    with pytest.raises(NaapgnnError, match=r"o2/checkpoints: exists and is not a folder \(where the trainer keeps its "
                                           r"checkpoints\); move it away"):
        regenerate(SCHEMES, cifar, tmp_path / "o2", ids=[1], recipe=RECIPE, options=CPU)
    (bad / FOLDER / "test_batch").unlink()
    (bad / FOLDER / "test_batch").mkdir()
    with pytest.raises(NaapgnnError, match=r"CIFAR-10 file test_batch is a folder, not a file$"):
        regenerate(SCHEMES, bad, out, ids=[1], recipe=RECIPE, options=CPU)
    with pytest.raises(NaapgnnError, match="output folder is not writable"):
        regenerate(SCHEMES, cifar, blocker / "sub", ids=[1], recipe=RECIPE, options=CPU)
    schemes = [SCHEMES[0], [{"kernel_size": 3, "width": 8, "stride": 2}]]
    with pytest.raises(NaapgnnError, match=r"my.json: scheme 2: block 0: missing field 'residual'"):
        regenerate(schemes, cifar, out, recipe=RECIPE, options=CPU, source="my.json")
    graph = {"input_shape": [1, 28, 28], "layers": [{"op": "conv", "out_channels": 4, "kernel_size": 3}]}
    with pytest.raises(NaapgnnError, match=r"scheme 1: CIFAR-10 needs input_shape"):
        regenerate([graph], cifar, out, recipe=RECIPE, options=CPU)
    if not torch.cuda.is_available():
        with pytest.raises(NaapgnnError, match="CUDA is not available"):
            regenerate(SCHEMES, cifar, out, ids=[1], recipe=RECIPE, options=TrainOptions(device="cuda"))
    _no_training_happened(out)


def test_log_of_another_scheme_is_not_overwritten(grouped, cifar, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(grouped / "scheme_300.txt", out / "scheme_1.txt")
    with pytest.raises(NaapgnnError, match=r"scheme_1.txt: logged network differs from scheme 1"):
        regenerate(SCHEMES, cifar, out, ids=[1], recipe=RECIPE, options=CPU)


def test_ids_and_scheme_files(tmp_path):
    assert parse_ids("1,2,5-7", 10) == [1, 2, 5, 6, 7]
    assert parse_ids(None, 3) == [1, 2, 3]
    for bad, why in (("0", "0 is outside 1-10"), ("3-11", "3-11 is outside 1-10"), ("a", "cannot read 'a'"),
                     ("4-2", r"4-2 runs backwards \(write the lower id first: 2-4\)"),
                     (" ", r"empty \(an unset shell variable\?\); leave --ids out")):
        with pytest.raises(NaapgnnError, match=f"^--ids: {why}"):
            parse_ids(bad, 10)
    path = tmp_path / "schemes.json"
    path.write_text('[{"kernel_size": 3, "width": 12, "stride": 2, "residual": false}]')
    assert len(load_schemes(path)) == 1  # a single scheme
    path.write_text("[[], ")
    with pytest.raises(NaapgnnError, match=r"schemes.json: invalid JSON at line 1"):
        load_schemes(path)
    path.write_text('\ufeff[{"kernel_size": 3, "width": 12, "stride": 2, "residual": false}]', encoding="utf-8")
    assert len(load_schemes(path)) == 1  # past a byte-order mark
    path.write_bytes(b"[\xff]")
    with pytest.raises(NaapgnnError, match=r"schemes.json: cannot read schemes: not UTF-8 text \(byte 1: "):
        load_schemes(path)
    assert len(load_schemes("naap440")) == 440


def test_cli_reports_one_line_errors(cifar, tmp_path, capsys):
    code = main(["regenerate", "--schemes", "naap440", "--cifar-root", str(tmp_path), "--out",
                 str(tmp_path / "out"), "--ids", "1", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("naapgnn regenerate: error: ") and err.count("\n") == 1
    code = main(["regenerate", "--schemes", "naap440", "--cifar-root", str(cifar), "--out",
                 str(tmp_path / "out"), "--ids", "441"])
    assert code == 2 and "--ids: 441 is outside 1-440" in capsys.readouterr().err
    for flags, message in ((["--tf32"], "--tf32 needs a CUDA device (it changes nothing on cpu)"),
                           (["--cudnn-benchmark"], "--cudnn-benchmark needs a CUDA device"),
                           (["--cuda-graphs"], "--cuda-graphs needs a CUDA device"),
                           (["--group-size", "0"], "--group-size must be at least 1, got 0"),
                           (["--workers", "-1"], "--workers must be at least 1, got -1"),
                           (["--out", ""], "--out: an empty path; give a folder"),
                           (["--gpus-per-task", "0.5"], "--gpus-per-task is read by --backend ray only")):
        code = main(["regenerate", "--schemes", "naap440", "--cifar-root", str(cifar), "--out",
                     str(tmp_path / "out"), "--ids", "1", "--device", "cpu", *flags])
        assert code == 2 and message in capsys.readouterr().err


def test_graphs_and_streams_are_on_by_default_on_a_gpu_only(cifar, tmp_path, monkeypatch):
    import naapgnn.trainer.training as training

    default = TrainOptions()
    assert (default.uses_graphs("cuda"), default.uses_streams("cuda:1")) == (True, True)
    assert (default.uses_graphs("cpu"), default.uses_streams("cpu")) == (False, False)
    off = TrainOptions(cuda_graphs=False, streams=False)
    assert (off.uses_graphs("cuda"), off.uses_streams("cuda")) == (False, False)
    seen = []
    monkeypatch.setattr(training, "regenerate", lambda *a, options, **k: seen.append(options) or training.Summary())
    base = ["regenerate", "--schemes", "naap440", "--cifar-root", str(cifar), "--out", str(tmp_path / "o")]
    for flags in ([], ["--no-cuda-graphs", "--no-streams"], ["--cuda-graphs", "--streams"]):
        assert main([*base, *flags]) == 0
    assert [(o.cuda_graphs, o.streams) for o in seen] == [(None, None), (False, False), (True, True)]


def test_no_progress_reaches_either_backend(cifar, tmp_path, monkeypatch):
    import naapgnn.trainer.distributed as distributed
    import naapgnn.trainer.training as training

    seen = []
    record = (lambda *a, progress=True, **k: seen.append(progress) or training.Summary())
    monkeypatch.setattr(training, "regenerate", record)
    monkeypatch.setattr(distributed, "regenerate_ray", record)
    base = ["regenerate", "--schemes", "naap440", "--cifar-root", str(cifar), "--out", str(tmp_path / "o")]
    for backend in ("local", "ray"):
        assert main([*base, "--backend", backend]) == 0 and main([*base, "--backend", backend, "--no-progress"]) == 0
    assert seen == [True, False, True, False]


def test_cli_trains(cifar, tmp_path, capsys):
    path = tmp_path / "one.json"
    path.write_text('[[{"kernel_size": 3, "width": 12, "stride": 2, "residual": false},'
                    ' {"kernel_size": 1, "width": 12, "stride": 1, "residual": true}]]')
    code = main(["regenerate", "--schemes", str(path), "--cifar-root", str(cifar), "--out", str(tmp_path / "o"),
                 "--epochs", "1", "--device", "cpu", "--no-progress"])
    assert code == 0 and "trained 1, resumed 0, skipped 0" in capsys.readouterr().out
    assert len(parse_log(tmp_path / "o" / "scheme_1.txt").epochs) == 1
    for size in ("auto", "2"):  # auto: 8 on CPU
        code = main(["regenerate", "--schemes", str(path), "--cifar-root", str(cifar), "--out",
                     str(tmp_path / size), "--epochs", "1", "--device", "cpu", "--no-progress", "--group-size", size])
        assert code == 0 and "trained 1" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["regenerate", "--schemes", str(path), "--cifar-root", str(cifar), "--out", str(tmp_path / "x"),
              "--group-size", "many"])
    assert "expected a number or 'auto', got 'many'" in capsys.readouterr().err


@pytest.mark.slow
def test_worker_processes(grouped, cifar, tmp_path):
    options = TrainOptions(device="cpu", group_size=1, workers=2)
    summary = regenerate(SCHEMES, cifar, tmp_path, ids=IDS, recipe=RECIPE, options=options, progress=False)
    assert sorted(summary.trained) == IDS
    for model_id in IDS:
        assert values(tmp_path, model_id) == values(grouped, model_id)


def test_ray_backend_on_a_local_instance(grouped, cifar, tmp_path):
    pytest.importorskip("ray")
    from naapgnn.trainer.distributed import regenerate_ray

    out = tmp_path / "out"
    with pytest.raises(Stop):  # leave network 1 half done for the Ray run to resume
        regenerate(SCHEMES, cifar, out, ids=[1], recipe=RECIPE, options=CPU, progress=False,
                   on_epoch_end=_stop_after(1, 2))
    summary = regenerate_ray(SCHEMES, cifar, out, ids=IDS, recipe=RECIPE, options=TrainOptions(device="cpu"),
                             num_cpus=2, progress=False)
    assert summary.resumed == [1] and sorted(summary.trained) == [300, 440]
    for model_id in IDS:
        assert values(out, model_id) == values(grouped, model_id)
    again = regenerate_ray(SCHEMES, cifar, out, ids=IDS, recipe=RECIPE, options=TrainOptions(device="cpu"),
                           num_cpus=2, progress=False)
    assert again.skipped == IDS and not again.trained


def test_incomplete_foreign_log_is_not_overwritten(grouped, cifar, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    lines = (grouped / "scheme_1.txt").read_text().splitlines(keepends=True)
    (out / "scheme_1.txt").write_text("".join(lines[:8]))  # header + epoch 1, no checkpoint
    with pytest.raises(NaapgnnError, match=r"scheme_1.txt: has 1 of 3 epochs and no checkpoint"):
        regenerate(SCHEMES, cifar, out, ids=[1], recipe=RECIPE, options=CPU)
    (out / "scheme_1.txt").write_text("".join(lines[:7]))  # torn inside epoch 1
    with pytest.raises(NaapgnnError, match=r"line 7: the log ends inside epoch 1.*move the log away"):
        regenerate(SCHEMES, cifar, out, ids=[1], recipe=RECIPE, options=CPU)
    assert (out / "scheme_1.txt").read_text() == "".join(lines[:7])


def test_recipe_and_cli_default_to_the_dataset_epochs():
    from naapgnn.cli import build_parser
    from naapgnn.data.naap440 import NUM_EPOCHS

    args = build_parser().parse_args(["regenerate", "--schemes", "naap440", "--cifar-root", "c", "--out", "o"])
    assert Recipe().epochs == args.epochs == NUM_EPOCHS == 90


def test_a_second_run_on_a_folder_in_use_is_refused(cifar, tmp_path):
    import re

    from naapgnn.trainer.jobs import exclusive_out_dir, prepare_out_dir

    out = prepare_out_dir(tmp_path / "out")
    with exclusive_out_dir(out):
        with pytest.raises(NaapgnnError, match=re.escape(f"{out}: another regenerate run is training into this "
                                                         f"folder (process {os.getpid()}); wait for it")):
            regenerate(SCHEMES, cifar, out, ids=[1], recipe=RECIPE, options=CPU, progress=False)
    _no_training_happened(out)
    assert regenerate(SCHEMES, cifar, out, ids=[1], recipe=RECIPE, options=CPU, progress=False).trained == [1]


def test_a_shorter_rerun_keeps_a_longer_runs_checkpoints_to_finish_later(grouped, cifar, tmp_path, capsys):
    """A rerun asking fewer epochs than an interrupted run had reached deleted its checkpoints without a word: the
    longer run could not be finished ("has 2 of 3 epochs and no checkpoint to continue from")."""
    out = tmp_path / "out"
    with pytest.raises(Stop):
        regenerate(SCHEMES, cifar, out, ids=[1], recipe=RECIPE, options=CPU, progress=False,
                   on_epoch_end=_stop_after(1, 2))
    shorter = Recipe(epochs=2, batch_size=16, test_batch_size=16)
    capsys.readouterr()
    summary = regenerate(SCHEMES, cifar, out, ids=[1], recipe=shorter, options=CPU, progress=False)
    assert summary.skipped == [1] and not summary.trained and not summary.resumed
    assert ("regenerate: warning: 1 unfinished run of a longer --epochs already past --epochs 2 (e.g. scheme_1.txt: "
            "2 epochs): skipped, their logs and checkpoints kept as they are") in capsys.readouterr().err
    assert (out / "checkpoints" / "scheme_1.pt").exists()
    assert regenerate(SCHEMES, cifar, out, ids=[1], recipe=RECIPE, options=CPU, progress=False).resumed == [1]
    assert values(out, 1) == values(grouped, 1)


def test_logs_of_runs_still_training_are_not_imported_as_finished(cifar, tmp_path, capsys):
    """Every log of an interrupted group stops at the same epoch, so import logs read them as finished runs: the
    targets were an unfinished run's maxima."""
    out = tmp_path / "out"
    with pytest.raises(Stop):
        regenerate(SCHEMES, cifar, out, ids=[1], recipe=RECIPE, options=CPU, progress=False,
                   on_epoch_end=_stop_after(1, 2))
    assert main(["import", "logs", str(out), "-o", str(tmp_path / "a.jsonl")]) == 2
    assert capsys.readouterr().err == (
        f"naapgnn import: error: {out}: 1 of the 1 logs are of runs still training (first: scheme_1.txt, its "
        "checkpoint in checkpoints/): their targets would be an unfinished run's; finish them with naapgnn "
        "regenerate (the --epochs they started with), or give --epochs N to read N epochs of every log\n")
    assert not (tmp_path / "a.jsonl").exists()
    assert main(["import", "logs", str(out), "-o", str(tmp_path / "b.jsonl"), "--epochs", "2"]) == 0
    assert "1 of the 1 logs are of runs still training" in capsys.readouterr().err
    regenerate(SCHEMES, cifar, out, ids=[1], recipe=RECIPE, options=CPU, progress=False)
    assert main(["import", "logs", str(out), "-o", str(tmp_path / "c.jsonl")]) == 0  # finished: read as it stands


def test_logs_longer_than_asked_are_kept_and_said_so(grouped, tmp_path, cifar, capsys):
    out = tmp_path / "out"
    shutil.copytree(grouped, out)
    shorter = Recipe(epochs=2, batch_size=16, test_batch_size=16)
    summary = regenerate(SCHEMES, cifar, out, ids=IDS, recipe=shorter, options=CPU, progress=False)
    assert summary.skipped == IDS and not summary.trained
    assert ("warning: 3 finished logs hold more than --epochs 2 epochs (e.g. scheme_1.txt: 3); kept as they are"
            in capsys.readouterr().err)
    assert values(out, 1) == values(grouped, 1)


def test_a_worker_exits_when_the_process_that_started_it_is_killed():
    """What keeps regenerate's worker processes from training on, orphaned, after SIGTERM or SIGKILL."""
    worker = ("import sys, time\nfrom naapgnn.runtime import exit_with_parent\n"
              "exit_with_parent(int(sys.argv[1]), every=0.05)\ntime.sleep(60)\n")
    parent = ("import os, subprocess, sys, time\n"
              f"child = subprocess.Popen([sys.executable, '-c', {worker!r}, str(os.getpid())])\n"
              "print(child.pid, flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        for _ in range(200):
            if not _running(child):
                break
            time.sleep(0.05)
        assert not _running(child)
    finally:
        if _running(child):
            os.kill(child, signal.SIGKILL)


def test_a_worker_ends_quietly_on_ctrl_c():
    """Ctrl-C reaches regenerate's workers too: each would print a traceback under the parent's one line."""
    worker = ("import os, signal, sys, time\nfrom naapgnn.runtime import exit_with_parent\n"
              "exit_with_parent(os.getppid())\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(30)\n")
    proc = subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (130, "")


def test_a_worker_whose_result_pipe_is_broken_ends_silently():
    """A worker that finished a chunk just after its parent was SIGKILLed printed two chained BrokenPipeError
    tracebacks under the shell's prompt (search --strategy enlarged --processes 2)."""
    worker = ("import os\nfrom naapgnn.runtime import exit_with_parent\n"
              "exit_with_parent(os.getppid())\nread, write = os.pipe()\nos.close(read)\n"
              "os.write(write, b'result')\nprint('wrote to a closed pipe')\n")
    proc = subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (-signal.SIGPIPE, "", "")


def test_a_joblib_worker_exits_when_the_command_that_started_it_is_killed():
    """evaluate's, baselines' and early stopping's joblib workers outlived a SIGKILLed command by minutes."""
    parent = ("import os, time\nfrom joblib import Parallel, delayed\nfrom naapgnn.runtime import watch_parent_once\n"
              "def work(parent):\n    watch_parent_once(parent)\n    print(os.getpid(), flush=True)\n"
              "    time.sleep(60)\n"
              "Parallel(n_jobs=2)(delayed(work)(os.getpid()) for _ in range(2))\n")
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    workers = [int(proc.stdout.readline()) for _ in range(2)]
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        for _ in range(400):  # the watcher polls every 0.5 s; a loaded machine may take longer
            if not any(_running(w) for w in workers):
                break
            time.sleep(0.05)
        assert not any(_running(w) for w in workers)
    finally:
        for w in workers:
            if _running(w):
                os.kill(w, signal.SIGKILL)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_graphed_steps_keep_the_eager_arithmetic(cifar, tmp_path, monkeypatch):
    """The CUDA-graph path's bookkeeping (shared batch tensors, eager warm-up, one captured step per
    learning rate, an eager last batch of another size, losses counted on the device), run on CPU
    where a replay re-runs the captured step: the same weights and logged values as eager steps."""
    import naapgnn.trainer.group as group
    from naapgnn.trainer import steps
    from naapgnn.trainer.jobs import make_jobs, prepare_out_dir

    recipe = Recipe(epochs=4, batch_size=24, test_batch_size=16)  # 24 + 24 + a last batch of 16
    captured = []
    capture = steps.GraphedSteps._capture
    monkeypatch.setattr(steps.GraphedSteps, "_capture",
                        lambda self, x, y, lr: captured.append(lr) or capture(self, x, y, lr))

    def train(graphs: bool, out: Path):
        monkeypatch.setattr(TrainOptions, "uses_graphs", lambda self, device: graphs)
        prepare_out_dir(out)
        runs = group.train_group(make_jobs(SCHEMES, out, IDS), group.device_data(cifar, "cpu"), recipe, CPU, "cpu")
        return {r.job.model_id: r.model.state_dict() for r in runs}

    eager, graphed = train(False, tmp_path / "eager"), train(True, tmp_path / "graphed")
    assert captured == [0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002,
                        0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002]  # reused in epoch 4
    for model_id in IDS:
        assert values(tmp_path / "graphed", model_id) == values(tmp_path / "eager", model_id)
        assert all(torch.equal(eager[model_id][k], graphed[model_id][k]) for k in eager[model_id])


def test_networks_with_dropout_step_eagerly():
    from naapgnn.trainer.steps import _draws_random_numbers

    assert not _draws_random_numbers(build_model(SCHEMES[0]))
    assert _draws_random_numbers(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.1)))
    assert not _draws_random_numbers(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.0)))


def test_group_size_defaults_to_what_free_memory_holds(monkeypatch):
    from naapgnn.arch.format import parse_architecture
    from naapgnn.trainer import memory

    archs = [parse_architecture(SCHEMES[i - 1]) for i in IDS]
    need = max(memory.step_bytes(a, 256) for a in archs)
    assert memory.auto_group_size(archs, 256, "cpu") == memory.CPU_GROUP
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (int(need * 10.5), 10**12))
    assert memory.auto_group_size(archs, 256, "cuda") == 5  # half of 10.5 networks' worth
    assert memory.auto_group_size(archs, 256, "cuda", workers=2) == 2
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (need, 10**12))
    assert memory.auto_group_size(archs, 256, "cuda") == 1
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (10**15, 10**15))
    assert memory.auto_group_size(archs, 256, "cuda") == memory.MAX_GROUP
    # a conv block's output of 12 x 32 x 32 values counts its batch-norm/activation/gradient companions
    assert memory.step_bytes(archs[0], 1) == 4 * memory.TENSORS_PER_OUTPUT * (
        3 * 32 * 32 + sum(math.prod(layer.out_shape) for layer in archs[0].layers))


def test_planning_reads_each_finished_log_once(grouped, monkeypatch):
    from naapgnn.data import logs
    from naapgnn.trainer.jobs import make_jobs
    from naapgnn.trainer.training import plan_groups

    reads = []
    parse = logs.parse_log
    monkeypatch.setattr(logs, "parse_log", lambda path, *a, **k: reads.append(path) or parse(path, *a, **k))
    groups, done, starts = plan_groups(make_jobs(SCHEMES, grouped, IDS), RECIPE, 2, CPU)
    assert (groups, sorted(j.model_id for j in done), starts) == ([], IDS, {})
    assert sorted(Path(p).name for p in reads) == [f"scheme_{i}.txt" for i in sorted(IDS, key=str)]


def test_bench_trainer_prints_a_row_per_setting_and_refuses_the_gpu_check_on_cpu(capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_trainer", REPO / "scripts" / "bench_trainer.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--device", "cpu", "--archs", "2", "--epochs", "1", "--train-images", "64",
                       "--test-images", "32", "--configs", "faithful,default", "--group-sizes", "1,auto",
                       "--no-baseline"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("| faithful |")]
    assert [row.split(" | ")[1] for row in rows] == ["1", "8 (auto)"]
    assert all(" h** | " in row and " ms (" in row for row in rows)
    assert len([line for line in lines if line.startswith("| default |")]) == 2  # on CPU: eager, no streams
    with pytest.raises(SystemExit):
        bench.main(["--device", "cpu", "--check"])
    assert "--check compares CUDA graphs" in capsys.readouterr().err


@pytest.mark.parametrize("quiet", [False, True])
def test_the_resource_trackers_leak_report_after_a_kill_is_left_out(quiet):
    """After an interrupted or killed command, multiprocessing's resource tracker listed the semaphores its
    workers left (and removed them) under the command's last line; the CLI leaves that report out."""
    block = "quiet_workers(TRACKER_WARNINGS)" if quiet else "contextlib.nullcontext()"
    code = ("import contextlib, multiprocessing as mp, os\n"
            "from naapgnn.runtime import TRACKER_WARNINGS, quiet_workers\n"
            f"with {block}:\n    lock = mp.get_context('spawn').Lock()\nos._exit(0)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert ("leaked semaphore" in proc.stderr) is not quiet


def test_a_stopped_pool_ends_its_running_and_queued_groups_at_once():
    """regenerate --workers 2 stopped by SIGTERM (kill, a cluster's pre-emption) trained every group to the end
    before exiting: leaving the pool waited for its work, and shutdown forgot the processes it was to stop."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from naapgnn.trainer.training import _stop_workers

    pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    for _ in range(4):
        pool.submit(time.sleep, 120)
    for _ in range(600):
        if len(pool._processes or {}) == 2 and all(p.is_alive() for p in pool._processes.values()):
            break
        time.sleep(0.05)
    pids = [p.pid for p in pool._processes.values()]
    assert len(pids) == 2
    _stop_workers(pool)
    for _ in range(600):  # SIGTERM ends a worker at once; the pool's own thread may be the one that reaps it
        if not any(_running(pid) for pid in pids):
            break
        time.sleep(0.05)
    assert not any(_running(pid) for pid in pids)


def test_an_unreachable_ray_address_is_one_line_at_once(cifar, tmp_path, capsys):
    """Ray retries an address nobody answers at for minutes; the command says so at once."""
    import socket

    pytest.importorskip("ray")
    from naapgnn.cli import main
    from naapgnn.trainer.distributed import check_reachable

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(["regenerate", "--backend", "ray", "--address", f"127.0.0.1:{port}", "--schemes", "naap440",
                 "--cifar-root", str(cifar), "--out", str(tmp_path / "out"), "--ids", "1", "--epochs", "1",
                 "--device", "cpu", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and f"--address 127.0.0.1:{port}: nothing answers at 127.0.0.1:{port}" in err, err
    with socket.socket() as sock:  # a listening port passes, a port that is no number does not
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        check_reachable(f"ray://127.0.0.1:{sock.getsockname()[1]}")
    check_reachable("auto")
    with pytest.raises(NaapgnnError, match="expected host:port"):
        check_reachable("head:http")

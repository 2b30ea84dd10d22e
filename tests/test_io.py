"""File helpers: atomic writes, and the resume log that long jobs pick up from after a kill."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from naapgnn.errors import NaapgnnError
from naapgnn.io import ResumeLog, atomic_path, current_umask, json_lines, read_progress_jsonl, write_text_atomic


def test_progress_log_skips_a_line_cut_short(tmp_path):
    path = tmp_path / "runs.jsonl"
    assert read_progress_jsonl(path) == [] and read_progress_jsonl(None) == []
    path.write_text('{"key": "a", "value": 1}\n{"key": "b", "value": 2}\n{"key": "c", "va')
    assert read_progress_jsonl(path) == [{"key": "a", "value": 1}, {"key": "b", "value": 2}]


# --- atomic writes ---------------------------------------------------------------------


def test_atomic_write_creates_folders_and_leaves_only_the_file(tmp_path):
    path = tmp_path / "sub" / "report.md"
    write_text_atomic(path, "hello\n")
    assert path.read_text() == "hello\n"
    assert [p.name for p in path.parent.iterdir()] == ["report.md"]


def test_a_failed_write_keeps_the_old_content_and_no_temporary_file(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("old\n")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(path) as tmp:
            assert tmp.parent == path.parent and tmp != path and tmp.suffix == ".csv"
            tmp.write_text("half of the new")
            raise RuntimeError("disk full")
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_the_new_content_replaces_the_old_only_at_the_end(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("old\n")
    with atomic_path(path) as tmp:
        tmp.write_text("new\n")
        assert path.read_text() == "old\n"
    assert path.read_text() == "new\n"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_files_get_the_usual_permissions(tmp_path, umask):
    old = os.umask(umask)
    try:
        assert current_umask() == umask
        assert os.umask(umask) == umask  # current_umask put it back
        write_text_atomic(tmp_path / "out.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == 0o666 & ~umask


def test_newline_is_passed_to_open(tmp_path):
    write_text_atomic(tmp_path / "a.csv", "a,b\r\n1,2\r\n", newline="")
    assert (tmp_path / "a.csv").read_bytes() == b"a,b\r\n1,2\r\n"
    write_text_atomic(tmp_path / "b.csv", "a,b\n", newline="\r\n")
    assert (tmp_path / "b.csv").read_bytes() == b"a,b\r\n"
    write_text_atomic(tmp_path / "c.csv", "a,b\n")
    assert (tmp_path / "c.csv").read_bytes() == b"a,b\n"


def test_an_unwritable_folder_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(NaapgnnError, match="cannot write"):
        write_text_atomic(blocker / "out.txt", "x")


# --- the resume log ----------------------------------------------------------------------


def test_resume_log_put_get_and_reload(tmp_path):
    path = tmp_path / "runs" / "progress.jsonl"
    log = ResumeLog(path)
    assert len(log) == 0 and "a" not in log and log.get("a") is None and log.get("a", 7) == 7
    log.put("a", {"mae": 1.5, "folds": [1, 2]})
    log.put("b", np.float64(0.25))
    log.put("a", {"mae": 1.25})  # a later line wins
    assert log.get("a") == {"mae": 1.25} and log.get("b") == 0.25 and len(log) == 2
    again = ResumeLog(path)
    assert "a" in again and again.get("a") == {"mae": 1.25} and again.get("b") == 0.25 and len(again) == 2


def test_resume_log_ignores_a_line_cut_short_and_recomputes_it(tmp_path):
    path = tmp_path / "progress.jsonl"
    log = ResumeLog(path)
    log.put("a", 1)
    log.put("b", 2)
    text = path.read_text()
    path.write_text(text[: len(text) - 5])  # killed while writing "b"
    cut = ResumeLog(path)
    assert cut.get("a") == 1 and "b" not in cut
    cut.put("b", 2)  # computed again
    cut.put("c", 3)
    assert ResumeLog(path).get("b") == 2 and ResumeLog(path).get("c") == 3 and len(ResumeLog(path)) == 3


def test_resume_log_clear_forgets_everything(tmp_path):
    path = tmp_path / "progress.jsonl"
    log = ResumeLog(path)
    log.put("a", 1)
    log.clear()
    assert len(log) == 0 and not path.exists() and len(ResumeLog(path)) == 0
    log.put("b", 2)
    assert ResumeLog(path).get("b") == 2 and "a" not in ResumeLog(path)


def test_resume_log_discard_keeps_the_units_of_other_runs(tmp_path):
    """A finished job removes its own units; another, interrupted job's stay on disk to resume."""
    path = tmp_path / "progress.jsonl"
    log = ResumeLog(path)
    for key, value in (("mine-0", 1), ("other-0", {"order": [3, 1]}), ("mine-1", 2)):
        log.put(key, value)
    log.discard(["mine-0", "mine-1"])
    reread = ResumeLog(path)
    assert len(reread) == 1 and reread.get("other-0") == {"order": [3, 1]} and "mine-0" not in log
    reread.discard(["other-0", "never-saved"])
    assert not path.exists()
    ResumeLog(path).discard(["x"])  # nothing saved, nothing to remove


def test_resume_log_without_a_path_keeps_values_in_memory_only(tmp_path):
    log = ResumeLog(None)
    log.put("a", [1, 2])
    assert log.get("a") == [1, 2] and len(log) == 1
    log.clear()
    assert len(log) == 0
    assert list(tmp_path.iterdir()) == []


def test_resume_log_refuses_a_value_it_cannot_save(tmp_path):
    log = ResumeLog(tmp_path / "p.jsonl")
    with pytest.raises(TypeError, match="cannot save object"):
        log.put("a", object())
    assert "a" not in log and not (tmp_path / "p.jsonl").exists()


def test_a_damaged_resume_log_is_read_past_its_bad_lines(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_bytes(b'{"key": "a", "value": {"mae": 0.1}}\n\xff\xfe garbage\n{"key": "b", "value": "not a row"}\n'
                     b'{"key": "c", "value": {"mae": 0.3}}\n')
    assert ResumeLog(path).get("b") == "not a row"
    log = ResumeLog(path, dict)
    assert (log.get("a"), log.get("c"), "b" in log, len(log)) == ({"mae": 0.1}, {"mae": 0.3}, False, 2)


def test_json_lines_split_at_newlines_only():
    text = '{"id": "a\u2028b"}\r\n{"id": "c\x85d"}\n'
    assert json_lines(text) == ['{"id": "a\u2028b"}', '{"id": "c\x85d"}', ""]
    assert len(text.splitlines()) == 4  # what tore such a record in two


def test_a_value_read_back_keeps_its_keys_order(tmp_path):
    """A resumed job builds its tables from these values: their columns must come in a fresh run's order."""
    path = tmp_path / "progress.jsonl"
    ResumeLog(path).put("unit", {"mae": 0.1, "violations": 3, "kendall_tau": 0.9})
    assert list(ResumeLog(path).get("unit")) == ["mae", "violations", "kendall_tau"]


def test_sigterm_mid_write_removes_the_temporary_file_and_reads_as_an_interrupt(tmp_path, capsys, monkeypatch):
    """`timeout`, `kill` and a cluster's pre-emption send SIGTERM: the CLI raises it as an interrupt, so an atomic
    write's temporary file is removed (it was left beside the output, 138 MB for an NB201 import)."""
    import os
    import signal

    import naapgnn.cli as cli
    from naapgnn.io import atomic_path

    def killed_mid_write(args):
        with atomic_path(tmp_path / "out.jsonl") as tmp:
            tmp.write_text("half")
            os.kill(os.getpid(), signal.SIGTERM)
        return 0

    import argparse

    before = signal.getsignal(signal.SIGTERM)
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    commands["encode"].set_defaults(func=killed_mid_write)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    assert cli.main(["encode", "x.json"]) == 143
    assert capsys.readouterr().err.strip() == "naapgnn encode: terminated"
    assert list(tmp_path.iterdir()) == [] and signal.getsignal(signal.SIGTERM) == before


def test_a_killed_writes_temporaries_are_removed_and_nothing_else(tmp_path):
    from naapgnn.folders import remove_stale_temporaries

    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()  # a killed run's process id, no longer running
    live = os.getppid()  # another process writing there now
    left = [f".scheme_5.pt.tmp{gone.pid}.oxc_1wak.pt", f".nb201.jsonl.tmp{gone.pid}.ab3mvx08.jsonl",
            f".notes.tmp{gone.pid}.jjt97b7m.tmp", f".report.md.tmp{os.getpid()}.ab3mvx08.md"]
    kept = ["scheme_5.pt", ".lock", ".scheme_5.pt.short.pt", ".compare.partial.jsonl", ".a.jsonl.ab3mvx08.csv",
            f".nb201.jsonl.tmp{live}.ab3mvx08.jsonl", ".report.md.20251205.md", ".notes.txt.draft_v2.txt",
            ".runs.jsonl.backup01.jsonl", f".a.jsonl.tmp{gone.pid}.ab3mvx08.csv"]
    for name in left + kept:
        (tmp_path / name).write_text("x")
    assert sorted(f.name for f in remove_stale_temporaries(tmp_path)) == sorted(left)
    assert sorted(f.name for f in tmp_path.iterdir()) == sorted(kept)
    assert remove_stale_temporaries(tmp_path / "missing") == []


def test_a_named_pipe_is_written_through_not_replaced(tmp_path):
    import threading

    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    write_text_atomic(fifo, "id,acc\n1,0.5\n")
    reader.join(timeout=10)
    assert got == ["id,acc\n1,0.5\n"] and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_device_is_never_replaced_and_a_full_one_is_a_one_line_error():
    with pytest.raises(NaapgnnError, match=r"^/dev/full: cannot write: No space left on device$"):
        write_text_atomic("/dev/full", "x" * 10_000)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    write_text_atomic(os.devnull, "nothing")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_symbolic_link_is_kept_and_its_file_replaced(tmp_path):
    target = tmp_path / "real" / "results.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "results.csv"
    link.symlink_to(target)
    write_text_atomic(link, "new\n")
    assert link.is_symlink() and target.read_text() == "new\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["results.csv"]


def test_a_rewritten_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "private.csv"
    path.write_text("old")
    path.chmod(0o600)
    write_text_atomic(path, "new")
    assert (path.read_text(), stat.S_IMODE(path.stat().st_mode)) == ("new", 0o600)


def test_staged_writes_land_together_or_not_at_all(tmp_path):
    from naapgnn.io import staged_writes

    a, b = tmp_path / "report.md", tmp_path / "results.csv"
    a.write_text("old report")
    b.write_text("old results")
    with pytest.raises(OSError):
        with staged_writes():
            write_text_atomic(b, "new results")
            assert b.read_text() == "old results"  # not yet in place
            raise OSError(28, "No space left on device")
    assert (a.read_text(), b.read_text()) == ("old report", "old results")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md", "results.csv"]
    with staged_writes():
        write_text_atomic(b, "new results")
        with staged_writes():  # nested: the outer one renames
            write_text_atomic(a, "new report")
        assert a.read_text() == "old report"
    assert (a.read_text(), b.read_text()) == ("new report", "new results")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md", "results.csv"]


def test_a_write_that_fails_names_the_output_not_its_temporary_file(tmp_path):
    path = tmp_path / "results.csv"
    with pytest.raises(NaapgnnError, match=rf"^{path}: cannot write: No space left on device$"):
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise OSError(28, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_a_staged_rename_that_fails_leaves_no_temporary_file(tmp_path):
    from naapgnn.io import staged_writes

    (tmp_path / "figure.png").mkdir()  # a folder where a file goes
    with pytest.raises(NaapgnnError, match=r"figure.png: cannot write: Is a directory$"):
        with staged_writes():
            write_text_atomic(tmp_path / "figure.png", "x")
            write_text_atomic(tmp_path / "report.md", "y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.png"]


def test_a_folder_in_the_way_of_one_output_is_refused_before_any_is_renamed(tmp_path):
    from naapgnn.io import staged_writes

    (tmp_path / "report.md").write_text("old report")
    (tmp_path / "table.csv").mkdir()  # a folder where the set's last file goes
    with pytest.raises(NaapgnnError, match=r"table.csv: cannot write: Is a directory$"):
        with staged_writes():
            write_text_atomic(tmp_path / "report.md", "new report")
            write_text_atomic(tmp_path / "table.csv", "x")
    assert (tmp_path / "report.md").read_text() == "old report"  # not half of each set
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md", "table.csv"]


def test_a_rename_that_fails_part_way_puts_the_set_back(tmp_path, monkeypatch):
    import errno

    import naapgnn.io as io_module
    from naapgnn.io import staged_writes

    (tmp_path / "report.md").write_text("old report")
    (tmp_path / "results.csv").write_text("old results")
    original = io_module.os.replace

    def refused(src, dst):  # the third file of the set cannot be renamed (a permission, an immutable file)
        if Path(dst).name == "table.csv":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return original(src, dst)

    monkeypatch.setattr(io_module.os, "replace", refused)
    with pytest.raises(NaapgnnError, match=r"table.csv: cannot write: Permission denied$"):
        with staged_writes():
            write_text_atomic(tmp_path / "results.csv", "new results")
            write_text_atomic(tmp_path / "figure.txt", "new figure")  # no former file: removed again
            write_text_atomic(tmp_path / "table.csv", "new table")
            write_text_atomic(tmp_path / "report.md", "new report")
    assert (tmp_path / "results.csv").read_text() == "old results"
    assert (tmp_path / "report.md").read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md", "results.csv"]


def test_a_set_that_lands_leaves_no_second_name_of_the_former_files(tmp_path):
    from naapgnn.io import staged_writes

    (tmp_path / "report.md").write_text("old report")
    with staged_writes():
        write_text_atomic(tmp_path / "report.md", "new report")
        write_text_atomic(tmp_path / "results.csv", "new results")
    assert (tmp_path / "report.md").read_text() == "new report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md", "results.csv"]


def test_a_set_whose_renames_were_cut_short_is_completed_by_the_next_run(tmp_path):
    import json

    from naapgnn.folders import held_folder
    from naapgnn.io import JOURNAL, finish_staged, staged_writes

    (tmp_path / "report.md").write_text("old report")
    (tmp_path / "results.csv").write_text("old results")
    renamed = []

    def killed(src, dst):  # the first rename lands, then the process dies
        if renamed:
            raise KeyboardInterrupt
        renamed.append(dst)
        os.rename(src, dst)

    import naapgnn.io as io_module

    original = io_module.os.replace
    io_module.os.replace = lambda src, dst: original(src, dst) if Path(dst).name == JOURNAL else killed(src, dst)
    try:
        with pytest.raises(KeyboardInterrupt):
            with staged_writes():
                write_text_atomic(tmp_path / "results.csv", "new results")
                write_text_atomic(tmp_path / "report.md", "new report")
    finally:
        io_module.os.replace = original
    assert (tmp_path / "results.csv").read_text() == "new results"  # half of the set, and the journal says so
    assert (tmp_path / "report.md").read_text() == "old report" and (tmp_path / JOURNAL).is_file()
    assert len(json.loads((tmp_path / JOURNAL).read_text())) == 2
    with held_folder(tmp_path, "test run"):
        pass
    assert (tmp_path / "report.md").read_text() == "new report" and not (tmp_path / JOURNAL).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".naapgnn.lock", "report.md", "results.csv"]
    assert finish_staged(tmp_path) == 0


def test_a_held_folder_names_the_run_that_holds_it(tmp_path):
    from naapgnn.folders import held_folder

    with held_folder(tmp_path, "naapgnn baselines run is writing into this folder"):
        with pytest.raises(NaapgnnError, match=rf"^{tmp_path}: another naapgnn baselines run is writing into this "
                                               rf"folder \(process {os.getpid()}\); wait for it to end or give "
                                               "another --out$"):
            with held_folder(tmp_path, "naapgnn evaluate run is writing into this folder"):
                pass
        held = f"{os.getpid()}\tnaapgnn baselines run is writing into this folder"
        assert (tmp_path / ".naapgnn.lock").read_text() == held
    # once the run ends, the lock file stays (unlinking a locked file races) but no longer says a run writes there
    assert (tmp_path / ".naapgnn.lock").read_text() == ""
    with held_folder(tmp_path, "naapgnn evaluate run is writing into this folder"):
        assert (tmp_path / ".naapgnn.lock").read_text().endswith("\tnaapgnn evaluate run is writing into this folder")


def test_a_set_put_back_without_hard_links_says_which_files_stay_new(tmp_path, monkeypatch):
    import errno

    import naapgnn.io as io_module
    from naapgnn.io import staged_writes

    (tmp_path / "results.csv").write_text("old results")
    original = io_module.os.replace

    def refused(src, dst):
        if Path(dst).name == "table.csv":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return original(src, dst)

    def no_links(src, dst):  # vfat, many network mounts
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(io_module.os, "replace", refused)
    monkeypatch.setattr(io_module.os, "link", no_links)
    with pytest.raises(NaapgnnError, match=r"table.csv: cannot write: Permission denied; 1 file\(s\) of the set "
                                           r"written before it could not be put back and hold the new content "
                                           r"\(first: .*results.csv\)$"):
        with staged_writes():
            write_text_atomic(tmp_path / "results.csv", "new results")
            write_text_atomic(tmp_path / "table.csv", "new table")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]


def test_an_output_under_a_file_names_the_file_that_is_no_folder(tmp_path):
    from naapgnn.io import write_text_atomic

    (tmp_path / "afile").write_text("x")
    with pytest.raises(NaapgnnError, match=rf"^{tmp_path}/afile/out.csv: cannot write: {tmp_path}/afile is not a "
                                           "folder$"):
        write_text_atomic(tmp_path / "afile" / "out.csv", "a\n")


@pytest.mark.parametrize("command", [["evaluate", "--budgets", "0"], ["baselines"], ["search", "--strategy", "random"]])
def test_an_empty_out_is_refused_before_any_work(command, capsys):
    from naapgnn.cli import main

    assert main([*command, "--out", ""]) == 2
    assert capsys.readouterr().err == f"naapgnn {command[0]}: error: --out: an empty path; give a folder\n"


@pytest.mark.parametrize("body, message", [
    (b"a,b\n1,2\n3,\xe9\n", r"line 3: not UTF-8 text \(invalid continuation byte\); save it as UTF-8$"),
    (b'a,b\n1,2\n3,"4\n' + b"5,6\n" * 40000, r"line 3: not a readable CSV: field larger than field limit \(131072\) "
                                             r"\(a quote opened there and never closed\?\)$"),
    (b'a,b\n1,2\n"x\ny",4,5\n', r"line 3: 3 cells, the header has 2$"),  # a quoted line break: its first line
])
def test_a_csv_that_cannot_be_read_names_the_line(tmp_path, body, message):
    from naapgnn.data.csv_rows import read_csv_rows

    path = tmp_path / "bad.csv"
    path.write_bytes(body)
    with pytest.raises(NaapgnnError, match=rf"^{path} {message}"):
        read_csv_rows(path, ["a", "b"], "a test file")


def test_an_atomic_write_removes_what_a_killed_writer_of_that_output_left(tmp_path):
    """A SIGKILL leaves the temporary file (an import's could weigh 96 MB); the next write of the same output
    removes it, and leaves a live writer's, another output's and a user's hidden file alone."""
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(gone.stdout)
    left = tmp_path / f".out.jsonl.tmp{dead}.abcdefgh.jsonl"
    others = [tmp_path / f".other.jsonl.tmp{dead}.abcdefgh.jsonl", tmp_path / ".out.jsonl.mine",
              tmp_path / f".out.jsonl.tmp{os.getppid()}.abcdefgh.jsonl"]  # another output's, a user's, a live one
    for path in (left, *others):
        path.write_text("x")
    write_text_atomic(tmp_path / "out.jsonl", "{}\n")
    assert not left.exists() and all(path.exists() for path in others)
    assert (tmp_path / "out.jsonl").read_text() == "{}\n"

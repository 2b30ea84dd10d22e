"""File helpers: atomic writes and reading back progress logs cut by an interruption."""
from __future__ import annotations

from naapgnn.io import read_progress_jsonl, write_text_atomic


def test_progress_log_skips_a_line_cut_short(tmp_path):
    path = tmp_path / "runs.jsonl"
    assert read_progress_jsonl(path) == [] and read_progress_jsonl(None) == []
    path.write_text('{"key": "a", "value": 1}\n{"key": "b", "value": 2}\n{"key": "c", "va')
    assert read_progress_jsonl(path) == [{"key": "a", "value": 1}, {"key": "b", "value": 2}]


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "report.md"
    write_text_atomic(path, "hello\n")
    assert path.read_text() == "hello\n"
    assert [p.name for p in path.parent.iterdir()] == ["report.md"]

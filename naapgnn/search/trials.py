"""Resuming a study: its finished trials live in a :class:`naapgnn.io.ResumeLog`.

Each trial is saved under a key that hashes the study's settings with the
trial number, so a run with other settings never reads it. A finished study
removes its own trials from the log (the log with them when no other study's are left).
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from naapgnn.io import ResumeLog


def trial_log(folder: str | Path | None, study: str, fresh: bool = False) -> ResumeLog:
    """The resume log of ``study`` in ``folder`` (None: nothing kept); ``fresh`` forgets what it holds."""
    log = ResumeLog(None if folder is None else Path(folder) / f".{study}.partial.jsonl")
    if fresh:
        log.clear()
    return log


def trial_keys(config: dict, trials: int) -> list[str]:
    """The resume key of each trial: a sha256 of the study's settings and the trial number. Not of the number of
    trials: trial ``t`` is seeded by the seed and ``t`` alone, so a rerun with fewer or more trials reuses it."""
    settings = {k: v for k, v in config.items() if k != "trials"}
    return [hashlib.sha256(json.dumps({**settings, "trial": t}, sort_keys=True, default=str).encode()).hexdigest()
            for t in range(trials)]


def announce_resume(log: ResumeLog, keys: list[str]) -> None:
    """Say on stderr how many trials an interrupted run already finished (nothing when none)."""
    done = sum(key in log for key in keys)
    if done:
        print(f"resuming {done} of {len(keys)} trials (saved in {log.path}; --fresh starts over)", file=sys.stderr)

"""Time ``naapgnn train --budget 3`` on NAAP-440 idle and beside one busy-looping process (A/B in one run).

    NAAPGNN_DATA=../shared/data/naap440 .venv/bin/python scripts/bench_train_load.py [--threads default 2]

For each ``--threads`` setting ("default" = the CLI's default) it trains once on
an idle machine and once while another process spins on one core, and prints
both wall times and their ratio (the target is a ratio of at most 2). The
measured command runs at normal priority; the busy loop too.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

BUSY_LOOP = "while True:\n    pass\n"


def train_seconds(threads: str, budget: int, data: str | None, out: str) -> float:
    cmd = [sys.executable, "-m", "naapgnn", "train", "--budget", str(budget), "--out", out, "--quiet"]
    if threads != "default":
        cmd += ["--threads", threads]
    if data:
        cmd += ["--data", data]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def loaded_seconds(threads: str, budget: int, data: str | None, out: str) -> float:
    busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    try:
        time.sleep(0.5)
        return train_seconds(threads, budget, data, out)
    finally:
        busy.kill()
        busy.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", nargs="+", default=["default"],
                        help='torch threads settings to compare ("default": the CLI default)')
    parser.add_argument("--budget", type=int, default=3)
    parser.add_argument("--data", default=None, help="NAAP-440 folder (default: $NAAPGNN_DATA)")
    args = parser.parse_args(argv)
    print(f"naapgnn train --budget {args.budget} on NAAP-440, {os.cpu_count()} CPUs; one run each")
    print(f"{'threads':>8}  {'idle s':>7}  {'loaded s':>8}  {'loaded/idle':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for threads in args.threads:
            idle = train_seconds(threads, args.budget, args.data, os.path.join(tmp, "idle"))
            loaded = loaded_seconds(threads, args.budget, args.data, os.path.join(tmp, "loaded"))
            print(f"{threads:>8}  {idle:>7.1f}  {loaded:>8.1f}  {loaded / idle:>11.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run every search simulation of the README and collect what they print.

Usage::

    python scripts/search_report.py [--data DIR] [--out results] [--quick] [--skip-gnn]

Runs ``naapgnn search`` for each configuration below (each writes its own
Markdown, CSV and PNG files into its folder) and writes
``OUT/search/SUMMARY.md``: every command with its printed output. The
headline runs use 100 trials with the per-layer forest (fast); the GNN
variants use fewer trials, as their folder and output say. ``--quick`` cuts
every trial count (for a smoke test, not for numbers).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# (folder, arguments): folder "search" holds the headline runs.
RUNS = (
    ("search", ["--strategy", "compare", "--predictor", "forest", "--trials", "100"]),
    ("search", ["--strategy", "predictor", "--predictor", "gnn", "--n-train", "20", "--top-k", "10",
                "--trials", "100"]),
    ("search", ["--strategy", "early-stop", "--predictor", "forest", "--trials", "100"]),
    ("search", ["--strategy", "enlarged", "--predictor", "gnn"]),
    ("search-forest", ["--strategy", "predictor", "--predictor", "forest", "--n-train", "20", "--top-k", "10",
                       "--trials", "100"]),
    ("search-forest", ["--strategy", "enlarged", "--predictor", "forest"]),
    ("search-gnn", ["--strategy", "compare", "--predictor", "gnn", "--trials", "30"]),
    ("search-gnn", ["--strategy", "early-stop", "--predictor", "gnn", "--budget", "3", "9", "--trials", "5"]),
)


def main() -> int:
    from naapgnn.cli import main as naapgnn_main
    from naapgnn.io import write_text_atomic

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="NAAP-440 folder (default: $NAAPGNN_DATA, then the cache)")
    parser.add_argument("--out", default="results", help="parent of the output folders (default results)")
    parser.add_argument("--quick", action="store_true", help="few trials: a smoke test, not for numbers")
    parser.add_argument("--skip-gnn", action="store_true", help="only the runs with the forest")
    args = parser.parse_args()

    sections = ["# Search simulations: commands and their output", "",
                f"Written by `python scripts/search_report.py{' --quick' if args.quick else ''}`.", ""]
    for folder, run_args in RUNS:
        if args.skip_gnn and "gnn" in run_args:
            continue
        run_args = list(run_args)
        if args.quick and "--trials" in run_args:
            run_args[run_args.index("--trials") + 1] = "2"
        out = Path(args.out) / folder
        command = ["search", *run_args, "--out", str(out), "--quiet"]
        if args.data:
            command += ["--data", args.data]
        print("naapgnn " + " ".join(command), file=sys.stderr, flush=True)
        start = time.perf_counter()
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            status = naapgnn_main(command)
        text = buffer.getvalue()
        print(text, file=sys.stderr)
        if status != 0:
            print(f"failed with status {status}", file=sys.stderr)
            return status
        sections += [f"## `naapgnn {' '.join(command)}`", "", f"({time.perf_counter() - start:.0f} s)", "",
                     "```", text.rstrip(), "```", ""]
    write_text_atomic(Path(args.out) / "search" / "SUMMARY.md", "\n".join(sections))
    print(f"wrote {Path(args.out) / 'search' / 'SUMMARY.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

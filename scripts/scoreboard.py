"""Issue 12's scoreboard in one command: naapgnn's default GNN against Baker et al.'s nu-SVR on every benchmark file
this repository can rebuild, budget by budget, and how many budgets k >= 1 the GNN ranks behind.

The files: NAAP-440 (10 repeated 400/40 splits) and the deep ResNets (10 grouped 80/20 splits, and their three curve
variants on 5) through ``scripts/baker_report.py``; the four files of ``scripts/synthetic_benchmarks.py``, the eight
of ``scripts/probe_benchmark.py`` (B2 also over 20 splits), ``scripts/early_stop_probe.py``'s and the two blind
testers' files of ``scripts/nb101_style_probe.py``, ``scripts/mobilenet_style_probe.py``,
``scripts/seed_repeated_probe.py`` and ``scripts/inception_style_probe.py`` through
``naapgnn evaluate`` with the commands the README gives for each (``--inner-folds 0``: the advice is not scored
here). Every run writes to its own folder under ``--out`` and resumes there, so a killed scoreboard continues where
it stopped (a fit is reused only under the same package and checkpoint versions: after changing the code, use a
new ``--out``); ``--only`` runs some entries. Nothing here was tuned: the budgets and splits are the README's.

Output: per file and budget, the GNN's and Baker's mean Kendall tau and MAE over the splits (``OUT/scoreboard.csv``)
and the budgets k >= 1 where Baker's tau or MAE is better (``OUT/scoreboard.md``, and on stdout).

    python scripts/scoreboard.py --deep deep.jsonl --out runs/scoreboard --jobs 2
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
PROBE_FILES = {  # name: (seed, records, variant)
    "A": (11, 200, "A"), "A2": (101, 200, "A"), "A400": (404, 400, "A"), "B": (22, 200, "B"),
    "B2": (202, 200, "B"), "B400": (505, 400, "B"), "C": (33, 200, "C"), "C2": (303, 200, "C")}
# name: (file under the data folder, evaluate's options after --data FILE)
EVALUATE_RUNS = {
    "lcbench_like": ("lcbench_like.jsonl", "--target-scale percent --budgets 0,1,3,6,9 --repeats 10"),
    "cnn_cut_short": ("cnn_cut_short.jsonl", "--full-epochs 200 --budgets 0,1,3,6,9,12 --repeats 10"),
    "step_decay": ("step_decay.jsonl", "--target-scale percent --full-epochs 90 --budgets 0,1,3,5,10,20 --repeats 10"),
    "sparse_log": ("sparse_log.jsonl", "--budgets 0,10,20,50,100 --protocol official --seeds 2"),
    **{name: (f"{name}.jsonl", ("--target-scale percent " if variant == "A" else "")
              + ("--train-size 200 --repeats 10 " if records == 400 else "--repeats 5 ") + "--budgets 0,1,3,5,10,20")
       for name, (seed, records, variant) in PROBE_FILES.items()},
    "B2x20": ("B2.jsonl", "--budgets 0,1,3,5,10,20 --repeats 20"),
    "early_stop_probe": ("early_stop_probe.jsonl", "--budgets 0,1,3,5,6,9,20 --repeats 5"),
    "nb101_style": ("nb101.jsonl", "--target-scale percent --budgets 0,4,12,36 --repeats 5"),
    "mobilenet_style": ("mbv2.jsonl", "--budgets 0,3,5,10,20 --repeats 5"),
    "seed_repeated": ("seeds.jsonl", "--budgets 0,1,5,10,30 --repeats 5"),
    "inception_style": ("inception.jsonl", "--target-scale percent --budgets 0,1,3,5,10,20 --repeats 5"),
}
BAKER_REPORTS = {"naap440": "--splits 10 --deep-budgets ''", "deep": "--splits 10 --naap-budgets ''",
                 "deep_variants": "--splits 5 --naap-budgets '' --deep-budgets '' --variants every4,loss,noisy"}


def build_files(data: Path) -> None:
    """Write the benchmark files the evaluate runs read, where they are not there yet."""
    python = sys.executable
    if not (data / "sparse_log.jsonl").exists():
        _run([python, str(SCRIPTS / "synthetic_benchmarks.py"), str(data)])
    for name, (seed, records, variant) in PROBE_FILES.items():
        if not (data / f"{name}.jsonl").exists():
            _run([python, str(SCRIPTS / "probe_benchmark.py"), "--records", str(records), "--seed", str(seed),
                  "--variant", variant, "-o", str(data / f"{name}.jsonl")])
    if not (data / "early_stop_probe.jsonl").exists():
        _run([python, str(SCRIPTS / "early_stop_probe.py"), "-o", str(data / "early_stop_probe.jsonl")])
    for script, name in (("nb101_style_probe.py", "nb101.jsonl"), ("mobilenet_style_probe.py", "mbv2.jsonl"),
                         ("seed_repeated_probe.py", "seeds.jsonl"), ("inception_style_probe.py", "inception.jsonl")):
        if not (data / name).exists():
            _run([python, str(SCRIPTS / script), str(data / name)])


def _run(command: list[str]) -> None:
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def run_evaluate(name: str, data: Path, out: Path, jobs: int) -> Path:
    """``naapgnn evaluate`` of one entry of :data:`EVALUATE_RUNS` (resumed in its folder); its results.csv."""
    import shlex

    file, options = EVALUATE_RUNS[name]
    folder = out / name
    _run([sys.executable, "-m", "naapgnn", "evaluate", "--data", str(data / file), *shlex.split(options),
          "--predictors", "gnn,baker", "--inner-folds", "0", "--jobs", str(jobs), "--quiet", "--out", str(folder),
          *(["--protocol", "repeated"] if "--protocol" not in options else [])])
    return folder / "results.csv"


def run_baker_report(name: str, deep: str | None, out: Path, jobs: int) -> Path:
    """``scripts/baker_report.py`` for one entry of :data:`BAKER_REPORTS`; its baker_report.csv."""
    import shlex

    folder = out / name
    _run([sys.executable, str(SCRIPTS / "baker_report.py"), *shlex.split(BAKER_REPORTS[name]),
          *(["--deep", deep] if deep else []), "--jobs", str(jobs), "--out", str(folder)])
    return folder / "baker_report.csv"


def evaluate_rows(name: str, csv: Path) -> list[dict]:
    """Mean tau and MAE per budget of the GNN and Baker in an evaluate results.csv."""
    import pandas as pd

    return [_pair_row(name, k, at) for k, at in pd.read_csv(csv).groupby("budget")]


def baker_report_rows(csv: Path) -> list[dict]:
    """The same from a baker_report.csv (one row per benchmark, budget and predictor)."""
    import pandas as pd

    return [_pair_row(bench, k, at) for (bench, k), at in pd.read_csv(csv).groupby(["benchmark", "budget"], sort=False)]


def _pair_row(benchmark: str, budget, at) -> dict:
    """One scoreboard row from the rows ``at`` one benchmark and budget hold, one per predictor."""
    by = at.set_index("predictor")
    return {"benchmark": benchmark, "budget": int(budget), "gnn_tau": by.at["gnn", "kendall_tau"],
            "baker_tau": by.at["baker", "kendall_tau"], "gnn_mae": by.at["gnn", "mae"],
            "baker_mae": by.at["baker", "mae"]}


def summary(rows: list[dict]) -> str:
    """The table (bold where Baker is better) and the counts of budgets k >= 1 behind Baker."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    curve = frame[frame.budget >= 1]
    behind_tau = curve[curve.gnn_tau < curve.baker_tau]
    behind_mae = curve[curve.gnn_mae > curve.baker_mae]
    lines = ["| benchmark | k | GNN tau | Baker tau | GNN MAE | Baker MAE |", "|---|---|---|---|---|---|"]
    for r in frame.itertuples():
        tau = f"**{r.baker_tau:.3f}**" if r.budget >= 1 and r.baker_tau > r.gnn_tau else f"{r.baker_tau:.3f}"
        mae = f"**{r.baker_mae:.4f}**" if r.budget >= 1 and r.baker_mae < r.gnn_mae else f"{r.baker_mae:.4f}"
        lines.append(f"| {r.benchmark} | {r.budget} | {r.gnn_tau:.3f} | {tau} | {r.gnn_mae:.4f} | {mae} |")
    where = ", ".join(f"{r.benchmark} {r.budget}" for r in behind_tau.itertuples()) or "none"
    lines += ["", f"Budgets k >= 1: {len(curve)}; the GNN's tau below Baker's on {len(behind_tau)} ({where}); its MAE "
              f"above Baker's on {len(behind_mae)}. Mean tau over them: GNN {curve.gnn_tau.mean():.4f}, Baker "
              f"{curve.baker_tau.mean():.4f}."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deep", default=None, help="the deep ResNets as `naapgnn import deep-resnets` writes them "
                                                     "(without it their two entries are skipped)")
    parser.add_argument("--out", type=Path, default=Path("runs/scoreboard"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", default="", help="comma list of entries to run (default: all): "
                        + ", ".join([*BAKER_REPORTS, *EVALUATE_RUNS]))
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or [*BAKER_REPORTS, *EVALUATE_RUNS]
    unknown = [n for n in names if n not in BAKER_REPORTS and n not in EVALUATE_RUNS]
    if unknown:
        raise SystemExit(f"scoreboard.py: error: --only: unknown entry {unknown[0]!r}")
    data = args.out / "data"
    data.mkdir(parents=True, exist_ok=True)
    build_files(data)
    rows = []
    for name in names:
        if name in BAKER_REPORTS:
            if name != "naap440" and not args.deep:
                print(f"skipped {name}: no --deep", flush=True)
                continue
            rows += baker_report_rows(run_baker_report(name, args.deep, args.out, args.jobs))
        else:
            rows += evaluate_rows(name, run_evaluate(name, data, args.out, args.jobs))
    import pandas as pd
    from naapgnn.io import write_text_atomic

    text = summary(rows)
    write_text_atomic(args.out / "scoreboard.csv", pd.DataFrame(rows).to_csv(index=False))
    write_text_atomic(args.out / "scoreboard.md", text)
    print(text)


if __name__ == "__main__":
    main()

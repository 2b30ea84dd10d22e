"""End-to-end GNN prediction throughput, this code against a baseline revision, timed in one run.

Usage: NAAPGNN_DATA=../shared/data/naap440 python scripts/bench_predict.py [--baseline HEAD] [--copies 12]
       [--repeats 5] [--max-epochs 20]

What is timed is what ``scripts/report_gnn.py`` reports as "prediction, end
to end from parsed architectures": ``GNNPredictor.predict`` (budget 3, default
settings but ``--max-epochs``, trained once on the 400 NAAP-440 training
architectures) on the 440 architectures x ``--copies``, parsed afresh before
every timed call so that nothing computed per architecture is reused.

The baseline is the working tree with the files of the prediction path
(:data:`PATH_FILES`) as they are at ``--baseline``; everything else is
shared, so the difference is that of those files alone. Each side runs in its
own worker process with one torch thread; both read the same pickled model
and are timed in interleaved rounds (so a load change on a shared machine
hits them alike); each figure is the best of ``--repeats`` rounds. It prints
architectures/s of each side, the speed-up, whether the predictions are
bit-identical, and where this code's prediction time goes.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning)

REPO = Path(__file__).resolve().parents[1]
PATH_FILES = ("naapgnn/graph/encoding.py", "naapgnn/arch/profiling.py", "naapgnn/arch/format.py",
              "naapgnn/arch/ops.py", "naapgnn/features/tabular.py", "naapgnn/models/network.py",
              "naapgnn/models/forest.py", "naapgnn/models/applicability.py", "naapgnn/graph/rows.py",
              "naapgnn/graph/batching.py", "naapgnn/models/inputs.py")


def fresh_records(copies: int):
    from naapgnn.arch.format import parse_architecture
    from naapgnn.data.naap440 import load_naap440
    from naapgnn.data.records import Record, records_from_naap440

    records = records_from_naap440(load_naap440())
    return records, [Record(id=f"{k}-{r.id}", arch=parse_architecture(r.arch.scheme), curve=r.curve)
                     for k in range(copies) for r in records]


def worker(model_path: str, copies: int, predictions_path: str) -> None:
    """Answer each line on stdin with the seconds of one ``predict`` on fresh records; save the last predictions."""
    import torch

    torch.set_num_threads(1)
    with open(model_path, "rb") as f:
        model = pickle.load(f)
    _, fresh = fresh_records(copies)
    model.predict(fresh[:500])  # warm-up
    print("ready", flush=True)
    out = None
    for _ in sys.stdin:
        _, fresh = fresh_records(copies)
        start = time.perf_counter()
        out = model.predict(fresh)
        print(time.perf_counter() - start, flush=True)
    np.save(predictions_path, out)


def baseline_tree(rev: str, where: Path) -> Path:
    """A copy of this working tree's package with :data:`PATH_FILES` as they are at ``rev``."""
    shutil.copytree(REPO / "naapgnn", where / "naapgnn", ignore=shutil.ignore_patterns("__pycache__"))
    for path in PATH_FILES:
        shown = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=REPO, capture_output=True, text=True)
        if shown.returncode == 0:
            (where / path).write_text(shown.stdout)
    return where


def start_worker(tree: Path, model_path: Path, copies: int, predictions: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, __file__, "--worker", str(model_path), "--copies", str(copies),
                             "--predictions", str(predictions)], cwd=REPO, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit(f"worker on {tree} did not start")
    return proc


def breakdown(model, copies: int) -> dict:
    """Seconds of each part of ``model.predict`` in this process (architectures parsed afresh for each part)."""
    import torch

    from naapgnn.models.network import batch_architectures

    def timed(fn):
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    def fresh():
        return fresh_records(copies)[1]

    g, curve, hp = model._inputs(fresh())
    archs, records, forest_records = [r.arch for r in fresh()], fresh(), fresh()
    graphs = batch_architectures([r.arch for r in forest_records], fold=model.folds_)
    with torch.no_grad():
        return {
            "graph encoding + batching": timed(lambda: batch_architectures(archs, fold=model.folds_)),
            "curve features": timed(lambda: model._curve(records)),
            "ensemble forward": timed(lambda: [m(g, curve, hp) for m in model.members_]),
            "forest (statistics + trees)": timed(lambda: model._forest_prediction(
                forest_records, graphs, model._hparams(forest_records))),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="HEAD", help="git revision of the prediction-path files compared")
    parser.add_argument("--copies", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-epochs", type=int, default=20, help="training epochs of the predictor timed")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--predictions", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.copies, args.predictions)
    import torch

    from naapgnn.models.gnn import GNNPredictor

    torch.set_num_threads(1)
    records, fresh = fresh_records(args.copies)
    model = GNNPredictor(budget=3, max_epochs=args.max_epochs, random_state=0)
    model.fit([r for r in records if r.split == "train"])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with open(tmp / "model.pkl", "wb") as f:
            pickle.dump(model, f)
        trees = {"baseline": baseline_tree(args.baseline, tmp / "baseline"), "this code": REPO}
        workers = {name: start_worker(tree, tmp / "model.pkl", args.copies, tmp / f"{i}.npy")
                   for i, (name, tree) in enumerate(trees.items())}
        times = {name: [] for name in workers}
        for _ in range(args.repeats):
            for name, proc in workers.items():
                proc.stdin.write("go\n")
                proc.stdin.flush()
                times[name].append(float(proc.stdout.readline()))
        for proc in workers.values():
            proc.stdin.close()
            proc.wait()
        outputs = [np.load(tmp / f"{i}.npy") for i in range(len(trees))]
    n = len(fresh)
    print(f"prediction end to end, {n} architectures (NAAP-440 x {args.copies}, parsed afresh), budget 3, "
          f"{model.n_ensemble} members + forest, 1 torch thread, best of {args.repeats} interleaved rounds:")
    best = {name: min(t) for name, t in times.items()}
    for name, seconds in best.items():
        label = f"baseline ({args.baseline})" if name == "baseline" else name
        print(f"  {label:28s} {n / seconds:8,.0f} architectures/s ({seconds:.2f} s)")
    print(f"  speed-up: {best['baseline'] / best['this code']:.2f}x; predictions bit-identical: "
          f"{np.array_equal(outputs[0], outputs[1])}")
    print("  where this code's time goes: " + ", ".join(
        f"{part} {seconds:.2f} s" for part, seconds in breakdown(model, args.copies).items()))
    print(json.dumps({name: [round(t, 4) for t in ts] for name, ts in times.items()}))


if __name__ == "__main__":
    main()

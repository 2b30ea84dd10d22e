"""Import + encode time of all 15,625 NAS-Bench-201 networks, this code against a git revision (A/B in one run).

Usage: python scripts/bench_nb201.py [--baseline REV] [--csv ../shared/data/nb201/nats_bench.csv]
                                     [--dataset cifar10] [--limit N] [--loads idle,busy] [--rounds 1]
                                     [--predict] [--max-epochs E]

Each measurement is a fresh process with one torch thread (no cache carried over) that times
``read_nb201`` (CSV -> records: every network built as a layer graph and validated) and
``encode_many`` of all records (the graphs the GNN reads), and reports wall and CPU seconds. With
``--baseline REV`` the same is timed on ``git archive REV naapgnn`` (a copy in a temporary folder; the
working tree and git are untouched), the two sides alternating, first on an idle machine ("idle"),
then beside a process spinning on one core ("busy"); each figure is the best of ``--rounds``. Both
sides also write the JSON Lines of ``naapgnn import nb201`` (``--train 1563 --seed 0``, untimed) and
hash them and the encoded tensors: the outputs must be identical (sha256 printed).

``--predict`` also trains a default :class:`~naapgnn.models.gnn.GNNPredictor` (budget 0; ``--max-epochs``
to shorten training, which does not change the cost of a prediction) on 1,563 random cells and times
``predict`` of all 15,625 records (parsed afresh).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUSY_LOOP = "while True:\n    pass\n"
TENSORS = ("x", "edge_index", "node_type", "graph_attr", "num_params", "num_macs")


def measure(csv: str, dataset: str, limit: int | None, jsonl: str) -> dict:
    """Seconds of import and encode in this process, and the sha256 of what they produce."""
    import torch
    import torch_geometric.data  # noqa: F401 - loaded before timing, as in any process that trains or predicts

    from naapgnn.data.nb201 import read_nb201
    from naapgnn.data.records import write_jsonl
    from naapgnn.graph.encoding import encode_many

    torch.set_num_threads(1)
    wall, cpu = time.perf_counter(), time.process_time()
    records = read_nb201(csv, dataset, train=1563, seed=0)[:limit]
    import_wall, import_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    graphs = encode_many([r.arch for r in records])
    encode_wall, encode_cpu = time.perf_counter() - wall, time.process_time() - cpu
    digest = hashlib.sha256()
    for g in graphs:
        for key in TENSORS:
            value = getattr(g, key)
            digest.update(f"{key}{value.dtype}{tuple(value.shape)}".encode())
            digest.update(value.contiguous().numpy().tobytes())
    write_jsonl(records, jsonl)
    return {"import_wall": import_wall, "import_cpu": import_cpu, "encode_wall": encode_wall,
            "encode_cpu": encode_cpu, "networks": len(records), "nodes": sum(int(g.num_nodes) for g in graphs),
            "tensors_sha256": digest.hexdigest(),
            "jsonl_sha256": hashlib.sha256(Path(jsonl).read_bytes()).hexdigest()}


def run_side(tree: Path, args: argparse.Namespace, jsonl: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, __file__, "--worker", str(jsonl), "--csv", args.csv, "--dataset", args.dataset]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    out = subprocess.run(cmd, cwd=REPO, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def baseline_tree(rev: str, where: Path) -> Path:
    """The package ``naapgnn`` as it is at ``rev`` (``git archive``; nothing in git changes)."""
    archive = subprocess.run(["git", "archive", rev, "naapgnn"], cwd=REPO, check=True, capture_output=True).stdout
    where.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def busy_core():
    proc = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    time.sleep(0.5)
    return proc


def compare(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sides = {"this code": REPO}
        if args.baseline:
            sides = {f"baseline ({args.baseline})": baseline_tree(args.baseline, tmp / "baseline"), **sides}
        print(f"NAS-Bench-201 {args.dataset}: read_nb201 + encode_many, fresh process each, 1 torch thread, "
              f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f} at start), best of {args.rounds}")
        print(f"{'load':<5} {'code':<24} {'import s':>9} {'encode s':>9} {'total s':>8} {'total CPU s':>12}")
        hashes = {}
        for load in args.loads.split(","):
            best: dict = {}
            for _ in range(args.rounds):
                for i, (name, tree) in enumerate(sides.items()):
                    spinner = busy_core() if load == "busy" else None
                    try:
                        r = run_side(tree, args, tmp / f"{i}.jsonl")
                    finally:
                        if spinner:
                            spinner.kill()
                            spinner.wait()
                    r["total_wall"], r["total_cpu"] = r["import_wall"] + r["encode_wall"], r["import_cpu"] + r["encode_cpu"]
                    if name not in best or r["total_wall"] < best[name]["total_wall"]:
                        best[name] = r
                    hashes.setdefault(name, set()).add((r["jsonl_sha256"], r["tensors_sha256"]))
            for name, r in best.items():
                print(f"{load:<5} {name:<24} {r['import_wall']:>9.1f} {r['encode_wall']:>9.1f} {r['total_wall']:>8.1f} "
                      f"{r['total_cpu']:>12.1f}", flush=True)
            if len(best) == 2:
                a, b = best.values()
                print(f"{load:<5} speed-up {a['total_wall'] / b['total_wall']:.2f}x (wall), "
                      f"{a['total_cpu'] / b['total_cpu']:.2f}x (CPU)")
        print(f"{r['networks']} networks, {r['nodes']} nodes")
        for name, seen in hashes.items():
            for jsonl, tensors in sorted(seen):
                print(f"{name}: JSON Lines sha256 {jsonl}, tensors sha256 {tensors}")
        print("outputs identical:", len(set.union(*hashes.values())) == 1)


def predict(args: argparse.Namespace) -> None:
    """Train the default GNN on the 1,563 train cells; time ``predict`` of all records, parsed afresh."""
    import torch

    from naapgnn.arch.format import parse_architecture
    from naapgnn.data.nb201 import read_nb201
    from naapgnn.data.records import Record
    from naapgnn.models.gnn import GNNPredictor

    torch.set_num_threads(1)
    records = read_nb201(args.csv, args.dataset, train=1563, seed=0)
    kwargs = {"max_epochs": args.max_epochs} if args.max_epochs else {}
    model = GNNPredictor(random_state=0, **kwargs)
    start = time.perf_counter()
    model.fit([r for r in records if r.split == "train"])
    fit_seconds = time.perf_counter() - start
    fresh = [Record(id=r.id, arch=parse_architecture(r.arch.to_dict())) for r in records]
    start = time.perf_counter()
    model.predict(fresh)
    print(f"GNNPredictor (default{', max_epochs=' + str(args.max_epochs) if args.max_epochs else ''}) trained on "
          f"1563 cells in {fit_seconds:.1f} s; predict of all {len(fresh)}: {time.perf_counter() - start:.1f} s "
          f"(target < 10 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=str((REPO / "../shared/data/nb201/nats_bench.csv").resolve()))
    parser.add_argument("--dataset", default="cifar10", choices=("cifar10", "cifar100", "imagenet16"))
    parser.add_argument("--limit", type=int, help="only the first N networks")
    parser.add_argument("--baseline", help="git revision to compare against (default: this code only)")
    parser.add_argument("--loads", default="idle,busy",
                        help="idle, busy (one core spinning), both, or none (only --predict)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--predict", action="store_true", help="also time GNNPredictor.predict of all networks")
    parser.add_argument("--max-epochs", type=int, help="training epochs of the --predict model (default: its own)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.csv, args.dataset, args.limit, args.worker)))
        return
    if args.loads != "none":
        compare(args)
    if args.predict:
        predict(args)


if __name__ == "__main__":
    main()

"""Time the GNN's fit at N = 1563 NAS-Bench-201 cells with its members trained in 1 or 2 processes
(``n_jobs``), idle and beside one busy-looping process, in one run (issue 13: fit < 2 min).

    python scripts/bench_nb201_fit_jobs.py nb201_cifar10.jsonl [--seed 99] [--jobs 1 2]

``nb201_cifar10.jsonl`` comes from ``naapgnn import nb201``. The cells are the sample-efficiency
script's draw ``--seed`` (99: a development draw, not one of the table's seeds 0-4); the settings are
the table's. Prints, per setting, the fit's wall time, the prediction of the other 14,062 cells from
their encoded batch, and the Kendall tau there (the same for every ``n_jobs``: the fit does not depend on it).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

SETTINGS = {"batch_size": 64, "max_epochs": 150, "patience": 20, "n_ensemble": 3}
BUSY_LOOP = "while True:\n    pass\n"


def one_fit(records, graphs, train, test, n_jobs: int, seed: int) -> tuple[float, float, float]:
    from scipy.stats import kendalltau

    from naapgnn.models.gnn import GNNPredictor

    model = GNNPredictor(random_state=seed, n_jobs=n_jobs, **SETTINGS)
    start = time.perf_counter()
    model.fit([records[i] for i in train])
    assert model.folds_, "the batch of test cells is folded: the model must read folded graphs"
    fit = time.perf_counter() - start
    start = time.perf_counter()
    pred = model.predict_from_parts(model.predict_parts([records[i] for i in test], graphs))
    predict = time.perf_counter() - start
    tau = kendalltau(pred, [records[i].target for i in test]).statistic
    return fit, predict, float(tau)


def main(argv=None) -> int:
    from naapgnn.data.records import load_benchmark
    from naapgnn.models.gnn import GNNPredictor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="NAS-Bench-201 records (naapgnn import nb201)")
    parser.add_argument("--seed", type=int, default=99, help="the draw of training cells (default 99)")
    parser.add_argument("--n-train", type=int, default=1563)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    records = load_benchmark(args.data)
    perm = np.random.default_rng(args.seed).permutation(len(records))
    train, test = np.sort(perm[:args.n_train]), np.sort(perm[args.n_train:])
    graphs = GNNPredictor(**SETTINGS).encode_batch([records[i] for i in test], fold=True)  # cells repeat
    print(f"{len(train)} training cells (draw {args.seed}), {len(test)} predicted; settings {SETTINGS}")
    print("| load | n_jobs | fit (s) | prediction (s) | Kendall tau |\n|---|---|---|---|---|")
    for load in ("idle", "one busy process"):
        busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if load != "idle" else None
        try:
            for jobs in args.jobs:
                fit, predict, tau = one_fit(records, graphs, train, test, jobs, seed=args.seed)
                print(f"| {load} | {jobs} | {fit:.1f} | {predict:.1f} | {tau:.4f} |", flush=True)
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

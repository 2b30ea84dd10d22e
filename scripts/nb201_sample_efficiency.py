"""NAS-Bench-201 sample efficiency, the field's protocol (issue 13).

Train on N random cells (N = 78, 156, 781, 1563: 0.5, 1, 5, 10% of the
15,625), test on all the others; 5 seeds (seed s draws the cells with
``numpy.random.default_rng(s).permutation``, the same cells for every predictor
and every dataset); Kendall tau mean and std over the seeds, for CIFAR-10,
CIFAR-100 and ImageNet16-120; naapgnn's GNN beside the per-layer forest and
the one-hot-of-ops random forest (``baselines/onehot.py``). Every fit goes
through :func:`naapgnn.evaluation.engine.run_units` with a resume log
(``OUT/runs.jsonl``), so a killed run continues where it stopped.

Networks come from ``naapgnn import nb201`` (the full network as a layer
graph): the script imports ``--csv`` itself, or reads already imported JSON
Lines files given as ``--data cifar10=FILE.jsonl,...``. Nothing is tuned on
the test cells: every predictor runs with fixed settings (the GNN with its
defaults plus ``--gnn-params``).

Output: the table on stdout, ``OUT/sample_efficiency.md`` and ``OUT/sample_efficiency.csv``
(``dataset,n_train,predictor,seeds,kendall_tau,kendall_tau_std,spearman,mae,seconds``, ``seconds`` =
fit + prediction of the test cells per run, or ``fit_seconds`` / ``predict_seconds`` when the engine
records them).

    python scripts/nb201_sample_efficiency.py --datasets cifar10 --seeds 2 --out results/nb201_se
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

DATASET_NAMES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet16": "ImageNet16-120"}
N_TRAIN = (78, 156, 781, 1563)
PREDICTORS = ("gnn", "per_layer_forest", "onehot_ops")
# CIFAR-10 Kendall tau published at 1% / 10% (NN-Former, NAR-Former V2, GATES: as cited in the NN-Former paper,
# Xu et al. 2025; FLAN: Akhauri & Abdelfattah 2024, at 128 / 512 training cells).
PUBLISHED = {"NN-Former": {156: 0.804, 1563: 0.890}, "NAR-Former V2": {156: 0.752, 1563: 0.888},
             "GATES": {156: 0.733}}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", default="cifar10,cifar100,imagenet16", help="comma list of %(default)s")
    p.add_argument("--n-train", default=",".join(map(str, N_TRAIN)), help="training cells, comma list")
    p.add_argument("--seeds", default="5", help="a count (seeds 0..S-1) or a comma list of seeds")
    p.add_argument("--predictors", default=",".join(PREDICTORS), help="registry keys, comma list")
    p.add_argument("--gnn-params", default="{}", help="JSON settings added to the GNN's defaults")
    p.add_argument("--csv", default="../shared/data/nb201/nats_bench.csv", help="NAS-Bench-201 nats_bench.csv")
    p.add_argument("--data", default="", help="already imported files: cifar10=FILE.jsonl,... (else --csv)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    p.add_argument("--out", default="results/nb201_sample_efficiency", help="output folder")
    p.add_argument("--fresh", action="store_true", help="ignore saved results")
    return p.parse_args(argv)


def seed_list(text: str) -> list[int]:
    """``"5"`` -> seeds 0..4; ``"0,3"`` -> seeds 0 and 3."""
    from naapgnn.io import comma_items

    parts = [int(s) for s in comma_items(text, "--seeds")]
    return list(range(parts[0])) if len(parts) == 1 else parts


def sample_splits(n: int, n_train: int, seeds) -> list[tuple[np.ndarray, np.ndarray]]:
    """One (train, test) pair per seed: ``n_train`` random cells, the test all the others (sorted indices)."""
    out = []
    for seed in seeds:
        perm = np.random.default_rng(seed).permutation(n)
        out.append((np.sort(perm[:n_train]), np.sort(perm[n_train:])))
    return out


def load_dataset(dataset: str, csv: str, files: dict):
    """The benchmark of one dataset: from an imported JSON Lines file, or imported from the CSV now."""
    from naapgnn.evaluation.benchmark import Benchmark, load_benchmark_for_evaluation

    start = time.perf_counter()
    if dataset in files:
        bench = load_benchmark_for_evaluation(files[dataset])
    else:
        from naapgnn.data.nb201 import read_nb201

        records = read_nb201(csv, dataset)
        y = np.array([r.target for r in records], dtype=float)
        bench = Benchmark(records, records, y, np.zeros(len(records), dtype=bool),
                          f"NAS-Bench-201 {DATASET_NAMES[dataset]}", 0)
    bench.fingerprint()
    print(f"{DATASET_NAMES[dataset]}: {len(bench.records)} cells read in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    return bench


def run_dataset(bench, dataset, predictors, n_trains, seeds, store, jobs) -> list[dict]:
    """Rows ``{dataset, n_train, predictor, seeds, kendall_tau(_std), ...}`` of one dataset."""
    from naapgnn.evaluation.engine import Unit, run_units

    split_lists = {f"n{n}": sample_splits(len(bench.y), n, seeds) for n in n_trains}
    plan = {(p.key, n): [Unit(p.key, 0, f"n{n}", i, int(s)) for i, s in enumerate(seeds)]
            for n in n_trains for p in predictors}
    flat = [u for units in plan.values() for u in units]
    results, computed = run_units(bench, predictors, flat, split_lists, store, jobs=jobs, threads=1,
                                  desc=DATASET_NAMES[dataset])
    print(f"{DATASET_NAMES[dataset]}: {computed} fits computed now, {len(flat) - computed} resumed", file=sys.stderr)
    by_unit = dict(zip(flat, results))
    rows = []
    for (key, n), units in plan.items():
        runs = [by_unit[u] for u in units]
        tau = np.array([r["kendall_tau"] for r in runs])
        row = {"dataset": dataset, "n_train": n, "predictor": key, "seeds": len(runs),
               "kendall_tau": float(tau.mean()), "kendall_tau_std": float(tau.std(ddof=1)) if len(tau) > 1 else 0.0,
               "spearman": float(np.mean([r["spearman"] for r in runs])),
               "mae": float(np.mean([r["mae"] for r in runs])),
               "seconds": float(np.mean([r["seconds"] for r in runs]))}
        for part in ("fit_seconds", "predict_seconds"):
            if all(part in r for r in runs):
                row[part] = float(np.mean([r[part] for r in runs]))
        rows.append(row)
    return rows


def markdown(rows: list[dict], predictors, total: int) -> str:
    """One table: a row per dataset and N, a column per predictor (tau mean +- std), then seconds."""
    labels = {p.key: p.title() for p in predictors}
    keys = [p.key for p in predictors]
    head = ("| dataset | N (share) | " + " | ".join(labels[k] for k in keys) + " | "
            + " | ".join(f"{labels[k]} s" for k in keys) + " |")
    lines = [head, "|" + "---|" * (2 + 2 * len(keys))]
    cells = {(r["dataset"], r["n_train"], r["predictor"]): r for r in rows}
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        for n in dict.fromkeys(r["n_train"] for r in rows if r["dataset"] == dataset):
            got = [cells.get((dataset, n, k)) for k in keys]
            taus = [f"{r['kendall_tau']:.3f} +- {r['kendall_tau_std']:.3f}" if r else "" for r in got]
            secs = [_seconds(r) if r else "" for r in got]
            lines.append(f"| {DATASET_NAMES[dataset]} | {n} ({100 * n / total:.1f}%) | " + " | ".join(taus)
                         + " | " + " | ".join(secs) + " |")
    seeds = sorted({r["seeds"] for r in rows})
    lines.append("")
    lines.append(f"Kendall tau on all {total} - N other cells, mean +- std over {'/'.join(map(str, seeds))} seeds; "
                 "seconds per run (fit + prediction of the test cells, or fit / prediction).")
    published = [f"{name} {' / '.join(f'{v:.3f} (N={n})' for n, v in vals.items())}"
                 for name, vals in PUBLISHED.items()]
    lines.append("Published CIFAR-10 figures: " + "; ".join(published) + "; FLAN about 0.78 (128) / 0.877 (512).")
    return "\n".join(lines) + "\n"


def _seconds(row: dict) -> str:
    if "fit_seconds" in row:
        return f"{row['fit_seconds']:.1f} / {row['predict_seconds']:.1f}"
    return f"{row['seconds']:.1f}"


def main(argv=None) -> int:
    import pandas as pd

    from naapgnn.errors import NaapgnnError
    from naapgnn.evaluation.engine import Predictor
    from naapgnn.io import ResumeLog, comma_items, write_text_atomic

    args = parse_args(argv)
    try:
        datasets = comma_items(args.datasets, "--datasets")
        unknown = [d for d in datasets if d not in DATASET_NAMES]
        if unknown:
            raise NaapgnnError(f"--datasets: unknown {unknown[0]!r} (expected {', '.join(DATASET_NAMES)})")
        files = dict(item.split("=", 1) for item in comma_items(args.data, "--data"))
        n_trains = [int(n) for n in comma_items(args.n_train, "--n-train")]
        seeds = seed_list(args.seeds)
        gnn_params = json.loads(args.gnn_params)
        predictors = [Predictor(k, gnn_params if k == "gnn" else {})
                      for k in comma_items(args.predictors, "--predictors")]
        for p in predictors:
            p.entry  # unknown names fail here, in one line
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        store = ResumeLog(out / "runs.jsonl")
        if args.fresh:
            store.clear()
        rows, total = [], 0
        for dataset in datasets:
            bench = load_dataset(dataset, args.csv, files)
            total = len(bench.y)
            rows += run_dataset(bench, dataset, predictors, n_trains, seeds, store, args.jobs)
            text = markdown(rows, predictors, total)
            write_text_atomic(out / "sample_efficiency.md", text)
            write_text_atomic(out / "sample_efficiency.csv", pd.DataFrame(rows).to_csv(index=False))
    except (NaapgnnError, ValueError) as exc:
        print(f"nb201_sample_efficiency: error: {exc}", file=sys.stderr)
        return 2
    print(text, end="")
    print(f"(written to {out / 'sample_efficiency.md'} and .csv)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

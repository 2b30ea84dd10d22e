"""Zero-training scores on NAAP-440: rank correlation with MaxAccuracy, time per
architecture, and whether the scores help the GNN at budget 0.

Usage::

    python scripts/zero_cost_report.py [--data DIR] [--cifar-root DIR] [--out results/zero_cost]

Part 1 scores all 440 untrained architectures with NASWOT (Mellor et al. 2021)
and SynFlow (Tanaka et al. 2020), seed 20220905, one CPU thread, and prints
Kendall tau and Spearman against MaxAccuracy (all 440, and the official test
split), beside two trivial references (log parameters and log MACs), with the
seconds per architecture. Part 2 runs the GNN (and the per-layer forest) at
budget 0 with and without the two scores as extra inputs, on the official
protocol (3 seeds) and the repeated protocol (``--repeats`` random 400/40
splits), through the ``naapgnn evaluate`` engine (runs are cached in OUT, so
an interrupted report resumes), and prints the paired differences.
Writes OUT/zero_cost_scores.csv, OUT/zero_cost_report.md and
OUT/zero_cost_scatter.png.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", category=FutureWarning)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="NAAP-440 folder (default: $NAAPGNN_DATA, then the user cache)")
    p.add_argument("--cifar-root", default=None, help="CIFAR-10 folder for NASWOT (default: labelled Gaussian noise)")
    p.add_argument("--batch-size", type=int, default=64, help="NASWOT minibatch size (default 64)")
    p.add_argument("--out", default="results/zero_cost", help="output folder (default results/zero_cost)")
    p.add_argument("--repeats", type=int, default=5, help="random splits of the repeated protocol (default 5)")
    p.add_argument("--seeds", type=int, default=3, help="seeds on the official split (default 3)")
    p.add_argument("--gnn-params", default="{}", help="GNNPredictor settings as JSON (default: its defaults)")
    p.add_argument("--skip-gnn", action="store_true", help="part 1 only")
    p.add_argument("--jobs", type=int, default=2, help="worker processes for part 2 (default 2)")
    return p.parse_args(argv)


def correlations(scores: dict, y: np.ndarray, test: np.ndarray) -> list[dict]:
    from naapgnn.evaluation.metrics import kendall_tau, spearman

    rows = []
    for name, s in scores.items():
        s = np.asarray(s, dtype=float)
        finite = np.isfinite(s)
        s = np.where(finite, s, s[finite].min() - 1.0)
        rows.append({"score": name, "kendall_all": kendall_tau(y, s), "spearman_all": spearman(y, s),
                     "kendall_test": kendall_tau(y[test], s[test]), "spearman_test": spearman(y[test], s[test]),
                     "non_finite": int((~finite).sum())})
    return rows


def scatter(scores: dict, y: np.ndarray, path: Path, source: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from naapgnn.io import atomic_path
    from naapgnn.evaluation.metrics import kendall_tau

    fig, axes = plt.subplots(1, len(scores), figsize=(4.6 * len(scores), 4.4), sharey=True)
    for ax, (name, s) in zip(axes, scores.items()):
        ax.scatter(s, y, s=10, alpha=0.6, color="tab:blue")
        ax.set_xlabel(name)
        ax.set_title(f"Kendall tau {kendall_tau(y, s):.3f}", fontsize=11)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("Final accuracy (MaxAccuracy)")
    fig.suptitle(f"Zero-training scores of the 440 untrained NAAP-440 networks\nNASWOT images: {source}",
                 fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)


def paired(runs, a: str, b: str, protocol: str) -> dict:
    """Mean and standard error of (b - a) over the runs both share (same split and seed)."""
    sub = runs[runs["protocol"] == protocol].set_index(["split", "seed"])
    x = sub[sub["predictor"] == a]
    z = sub[sub["predictor"] == b]
    common = x.index.intersection(z.index)
    out = {}
    for metric in ("kendall_tau", "violations", "mae"):
        d = z.loc[common, metric].to_numpy() - x.loc[common, metric].to_numpy()
        se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else math.nan
        out[metric] = (float(d.mean()), se, len(d))
    return out


def verdict(mean: float, se: float) -> str:
    """Does a Kendall tau difference show the scores help? Needs |mean| > 2 standard errors."""
    if not math.isfinite(se) or abs(mean) <= 2 * se:
        return "no clear difference (|mean| <= 2 standard errors)"
    return "helps" if mean > 0 else "hurts"


def main(argv=None) -> int:
    import torch

    from naapgnn.evaluation import evaluate as ev
    from naapgnn.io import write_text_atomic
    from naapgnn.models.zero_cost import load_images, score_architectures

    args = parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bench = ev.load_benchmark_for_evaluation(args.data)
    y, test = bench.y, bench.is_test
    seed = ev.SEED_BASE

    # --- part 1: correlations and time -------------------------------------------------------------
    images = load_images(args.cifar_root, n=args.batch_size, seed=seed)
    print(f"NASWOT images: {images.source}")
    scores, seconds = {}, {}
    for name in ("naswot", "synflow"):
        values, times = score_architectures(bench.records, name, images=images, seed=seed, return_times=True,
                                            progress=True)
        scores[name], seconds[name] = values, times
    table = bench.table
    references = {"log NumParams": np.log(table["NumParams"].to_numpy(dtype=float)),
                  "log NumMACs": np.log(table["NumMACs"].to_numpy(dtype=float))}
    rows = correlations({"NASWOT": scores["naswot"], "SynFlow": np.log(scores["synflow"]), **references}, y, test)
    lines = [f"{'score':<14} {'Kendall (440)':>13} {'Spearman (440)':>14} {'Kendall (test 40)':>17} "
             f"{'Spearman (test 40)':>18} {'ms/arch':>8}"]
    for r in rows:
        key = {"NASWOT": "naswot", "SynFlow": "synflow"}.get(r["score"])
        ms = f"{1000 * seconds[key].mean():8.1f}" if key else f"{'-':>8}"
        lines.append(f"{r['score']:<14} {r['kendall_all']:>13.3f} {r['spearman_all']:>14.3f} "
                     f"{r['kendall_test']:>17.3f} {r['spearman_test']:>18.3f} {ms}")
    part1 = "\n".join(lines)
    print(part1)
    print(f"time per architecture (build + score, CPU, 1 thread): NASWOT mean {1000 * seconds['naswot'].mean():.1f} ms "
          f"(median {1000 * np.median(seconds['naswot']):.1f}), SynFlow mean {1000 * seconds['synflow'].mean():.1f} ms "
          f"(median {1000 * np.median(seconds['synflow']):.1f}); {torch.__version__}")
    import pandas as pd

    frame = pd.DataFrame({"ModelId": [r.id for r in bench.records], "IsTest": test.astype(int),
                          "MaxAccuracy": y, "naswot": scores["naswot"], "synflow": scores["synflow"],
                          "naswot_seconds": seconds["naswot"], "synflow_seconds": seconds["synflow"]})
    write_text_atomic(out / "zero_cost_scores.csv", frame.to_csv(index=False))
    scatter({"NASWOT score (log det K)": scores["naswot"], "SynFlow score (log)": np.log(scores["synflow"]),
             "log NumParams (reference)": references["log NumParams"]}, y, out / "zero_cost_scatter.png",
            images.source)

    md = ["# Zero-training scores on NAAP-440", "",
          f"NASWOT images: {images.source}. Seed {seed}; NASWOT minibatch {args.batch_size}.", "",
          "```", part1, "```", "", "![scores against accuracy](zero_cost_scatter.png)", ""]

    # --- part 2: do the scores help the GNN at budget 0? -----------------------------------------------
    if not args.skip_gnn:
        gnn_params = json.loads(args.gnn_params)
        predictors = ev.select_predictors("gnn,gnn+zero_cost,forest,forest+zero_cost", gnn_params)
        start = time.perf_counter()
        result = ev.run_evaluation(bench, out / "evaluate", predictors, budgets=[0],
                                   protocols=["official", "repeated"], n_seeds=args.seeds, n_repeats=args.repeats,
                                   cifar_root=args.cifar_root, zc_batch_size=args.batch_size, jobs=args.jobs,
                                   inner_folds=0)
        print(f"part 2: {result.computed} runs computed, {result.reused} reused, {time.perf_counter() - start:.0f} s")
        res = result.results
        lines = [f"{'protocol':<9} {'predictor':<18} {'Kendall':>7} {'violations':>10} {'MAE':>7}"]
        for _, r in res.iterrows():
            lines.append(f"{r['protocol']:<9} {r['predictor']:<18} {r['kendall_tau']:>7.3f} "
                         f"{r['violations']:>10.1f} {r['mae']:>7.4f}")
        lines.append("")
        for base in ("gnn", "forest"):
            for protocol in ("official", "repeated"):
                d = paired(result.runs, base, f"{base}+zero_cost", protocol)
                tau, viol = d["kendall_tau"], d["violations"]
                lines.append(f"{base}+zero_cost minus {base}, {protocol} ({tau[2]} paired runs): Kendall "
                             f"{tau[0]:+.4f} +- {tau[1]:.4f} (s.e.), violations {viol[0]:+.1f} +- {viol[1]:.1f}: "
                             f"{verdict(tau[0], tau[1])}")
        part2 = "\n".join(lines)
        print(part2)
        md += ["## Do the scores help the GNN at budget 0?", "",
               f"GNN and per-layer forest with and without NASWOT and log SynFlow as extra inputs (GNN: as "
               f"`hparams` of the records). Official split: {args.seeds} seeds; repeated: {args.repeats} random "
               f"400/40 splits. Mean over runs; differences are paired (same split and seed).", "",
               "```", part2, "```", ""]
    write_text_atomic(out / "zero_cost_report.md", "\n".join(md))
    print(f"wrote {out / 'zero_cost_report.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

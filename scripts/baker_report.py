"""naapgnn's default GNN predictor against Baker et al. 2018's nu-SVR, same run, same splits.

NAAP-440 under the repeated protocol (random 400/40 splits) at budgets 0, 1,
3, 6, 9, and the deep ResNets (``naapgnn import deep-resnets CSV -o FILE``)
under repeated 80/20 splits at budgets 0, 1, 3, 5, 10, 20, 40: mean Kendall
tau and MAE (+- std over the splits) of each predictor, then GNN minus Baker
split by split (mean +- standard error, and on how many splits the GNN is at
least Baker's). With ``--variants``, the deep ResNets again with their curves
transformed, as benchmarks of other curve lengths, channels and noise would
give them (:data:`VARIANTS`; nothing was tuned on them). Every fit goes through
:func:`naapgnn.evaluation.engine.run_units` with a resume log, so a killed run
continues where it stopped. Output: the table on stdout, ``OUT/baker_report.csv``
and ``OUT/baker_report.md``.

    python scripts/baker_report.py --naap ../shared/data/naap440 --deep /tmp/deep.jsonl --out results/baker
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

NAAP_BUDGETS = (0, 1, 3, 6, 9)
DEEP_BUDGETS = (0, 1, 3, 5, 10, 20, 40)
VARIANT_BUDGETS = (1, 3, 5, 10)
VARIANTS = {
    "every4": "the accuracy at every 4th epoch only (a 35-point curve: budget k reads epochs 4, 8, ..., 4k)",
    "loss": "a loss channel instead of the accuracy, val_loss = -log(accuracy + 0.005)",
    "noisy": "the accuracy plus Gaussian noise of standard deviation 0.01 per epoch (seeded)",
}


def variant_file(source, variant: str, out: Path) -> Path:
    """The deep ResNets' records with their curves transformed as :data:`VARIANTS` says, written to ``out``."""
    from naapgnn.data.records import load_benchmark, write_jsonl

    records = load_benchmark(source)
    rng = np.random.default_rng(0)
    for r in records:
        acc = r.curve["accuracy"]
        r.curve = {"every4": lambda: {"accuracy": acc[3::4]},
                   "loss": lambda: {"val_loss": -np.log(acc + 0.005)},
                   "noisy": lambda: {"accuracy": acc + rng.normal(0.0, 0.01, len(acc))}}[variant]()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"deep_{variant}.jsonl"
    write_jsonl(records, path)
    return path


def evaluate(source, budgets, test_fraction, predictors, n_splits, store, jobs, seed):
    """Rows ``{benchmark, predictor, budget, kendall_tau(_std), mae(_std)}`` of one benchmark."""
    from naapgnn.evaluation.benchmark import load_benchmark_for_evaluation
    from naapgnn.evaluation.engine import plan_units, run_units
    from naapgnn.evaluation.protocols import aggregate, splits

    bench = load_benchmark_for_evaluation(source)
    size = round(test_fraction * len(bench.y)) if test_fraction else None
    split_list = splits("repeated", bench.y, bench.is_test, seed=seed, n_repeats=n_splits, test_size=size,
                        groups=bench.groups)
    budgets = [k for k in budgets if k <= bench.max_epochs]
    units = {(p.key, k): plan_units(p, k, "repeated", n_splits, [seed]) for p in predictors for k in budgets}
    flat = [u for plan in units.values() for u in plan]
    results, computed = run_units(bench, predictors, flat, {"repeated": split_list}, store, jobs=jobs,
                                  threads=1, desc=bench.name)
    by_unit = dict(zip(flat, results))
    diverged = int((bench.y < 0.05).sum())
    print(f"{bench.name}: {len(split_list)} splits of {len(split_list[0][1])} test architectures, "
          f"{diverged} diverged (final accuracy < 0.05, kept); {computed} fits computed now")
    rows = []
    for (key, k), plan in units.items():
        agg = aggregate([{m: by_unit[u][m] for m in ("kendall_tau", "mae")} for u in plan])
        rows.append({"benchmark": bench.file, "predictor": key, "budget": k, **agg,
                     "seconds": float(np.mean([by_unit[u]["seconds"] for u in plan])),
                     "per_split": {m: [by_unit[u][m] for u in plan] for m in ("kendall_tau", "mae")}})
    return rows


def table(rows) -> str:
    """A Markdown table: one line per benchmark and budget, tau and MAE of each predictor."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    lines = []
    for (bench, k), group in frame.groupby(["benchmark", "budget"], sort=False):
        cells = {}
        for r in group.itertuples():
            cells[f"{r.predictor} tau"] = f"{r.kendall_tau:.3f} +- {r.kendall_tau_std:.3f}"
            cells[f"{r.predictor} MAE"] = f"{r.mae:.4f} +- {r.mae_std:.4f}"
        lines.append({"benchmark": bench, "budget": k, **cells})
    return pd.DataFrame(lines).to_markdown(index=False) + "\n"


def paired_table(rows, a: str = "gnn", b: str = "baker") -> str:
    """A Markdown table of ``a - b`` per benchmark and budget over the same splits: tau and MAE
    differences (mean +- standard error of the mean) and the splits where ``a`` is at least ``b``
    (higher tau, lower-or-equal MAE); empty when either predictor is missing."""
    import pandas as pd

    from naapgnn.evaluation.protocols import paired_difference

    by = {(r["benchmark"], r["budget"], r["predictor"]): r["per_split"] for r in rows}
    lines = []
    for bench, k in dict.fromkeys((r["benchmark"], r["budget"]) for r in rows):
        if (bench, k, a) not in by or (bench, k, b) not in by:
            continue
        tau = paired_difference(by[bench, k, a]["kendall_tau"], by[bench, k, b]["kendall_tau"])
        mae = paired_difference(by[bench, k, b]["mae"], by[bench, k, a]["mae"])  # positive: a's MAE lower
        lines.append({"benchmark": bench, "budget": k,
                      f"tau {a} - {b}": f"{tau['mean']:+.4f} +- {tau['se']:.4f}",
                      f"splits {a} tau >= {b}": f"{tau['at_least']}/{tau['n']}",
                      f"MAE {b} - {a}": f"{mae['mean']:+.5f} +- {mae['se']:.5f}",
                      f"splits {a} MAE <= {b}": f"{mae['at_least']}/{mae['n']}"})
    return pd.DataFrame(lines).to_markdown(index=False) + "\n" if lines else ""


def _register_baselines() -> None:
    """Baker's entries come from the ``naapgnn.predictors`` entry point; register them by hand
    when naapgnn runs from a source tree that was never installed."""
    from naapgnn.errors import NaapgnnError
    from naapgnn.models import registry

    try:
        registry.get("baker")
    except NaapgnnError:
        from baselines.registry import register_all

        register_all(registry.register)


def _items(text: str, option: str) -> list[str]:
    """The items of a comma list; an empty one (``0,,3``) ends the script with a one-line error."""
    from naapgnn.errors import NaapgnnError
    from naapgnn.io import comma_items

    try:
        return comma_items(text, option)
    except NaapgnnError as exc:
        raise SystemExit(f"baker_report.py: error: {exc}") from None


def _budgets(text: str, option: str) -> list[int]:
    return [int(k) for k in _items(text, option)]


def main(argv=None) -> None:
    """The report; bad input (a missing or malformed file, a bad option) ends it with a one-line error."""
    from naapgnn.errors import NaapgnnError

    try:
        _report(argv)
    except NaapgnnError as exc:
        raise SystemExit(f"baker_report.py: error: {exc}") from None


def _report(argv) -> None:
    from naapgnn.errors import NaapgnnError
    from naapgnn.evaluation.engine import Predictor
    from naapgnn.io import ResumeLog, write_text_atomic

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--naap", default=None, help="NAAP-440 folder or CSV (default: NAAPGNN_DATA or the cache)")
    ap.add_argument("--deep", default=None, help="the deep ResNets JSON Lines file (skipped when not given)")
    ap.add_argument("--out", default="results/baker")
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--predictors", default="gnn,baker")
    ap.add_argument("--gnn-params", default="{}",
                    help="JSON settings of the GNN (default: its defaults; reduced settings are recorded)")
    ap.add_argument("--naap-budgets", default=",".join(map(str, NAAP_BUDGETS)), help='"" skips NAAP-440')
    ap.add_argument("--deep-budgets", default=",".join(map(str, DEEP_BUDGETS)), help='"" skips the deep ResNets '
                    "themselves (their --variants still run)")
    ap.add_argument("--variants", default="", help=f"also the deep ResNets with transformed curves at budgets "
                    f"{', '.join(map(str, VARIANT_BUDGETS))}: a comma list of {', '.join(VARIANTS)}")
    ap.add_argument("--variant-budgets", default=",".join(map(str, VARIANT_BUDGETS)),
                    help="budgets of the --variants (a comma list)")
    args = ap.parse_args(argv)
    variants = _items(args.variants, "--variants")
    for variant in variants:
        if variant not in VARIANTS or not args.deep:
            raise SystemExit(f"--variants: {variant!r} is not one of {', '.join(VARIANTS)}, or --deep is missing")

    _register_baselines()
    try:
        gnn_params = json.loads(args.gnn_params)
    except ValueError as exc:
        raise NaapgnnError(f"--gnn-params: not JSON ({exc})") from None
    if not isinstance(gnn_params, dict):
        raise NaapgnnError(f"--gnn-params: expected a JSON object, got {args.gnn_params!r}")
    predictors = [Predictor(key, params=gnn_params if key == "gnn" else {})
                  for key in _items(args.predictors, "--predictors")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store = ResumeLog(out / "fits.jsonl")
    rows = []
    if args.deep and args.deep_budgets:  # first: the benchmark whose curve side is in question
        rows += evaluate(args.deep, _budgets(args.deep_budgets, "--deep-budgets"), 0.2, predictors, args.splits,
                         store, args.jobs, args.seed)
    for variant in variants:
        rows += evaluate(variant_file(args.deep, variant, out), _budgets(args.variant_budgets, "--variant-budgets"),
                         0.2, predictors, args.splits, store, args.jobs, args.seed)
    if args.naap_budgets:  # "" skips NAAP-440
        rows += evaluate(args.naap, _budgets(args.naap_budgets, "--naap-budgets"), None, predictors, args.splits,
                         store, args.jobs, args.seed)
    text = table(rows)
    paired = paired_table(rows)
    if paired:
        text += f"\nPaired over the same splits (mean +- standard error of the per-split differences):\n\n{paired}"
    print(f"GNN settings: {gnn_params or 'defaults'}\n{text}")
    import pandas as pd

    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "per_split"} for r in rows])
    write_text_atomic(out / "baker_report.csv", frame.to_csv(index=False))
    write_text_atomic(out / "baker_report.md", f"GNN settings: {gnn_params or 'defaults'}\n\n{text}")


if __name__ == "__main__":
    main()

"""``naapgnn train``: fit the GNN predictor on a benchmark's training split and save a checkpoint."""
from __future__ import annotations

import argparse

from naapgnn.cli.options import add_target_scale, add_threads

DEFAULT_OUT = "checkpoints/gnn-budget{budget}"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train the GNN accuracy predictor and save a checkpoint",
        description="Train the GNN predictor (graph + first K epochs of the curve, an ensemble of "
        "seeds, a quarter of statistics forest blended in by default) on the training split of a benchmark: "
        "NAAP-440 records with IsTest 0, or JSON Lines records whose split is not \"test\". "
        "Saves a checkpoint folder for `naapgnn predict`.",
    )
    p.add_argument("--budget", type=int, required=True, metavar="K",
                   help="epochs of training curve the predictor reads (0: the graph alone)")
    p.add_argument("--data", metavar="DIR|BENCH.jsonl", default=None,
                   help="NAAP-440 folder (or a CSV inside it), or a JSON Lines benchmark (default: $NAAPGNN_DATA, "
                   "then the user cache)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("-o", "--out", metavar="CKPT", default=None,
                   help=f"checkpoint folder (default {DEFAULT_OUT.format(budget='K')})")
    p.add_argument("--conv", choices=("gin", "gatv2", "sage"), default=None,
                   help="message-passing layer type (default: the predictor's default)")
    p.add_argument("--blend-forest", type=float, default=None, metavar="B",
                   help="weight of the blended forest in the prediction, 0..1 (default: the predictor's); "
                        "the fit may move it to a share its held-out predictions prefer")
    p.add_argument("--ensemble", type=int, default=None, metavar="N", help="ensemble members (seeds)")
    p.add_argument("--params", metavar="JSON", default=None,
                   help='other GNNPredictor hyperparameters as a JSON object, e.g. \'{"hidden": 64, "max_epochs": 300}\'')
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda (default auto)")
    add_threads(p)
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="processes training the ensemble's members at once (default 1; the same model for any N)")
    add_target_scale(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _forest_share(model) -> str:
    """The forest's share of the prediction, and where it came from: ``blend_forest``, or the held-out choice."""
    if model.blend_share_ == float(model.blend_forest):
        return f"forest share {model.blend_share_:g} (blend_forest)"
    return f"forest share {model.blend_share_:g}, chosen on held-out predictions (blend_forest {model.blend_forest:g})"


GATE_KINDS = {  # what each model the gate may keep reads (naapgnn.models.curve_stack)
    "graph": "the graph prediction alone",
    "architecture": "the graph prediction plus a kernel ridge of its residual on the hyperparameters and statistics",
    "hparams": "a nu-SVR on the hyperparameters",
    "robust": "a nu-SVR on the graph prediction, hyperparameters and statistics",
    "linear": "a ridge on the graph prediction and the curve features",
    "nonlinear": "a kernel ridge of the residual on the curve features, hyperparameters and statistics",
    "svr": "a nu-SVR on the graph prediction, curve features and hyperparameters",
    "svr_statistics": "a nu-SVR on the graph prediction, curve features, hyperparameters and statistics",
    "svr_values": "a nu-SVR on the graph prediction, curve features, Baker's per-epoch values, hyperparameters and "
                  "statistics",
    "svr_no_graph": "a nu-SVR on the curve features, Baker's per-epoch values, hyperparameters and statistics "
                    "(not the graph prediction)",
}


def gate_summary(model) -> str | None:
    """What the gate kept on the training split's cross-validation, in words: the model without the curve (and its
    share beside the graph prediction), and at a budget the curve model and its share beside that one."""
    gate = getattr(model, "stack_gate_", None)
    if not gate or "budget0_kind" not in gate:
        return None
    base = gate["budget0_kind"]
    share = gate.get(f"{base}_setting", {}).get("weight")
    text = f"without the curve, {GATE_KINDS.get(base, base)} ({base}"
    if share is not None:
        text += ", alone" if share == 1 else f", at share {share:g} mixed with the graph prediction"
    text += ")"
    if not model.budget:
        return f"gate (chosen on the training split's cross-validation): {text}"
    kind, weight = gate["kind"], float(gate.get("weight", 1.0))
    curve = (f"with {model.budget} epochs, {GATE_KINDS.get(kind, kind)} ({kind}), "
             + ("alone" if weight == 1 else f"at share {weight:g} mixed with the model without the curve")
             if gate.get("used") else f"with {model.budget} epochs the same: no curve model beat it")
    if gate.get("mean_of"):
        mixtures = ", ".join(m.replace(":", " at ") for m in gate["mean_of"])
        curve = (f"with {model.budget} epochs, the mean of the {len(gate['mean_of'])} curve models within one "
                 f"standard error of the lowest error, each a kind at a share mixed with the model without the curve: "
                 f"{mixtures}")
    return f"gate (chosen on the training split's cross-validation): {text}; {curve}"


def hparams_summary(model) -> str | None:
    """The hyperparameters the model reads, those read in log10 named (positive values spread over two decades or
    more in training); None when it reads none."""
    names, log = getattr(model, "hparam_names_", []), getattr(model, "hparam_log_", [])
    if not names:
        return None
    return "hyperparameters read: " + ", ".join(f"{n} (log10)" if flag else n for n, flag in zip(names, log))


def held_out_summary(model, records) -> str:
    """Quality of the held-out predictions on the training data (no test data involved): the whole model's (the
    blend and curve stack, cross-validated inside the training data) and the graph network's alone."""
    import numpy as np

    from naapgnn.evaluation.metrics import describe_tau, mae
    from naapgnn.models.curve_stack import MAX_STACK_ROWS

    y = np.array([r.target for r in records], dtype=float)
    whole, graph = getattr(model, "stack_oof_", None), model.oof_prediction_
    pred = whole if whole is not None else graph
    seen = np.isfinite(pred) & np.isfinite(graph)
    if seen.sum() < 2:
        return "held-out check: too few held-out predictions"
    why = "those held out" + (f"; the stack reads at most {MAX_STACK_ROWS:,}" if len(y) > MAX_STACK_ROWS else "")
    of = f" of {len(y)} ({why})" if seen.sum() < len(y) else ""
    return (f"held-out check (each training architecture predicted by models that did not train on it): "
            f"{int(seen.sum())}{of} architectures, MAE {mae(y[seen], pred[seen]):.4f}, "
            f"Kendall tau {describe_tau(y[seen], pred[seen])} (the graph network alone, one member each: "
            f"{describe_tau(y[seen], graph[seen])})")


def repeated_runs_note(records) -> str | None:
    """How the held-out check reads where a configuration was run more than once (its seeds); None when every
    record is its own configuration."""
    import numpy as np

    from naapgnn.data.configurations import MIN_HELD_OUT_GROUPS, configuration_groups, held_out_groups

    groups = configuration_groups(records)
    if groups is None:
        return None
    counts = np.bincount(groups)
    repeated = (f"{int((counts > 1).sum())} configurations (architecture and hyperparameters) appear in more than one "
                f"training record ({int(counts[counts > 1].sum())} records)")
    if held_out_groups(records) is None:
        return (f"{repeated}: with fewer than {MIN_HELD_OUT_GROUPS} configurations the fit holds records out one by "
                "one, so the held-out check predicts a record with models that may have trained on its twins and reads "
                "higher than on new architectures")
    return (f"{repeated}: every held-out prediction of the fit (the ensemble members', the forest's, the curve gate's "
            "folds) holds a configuration's records out together, so the held-out check predicts each from models "
            "that trained on none of its runs")


def run(args: argparse.Namespace) -> int:
    import time

    from naapgnn.cli.options import check_curve_lengths, check_seed, check_threads, parse_params, writable_folder
    from naapgnn.data.records import load_benchmark, split_records
    from naapgnn.errors import NaapgnnError
    from naapgnn.evaluation.evaluate import check_targets_vary
    from naapgnn.models.checkpoint import check_replaceable
    from naapgnn.models.ensemble import step_size
    from naapgnn.models.gnn import GNNPredictor

    if args.budget < 0:
        raise NaapgnnError(f"--budget must be >= 0, got {args.budget}")
    if args.blend_forest is not None and not 0 <= args.blend_forest <= 1:
        raise NaapgnnError(f"--blend-forest must be between 0 and 1, got {args.blend_forest}")
    if args.ensemble is not None and args.ensemble < 1:
        raise NaapgnnError(f"--ensemble must be >= 1, got {args.ensemble}")

    check_threads(args.threads)
    check_seed(args.seed)
    if args.jobs < 1:
        raise NaapgnnError(f"--jobs must be >= 1, got {args.jobs}")
    out = args.out or DEFAULT_OUT.format(budget=args.budget)
    writable_folder(out)
    check_replaceable(out)  # before the fit, not after it
    extra = parse_params(args.params)
    options = {"conv": args.conv, "blend_forest": args.blend_forest, "n_ensemble": args.ensemble}
    for key, flag in (("conv", "--conv"), ("blend_forest", "--blend-forest"), ("n_ensemble", "--ensemble")):
        if options[key] is not None and key in extra:
            raise NaapgnnError(f"{flag} and --params both set {key} ({options[key]!r} against {extra[key]!r}); "
                               f"give it once")
    records = split_records(load_benchmark(args.data, target_scale=args.target_scale, need_target=True), "train")
    if not records:
        raise NaapgnnError(f"{args.data}: no training records (every record has split \"test\")")
    check_curve_lengths(records, args.budget, args.data)
    check_targets_vary([r.target for r in records], f"{args.data or 'NAAP-440'} (training split)")
    model = GNNPredictor(budget=args.budget, random_state=args.seed, device=args.device,
                         n_threads=args.threads, n_jobs=args.jobs, progress=not args.quiet,
                         **{**extra, **{k: v for k, v in options.items() if v is not None}})
    start = time.perf_counter()
    model.fit(records)
    seconds = time.perf_counter() - start
    model.save(out)
    batch = step_size(model.batch_size, len(records))
    members = f"{model.n_ensemble} member{'s' * (model.n_ensemble != 1)}"
    print(f"trained on {len(records)} architectures at budget {args.budget} in {seconds:.1f} s "
          f"({members}, {'full-batch' if batch is None else f'mini-batches of {batch}'}, "
          f"best epochs {model.best_epochs_}, {_forest_share(model)})")
    print(held_out_summary(model, records))
    gate = gate_summary(model)
    if gate:
        print(gate)
    reading = hparams_summary(model)
    if reading:
        print(reading)
    repeated = repeated_runs_note(records)
    if repeated:
        print(f"note: {repeated}")
    print(f"checkpoint saved to {out}")
    return 0

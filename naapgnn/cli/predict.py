"""``naapgnn predict``: predict final accuracy with a trained checkpoint."""
from __future__ import annotations

import argparse

from naapgnn.cli.options import add_target_scale, add_threads

COLUMNS = ("id", "prediction", "uncertainty", "in_domain", "reason")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict final accuracy with a checkpoint from `naapgnn train`",
        description="Predict the final accuracy of architectures with a GNN checkpoint. INPUT is the "
        "NAAP-440 folder or CSV (id = ModelId), one architecture JSON file, or a JSON Lines "
        "benchmark. Writes CSV rows id,prediction,uncertainty,in_domain,reason (+ target when known): "
        "in_domain is false, with the reason, for an architecture or curve outside what the checkpoint "
        "was trained on. A checkpoint trained with budget K needs the first K epochs of each record's "
        "curve; for one architecture give them with --curve.",
    )
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="checkpoint folder")
    p.add_argument("input", metavar="INPUT", help="NAAP-440 folder/CSV, architecture .json or benchmark .jsonl")
    p.add_argument("--curve", metavar="A,A,...|CURVE.json", default=None,
                   help="the training curve of a single architecture: per-epoch accuracies (fractions), "
                   "comma-separated, or a JSON file {\"accuracy\": [...], \"loss_mean\": [...], ...}")
    p.add_argument("--split", choices=("train", "test", "all"), default="all",
                   help="records to predict (default all)")
    p.add_argument("--out", metavar="preds.csv", default=None, help="write here (default: standard output)")
    p.add_argument("--device", default=None, help="override the checkpoint's device (auto, cpu, cuda)")
    add_threads(p)
    add_target_scale(p)
    p.set_defaults(func=run)


def predictions_csv(records, mean, std, in_domain=None, reasons=None) -> str:
    """The CSV text: :data:`COLUMNS` and ``target`` when any record has one."""
    import csv
    import io

    in_domain = [True] * len(records) if in_domain is None else in_domain
    reasons = [""] * len(records) if reasons is None else reasons
    with_target = any(r.target is not None for r in records)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(COLUMNS) + (["target"] if with_target else []))
    for r, m, s, ok, why in zip(records, mean, std, in_domain, reasons):
        row = [r.id, f"{m:.6f}", f"{s:.6f}", "true" if ok else "false", why]
        if with_target:
            row.append("" if r.target is None else repr(float(r.target)))
        writer.writerow(row)
    return buf.getvalue()


def read_curve(text: str) -> dict:
    """``--curve``: comma-separated accuracies, or the path of a JSON object of channels."""
    import json
    from pathlib import Path

    from naapgnn.data.records import parse_curve
    from naapgnn.errors import NaapgnnError

    if text.strip().lower().endswith(".json") or Path(text).is_file():
        path = Path(text)
        try:
            obj = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError) as exc:
            raise NaapgnnError(f"--curve {path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
        except json.JSONDecodeError as exc:
            raise NaapgnnError(f"--curve {path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") \
                from None
        source = str(path)
    else:
        obj, source = {"accuracy": [_float(item, i) for i, item in enumerate(text.split(","))]}, "--curve"
    try:
        curve = parse_curve(obj)
    except NaapgnnError as exc:
        raise NaapgnnError(f"{source}: {exc}") from None
    if not any(len(v) for v in curve.values()):
        raise NaapgnnError(f"{source}: the curve is empty")
    outside = [(i, v) for i, v in enumerate(curve.get("accuracy", ())) if not 0 <= v <= 1]
    if outside:
        i, v = outside[0]
        raise NaapgnnError(f"{source}: epoch {i + 1}: accuracy {v:g} is outside [0, 1] (give fractions)")
    return curve


def _float(item: str, index: int) -> float:
    import math

    from naapgnn.errors import NaapgnnError

    try:
        value = float(item)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise NaapgnnError(f"--curve: epoch {index + 1}: {item.strip()!r} is not a finite number")
    return value


def attach_curve(records, curve: dict, model) -> None:
    """Give the single record of ``records`` the ``--curve``, checked against the checkpoint."""
    from naapgnn.errors import NaapgnnError

    if len(records) != 1:
        raise NaapgnnError(f"--curve is for a single architecture; INPUT holds {len(records)} records "
                           "(give their curves in a JSON Lines benchmark instead)")
    budget = int(model.budget)
    channels = [c for c in getattr(model, "curve_channels_", []) or [] if c != "lr"]  # lr: a schedule, not a measurement
    if budget and channels and not any(c in curve for c in channels):
        raise NaapgnnError(f"--curve: the checkpoint reads the channels {', '.join(channels)}; "
                           f"the curve has {', '.join(curve)}")
    epochs = max(len(curve[c]) for c in (channels or curve) if c in curve)
    if epochs < budget:
        raise NaapgnnError(f"--curve: {epochs} epoch{'s' if epochs != 1 else ''} given, the checkpoint "
                           f"(budget {budget}) needs the first {budget}")
    records[0].curve = curve


def predict_and_check(model, records):
    """Mean, std, in_domain and reasons of ``records``: the graphs encoded and the GNN's parts computed
    once for both the prediction and :meth:`domain_report`; a model without ``domain_report`` counts all
    in domain."""
    import numpy as np

    if hasattr(model, "predict_parts"):
        graphs = model.encode_batch(records)
        parts = model.predict_parts(records, graphs)
        mean, std = model.predict_from_parts(parts, return_std=True)
        in_domain, reasons = model.domain_report(records, parts=parts, graphs=graphs)
        return mean, std, np.asarray(in_domain, dtype=bool), [str(r) for r in reasons]
    mean, std = model.predict(records, return_std=True)
    reasons = ["not checked: this predictor has no domain_report"] * len(records)
    return mean, std, np.ones(len(records), dtype=bool), reasons


def run(args: argparse.Namespace) -> int:
    import sys

    from naapgnn.cli.options import check_curve_lengths, check_threads, writable_file
    from naapgnn.data.records import load_benchmark, split_records
    from naapgnn.errors import NaapgnnError
    from naapgnn.io import write_text_atomic
    from naapgnn.models.gnn import GNNPredictor

    check_threads(args.threads)
    writable_file(args.out)
    curve = read_curve(args.curve) if args.curve is not None else None
    model = GNNPredictor.load(args.checkpoint, device=args.device)
    records = split_records(load_benchmark(args.input, target_scale=args.target_scale,
                                           diverged_values=model.diverged_values_), args.split)
    if not records:
        raise NaapgnnError(f"{args.input}: no records in split {args.split!r}")
    if curve is not None:
        attach_curve(records, curve, model)
        if not model.budget:
            print("naapgnn predict: note: the checkpoint reads no curve (budget 0); --curve changes nothing",
                  file=sys.stderr)
    elif model.budget and len(records) == 1 and records[0].num_epochs < model.budget:
        raise NaapgnnError(f"record {records[0].id!r}: budget {model.budget} needs the first {model.budget} epochs "
                           f"of its curve, it has {records[0].num_epochs}; give them with --curve")
    check_curve_lengths(records, model.budget, args.input, getattr(model, "curve_channels_", None))
    model.set_params(n_threads=args.threads)
    mean, std, in_domain, reasons = predict_and_check(model, records)
    text = predictions_csv(records, mean, std, in_domain, reasons)
    if args.out:
        write_text_atomic(args.out, text)
    else:
        sys.stdout.write(text)
    outside = int((~in_domain).sum())
    if outside:
        first = next(i for i, ok in enumerate(in_domain) if not ok)
        print(f"naapgnn predict: warning: {outside} of {len(records)} architectures lie outside what the checkpoint "
              f"was trained on (in_domain false; e.g. {records[first].id}: {reasons[first]}); their predictions "
              "are extrapolations", file=sys.stderr)
    print(summary_line(records, mean, model.budget) + (f"; wrote {args.out}" if args.out else ""), file=sys.stderr)
    return 0


def summary_line(records, mean, budget) -> str:
    """How many were predicted and, on those with a target, MAE, Kendall tau and violations."""
    import numpy as np

    known = [(r.target, m) for r, m in zip(records, mean) if r.target is not None]
    summary = f"predicted {len(records)} architectures (budget {budget})"
    if len(known) >= 2:
        from naapgnn.evaluation.metrics import kendall_tau, mae, max_violations, violations

        t, p = (np.array(a) for a in zip(*known))
        summary += (f"; on the {len(known)} with a target: MAE {mae(t, p):.4f}, Kendall tau "
                    f"{kendall_tau(t, p):.3f}, violations {violations(t, p)}/{max_violations(len(t))}")
    return summary

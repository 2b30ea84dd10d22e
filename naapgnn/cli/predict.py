"""``naapgnn predict``: predict final accuracy with a trained checkpoint."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict final accuracy with a checkpoint from `naapgnn train`",
        description="Predict the final accuracy of architectures with a GNN checkpoint. INPUT is the "
        "NAAP-440 folder or CSV (id = ModelId), one architecture JSON file, or a JSON Lines "
        "benchmark. Writes CSV rows id,prediction,uncertainty (+ target when known); a checkpoint "
        "trained with budget K needs the first K epochs of each record's curve.",
    )
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="checkpoint folder")
    p.add_argument("input", metavar="INPUT", help="NAAP-440 folder/CSV, architecture .json or benchmark .jsonl")
    p.add_argument("--split", choices=("train", "test", "all"), default="all",
                   help="records to predict (default all)")
    p.add_argument("--out", metavar="preds.csv", default=None, help="write here (default: standard output)")
    p.add_argument("--device", default=None, help="override the checkpoint's device (auto, cpu, cuda)")
    p.set_defaults(func=run)


def predictions_csv(records, mean, std) -> str:
    """The CSV text: ``id,prediction,uncertainty`` and ``target`` when any record has one."""
    import csv
    import io

    with_target = any(r.target is not None for r in records)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "prediction", "uncertainty"] + (["target"] if with_target else []))
    for r, m, s in zip(records, mean, std):
        row = [r.id, f"{m:.6f}", f"{s:.6f}"]
        if with_target:
            row.append("" if r.target is None else repr(float(r.target)))
        writer.writerow(row)
    return buf.getvalue()


def run(args: argparse.Namespace) -> int:
    import sys

    import numpy as np

    from naapgnn.data.records import load_benchmark, split_records
    from naapgnn.errors import NaapgnnError
    from naapgnn.io import write_text_atomic
    from naapgnn.models.gnn import GNNPredictor

    model = GNNPredictor.load(args.checkpoint, device=args.device)
    records = split_records(load_benchmark(args.input), args.split)
    if not records:
        raise NaapgnnError(f"{args.input}: no records in split {args.split!r}")
    mean, std = model.predict(records, return_std=True)
    text = predictions_csv(records, mean, std)
    if args.out:
        write_text_atomic(args.out, text)
    else:
        sys.stdout.write(text)
    known = [(r.target, m) for r, m in zip(records, mean) if r.target is not None]
    summary = f"predicted {len(records)} architectures (budget {model.budget})"
    if len(known) >= 2:
        from naapgnn.evaluation.metrics import kendall_tau, mae, max_violations, violations

        t, p = (np.array(a) for a in zip(*known))
        summary += (f"; on the {len(known)} with a target: MAE {mae(t, p):.4f}, Kendall tau "
                    f"{kendall_tau(t, p):.3f}, violations {violations(t, p)}/{max_violations(len(t))}")
    print(summary + (f"; wrote {args.out}" if args.out else ""), file=sys.stderr)
    return 0

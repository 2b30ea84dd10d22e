"""Coverage of the GNN predictor's +-2 std interval on held-out targets, before and after calibration.

Usage: NAAPGNN_DATA=../shared/data/naap440 python scripts/calibration_report.py
       [--budgets 0,3] [--splits 4] [--test-size 80] [--resume runs/calibration.jsonl]

Repeated random splits of the NAAP-440 training split only (IsTest 0; the
official test split is not read): a default :class:`GNNPredictor` is fitted
on each part, and the held-out architectures' share within ``mean +- 2 std``
is printed with the raw spread (``std / std_scale_``) and with the calibrated
one (``std``, the factor fitted at fit time on the training part's
out-of-fold predictions). A normal interval of +-2 std holds 95.4%.
Finished splits are kept in ``--resume`` (ResumeLog) and not recomputed.

Last, a default budget-0 predictor fitted on the whole training split
reports (reporting only, nothing is chosen by it) how many of the 40
official test architectures :meth:`GNNPredictor.domain_report` finds in
domain, and the coverage on them.
"""
from __future__ import annotations

import argparse

import numpy as np

from naapgnn.data.naap440 import load_naap440
from naapgnn.data.records import records_from_naap440
from naapgnn.io import ResumeLog
from naapgnn.models.gnn import GNNPredictor


def one_split(train, held_out, budget: int, seed: int) -> dict:
    model = GNNPredictor(budget=budget, random_state=seed).fit(train)
    mean, std = model.predict(held_out, return_std=True)
    y = np.array([r.target for r in held_out])
    error = np.abs(y - mean)
    raw = std / model.std_scale_
    return {"raw": float(np.mean(error <= 2 * raw)), "calibrated": float(np.mean(error <= 2 * std)),
            "scale": model.std_scale_, "raw_std": float(np.median(raw)), "std": float(np.median(std)),
            "mae": float(error.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="0,3")
    parser.add_argument("--splits", type=int, default=4)
    parser.add_argument("--test-size", type=int, default=80)
    parser.add_argument("--resume", default=None, help="ResumeLog file of finished splits")
    args = parser.parse_args()
    from sklearn.model_selection import ShuffleSplit

    every = records_from_naap440(load_naap440())
    records = [r for r in every if r.split == "train"]
    log = ResumeLog(args.resume)
    splitter = ShuffleSplit(n_splits=args.splits, test_size=args.test_size, random_state=20260)
    print(f"{len(records)} NAAP-440 training architectures, {args.splits} random splits "
          f"{len(records) - args.test_size}/{args.test_size}; coverage of mean +- 2 std (normal: 95.4%)")
    for budget in (int(b) for b in args.budgets.split(",")):
        rows = []
        for k, (tr, te) in enumerate(splitter.split(records)):
            key = f"budget{budget}-split{k}"
            if key not in log:
                log.put(key, one_split([records[i] for i in tr], [records[i] for i in te], budget, k))
            row = log.get(key)
            rows.append(row)
            print(f"  budget {budget} split {k}: raw {row['raw']:.1%}, calibrated {row['calibrated']:.1%} "
                  f"(scale {row['scale']:.2f}; median std {row['raw_std']:.4f} -> {row['std']:.4f}; "
                  f"MAE {row['mae']:.4f})")
        mean = {name: np.mean([r[name] for r in rows]) for name in ("raw", "calibrated", "scale")}
        print(f"budget {budget}: coverage raw {mean['raw']:.1%}, calibrated {mean['calibrated']:.1%} "
              f"(mean scale {mean['scale']:.2f}) over {len(rows)} splits of {args.test_size}")
    official_test(records, [r for r in every if r.split == "test"])


def official_test(train, test) -> None:
    model = GNNPredictor(budget=0, random_state=0).fit(train)
    mean, std = model.predict(test, return_std=True)
    in_domain, reasons = model.domain_report(test)
    y = np.array([r.target for r in test])
    print(f"official split, budget 0: {int(in_domain.sum())} of {len(test)} test architectures in domain; "
          f"coverage raw {np.mean(np.abs(y - mean) <= 2 * std / model.std_scale_):.1%}, calibrated "
          f"{np.mean(np.abs(y - mean) <= 2 * std):.1%}")
    for record, reason in zip(test, reasons):
        if reason:
            print(f"  {record.id}: {reason}")


if __name__ == "__main__":
    main()

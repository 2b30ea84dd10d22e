"""Train the GNN predictor from a script (the same as ``naapgnn train``, through the Python API).

    python scripts/train_predictor.py --budget 3 [--data DIR|BENCH.jsonl] [--seed 0] [--out CKPT]
                                      [--params '{"hidden": 64}']

Trains on the benchmark's training split (NAAP-440: IsTest 0; JSON Lines:
records whose split is not "test"), prints the training time and the epochs at
which the ensemble members stopped, and saves a checkpoint for ``naapgnn predict``.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings

warnings.filterwarnings("ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning)


def main(argv=None) -> int:
    from naapgnn.data.records import load_benchmark, split_records
    from naapgnn.cli.options import parse_params
    from naapgnn.errors import NaapgnnError
    from naapgnn.models.gnn import GNNPredictor

    p = argparse.ArgumentParser(description="Train the GNN accuracy predictor and save a checkpoint.")
    p.add_argument("--budget", type=int, required=True, help="epochs of training curve read (0: graph only)")
    p.add_argument("--data", default=None, help="NAAP-440 folder/CSV or JSON Lines benchmark")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="checkpoint folder (default checkpoints/gnn-budget<K>)")
    p.add_argument("--params", default="{}", help="other GNNPredictor hyperparameters as a JSON object")
    args = p.parse_args(argv)
    try:
        params = parse_params(args.params)
        records = load_benchmark(args.data)
        train = split_records(records, "train")
        model = GNNPredictor(budget=args.budget, random_state=args.seed, progress=True, **params)
        start = time.perf_counter()
        model.fit(train)
        print(f"trained on {len(train)} architectures in {time.perf_counter() - start:.1f} s "
              f"(members stopped at epochs {model.best_epochs_})")
        out = model.save(args.out or f"checkpoints/gnn-budget{args.budget}")
        print(f"checkpoint saved to {out}")
    except NaapgnnError as exc:
        print(f"train_predictor.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

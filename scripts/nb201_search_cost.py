"""Cost of one predictor fit + prediction of all NAS-Bench-201 cells, as predictor-guided search needs it.

    python scripts/nb201_search_cost.py NB201.jsonl [--n-train 100] [--predictor forest gnn]

NB201.jsonl from ``naapgnn import nb201 ../shared/data/nb201/nats_bench.csv --dataset cifar10 -o NB201.jsonl``.
Prints, per predictor (in the search's fast settings, :func:`naapgnn.search.problem.make_predictor`), the
seconds to featurise all records, to fit on N random ones and to predict the others, and the Kendall tau
of those predictions (seed 0).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import kendalltau

from naapgnn.data.records import load_benchmark
from naapgnn.models.inputs import take
from naapgnn.search.problem import make_predictor, predict_with_std, predictor_inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--n-train", type=int, default=100)
    parser.add_argument("--predictor", nargs="+", default=["forest", "gnn"])
    args = parser.parse_args()
    start = time.perf_counter()
    records = load_benchmark(args.data)
    print(f"loaded {len(records)} records in {time.perf_counter() - start:.1f} s", flush=True)
    target = np.array([r.target for r in records])
    order = np.random.default_rng(0).permutation(len(records))
    first, rest = order[:args.n_train], order[args.n_train:]
    for kind in args.predictor:
        model = make_predictor(kind, 0, 0)
        start = time.perf_counter()
        features = predictor_inputs(model, records)
        featurised = time.perf_counter() - start
        start = time.perf_counter()
        model.fit(take(features, first), target[first])
        fitted = time.perf_counter() - start
        start = time.perf_counter()
        mean, _ = predict_with_std(model, take(features, rest))
        predicted = time.perf_counter() - start
        tau = kendalltau(mean, target[rest])[0]
        print(f"{kind}: featurise {featurised:.1f} s, fit on N={args.n_train} {fitted:.1f} s, predict "
              f"{len(rest)} {predicted:.1f} s, Kendall tau {tau:.3f}", flush=True)


if __name__ == "__main__":
    main()

"""The curve gate judged on fresh records: what keeping a curve candidate gains where the truth is known.

    python scripts/gate_ground_truth.py [--records 120] [--draws 30] [--fresh 3000] [--generators diverged,weak,noise]

A report split holds some forty to a few hundred test networks, so a gate rule's effect on it is mostly the luck of
the split. Here each generator draws a training set (a graph prediction, curve columns, the target, all
standardised) and ``--fresh`` new records of the same law; :func:`naapgnn.models.curve_stack.fit_gated_stack` is
fitted on the first and scored on the second, against the graph prediction alone (what budget 0 gives where the
budget-0 candidates are not kept). Two gates in one run (A/B): as shipped, and with ``check_picks=True``.

Generators:

* ``diverged``: 8% of the runs diverged (target -3); the curve's first column tells them, noisily; one column is a
  weak copy of the target, three are noise: a real gain, large.
* ``weak``: the curve's first column is the graph prediction's residual under noise of 1.5 times its spread, four
  columns are noise: a real gain, small.
* ``noise``: five columns of noise: any candidate kept is kept by luck.

Prints, per generator and gate, how many draws kept a curve candidate, the mean change of Kendall tau and of the
mean absolute error on the fresh records against the graph prediction alone, and on how many draws each was worse.
"""
from __future__ import annotations

import argparse

import numpy as np


def diverged(rng, n):
    signal = rng.normal(size=n)
    dead = rng.random(n) < 0.08
    target = np.where(dead, -3.0, signal)
    curve = np.c_[np.where(dead, -2.0, 0.0) + rng.normal(0, 0.5, n), signal + rng.normal(0, 1.5, n),
                  rng.normal(size=(n, 3))]
    return signal + rng.normal(0, 0.15, n), curve, target


def weak(rng, n):
    target = rng.normal(size=n)
    graph = target + rng.normal(0, 0.4, n)
    return graph, np.c_[target - graph + rng.normal(0, 1.5, n), rng.normal(size=(n, 4))], target


def noise(rng, n):
    target = rng.normal(size=n)
    return target + rng.normal(0, 0.4, n), rng.normal(size=(n, 5)), target


GENERATORS = {"diverged": diverged, "weak": weak, "noise": noise}


def judge(generator, records: int, draws: int, fresh: int, check_picks: bool) -> np.ndarray:
    """Per draw: (tau change, MAE change, kept) of the gate against the graph prediction on fresh records."""
    from scipy.stats import kendalltau

    from naapgnn.models.curve_stack import apply_stack, fit_gated_stack

    rows = []
    for seed in range(1, draws + 1):
        graph, curve, target = generator(np.random.default_rng(seed), records)
        new_graph, new_curve, new_target = generator(np.random.default_rng(10_000 + seed), fresh)
        stack = fit_gated_stack(graph, curve, target, check_picks=check_picks)
        none = np.zeros((fresh, 0))
        pred = apply_stack(new_graph[None], new_curve, none, none, stack)[0]
        rows.append((kendalltau(pred, new_target)[0] - kendalltau(new_graph, new_target)[0],
                     np.mean(np.abs(pred - new_target)) - np.mean(np.abs(new_graph - new_target)),
                     stack.gate["kind"] != "graph"))
    return np.array(rows, dtype=float)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=120)
    parser.add_argument("--draws", type=int, default=30)
    parser.add_argument("--fresh", type=int, default=3000)
    parser.add_argument("--generators", default=",".join(GENERATORS))
    args = parser.parse_args()
    names = args.generators.split(",")
    unknown = sorted(set(names) - set(GENERATORS))
    if unknown:
        parser.error(f"--generators: unknown {', '.join(unknown)} (known: {', '.join(GENERATORS)})")
    from naapgnn.runtime import cpu_threads

    print(f"{args.records} training records, {args.draws} draws, {args.fresh} fresh records each")
    print("generator | gate | kept | tau change (worse on) | MAE change (worse on)")
    with cpu_threads(1):
        for name in names:
            for label, check in (("shipped", False), ("check_picks", True)):
                rows = judge(GENERATORS[name], args.records, args.draws, args.fresh, check)
                print(f"{name} | {label} | {int(rows[:, 2].sum())}/{len(rows)} | {rows[:, 0].mean():+.4f} "
                      f"({int((rows[:, 0] < 0).sum())}) | {rows[:, 1].mean():+.4f} ({int((rows[:, 1] > 0).sum())})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

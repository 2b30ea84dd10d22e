"""naapgnn's NAS-Bench-201 networks against the published params and synflow of NASLib's 491 cells per dataset.

Usage: python scripts/nb201_exactness.py [--data ../shared/data/nb201] [--datasets cifar10,cifar100,ImageNet16-120]
                                         [--limit N] [--init default|naap]

For each dataset: how many of the cells' parameter counts (millions, to the file's 6 decimals) equal
``naapgnn.profile`` of the network, and the Spearman correlation of naapgnn's synflow (no batch norm,
float64, all-ones input, seed 0, PyTorch's default initialisation) with the file's ``synflow`` column.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from scipy.stats import spearmanr

from naapgnn.arch.profiling import profile
from naapgnn.data.nb201 import nb201_network
from naapgnn.models.zero_cost import score_architectures

ZC_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))  # the file's ((1,2),(1,3),(1,4),(2,3),(2,4),(3,4))
ZC_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16"}


def cell_of(key: str) -> dict:
    """``{(i, j): op}`` of a key such as ``"(4, 3, 3, 3, 2, 3)"``."""
    return {edge: ZC_OPS[int(o)] for edge, o in zip(ZC_EDGES, key.strip("()").split(","))}


def check(cells: dict, dataset: str, init: str) -> dict:
    keys = sorted(cells)
    archs = [nb201_network(cell_of(k), dataset) for k in keys]
    params_equal = sum(round(profile(a)[0] / 1e6, 6) == cells[k]["params"] for a, k in zip(archs, keys))
    start = time.perf_counter()
    ours = score_architectures(archs, "synflow", init=init, batchnorm=False, seed=0)
    rho = spearmanr(ours, [cells[k]["synflow"] for k in keys]).statistic
    return {"cells": len(keys), "params_equal": params_equal, "synflow_spearman": float(rho),
            "synflow_seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/nb201", help="folder holding zc_nasbench201.json")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--limit", type=int, help="only the first N cells (sorted keys) per dataset")
    parser.add_argument("--init", default="default", choices=("default", "naap"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    published = json.loads((Path(args.data) / "zc_nasbench201.json").read_text())["nasbench201"]
    print("dataset          cells  params equal  synflow Spearman  synflow s")
    for name in args.datasets.split(","):
        cells = published[name]
        if args.limit:
            cells = {k: cells[k] for k in sorted(cells)[: args.limit]}
        r = check(cells, DATASETS[name], args.init)
        print(f"{name:<16} {r['cells']:>5}  {r['params_equal']:>12}  {r['synflow_spearman']:>16.4f}  "
              f"{r['synflow_seconds']:>9.0f}", flush=True)


if __name__ == "__main__":
    main()

"""PyG batching against a plain concatenation of the encoded graphs, timed in one run.

Usage: NAAPGNN_DATA=../shared/data/naap440 python scripts/bench_batching.py [--copies 12] [--repeats 3]

Input: the 440 NAAP-440 architectures x ``--copies`` (fresh parsed
architectures, nothing cached). Three ways to get the batch the GNN reads:

* ``pyg``: ``Batch.from_data_list([encode(a) for a in archs])`` (the library);
* ``concat``: the same ``encode`` per graph, then one ``torch.cat`` of the
  graphs' tensors with node offsets added to the edges (the hand-written
  ``batch_graphs`` of the earlier code), wrapped as a ``Batch``;
It prints architectures/s of encoding alone, of building the per-graph
``Data`` objects alone (the encoded tensors wrapped again: what a batching
that skips them would save), of each collation alone (from encoded graphs),
and of end-to-end prediction (``GNNPredictor.predict`` with
default settings except a short training on the NAAP-440 training split)
with each batching plugged in, and checks that the predictions are identical.
The ways are timed in interleaved rounds (so a load change on a shared
machine hits them alike); each figure is the best of ``--repeats`` rounds.
"""
from __future__ import annotations

import argparse
import time
from unittest import mock

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from naapgnn.arch.format import parse_architecture
from naapgnn.data.naap440 import load_naap440
from naapgnn.data.records import Record, records_from_naap440
from naapgnn.graph.encoding import encode
from naapgnn.models import network


def pyg_batch(archs) -> Batch:
    return Batch.from_data_list([encode(a) for a in archs])


def concat_batch(archs) -> Batch:
    return concat_graphs([encode(a) for a in archs])


def concat_graphs(graphs) -> Batch:
    sizes = torch.tensor([int(g.num_nodes) for g in graphs], dtype=torch.long)
    offsets = torch.cumsum(sizes, 0) - sizes
    ptr = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(sizes, 0)])
    edges = torch.cat([g.edge_index + int(o) for g, o in zip(graphs, offsets)], dim=1)
    return Batch(x=torch.cat([g.x for g in graphs]), edge_index=edges,
                 batch=torch.repeat_interleave(torch.arange(len(graphs)), sizes), ptr=ptr,
                 graph_attr=torch.cat([g.graph_attr for g in graphs]))


def best_times(works: dict, repeats: int) -> dict:
    """Best wall time of each ``works`` entry over ``repeats`` interleaved rounds."""
    times = {name: [] for name in works}
    for _ in range(repeats):
        for name, work in works.items():
            start = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-epochs", type=int, default=30, help="training epochs of the predictor timed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from naapgnn.models.gnn import GNNPredictor

    records = records_from_naap440(load_naap440())
    fresh = [Record(id=f"{k}-{r.id}", arch=parse_architecture(r.arch.scheme), curve=r.curve)
             for k in range(args.copies) for r in records]
    archs = [r.arch for r in fresh]
    n = len(fresh)
    ways = {"pyg": pyg_batch, "concat": concat_batch, "network": network.batch_architectures}
    print(f"{n} architectures (440 x {args.copies}), best of {args.repeats} interleaved rounds, 1 torch thread")
    encoded = [encode(a) for a in archs]
    times = best_times({
        "encode": lambda: [encode(a) for a in archs],
        "data": lambda: [Data(**{k: d[k] for k in d.keys()}) for d in encoded],
        "pyg": lambda: Batch.from_data_list(encoded),
        "concat": lambda: concat_graphs(encoded),
    }, args.repeats)
    print(f"  encode (parse -> one Data per graph):    {n / times['encode']:8,.0f} architectures/s "
          f"({times['encode']:.2f} s)")
    print(f"  of which building the Data objects:      {n / times['data']:8,.0f} architectures/s "
          f"({times['data']:.2f} s)")
    for name in ("pyg", "concat"):
        print(f"  collate encoded graphs, {name:6s}:          {n / times[name]:8,.0f} architectures/s "
              f"({times[name]:.2f} s)")
    reference = pyg_batch(archs)
    for name, fn in ways.items():
        g = fn(archs)
        same = all(torch.equal(getattr(g, k), getattr(reference, k))
                   for k in ("x", "edge_index", "batch", "ptr", "graph_attr"))
        print(f"  batch {name:8s} equals the PyG batch: {same}")

    train = [r for r in records if r.split == "train"]
    model = GNNPredictor(budget=0, max_epochs=args.max_epochs, random_state=0).fit(train)
    model.predict(fresh[:500])  # warm-up

    def predict_with(fn):
        with mock.patch.object(network, "batch_architectures", fn):
            return model.predict(fresh)

    times = best_times({name: (lambda fn=fn: predict_with(fn)) for name, fn in ways.items()}, args.repeats)
    for name in ways:
        print(f"  prediction end to end with {name:8s}:   {n / times[name]:8,.0f} architectures/s "
              f"({times[name]:.2f} s)")
    outputs = {name: predict_with(fn) for name, fn in ways.items()}
    print(f"  predictions identical across batchings: "
          f"{all(np.array_equal(outputs['pyg'], out) for out in outputs.values())}")
    with torch.no_grad():
        g, curve, hp = model._inputs(fresh)
        table = model.forest_.featurize(fresh)
        parts = best_times({"forward": lambda: [m(g, curve, hp) for m in model.members_],
                            "features": lambda: model.forest_.featurize(fresh),
                            "trees": lambda: model.forest_.predict(table)}, args.repeats)
    print(f"  of the prediction: ensemble forward {parts['forward']:.2f} s, forest features "
          f"{parts['features']:.2f} s, forest trees {parts['trees']:.2f} s")


if __name__ == "__main__":
    main()

"""Where the GNN's prediction of all NAS-Bench-201 cells spends its time (issue 13's 10 s target).

Fits the GNN with the settings of the sample-efficiency table (mini-batches of 64, at most 150
epochs, patience 20, 3 members; graphs folded, the default) on 156 random cells (seed 0), then times
the parts of predicting the other 15,469: encoding them into one batch, standardising, the ensemble
members' forward passes, the blended forest (the default statistics forest; ``--blend-forest B``
sets its share, 0 for none), the prediction from the encoded batch
(``predict_parts`` given the batch: what "prediction" means once the networks are encoded, as
``naapgnn import`` + encoding is timed on its own) and the whole ``predict``. Each part prints its
wall and CPU seconds (CPU time is what the part costs when other jobs share the machine).

    python scripts/nb201_predict_profile.py nb201_cifar10.jsonl [--whole-batch] [--unfolded] [--blend-forest B]

``--whole-batch`` also times the members' forward passes on the whole batch at once, one member after
the other (what predict did before it evaluated chunks of graphs); ``--unfolded`` fits and predicts
with ``fold_repeats=False``.
"""
import argparse
import time

import numpy as np
import torch

from naapgnn.data.records import load_jsonl
from naapgnn.models.gnn import GNNPredictor
from naapgnn.models.network import predict_members

SETTINGS = dict(budget=0, batch_size=64, max_epochs=150, patience=20, n_ensemble=3, n_threads=1)


def timed(label: str, fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    print(f"{label}: {time.perf_counter() - wall:.1f} s wall, {time.process_time() - cpu:.1f} s CPU", flush=True)
    return out


def main(path: str, whole_batch: bool = False, unfolded: bool = False, blend_forest: float | None = None) -> None:
    torch.set_num_threads(1)  # as GNNPredictor(n_threads=1) runs; a busy second core then costs nothing
    records = load_jsonl(path)
    order = np.random.default_rng(0).permutation(len(records))
    train, test = [records[i] for i in order[:156]], [records[i] for i in order[156:]]
    blend = {} if blend_forest is None else {"blend_forest": blend_forest}
    model = GNNPredictor(fold_repeats=not unfolded, **blend, **SETTINGS)
    timed("fit on 156 cells", lambda: model.fit(train))
    raw = timed(f"encode {len(test)} networks into one batch", lambda: model.encode_batch(test))
    print(f"  ({raw.num_nodes} nodes, folded: {model.folds_})")
    g, curve, hp = timed("standardise", lambda: model._inputs(test, raw))
    with torch.no_grad():
        timed(f"{len(model.members_)} members' forward passes, in chunks of graphs (as predict runs them)",
              lambda: predict_members(model.members_, g, curve, hp))
        if whole_batch:
            timed("the same, member by member on the whole batch", lambda: [m(g, curve, hp) for m in model.members_])
    if model.forest_ is not None:
        timed(f"{model.forest} forest (statistics read off the batch)",
              lambda: model._forest_prediction(test, raw, model._hparams(test)))
    timed("prediction from the encoded batch (predict_parts + predict_from_parts)",
          lambda: model.predict_from_parts(model.predict_parts(test, raw)))
    timed("predict, all of it (encoding included)", lambda: model.predict(test))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("benchmark", help="NAS-Bench-201 benchmark file (naapgnn import nb201 ... -o FILE.jsonl)")
    parser.add_argument("--whole-batch", action="store_true",
                        help="also time the members' forward passes on the whole batch, member by member")
    parser.add_argument("--unfolded", action="store_true", help="fit and predict with fold_repeats=False")
    parser.add_argument("--blend-forest", type=float, default=None, help="the blended forest's share (0: none)")
    args = parser.parse_args()
    main(args.benchmark, args.whole_batch, args.unfolded, args.blend_forest)

"""Where the GNN's prediction of all NAS-Bench-201 cells spends its time (issue 13's 10 s target).

Fits the GNN with the reduced settings of the sample-efficiency table on 156 random cells (seed 0),
then times the parts of predicting the other 15,469: encoding them into one batch, standardising,
the ensemble members' forward passes, the blended per-layer forest, and the whole ``predict``.

    python scripts/nb201_predict_profile.py nb201_cifar10.jsonl [--whole-batch]

``--whole-batch`` also times the members' forward passes on the whole batch at once, one member after
the other (what predict did before it evaluated chunks of graphs).
"""
import sys
import time

import numpy as np
import torch

from naapgnn.data.records import load_jsonl
from naapgnn.models.gnn import GNNPredictor
from naapgnn.models.network import predict_members


def main(path: str) -> None:
    torch.set_num_threads(1)  # as GNNPredictor(n_threads=1) runs; a busy second core then costs nothing
    records = load_jsonl(path)
    order = np.random.default_rng(0).permutation(len(records))
    train, test = [records[i] for i in order[:156]], [records[i] for i in order[156:]]
    t = time.time()
    model = GNNPredictor(budget=0, batch_size=64, max_epochs=40, patience=10, n_ensemble=3, n_threads=1).fit(train)
    print(f"fit on 156 cells: {time.time() - t:.1f} s")
    t = time.time()
    raw = model.encode_batch(test)
    print(f"encode {len(test)} networks into one batch: {time.time() - t:.1f} s ({raw.num_nodes} nodes)")
    t = time.time()
    g, curve, hp = model._inputs(test, raw)
    print(f"standardise: {time.time() - t:.1f} s")
    with torch.no_grad():
        t = time.time()
        predict_members(model.members_, g, curve, hp)
        print(f"{len(model.members_)} members' forward passes, in chunks of graphs (as predict runs them): "
              f"{time.time() - t:.1f} s")
        if "--whole-batch" in sys.argv:
            t = time.time()
            for member in model.members_:
                member(g, curve, hp)
            print(f"the same, member by member on the whole batch: {time.time() - t:.1f} s")
    t = time.time()
    model.forest_.predict_readable(test)
    print(f"per-layer forest: {time.time() - t:.1f} s")
    t = time.time()
    model.predict(test)
    print(f"predict, all of it: {time.time() - t:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1])

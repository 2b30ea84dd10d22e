"""Training one member of :class:`naapgnn.models.gnn.GNNPredictor`'s ensemble: MSE plus a pairwise ranking loss,
Adam, early stopping on the member's held-out records."""
from __future__ import annotations

import math
import os

import numpy as np

MAX_PAIRS = 200_000
# batch_size="auto": full-batch steps up to this many training records, above it mini-batches of AUTO_BATCH_SIZE
# (NAS-Bench-201 development draws: level at N = 390, one full-batch step an epoch ranked worse at 781 and 1563;
# README, "Speed")
AUTO_FULL_BATCH_RECORDS = 600
AUTO_BATCH_SIZE = 64

__all__ = ["validation_sets", "progress_bar", "train_members", "train_member", "step_size", "select_graphs",
           "edge_offsets", "training_pairs", "rank_pairs", "rank_loss", "AUTO_FULL_BATCH_RECORDS", "AUTO_BATCH_SIZE"]


def validation_sets(n: int, members: int, val_fraction: float | None, seed: int,
                    groups: np.ndarray | None = None) -> list[np.ndarray]:
    """Each member's held-out record indices: disjoint folds (``val_fraction=None``; 20% for a
    single member), or an independent random ``val_fraction`` per member; none for tiny data (n < 10).
    With ``groups`` (each record's configuration), the same drawn over the configurations, whose records are held
    out together."""
    rng = np.random.default_rng(seed)
    if n < 10:
        return [np.zeros(0, dtype=int)] * members
    if groups is not None:
        ids = np.unique(groups)
        return [np.sort(np.flatnonzero(np.isin(groups, ids[p])))
                for p in validation_sets(len(ids), members, val_fraction, seed)]
    if val_fraction is None:
        if members == 1:
            return [np.sort(rng.permutation(n)[:round(0.2 * n)])]
        return [np.sort(f) for f in np.array_split(rng.permutation(n), members)]
    n_val = int(round(float(val_fraction) * n))
    return [np.sort(rng.permutation(n)[:n_val]) for _ in range(members)]


def train_members(make_model, seeds, vals, data, target, settings, bar, n_jobs: int | None = None):
    """Train one member per ``(seed, val)`` (:func:`train_member`) and predict each one's held-out records.

    With ``n_jobs`` > 1 on the CPU the members train in that many worker
    processes (joblib's loky backend, which keeps its workers for the next
    fit), each with ``settings.n_threads`` torch threads. Each member is
    seeded on its own, so the result is the same as in one process. Starting
    the workers (torch imported in each) costs seconds: worth it for long fits.

    Returns
    -------
    list of (model, best_epoch, held_out)
        ``held_out``: the standardised prediction of the member's ``val`` records.
    """
    jobs = min(int(n_jobs or 1), len(vals))
    if jobs <= 1 or target.device.type != "cpu":
        return [_member(make_model, s, v, data, target, settings, bar) for s, v in zip(seeds, vals)]
    from joblib import Parallel, delayed

    from naapgnn.runtime import quiet_workers

    parent = os.getpid()
    calls = [delayed(_member_state)(make_model, s, v, data, target, settings, parent) for s, v in zip(seeds, vals)]
    out = []
    with quiet_workers():
        for state, epoch, held in Parallel(n_jobs=jobs, backend="loky", return_as="generator")(calls):
            model = _without_rng(make_model)
            model.load_state_dict(state)
            out.append((model.eval(), epoch, held))
            bar.update(int(settings.max_epochs))
    return out


def _member(make_model, seed, val, data, target, settings, bar):
    import torch

    model, epoch = train_member(make_model, seed, val, data, target, settings, bar)
    model.eval()  # also what the held-out prediction needs
    held = np.zeros(0)
    if len(val):
        with torch.no_grad():
            held = model(*data).cpu().numpy()[val]
    return model.cpu(), epoch, held


def _member_state(make_model, seed, val, data, target, settings, parent: int):
    """:func:`_member` in a worker process (which exits when ``parent`` is killed): the weights travel back as a
    state dict."""
    from naapgnn.runtime import cpu_threads, watch_parent_once

    watch_parent_once(parent)
    with cpu_threads(settings.n_threads):
        model, epoch, held = _member(make_model, seed, val, data, target, settings, _NoBar())
    return model.state_dict(), epoch, held


def _without_rng(make_model):
    """``make_model()`` leaving torch's random stream as it was (the weights are replaced anyway)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        return make_model()


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass


def train_member(make_model, seed: int, val: np.ndarray, data, target, settings, bar):
    """Train one ensemble member with Adam on ``MSE + rank_weight * rank_loss``; early stopping on ``val``.

    Parameters
    ----------
    make_model : callable
        ``make_model()`` -> a fresh AccuracyModel (built after seeding, so the seed fixes its initial weights).
    seed : int
        Seed of its initial weights, batches, pairs and dropout (torch's random state is set from it and put back
        afterwards: a caller's own draws do not depend on the fit).
    val : numpy.ndarray
        Held-out record indices (empty: train every epoch of ``max_epochs``).
    data : tuple (torch_geometric.data.Batch, curve, hparams)
    target : Tensor
        Standardised targets.
    settings : GNNPredictor
        Where ``lr``, ``weight_decay``, ``rank_weight``, ``max_epochs``,
        ``patience``, ``batch_size`` and ``dropout`` are read.
    bar : tqdm

    Returns
    -------
    (model, best_epoch)
        The model with the weights of its best held-out epoch.
    """
    from naapgnn.runtime import seeded_torch

    with seeded_torch(seed, target.device):
        return _train_member(make_model, seed, val, data, target, settings, bar)


def _train_member(make_model, seed: int, val: np.ndarray, data, target, settings, bar):
    """:func:`train_member` inside its own random state."""
    import torch

    rng = np.random.default_rng(seed)
    n = len(target)
    n_val = len(val)
    device = target.device
    val_idx = torch.tensor(val, dtype=torch.long, device=device)
    train_idx = torch.tensor(np.setdiff1d(np.arange(n), val), dtype=torch.long, device=device)
    model = make_model().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=float(settings.lr), weight_decay=float(settings.weight_decay),
                           foreach=True)
    g, curve, hp = data
    batch = step_size(settings.batch_size, n)
    full_batch = batch is None or batch >= len(train_idx)
    pairs = {}

    def objective(pred, idx_tensor, key):
        t = target[idx_tensor]
        loss = torch.mean((pred - t) ** 2)
        if float(settings.rank_weight) > 0 and len(t) > 1:
            if key not in pairs or not isinstance(key, str):
                i, j = (torch.tensor(a, device=device) for a in training_pairs(len(t), rng))
                pairs[key] = rank_pairs(t, i, j)
            loss = loss + float(settings.rank_weight) * rank_loss(pred, *pairs[key])
        return loss

    # Validation loss is measured at the weights of the start of each epoch; without dropout
    # the full-batch training forward already holds it, so no second forward is needed.
    reuse = full_batch and not float(settings.dropout)
    if full_batch:
        def val_forward(m):
            return m(g, curve, hp)[val_idx]
    else:  # only the held-out graphs (each graph's prediction does not depend on the others in its batch)
        edge_ptr = edge_offsets(g)
        val_graphs = select_graphs(g, val_idx, edge_ptr) if n_val else None

        def val_forward(m):
            return m(val_graphs, curve[val_idx], hp[val_idx])
    best, best_state, best_epoch, waited = math.inf, None, 0, 0
    for epoch in range(int(settings.max_epochs)):
        model.train()
        out = model(g, curve, hp) if full_batch else None
        if n_val:
            with torch.no_grad():
                if reuse:
                    val = float(objective(out[val_idx].detach(), val_idx, "val"))
                else:
                    model.eval()
                    val = float(objective(val_forward(model), val_idx, "val"))
                    model.train()
            if val < best - 1e-6:
                best, best_epoch, waited = val, epoch, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                waited += 1
                if waited >= int(settings.patience):
                    bar.update(int(settings.max_epochs) - epoch)
                    break
        else:
            best_epoch = epoch + 1
        if full_batch:
            steps = [(out[train_idx], train_idx, "train")]
        else:
            order = train_idx[torch.randperm(len(train_idx), device=device)]
            steps = ((model(select_graphs(g, c, edge_ptr), curve[c], hp[c]), c, None)
                     for c in torch.split(order, batch))
        for pred, idx, key in steps:
            loss = objective(pred, idx, key)
            opt.zero_grad()
            loss.backward()
            opt.step()
        bar.update(1)
    if best_state is not None:
        model.load_state_dict(best_state)
    return model, best_epoch


def step_size(batch_size, n_records: int) -> int | None:
    """Graphs per optimiser step for ``batch_size`` (None: full-batch; ``"auto"``: full-batch up to
    :data:`AUTO_FULL_BATCH_RECORDS` training records, else :data:`AUTO_BATCH_SIZE`)."""
    if batch_size == "auto":
        return None if n_records <= AUTO_FULL_BATCH_RECORDS else AUTO_BATCH_SIZE
    return None if batch_size is None else int(batch_size)


def edge_offsets(g):
    """Where each graph's edges start in ``g.edge_index`` (graphs' edges are contiguous, in graph order)."""
    import torch

    counts = torch.bincount(g.batch[g.edge_index[0]], minlength=g.num_graphs)
    out = torch.zeros(g.num_graphs + 1, dtype=torch.long, device=g.x.device)
    out[1:] = torch.cumsum(counts, 0)
    return out


def select_graphs(g, idx, edge_ptr=None):
    """The graphs ``idx`` of batch ``g``, in that order, as a new batch: the tensors of
    ``Batch.from_data_list(g.index_select(idx))`` (``x``, ``edge_index``, ``graph_attr``, ``batch``, ``ptr``
    and ``path_stats`` where ``g`` has them),
    gathered with tensor operations instead of one ``Data`` object per graph
    (``edge_ptr``: :func:`edge_offsets` of ``g``, when already computed).
    """
    import torch
    from torch_geometric.data import Batch

    idx = torch.as_tensor(idx, dtype=torch.long, device=g.x.device)
    edge_ptr = edge_offsets(g) if edge_ptr is None else edge_ptr
    ptr, graph_of_node, nodes = _gather_ranges(g.ptr, idx)
    _, edge_owner, edges = _gather_ranges(edge_ptr, idx)
    edge_index = g.edge_index[:, edges] - (g.ptr[idx] - ptr[:-1])[edge_owner]
    out = Batch(x=g.x[nodes], edge_index=edge_index, graph_attr=g.graph_attr[idx], batch=graph_of_node, ptr=ptr)
    if "path_stats" in g:
        out.path_stats = g.path_stats[idx]
    return out


def _gather_ranges(offsets, idx):
    """Ranges ``offsets[i]:offsets[i + 1]`` for ``i`` in ``idx``, concatenated: (new offsets, owner of each
    position, source positions)."""
    import torch

    sizes = offsets[idx + 1] - offsets[idx]
    new = torch.zeros(len(idx) + 1, dtype=torch.long, device=idx.device)
    new[1:] = torch.cumsum(sizes, 0)
    owner = torch.repeat_interleave(torch.arange(len(idx), device=idx.device), sizes)
    positions = offsets[idx][owner] + torch.arange(int(new[-1]), device=idx.device) - new[owner]
    return new, owner, positions


def training_pairs(n: int, rng: np.random.Generator):
    """Index pairs ``(i, j)`` the ranking loss compares: every pair, or ``MAX_PAIRS`` random ones."""
    if n * (n - 1) // 2 <= MAX_PAIRS:
        return np.triu_indices(n, k=1)
    i = rng.integers(0, n, MAX_PAIRS)
    j = rng.integers(0, n, MAX_PAIRS)
    keep = i != j
    return i[keep], j[keep]


def rank_pairs(target, i, j):
    """The pairs ``(i, j)`` of unequal targets and the sign of ``target[i] - target[j]``."""
    sign = (target[i] - target[j]).sign()
    keep = sign != 0
    return i[keep], j[keep], sign[keep]


def rank_loss(pred, i, j, sign):
    """Mean pairwise logistic (RankNet) loss: ``softplus(-sign * (pred[i] - pred[j]))``."""
    import torch.nn.functional as F

    if len(sign) == 0:
        return pred.sum() * 0.0
    return F.softplus(-sign * (pred[i] - pred[j])).mean()


def progress_bar(enabled: bool, total: int):
    """A tqdm bar (stderr) over the ensemble's ``total`` training epochs; silent unless ``enabled``."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="training GNN ensemble", unit="epoch", disable=not enabled, leave=False)

"""``GNNPredictor``: the scikit-learn style estimator around :class:`naapgnn.models.network.AccuracyModel`.

What it does, in order:

1. Inputs (``X``) become :class:`naapgnn.data.records.Record` objects (records,
   architectures, schemes, layer graphs, JSON Lines record dicts, or a NAAP-440
   DataFrame). Graphs are encoded once and batched once.
2. Curve features of the first ``budget`` epochs are computed per channel
   (accuracy, loss_mean, loss_median; a missing channel is zeros plus a
   "present" flag): last and best value, the value at every cycle end of the
   cyclic learning rate (epochs ``cycle, 2 * cycle, ...``: the lowest rate,
   least noisy), the gain of each cycle, and a geometric extrapolation of the
   cycle-end values. Raw per-epoch values are added while no cycle is complete
   (or always, with ``curve_raw=True``).
3. Node features, graph attributes, curve features, hyperparameters and the
   target are standardised with training statistics.
4. Each of ``n_ensemble`` members holds out its own part of the training
   data (by default the members' held-out parts are disjoint folds) and is
   trained full-batch with Adam on ``MSE + rank_weight * pairwise logistic
   ranking loss``; the weights of the epoch with the lowest held-out loss are
   kept (early stopping).
5. Curve (``curve_mode``): the curve features feed the network's curve
   encoder (``"network"``), or a ridge regression stacked on the members'
   held-out predictions, alpha by cross-validation (``"stack"``, the
   default), or both.
6. Prediction averages the members; their spread is the uncertainty. With
   ``blend_forest = b > 0`` the prediction is ``(1 - b) * GNN + b * forest``,
   the forest being :class:`naapgnn.models.forest.PerLayerForest` fitted on the
   same training data, and the uncertainty is the standard deviation of that
   two-part mixture (the GNN members' spread and the GNN-forest disagreement).

The defaults (GIN along the data flow, 3 rounds, width 32, curve stacked,
``blend_forest=0.25``) were chosen by 8 random 360/40 splits of the NAAP-440
training split only (``scripts/select_gnn.py``: the curve stacked beat the
curve encoder at every budget, and a quarter of forest gave the best mean
Kendall tau over budgets 0, 3, 6, 9); the test split was never used to
choose anything.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from naapgnn.errors import NaapgnnError
from naapgnn.runtime import torch_threads

CHECKPOINT_FORMAT = "naapgnn-gnn-predictor"
CHECKPOINT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.pt"
FOREST_FILE = "forest.joblib"
MAX_PAIRS = 200_000
CURVE_MODES = ("network", "stack", "both")

__all__ = ["GNNPredictor", "as_records", "curve_features", "curve_feature_names"]


# --- inputs ---------------------------------------------------------------------------


def as_records(X) -> list:
    """Turn estimator input into a list of :class:`naapgnn.data.records.Record`.

    Accepts a NAAP-440 DataFrame (with its ``scheme`` column), or a sequence
    of records, :class:`naapgnn.arch.format.Architecture` objects, schemes, layer
    graphs or JSON Lines record dicts (with an ``"arch"`` key). Items that are
    not records get their position as id.
    """
    from naapgnn.arch.format import parse_architecture
    from naapgnn.data.records import Record, record_from_dict, records_from_naap440

    if hasattr(X, "columns") and hasattr(X, "iloc"):
        if "scheme" not in X.columns:
            raise NaapgnnError("GNNPredictor: the table has no 'scheme' column (use naapgnn.data.naap440.load_naap440)")
        return records_from_naap440(X)
    if isinstance(X, Record):
        X = [X]
    out = []
    for i, item in enumerate(X):
        if isinstance(item, Record):
            out.append(item)
        elif isinstance(item, dict) and "arch" in item:
            try:
                out.append(record_from_dict(item))
            except NaapgnnError as exc:
                raise NaapgnnError(f"input {i}: {exc}") from None
        else:
            out.append(Record(id=str(i), arch=parse_architecture(item, source=f"input {i}")))
    if not out:
        raise NaapgnnError("GNNPredictor: no architectures given")
    return out


# --- curve features ---------------------------------------------------------------------


def curve_feature_names(budget: int, channels: Sequence[str], cycle: int = 3, raw: bool = False) -> list[str]:
    """Names of :func:`curve_features` columns, in order."""
    if budget == 0:
        return []
    ends = list(range(cycle, budget + 1, cycle))
    names = []
    for c in channels:
        names += [f"{c}_present", f"{c}_last", f"{c}_best"]
        if raw or not ends:
            names += [f"{c}_e{e}" for e in range(1, budget + 1)]
        names += [f"{c}_cycle{i + 1}" for i in range(len(ends))]
        names += [f"{c}_gain{i + 1}" for i in range(1, len(ends))]
        if ends:
            names.append(f"{c}_extrapolated")
    return names


def curve_features(records: Sequence, budget: int, channels: Sequence[str], cycle: int = 3,
                   raw: bool = False) -> np.ndarray:
    """Cycle-aligned curve features of the first ``budget`` epochs, ``(n, len(names))``.

    Per channel: a presence flag, last value, best value (max for accuracy,
    min for losses), optionally the raw values, the value at each cycle end,
    each cycle's gain over the previous cycle end, and the last cycle end
    plus a geometric tail of the gains (ratio of the last two gains clipped to
    [0, 0.9]; 0.5 with one gain; none with no gain). A channel a record lacks
    contributes zeros. Every record needs at least one channel with
    ``budget`` epochs; a channel shorter than that is an error.
    """
    if budget == 0:
        return np.zeros((len(records), 0))
    ends = np.arange(cycle, budget + 1, cycle) - 1
    blocks = []
    for c in channels:
        values = np.zeros((len(records), budget))
        present = np.zeros(len(records))
        for i, r in enumerate(records):
            v = r.curve.get(c)
            if v is None or len(v) == 0:
                continue
            if len(v) < budget:
                raise NaapgnnError(
                    f"record {r.id!r}: curve channel {c!r} has {len(v)} epochs, budget {budget} needs {budget}")
            values[i] = v[:budget]
            present[i] = 1.0
        best = values.min(axis=1) if c.startswith("loss") else values.max(axis=1)
        cols = [present, values[:, -1], best]
        if raw or len(ends) == 0:
            cols += list(values.T)
        end_values = values[:, ends]
        gains = np.diff(end_values, axis=1)
        cols += list(end_values.T) + list(gains.T)
        if len(ends):
            cols.append(end_values[:, -1] + _geometric_tail(gains))
        blocks.append(np.column_stack(cols))
    for i, r in enumerate(records):
        if not any(len(r.curve.get(c, ())) for c in channels):
            raise NaapgnnError(
                f"record {r.id!r}: budget {budget} needs the first {budget} epochs of its curve "
                f"({', '.join(channels)}), it has none")
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(records), 0))


def _geometric_tail(gains: np.ndarray) -> np.ndarray:
    n = len(gains)
    if gains.shape[1] == 0:
        return np.zeros(n)
    last = gains[:, -1]
    if gains.shape[1] == 1:
        ratio = np.full(n, 0.5)
    else:
        prev = gains[:, -2]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(prev * last > 0, last / prev, 0.0)
        ratio = np.clip(ratio, 0.0, 0.9)
    return last * ratio / (1.0 - ratio)


def _standardise(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = values.mean(axis=0) if len(values) else np.zeros(values.shape[1])
    std = values.std(axis=0) if len(values) else np.ones(values.shape[1])
    return mean, np.where(std > 1e-8, std, 1.0)


# --- losses --------------------------------------------------------------------------------


def _pairs(n: int, rng: np.random.Generator):
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


# --- the estimator -------------------------------------------------------------------------


class GNNPredictor(RegressorMixin, BaseEstimator):
    """Predict final accuracy from an architecture's graph and its first ``budget`` epochs.

    Parameters
    ----------
    budget : int
        Epochs of training curve read per architecture (0: the graph alone).
    conv : {"gin", "gatv2", "sage"}
        Message-passing layer type.
    direction : {"forward", "both"}
        Messages along the data flow only, or also backwards (own weights).
    hidden : int
        Node state and head width.
    layers : int
        Message-passing rounds.
    curve_hidden : int
        Width of the curve encoder.
    curve_mode : {"network", "stack", "both"}
        Where the curve features enter: the network's curve encoder; a ridge
        regression stacked on the ensemble's held-out predictions (the graph
        network then sees no curve); or both.
    dropout : float
        Dropout on node states and in the head.
    curve_raw : bool
        Also feed the raw per-epoch values (always fed while no learning-rate
        cycle is complete).
    cycle : int
        Epochs per learning-rate cycle (3 for NAAP-440).
    rank_weight : float
        Weight of the pairwise ranking loss beside the MSE.
    lr, weight_decay : float
        Adam settings.
    max_epochs : int
        Training epochs at most (full-batch: one step per epoch by default).
    patience : int
        Early stopping: epochs without a better validation loss.
    val_fraction : float or None
        Share of the training data each member holds out for early stopping.
        None: the members' held-out sets are disjoint folds (``1 / n_ensemble``
        each; 20% for a single member), so every record gets a held-out
        prediction, which ``curve_mode="stack"`` needs.
    batch_size : int or None
        Graphs per step; None trains full-batch.
    n_ensemble : int
        Members (seeds) averaged; their spread is the uncertainty.
    blend_forest : float
        Weight in [0, 1] of a per-layer random forest blended into the prediction.
    forest_curve : bool
        Let the blended forest also read cycle curve features (budget > 0).
    forest_trees : int
        Trees of the blended forest.
    random_state : int
        Seed of everything random.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ...
    n_threads : int or None
        Torch CPU threads while fitting and predicting (None: leave torch's
        setting). The graphs are tiny, so one thread is fastest on a busy
        machine (several threads spin-wait on each other); raise it for large
        benchmarks on idle cores.
    progress : bool
        tqdm progress bar (stderr) while fitting.

    Attributes
    ----------
    members_ : list of AccuracyModel
        The trained ensemble (on CPU).
    best_epochs_ : list of int
        The epoch each member's kept weights come from.
    oof_prediction_ : numpy.ndarray
        Each training record's prediction by the member that held it out (NaN
        where none did), before the curve stack and the blend.
    forest_ : PerLayerForest or None
        The blended forest.
    """

    def __init__(self, budget: int = 0, conv: str = "gin", direction: str = "forward", hidden: int = 32,
                 layers: int = 3, curve_hidden: int = 32, curve_mode: str = "stack", dropout: float = 0.0,
                 curve_raw: bool = False,
                 cycle: int = 3, rank_weight: float = 0.5, lr: float = 5e-3, weight_decay: float = 1e-4,
                 max_epochs: int = 200, patience: int = 40, val_fraction: float | None = None,
                 batch_size: int | None = None, n_ensemble: int = 5, blend_forest: float = 0.25,
                 forest_curve: bool = False, forest_trees: int = 300, random_state: int = 0,
                 device: str = "auto", n_threads: int | None = 1, progress: bool = False):
        self.budget = budget
        self.conv = conv
        self.direction = direction
        self.hidden = hidden
        self.layers = layers
        self.curve_hidden = curve_hidden
        self.curve_mode = curve_mode
        self.dropout = dropout
        self.curve_raw = curve_raw
        self.cycle = cycle
        self.rank_weight = rank_weight
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.patience = patience
        self.val_fraction = val_fraction
        self.batch_size = batch_size
        self.n_ensemble = n_ensemble
        self.blend_forest = blend_forest
        self.forest_curve = forest_curve
        self.forest_trees = forest_trees
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads
        self.progress = progress

    # --- checks and inputs ---

    def _check_params(self) -> None:
        from naapgnn.models.network import CONV_TYPES, DIRECTIONS

        b = self.budget
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 0:
            raise NaapgnnError(f"GNNPredictor: budget must be a non-negative integer number of epochs, got {b!r}")
        for name in ("hidden", "layers", "curve_hidden", "cycle", "max_epochs", "patience", "n_ensemble",
                     "forest_trees"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise NaapgnnError(f"GNNPredictor: {name} must be a positive integer, got {value!r}")
        for name in ("dropout", "rank_weight", "lr", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not value >= 0:
                raise NaapgnnError(f"GNNPredictor: {name} must be a non-negative number, got {value!r}")
        if self.batch_size is not None and (not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1):
            raise NaapgnnError(f"GNNPredictor: batch_size must be None or a positive integer, got {self.batch_size!r}")
        if self.conv not in CONV_TYPES:
            raise NaapgnnError(f"GNNPredictor: conv must be one of {', '.join(CONV_TYPES)}, got {self.conv!r}")
        if self.direction not in DIRECTIONS:
            raise NaapgnnError(f"GNNPredictor: direction must be one of {', '.join(DIRECTIONS)}, got {self.direction!r}")
        if not _number_in(self.blend_forest, 0.0, 1.0):
            raise NaapgnnError(f"GNNPredictor: blend_forest must be in [0, 1], got {self.blend_forest!r}")
        if self.val_fraction is not None and not (_number_in(self.val_fraction, 0.0, 1.0) and self.val_fraction < 1):
            raise NaapgnnError(f"GNNPredictor: val_fraction must be None or in [0, 1), got {self.val_fraction!r}")
        if self.curve_mode not in CURVE_MODES:
            raise NaapgnnError(f"GNNPredictor: curve_mode must be one of {', '.join(CURVE_MODES)}, got {self.curve_mode!r}")
        if self.conv == "gatv2" and self.hidden % 4:
            raise NaapgnnError(f"GNNPredictor: hidden must be a multiple of 4 (attention heads) for gatv2, got {self.hidden}")

    def _device(self):
        import torch

        if self.device in (None, "auto"):
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            device = torch.device(self.device)
        except RuntimeError:
            raise NaapgnnError(f"GNNPredictor: unknown device {self.device!r}") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise NaapgnnError(f"GNNPredictor: device {self.device!r} asked for, but CUDA is not available "
                               f"(use device='auto' or 'cpu')")
        return device

    def _inputs(self, records):
        """Standardised tensors of ``records``: (GraphBatch, curve, hparams)."""
        import torch

        from naapgnn.models.network import encode_batch

        g = encode_batch([r.arch for r in records])
        g.x = (g.x - self.node_mean_) / self.node_std_
        g.graph_attr = (g.graph_attr - self.attr_mean_) / self.attr_std_
        curve = (self._curve(records) - self.curve_mean_) / self.curve_std_
        hp = (self._hparams(records) - self.hparam_mean_) / self.hparam_std_
        return g, torch.tensor(curve, dtype=torch.float32), torch.tensor(hp, dtype=torch.float32)

    def _curve(self, records) -> np.ndarray:
        return curve_features(records, int(self.budget), self.curve_channels_, int(self.cycle), bool(self.curve_raw))

    def _hparams(self, records, fill: bool = True) -> np.ndarray:
        out = np.full((len(records), len(self.hparam_names_)), np.nan)
        for i, r in enumerate(records):
            for j, name in enumerate(self.hparam_names_):
                if name in r.hparams:
                    out[i, j] = r.hparams[name]
        if fill:  # a missing value counts as the training mean
            out = np.where(np.isnan(out), self.hparam_mean_, out)
        return out

    # --- fit ---

    def fit(self, X, y=None):
        """Train the ensemble (and the blended forest).

        Parameters
        ----------
        X : list of Record, architectures, record dicts, or a NAAP-440 DataFrame
        y : array-like of shape (n,), optional
            Final accuracies; default: the records' ``target``.

        Returns
        -------
        self
        """
        import torch

        from naapgnn.data.records import CURVE_CHANNELS
        from naapgnn.models.network import encode_batch

        self._check_params()
        records = as_records(X)
        y = self._targets(records, y)
        if len(records) < 4:
            raise NaapgnnError(f"GNNPredictor: need at least 4 training architectures, got {len(records)}")
        budget = int(self.budget)
        self.curve_channels_ = [c for c in CURVE_CHANNELS if any(len(r.curve.get(c, ())) for r in records)] \
            if budget else []
        if budget and not self.curve_channels_:
            raise NaapgnnError(f"GNNPredictor: budget {budget} needs training curves, but no record has one")
        self.hparam_names_ = sorted({k for r in records for k in r.hparams})

        raw = encode_batch([r.arch for r in records])
        self.node_mean_, self.node_std_ = (torch.tensor(a, dtype=torch.float32)
                                           for a in _standardise(raw.x.numpy()))
        self.attr_mean_, self.attr_std_ = (torch.tensor(a, dtype=torch.float32)
                                           for a in _standardise(raw.graph_attr.numpy()))
        curve = self._curve(records)
        self.curve_feature_names_ = curve_feature_names(budget, self.curve_channels_, int(self.cycle),
                                                        bool(self.curve_raw))
        self.curve_mean_, self.curve_std_ = _standardise(curve)
        hp = self._hparams(records, fill=False)
        self.hparam_mean_ = np.nan_to_num(np.nanmean(hp, axis=0)) if hp.shape[1] else np.zeros(0)
        hp = np.where(np.isnan(hp), self.hparam_mean_, hp)
        _, self.hparam_std_ = _standardise(hp)
        self.y_mean_, self.y_std_ = float(y.mean()), float(y.std()) or 1.0
        self.node_dim_, self.attr_dim_ = int(raw.x.shape[1]), int(raw.graph_attr.shape[1])
        self.curve_dim_ = 0 if self.curve_mode == "stack" else int(curve.shape[1])
        self.hparam_dim_ = int(hp.shape[1])

        with torch_threads(self.n_threads):
            device = self._device()
            g, curve_t, hp_t = self._inputs(records)
            data = (g.to(device), curve_t.to(device), hp_t.to(device))
            target = torch.tensor((y - self.y_mean_) / self.y_std_, dtype=torch.float32, device=device)
            self.members_, self.best_epochs_ = [], []
            oof = np.full(len(records), np.nan)  # each record's prediction by a member that did not train on it
            bar = _progress(self.progress, int(self.n_ensemble) * int(self.max_epochs))
            try:
                for m, val in enumerate(self._validation_sets(len(records))):
                    model, epoch = self._train_member(m, val, data, target, device, bar)
                    model.eval()
                    if len(val):
                        with torch.no_grad():
                            oof[val] = model(*data).cpu().numpy()[val]
                    self.members_.append(model.cpu().eval())
                    self.best_epochs_.append(epoch)
            finally:
                bar.close()
        self._fit_stack(oof, (curve - self.curve_mean_) / self.curve_std_, (y - self.y_mean_) / self.y_std_)
        self.oof_prediction_ = oof * self.y_std_ + self.y_mean_
        self.forest_ = None
        if float(self.blend_forest) > 0:
            from naapgnn.models.forest import PerLayerForest

            self.forest_ = PerLayerForest(budget=budget, curve=bool(self.forest_curve),
                                          n_estimators=int(self.forest_trees),
                                          random_state=int(self.random_state)).fit(records, y)
        self.n_features_in_ = self.node_dim_
        return self

    @staticmethod
    def _targets(records, y) -> np.ndarray:
        if y is None:
            missing = [r.id for r in records if r.target is None]
            if missing:
                raise NaapgnnError(f"GNNPredictor: record {missing[0]!r} has no target (pass y or a target)")
            y = [r.target for r in records]
        y = np.asarray(y, dtype=float).reshape(-1)
        if len(y) != len(records):
            raise NaapgnnError(f"GNNPredictor: {len(records)} architectures but {len(y)} targets")
        if not np.all(np.isfinite(y)):
            raise NaapgnnError(f"GNNPredictor: target {int(np.flatnonzero(~np.isfinite(y))[0])} is not finite")
        return y

    def _new_model(self):
        from naapgnn.models.network import AccuracyModel

        return AccuracyModel(self.node_dim_, self.attr_dim_, self.curve_dim_, self.hparam_dim_,
                             hidden=int(self.hidden), layers=int(self.layers), conv=self.conv,
                             direction=self.direction, dropout=float(self.dropout),
                             curve_hidden=int(self.curve_hidden))

    def _validation_sets(self, n: int) -> list[np.ndarray]:
        """Each member's held-out records: disjoint folds (``val_fraction=None``), or
        an independent random ``val_fraction`` per member; none for tiny data."""
        rng = np.random.default_rng(int(self.random_state))
        members = int(self.n_ensemble)
        if n < 10:
            return [np.zeros(0, dtype=int)] * members
        if self.val_fraction is None:
            if members == 1:
                return [np.sort(rng.permutation(n)[:round(0.2 * n)])]
            return [np.sort(f) for f in np.array_split(rng.permutation(n), members)]
        n_val = int(round(float(self.val_fraction) * n))
        return [np.sort(rng.permutation(n)[:n_val]) for _ in range(members)]

    def _fit_stack(self, oof: np.ndarray, curve: np.ndarray, target: np.ndarray) -> None:
        """Ridge of the target on (held-out GNN prediction, curve features), alpha by CV.

        Only with ``curve_mode`` "stack" or "both" and a curve; otherwise the
        prediction is the ensemble mean unchanged (coefficient 1 on it).
        """
        self.stack_coef_, self.stack_intercept_ = np.array([1.0]), 0.0
        if self.curve_mode == "network" or curve.shape[1] == 0:
            return
        from sklearn.linear_model import RidgeCV

        rows = np.isfinite(oof)
        if rows.sum() < 10:
            raise NaapgnnError(f"GNNPredictor: curve_mode {self.curve_mode!r} needs held-out predictions of "
                               f"at least 10 records, got {int(rows.sum())} (more data or val_fraction)")
        ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(np.c_[oof[rows], curve[rows]], target[rows])
        self.stack_coef_, self.stack_intercept_ = ridge.coef_.astype(float), float(ridge.intercept_)

    def _train_member(self, m: int, val: np.ndarray, data, target, device, bar):
        import torch

        seed = int(self.random_state) * 1009 + m
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        n = len(target)
        n_val = len(val)
        val_idx = torch.tensor(val, dtype=torch.long, device=device)
        train_idx = torch.tensor(np.setdiff1d(np.arange(n), val), dtype=torch.long, device=device)
        model = self._new_model().to(device)
        opt = torch.optim.Adam(model.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay),
                               foreach=True)
        g, curve, hp = data
        full_batch = self.batch_size is None or int(self.batch_size) >= len(train_idx)
        pairs = {}

        def objective(pred, idx_tensor, key):
            t = target[idx_tensor]
            loss = torch.mean((pred - t) ** 2)
            if float(self.rank_weight) > 0 and len(t) > 1:
                if key not in pairs or not isinstance(key, str):
                    i, j = (torch.tensor(a, device=device) for a in _pairs(len(t), rng))
                    pairs[key] = rank_pairs(t, i, j)
                loss = loss + float(self.rank_weight) * rank_loss(pred, *pairs[key])
            return loss

        # Validation loss is measured at the weights of the start of each epoch; without dropout
        # the full-batch training forward already holds it, so no second forward is needed.
        reuse = full_batch and not float(self.dropout)
        best, best_state, best_epoch, waited = math.inf, None, 0, 0
        for epoch in range(int(self.max_epochs)):
            model.train()
            out = model(g, curve, hp) if full_batch else None
            if n_val:
                with torch.no_grad():
                    if reuse:
                        val = float(objective(out[val_idx].detach(), val_idx, "val"))
                    else:
                        model.eval()
                        val = float(objective(model(g, curve, hp)[val_idx], val_idx, "val"))
                        model.train()
                if val < best - 1e-6:
                    best, best_epoch, waited = val, epoch, 0
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    waited += 1
                    if waited >= int(self.patience):
                        bar.update(int(self.max_epochs) - epoch)
                        break
            else:
                best_epoch = epoch + 1
            if full_batch:
                steps = [(out[train_idx], train_idx, "train")]
            else:
                order = train_idx[torch.randperm(len(train_idx), device=device)]
                steps = ((model(g.subset(c), curve[c], hp[c]), c, None)
                         for c in torch.split(order, int(self.batch_size)))
            for pred, idx, key in steps:
                loss = objective(pred, idx, key)
                opt.zero_grad()
                loss.backward()
                opt.step()
            bar.update(1)
        if best_state is not None:
            model.load_state_dict(best_state)
        return model, best_epoch

    # --- predict ---

    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise NaapgnnError("GNNPredictor: not fitted yet (call fit or GNNPredictor.load)")

    def score(self, X, y=None, sample_weight=None) -> float:
        """Coefficient of determination R^2 of the predictions (scikit-learn's regressor score).

        Parameters
        ----------
        X : list of Record, architectures, record dicts, or a NAAP-440 DataFrame
        y : array-like of shape (n,), optional
            Final accuracies; default: the records' ``target``.
        sample_weight : array-like of shape (n,), optional

        Returns
        -------
        float
        """
        records = as_records(X)
        return super().score(records, self._targets(records, y), sample_weight=sample_weight)

    def predict(self, X, return_std: bool = False):
        """Predicted final accuracy.

        Parameters
        ----------
        X : list of Record, architectures, record dicts, or a NAAP-440 DataFrame
        return_std : bool
            Also return the uncertainty (see the module docstring).

        Returns
        -------
        numpy.ndarray of shape (n,), or a tuple (mean, std) of two
        """
        parts = self.predict_parts(X)
        mean, var = parts["gnn"], parts["gnn_std"] ** 2
        if parts["forest"] is not None:
            b, forest = float(self.blend_forest), parts["forest"]
            var = (1 - b) * var + b * (1 - b) * (mean - forest) ** 2
            mean = (1 - b) * mean + b * forest
        return (mean, np.sqrt(var)) if return_std else mean

    def predict_parts(self, X) -> dict:
        """The two parts that :meth:`predict` blends.

        Returns
        -------
        dict
            ``gnn``: the ensemble mean (after the curve stack), ``gnn_std``:
            the members' spread, ``forest``: the per-layer forest's prediction
            (None when ``blend_forest`` is 0).
        """
        import torch

        self._check_fitted()
        records = as_records(X)
        with torch_threads(self.n_threads), torch.no_grad():
            device = self._device()
            g, curve, hp = self._inputs(records)
            g, curve, hp = g.to(device), curve.to(device), hp.to(device)
            preds = np.stack([m.to(device)(g, curve, hp).cpu().numpy() for m in self.members_])
            for m in self.members_:
                m.cpu()
        # Stacking is linear, so it applies member by member (the mean is unchanged).
        preds = preds.astype(float) * self.stack_coef_[0] + self.stack_intercept_
        if len(self.stack_coef_) > 1:
            preds = preds + curve.cpu().numpy().astype(float) @ self.stack_coef_[1:]
        preds = preds * self.y_std_ + self.y_mean_
        forest = self._forest_predict(records) if self.forest_ is not None else None
        return {"gnn": preds.mean(axis=0), "gnn_std": preds.std(axis=0), "forest": forest}

    def _forest_predict(self, records) -> np.ndarray:
        try:
            return self.forest_.predict(records)
        except NaapgnnError as exc:
            raise NaapgnnError(f"{exc} (the blended per-layer forest cannot read this input; "
                               f"use a predictor with blend_forest=0)") from None

    # --- persistence ---

    def save(self, path) -> Path:
        """Write a checkpoint folder: config.json (hyperparameters, normalisation
        statistics, versions), weights.pt and, when blended, forest.joblib.

        The folder is written beside ``path`` first and renamed into place, so
        an interrupted save leaves any previous checkpoint intact.
        """
        import joblib
        import torch

        from naapgnn import __version__
        from naapgnn.graph.encoding import ENCODING_VERSION, GRAPH_ATTRS, NODE_FEATURES

        self._check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            params = self.get_params()
            params["progress"] = False
            config = {
                "format": CHECKPOINT_FORMAT,
                "format_version": CHECKPOINT_VERSION,
                "naapgnn_version": __version__,
                "encoding_version": ENCODING_VERSION,
                "node_features": list(NODE_FEATURES),
                "graph_attrs": list(GRAPH_ATTRS),
                "params": params,
                "state": {
                    "curve_channels": self.curve_channels_,
                    "curve_feature_names": self.curve_feature_names_,
                    "hparam_names": self.hparam_names_,
                    "node_mean": self.node_mean_.tolist(), "node_std": self.node_std_.tolist(),
                    "attr_mean": self.attr_mean_.tolist(), "attr_std": self.attr_std_.tolist(),
                    "curve_mean": self.curve_mean_.tolist(), "curve_std": self.curve_std_.tolist(),
                    "hparam_mean": self.hparam_mean_.tolist(), "hparam_std": self.hparam_std_.tolist(),
                    "y_mean": self.y_mean_, "y_std": self.y_std_,
                    "dims": [self.node_dim_, self.attr_dim_, self.curve_dim_, self.hparam_dim_],
                    "best_epochs": self.best_epochs_,
                    "stack_coef": self.stack_coef_.tolist(), "stack_intercept": self.stack_intercept_,
                },
            }
            (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=1))
            torch.save({"members": [m.state_dict() for m in self.members_]}, tmp / WEIGHTS_FILE)
            if self.forest_ is not None:
                joblib.dump(self.forest_, tmp / FOREST_FILE)
            os.chmod(tmp, 0o777 & ~_umask())
            if path.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
                os.replace(path, old / "ckpt")
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
        except OSError as exc:
            raise NaapgnnError(f"{path}: cannot write checkpoint: {exc.strerror or exc}") from None
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return path

    @classmethod
    def load(cls, path, device: str | None = None) -> "GNNPredictor":
        """Read a checkpoint written by :meth:`save`.

        Raises
        ------
        NaapgnnError
            One line saying why the checkpoint does not fit this code (missing
            files, another format, other node features, mismatched weights).
        """
        import torch

        from naapgnn import __version__
        from naapgnn.graph.encoding import GRAPH_ATTRS, NODE_FEATURES

        path = Path(path)
        config = _read_config(path)
        where = f"checkpoint {path}"
        saved = config.get("naapgnn_version", "?")
        if config.get("format") != CHECKPOINT_FORMAT:
            raise NaapgnnError(f"{where}: not a GNNPredictor checkpoint (format {config.get('format')!r})")
        if config.get("format_version") != CHECKPOINT_VERSION:
            raise NaapgnnError(f"{where}: checkpoint format version {config.get('format_version')!r} "
                               f"(written by naapgnn {saved}); this naapgnn {__version__} reads version "
                               f"{CHECKPOINT_VERSION}; retrain with naapgnn train")
        if config.get("node_features") != list(NODE_FEATURES) or config.get("graph_attrs") != list(GRAPH_ATTRS):
            raise NaapgnnError(f"{where}: trained on other graph features (naapgnn {saved}, encoding "
                               f"v{config.get('encoding_version')}) than this naapgnn {__version__} computes; "
                               f"retrain with naapgnn train")
        try:
            params, state = dict(config["params"]), config["state"]
            if device is not None:
                params["device"] = device
            self = cls(**params)
            self._check_params()
            self.curve_channels_ = list(state["curve_channels"])
            self.curve_feature_names_ = list(state["curve_feature_names"])
            self.hparam_names_ = list(state["hparam_names"])
            self.node_mean_ = torch.tensor(state["node_mean"], dtype=torch.float32)
            self.node_std_ = torch.tensor(state["node_std"], dtype=torch.float32)
            self.attr_mean_ = torch.tensor(state["attr_mean"], dtype=torch.float32)
            self.attr_std_ = torch.tensor(state["attr_std"], dtype=torch.float32)
            for name in ("curve_mean", "curve_std", "hparam_mean", "hparam_std"):
                setattr(self, name + "_", np.asarray(state[name], dtype=float))
            self.y_mean_, self.y_std_ = float(state["y_mean"]), float(state["y_std"])
            self.node_dim_, self.attr_dim_, self.curve_dim_, self.hparam_dim_ = (int(d) for d in state["dims"])
            self.best_epochs_ = list(state.get("best_epochs", []))
            self.stack_coef_ = np.asarray(state["stack_coef"], dtype=float)
            self.stack_intercept_ = float(state["stack_intercept"])
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, NaapgnnError):
                raise NaapgnnError(f"{where}: {exc}") from None
            raise NaapgnnError(f"{where}: {CONFIG_FILE} is incomplete or malformed ({type(exc).__name__}: {exc})") from None
        if self.curve_feature_names_ != curve_feature_names(int(self.budget), self.curve_channels_,
                                                            int(self.cycle), bool(self.curve_raw)):
            raise NaapgnnError(f"{where}: its curve features differ from what this naapgnn {__version__} computes; retrain")
        if len(self.stack_coef_) not in (1, 1 + len(self.curve_feature_names_)):
            raise NaapgnnError(f"{where}: the curve stack has {len(self.stack_coef_)} coefficients for "
                               f"{len(self.curve_feature_names_)} curve features; retrain")
        self.members_ = _load_members(self, path, where)
        self.forest_ = None
        if float(self.blend_forest) > 0:
            self.forest_ = _load_forest(path, where)
        self.n_features_in_ = self.node_dim_
        return self


def _number_in(value, low: float, high: float) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
            and low <= value <= high)


def _read_config(path: Path) -> dict:
    if not path.is_dir():
        raise NaapgnnError(f"checkpoint {path}: no such folder")
    config_path = path / CONFIG_FILE
    try:
        config = json.loads(config_path.read_text())
    except FileNotFoundError:
        raise NaapgnnError(f"checkpoint {path}: not a GNNPredictor checkpoint (no {CONFIG_FILE})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NaapgnnError(f"checkpoint {path}: cannot read {CONFIG_FILE}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise NaapgnnError(f"checkpoint {config_path}: invalid JSON at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(config, dict):
        raise NaapgnnError(f"checkpoint {config_path}: expected a JSON object")
    return config


def _load_members(self: GNNPredictor, path: Path, where: str) -> list:
    import torch

    try:
        blob = torch.load(path / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        states = blob["members"]
    except FileNotFoundError:
        raise NaapgnnError(f"{where}: missing {WEIGHTS_FILE}") from None
    except Exception as exc:  # torch raises many types for a damaged file
        raise NaapgnnError(f"{where}: cannot read {WEIGHTS_FILE} ({type(exc).__name__})") from None
    if not states:
        raise NaapgnnError(f"{where}: {WEIGHTS_FILE} holds no ensemble member")
    members = []
    for i, state in enumerate(states):
        model = self._new_model()
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()
            detail = first[1].strip() if len(first) > 1 else first[0]
            raise NaapgnnError(f"{where}: weights of member {i} do not fit the model of config.json ({detail})") from None
        members.append(model.eval())
    return members


def _load_forest(path: Path, where: str):
    import joblib

    try:
        return joblib.load(path / FOREST_FILE)
    except FileNotFoundError:
        raise NaapgnnError(f"{where}: blend_forest > 0 but {FOREST_FILE} is missing") from None
    except Exception as exc:  # unpickling errors vary
        raise NaapgnnError(f"{where}: cannot read {FOREST_FILE} ({type(exc).__name__}: {exc})") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _progress(enabled: bool, total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="training GNN ensemble", unit="epoch", disable=not enabled, leave=False)

"""``GNNPredictor``: the scikit-learn style estimator around :class:`naapgnn.models.network.AccuracyModel`.

What it does, in order:

1. Inputs (``X``) become :class:`naapgnn.data.records.Record` objects (records,
   architectures, schemes, layer graphs, JSON Lines record dicts, or a NAAP-440
   DataFrame), or :class:`naapgnn.models.inputs.EncodedRecords` (:meth:`featurize`: a study's
   networks encoded once for all its fits). Graphs are encoded once and batched once.
2. Curve features of the first ``budget`` epochs (:mod:`naapgnn.features.curves`), per channel
   the records have (any name; a missing channel is zeros plus a "present"
   flag): schedule-free ones (last, best, mean of the last three, differences,
   slopes, a log-fit extrapolation), plus cycle-aligned ones only when the
   records carry a per-epoch ``lr`` channel with a cyclic schedule. Raw
   per-epoch values are added with ``curve_raw=True``.
3. Node features, graph attributes, curve features, hyperparameters (as
   :mod:`naapgnn.features.hparams` reads them) and the target are standardised.
4. Each of ``n_ensemble`` members holds out its own part of the training
   data (by default the members' held-out parts are disjoint folds) and is
   trained with Adam (full-batch up to 600 records, else mini-batches) on
   ``MSE + rank_weight * pairwise logistic ranking loss``; the weights of the
   epoch with the lowest held-out loss are kept (early stopping).
5. With ``blend_forest > 0`` (default 0.25) the graph prediction is
   ``(1 - b) * GNN + b * forest``, the forest (:mod:`naapgnn.models.blended_forest`)
   a random forest on the networks' statistics and hyperparameters by
   default, with its out-of-bag predictions for the training records; ``b`` is
   ``blend_forest`` or, with ``choose_blend``, a share the held-out predictions prefer.
6. A gated stack on the held-out graph predictions of step 5
   (``curve_mode`` "stack", the default, or "both"; :mod:`naapgnn.models.curve_stack`),
   chosen by cross-validation on the training split: at every budget, graph only, a kernel ridge of
   the residual on the networks' statistics and hyperparameters, or a share of a nu-SVR on the
   hyperparameters (the model at budget 0); with a curve, that, a ridge, a kernel ridge also reading
   the curve, or a nu-SVR on (graph prediction, curve, hyperparameters). So at budget ``k >= 1`` the
   model is never worse than at budget 0 on that cross-validation. With
   ``curve_mode="network"`` (or "both") the curve features also feed the
   network's curve encoder.
7. Prediction averages the members, each blended and stacked; the
   uncertainty is the std of the graph mixture times ``std_scale_``, fitted
   on the stack's out-of-fold predictions so that +-2 std holds 95% of them.
   Predictions are clipped to [0, 1]; :meth:`domain_report` says which
   inputs lie outside the training domain.

The defaults (GIN along the data flow, 3 rounds, width 32, curve stacked)
were chosen by 8 random 360/40 splits of the NAAP-440 training split only
(``scripts/select_gnn.py``: the curve stacked beat the curve encoder at every
budget); the test split was never used to choose anything. The forest's
share was chosen on development draws only (``scripts/blend_choice.py``;
README, "The statistics forest").
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from naapgnn.errors import NaapgnnError
from naapgnn.models import checkpoint
from naapgnn.models.applicability import MAX_STD, ApplicabilityMixin, blend
from naapgnn.models.blended_forest import ForestMixin
from naapgnn.models.curve_part import CurveMixin, mean_and_scale
from naapgnn.models.curve_stack import apply_stack
from naapgnn.models.ensemble import progress_bar, train_members, validation_sets
from naapgnn.models.inputs import (READ_AT_PREDICTION, EncodingMixin, RecordsScoreMixin, as_records, check_params,
                                   check_training_targets, check_unchanged, extension_types_in, node_columns,
                                   raise_if_out_of_memory, targets_of)
from naapgnn.runtime import cpu_threads, resolve_device

__all__ = ["GNNPredictor"]


class GNNPredictor(EncodingMixin, CurveMixin, ApplicabilityMixin, ForestMixin, RecordsScoreMixin, RegressorMixin,
                   BaseEstimator):
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
        Where the curve features enter: the network's curve encoder; the
        gated stack on the held-out graph predictions (the graph network then
        sees no curve); or both.
    dropout : float
        Dropout on node states and in the head.
    curve_raw : bool
        Also feed the raw per-epoch values.
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
        prediction, which ``curve_mode="stack"`` needs. Where a configuration has several records (seeds), they are
        held out together, as are the forest's out-of-bag and the curve gate's folds, so that no held-out prediction
        comes from a model that trained on a twin of its record.
    batch_size : int, None or "auto"
        Graphs per step; None trains full-batch; "auto" (default) full-batch up to 600 training
        records, else 64 (:func:`naapgnn.models.ensemble.step_size`).
    n_ensemble : int
        Members (seeds) averaged; their spread is the uncertainty.
    blend_forest : float
        Weight in [0, 1] of a random forest blended into the prediction (0: none is fitted).
    choose_blend : bool
        Let the training records' held-out predictions choose another share (``blend_share_``).
    forest : {"statistics", "per_layer"}
        The blended forest: on the networks' statistics and hyperparameters, or
        :class:`naapgnn.models.forest.PerLayerForest` (:mod:`naapgnn.models.blended_forest`).
    forest_curve : bool
        Let a per-layer blended forest also read cycle curve features (budget > 0).
    forest_trees : int
        Trees of the blended forest.
    fold_repeats : bool
        The network reads each run of identical consecutive blocks as one copy
        with a repeat count (:mod:`naapgnn.graph.folding`): the same network,
        in a smaller graph whose input-to-output path is shorter.
    random_state : int or None
        Seed of everything random (None: a fresh seed at every fit).
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ...
    n_threads : int or None
        Torch CPU threads while fitting and predicting (None: leave torch's
        setting). The graphs are tiny, so one thread is fastest on a busy
        machine (several threads spin-wait on each other); raise it for large
        benchmarks on idle cores.
    n_jobs : int or None
        Processes training the members at once on the CPU (None: one); the fit is the same.
    progress : bool
        tqdm progress bar (stderr) while fitting.

    Attributes
    ----------
    hparam_names_, hparam_log_ : list of str, list of bool (the hyperparameters read, which in log10)
    members_ : list of AccuracyModel
        The trained ensemble (on CPU).
    folds_ : bool
        Whether the network reads folded graphs: ``fold_repeats`` and at least
        one training network with a repeated block.
    best_epochs_ : list of int
        The epoch each member's kept weights come from.
    oof_prediction_ : numpy.ndarray
        Each training record's prediction by the member that held it out (NaN
        where none did), before the blend and the curve stack.
    stack_oof_ : numpy.ndarray
        Each training record's held-out final prediction: the blend of
        ``oof_prediction_`` and the forest's out-of-bag prediction, stacked by
        the gate's cross-validation (what ``std_scale_`` is fitted on).
    stack_gate_ : dict
        The gate's cross-validated scores and choice (:mod:`naapgnn.models.curve_stack`).
    forest_ : RandomForestRegressor, PerLayerForest or None
        The blended forest.
    blend_share_ : float
        Its share; ``blend_scores_``: the held-out (mse, tau) of each share weighed ({} if none was).
    domain_ : dict
        The training domain that :meth:`domain_report` checks.
    std_scale_ : float
        Uncertainty calibration (see :mod:`naapgnn.models.applicability`).
    """

    def __init__(self, budget: int = 0, conv: str = "gin", direction: str = "forward", hidden: int = 32,
                 layers: int = 3, curve_hidden: int = 32, curve_mode: str = "stack", dropout: float = 0.0,
                 curve_raw: bool = False, rank_weight: float = 0.5, lr: float = 5e-3, weight_decay: float = 1e-4,
                 max_epochs: int = 200, patience: int = 40, val_fraction: float | None = None,
                 batch_size: int | str | None = "auto", n_ensemble: int = 5, blend_forest: float = 0.25,
                 choose_blend: bool = True, forest: str = "statistics", forest_curve: bool = False, forest_trees: int = 300, fold_repeats: bool = True,
                 random_state: int | None = 0,
                 device: str = "auto", n_threads: int | None = 1, n_jobs: int | None = None,
                 progress: bool = False):
        self.budget = budget
        self.conv = conv
        self.direction = direction
        self.hidden = hidden
        self.layers = layers
        self.curve_hidden = curve_hidden
        self.curve_mode = curve_mode
        self.dropout = dropout
        self.curve_raw = curve_raw
        self.rank_weight = rank_weight
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.patience = patience
        self.val_fraction = val_fraction
        self.batch_size = batch_size
        self.n_ensemble = n_ensemble
        self.blend_forest = blend_forest
        self.choose_blend = choose_blend
        self.forest = forest
        self.forest_curve = forest_curve
        self.forest_trees = forest_trees
        self.fold_repeats = fold_repeats
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads
        self.n_jobs = n_jobs
        self.progress = progress

    # --- checks and inputs ---

    def _check_params(self) -> None:
        check_params(self)

    def _device(self) -> str:
        try:
            return resolve_device(self.device)
        except NaapgnnError as exc:
            raise NaapgnnError(f"GNNPredictor: device {self.device!r}: {str(exc).split(': ', 1)[-1]}") from None

    def _seed(self) -> int:
        """``random_state``, or a fresh seed when it is None."""
        if self.random_state is None:
            return int(np.random.default_rng().integers(2**31 - 1))
        return int(self.random_state)

    def _inputs(self, records, graphs=None, seen=None):
        """Standardised tensors of ``records``: (PyG Batch, curve, hparams); ``graphs``: their batch and ``seen``
        the records as seen at the budget (:meth:`_seen`), if already built."""
        import copy

        import torch

        # a shallow copy: standardising replaces x and graph_attr, so ``graphs`` stays as it was
        g = self.encode_batch(records) if graphs is None else copy.copy(graphs)
        g.x = ((g.x - self.node_mean_) / self.node_std_)[:, node_columns(self.folds_, self.extension_types_)]
        g.graph_attr = (g.graph_attr - self.attr_mean_) / self.attr_std_
        curve = (self._curve(records, seen) - self.curve_mean_) / self.curve_std_
        hp = (self._hparams(records) - self.hparam_mean_) / self.hparam_std_
        return g, torch.tensor(curve, dtype=torch.float32), torch.tensor(hp, dtype=torch.float32)

    def _hparams(self, records, fill: bool = True) -> np.ndarray:
        from naapgnn.features.hparams import hparam_inputs

        out = hparam_inputs(records, self.hparam_names_, self.hparam_log_)
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
        try:
            self._check_params()  # n_threads is read first
            with cpu_threads(self.n_threads):
                return self._fit(X, y)
        except BaseException as exc:
            self.__dict__.pop("fitted_params_", None)  # what an earlier fit left is no model of these params
            raise_if_out_of_memory(exc, self)
            raise

    def _fit(self, X, y):
        import torch

        from naapgnn.data import configurations, digest
        from naapgnn.features.hparams import hparam_reading, training_mean

        self._check_params()
        records = as_records(X)
        y = targets_of(records, y, "GNNPredictor")
        seed = self._seed()
        self.remember_params()
        check_training_targets(y)
        curve, seen = self._fit_curve_state(records)
        self.hparam_names_, self.hparam_log_ = hparam_reading(records)

        raw = self._graphs(X, records, fold=self.fold_repeats)
        self.folds_ = self.fold_repeats and bool(raw.x[:, -1].any())
        self.extension_types_ = extension_types_in(raw.x)
        self.node_mean_, self.node_std_ = (torch.tensor(a, dtype=torch.float32)
                                           for a in mean_and_scale(raw.x.numpy()))
        self.attr_mean_, self.attr_std_ = (torch.tensor(a, dtype=torch.float32)
                                           for a in mean_and_scale(raw.graph_attr.numpy()))
        hp = self._hparams(records, fill=False)
        self.hparam_mean_ = training_mean(hp)  # 0 for a column no record gives
        hp = np.where(np.isnan(hp), self.hparam_mean_, hp)
        _, self.hparam_std_ = mean_and_scale(hp)
        self.y_mean_, self.y_std_ = float(y.mean()), float(y.std()) or 1.0
        # columns zero throughout training (no repeated block, no node of a type added since v4) are not read
        self.node_dim_ = len(node_columns(self.folds_, self.extension_types_))
        self.attr_dim_, self.hparam_dim_ = int(raw.graph_attr.shape[1]), int(hp.shape[1])
        self.curve_dim_ = 0 if self.curve_mode == "stack" else int(curve.shape[1])

        device = self._device()
        g, curve_t, hp_t = self._inputs(records, raw, seen)
        data = (g.to(device), curve_t.to(device), hp_t.to(device))
        target = torch.tensor((y - self.y_mean_) / self.y_std_, dtype=torch.float32, device=device)
        self.members_, self.best_epochs_ = [], []
        oof = np.full(len(records), np.nan)  # by the member that held each record out
        bar = progress_bar(self.progress, int(self.n_ensemble) * int(self.max_epochs))
        try:
            groups = configurations.held_out_groups(records)  # also the forest's and the gate's hold-outs
            vals = validation_sets(len(records), int(self.n_ensemble), self.val_fraction, seed, groups)
            seeds = [seed * 1009 + m for m in range(len(vals))]
            for val, (model, epoch, held) in zip(vals, train_members(self._new_model, seeds, vals, data, target,
                                                                     self, bar, self.n_jobs)):
                oof[val] = held
                self.members_.append(model)
                self.best_epochs_.append(epoch)
        finally:
            bar.close()
        self.oof_prediction_ = oof * self.y_std_ + self.y_mean_
        self.training_digest_, self.training_ids_ = digest.training_digest(records, y), [r.id for r in records]
        self.training_configurations_ = configurations.configuration_keys(records)
        statistics = self._statistics(raw)
        self.forest_ = self._fit_forest(records, y, raw, hp, seed, statistics, groups=groups)
        self.blend_share_, self.blend_scores_ = self._choose_share(y)
        self._fit_curve_stack(records, y, raw, curve, hp, statistics, seen, groups=groups)
        return self

    def _new_model(self):
        from naapgnn.models.network import AccuracyModel

        return AccuracyModel(self.node_dim_, self.attr_dim_, self.curve_dim_, self.hparam_dim_, hidden=int(self.hidden),
                             layers=int(self.layers), conv=self.conv, direction=self.direction,
                             dropout=float(self.dropout), curve_hidden=int(self.curve_hidden))

    # --- predict ---

    def remember_params(self) -> None:
        """Note the hyperparameters the fitted state is for (``fitted_params_``): predicting refuses others; a
        checkpoint saves all of them as they were (``training_params_``), whatever set_params changed since."""
        self.fitted_params_ = {name: getattr(self, name) for name in READ_AT_PREDICTION}
        self.training_params_ = self.get_params(deep=False)

    def _check_fitted(self, ignore: tuple = ()) -> None:
        """NotFittedError before a fit; a one-line error when a hyperparameter it read (but ``ignore``) changed."""
        check_is_fitted(self, "members_", msg="GNNPredictor: not fitted yet (call fit or GNNPredictor.load)")
        check_unchanged(self, ignore)

    def predict(self, X, return_std: bool = False):
        """Predicted final accuracy.

        Parameters
        ----------
        X : list of Record, architectures, record dicts, or a NAAP-440 DataFrame
        return_std : bool
            Also return the uncertainty: the module docstring's spread times
            ``std_scale_`` (+-2 std holds 95% of held-out targets), at most 0.5 (an accuracy's largest).

        Returns
        -------
        numpy.ndarray of shape (n,), or a tuple (mean, std) of two
            Accuracies clipped to [0, 1] (:meth:`domain_report` names those clipped or outside the training domain).
        """
        parts = self.predict_parts(records := as_records(X))
        self.warn_read_as_training_mean(records)
        return self.predict_from_parts(parts, return_std)

    def predict_from_parts(self, parts: dict, return_std: bool = False):
        """:meth:`predict` (same ``return_std`` and return value) from ``parts``, the :meth:`predict_parts` of the
        records already computed (the CLI reuses them for :meth:`domain_report` instead of predicting twice)."""
        _, std = blend(parts["gnn"], parts["gnn_std"], parts["forest"], float(self.blend_share_))
        mean = np.clip(parts["mean"], 0.0, 1.0)
        return (mean, np.minimum(std * self.std_scale_, MAX_STD)) if return_std else mean

    def predict_parts(self, X, graphs=None) -> dict:
        """The parts of :meth:`predict`: the graph network's, the forest's, and their stacked blend.

        Parameters
        ----------
        X : list of Record, architectures, record dicts, or a NAAP-440 DataFrame
        graphs : torch_geometric.data.Batch, optional
            :meth:`encode_batch` of ``X`` when the caller has it (left unchanged).

        Returns
        -------
        dict
            ``gnn``: the ensemble mean (graph only, before the blend and the
            curve stack), ``gnn_std``: the members' spread, ``forest``: the
            blended forest's prediction (None when ``blend_forest`` is 0; with
            the per-layer forest NaN for an architecture deeper than it reads,
            which gets the GNN alone), ``mean``: the members' mean of their blend with
            the forest after the curve stack (unclipped).
        """
        with cpu_threads(self.n_threads):
            return self._predict_parts(X, graphs)

    def _predict_parts(self, X, graphs):
        import torch

        from naapgnn.models.network import predict_members

        self._check_fitted()
        self.refuse_unlogged_channels(records := as_records(X))
        with torch.no_grad():
            device = self._device()
            raw = self._graphs(X, records) if graphs is None else graphs
            forest_reads = self.forest_ is not None and self.forest == "statistics"
            statistics = self._statistics(raw) if self._stack_reads("statistics") or forest_reads else None
            seen = self._seen(records)
            g, curve, hp = self._inputs(records, raw, seen)
            curve = self._lacking_at_mean(curve, seen)
            g, curve, hp = g.to(device), curve.to(device), hp.to(device)
            preds = predict_members([m.to(device) for m in self.members_], g, curve, hp).cpu().numpy()
            for m in self.members_:
                m.cpu()
        members = preds.astype(float) * self.y_std_ + self.y_mean_
        forest = self._forest_prediction(records, raw, self._hparams(records), statistics)
        graph = (self._blend(members, forest) - self.y_mean_) / self.y_std_
        values = self._curve_values(records, seen) if self._stack_reads("values") else None  # svr_values only
        stacked = apply_stack(graph, curve.cpu().numpy().astype(float), hp.cpu().numpy().astype(float),
                              statistics, self._stack(), values)  # member by member
        return {"gnn": members.mean(axis=0), "gnn_std": members.std(axis=0), "forest": forest,
                "mean": stacked.mean(axis=0) * self.y_std_ + self.y_mean_}

    # --- persistence ---

    def save(self, path) -> Path:
        """Write a checkpoint folder (see :mod:`naapgnn.models.checkpoint`); returns its path.

        The folder is written beside ``path`` first and renamed into place, so
        an interrupted save leaves any previous checkpoint intact.
        """
        self._check_fitted()
        return checkpoint.save(self, path)

    @classmethod
    def load(cls, path, device: str | None = None) -> "GNNPredictor":
        """The fitted GNNPredictor of a checkpoint folder written by :meth:`save`, predicting as the saved one did;
        ``device`` (``"cpu"``, ``"cuda"``) overrides the one it was saved with. A checkpoint that does not fit this
        code is refused in one line (NaapgnnError) saying why."""
        return checkpoint.load(cls, path, device)


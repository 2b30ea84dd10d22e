"""The search problem: architectures whose final accuracy and curve are known, and the predictors that guide a search.

"Training" an architecture means reading its final accuracy and costs one
full training: its run's length, :attr:`SearchProblem.run_epochs` (90 for
every NAAP-440 record; shorter for a run that stopped early, whose curve the
loader carried to the longest, :attr:`SearchProblem.full_epochs`); reading
the first ``k`` epochs costs ``k`` epochs (at most the run's length).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from naapgnn.data.channels import check_full_epochs, run_lengths
from naapgnn.errors import NaapgnnError

PREDICTORS = ("forest", "gnn", "baker", "baker_rf")
# The lighter GNN used inside repeated simulations: 3 ensemble members, 100 trees in the blended
# forest, one torch thread (on a busy CPU, more threads made small fits ~50x slower).
GNN_FAST = {"n_ensemble": 3, "forest_trees": 100, "n_threads": 1, "progress": False}
# The per-layer forest of the simulations: fewer trees than the baseline's 300, and no parallel
# trees (the simulations already run many fits).
FOREST_FAST = {"n_estimators": 64, "n_jobs": 1}


RANK_SHARES = (0.001, 0.01, 0.05)  # top 0.1%, 1%, 5% (with the best: the rank targets of the reports)
ID_PREFIXES = {"nb201-": "NAS-Bench-201", "deep-resnets-": "the deep ResNets"}  # benchmark names by record id


def rank_targets(n: int) -> list[tuple[int, str]]:
    """The ranks a search is judged on, with their labels: the best, then the top 0.1%, 1% and 5% of
    ``n`` (``ceil(share * n)``; a share whose rank is 1 is the best itself): ``[(1, "the best"),
    (5, "top 5 (1%)"), (22, "top 22 (5%)")]`` for NAAP-440's 440."""
    targets = [(1, "the best")]
    for share in RANK_SHARES:
        rank = math.ceil(share * n - 1e-9)
        if rank > targets[-1][0]:
            targets.append((rank, f"top {rank} ({100 * share:g}%)"))
    return targets


def headline_rank(n: int) -> tuple[int, str]:
    """The smallest rank target above the best (top 1% of NAAP-440, top 0.1% of NAS-Bench-201)."""
    targets = rank_targets(n)
    return targets[1] if len(targets) > 1 else targets[0]


def ranks_of(accuracy: np.ndarray) -> np.ndarray:
    """Rank of each accuracy: 1 + the number of strictly better ones (ties share a rank)."""
    accuracy = np.asarray(accuracy, dtype=float)
    ordered = np.sort(accuracy)
    return len(accuracy) - np.searchsorted(ordered, accuracy, side="right") + 1


@dataclass(eq=False)
class SearchProblem:
    """Architectures with known final accuracy and training curve.

    Attributes
    ----------
    records : list of Record
        One per architecture, each with a ``target`` and (for early stopping)
        an accuracy curve.
    accuracy : numpy.ndarray
        Final accuracy of each record (its ``target``).
    schemes : list
        The NAAP-440 scheme of each record (None where the architecture is a
        layer graph; evolution then cannot run).
    ranks : numpy.ndarray
        :func:`ranks_of` ``accuracy``.
    full_epochs : int
        Epochs of the longest full training: the longest curve of the records
        (0 when they have none; early stopping then cannot run). Budgets are
        checked against it.
    run_epochs : numpy.ndarray
        Epochs of each record's own full training (ints): its
        ``Record.stopped_at`` when its run stopped early (its curve carried to
        the longest by :func:`naapgnn.data.channels.carry_stopped_runs`), else
        the length of its curve. Training everything costs their sum,
        :attr:`all_epochs`.
    neighbours : list or None
        Evolution's neighbour table (see :mod:`naapgnn.search.neighbours`);
        None: found by :func:`naapgnn.search.neighbours.neighbours_of` when
        evolution first needs it.
    name : str
        How reports name the benchmark.
    training_epochs : int or None
        Epochs of a full training when the curves hold only the first epochs of longer runs (``--full-epochs``;
        at least the longest curve): :attr:`full_epochs`, and the cost of every run that did not stop early.
        None: the curves are full trainings.
    """

    records: list
    neighbours: list | None = None
    name: str = "the benchmark"
    training_epochs: int | None = None
    accuracy: np.ndarray = field(init=False)
    schemes: list = field(init=False)
    ranks: np.ndarray = field(init=False)
    full_epochs: int = field(init=False)
    run_epochs: np.ndarray = field(init=False)
    _seen_at: dict = field(init=False, default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        self.records = list(self.records)
        if len(self.records) < 2:
            raise NaapgnnError(f"search needs at least 2 architectures with a target, got {len(self.records)}")
        missing = [r.id for r in self.records if r.target is None]
        if missing:
            raise NaapgnnError(f"record {missing[0]!r}: no target (final accuracy); search needs every target")
        self.accuracy = np.array([r.target for r in self.records], dtype=float)
        self.schemes = [r.arch.scheme for r in self.records]
        self.ranks = ranks_of(self.accuracy)
        longest = max(r.num_epochs for r in self.records)
        check_full_epochs(self.training_epochs, longest)
        self.full_epochs = self.training_epochs or longest
        self.run_epochs = np.array(run_lengths(self.records, self.training_epochs), dtype=int)

    @property
    def n(self) -> int:
        return len(self.records)

    @property
    def best(self) -> float:
        return float(self.accuracy.max())

    @property
    def all_epochs(self) -> int:
        """Epochs of training every record to its end: the sum of :attr:`run_epochs` (``full_epochs * n`` when
        every run went the full length)."""
        return int(self.run_epochs.sum())

    @property
    def equal_runs(self) -> bool:
        """Whether every record's run went the full length (:attr:`full_epochs` epochs each)."""
        return bool((self.run_epochs == self.full_epochs).all())

    def fingerprint(self) -> str:
        """A digest of the records (:func:`naapgnn.data.digest.records_digest`, as the evaluation's caches key
        theirs): a resumed search reuses only trials of the same data. Early stops need no place in it: the
        early-stop study keys its trials on the runs' lengths too."""
        from naapgnn.data.digest import records_digest

        return records_digest(self.records, self.accuracy, [r.split == "test" for r in self.records])

    def records_at(self, budget: int) -> list:
        """The records as runs stopped after ``budget`` epochs read them (:func:`naapgnn.data.gaps.as_seen_at`;
        worked out once per budget: the predictor's inputs and the stopping curve both read them)."""
        from naapgnn.data.gaps import as_seen_at

        if budget not in self._seen_at:
            self._seen_at[budget] = as_seen_at(self.records, budget)
        return self._seen_at[budget]

    def stopping_curve(self, budget: int) -> np.ndarray:
        """Epochs ``1..budget`` of the records' accuracy, or of the channel standing in for it
        (:func:`naapgnn.features.curves.ranking_channel`; a loss negated), as an ``(n, budget)`` array, read as
        runs stopped there read them (:meth:`records_at`)."""
        from naapgnn.features.curves import check_logged, ranking_channel

        channel, sign = ranking_channel(self.records)
        records = self.records_at(budget)
        for r in records:
            if len(r.curve[channel]) < budget:
                raise NaapgnnError(f"record {r.id!r}: {channel!r} has {len(r.curve[channel])} epochs, "
                                   f"budget needs {budget}")
            check_logged(r, budget, channel)
        return sign * np.array([r.curve[channel][:budget] for r in records], dtype=float)

    def check_budget(self, budget: int, option: str = "--budget") -> None:
        """Fail with one line unless ``budget`` leaves epochs to save (``1..full_epochs - 1``)."""
        from naapgnn.data.channels import late_logs

        if self.full_epochs == 0:
            raise NaapgnnError(f"{option}: early stopping needs training curves; these records have none")
        if self.full_epochs == 1:
            raise NaapgnnError(f"{option}: early stopping needs a budget shorter than a full training, and these "
                               "curves hold 1 epoch; if they are the first epoch of longer runs, give --full-epochs N")
        if not 1 <= budget < self.full_epochs:
            full = "a full training is" if self.equal_runs else "the longest training is"
            raise NaapgnnError(f"{option}: early stopping needs 1..{self.full_epochs - 1} epochs "
                               f"({full} {self.full_epochs}), got {budget}")
        shorter = [r for r in self.records if r.num_epochs < budget]
        if shorter:
            short = min(shorter, key=lambda r: r.num_epochs)
            where = f"line {short.line}, " if short.line else ""
            raise NaapgnnError(f"{option}: {budget} epoch{'s' * (budget != 1)}, but record {short.id!r} ({where}the "
                               f"shortest) has only {short.num_epochs} epochs of curve, and {len(shorter)} of the "
                               f"{len(self.records)} records fewer than {budget}; early stopping reads every "
                               "candidate's first epochs")
        late = late_logs(self.records, budget)
        if late:
            record, channel, epoch = late[0]
            raise NaapgnnError(f"{option}: {budget} epochs, but record {record.id!r} logs {channel!r} first at "
                               f"epoch {epoch}")


def load_problem(source: str | Path | None = None, target_scale: str = "fraction",
                 full_epochs: int | None = None) -> SearchProblem:
    """The search problem of a NAAP-440 folder (default location if None) or a benchmark file
    (targets read as ``target_scale``; ``full_epochs``: :attr:`SearchProblem.training_epochs`)."""
    from naapgnn.data.records import load_benchmark

    records = load_benchmark(source, target_scale=target_scale,
                             need_target="search needs every final accuracy; remove the records without one")
    return SearchProblem(records, name=benchmark_name(source, records), training_epochs=full_epochs)


def benchmark_name(source: str | Path | None, records: list) -> str:
    """NAAP-440 for its folder; a known benchmark by its record ids; else the file's name."""
    if source is None or Path(source).is_dir():
        return "NAAP-440"
    for prefix, name in ID_PREFIXES.items():
        if records and all(r.id.startswith(prefix) for r in records):
            return name
    return Path(source).name


def best_so_far(accuracy: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Best accuracy found after 1, 2, ... trainings."""
    return np.maximum.accumulate(np.asarray(accuracy)[order])


def trainings_to_rank(ranks: np.ndarray, order: np.ndarray, rank: int) -> int | None:
    """Trainings until an architecture of rank ``<= rank`` has been trained (None if never)."""
    hits = np.flatnonzero(np.asarray(ranks)[order] <= rank)
    return int(hits[0]) + 1 if len(hits) else None


# --- predictors -----------------------------------------------------------------------------


def make_predictor(kind: str | Callable, budget: int, random_state: int, fast: bool = True, **params):
    """A fresh, unfitted predictor from :mod:`naapgnn.models.registry`.

    Parameters
    ----------
    kind : "forest", "gnn" or a callable ``(budget, random_state) -> estimator``
        "forest": :class:`naapgnn.models.forest.PerLayerForest` (registry key
        ``forest``; at ``budget > 0`` with ``curve="gain"``: the trees read the
        cycle curve features and predict the gain over the best epoch so far);
        the spread of its trees is the uncertainty. "gnn":
        :class:`naapgnn.models.gnn.GNNPredictor`, the spread of its ensemble.
        "baker", "baker_rf": Baker et al. 2018's nu-SVR (spread of its CV
        folds' models) or random forest (``baselines``, through the registry).
    budget : int
        Epochs of curve the predictor reads.
    random_state : int
    fast : bool
        The lighter settings of repeated simulations (:data:`FOREST_FAST`,
        :data:`GNN_FAST`).
    **params
        Extra constructor arguments (override the fast settings).
    """
    from naapgnn.models import registry

    if callable(kind):
        return kind(budget, random_state)
    if kind == "forest":
        params = {**(FOREST_FAST if fast else {}), **params}
        forest = registry.create("forest", budget=0, random_state=random_state, **params)
        # The registry's budget-k forest stacks a ridge on the curve; the simulations' trees read the curve
        # themselves and predict the gain over the best epoch so far (the same model, another setting).
        return forest.set_params(budget=budget, curve="gain") if budget else forest
    if kind == "gnn":
        return registry.create("gnn", budget=budget, random_state=random_state,
                               **{**(GNN_FAST if fast else {}), **params})
    if kind in PREDICTORS:  # another registry predictor with an uncertainty, e.g. "baker" (Baker et al. 2018)
        return registry.create(kind, budget=budget, random_state=random_state, **params)
    raise NaapgnnError(f"unknown predictor {kind!r} (expected {', '.join(PREDICTORS)})")


def predictor_name(kind: str | Callable) -> str:
    """How a predictor is named in a study's settings (and its resume keys)."""
    return kind if isinstance(kind, str) else getattr(kind, "__name__", "custom")


def predictor_inputs(predictor, records: list):
    """What the predictor is fed: its features computed once, or the records."""
    return predictor.featurize(records) if hasattr(predictor, "featurize") else records


def predict_with_std(model, X) -> tuple[np.ndarray, np.ndarray]:
    """The model's mean and standard deviation, as flat float arrays."""
    mean, std = model.predict(X, return_std=True)
    return np.asarray(mean, dtype=float).ravel(), np.asarray(std, dtype=float).ravel()

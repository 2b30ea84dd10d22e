"""The one registry of predictors: a name -> how to build it.

Every caller that needs a predictor by name (``naapgnn evaluate``,
``naapgnn baselines``, ``naapgnn search``, the report scripts) asks here.
naapgnn registers its own predictors below; other packages (``baselines``,
with the paper's regressors) add theirs through the ``naapgnn.predictors``
entry-point group, loaded the first time a name is not found, so naapgnn never
imports them.

An estimator built by :func:`create` follows scikit-learn's contract:
``fit(X, y)``, ``predict(X)`` (``predict(X, return_std=True)`` where
``Entry.has_std``), where ``X`` is a list of :class:`naapgnn.data.records.Record`,
or, when the entry has a ``featurize``, what that returns for those records
(so a study featurizes a benchmark once and fits many times).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Callable

from naapgnn.errors import NaapgnnError

ENTRY_POINT_GROUP = "naapgnn.predictors"


@dataclass(frozen=True)
class Entry:
    """How to build one named predictor.

    Attributes
    ----------
    key : str
        The name (command lines, results files, cache keys).
    label : str
        The name in reports and figures.
    kind : {"gnn", "baseline", "heuristic", "zero_cost"}
    factory : callable
        ``factory(budget=k, random_state=seed, **params)`` -> an unfitted estimator.
    featurize : callable or None
        ``featurize(bench, budget)`` -> the estimator's ``X`` for every row of
        ``bench`` (an object with ``records`` and ``table``, such as
        :class:`naapgnn.evaluation.benchmark.Benchmark`); computed once per
        benchmark and budget and shared by every entry with the same function.
        None: ``bench.records``.
    min_budget, max_budget : int
        Epochs of curve it applies to (``max_budget`` None: any).
    seeded : bool
        Whether the seed can change its result (unseeded ones run once per split).
    has_std : bool
        Whether ``predict(X, return_std=True)`` gives an uncertainty.
    zero_cost : bool
        It reads zero-cost scores: ``featurize(bench, budget, scores)`` also
        receives the run seed's finite scores (``{name: array}``).
    score_only : bool
        ``predict`` gives a score that only ranks; the MAE reads ``predict_accuracy``.
    config : dict
        Settings that identify its results (recorded in cache keys).
    channels : tuple of str
        Curve channels it reads at budgets >= 1 (``naapgnn evaluate`` leaves it
        out there on a benchmark whose records do not all have them).
    cycle : int or None
        The period of the cyclic learning rate whose cycle ends it reads (3:
        NAAP-440's recipe); it is left out at budgets >= 1 the same way unless
        every record's ``lr`` channel repeats with that period: never assumed
        of a benchmark that does not declare it.
    reads_accuracy : bool
        It reads the channel that holds the accuracy, whatever its name
        (:func:`naapgnn.data.channels.target_channel`); left out at budgets
        >= 1 the same way on a benchmark without one.
    nb201_cells : bool
        It reads NAS-Bench-201 cells (:func:`naapgnn.data.nb201_cells.cell_from_network`); ``evaluate`` leaves it
        out, at every budget, on a benchmark with a record that is not such a network.
    """

    key: str
    label: str
    kind: str
    factory: Callable[..., Any]
    featurize: Callable[..., Any] | None = None
    min_budget: int = 0
    max_budget: int | None = None
    seeded: bool = True
    has_std: bool = False
    zero_cost: bool = False
    score_only: bool = False
    config: dict = field(default_factory=dict)
    channels: tuple = ()
    cycle: int | None = None
    reads_accuracy: bool = False
    nb201_cells: bool = False

    def applies(self, budget: int) -> bool:
        return budget >= self.min_budget and (self.max_budget is None or budget <= self.max_budget)


CYCLE_CHANNELS = ("accuracy", "loss_mean")
"""What the cycle-aligned forest reads (:func:`naapgnn.features.tabular.cycle_features`)."""
PAPER_CHANNELS = ("accuracy", "loss_mean", "loss_median")
"""What the paper's regressors read (:func:`naapgnn.features.tabular.paper_features`)."""

_ENTRIES: dict[str, Entry] = {}
_plugins_loaded = False


def register(entry: Entry, replace: bool = False) -> Entry:
    """Add ``entry`` under ``entry.key`` (a second entry of the same key is refused unless ``replace``)."""
    if entry.key in _ENTRIES and not replace:
        raise NaapgnnError(f"predictor {entry.key!r} is already registered")
    _ENTRIES[entry.key] = entry
    return entry


def get(key: str) -> Entry:
    """The registry entry of one predictor.

    Parameters
    ----------
    key : str
        Its name (:func:`available`).

    Returns
    -------
    Entry
        What it reads and the budgets it applies to, and its factory.

    Raises
    ------
    NaapgnnError
        For an unknown name, one line listing the known ones.
    """
    if key not in _ENTRIES:
        _load_plugins()
    if key not in _ENTRIES:
        raise NaapgnnError(f"unknown predictor {key!r} (known: {', '.join(available())})")
    return _ENTRIES[key]


def available() -> list[str]:
    """Every registered predictor name, plugins included.

    Returns
    -------
    list of str
        In registration order.
    """
    _load_plugins()
    return list(_ENTRIES)


def create(key: str, budget: int = 0, random_state: int | None = 0, **params) -> Any:
    """An unfitted estimator of one predictor.

    Parameters
    ----------
    key : str
        Its name (:func:`available`).
    budget : int
        Epochs of curve it reads (0: none); refused outside the budgets the predictor applies to.
    random_state : int, optional
        Its seed, where it draws.
    **params
        Its other hyperparameters.

    Returns
    -------
    object
        A scikit-learn estimator with ``fit`` and ``predict`` (a zero-cost score's also has ``predict_accuracy``).
    """
    entry = get(key)
    if isinstance(budget, bool) or not isinstance(budget, numbers.Integral) or budget < 0:
        raise NaapgnnError(f"predictor {key!r}: budget must be a non-negative integer (epochs), got {budget!r}")
    if not entry.applies(budget):
        top = "any" if entry.max_budget is None else entry.max_budget
        raise NaapgnnError(f"predictor {key!r} applies to budgets {entry.min_budget}..{top}, not {budget}")
    try:
        return entry.factory(budget=budget, random_state=random_state, **params)
    except TypeError as exc:  # a keyword the estimator does not take, or one its entry sets itself
        detail = str(exc).split(") ", 1)[-1]
        raise NaapgnnError(f"predictor {key!r}: {detail} (the entry sets its model and budget itself; "
                           "see its estimator's parameters)") from None


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        point.load()(register)


# --- naapgnn's own predictors ---------------------------------------------------------------


def _gnn(budget, random_state, **params):
    from naapgnn.models.gnn import GNNPredictor

    return GNNPredictor(budget=budget, random_state=random_state, **params)


def _encoded_records(bench, budget):
    """Every record with its graph encoded once (the GNN's default folding), for all the fits of a study."""
    from naapgnn.models.gnn import GNNPredictor

    return GNNPredictor().featurize(bench.records)


def _records_with_scores(bench, budget, scores):
    from naapgnn.models.zero_cost import with_scores

    return with_scores(bench.records, scores)


def forest_factory(curve: bool):
    def make(budget, random_state, **params):
        from naapgnn.models.forest import PerLayerForest

        return PerLayerForest(budget=budget, curve=curve, random_state=random_state, **params)

    return make


def per_layer_table(bench, budget):
    """The per-layer forest's features of every row (architecture only)."""
    from naapgnn.models.forest import PerLayerForest

    return PerLayerForest().featurize(bench.table)


def per_layer_cycle_table(bench, budget):
    """The per-layer features with the cycle-aligned curve features of ``budget`` epochs."""
    from naapgnn.models.forest import PerLayerForest

    return PerLayerForest(budget=budget, curve=True).featurize(bench.table)


def _per_layer_with_scores(bench, budget, scores):
    import pandas as pd

    arch = per_layer_table(bench, 0)
    return pd.concat([arch.reset_index(drop=True), pd.DataFrame({f"zc_{k}": v for k, v in scores.items()})], axis=1)


def _heuristic(params: dict):
    def make(budget, random_state, final_epoch="full", **_):
        from naapgnn.models.heuristics import CurveHeuristic

        return CurveHeuristic(budget=budget, final_epoch=final_epoch, **params)

    return make


def _table(bench, budget):
    return bench.table


def _score_line(budget, random_state, **_):
    from naapgnn.models.score_line import ScoreLine

    return ScoreLine()


def _score_column(name: str):
    def featurize(bench, budget, scores):
        return scores[name].reshape(-1, 1)

    return featurize


HEURISTIC_LABELS = {
    "last": "Last observed accuracy", "best": "Best accuracy so far",
    "power_law": "Power-law extrapolation", "exponential": "Exponential extrapolation",
    "power_law_cycle": "Power law on cycle ends", "exponential_cycle": "Exponential on cycle ends",
}


def _register_own() -> None:
    from naapgnn.features.tabular import CYCLE_LENGTH
    from naapgnn.models.heuristics import HEURISTICS, min_budget

    register(Entry("gnn", "GNN", "gnn", _gnn, featurize=_encoded_records, has_std=True))
    register(Entry("gnn+zero_cost", "GNN + NASWOT/synflow inputs", "gnn", _gnn, featurize=_records_with_scores,
                   max_budget=0, has_std=True, zero_cost=True, config={"zero_cost": True}))
    register(Entry("forest", "Per-layer random forest", "baseline", forest_factory(False), featurize=per_layer_table,
                   max_budget=0, has_std=True, config={"baseline": "Per-layer Random Forest"}))
    register(Entry("forest+cycle", "Per-layer forest + cycle curve features", "baseline", forest_factory(True),
                   featurize=per_layer_cycle_table, min_budget=1, has_std=True,
                   config={"baseline": "Per-layer Random Forest + cycle"}, channels=CYCLE_CHANNELS, cycle=CYCLE_LENGTH))
    register(Entry("forest+zero_cost", "Per-layer forest + NASWOT/synflow inputs", "baseline", forest_factory(False),
                   featurize=_per_layer_with_scores, max_budget=0, has_std=True, zero_cost=True,
                   config={"forest": "per_layer", "zero_cost": True}))
    for name, params in HEURISTICS.items():
        register(Entry(f"curve_{name}", HEURISTIC_LABELS[name], "heuristic", _heuristic(params), featurize=_table,
                       min_budget=min_budget(params["method"], params.get("cycle")), seeded=False,
                       config={"heuristic": params}, reads_accuracy=True, cycle=params.get("cycle")))
    for score, label in (("naswot", "NASWOT score (zero-cost)"), ("synflow", "SynFlow score (zero-cost)")):
        register(Entry(score, label, "zero_cost", _score_line, featurize=_score_column(score), max_budget=0,
                       zero_cost=True, score_only=True, config={"score": score}))


_register_own()

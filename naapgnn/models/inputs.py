"""What :class:`naapgnn.models.gnn.GNNPredictor` accepts: ``X`` turned into records, and its hyperparameters checked."""
from __future__ import annotations

import numpy as np

from naapgnn.errors import NaapgnnError, TooFewRecordsError

CURVE_MODES = ("network", "stack", "both")
FOREST_KINDS = ("statistics", "per_layer")  # the blended forest (naapgnn.models.blended_forest)
# what a prediction reads of the hyperparameters: changed after fit (set_params) they no longer fit the fitted state
READ_AT_PREDICTION = ("budget", "curve_mode", "curve_raw", "blend_forest", "forest", "forest_curve", "fold_repeats",
                      "conv", "direction", "hidden", "layers", "curve_hidden")
MAX_SEED = 2**32 - 1  # the largest random_state scikit-learn's forests take
FLOAT32_MAX = 3.4028234663852886e38  # the largest factor the float32 training arithmetic holds

__all__ = ["as_records", "check_params", "raise_if_out_of_memory", "check_training_targets", "check_unchanged",
           "READ_AT_PREDICTION", "RecordsScoreMixin", "EncodedRecords", "EncodingMixin", "take",
           "extension_types_in", "node_columns", "statistic_columns"]


def take(X, idx):
    """Rows ``idx`` of an estimator input: an array, a table, :class:`EncodedRecords` or a list."""
    if isinstance(X, np.ndarray):
        return X[idx]
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    if isinstance(X, EncodedRecords):
        return X.subset(idx)
    return [X[i] for i in idx]


class EncodedRecords:
    """Records with their graphs encoded once (:meth:`naapgnn.models.gnn.GNNPredictor.featurize`).

    A study that fits many GNNs on parts of one benchmark (sample efficiency, a search replay) encodes
    every network once and hands each fit and prediction its rows: ``subset(idx)`` selects records and
    graphs together, with tensor operations. The GNN reads ``graphs`` instead of encoding its records
    again when they were encoded as it reads them (``fold``); otherwise it encodes them itself.

    Parameters
    ----------
    records : list of Record
    graphs : torch_geometric.data.Batch
        The records' unstandardised graphs, in order (:func:`naapgnn.models.network.batch_architectures`).
    fold : bool
        Whether ``graphs`` are folded.
    """

    def __init__(self, records: list, graphs, fold: bool):
        if len(records) != graphs.num_graphs:
            raise NaapgnnError(f"EncodedRecords: {len(records)} records but {graphs.num_graphs} graphs")
        self.records = records
        self.graphs = graphs
        self.fold = fold

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def __getitem__(self, i):
        return self.records[i]

    def subset(self, idx) -> "EncodedRecords":
        """Rows ``idx`` (in that order), records and graphs."""
        from naapgnn.models.ensemble import select_graphs

        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        return EncodedRecords([self.records[i] for i in idx], select_graphs(self.graphs, idx), self.fold)


class _ReadRecords(list):
    """A list :func:`as_records` built: an estimator's later steps of one call read it again without checking it
    again (one call, one warning)."""


def as_records(X, who: str = "GNNPredictor") -> list:
    """Turn estimator input into a list of :class:`naapgnn.data.records.Record`.

    Accepts a NAAP-440 DataFrame (with its ``scheme`` column), or a sequence
    of records, :class:`naapgnn.arch.format.Architecture` objects, schemes, layer
    graphs or JSON Lines record dicts (with an ``"arch"`` key), or one such item. Items that are
    not records get their position as id. ``who`` names the estimator in error messages.
    """
    from naapgnn.arch.format import parse_architecture
    from naapgnn.data.records import Record, record_from_dict, records_from_naap440

    if isinstance(X, _ReadRecords):
        return _ReadRecords(X)
    if hasattr(X, "columns") and hasattr(X, "iloc"):
        if "scheme" not in X.columns:
            raise NaapgnnError(f"{who}: the table has no 'scheme' column (use naapgnn.data.naap440.load_naap440)")
        return _ReadRecords(records_from_naap440(X))
    if _one_network(X):
        X = [X]
    if isinstance(X, EncodedRecords):
        out = _ReadRecords(X.records)
        _check_finite_curves(out, who)
        return out
    if X is None or isinstance(X, (bytes, int, float)) or not hasattr(X, "__iter__"):
        raise NaapgnnError(f"{who}: expected records, architectures or a NAAP-440 table, got {type(X).__name__}")
    out = []
    for i, item in enumerate(X):
        if isinstance(item, Record):
            out.append(_checked_record(item, i))
        elif isinstance(item, dict) and "arch" in item:
            try:
                out.append(record_from_dict(item))
            except NaapgnnError as exc:
                null = "got None" in str(exc) or "got nan" in str(exc)
                raise NaapgnnError(f"input {i}: {exc}" + (
                    "; a record's epochs not logged are read by its file's rules: write the records with "
                    "naapgnn.data.records.write_jsonl and read them with load_benchmark" if null else "")) from None
        else:
            out.append(Record(id=str(i), arch=parse_architecture(item, source=f"input {i}")))
    if not out:
        raise NaapgnnError(f"{who}: no architectures given")
    _check_finite_curves(out, who)
    _check_units(out, who)
    return _ReadRecords(out)


def _check_units(records: list, who: str) -> None:
    """Refuse, as a file's reader does (:func:`naapgnn.data.units.mixed_units_notice`), records of one call whose
    accuracy channel mixes percentages and fractions: read by one unit, the call would read some of them 100 times
    off, and move the others' predictions through the features they share.

    Records all read from files declared in percent are counted as their readers counted them: most runs may stay
    below 1 %, dead at chance; one in fractions among them is still told by its curve against its target.
    """
    import warnings

    from naapgnn.data.units import mixed_units_notice
    from naapgnn.errors import NaapgnnWarning

    if any(len(values) for record in records for values in record.curve.values()):
        declared = all(getattr(r, "declared_percent", False) for r in records)
        notice = mixed_units_notice(records, who, [repr(r.id) for r in records], declared=declared, place="record")
        if notice:  # a quarter to a half of them never above 1.05: dead runs, or fractions among percentages
            warnings.warn(notice, NaapgnnWarning, stacklevel=3)


def _checked_record(record, i: int):
    """A :class:`naapgnn.data.records.Record` built in Python as a file's reader builds one: its ``arch`` parsed
    when given as a layer graph or scheme; a word among its ``hparams`` or a curve not 1-D refused in one line."""
    from dataclasses import replace

    from naapgnn.arch.format import Architecture, parse_architecture

    where = f"input {i} (record {record.id!r})"
    for name, value in (("curve", record.curve), ("hparams", record.hparams)):
        if not isinstance(value, dict):
            raise NaapgnnError(f"{where}: {name} is {type(value).__name__}; a Record's {name} is a dict "
                               + ("of channel name to per-epoch values ({} for none)" if name == "curve" else
                                  "of name to number ({} for none)"))
    if not isinstance(record.arch, Architecture):
        record = replace(record, arch=parse_architecture(record.arch, source=where))
    for name, value in record.hparams.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise NaapgnnError(f"{where}: hparams[{name!r}] is {value!r}; a Record's hparams are numbers, a category "
                               f"as its indicator ({{'{name}={value}': 1.0}}: naapgnn.data.hparams.parse_hparams reads "
                               "a JSON object so)")
    for channel, values in record.curve.items():
        if np.ndim(values) != 1:
            raise NaapgnnError(f"{where}: curve {channel!r} has shape {np.shape(values)}; a channel is one value "
                               "per epoch")
    return record


def _check_finite_curves(records: list, who: str) -> None:
    """Refuse a record whose curve holds a non-finite value: a file's reader fills those by its rules
    (:func:`naapgnn.data.gaps.fill_non_finite`), a record built in Python gets no such reading."""
    arrays = [values for record in records for values in record.curve.values()]
    try:  # one pass over all the values: a check per channel cost a tenth of a prediction
        if not arrays or np.isfinite(np.concatenate(arrays, axis=None)).all():
            return
    except (TypeError, ValueError):
        pass  # then the record by record look below
    for record in records:
        for channel, values in record.curve.items():
            values = np.asarray(values, dtype=float)
            bad = np.flatnonzero(~np.isfinite(values))
            if len(bad):
                raise NaapgnnError(
                    f"{who}: record {record.id!r}: curve {channel!r} epoch {bad[0] + 1} is {values[bad[0]]}; a "
                    "record's curve must be finite (a file's reader fills a diverged run's values: "
                    "naapgnn.data.gaps.fill_non_finite)")


def _one_network(X) -> bool:
    """Whether ``X`` is one record or architecture (a record dict, a layer graph, a scheme) rather than a list."""
    from collections.abc import Mapping

    from naapgnn.arch.format import SCHEME_KEYS, Architecture
    from naapgnn.data.records import Record

    if isinstance(X, (Record, Architecture, Mapping, str)):  # a string: one architecture's JSON text
        return True
    blocks = isinstance(X, (list, tuple)) and len(X) > 0
    return blocks and all(isinstance(b, Mapping) and set(SCHEME_KEYS) <= set(b) for b in X)


def extension_types_in(x) -> tuple[str, ...]:
    """The :data:`~naapgnn.graph.encoding.EXTENSION_TYPES` that some node of the node features ``x`` has."""
    from naapgnn.graph.encoding import EXTENSION_TYPES, NODE_FEATURES

    return tuple(t for t in EXTENSION_TYPES if bool(x[:, NODE_FEATURES.index(f"is_{t}")].any()))


def node_columns(folds: bool, types) -> list[int]:
    """The node-feature columns a model reads: all but the repeat count unless it ``folds``, and but the
    extension types' columns other than ``types`` (those its training graphs have)."""
    from naapgnn.graph.encoding import EXTENSION_TYPES, NODE_FEATURES

    left_out = {f"is_{t}" for t in EXTENSION_TYPES if t not in types} | (set() if folds else {"log2_repeats"})
    return [i for i, name in enumerate(NODE_FEATURES) if name not in left_out]


def statistic_columns(types) -> list[int]:
    """The :data:`~naapgnn.graph.statistics.GRAPH_STATISTICS` a model reads: all but the counts of the
    extension types other than ``types``."""
    from naapgnn.graph.encoding import EXTENSION_TYPES
    from naapgnn.graph.statistics import GRAPH_STATISTICS

    left_out = {f"num_{t}" for t in EXTENSION_TYPES if t not in types}
    return [i for i, name in enumerate(GRAPH_STATISTICS) if name not in left_out]


class EncodingMixin:
    """How :class:`naapgnn.models.gnn.GNNPredictor` turns its input into graphs (it sets ``folds_`` when fitted)."""

    def encode_batch(self, X, fold: bool | None = None):
        """The unstandardised graphs this model reads for ``X``, in one PyG batch
        (:func:`naapgnn.models.network.batch_architectures`); folded when ``fold``, by default when the
        fitted model reads repeat counts (``folds_``: ``fold_repeats`` and a repeated block in its training
        data). :class:`~naapgnn.models.inputs.EncodedRecords` encoded that way give their graphs."""
        from naapgnn.models.network import batch_architectures

        fold = self.folds_ if fold is None else fold
        if isinstance(X, EncodedRecords) and bool(X.fold) == bool(fold):
            return X.graphs
        return batch_architectures([r.arch for r in as_records(X)], fold=fold)

    def _statistics(self, graphs) -> np.ndarray:
        """The statistics of the unstandardised ``graphs`` this fitted model reads (:func:`statistic_columns`)."""
        from naapgnn.graph.statistics import graph_statistics

        return graph_statistics(graphs)[:, statistic_columns(self.extension_types_)]

    def featurize(self, X) -> EncodedRecords:
        """``X`` as records with their graphs encoded once, as this estimator reads them: fits and predictions
        on rows of it (:func:`naapgnn.models.inputs.take`) encode nothing again.

        Parameters
        ----------
        X : list of Record, architectures, record dicts, or a NAAP-440 DataFrame

        Returns
        -------
        EncodedRecords
        """
        records = as_records(X)
        return EncodedRecords(records, self.encode_batch(records, fold=self.fold_repeats), self.fold_repeats)

    def _graphs(self, X, records, fold: bool | None = None):
        """:meth:`encode_batch` of ``X``, whose ``records`` are already parsed (its graphs when it holds them)."""
        return self.encode_batch(X if isinstance(X, EncodedRecords) else records, fold)


# --- the estimator -------------------------------------------------------------------------


def targets_of(records: list, y, who: str) -> np.ndarray:
    """``y`` as a float array, or the records' own targets when ``y`` is None; one-line errors naming ``who``,
    and for records sharing an id, as a file's reader refuses them (a checkpoint tells its training records by id)."""
    _check_unique_ids(records, who)
    if y is None:
        missing = [r.id for r in records if r.target is None]
        if missing:
            raise NaapgnnError(f"{who}: record {missing[0]!r} has no target (pass y or a target)")
        y = [r.target for r in records]
    y = np.asarray(y, dtype=float)
    if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):  # as scikit-learn, a column vector is read as one target each
        raise NaapgnnError(f"{who}: y must hold one target per architecture, got an array of shape {y.shape}")
    y = y.reshape(-1)
    if len(y) != len(records):
        raise NaapgnnError(f"{who}: {len(records)} architectures but {len(y)} targets")
    if not np.all(np.isfinite(y)):
        raise NaapgnnError(f"{who}: target {int(np.flatnonzero(~np.isfinite(y))[0])} is not finite")
    outside = np.flatnonzero((y < 0) | (y > 1))
    if len(outside):
        i = int(outside[0])
        hint = "; accuracies in percent? divide them by 100" if 1 < y[i] <= 100 else ""
        raise NaapgnnError(f"{who}: target {i} ({y[i]:g}) is outside [0, 1]{hint}")
    return y


def _check_unique_ids(records: list, who: str) -> None:
    first: dict = {}
    for i, record in enumerate(records):
        if first.setdefault(record.id, i) != i:
            raise NaapgnnError(f"{who}: records {first[record.id]} and {i} share the id {record.id!r}; give each "
                               "record its own id (repeated runs of one configuration too)")


class RecordsScoreMixin:
    """``score(X, y=None)``: scikit-learn's regressor score, reading the records' own targets when ``y`` is None
    (before :class:`~sklearn.base.RegressorMixin` in the bases; error messages name the class)."""

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
        who = type(self).__name__
        records = as_records(X, who)
        return super().score(records, targets_of(records, y, who), sample_weight=sample_weight)


def check_params(est) -> None:
    """Raise a one-line NaapgnnError for the first GNNPredictor hyperparameter of ``est`` out of range."""
    from naapgnn.models.network import CONV_TYPES, DIRECTIONS

    b = est.budget
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 0:
        raise NaapgnnError(f"GNNPredictor: budget must be a non-negative integer number of epochs, got {b!r}")
    for name in ("hidden", "layers", "curve_hidden", "max_epochs", "patience", "n_ensemble",
                 "forest_trees"):
        value = getattr(est, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise NaapgnnError(f"GNNPredictor: {name} must be a positive integer, got {value!r}")
    for name in ("rank_weight", "weight_decay"):  # loss and Adam factors: float32 must hold them
        value = getattr(est, name)
        if not _number_in(value, 0.0, FLOAT32_MAX):
            raise NaapgnnError(f"GNNPredictor: {name} must be a finite non-negative number, got {value!r}")
    if not (_number_in(est.lr, 0.0, FLOAT32_MAX) and est.lr > 0):
        raise NaapgnnError(f"GNNPredictor: lr must be a finite number > 0 (Adam's step size), got {est.lr!r}")
    if not (_number_in(est.dropout, 0.0, 1.0) and est.dropout < 1):
        raise NaapgnnError(f"GNNPredictor: dropout must be in [0, 1) (a probability), got {est.dropout!r}")
    for name in ("curve_raw", "choose_blend", "forest_curve", "fold_repeats", "progress"):
        if not isinstance(getattr(est, name), (bool, np.bool_)):
            raise NaapgnnError(f"GNNPredictor: {name} must be True or False, got {getattr(est, name)!r}")
    if est.device is not None and not isinstance(est.device, str):
        raise NaapgnnError(f"GNNPredictor: device must be a string (\"auto\", \"cpu\", \"cuda\", ...), "
                           f"got {est.device!r}")
    nt = est.n_threads
    if nt is not None and (isinstance(nt, bool) or not isinstance(nt, (int, np.integer)) or nt < 0):
        raise NaapgnnError(f"GNNPredictor: n_threads must be None or a non-negative integer (0: torch's setting), "
                           f"got {nt!r}")
    if est.batch_size not in (None, "auto") and (isinstance(est.batch_size, bool)
                                                 or not isinstance(est.batch_size, (int, np.integer))
                                                 or est.batch_size < 1):
        raise NaapgnnError(f"GNNPredictor: batch_size must be None, \"auto\" or a positive integer, "
                           f"got {est.batch_size!r}")
    if est.n_jobs is not None and (isinstance(est.n_jobs, bool) or not isinstance(est.n_jobs, (int, np.integer))
                                   or est.n_jobs < 1):
        raise NaapgnnError(f"GNNPredictor: n_jobs must be None or a positive integer, got {est.n_jobs!r}")
    rs = est.random_state
    if rs is not None and (isinstance(rs, bool) or not isinstance(rs, (int, np.integer)) or not 0 <= rs <= MAX_SEED):
        raise NaapgnnError(f"GNNPredictor: random_state must be None or an integer in [0, {MAX_SEED}], got {rs!r}")
    if est.conv not in CONV_TYPES:
        raise NaapgnnError(f"GNNPredictor: conv must be one of {', '.join(CONV_TYPES)}, got {est.conv!r}")
    if est.direction not in DIRECTIONS:
        raise NaapgnnError(f"GNNPredictor: direction must be one of {', '.join(DIRECTIONS)}, got {est.direction!r}")
    if not _number_in(est.blend_forest, 0.0, 1.0):
        raise NaapgnnError(f"GNNPredictor: blend_forest must be in [0, 1], got {est.blend_forest!r}")
    if est.forest not in FOREST_KINDS:
        raise NaapgnnError(f"GNNPredictor: forest must be one of {', '.join(FOREST_KINDS)}, got {est.forest!r}")
    if est.forest_curve and est.forest != "per_layer":
        raise NaapgnnError("GNNPredictor: forest_curve needs forest='per_layer' (the statistics forest reads no curve)")
    if est.val_fraction is not None and not (_number_in(est.val_fraction, 0.0, 1.0) and est.val_fraction < 1):
        raise NaapgnnError(f"GNNPredictor: val_fraction must be None or in [0, 1), got {est.val_fraction!r}")
    if est.curve_mode not in CURVE_MODES:
        raise NaapgnnError(f"GNNPredictor: curve_mode must be one of {', '.join(CURVE_MODES)}, got {est.curve_mode!r}")
    if est.conv == "gatv2" and est.hidden % 4:
        raise NaapgnnError(f"GNNPredictor: hidden must be a multiple of 4 (attention heads) for gatv2, got {est.hidden}")


def raise_if_out_of_memory(exc: BaseException, est) -> None:
    """A one-line NaapgnnError naming the sizes of ``est`` when ``exc`` is an allocation failure (torch's
    OutOfMemoryError, its CPU "can't allocate memory", a MemoryError); nothing for another exception."""
    text = str(exc)
    if isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and (
            type(exc).__name__ == "OutOfMemoryError" or "can't allocate memory" in text or "out of memory" in text)):
        sizes = ", ".join(f"{name}={getattr(est, name)!r}" for name in ("hidden", "layers", "curve_hidden",
                                                                         "batch_size", "n_ensemble", "n_jobs"))
        raise NaapgnnError(f"GNNPredictor: out of memory training the GNN ({sizes}): lower hidden, layers or "
                           "batch_size (or n_jobs)") from None


def check_unchanged(est, ignore: tuple = ()) -> None:
    """One-line NaapgnnError when a hyperparameter a prediction reads (its ``fitted_params_``, but those in
    ``ignore``) differs from the one ``est`` was fitted with, or when its last fit did not finish."""
    who = type(est).__name__
    fitted_params = getattr(est, "fitted_params_", None)
    if fitted_params is None:
        loads = " (or load a checkpoint)" if hasattr(est, "load") else ""
        raise NaapgnnError(f"{who}: its last fit did not finish; fit again{loads}")
    for name, fitted in fitted_params.items():
        if name not in ignore and getattr(est, name) != fitted:
            hint = f" or with_budget({est.budget!r}, X)" if name == "budget" and hasattr(est, "with_budget") else ""
            raise NaapgnnError(f"{who}: {name} is {getattr(est, name)!r} but the model was fitted with "
                               f"{fitted!r} (set_params after fit); fit again{hint}")


def check_training_targets(y: np.ndarray) -> None:
    """One-line NaapgnnError for training data a GNNPredictor cannot learn from: fewer than 4 targets, or all equal."""
    if len(y) < 4:
        raise TooFewRecordsError(f"GNNPredictor: need at least 4 training architectures, got {len(y)}")
    if np.ptp(y) == 0:
        raise NaapgnnError(f"GNNPredictor: all {len(y)} training targets are {y[0]:g}: nothing to learn or rank")


def _number_in(value, low: float, high: float) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
            and low <= value <= high)

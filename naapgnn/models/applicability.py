"""The training domain of a predictor, recorded at fit, and the check of new inputs against it.

:func:`record_domain` keeps what :class:`naapgnn.models.gnn.GNNPredictor` was
trained on (parameter and depth range, input shapes, numbers of classes, the
range of every graph attribute, node feature, curve feature and
hyperparameter, and the ensemble's median disagreement); :func:`domain_reasons`
says, per input, where it lies outside. A continuous feature is outside when it
passes either end of its training range by more than :data:`MARGIN` of the
range (a tolerance for the sampling noise of a finite training set); depth,
input shape and number of classes are checked exactly. ``scripts/calibration_report.py``
prints how many NAAP-440 official test architectures the default predictor
finds in domain.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from naapgnn.errors import NaapgnnError, NaapgnnWarning

MARGIN = 0.05
DISAGREEMENT_FACTOR = 3.0
_MISSING = " missing (read as the training mean)"

__all__ = ["MARGIN", "DISAGREEMENT_FACTOR", "MAX_STD", "record_domain", "domain_reasons", "range_reasons", "outside"]


def outside(values: np.ndarray, low: np.ndarray, high: np.ndarray, margin: float = MARGIN) -> np.ndarray:
    """Boolean ``values.shape``: beyond ``[low, high]`` widened by ``margin`` of its span at each end."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    slack = margin * (high - low) + 1e-9
    return (values < low - slack) | (values > high + slack)


def range_reasons(kind: str, names, values: np.ndarray, low, high, skipped=None) -> list[str]:
    """Per row of ``values``: ``"{kind} a, b outside training range"`` naming the columns out of range, or "";
    ``skipped``: per row, the curve channels whose columns (``{channel}_...``) it leaves out, said otherwise."""
    names = list(names)
    flags = outside(values, low, high) if values.size else np.zeros(values.shape, dtype=bool)
    out = []
    for i, row in enumerate(flags):
        prefixes = tuple(f"{c}_" for c in (skipped[i] if skipped is not None else ()))
        bad = [names[j] for j in np.flatnonzero(row) if not (prefixes and names[j].startswith(prefixes))]
        out.append(_outside(kind, bad) if bad else "")
    return out


def _channels_lacking(curve_part: dict, curve: np.ndarray) -> list[list[str]]:
    """Per row of ``curve`` (curve features), the channels every training record had (``{channel}_present``
    always 1) that it lacks (0)."""
    present = [(j, name[:-len("_present")]) for j, (name, low) in enumerate(zip(curve_part["names"], curve_part["min"]))
               if name.endswith("_present") and low == 1]
    return [[channel for j, channel in present if row[j] == 0] for row in curve]


def _outside(kind: str, bad: list[str], shown: int = 3) -> str:
    """``"{kind}s a, b, c (+N more) outside training range"``: a reason stays one readable line."""
    more = f" (+{len(bad) - shown} more)" if len(bad) > shown else ""
    return f"{kind}{'s' if len(bad) > 1 else ''} {', '.join(bad[:shown])}{more} outside training range"


def _per_graph_node_range(graphs) -> tuple[np.ndarray, np.ndarray]:
    """Each graph's minimum and maximum of every node feature, ``[num_graphs, num_features]`` each."""
    from torch_geometric.utils import scatter

    size = graphs.num_graphs
    low = scatter(graphs.x, graphs.batch, dim=0, dim_size=size, reduce="min")
    high = scatter(graphs.x, graphs.batch, dim=0, dim_size=size, reduce="max")
    return low.numpy().astype(float), high.numpy().astype(float)


def record_domain(records, graphs, curve: np.ndarray, hparams: np.ndarray, curve_names, hparam_names) -> dict:
    """The training domain (JSON-serialisable) of a predictor fitted on ``records``.

    Parameters
    ----------
    records : list of Record
    graphs : torch_geometric.data.Batch
        The records' encoded graphs, unstandardised (:func:`naapgnn.models.network.batch_architectures`).
    curve, hparams : numpy.ndarray
        The records' curve features and hyperparameters, unstandardised.
    curve_names, hparam_names : list of str
    """
    from naapgnn.features.hparams import SCHEDULE_PEAK, schedule_peak_epoch
    from naapgnn.graph.encoding import GRAPH_ATTRS, NODE_FEATURES

    attrs = graphs.graph_attr.numpy().astype(float)
    node_low, node_high = _per_graph_node_range(graphs)
    return {
        "input_shapes": sorted({tuple(r.arch.input_shape) for r in records}),
        "num_classes": sorted({int(r.arch.num_classes) for r in records}),
        "graph_attrs": _range(GRAPH_ATTRS, attrs),
        "node_features": {"names": list(NODE_FEATURES), "min": node_low.min(axis=0).tolist(),
                          "max": node_high.max(axis=0).tolist()},
        "curve_features": _range(curve_names, curve),
        "hparams": _range(hparam_names, hparams),
        "hparams_null": _null_hparams(records, hparam_names),
        "schedule_peak_epoch": schedule_peak_epoch(records) if SCHEDULE_PEAK in hparam_names else None,
        "disagreement_median": None,
    }


def _null_hparams(records, names) -> list[str]:
    """The hyperparameters that some training record gives as null (one that does not apply to it)."""
    from naapgnn.data.hparams import not_applicable

    return [k for k in names if any(not_applicable(r.hparams, k) for r in records)]


def _range(names, values: np.ndarray) -> dict:
    if values.shape[0] == 0 or values.shape[1] == 0:
        return {"names": list(names), "min": [], "max": []}
    return {"names": list(names), "min": values.min(axis=0).tolist(), "max": values.max(axis=0).tolist()}


def domain_reasons(domain: dict, records, graphs, curve: np.ndarray, hparams: np.ndarray,
                   disagreement: np.ndarray) -> list[list[str]]:
    """Why each record lies outside ``domain`` (an empty list where it lies inside).

    ``graphs``, ``curve`` and ``hparams`` are unstandardised, as in :func:`record_domain`;
    ``disagreement`` is the ensemble members' spread per record.
    """
    attrs = graphs.graph_attr.numpy().astype(float)
    reasons = [_shape_reasons(domain, r.arch) for r in records]
    attr = domain["graph_attrs"]
    names = list(attr["names"])
    for i, row in enumerate(attrs):
        reasons[i] += _size_reasons(names, row, attr["min"], attr["max"])
    node_low, node_high = _per_graph_node_range(graphs)
    nodes = domain["node_features"]
    node_flags = outside(node_low, nodes["min"], nodes["max"]) | outside(node_high, nodes["min"], nodes["max"])
    for i, row in enumerate(node_flags):
        bad = [nodes["names"][j] for j in np.flatnonzero(row)]
        if bad:
            reasons[i].append(_outside("node feature", bad))
    lacking = _channels_lacking(domain["curve_features"], curve) if curve.size else [[] for _ in records]
    for i, channels in enumerate(lacking):
        if channels:
            several = len(channels) > 1
            reasons[i].append(f"curve channel{'s' * several} {', '.join(map(repr, channels))} missing "
                              f"(every training record had {'them' if several else 'it'})")
    for kind, key, values in (("curve feature", "curve_features", curve), ("hparam", "hparams", hparams)):
        part = domain[key]
        if part["min"] and values.size:
            skipped = lacking if key == "curve_features" else None
            for i, reason in enumerate(range_reasons(kind, part["names"], values, part["min"], part["max"], skipped)):
                reasons[i] += [reason] if reason else []
    median = domain.get("disagreement_median")
    if median:
        for i, spread in enumerate(disagreement):
            if spread > DISAGREEMENT_FACTOR * median:
                reasons[i].append(f"ensemble disagreement {spread:.3g} > {DISAGREEMENT_FACTOR:g}x training median "
                                  f"{median:.3g}")
    return reasons


def _named_once(names: list) -> list:
    """Hyperparameter names with a category's indicators (``augment=flip``) named once, by the category."""
    from naapgnn.data.hparams import given_name

    return list(dict.fromkeys(map(given_name, names)))


def _hparam_key_reasons(trained: list, record, nullable=(), peak_epoch: int | None = None) -> list[str]:
    """A trained-on hyperparameter the record lacks (read as the training mean), one it gives as null where no
    training record did (``nullable``: those some did), one it gives that the model never saw (not read); an
    ``lr`` channel that ends in a warmup, before ``peak_epoch`` (:func:`naapgnn.features.hparams.peak_maybe_later`)."""
    from naapgnn.data.channels import SCHEDULE_CHANNEL
    from naapgnn.data.hparams import is_indicator, is_seed, not_applicable
    from naapgnn.features.hparams import SCHEDULE_PEAK, model_hparams, peak_maybe_later, record_hparam

    given = model_hparams(record, trained)  # its file may read number-like strings another way
    null = [k for k in trained if not_applicable(given, k)]
    missing = [k for k in trained if np.isnan(record_hparam(record, k, given)) and k not in null]
    null = [k for k in null if k not in nullable]
    unknown = sorted(k for k in given if k not in trained and given[k] == given[k]  # a null (NaN) gives nothing
                     and not (is_indicator(k) and given[k] == 0) and not is_seed(k))
    missing, null = _named_once(missing), _named_once(null)
    out = [f"hparam {', '.join(map(repr, missing))}{_MISSING}"] if missing else []
    if SCHEDULE_PEAK in trained and peak_maybe_later(record, peak_epoch):
        ended = len(record.curve[SCHEDULE_CHANNEL])
        out.append(f"{SCHEDULE_CHANNEL} channel ends at epoch {ended} on its highest rate so far, before the "
                   f"training schedules peak (by epoch {peak_epoch}): its {SCHEDULE_PEAK} may lie later")
    out += [f"hparam {', '.join(map(repr, null))} null, never in training (read as the training mean)"] if null else []
    peak = (f"; the model reads the peak of an {SCHEDULE_CHANNEL} channel as {SCHEDULE_PEAK}: give the schedule in "
            f"the curve, or {SCHEDULE_PEAK}" if SCHEDULE_CHANNEL in unknown and SCHEDULE_PEAK in trained else "")
    return out + ([f"hparam {', '.join(map(repr, unknown))} not read (not in the training data{peak})"]
                  if unknown else [])


def _shape_reasons(domain: dict, arch) -> list[str]:
    out = []
    shapes = [tuple(s) for s in domain["input_shapes"]]
    if tuple(arch.input_shape) not in shapes:
        trained = " or ".join("x".join(map(str, s)) for s in shapes)
        out.append(f"input {'x'.join(map(str, arch.input_shape))} not {trained}")
    if int(arch.num_classes) not in domain["num_classes"]:
        out.append(f"{arch.num_classes} classes (trained on {', '.join(map(str, domain['num_classes']))})")
    return out


def _size_reasons(names: list, row: np.ndarray, low: list, high: list) -> list[str]:
    """Params and depth in words, the other graph attributes by name."""
    out, others = [], []
    flags = outside(row, low, high)
    for j, name in enumerate(names):
        if name == "depth":
            if row[j] > high[j]:
                out.append(f"depth {row[j]:g} > {high[j]:g}")
            elif row[j] < low[j]:
                out.append(f"depth {row[j]:g} < {low[j]:g}")
        elif flags[j] and name == "log_params":
            side, bound = ("above training max", high[j]) if row[j] > high[j] else ("below training min", low[j])
            out.append(f"params {_count(math.exp(row[j]))} {side} {_count(math.exp(bound))}")
        elif flags[j]:
            others.append(name)
    if others:
        out.append(f"feature{'s' if len(others) > 1 else ''} {', '.join(others)} outside training range")
    return out


def _count(value: float) -> str:
    """``322``, ``3.2e9``: a count in few characters."""
    if value < 1e4:
        return f"{value:.0f}"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


# --- blending, calibration and the estimator's methods -------------------------------------

COVERAGE = 0.9545  # the share of a normal distribution within +-2 standard deviations
# The largest standard deviation a quantity in [0, 1] can have (half its mass at 0, half at 1): the
# uncertainty's ceiling, where a calibration factor fitted on tiny training spreads would scale far past it
MAX_STD = 0.5


def blend(gnn: np.ndarray, gnn_std: np.ndarray, forest: np.ndarray | None, weight: float):
    """``(1 - w) * gnn + w * forest`` and the standard deviation of that two-part mixture.

    Rows where ``forest`` is NaN (an architecture the forest cannot read) get the GNN alone.
    """
    mean, var = np.asarray(gnn, dtype=float), np.asarray(gnn_std, dtype=float) ** 2
    if forest is None or weight == 0:
        return mean, np.sqrt(var)
    w = np.where(np.isfinite(forest), float(weight), 0.0)
    forest = np.where(np.isfinite(forest), forest, mean)
    var = (1 - w) * var + w * (1 - w) * (mean - forest) ** 2
    return (1 - w) * mean + w * forest, np.sqrt(var)


def calibration_scale(y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> float:
    """The factor ``s`` that puts :data:`COVERAGE` of held-out targets within ``mean +- 2 s std``.

    ``mean`` and ``std`` are out-of-fold predictions and uncertainties of the
    training targets ``y``; rows with a NaN or a zero std are left out, and
    with fewer than 10 rows left the factor is 1.
    """
    rows = np.isfinite(mean) & np.isfinite(std) & (std > 0)
    if rows.sum() < 10:
        return 1.0
    z = np.abs(y[rows] - mean[rows]) / std[rows]
    return float(np.quantile(z, COVERAGE) / 2.0)


class ApplicabilityMixin:
    """:class:`naapgnn.models.gnn.GNNPredictor`'s training domain, calibration and :meth:`domain_report`."""

    def _fit_domain(self, records, graphs, curve: np.ndarray, hparams: np.ndarray, y: np.ndarray) -> None:
        """Record ``domain_`` and fit ``std_scale_`` on the out-of-fold predictions (end of ``fit``)."""
        self.domain_ = record_domain(records, graphs, curve, hparams, self.curve_feature_names_, self.hparam_names_)
        self.std_scale_ = 1.0
        parts = self.predict_parts(records, graphs)  # the training graphs, already encoded
        self.domain_["disagreement_median"] = float(np.median(parts["gnn_std"]))
        self.domain_["target_range"] = [float(np.min(y)), float(np.max(y))]
        forest = None if self.forest_ is None else self.forest_.oob_prediction_
        _, std = blend(self.oof_prediction_, parts["gnn_std"], forest, float(self.blend_share_))
        self.std_scale_ = calibration_scale(y, self.stack_oof_, std)

    def warn_read_as_training_mean(self, records) -> None:
        """A :class:`~naapgnn.errors.NaapgnnWarning` when records lack a curve channel every training record had,
        or a hyperparameter the model reads: both are read at their training mean (:meth:`domain_report` flags
        each record). Records read from a file are left to its reader, which has warned of what they lack."""
        records = [r for r in records if getattr(r, "line", None) is None]
        required = self._required_channels()
        lacking: dict = {}
        for record in records:
            for channel in required:
                if not len(record.curve.get(channel, ())):
                    lacking.setdefault(f"curve channel {channel!r}", []).append(record.id)
            for reason in (_hparam_key_reasons(self.hparam_names_, record, self.domain_.get("hparams_null", ()))
                           if self.hparam_names_ else ()):
                if reason.endswith(_MISSING):
                    lacking.setdefault(reason[:-len(_MISSING)], []).append(record.id)
        if lacking:
            what = "; ".join(f"{name} ({len(ids)} of {len(records)}, e.g. {ids[0]!r})" for name, ids in lacking.items())
            warnings.warn(f"{type(self).__name__}.predict: records lack what every training record gave, read as its "
                          f"training mean: {what}", NaapgnnWarning, stacklevel=3)

    def _required_channels(self) -> list[str]:
        """The curve channels every training record logged and the model reads."""
        part = self.domain_.get("curve_features", {})
        return [name[:-len("_present")] for name, low in zip(part.get("names", ()), part.get("min", ()))
                if name.endswith("_present") and low == 1]

    def refuse_unlogged_channels(self, records) -> None:
        """A one-line NaapgnnError when no record of the call logs an accuracy channel the model reads that every
        training record logged: read at its training mean in every record, the curve would say nothing of how the
        runs fare (a channel named otherwise, ``val_error`` for ``accuracy``, is the usual cause). A loss, a cost or
        a learning rate lacking is read at its training mean with a warning (:meth:`warn_read_as_training_mean`)."""
        from naapgnn.data.channels import measured_channels, read_at_mean_when_lacking

        if not any(measured_channels(r.curve) for r in records):
            return  # no curve at all: the budget's own check names the records
        missing = [c for c in self._required_channels() if not read_at_mean_when_lacking(c)
                   and not any(len(r.curve.get(c, ())) for r in records)]
        if missing:
            logged = sorted({c for r in records for c in r.curve})
            raise NaapgnnError(f"{type(self).__name__}.predict: no record logs curve channel {missing[0]!r}, which "
                               f"every training record logged and the model reads at budget {self.budget} (the "
                               f"records log {', '.join(map(repr, logged)) or 'no curve'}): give it under that "
                               "name, or predict at budget 0")

    def domain_report(self, X, parts: dict | None = None, graphs=None) -> tuple[np.ndarray, list[str]]:
        """Whether each architecture (and curve) lies inside what the predictor was trained on, and why not.

        Outside: more parameters or depth than any training architecture (or
        fewer), another input shape or number of classes, a graph attribute,
        node feature, curve feature or hyperparameter outside its training
        range (see :data:`MARGIN`), an ensemble disagreement above
        :data:`DISAGREEMENT_FACTOR` times its training median, a prediction
        clipped to [0, 1] beyond the training targets' range (the margin too: a diverged run's accuracy
        predicted a little below 0 beside training runs at chance is no extrapolation). Rows deeper than the
        blended forest reads are predicted by the GNN alone, which is also said.

        Parameters
        ----------
        X : list of Record, architectures, record dicts, or a NAAP-440 DataFrame
        parts : dict, optional
            :meth:`predict_parts` of ``X`` when the caller has them already (saves predicting twice).
        graphs : torch_geometric.data.Batch, optional
            ``encode_batch(X)`` when the caller has it (saves encoding twice).

        Returns
        -------
        in_domain : numpy.ndarray of bool, shape (n,)
        reasons : list of str
            "" where in domain, else short reasons joined by "; ".
        """
        from naapgnn.models.inputs import as_records
        self._check_fitted()
        records = as_records(X)
        graphs = self._graphs(X, records) if graphs is None else graphs
        parts = self.predict_parts(records, graphs) if parts is None else parts
        reasons = domain_reasons(self.domain_, records, graphs, self._curve(records), self._hparams(records),
                                 parts["gnn_std"])
        seen = self.domain_.get("target_range")  # None in a checkpoint saved before it was kept
        for i, value in enumerate(parts["mean"]):
            reasons[i] += _hparam_key_reasons(self.hparam_names_, records[i], self.domain_.get("hparams_null", ()),
                                              self.domain_.get("schedule_peak_epoch"))
            if parts["forest"] is not None and np.isnan(parts["forest"][i]):
                reasons[i].append(f"forest not blended (deeper than its {self.forest_.max_blocks_} blocks)")
            if not 0.0 <= value <= 1.0 and (seen is None or outside(np.float64(value), *seen)):
                reasons[i].append(f"prediction {value:.4f} clipped to [0, 1]")
        joined = ["; ".join(r) for r in reasons]
        return np.array([not r for r in joined], dtype=bool), joined

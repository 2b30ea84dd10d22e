"""The curve side of :class:`naapgnn.models.gnn.GNNPredictor`: curve state, the gated stack, and a new budget.

:class:`CurveMixin` holds what a fit learns about the first ``budget`` epochs:
the channels and the learning-rate schedule read, each channel's worst
training value (``diverged_values_``: what a run that diverged reads when a
file is loaded for this model, :func:`naapgnn.data.records.load_benchmark`;
``unlogged_epochs_``: the epochs most training records leave unlogged, which a run in
progress may leave open without having diverged; with both, every record's
first ``budget`` epochs are read as the run stood then, whatever its file
logged later, :func:`naapgnn.data.gaps.as_seen_at`;
``curve_worst_``: the same in fractions, what ``flat`` reads at one epoch),
the curve features' standardisation, Baker et al.'s per-epoch values and differences that those features do
not already hold (``curve_value_names_``, what the gate's ``svr_values`` candidate reads beside them) and their
standardisation, and the gated stack (:mod:`naapgnn.models.curve_stack`)
on the held-out graph predictions. With ``curve_mode="stack"`` the graph
network and its blended forest read no curve, so the same graph part serves
every budget: :meth:`CurveMixin.with_budget` refits only the curve side,
which gives exactly the model a fit at that budget gives, at a fraction of
the cost (``naapgnn evaluate`` and the report scripts use it across budgets).
"""
from __future__ import annotations

import copy
import warnings

import numpy as np
from sklearn.preprocessing import StandardScaler

from naapgnn.data.channels import fraction_scale
from naapgnn.data.gaps import as_seen_at, training_reading
from naapgnn.errors import NaapgnnError, NaapgnnWarning
from naapgnn.features.curves import (SCHEDULE_CHANNEL, channel_columns, columns_beyond, curve_channels,
                                     curve_feature_names, curve_features, shared_schedule, values_and_differences,
                                     values_and_differences_names, with_schedule)

__all__ = ["CurveMixin", "mean_and_scale"]


def mean_and_scale(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations of ``values`` (1 where a column is constant)."""
    if values.shape[1] == 0:
        return np.zeros(0), np.ones(0)
    scaler = StandardScaler().fit(values)
    return scaler.mean_, scaler.scale_


class CurveMixin:
    """Curve state, the gated stack and :meth:`with_budget` of :class:`naapgnn.models.gnn.GNNPredictor`."""

    def _fit_curve_state(self, records) -> tuple[np.ndarray, list]:
        """Channels, schedule, feature names and standardisation of the first ``budget`` epochs;
        returns the records' curve features (unstandardised) and the records as seen at the budget
        (:meth:`_seen`), for the fit to read again."""
        budget = int(self.budget)
        self.curve_channels_ = curve_channels(records) if budget else []
        self.schedule_ = shared_schedule(records) if budget else None
        self.diverged_values_, self.unlogged_epochs_ = training_reading(records, self.curve_channels_, budget)
        self.curve_worst_ = {c: v * fraction_scale(records, c) for c, v in self.diverged_values_.items()}
        if budget and not self.curve_channels_:
            raise NaapgnnError(f"GNNPredictor: budget {budget} needs training curves, but no record has one")
        self.curve_feature_names_ = curve_feature_names(budget, self.curve_channels_, bool(self.curve_raw))
        seen = self._seen(records)
        curve = self._curve(records, seen)
        self.curve_mean_, self.curve_std_ = mean_and_scale(curve)
        # Baker et al.'s per-epoch values and differences that the curve features do not already hold
        channels = self._measured_channels()
        values = values_and_differences(seen, budget, channels)
        filled = np.where(np.isnan(values), np.nanmean(values, axis=0) if len(values) else 0.0, values)
        kept = columns_beyond(filled, curve)
        names = values_and_differences_names(budget, channels)
        self.curve_value_names_ = [names[j] for j in kept]
        self.value_mean_, self.value_std_ = mean_and_scale(values[:, kept])
        return curve, seen

    def _seen(self, records) -> list:
        """Each run as it stood at the budget, whatever its file logged later (:mod:`naapgnn.data.gaps`), a record
        without ``lr`` given the training recipe's."""
        records = as_seen_at(records, int(self.budget), worst=self._worst_for(records),
                             unlogged=getattr(self, "unlogged_epochs_", {}))
        return with_schedule(records, self.schedule_)

    def _worst_for(self, records) -> dict:
        """``diverged_values_`` in the unit ``records`` log each channel in: a model trained on a file in percent
        reads a diverged run of a file in fractions at its training worst in fractions, and the other way round."""
        out = {}
        for channel, value in self.diverged_values_.items():
            scale, fraction = fraction_scale(records, channel), self.curve_worst_[channel]
            # in the training unit, the training value itself, bit for bit
            out[channel] = value if value * scale == fraction else fraction / scale
        return out

    def _curve(self, records, seen=None) -> np.ndarray:
        seen = self._seen(records) if seen is None else seen
        return curve_features(seen, int(self.budget), self.curve_channels_, raw=bool(self.curve_raw),
                              worst=self.curve_worst_)

    def _measured_channels(self) -> list[str]:
        return [c for c in self.curve_channels_ if c != SCHEDULE_CHANNEL]

    def _lacking_at_mean(self, curve, seen):
        """``curve`` (standardised inputs of the records ``seen``) with the columns of each channel every training
        record logged that a record lacks set to their training mean, 0: what the model's warning and README say
        (zeros and presence 0, as a training record lacking a channel reads, lay off every training record)."""
        columns = channel_columns(int(self.budget), self.curve_channels_, bool(self.curve_raw))
        for channel in self._required_channels():
            lacking = [i for i, r in enumerate(seen) if not len(r.curve.get(channel, ()))]
            if lacking and columns.get(channel):
                curve[np.ix_(lacking, columns[channel])] = 0.0
        return curve

    def _curve_values(self, records, seen=None) -> np.ndarray:
        """The kept per-epoch values and differences (``curve_value_names_``) standardised, a channel a record
        lacks at the training mean; ``seen``: the records' :meth:`_seen`, if already read."""
        budget, channels = int(self.budget), self._measured_channels()
        seen = self._seen(records) if seen is None else seen
        values = values_and_differences(seen, budget, channels)
        names = values_and_differences_names(budget, channels)
        values = values[:, [names.index(n) for n in self.curve_value_names_]]
        return np.nan_to_num((values - self.value_mean_) / self.value_std_, nan=0.0)

    def _stack(self):
        """The fitted stack as :func:`naapgnn.models.curve_stack.apply_stack` reads it."""
        from naapgnn.models.curve_stack import CurveStack

        weight, budget0 = float(self.stack_gate_.get("weight", 1.0)), None
        if weight < 1:
            budget0 = CurveStack(self.stack_gate_["budget0_kind"], np.array([1.0]), 0.0, self.stack_budget0_model_)
        return CurveStack(self.stack_gate_.get("kind", "graph"), self.stack_coef_, self.stack_intercept_,
                          self.stack_model_, weight=weight, budget0=budget0, others=getattr(self, "stack_others_", []))

    def _stack_reads(self, name: str) -> bool:
        """Whether a kernel stack (the stack's own or its budget-0 part) reads input ``name`` of
        :data:`naapgnn.models.curve_stack.KERNEL_INPUTS` ("statistics": not the ``hparams`` and ``svr`` kinds;
        "values": only ``svr_values``)."""
        from naapgnn.models.curve_stack import KERNEL_INPUTS

        readers = [kind for kind, inputs in KERNEL_INPUTS.items() if name in inputs]
        own = self.stack_model_ is not None and self.stack_gate_.get("kind") in readers
        others = any(part.model is not None and part.kind in readers for part, _ in getattr(self, "stack_others_", []))
        return own or others or (self.stack_budget0_model_ is not None
                                 and self.stack_gate_.get("budget0_kind") in readers)

    def _blend(self, gnn: np.ndarray, forest: np.ndarray | None) -> np.ndarray:
        """``(1 - b) * gnn + b * forest``, ``b`` the share blended (the GNN alone where ``forest`` is NaN); any shape
        broadcasting."""
        from naapgnn.models.applicability import blend

        return blend(gnn, np.zeros(np.shape(gnn)), forest, float(self.blend_share_))[0]

    def _fit_curve_stack(self, records, y: np.ndarray, graphs, curve: np.ndarray, hp: np.ndarray,
                         statistics: np.ndarray | None = None, seen=None, *, groups: np.ndarray | None) -> None:
        """The gated stack on the held-out graph predictions, then the training domain and calibration.

        ``graphs``: the records' unstandardised batch (for the domain and the statistics); ``curve`` and ``hp`` their
        unstandardised curve features and hyperparameters (missing values filled); ``statistics``: the graphs'
        :func:`~naapgnn.graph.statistics.graph_statistics`, and ``seen`` the records' :meth:`_seen`, when already
        computed; ``groups``: their :func:`~naapgnn.data.configurations.held_out_groups`.
        """
        statistics = self._statistics(graphs) if statistics is None else statistics
        forest_oob = None if self.forest_ is None else self.forest_.oob_prediction_
        graph_oof = self._blend(self.oof_prediction_, forest_oob)
        z = (y - self.y_mean_) / self.y_std_
        self._fit_stack(groups, (graph_oof - self.y_mean_) / self.y_std_, (curve - self.curve_mean_) / self.curve_std_,
                        z, (hp - self.hparam_mean_) / self.hparam_std_, statistics, self._curve_values(records, seen))
        self._fit_domain(records, graphs, curve, hp, y)

    def _fit_stack(self, groups: np.ndarray | None, oof: np.ndarray, curve: np.ndarray, target: np.ndarray,
                   hp: np.ndarray, statistics: np.ndarray, values: np.ndarray | None = None) -> None:
        """Graph only, or a stack on the held-out graph prediction and the networks' statistics,
        hyperparameters and curve, chosen on cross-validation
        (:func:`naapgnn.models.curve_stack.fit_gated_stack`).

        Only with ``curve_mode`` "stack" or "both"; otherwise the prediction is
        the graph prediction unchanged (coefficient 1 on it). Without a curve
        and with too few held-out predictions to cross-validate a stack, graph
        only too (with a curve that is an error). All arguments but ``groups`` (the records' configurations, held out
        together by the gate's folds where given) and ``statistics`` are standardised.
        """
        self.stack_coef_, self.stack_intercept_, self.stack_model_, self.stack_gate_ = np.array([1.0]), 0.0, None, {}
        self.stack_budget0_model_, self.stack_others_ = None, []
        self.stack_oof_ = oof * self.y_std_ + self.y_mean_
        from naapgnn.models.curve_stack import fit_gated_stack
        from naapgnn.models.gate_rules import minimum_records

        too_few = np.isfinite(oof).sum() < minimum_records()
        if too_few and self.curve_mode != "network" and curve.shape[1]:  # what the gate does when the curve is no help
            warnings.warn(f"GNNPredictor: at budget {self.budget} the curve is not read, the budget-0 model predicts: "
                          f"the curve stack is cross-validated on held-out predictions of at least "
                          f"{minimum_records()} training architectures, and {int(np.isfinite(oof).sum())} of the "
                          f"{len(oof)} have one (train on more, or more ensemble members: n_ensemble)",
                          NaapgnnWarning, stacklevel=2)
        if self.curve_mode == "network" or too_few:
            return

        # the gate's budget-0 part is the same at every budget of one fit: with_budget's copy reuses it
        stack = fit_gated_stack(oof, curve, target, hp, statistics, shared=getattr(self, "stack_shared_", None),
                                values=values, groups=groups)
        self.stack_shared_ = stack.shared
        self.stack_coef_, self.stack_intercept_, self.stack_model_, self.stack_gate_ = (
            stack.coef, stack.intercept, stack.model, stack.gate)
        self.stack_budget0_model_ = None if stack.budget0 is None else stack.budget0.model
        self.stack_others_ = stack.others
        self.stack_oof_ = stack.oof * self.y_std_ + self.y_mean_

    def reads_curve_in_graph_part(self) -> bool:
        """Whether the graph network or its blended forest reads the curve (then the graph part
        depends on the budget and :meth:`with_budget` cannot reuse it)."""
        forest_reads = bool(self.forest_curve) and float(self.blend_forest) > 0
        return self.curve_mode != "stack" or forest_reads

    def with_budget(self, budget: int, X, y=None):
        """This fitted model at another ``budget``: the graph part reused, the curve side refitted.

        Equal to ``clone(self).set_params(budget=budget).fit(X, y)`` when ``X``
        is the training data of this fit (the graph part reads no curve with
        ``curve_mode="stack"``), at the cost of the curve side only.

        Parameters
        ----------
        budget : int
        X : the training data of :meth:`fit`
        y : array-like of shape (n,), optional

        Returns
        -------
        GNNPredictor
            A new estimator; this one is unchanged.
        """
        from naapgnn.data.configurations import held_out_groups
        from naapgnn.data.digest import training_digest
        from naapgnn.models.inputs import as_records, targets_of
        self._check_fitted(ignore=("budget",))  # the budget is what this call changes
        if self.reads_curve_in_graph_part():
            raise NaapgnnError("GNNPredictor.with_budget: the graph part reads the curve (curve_mode "
                               f"{self.curve_mode!r}, forest_curve {self.forest_curve!r}); fit at the new budget")
        records = as_records(X)
        if len(records) != len(self.oof_prediction_):
            raise NaapgnnError(f"GNNPredictor.with_budget: X must be the training data of fit "
                               f"({len(self.oof_prediction_)} records), got {len(records)}")
        y = targets_of(records, y, "GNNPredictor")
        if getattr(self, "training_digest_", None) not in (None, training_digest(records, y)):
            raise NaapgnnError("GNNPredictor.with_budget: X must be the training data of fit, in the same order "
                               "(and y the targets given to fit, if it was given them); these records' ids, "
                               "architectures or targets differ")
        other = copy.copy(self)
        other.budget = budget
        other._check_params()
        other.remember_params()
        if other.forest_ is not None and self.forest == "per_layer":
            other.forest_ = copy.copy(self.forest_)
            other.forest_.budget = budget
        curve, seen = other._fit_curve_state(records)
        other._fit_curve_stack(records, y, other._graphs(X, records), curve, other._hparams(records), seen=seen,
                               groups=held_out_groups(records))
        return other

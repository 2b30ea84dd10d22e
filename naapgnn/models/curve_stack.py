"""The gated stack: what to add to the graph prediction, from the network's statistics and its curve.

:class:`naapgnn.models.gnn.GNNPredictor` (``curve_mode="stack"``) predicts
from the graph alone (its ensemble blended with the per-layer forest), then
may correct that with a model stacked on the held-out graph predictions.
:func:`fit_gated_stack` weighs the candidates on the training split's
cross-validation (the members' held-out predictions, then ``cv`` folds for
the stacked models), in two steps.

At every budget (the model at budget 0):

* ``"graph"``: the held-out graph prediction itself;
* ``"architecture"``: the held-out prediction plus an RBF kernel ridge
  regression of its residual on (held-out prediction, hyperparameters, the
  network's statistics of :mod:`naapgnn.graph.statistics`). It catches what
  the graph network and the forest leave in their residual: an interaction of
  the learning rate with depth or width, say;
* ``"hparams"``: where the records' hyperparameters vary, an RBF nu-SVR
  of the target on them alone, mixed with the held-out prediction,
  ``w * svr + (1 - w) * graph`` for ``w`` in :data:`MIXTURE_WEIGHTS` (the
  best weight by the rule below). A model of its own, not a residual: where
  the recipe decides most of the accuracy and the graph says little (MLPs of a
  few layers with learning rates over three decades), the graph network errs
  most, and a residual kernel that also reads its prediction and the
  statistics was not kept on the training split's cross-validation while a
  share of this one was (``scripts/synthetic_benchmarks.py``). A nu-SVR, not a
  kernel ridge: its loss grows linearly beyond a margin, so the few runs that
  diverged to chance accuracy do not pull its fit of the others. On 12
  development splits of two such files (generator seeds 7 and 8) a kernel ridge
  on the hyperparameters alone had a test MAE of 0.0646, the nu-SVR 0.0586, the
  kernel ridge fitted without the diverged runs 0.0583.
* ``"robust"``: an RBF nu-SVR of the target on (held-out prediction,
  hyperparameters, statistics), mixed with the held-out prediction as
  ``"hparams"`` is: Baker et al.'s model on the network's statistics, with the
  graph prediction beside them. ``"architecture"`` reads the same columns, but a
  kernel ridge fits the squared errors of the few runs that diverged at the
  others' expense. Where those runs and a recipe that decides much of the
  accuracy leave the graph network little to learn from a hundred networks,
  this one was kept: on development files of an SGD step-decay generator and
  of ``scripts/synthetic_benchmarks.py``'s CNNs it raised the budget-0 test
  Kendall tau (README, "A nu-SVR on the statistics"); on NAAP-440's and the
  LCBench-like files' development splits the gate did not keep it.

With a curve (budget ``k >= 1``), against the model at budget 0 so chosen:

* ``"linear"``: a ridge regression of the target on (held-out prediction,
  curve features), alpha by cross-validation;
* ``"nonlinear"``: as ``"architecture"``, reading also the curve features
  (:func:`naapgnn.features.curves.curve_features`: last and best value, recent mean, changes, slopes, a log-epoch
  extrapolation, whether it never changed or reads the worst value), a fixed width whatever the budget. Not the
  raw values Baker et al. 2018 read: on development splits of the deep ResNets a kernel ridge reading every value
  and difference ranked worse with every epoch added (lower squared error on the few diverged nets, a worse order
  of the rest). It catches what a line cannot: diverged nets, learning-rate interactions, an early value that
  says it all;
* ``"svr"``: a nu-SVR of the target itself on (held-out prediction, curve features, hyperparameters), Baker et al.'s
  model on this package's curve summaries with the graph prediction beside them, mixed with the budget-0 choice;
  ``"svr_statistics"`` the same reading the networks' statistics too (Baker's architecture columns are among
  them); ``"svr_values"`` that one reading also Baker's per-epoch values and first and second differences that the
  curve features do not already hold (none at one epoch, where it is not offered). Where the recipe and the curve
  decide the accuracy and some runs diverged, the residual kernel ridges above fit the diverged runs' squared
  errors at the others' expense (README, "A nu-SVR on the curve"; "The curve's nu-SVR with the statistics"; "Baker's
  values as one more candidate");
* ``"svr_no_graph"``: ``"svr_values"`` without the graph prediction, Baker et al.'s model on this package's columns.
  Where the graph network ranks a space poorly, an RBF kernel that reads its prediction as one input reads noise
  beside the curve, and every other candidate either reads it or adds to it (README, "A curve nu-SVR blind to the
  graph").

A model of the target itself (``"hparams"``, ``"robust"``, the two ``"svr"``) enters at weight ``w`` only
if its share errs less than the same share of the training mean: a share of any
model that says little shrinks a prediction spread wider than the target, which
lowers its error whatever that model reads.

A kernel ridge's ``alpha`` and ``gamma`` are chosen in :data:`naapgnn.models.kernels.KERNEL_GRID` on the same folds,
as Baker et al. choose their nu-SVR's (a kernel ridge fits in milliseconds, a nu-SVR with a large ``C`` took seconds
on 550 records); a nu-SVR's in :data:`naapgnn.models.kernels.SVR_GRID`, on the first draw of folds and at most
:data:`naapgnn.models.kernels.SVR_SEARCH_ROWS` records.
Far from the training data an RBF kernel's output decays to zero, so the
prediction falls back to the graph's.

The curve stacks enter as learned mixtures with the budget-0 choice, ``w * stack + (1 - w) * budget-0 model``
for ``w`` in :data:`MIXTURE_WEIGHTS`: where the curve pins down some networks (diverged ones) but the kernel
ranks the others worse than the graph, a partial weight keeps both. The ridge, too, though it already weighs
the graph prediction against the curve: its fit on some forty correlated curve columns is noisy, and a partial
weight shrinks it toward the budget-0 model.

A candidate is kept only if its cross-validated mean absolute error is lower than the one it would replace
(graph only at budget 0, the budget-0 choice at ``k``) and its Kendall tau not lower; of those kept, the lower
error wins at budget 0, and at ``k`` the highest tau within one standard error of the lowest error
(:func:`naapgnn.models.gate_rules.better_mixture`). Where two or more of the kept mixtures are within that standard
error, the model at ``k`` is their equal-weight mean instead, each curve kind at the sum of its mixtures' shares
divided by their number and the budget-0 choice at what is left, if that mean passes the same bar as any
challenger (:func:`naapgnn.models.gate_rules.mean_of_near`; README, "The mean of the candidates within one standard
error"): of candidates the records cannot tell apart the pick varies with the draw of folds and of the ensemble's
members, and the mean of them less.
The budget-0 choice is among the candidates at every ``k`` with the same folds, so the model at budget
``k >= 1`` is never worse than at budget 0 on that cross-validation. A curve that no fold's training part
varies in (every run logged the same values) offers no candidate: the model is the budget-0 one.

At ``k``, the error to beat is the lower of the budget-0 choice's and that of
its linear rescaling (a ridge on that prediction alone, cross-validated): a
ridge that reads the graph prediction gains the rescaling too, which is no
reason to read the curve, and a small share of a ridge on noise columns would
otherwise pass on it. On ten development splits of NAAP-440 (400 networks not
in its official test split, 40 tested; graph parts fitted once, the curve side
refitted) the ridge alone was kept at 9 epochs on 8 splits and ranked the test networks worse than the graph
alone (Kendall tau 0.9263 against 0.9270); with its mixtures and this bar 0.9301, kept at weights 0.5-0.75, with a
lower MAE (0.00424 against 0.00442).

``check_picks=True``, an ablation off by default, keeps a curve only where the pick also wins on records it did
not read (:func:`naapgnn.models.gate_rules.selection_holds`; README, "The pick checked on records it did not read").

Every score (a kernel setting's error, a candidate's error and Kendall tau) is
the mean over :data:`GATE_REPEATS` draws of the ``cv`` folds. One draw's
scores move with the luck of its folds, and of some thirty candidates, the one
that gained by luck gets kept: on development splits of NAAP-440, the deep
ResNets and the deep ResNets with noisy curves, three draws gave a model at
every budget ``k >= 1`` that ranked the test records at least as well as at
budget 0 where one draw did not (NAAP-440 at 9 epochs, the noisy curves at 1
and 3), at three times the gate's cost. Above :data:`REPEATED_ROWS` records the
gate reads one draw: there a cross-validated score is less noisy, while a kernel
ridge's cost grows with the cube of its rows (1.3 s against 3.9 s of CPU for the
gate on 547 records, 29 s against 90 s on 2,000: ``scripts/bench_gate_repeats.py``).

Everything without the curve (the rows, the draws of folds, the budget-0 candidates and their choice, the bar
to beat) is the same at every budget of one model: :func:`fit_budget0_gate` computes it once, and a gate at
another budget reuses it (:class:`Budget0Gate`; :meth:`GNNPredictor.with_budget` hands it over). How the
candidates are scored and compared lives in :mod:`naapgnn.models.gate_rules`.

The stacks are fitted and gated on at most :data:`MAX_STACK_ROWS` records (a seeded random subset beyond that): a
kernel ridge's cost grows with the cube of its rows, while the graph part it corrects has learned from every record.
"""
from __future__ import annotations

import numpy as np

from naapgnn.models.budget0_gate import (GATE_REPEATS, MAX_STACK_ROWS, REPEATED_ROWS, Budget0Gate, fit_budget0_gate)
from naapgnn.models.gate_rules import (highest_tau, mean_of_near, mean_scores, ridge_regression, selection_holds,
                                      target_mixtures, varies_in_every_fold, within_one_standard_error)
from naapgnn.models.kernels import best_kernel, best_svr
from naapgnn.models.stack_kinds import (CURVE_KINDS, KERNEL_INPUTS, MIXTURE_WEIGHTS, STACK_KINDS, SVR_KINDS,
                                        CurveStack, TargetMixture, apply_stack, fit_kind, gate_key, kernel_columns,
                                        model_columns)

__all__ = ["CurveStack", "TargetMixture", "Budget0Gate", "fit_gated_stack", "fit_budget0_gate", "apply_stack",
           "kernel_columns", "STACK_KINDS", "CURVE_KINDS", "KERNEL_INPUTS", "MIXTURE_WEIGHTS", "MAX_STACK_ROWS",
           "GATE_REPEATS", "REPEATED_ROWS"]


def fit_gated_stack(oof: np.ndarray, curve: np.ndarray, target: np.ndarray, hparams: np.ndarray | None = None,
                    statistics: np.ndarray | None = None, cv: int = 5, random_state: int = 0,
                    max_rows: int = MAX_STACK_ROWS, repeats: int | None = None,
                    curve_kinds: tuple = CURVE_KINDS, shared: "Budget0Gate | None" = None,
                    check_picks: bool = False, values: np.ndarray | None = None,
                    groups: np.ndarray | None = None) -> CurveStack:
    """The best of the candidates on cross-validation (see the module docstring).

    Parameters
    ----------
    oof : numpy.ndarray of shape (n,)
        Held-out graph-only predictions, standardised (NaN where none; those rows are skipped).
    curve : numpy.ndarray of shape (n, d)
        Standardised curve features (``d = 0`` at budget 0).
    target : numpy.ndarray of shape (n,)
        Standardised targets.
    hparams : numpy.ndarray of shape (n, h), optional
        Standardised hyperparameters (read by the kernel stacks).
    statistics : numpy.ndarray of shape (n, s), optional
        The networks' statistics (:func:`naapgnn.graph.statistics.graph_statistics`; read by the
        kernel stacks, which scale them).
    cv : int
        Folds for the stacked models' own held-out predictions.
    random_state : int
        Seed of the folds (and of the subset of ``max_rows`` records).
    repeats : int, optional
        Draws of ``cv`` folds (seeds ``random_state``, ``random_state + 1``, ...) the scores are averaged over;
        by default :data:`GATE_REPEATS` up to :data:`REPEATED_ROWS` records, one above.
    max_rows : int
        Most records the stacks read; beyond that a seeded random subset (the
        others get no held-out prediction: NaN in ``oof``).
    curve_kinds : tuple of str
        The candidates with a curve weighed (of :data:`CURVE_KINDS`; an ablation leaves some out).
    shared : Budget0Gate, optional
        The budget-0 part of an earlier gate (its ``shared``), reused where it read the same ``oof``, ``target``,
        ``hparams``, ``statistics`` and settings (the same model at another budget); otherwise fitted anew.
    check_picks : bool
        The ablation of the module docstring: a curve only where its pick wins on records it did not read.
    values : numpy.ndarray of shape (n, v), optional
        Standardised per-epoch values and differences beyond the curve features (read by ``"svr_values"``).
    groups : numpy.ndarray of shape (n,), optional
        Each record's configuration (:func:`naapgnn.data.configurations.held_out_groups`): the folds hold a
        configuration's records out together (:class:`naapgnn.models.gate_rules.GroupedFolds`).

    Returns
    -------
    CurveStack
    """
    from sklearn.model_selection import cross_val_predict

    n = len(oof)
    hparams, statistics, values = (np.zeros((n, 0)) if a is None else a for a in (hparams, statistics, values))
    budget0_args = (oof, target, hparams, statistics, cv, random_state, max_rows, repeats, groups)
    if shared is None or not shared.reads(*budget0_args):
        shared = fit_budget0_gate(*budget0_args)
    rows, draws = shared.rows, shared.draws
    base, y = oof[rows], target[rows]
    inputs = {kind: kernel_columns(kind, base, curve[rows], hparams[rows], statistics[rows], values[rows])
              for kind in KERNEL_INPUTS}
    held_out, scores, settings = dict(shared.held_out), dict(shared.scores), dict(shared.settings)
    gate, budget0 = dict(shared.gate), shared.choice
    informative = curve.shape[1] and varies_in_every_fold(curve[rows], draws)
    kinds = [k for k in CURVE_KINDS if k in curve_kinds and informative and (k != "svr_values" or values.shape[1])
             and (k not in SVR_KINDS or varies_in_every_fold(inputs[k][:, 1:], draws))]
    for kind in kinds:
        if kind == "linear":
            held_out[kind] = [cross_val_predict(ridge_regression(), np.c_[base, curve[rows]], y, cv=f) for f in draws]
        elif kind in SVR_KINDS:
            settings[kind], held_out[kind] = best_svr(model_columns(kind, inputs[kind]), y, draws)
            gate[f"{kind}_setting"] = dict(zip(("C", "nu", "gamma"), settings[kind]))
        else:
            settings[kind], held_out[kind] = best_kernel(inputs[kind], base, y, draws)
            gate[f"{kind}_setting"] = dict(zip(("alpha", "gamma"), settings[kind]))
        scores[kind] = mean_scores(held_out[kind], y)
        gate[f"{gate_key(kind)}_mae"], gate[f"{gate_key(kind)}_tau"] = scores[kind]
    mixtures = {(kind, w): [w * a + (1 - w) * b for a, b in zip(held_out[kind], held_out[budget0])]
                for kind in kinds if kind in ("linear", "nonlinear") for w in MIXTURE_WEIGHTS}
    for svr in (k for k in kinds if k in SVR_KINDS):
        shares = target_mixtures(held_out[svr], held_out[budget0], y, draws, MIXTURE_WEIGHTS)
        mixtures.update({(svr, w): preds for w, preds in shares.items()})
    scores.update({mix: mean_scores(preds, y) for mix, preds in mixtures.items()})
    choice, mean, near = budget0, None, []
    if mixtures:  # a curve: the bar is the budget-0 choice or its linear rescaling, whichever errs less (a ridge
        # that reads the graph prediction gains that rescaling too, and it is no reason to read the curve)
        bar = {**scores, budget0: shared.rescaled_bar()}
        near = within_one_standard_error(budget0, mixtures, bar, y)
        choice = highest_tau(near, budget0, bar)  # better_mixture's pick
        if check_picks and choice != budget0:
            choice = choice if selection_holds(mixtures, held_out[budget0], shared.rescaled(), y, draws) else budget0
        mean = mean_of_near(near, mixtures, bar[budget0], y) if choice != budget0 else None
    shares = _shares(near if mean else [choice], choice)
    kind, weight = choice if isinstance(choice, tuple) else (choice, 1.0)
    weight = shares.pop(kind, weight)
    gate.update(kind=kind, weight=weight, budget0_kind=budget0, used=kind in CURVE_KINDS)
    gate["mae"], gate["tau"] = mean[1] if mean else scores[choice]
    if mean:
        gate["mean_of"] = [f"{k}:{w:g}" for k, w in near]
    stacked_oof = np.full(n, np.nan)
    stacked_oof[rows] = (mean[0] if mean else mixtures[choice] if isinstance(choice, tuple) else held_out[choice])[0]
    stack = fit_kind(kind, base, curve[rows], y, inputs, settings)
    stack.oof, stack.gate = stacked_oof, gate
    stack.others = [(fit_kind(other, base, curve[rows], y, inputs, settings), share) for other, share in shares.items()]
    if weight < 1:
        stack.weight, stack.budget0 = weight, shared.fitted()
    stack.shared = shared
    return stack


def _shares(mixtures: list, choice) -> dict:
    """Each curve kind's share in the equal-weight mean of ``mixtures`` (``(kind, weight)`` pairs), the kind of
    ``choice`` first; empty where the choice is the budget-0 model."""
    if not isinstance(choice, tuple):
        return {}
    shares = {choice[0]: 0.0}
    for kind, weight in mixtures:
        shares[kind] = shares.get(kind, 0.0) + weight / len(mixtures)
    return shares

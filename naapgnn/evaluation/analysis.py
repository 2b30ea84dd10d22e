"""The answer read off the runs: the best predictor per budget and the budget advice.

The advice ("how many epochs?") is read from *inner* runs only: folds inside
the training part of each outer split (see :func:`naapgnn.evaluation.evaluate.run_evaluation`),
so it never sees an outer test architecture. The rule (:func:`good_enough_budget`):
per budget take the predictor with the best mean inner Kendall tau; the best
budget is the one with the highest such mean; the advice is the smallest
budget whose mean is within the spread (std over inner splits) of the best
budget's mean, or within ``tolerance`` when that is larger. :func:`advise`
applies it per outer split and then scores each choice on that split's test
architectures.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from naapgnn.errors import NaapgnnError

HEADLINE_ORDER = ("repeated", "kfold", "official", "extrapolate")
INNER_PREFIX = "inner:"
SUMMARY_METRICS = ("kendall_tau", "violations", "mae")

__all__ = ["best_per_budget", "close_leads", "close_lead_words", "configuration_taus", "best_label",
           "good_enough_budget",
           "headline_protocol", "summarize_runs", "advise",
           "budget_edge_note", "inner_protocol", "times_faster", "spent_fraction", "cost_definition",
           "stopped_before_note", "HEADLINE_ORDER", "INNER_PREFIX"]


def inner_protocol(protocol: str) -> str:
    """The name of the inner runs nested in ``protocol``'s training parts (e.g. ``inner:official``)."""
    return INNER_PREFIX + protocol


def best_per_budget(results, protocol: str | None = None):
    """For each budget, the predictor with the highest mean Kendall tau (fewer violations break ties).

    ``results`` holds means (results.csv, or :func:`summarize_runs`); with ``protocol`` only its rows are read.
    """
    return _ranked(results, protocol).groupby("budget", sort=True).head(1).reset_index(drop=True)


def _ranked(results, protocol: str | None):
    """``results`` (of ``protocol``) by budget, best first within each: the highest mean Kendall tau, then the
    fewest violations."""
    sub = results if protocol is None else results[results["protocol"] == protocol]
    return sub.sort_values(["budget", "kendall_tau", "violations"], ascending=[True, False, True], na_position="last")


def close_leads(results, runs, protocol: str) -> list[dict]:
    """The budgets where :func:`best_per_budget`'s pick leads the next predictor by no more than the standard error
    of their Kendall taus' difference paired over the same runs (split and seed): a lead a mean alone overstates.
    Each: ``budget``, ``best``, ``next`` and :func:`naapgnn.evaluation.protocols.paired_difference`'s ``mean``,
    ``se``, ``at_least``, ``n`` (budgets of fewer than 2 paired runs are left out)."""
    from naapgnn.evaluation.protocols import paired_difference

    mine = runs[runs["protocol"] == protocol]
    out = []
    for budget, ranked in _ranked(results, protocol).groupby("budget", sort=True):
        if len(ranked) < 2 or math.isnan(float(ranked.iloc[1]["kendall_tau"])):
            continue
        best, second = ranked.iloc[0]["predictor"], ranked.iloc[1]["predictor"]
        taus = [mine[(mine["budget"] == budget) & (mine["predictor"] == key)].set_index(["split", "seed"])[
            "kendall_tau"].dropna() for key in (best, second)]
        pairs = taus[0].index.intersection(taus[1].index)
        if len(pairs) < 2:
            continue
        lead = paired_difference(taus[0][pairs].to_numpy(), taus[1][pairs].to_numpy())
        if lead["mean"] <= lead["se"]:
            out.append({"budget": int(budget), "best": best, "next": second, **lead})
    return out


def close_lead_words(lead: dict, name) -> str:
    """One sentence for a :func:`close_leads` entry (``name``: predictor key -> its name)."""
    epochs = f"{lead['budget']} epoch{'s' * (lead['budget'] != 1)}"
    return (f"at {epochs} {name(lead['best'])} leads {name(lead['next'])} by {lead['mean']:+.3f} "
            f"+- {lead['se']:.3f} in Kendall tau paired over {lead['n']} runs, level or ahead on {lead['at_least']} "
            f"of them: within one standard error, a tie")


def configuration_taus(result, protocol: str):
    """Where the ``protocol``'s test splits hold runs of one configuration more than once (seeds): per predictor and
    budget, the mean and std over runs of the Kendall tau over configuration means (each configuration's runs'
    targets and predictions averaged), as a frame with ``predictor, budget, kendall_tau, kendall_tau_std`` and
    ``twin_pairs``, the pairs per test split that are two runs of one configuration (ordered by seed noise alone,
    which the ordinary figures count as any pair); None where no test split repeats a configuration."""
    import pandas as pd

    from naapgnn.evaluation.metrics import kendall_tau

    groups = result.bench.groups
    if groups is None:
        return None
    rows, twins = [], []
    for (key, budget, run_protocol), runs in result.predictions.items():
        if run_protocol != protocol:
            continue
        taus = []
        for run in runs:
            test = np.asarray(run["test"])
            _, inverse, counts = np.unique(groups[test], return_inverse=True, return_counts=True)
            twins.append(int((counts * (counts - 1) // 2).sum()))
            mean = lambda values: np.bincount(inverse, weights=values) / counts  # noqa: E731
            taus.append(kendall_tau(mean(result.bench.y[test]), mean(np.asarray(run["pred"], dtype=float))))
        rows.append({"predictor": key, "budget": budget, "kendall_tau": float(np.mean(taus)),
                     "kendall_tau_std": float(np.std(taus, ddof=1)) if len(taus) > 1 else math.nan})
    if not rows or not max(twins):
        return None
    return pd.DataFrame(rows).assign(twin_pairs=float(np.mean(twins))).sort_values(["budget", "predictor"])


def undefined_text(result, key: str, budget: int, protocol: str) -> str:
    """"undefined (why)" for a predictor's Kendall tau at a budget that is undefined (NaN): the reason on its first
    run where it is (:func:`naapgnn.evaluation.metrics.undefined_tau_reason`)."""
    from naapgnn.evaluation.metrics import undefined_tau_reason

    for run in result.predictions.get((key, budget, protocol), []):
        reason = undefined_tau_reason(result.bench.y[run["test"]], run["pred"])
        if reason:
            return f"undefined ({reason})"
    return "undefined"


def best_label(row, label: str) -> str:
    """``label`` of a :func:`best_per_budget` row, or "none" where its Kendall tau is undefined on every run
    (the test targets, or every predictor's predictions, all equal): no order was there to pick a best by."""
    return "none (Kendall tau undefined)" if math.isnan(float(row["kendall_tau"])) else label


def spent_fraction(budget: int, full_epochs: int | None, run_epochs=None) -> float:
    """The share of training every candidate's full run takes that reading ``budget`` epochs of each takes:
    ``budget / full_epochs``, or where runs stopped early at their own lengths (``run_epochs``, each run's epochs),
    the sum of ``min(budget, run)`` over their sum, the cost ``naapgnn search --strategy early-stop`` charges
    (:attr:`naapgnn.search.problem.SearchProblem.run_epochs`). NaN without a full training."""
    if budget == 0:
        return 0.0
    if not full_epochs:
        return math.nan
    if run_epochs is None:
        return budget / full_epochs
    runs = np.asarray(run_epochs, dtype=float)
    return float(np.minimum(budget, runs).sum() / runs.sum())


def stopped_before_note(budgets, run_epochs) -> str | None:
    """Per budget, how many runs had stopped before it (``run_epochs``: each run's epochs, None when none stopped
    early); None when no budget passes a run's stop."""
    if run_epochs is None:
        return None
    runs = np.asarray(run_epochs)
    counts = [(k, n) for k in sorted(budgets) if k > 0 and (n := int((runs < k).sum()))]
    if not counts:
        return None
    listed = ", ".join(f"{n} at {'budget ' if i == 0 else ''}{k}" for i, (k, n) in enumerate(counts))
    return (f"of the {len(runs)} runs, some had stopped before the budget ({listed}): those read their last "
            "logged value from their stop on (finished runs stopped early), so the budget reads nothing of them "
            "past their own length, and charges each its own length")


def cost_definition(full: int | None, run_epochs) -> str:
    """How the report counts training spent, speed-up and saving (:func:`spent_fraction`)."""
    if run_epochs is None:
        return (f"Training spent = budget / {full or 'the full training'}; speed-up per architecture = "
                f"{full or 'full epochs'} / budget; saved = 1 - budget / {full or 'full epochs'}.")
    short = sum(r < full for r in run_epochs)
    return (f"{short} of the {len(run_epochs)} runs stopped early, before epoch {full}: each costs its own length, "
            "and reading a budget of it min(budget, its length). Training spent = the sum of min(budget, length) "
            "over the sum of the lengths; speed-up = its inverse; saved = 1 - spent (as `naapgnn search "
            "--strategy early-stop` counts).")


def times_faster(speedup: float) -> str:
    """A speed-up as the reports print it: one decimal below 10 (5 of 9 epochs is 1.8x, not 2x), whole above."""
    return f"{speedup:.1f}x" if speedup < 10 else f"{speedup:.0f}x"


def summarize_runs(runs):
    """Mean, std (ddof=1; NaN for one run) and run count of Kendall tau, violations and MAE per predictor and budget."""
    grouped = runs.groupby(["predictor", "budget"], sort=False)[list(SUMMARY_METRICS)]
    table = grouped.mean()
    spread = grouped.std(ddof=1).add_suffix("_std")
    counts = runs.groupby(["predictor", "budget"], sort=False).size().rename("n_runs")
    return table.join(spread).join(counts).reset_index()


def good_enough_budget(summary, tolerance: float = 0.0) -> dict:
    """The smallest budget whose best mean Kendall tau is within the spread of the best budget's.

    Parameters
    ----------
    summary : DataFrame
        One row per predictor and budget: ``kendall_tau`` (mean over splits),
        ``kendall_tau_std`` (std over splits), ``violations`` (tie-break).
    tolerance : float
        A floor on the margin: good enough = mean tau >= best mean - max(best std, tolerance).

    Returns
    -------
    dict
        ``budget``, ``predictor``, ``kendall_tau``, ``kendall_tau_std`` of the advice;
        ``best_budget``, ``best_predictor``, ``best_kendall_tau``, ``best_kendall_tau_std``
        of the reference; ``margin`` (the margin applied).
    """
    best = best_per_budget(summary)
    if best.empty:
        raise NaapgnnError("good_enough_budget: no runs to read the advice from")
    if best["kendall_tau"].isna().all():
        raise NaapgnnError("budget advice: Kendall tau is undefined on every inner run (each inner test fold's "
                           "targets, or predictions, all equal); give --inner-folds 0")
    ref = best.loc[best["kendall_tau"].idxmax()]
    spread = float(ref["kendall_tau_std"]) if "kendall_tau_std" in best and not np.isnan(ref["kendall_tau_std"]) else 0.0
    margin = max(spread, float(tolerance))
    ok = best[best["kendall_tau"] >= ref["kendall_tau"] - margin].iloc[0]
    return {"budget": int(ok["budget"]), "predictor": ok["predictor"], "kendall_tau": float(ok["kendall_tau"]),
            "kendall_tau_std": float(ok.get("kendall_tau_std", math.nan)),
            "mae": float(ok.get("mae", math.nan)), "mae_std": float(ok.get("mae_std", math.nan)),
            "best_budget": int(ref["budget"]), "best_predictor": ref["predictor"],
            "best_kendall_tau": float(ref["kendall_tau"]), "best_kendall_tau_std": spread, "margin": margin}


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and std (ddof=1) over the runs where the metric is defined (a Kendall tau is not where every target
    or prediction is equal), as :func:`summarize_runs` takes them; NaN where none is."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if not len(values):
        return math.nan, math.nan
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else math.nan


def _test_metric(test_runs, split: int, fixed: bool, predictor: str, budget: int):
    """Test runs of one choice on one outer split (every seed on a fixed split)."""
    rows = test_runs[(test_runs["predictor"] == predictor) & (test_runs["budget"] == budget)]
    return rows if fixed else rows[rows["split"] == split]


def advise(inner_runs, test_runs, n_inner: int, full_epochs: int | None, tolerance: float = 0.0,
           fixed_split: bool = False, run_epochs=None) -> dict:
    """The budget advice chosen on the inner runs of each outer split, and how it fares on the outer tests.

    Parameters
    ----------
    inner_runs : DataFrame
        runs.csv-shaped rows of the inner protocol; ``split // n_inner`` is the outer split.
    test_runs : DataFrame
        The outer protocol's runs (its test architectures); only read to score the choices.
    n_inner : int
        Inner splits per outer split.
    full_epochs : int or None
        Epochs of a full training (the benchmark's curve length); None when it has no curves.
    tolerance : float
        See :func:`good_enough_budget`.
    fixed_split : bool
        The outer protocol has one split fitted with several seeds (official, extrapolate).
    run_epochs : sequence of int, optional
        Each run's own length where some stopped early (:func:`spent_fraction`); every run ``full_epochs`` if None.

    Returns
    -------
    dict
        ``choices`` (one :func:`good_enough_budget` dict per outer split, with its
        ``outer_split`` and the test ``test_kendall_tau`` and ``test_mae`` of the
        choice and of the inner-best ``reference_test_kendall_tau``); the advice
        ``budget`` (chosen in most outer splits, the smaller on a tie), ``predictor``,
        ``agree`` (outer splits that chose it), ``inner_kendall_tau`` / ``_std``
        and ``inner_mae`` / ``_std`` over its inner runs, ``saved`` (1 - :func:`spent_fraction`),
        ``speedup`` (its inverse); ``test_kendall_tau`` / ``_std``, ``test_mae`` / ``_std``
        over the outer test runs of the per-split choices; ``hindsight_predictor``,
        ``hindsight_budget``, ``hindsight_kendall_tau`` / ``_std``: the best mean on the
        test runs at any budget, for comparison only (it is chosen on the test architectures).
    """
    if n_inner < 2 or inner_runs.empty:
        raise NaapgnnError("advise: no inner runs")
    outer = inner_runs["split"] // n_inner
    choices, test_taus, test_maes = [], [], []
    for split, group in inner_runs.groupby(outer, sort=True):
        choice = good_enough_budget(summarize_runs(group), tolerance)
        choice["outer_split"] = int(split)
        choice["saved"] = 1 - spent_fraction(choice["budget"], full_epochs, run_epochs)
        chosen = _test_metric(test_runs, split, fixed_split, choice["predictor"], choice["budget"])
        reference = _test_metric(test_runs, split, fixed_split, choice["best_predictor"], choice["best_budget"])
        choice["test_kendall_tau"] = float(chosen["kendall_tau"].mean()) if len(chosen) else math.nan
        choice["test_mae"] = float(chosen["mae"].mean()) if len(chosen) else math.nan
        choice["reference_test_kendall_tau"] = float(reference["kendall_tau"].mean()) if len(reference) else math.nan
        test_taus += chosen["kendall_tau"].tolist()
        test_maes += chosen["mae"].tolist()
        choices.append(choice)
    budgets = [c["budget"] for c in choices]
    budget = min(set(budgets), key=lambda b: (-budgets.count(b), b))
    names = [c["predictor"] for c in choices if c["budget"] == budget]
    predictor = max(dict.fromkeys(names), key=names.count)
    agreeing = [c for c in choices if (c["budget"], c["predictor"]) == (budget, predictor)]
    mine = inner_runs[(inner_runs["predictor"] == predictor) & (inner_runs["budget"] == budget)
                      & outer.isin([c["outer_split"] for c in agreeing])]
    answer = {"choices": choices, "budget": budget, "predictor": predictor, "agree": len(agreeing),
              "n_outer": len(choices), "n_inner": n_inner, "full_epochs": full_epochs, "tolerance": tolerance,
              "saved": 1 - spent_fraction(budget, full_epochs, run_epochs),
              "speedup": math.inf if budget == 0 else 1 / spent_fraction(budget, full_epochs, run_epochs)}
    for name, values in (("inner_kendall_tau", mine["kendall_tau"]), ("inner_mae", mine["mae"]),
                         ("test_kendall_tau", test_taus), ("test_mae", test_maes)):
        answer[name], answer[name + "_std"] = _mean_std(list(values))
    best = best_per_budget(summarize_runs(test_runs)) if len(test_runs) else None
    if best is not None and best["kendall_tau"].notna().any():  # undefined where every test target is equal
        top = best.loc[best["kendall_tau"].idxmax()]
        answer.update({"hindsight_budget": int(top["budget"]), "hindsight_predictor": top["predictor"],
                       "hindsight_kendall_tau": float(top["kendall_tau"]),
                       "hindsight_kendall_tau_std": float(top["kendall_tau_std"])})
    return answer


def headline_protocol(protocols: Sequence[str]) -> str:
    """The protocol the report's answer is read from: the sturdiest one that was run."""
    return next(p for p in HEADLINE_ORDER if p in protocols)


def budget_edge_note(advice: dict, budgets, shortest: int, run_epochs=None) -> str | None:
    """A sentence when the inner folds of some training split rank best at the largest budget tried while the
    curves hold more epochs (a longer budget may rank better still, and the advice cannot see it); else None. Where
    runs stopped early (``run_epochs``), it says how many more have ended by the longest curve: a budget past a
    run's stop reads its last logged value, so part of a longer budget's gain is runs that have ended."""
    top = max(budgets)
    at_edge = sum(c["best_budget"] == top for c in advice["choices"])
    if not at_edge or top >= shortest:
        return None
    note = (f"In {at_edge} of {len(advice['choices'])} training splits the inner folds rank best at the largest "
            f"budget tried, {top} epochs, and the curves hold {shortest}: a longer budget may rank better still "
            "(give longer ones in --budgets to see)")
    runs = np.asarray(run_epochs) if run_epochs is not None else np.zeros(0)
    ending = int(((runs > top) & (runs < shortest)).sum())
    if ending:
        note += (f"; but {ending} of the {len(runs)} runs stop early between those epochs, and a budget past a run's "
                 "stop reads its last logged value, what the run ended on: part of what a longer budget gains is those "
                 "runs having ended, not a better reading of the others")
    return note + "."


def lacking_whom(records, missing) -> str:
    """"no record" when none of ``records`` holds any of ``missing`` (the words of
    :func:`naapgnn.evaluation.evaluate.channels_lacking`: a channel, ``accuracy (under any name)``, ``lr (cyclic,
    period P)``), else "not every record"."""
    return "not every record" if any(_held_by_some(records, m) for m in missing) else "no record"


def _held_by_some(records, item: str) -> bool:
    from naapgnn.data.channels import SCHEDULE_CHANNEL, accuracy_candidates
    from naapgnn.features.curves import declares_cycle

    if item.endswith("(under any name)"):
        return any(accuracy_candidates([r]) for r in records)
    if item.startswith(f"{SCHEDULE_CHANNEL} (cyclic, period "):
        period = int(item.rstrip(")").rsplit(" ", 1)[1])
        return any(declares_cycle([r], period) for r in records)
    return any(len(r.curve.get(item, ())) for r in records)


def reads_lacking(records, channels, data: str = "") -> str:
    """``reads the curve channel(s) A, B, which no record [of DATA] has`` (or ``not every record``; or, when some
    are held by some records and others by none, ``A, B, C: no record [of DATA] has A, and not every record has B,
    C``): why a model is left out at budgets >= 1, in the same words wherever it is said (``evaluate``,
    ``baselines``, the report)."""
    of = f" of {data}" if data else ""
    some = [c for c in channels if _held_by_some(records, c)]
    none = [c for c in channels if c not in some]
    listed = ", ".join(channels)
    if some and none:
        return (f"reads the curve channel(s) {listed}: no record{of} has {', '.join(none)}, and not every record has "
                f"{', '.join(some)}{_first_without(records, some)}")
    return (f"reads the curve channel(s) {listed}, which {lacking_whom(records, channels)}{of} has"
            f"{_first_without(records, some)}")


def _first_without(records, items) -> str:
    """`` (the first without: line N, record 'id')`` for the first of ``records`` that lacks one of ``items``, ''
    when there is none."""
    for r in records:
        if not all(_held_by_some([r], item) for item in items):
            where = f"line {r.line}, " if r.line else ""
            return f" (the first without: {where}record {r.id!r})"
    return ""


def cells_lacking(bench, predictors) -> dict[str, str]:
    """Predictor key -> why ``evaluate`` leaves it out at every budget: it reads NAS-Bench-201 cells
    (``Entry.nb201_cells``) and a record of ``bench`` is not such a network. Empty when no other predictor is
    asked for: the cell's own error then names the record."""
    from naapgnn.data.nb201_cells import first_not_network

    keys = [p.key for p in predictors if p.entry.nb201_cells]
    where = first_not_network(bench.records, bench.file) if 0 < len(keys) < len(predictors) else None
    return {} if where is None else {key: f"it reads NAS-Bench-201 cells only, and {where} is not a NAS-Bench-201 "
                                          "network" for key in keys}


def nothing_to_run(option: str, budgets, name: str, lacking: dict, records) -> NaapgnnError:
    """The one-line error when no model of ``option`` runs at any of ``budgets`` on the file ``name``: at budget 0
    only those reading no curve run, and at budgets >= 1 those ``lacking`` (model -> channels) are left out."""
    why = "; ".join(f"{model} {reads_lacking(records, channels)}" for model, channels in lacking.items())
    return NaapgnnError(f"{option}: nothing to run at budgets {', '.join(map(str, budgets))} on {name}: at budget 0 "
                        "only a model that reads no curve runs" + (f", and {why}" if why else ""))

"""The answer read off a results table: the best predictor per budget and the good-enough budget."""
from __future__ import annotations

import math
from typing import Sequence

from naapgnn.data.naap440 import NUM_EPOCHS
from naapgnn.errors import NaapgnnError

HEADLINE_ORDER = ("repeated", "kfold", "official", "extrapolate")

__all__ = ["best_per_budget", "good_enough_budget", "headline_protocol", "HEADLINE_ORDER"]


def best_per_budget(results, protocol: str):
    """For each budget, the predictor with the highest mean Kendall tau (fewer violations break ties)."""
    sub = results[results["protocol"] == protocol].copy()
    sub = sub.sort_values(["budget", "kendall_tau", "violations"], ascending=[True, False, True], na_position="last")
    return sub.groupby("budget", sort=True).head(1).reset_index(drop=True)


def good_enough_budget(results, protocol: str, tolerance: float = 0.01, full_epochs: int = NUM_EPOCHS) -> dict:
    """The smallest budget whose best predictor is within ``tolerance`` Kendall tau of the best at any budget.

    Parameters
    ----------
    results : DataFrame
        results.csv's table.
    protocol : str
        The protocol whose rows are read.
    tolerance : float
        Kendall tau below the best that is still good enough.
    full_epochs : int
        Epochs of a full training (NAAP-440: 90).

    Returns
    -------
    dict
        ``budget``, ``predictor``, ``kendall_tau`` (of that choice), ``best_budget``,
        ``best_predictor``, ``best_kendall_tau`` (the reference), ``fraction``
        (budget / full_epochs) and ``speedup`` (full_epochs / budget; inf at budget 0).
    """
    best = best_per_budget(results, protocol)
    if best.empty:
        raise NaapgnnError(f"no results for protocol {protocol!r}")
    ref = best.loc[best["kendall_tau"].idxmax()]
    ok = best[best["kendall_tau"] >= ref["kendall_tau"] - tolerance].iloc[0]
    budget = int(ok["budget"])
    return {
        "budget": budget, "predictor": ok["predictor"], "kendall_tau": float(ok["kendall_tau"]),
        "violations": float(ok["violations"]), "mae": float(ok["mae"]),
        "best_budget": int(ref["budget"]), "best_predictor": ref["predictor"],
        "best_kendall_tau": float(ref["kendall_tau"]),
        "fraction": budget / full_epochs,
        "speedup": math.inf if budget == 0 else full_epochs / budget,
        "tolerance": tolerance,
    }


def headline_protocol(protocols: Sequence[str]) -> str:
    """The protocol the report's answer is read from: the sturdiest one that was run."""
    return next(p for p in HEADLINE_ORDER if p in protocols)

"""Searching a larger space with zero training: predict every scheme, list the best, say what is new.

:func:`rank_space` enumerates a space's schemes here and predicts them in a
pool of forked worker processes (each holding the fitted model once);
:func:`scheme_text` and the novelty checks describe the top candidates
against the schemes the model was trained on.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from naapgnn.arch.space import SpaceRules, iter_search_space
from naapgnn.search.problem import predict_with_std
from naapgnn.search.strategies import scheme_key


@dataclass
class SpaceRanking:
    """Predictions for every scheme of a space.

    Attributes
    ----------
    top : pandas.DataFrame
        The best predicted: ``rank``, ``scheme`` (compact text), ``predicted``,
        ``uncertainty``, ``params``, ``macs``, ``blocks``, ``novelty`` (what is
        outside the training schemes), ``known_accuracy`` (when the scheme is a
        training architecture).
    n : int
        Schemes predicted.
    novelty_counts : dict of str to int
        How many of all candidates have each kind of novelty.
    seconds : dict of str to float
        Wall time of ``enumerate``, ``predict`` (parse, encode or featurise,
        and predict, in the worker processes) and ``total``.
    processes : int
    n_training : int
        Training schemes the novelty is measured against.
    largest_training : int
        The most parameters among them (0 without any).
    best_training : float
        The best known accuracy among them (NaN without any).
    tied : int
        Candidates predicted at least as high as the last one listed (more
        than ``len(top)`` means ties were broken by enumeration order).
    mean, std : numpy.ndarray
        Every candidate's prediction and uncertainty, in enumeration order.
    """

    top: Any
    n: int
    novelty_counts: dict
    seconds: dict
    processes: int
    n_training: int = 0
    largest_training: int = 0
    best_training: float = float("nan")
    tied: int = 0
    mean: np.ndarray | None = None
    std: np.ndarray | None = None


_WORKER_MODEL = None


def _init_pool_worker(model) -> None:
    import os

    from naapgnn.runtime import exit_with_parent

    exit_with_parent(os.getppid())  # quiet on Ctrl-C, gone with a killed command
    _init_worker(model)


def _init_worker(model) -> None:
    global _WORKER_MODEL
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    _WORKER_MODEL = model


def _predict_chunk(schemes: list) -> tuple[np.ndarray, np.ndarray]:
    from naapgnn.arch.format import parse_architecture
    from naapgnn.data.records import Record

    records = [Record(id=str(i), arch=parse_architecture(s)) for i, s in enumerate(schemes)]
    return predict_with_std(_WORKER_MODEL, records)


def rank_space(model, rules: SpaceRules, training_schemes: Sequence[Sequence[dict]] = (),
               known_accuracy: Sequence[float] | None = None, top: int = 20, processes: int = 2,
               chunk_size: int = 2048, progress: bool = True) -> SpaceRanking:
    """Predict every scheme of ``rules`` with a fitted zero-training model.

    Enumeration runs here; parsing, encoding (or featurising) and prediction
    run in ``processes`` worker processes on chunks of ``chunk_size`` schemes
    (``processes=1``: in this process).

    Parameters
    ----------
    model : fitted estimator with ``predict(records, return_std=True)`` (budget 0)
    rules : SpaceRules
        For example :func:`naapgnn.arch.space.enlarged_rules`.
    training_schemes : the schemes the model was trained on (to flag novelty)
    known_accuracy : their final accuracies (reported for top schemes that are among them)
    top : int
    processes, chunk_size : int
    """
    import pandas as pd
    from tqdm import tqdm

    from naapgnn.arch.profiling import architecture_statistics

    start = time.perf_counter()
    schemes = list(iter_search_space(rules))
    t_enum = time.perf_counter() - start
    chunks = [schemes[i:i + chunk_size] for i in range(0, len(schemes), chunk_size)]
    bar = tqdm(total=len(schemes), desc="predicting", unit="arch", disable=not progress, leave=False)
    results = []
    if processes > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(processes, initializer=_init_pool_worker, initargs=(model,)) as pool:
            for chunk, result in zip(chunks, pool.imap(_predict_chunk, chunks)):
                results.append(result)
                bar.update(len(chunk))
    else:
        _init_worker(model)
        for chunk in chunks:
            results.append(_predict_chunk(chunk))
            bar.update(len(chunk))
    bar.close()
    mean = np.concatenate([r[0] for r in results])
    std = np.concatenate([r[1] for r in results])
    t_total = time.perf_counter() - start

    seen = _seen_values(training_schemes)
    known = {scheme_key(s): (None if known_accuracy is None else float(a))
             for s, a in zip(training_schemes, known_accuracy if known_accuracy is not None else
                             [None] * len(training_schemes))}
    counts: dict[str, int] = {"in the training schemes": 0}
    for s in schemes:
        reasons = _novelty(s, seen, known)
        for category in {c for c, _ in reasons}:
            counts[category] = counts.get(category, 0) + 1
        counts["in the training schemes"] += not reasons
    best = np.argsort(-mean, kind="stable")[:top]
    tied = int(np.sum(mean >= mean[best[-1]] - 1e-12)) if len(best) else 0
    rows = []
    for place, i in enumerate(best, start=1):
        s = schemes[i]
        stats = architecture_statistics(s)
        rows.append({"rank": place, "scheme": scheme_text(s), "predicted": float(mean[i]),
                     "uncertainty": float(std[i]), "params": stats["NumParams"], "macs": stats["NumMACs"],
                     "blocks": stats["NumLayers"],
                     "novelty": "; ".join(d for _, d in _novelty(s, seen, known)) or "none (a training scheme)",
                     "known_accuracy": known.get(scheme_key(s))})
    return SpaceRanking(top=pd.DataFrame(rows), n=len(schemes), novelty_counts=counts, tied=tied, mean=mean, std=std,
                        seconds={"enumerate": t_enum, "predict": t_total - t_enum, "total": t_total},
                        processes=processes, n_training=len(training_schemes),
                        largest_training=max((architecture_statistics(s)["NumParams"] for s in training_schemes),
                                             default=0),
                        best_training=max((a for a in known.values() if a is not None), default=float("nan")))


def scheme_text(scheme: Sequence[dict]) -> str:
    """Compact scheme text: ``k3-w16-s2 / k1-w24-s1-res / ...``."""
    return " / ".join(
        f"k{b['kernel_size']}-w{b['width']}-s{b['stride']}" + ("-res" if b["residual"] else "") for b in scheme)


def _seen_values(schemes) -> dict:
    seen: dict = {"blocks": set()}
    for s in schemes:
        seen["blocks"].add(len(s))
        for i, b in enumerate(s):
            for name in ("kernel_size", "width", "stride"):
                seen.setdefault((i, name), set()).add(b[name])
    return seen


def _novelty(scheme, seen: dict, known: dict) -> list[tuple[str, str]]:
    """``(category, detail)`` for each way ``scheme`` leaves the training schemes."""
    if not seen["blocks"]:
        return [("outside the training data", "no training scheme")]
    reasons = []
    if len(scheme) not in seen["blocks"]:
        reasons.append(("deeper", f"{len(scheme)} blocks"))
    for name, label in (("kernel_size", "kernel"), ("width", "width"), ("stride", "stride")):
        new = [f"{b[name]} at block {i + 1}" for i, b in enumerate(scheme)
               if i < max(seen["blocks"]) and b[name] not in seen.get((i, name), ())]
        if new:
            reasons.append((f"new {label}", f"{label} " + ", ".join(new)))
    if not reasons and scheme_key(scheme) not in known:
        reasons.append(("new combination", "new combination of seen values"))
    return reasons

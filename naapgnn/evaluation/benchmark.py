"""What an evaluation runs on: the records, their targets, the official test flags and the curves' length."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naapgnn.errors import NaapgnnError

__all__ = ["Benchmark", "load_benchmark_for_evaluation", "benchmark_from_table"]


@dataclass
class Benchmark:
    """What the engine evaluates on.

    Attributes
    ----------
    records : list of Record
        Every architecture (with target and curve).
    table : DataFrame or list of Record
        Input of the tabular features: the NAAP-440 frame when there is one
        (its own columns are read), else the records.
    y : numpy.ndarray
        Final accuracies, in record order.
    is_test : numpy.ndarray of bool
        The official test flags.
    name : str
        For the report.
    max_epochs : int
        Epochs of curve every record has (the largest usable budget).
    zero_cost : dict
        Seed -> {score name: raw scores}, filled by :func:`naapgnn.models.zero_cost.compute_zero_cost`.
    """

    records: list
    table: Any
    y: np.ndarray
    is_test: np.ndarray
    name: str
    max_epochs: int
    zero_cost: dict = field(default_factory=dict)
    zero_cost_source: str = ""
    zero_cost_seconds: dict = field(default_factory=dict)  # score -> seconds per architecture
    _fingerprint: str = field(default="", repr=False, init=False)

    def fingerprint(self) -> str:
        """A digest of ids, architectures, targets, test flags and accuracy curves (cache keys depend on it)."""
        if not self._fingerprint:
            self._fingerprint = self._digest()
        return self._fingerprint

    def _digest(self) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps([[r.id, r.arch.to_dict()] for r in self.records], sort_keys=True).encode())
        digest.update(np.ascontiguousarray(self.y, dtype=float).tobytes())
        digest.update(np.ascontiguousarray(self.is_test, dtype=bool).tobytes())
        for r in self.records:
            acc = r.curve.get("accuracy")
            if acc is not None:
                digest.update(np.ascontiguousarray(acc, dtype=float).tobytes())
        return digest.hexdigest()[:16]

    def zero_cost_inputs(self, seed: int) -> dict[str, np.ndarray]:
        """The seed's zero-cost scores as finite model inputs (see :func:`naapgnn.models.zero_cost.finite_inputs`)."""
        from naapgnn.models.zero_cost import finite_inputs

        if seed not in self.zero_cost:
            raise NaapgnnError(f"zero-cost scores for seed {seed} were not computed")
        return finite_inputs(self.zero_cost[seed])


def benchmark_from_table(df, name: str | None = None) -> Benchmark:
    """A NAAP-440 DataFrame (rows in the order given) as a :class:`Benchmark`."""
    from naapgnn.data.records import records_from_naap440

    records = records_from_naap440(df)
    name = name or f"NAAP-440 ({len(df)} architectures, {int(df['IsTest'].sum())} in the official test split)"
    return _checked(records, df, name, "NAAP-440")


def load_benchmark_for_evaluation(source=None, target_scale: str = "fraction") -> Benchmark:
    """Read NAAP-440 (folder or CSV; None: the default location) or a JSON Lines benchmark
    (targets read as ``target_scale``, see :func:`naapgnn.data.records.load_benchmark`).

    Every record needs a target; the official protocol needs some records
    marked ``"split": "test"``.
    """
    from naapgnn.data.records import load_benchmark

    path = None if source is None else Path(source)
    if path is None or path.is_dir() or path.suffix.lower() == ".csv":
        from naapgnn.data.naap440 import load_naap440

        return benchmark_from_table(load_naap440(path))
    records = load_benchmark(path, target_scale=target_scale)
    return _checked(records, records, f"{path.name} ({len(records)} architectures)", source)


def _checked(records, table, name, source) -> Benchmark:
    missing = [r.id for r in records if r.target is None]
    if missing:
        raise NaapgnnError(f"{source}: record {missing[0]!r} has no target (evaluation needs every final accuracy)")
    y = np.array([r.target for r in records], dtype=float)
    is_test = np.array([r.split == "test" for r in records], dtype=bool)
    return Benchmark(records, table, y, is_test, name, min(r.num_epochs for r in records))

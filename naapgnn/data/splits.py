"""Seeded train/test splits of the imported benchmarks."""
from __future__ import annotations

import numpy as np

from naapgnn.errors import NaapgnnError


def seeded_test_flags(n: int, seed: int, test_fraction: float) -> np.ndarray:
    """``round(n * test_fraction)`` of ``n`` records drawn as test (a boolean mask), the same for the same seed.

    Raises
    ------
    NaapgnnError
        When ``test_fraction`` is not strictly between 0 and 1 (named as the ``--test-fraction`` option).
    """
    check_test_fraction(test_fraction)
    is_test = np.zeros(n, dtype=bool)
    is_test[np.random.default_rng(seed).permutation(n)[:int(round(n * test_fraction))]] = True
    return is_test


def check_test_fraction(test_fraction: float) -> None:
    """One line, naming ``--test-fraction``, unless the share is strictly between 0 and 1."""
    if not 0 < test_fraction < 1:
        raise NaapgnnError(f"--test-fraction must be strictly between 0 and 1 (the share of networks marked test), "
                           f"got {test_fraction:g}")

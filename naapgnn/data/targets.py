"""A record's target: its final accuracy, as a fraction in [0, 1] whichever scale its file gives it in."""
from __future__ import annotations

import math
from typing import Any, Sequence

from naapgnn.data.hparams import finite_number
from naapgnn.errors import NaapgnnError

__all__ = ["TARGET_SCALES", "check_scale", "check_target", "read_target", "percent_notice", "mixed_target_units"]

TARGET_SCALES = ("fraction", "percent")
_SCALE_DIVISOR = {"fraction": 1.0, "percent": 100.0}


def check_scale(target_scale: str) -> None:
    """Raise :class:`NaapgnnError` unless ``target_scale`` is one of :data:`TARGET_SCALES`."""
    if target_scale not in TARGET_SCALES:
        raise NaapgnnError(f"target scale must be fraction or percent, got {target_scale!r}")


def check_target(value: float, target_scale: str = "fraction") -> float:
    """``value`` as a fraction in [0, 1]; a percentage (``target_scale="percent"``) is divided by 100.

    Raises :class:`NaapgnnError` for a value outside the scale's range, suggesting
    ``--target-scale percent`` when the value looks like a percentage.
    """
    check_scale(target_scale)
    divisor = _SCALE_DIVISOR[target_scale]
    if not 0 <= value <= divisor:
        hint = ("; accuracies in percent? use --target-scale percent (target_scale=\"percent\" in Python)"
                if target_scale == "fraction" and 1 < value <= 100 else "")
        raise NaapgnnError(f"{value!r} is outside [0, {divisor:g}]{hint}")
    return float(value) / divisor if divisor != 1 else float(value)


def read_target(value: Any, target_scale: str) -> float:
    """A record's decoded ``target`` as a fraction (:func:`check_target`); :class:`NaapgnnError` starting
    ``target:`` unless it is a finite number in the scale's range."""
    finite_number(value, "target")
    try:
        return check_target(value, target_scale)  # the value as written, in the message
    except NaapgnnError as exc:
        raise NaapgnnError(f"target: {exc}") from None


def percent_notice(targets: Sequence[float | None], target_scale: str, name: str) -> str | None:
    """A one-line warning when ``target_scale`` is ``"percent"`` and every target, so divided, is below 0.01:
    fractions already, most likely. Not an error: a benchmark of runs near chance on thousands of classes
    is below 1 % throughout."""
    given = [t for t in targets if t is not None]
    if target_scale != "percent" or not given or max(given) >= 0.01:
        return None
    return (f"{name}: every target is below 0.01 once --target-scale percent divides it by 100 (the highest "
            f"{100 * max(given):g} as written): fractions already? then drop --target-scale percent")


def mixed_target_units(raw: Sequence[tuple[int, Any]], name: str, target_scale: str = "fraction",
                       listed: int = 3) -> str | None:
    """A one line message for a file whose targets (``raw``: line and value as written) are mostly fractions, at
    most 1, while some lie in (1, 100], percentages most likely; None otherwise. Read in fractions, it is an error
    (``--target-scale percent`` would read the fractions 100 times too small); declared in percent, a warning (a
    benchmark of runs near chance on a thousand classes stays below 1 % for most)."""
    numbers = [(line, v) for line, v in raw
               if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    above = [(line, v) for line, v in numbers if 1 < v <= 100]
    fractions = sum(0 <= v <= 1 for _, v in numbers)
    if not above or fractions <= len(numbers) / 2:
        return None
    shown = ", ".join(f"line {line} ({v:g})" for line, v in above[:listed])
    more = f" and {len(above) - listed} more" if len(above) > listed else ""
    if target_scale == "percent":
        return (f"{name}: target: {fractions} of {len(numbers)} records give at most 1, read as at most 1 % under "
                f"--target-scale percent, while {shown}{more} {'give' if len(above) > 1 else 'gives'} more: fractions "
                "mixed in? give every target in the same unit")
    return (f"{name}: target: mixed units: {shown}{more} above 1 (percentages?) while {fractions} of {len(numbers)} "
            "records give fractions; give every target in the same unit")

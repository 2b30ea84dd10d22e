"""Units of accuracy channels: a file in percent read as fractions, and fractions mixed with percentages.

:func:`naapgnn.data.channels.fraction_scale` reads a channel in percent when a value exceeds 1.05; these checks
catch what that reading gets wrong: percentages that never exceed it (:func:`low_percent_notice`), and records
in fractions among records in percent (:func:`mixed_units_notice`), which would read 100 times too small.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from naapgnn.data.channels import (ACCURACY_SLACK, CUT_SHORT_MARGIN, LOW_PERCENT_GAP, accuracy_candidates,
                                   accuracy_channels, fraction_scale, is_error_channel, is_training_channel,
                                   measured_channels)
from naapgnn.errors import NaapgnnError

__all__ = ["low_percent_notice", "mixed_units_notice"]


def low_percent_notice(records: Sequence, name: str) -> str | None:
    """Under ``--target-scale percent``, a one-line warning naming the held-out accuracy and error-rate channels that
    never exceed 1.05, so read as fractions, though so read most runs end off their final accuracy where in percent
    they would not: an accuracy above it (by more than :data:`CUT_SHORT_MARGIN`; percentages of a many-class task's
    first epochs, 0.87 %), an error rate below it by more than :data:`LOW_PERCENT_GAP` (0.8 % error on MNIST read as
    20 % accuracy). Not changed: fractions beside targets in percent read the same way, and the values alone
    cannot tell."""
    channels = accuracy_channels(records)
    scored = [r for r in records if r.target is not None]
    odd = [c for c, factor in accuracy_candidates(records).items()  # factor +-1: read as fractions
           if abs(factor) == 1.0 and not is_training_channel(c, channels) and scored
           and np.mean([_off_as_fractions(r.curve[c][-1], r.target, factor < 0) for r in scored]) > 0.5]
    if not odd:
        return None
    return (f"{name}: curve {', '.join(odd)}: no value above 1.05, read as fractions, though most runs would then "
            "end off their final accuracy (in percent they would not): percentages? give them as fractions "
            "(divided by 100)")


def _off_as_fractions(last: float, target: float, error: bool) -> bool:
    """Whether a run's last value, read as fractions, is off its ``target`` where read in percent it is not."""
    if not error:
        return last > target + CUT_SHORT_MARGIN
    return 1.0 - last < target - LOW_PERCENT_GAP and 1.0 - last / 100 <= target + CUT_SHORT_MARGIN


def mixed_units_notice(records: Sequence, name: str, lines: Sequence, declared: bool = False,
                       place: str = "line") -> str | None:
    """A one-line warning when an accuracy or error-rate channel read in percent (:func:`fraction_scale`) has a
    quarter to a half of its records never above 1.05, as in a file mixing percentages and fractions (a run
    dead at 0.5 % of a 200-class task stays that low too, but rarely a quarter of them); None otherwise, and
    always when the file is ``declared`` in percent (``--target-scale percent``): low values are then percentages.

    Raises
    ------
    NaapgnnError
        When more than half never exceed 1.05 (not ``declared``): the records above it, named by ``lines`` (each a
        ``place``: a file's line, or a record's id where they were built in Python), are
        the odd ones out, and reading the file in percent would read the others 100 times too small. And, declared
        or not, when a record that never exceeds 1.05 reads against its target as the others do only in fractions
        (:func:`_records_in_fractions`): one record in fractions among percentages, which the count of low records
        cannot tell from a run dead near chance.
    """
    for channel in sorted({c for r in records for c in measured_channels(r.curve)}):
        if fraction_scale(records, channel) != 0.01:
            continue
        having = [(float(np.max(r.curve[channel])), line) for r, line in zip(records, lines)
                  if len(r.curve.get(channel, ()))]
        highs = [h for h, _ in having]
        low = sum(h <= 1.0 + ACCURACY_SLACK for h in highs)
        if not declared and len(highs) >= 2 and low > len(highs) / 2:
            raise NaapgnnError(_mixed_units(name, channel, having, low, place))
        ending = _records_in_fractions(records, lines, channel)
        if ending:
            raise NaapgnnError(_fractions_among_percent(name, channel, ending, len(highs) - len(ending), place))
        if declared:
            continue
        if len(highs) >= 2 and low >= len(highs) / 4:
            return (f"{name}: curve.{channel}: {low} of {len(highs)} records never exceed 1.05 while others reach "
                    f"{max(highs):g}: read as percentages, all of them; fractions mixed in would read 100 times "
                    "too small")
    return None


def _mixed_units(name: str, channel: str, having: list, low: int, place: str = "line", listed: int = 3) -> str:
    """The error for a channel whose records are mostly fractions, ``having`` holding each one's highest value and
    line."""
    above = [line for h, line in having if h > 1.0 + ACCURACY_SLACK]
    shown = ", ".join(map(str, above[:listed])) + (f" and {len(above) - listed} more" if len(above) > listed else "")
    lines_exceed = f"{place}s {{}} exceed" if len(above) > 1 else f"{place} {{}} exceeds"
    return (f"{name}: curve.{channel}: mixed units: {lines_exceed.format(shown)} 1.05 "
            f"(up to {max(h for h, _ in having):g}, percentages?) while {low} of {len(having)} records never do "
            "(fractions); give every record in the same unit")


def _records_in_fractions(records: Sequence, lines: Sequence[int], channel: str) -> list[tuple]:
    """``(line, last value, target)`` of each record whose ``channel`` never exceeds 1.05 yet reads as fractions
    the way the records above 1.05 read in percent: its last accuracy (one minus an error rate) over its target
    lies within the others' range of that ratio (widened by half) read as a fraction, and outside it read as a
    percentage. A run in percent dead near chance has a target near chance too, so its ratio read as a percentage
    is like the others' and read as a fraction a hundred times theirs: not flagged."""
    error = is_error_channel(channel)

    def ratio(r, scale: float) -> float:
        last = float(r.curve[channel][-1]) * scale
        return (1.0 - last if error else last) / r.target

    scored = [(r, line) for r, line in zip(records, lines)
              if r.target is not None and r.target > 0 and len(r.curve.get(channel, ()))]
    low = [(r, line) for r, line in scored if float(np.max(r.curve[channel])) <= 1.0 + ACCURACY_SLACK]
    others = [ratio(r, 0.01) for r, _ in scored if float(np.max(r.curve[channel])) > 1.0 + ACCURACY_SLACK]
    if len(others) < 2:
        return []
    bottom, top = min(others) / 1.5, max(others) * 1.5
    return [(line, float(r.curve[channel][-1]), r.target) for r, line in low
            if bottom <= ratio(r, 1.0) <= top and not bottom <= ratio(r, 0.01) <= top]


def _fractions_among_percent(name: str, channel: str, ending: list, others: int, place: str = "line",
                             listed: int = 3) -> str:
    """The error for records in fractions (``ending``, of :func:`_records_in_fractions`) among ``others`` read
    in percent."""
    shown = ", ".join(f"{line} (ends {last:g}, target {target:g})" for line, last, target in ending[:listed])
    more = f" and {len(ending) - listed} more" if len(ending) > listed else ""
    return (f"{name}: curve.{channel}: mixed units: {place}{'s' if len(ending) > 1 else ''} {shown}{more} "
            f"in fractions (so read, like the others in percent against their targets) while {others} records give "
            "percent; give every record in the same unit")

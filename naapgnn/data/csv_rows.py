"""Reading a public benchmark's CSV: its rows with their line numbers, and checked cells."""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Sequence

from naapgnn.errors import NaapgnnError


def read_csv_rows(path: Path, needed: Sequence[str], what: str) -> list[tuple[int, dict]]:
    """``(line number, row)`` for every row of the CSV at ``path``.

    Fails with one line when the file cannot be read, is not a CSV, has no rows,
    names a column twice, lacks one of the ``needed`` columns (``what`` names the
    expected file) or has a row with more or fewer cells than the header.
    """
    start = 1  # the line the row being read starts on (a quoted cell may hold line breaks)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # past a byte-order mark, as Excel writes
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            if not header:
                raise NaapgnnError(f"{path}: empty file, expected a header line")
            check_unique_columns(path, header)
            missing = [c for c in needed if c not in header]
            if missing:
                raise NaapgnnError(f"{path}: missing column {missing[0]!r} (not {what}?)")
            rows, start = [], reader.line_num + 1
            for row in reader:
                rows.append((start, _whole(row, len(header), path, start)))
                start = reader.line_num + 1
    except OSError as exc:
        raise NaapgnnError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise NaapgnnError(f"{path} line {_undecodable_line(path)}: not UTF-8 text ({exc.reason}); save it as UTF-8"
                           ) from None
    except csv.Error as exc:
        unclosed = " (a quote opened there and never closed?)" if "field larger" in str(exc) else ""
        raise NaapgnnError(f"{path} line {start}: not a readable CSV: {exc}{unclosed}") from None
    if not rows:
        raise NaapgnnError(f"{path}: no rows")
    return rows


def _undecodable_line(path: Path) -> int:
    """The first line of ``path`` that is not UTF-8."""
    for number, raw in enumerate(Path(path).read_bytes().split(b"\n"), start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return number
    return 1


def check_unique_columns(path: Path | str, header: Sequence[str]) -> None:
    """Refuse a header that names a column twice (a dict reader would keep the last one's cells, pandas would
    rename it), naming the 1-based columns, e.g. ``column 'acc_3' appears twice (columns 11 and 149)``."""
    places: dict[str, list[int]] = {}
    for number, name in enumerate(header, start=1):
        places.setdefault(name, []).append(number)
    for name, numbers in places.items():
        if len(numbers) > 1:
            times = "twice" if len(numbers) == 2 else f"{len(numbers)} times"
            listed = ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"
            raise NaapgnnError(f"{path}: column {name!r} appears {times} (columns {listed})")


def _whole(row: dict, width: int, path: Path, line: int) -> dict:
    """``row`` itself when it has one cell per header column (csv.DictReader files surplus cells under
    None and fills missing ones with None)."""
    extra, missing = row.get(None), sum(v is None for k, v in row.items() if k is not None)
    if extra or missing:
        cells = width + len(extra or []) - missing
        raise NaapgnnError(f"{path} line {line}: {cells} cells, the header has {width}")
    return row


def number(row: dict, column: str, where: str) -> float:
    """The finite number in ``row[column]``; ``where`` ("file line N") names the row in the error."""
    text = row.get(column)
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise NaapgnnError(f"{where}: column {column}: expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise NaapgnnError(f"{where}: column {column}: expected a finite number, got {text!r}")
    return value

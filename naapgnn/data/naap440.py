"""The NAAP-440 dataset: validate and load.

:func:`load_naap440` returns one row per architecture with every column of
``naap440v2.csv`` (a superset of ``naap440.csv``) plus a ``scheme`` column.
Where the folder is found (and how it is downloaded when missing) is
:mod:`naapgnn.data.download`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from naapgnn.arch.format import parse_architecture
from naapgnn.arch.profiling import architecture_statistics
from naapgnn.data.download import BASELINES_CSV, SCHEMES_JSON, V1_CSV, V2_CSV, dataset_dir
from naapgnn.data.hparams import MAX_MAGNITUDE
from naapgnn.errors import NaapgnnError
from naapgnn.io import loads_json, read_text

NUM_EPOCHS = 90
CURVE_METRICS = ("LossMean", "LossMedian", "Accuracy")

SCHEME_COLUMNS_V1 = (
    "ModelId", "IsTest", "NumParams", "NumMACs", "NumLayers", "NumStages",
    "FirstLayerWidth", "LastLayerWidth",
)
SCHEME_COLUMNS_V2 = SCHEME_COLUMNS_V1 + ("NumSkipConnections", "NumPartialRFLayers")
INT_COLUMNS = SCHEME_COLUMNS_V2
BASELINE_COLUMNS = (
    "Model", "Features", "MeanAbsoluteError", "NumViolations", "MaxViolations", "MonotonicityScore",
)
SCHEME_KEYS = ("kernel_size", "width", "stride", "residual")
# Read straight off a scheme, so they confirm the ModelId -> scheme alignment (NumParams and NumMACs also
# depend on the profiler's counting convention).
_SCHEME_CHECKED = SCHEME_COLUMNS_V2[4:]


def learning_rates(epochs: int = NUM_EPOCHS) -> list[float]:
    """The dataset's declared schedule, per epoch (epoch 1 first): 0.1, multiplied by 0.1 after every
    epoch and reset to 0.1 every 3 epochs (the training logs' ``LR`` lines)."""
    return [0.1 * 0.1 ** (e % 3) for e in range(epochs)]


def curve_columns(epochs: int | Iterable[int] = NUM_EPOCHS, metrics: Iterable[str] = CURVE_METRICS) -> list[str]:
    """Names of the per-epoch columns, epoch-major as in the CSV.

    Parameters
    ----------
    epochs : int or iterable of int
        ``k`` means epochs ``1..k``; an iterable lists the epochs explicitly.
    metrics : iterable of str
        Any of ``"LossMean"``, ``"LossMedian"``, ``"Accuracy"``.

    Returns
    -------
    list of str
        For example ``curve_columns(1) == ["e1LossMean", "e1LossMedian", "e1Accuracy"]``.
    """
    if isinstance(epochs, int):
        epochs = range(1, epochs + 1)
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in CURVE_METRICS]
    if unknown:
        raise NaapgnnError(f"unknown curve metric {unknown[0]!r} (expected one of {', '.join(CURVE_METRICS)})")
    return [f"e{e}{m}" for e in epochs for m in metrics]


def v1_columns() -> list[str]:
    """Columns of ``naap440.csv`` in file order."""
    return [*SCHEME_COLUMNS_V1, "MaxAccuracy", *curve_columns()]


def v2_columns() -> list[str]:
    """Columns of ``naap440v2.csv`` in file order."""
    return [*SCHEME_COLUMNS_V2, "MaxAccuracy", *curve_columns()]


# --- loading and validation ------------------------------------------------------


def load_naap440(path: str | os.PathLike | None = None):
    """Load NAAP-440: one row per architecture, sorted by ModelId.

    Parameters
    ----------
    path : str or path-like, optional
        A NAAP-440 folder or a CSV inside one; see the module docstring for the
        search order when omitted.

    Returns
    -------
    pandas.DataFrame
        All ``naap440v2.csv`` columns (integers as int64, the rest float64) and a
        ``scheme`` column (list of block dicts; ModelId ``i`` is scheme ``i-1`` of
        ``generated_schemes.json``). ``df.attrs["source"]`` is the folder used.

    Raises
    ------
    NaapgnnError
        A missing or malformed file, a cell that is not a number, a duplicate
        ModelId, a ModelId without a scheme, or v1/v2 files that disagree.
    """
    folder = dataset_dir(path)
    schemes = load_schemes(folder / SCHEMES_JSON)
    v2 = _read_csv(folder / V2_CSV, v2_columns())
    v1 = _read_csv(folder / V1_CSV, v1_columns())
    _check_agree(v1, v2)
    _check_schemes(v2, schemes, folder / V2_CSV)
    df = v2.sort_values("ModelId", kind="stable").reset_index(drop=True)
    df["scheme"] = [schemes[i - 1] for i in df["ModelId"]]
    df.attrs["source"] = str(folder)
    return df


def load_schemes(path: str | os.PathLike) -> list[list[dict]]:
    """Read and check ``generated_schemes.json`` (a list of schemes)."""
    path = Path(path)
    obj = loads_json(read_text(path), str(path))
    if not isinstance(obj, list) or not obj:
        raise NaapgnnError(f"{path}: expected a non-empty list of schemes")
    for i, scheme in enumerate(obj):
        where = f"{path}: scheme {i} (ModelId {i + 1})"
        if not isinstance(scheme, list) or not scheme:
            raise NaapgnnError(f"{where}: expected a non-empty list of blocks")
        for j, block in enumerate(scheme):
            problem = _block_problem(block)
            if problem:
                raise NaapgnnError(f"{where}, block {j}: {problem}")
    return obj


def _block_problem(block) -> str | None:
    if not isinstance(block, dict):
        return f"expected an object, got {type(block).__name__}"
    for key in SCHEME_KEYS:
        if key not in block:
            return f"missing field {key!r}"
    for key in ("kernel_size", "width", "stride"):
        value = block[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            return f"{key} must be a positive integer, got {value!r}"
    if not isinstance(block["residual"], bool):
        return f"residual must be true or false, got {block['residual']!r}"
    return None


def _where(path: Path, row: int, column: str) -> str:
    """Data row ``row`` (0-based) and the file line it sits on, as pandas reads it (blank lines skipped)."""
    return f"{path}: data row {row + 1} (line {_line_of(path, row)}), column {column}"


def _line_of(path: Path, row: int) -> int:
    try:
        lines = [i for i, text in enumerate(read_text(path).split("\n"), start=1) if text.strip()]
    except NaapgnnError:  # unreadable: the header on line 1, one row a line after it
        return row + 2
    return lines[row + 1] if row + 1 < len(lines) else row + 2


def _read_csv(path: Path, columns: list[str]):
    import pandas as pd

    from naapgnn.data.csv_rows import check_unique_columns

    try:
        df = pd.read_csv(path)
    except OSError as exc:
        raise NaapgnnError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        read_text(path)  # pandas gives the bad byte's offset within a chunk; this names it in the file
        raise
    except pd.errors.EmptyDataError:
        raise NaapgnnError(f"{path}: empty file, expected a header line") from None
    except pd.errors.ParserError as exc:
        raise NaapgnnError(f"{path}: malformed CSV: {str(exc).strip()}") from None
    check_unique_columns(path, pd.read_csv(path, header=None, nrows=1, dtype=str).iloc[0].tolist())  # pandas renames
    missing = [c for c in columns if c not in df.columns]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise NaapgnnError(f"{path}: header (line 1): missing column {missing[0]!r}{more}")
    if df.empty:
        raise NaapgnnError(f"{path}: no data rows")
    df = df[columns]
    _check_cells(df, path)
    wanted = {c: "int64" if c in INT_COLUMNS else "float64" for c in columns}
    df = df.astype({c: t for c, t in wanted.items() if df[c].dtype != t}).copy()
    _check_ids(df, path)
    return df


def _check_cells(df, path: Path) -> None:
    """Report the first empty, NaN or non-numeric cell, a value beyond +-1e30 (as JSON Lines benchmarks refuse
    it), a fractional or too large (over 2**53) integer, and an accuracy outside [0, 1]."""
    import numpy as np
    import pandas as pd

    for column in df.columns:
        raw = df[column]
        if raw.isna().any():
            row = int(np.flatnonzero(raw.isna().to_numpy())[0])
            raise NaapgnnError(f"{_where(path, row, column)}: empty or NaN cell")
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        problems = ((~np.isfinite(values), "not a finite number"),
                    (np.abs(values) > MAX_MAGNITUDE, f"beyond +-{MAX_MAGNITUDE:g}"),
                    *([(values != np.round(values), "expected an integer"),
                       (np.abs(values) > 2.0**53, "too large an integer")] if column in INT_COLUMNS else []),
                    *([((values < 0) | (values > 1), "an accuracy outside [0, 1] (expected a fraction)")]
                      if column.endswith("Accuracy") else []))
        for bad, problem in problems:
            with np.errstate(invalid="ignore"):
                if bad.any():
                    row = int(np.flatnonzero(bad)[0])
                    raise NaapgnnError(f"{_where(path, row, column)}: {problem}, got {_cell_text(path, row, column)!r}")


def _cell_text(path: Path, row: int, column: str) -> str:
    """The cell as written in the file (pandas echoes 100000000000000000 in a float column as 1e+17), read by the
    same parser, so its rows are the table's."""
    import pandas as pd

    return str(pd.read_csv(path, dtype=str, keep_default_na=False)[column].iloc[row])


def _check_ids(df, path: Path) -> None:
    ids = df["ModelId"].to_numpy()
    first: dict[int, int] = {}
    for row, model_id in enumerate(ids.tolist()):
        if model_id < 1:
            raise NaapgnnError(f"{_where(path, row, 'ModelId')}: ModelId must be >= 1, got {model_id}")
        if model_id in first:
            raise NaapgnnError(
                f"{_where(path, row, 'ModelId')}: duplicate ModelId {model_id} "
                f"(first at data row {first[model_id] + 1})"
            )
        first[model_id] = row
    bad = ~df["IsTest"].isin((0, 1)).to_numpy()
    if bad.any():
        row = int(bad.nonzero()[0][0])
        raise NaapgnnError(f"{_where(path, row, 'IsTest')}: expected 0 or 1, got {df['IsTest'].iloc[row]}")


def _check_agree(v1, v2) -> None:
    import numpy as np

    a = v1.sort_values("ModelId").reset_index(drop=True)
    b = v2.sort_values("ModelId").reset_index(drop=True)
    only = sorted(set(a["ModelId"]) ^ set(b["ModelId"]))
    if only:
        where = V1_CSV if only[0] in set(a["ModelId"]) else V2_CSV
        raise NaapgnnError(f"{V1_CSV} and {V2_CSV} disagree: ModelId {only[0]} appears only in {where}")
    for column in v1.columns:
        diff = a[column].to_numpy() != b[column].to_numpy()
        if diff.any():
            i = int(np.flatnonzero(diff)[0])
            raise NaapgnnError(
                f"{V1_CSV} and {V2_CSV} disagree: ModelId {a['ModelId'].iloc[i]}, column {column}: "
                f"{a[column].iloc[i]} vs {b[column].iloc[i]}"
            )


def _check_schemes(df, schemes: list, path: Path) -> None:
    # ModelId i is schemes[i - 1]; the scheme-derived columns confirm the alignment.
    n = len(schemes)
    for row, record in enumerate(df[["ModelId", *_SCHEME_CHECKED]].to_dict("records")):
        model_id = record.pop("ModelId")
        if model_id > n:
            raise NaapgnnError(
                f"{_where(path, row, 'ModelId')}: ModelId {model_id} has no scheme "
                f"({SCHEMES_JSON} holds {n})"
            )
        arch = parse_architecture(schemes[model_id - 1], source=f"{SCHEMES_JSON}: scheme {model_id - 1}")
        statistics = architecture_statistics(arch)
        for column in _SCHEME_CHECKED:
            if record[column] != statistics[column]:
                raise NaapgnnError(
                    f"{_where(path, row, column)}: {record[column]} but the scheme of ModelId "
                    f"{model_id} in {SCHEMES_JSON} gives {statistics[column]}"
                )


def load_paper_baselines(path: str | os.PathLike | None = None):
    """The paper's baseline table (``paper_baseline_results.csv``) as a DataFrame.

    ``path`` is resolved like :func:`load_naap440`'s (a folder or a file in it).
    """
    import pandas as pd

    folder = dataset_dir(path)
    file = folder / BASELINES_CSV
    if not file.is_file():
        raise NaapgnnError(f"{folder}: missing {BASELINES_CSV}")
    try:
        df = pd.read_csv(file)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise NaapgnnError(f"{file}: malformed CSV: {str(exc).strip()}") from None
    missing = [c for c in BASELINE_COLUMNS if c not in df.columns]
    if missing:
        raise NaapgnnError(f"{file}: header (line 1): missing column {missing[0]!r}")
    return df

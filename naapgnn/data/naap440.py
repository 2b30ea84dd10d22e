"""The NAAP-440 dataset: locate, download (checksummed), validate and load.

:func:`load_naap440` returns one row per architecture with every column of
``naap440v2.csv`` (a superset of ``naap440.csv``) plus a ``scheme`` column.

The dataset folder is found in this order:

1. the ``path`` argument (a folder, or ``naap440.csv`` / ``naap440v2.csv`` in one);
2. the ``NAAPGNN_DATA`` environment variable (same forms);
3. the user cache, ``<cache>/naap440`` where ``<cache>`` is ``$NAAPGNN_CACHE`` or
   ``platformdirs.user_cache_dir("naapgnn")``;
4. a download into that cache from the dataset's public origin, the GitHub
   repository talcs/NAAP-440 at a pinned commit. Every file is verified against
   a pinned SHA-256 and only then renamed into place; a failed download leaves
   the cache as it was.

``NAAPGNN_DATA_URL`` replaces the download origin: files are then fetched as
``<NAAPGNN_DATA_URL>/<local file name>`` (for example a mirror holding a flat copy
of the folder). The pinned checksums still apply.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from naapgnn.errors import NaapgnnError

NUM_EPOCHS = 90
CURVE_METRICS = ("LossMean", "LossMedian", "Accuracy")

NAAP440_REPO = "talcs/NAAP-440"
NAAP440_COMMIT = "e15d75c443bab23e368cc87a435495404dea97c6"
NAAP440_BASE_URL = f"https://raw.githubusercontent.com/{NAAP440_REPO}/{NAAP440_COMMIT}"
DOWNLOAD_TIMEOUT_S = 60

ENV_DATA = "NAAPGNN_DATA"
ENV_CACHE = "NAAPGNN_CACHE"
ENV_URL = "NAAPGNN_DATA_URL"


@dataclass(frozen=True)
class DataFile:
    """One file of the dataset folder.

    Attributes
    ----------
    name : str
        File name in the local folder.
    remote_path : str
        Path inside the talcs/NAAP-440 repository.
    sha256 : str
        Hex digest of the published file.
    """

    name: str
    remote_path: str
    sha256: str


NAAP440_FILES: dict[str, DataFile] = {
    f.name: f
    for f in (
        DataFile("naap440.csv", "naap440.csv",
                 "ef0b0eb46ca13e813298fb18f3e77122810108e36c7a1524dd3fb6b13efbe7d7"),
        DataFile("naap440v2.csv", "naap440v2.csv",
                 "a0184f51aa942ce493483fd232719329e620cce3d1150da81a36cf8056749e9a"),
        DataFile("generated_schemes.json", "generated_schemes.json",
                 "83b7209a63c76e31fc2f8330e249f456cff6f9d2a2831ce971e245d105348c66"),
        DataFile("paper_baseline_results.csv", "experiment_results/results.csv",
                 "b8e8f96a96afd1bfe71ab54a06898f68d9bee4918b88bab00ff6f6f314e9bdf9"),
        DataFile("LICENSE", "LICENSE",
                 "d79aa9cddbb06f951ea2ef887b94a96df965b65a5cebfb6749210ae7ff3a5690"),
    )
}
V1_CSV, V2_CSV, SCHEMES_JSON, BASELINES_CSV = (
    "naap440.csv", "naap440v2.csv", "generated_schemes.json", "paper_baseline_results.csv",
)
_REQUIRED = (V1_CSV, V2_CSV, SCHEMES_JSON)

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


# --- location ----------------------------------------------------------------


def cache_dir() -> Path:
    """Root of naapgnn's user cache (``$NAAPGNN_CACHE`` or the platform default)."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("naapgnn"))


def dataset_dir(path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Resolve the NAAP-440 folder, downloading it into the cache when needed.

    Parameters
    ----------
    path : str or path-like, optional
        A folder, or ``naap440.csv`` / ``naap440v2.csv`` inside one. Without it
        ``$NAAPGNN_DATA`` is used, then the cache.
    download : bool
        Fetch missing or damaged cache files from the origin.

    Returns
    -------
    pathlib.Path
        A folder holding at least ``naap440.csv``, ``naap440v2.csv`` and
        ``generated_schemes.json``.
    """
    if path is not None:
        return _explicit_dir(Path(path), "path")
    env = os.environ.get(ENV_DATA)
    if env:
        return _explicit_dir(Path(env), ENV_DATA)
    folder = cache_dir() / "naap440"
    stale = [f for f in NAAP440_FILES.values() if not _intact(folder / f.name, f.sha256)]
    if stale:
        if not download:
            raise NaapgnnError(
                f"NAAP-440 is not in the cache {folder} (missing or damaged: "
                f"{', '.join(f.name for f in stale)}); set {ENV_DATA} to a local copy"
            )
        download_files(stale, folder)
    return folder


def _explicit_dir(path: Path, origin: str) -> Path:
    path = path.expanduser()
    if path.is_file():
        if path.name not in (V1_CSV, V2_CSV):
            raise NaapgnnError(
                f"{path} ({origin}): expected a NAAP-440 folder or its {V1_CSV} / {V2_CSV}"
            )
        path = path.parent
    if not path.is_dir():
        raise NaapgnnError(f"{path} ({origin}): no such NAAP-440 folder")
    missing = [name for name in _REQUIRED if not (path / name).is_file()]
    if missing:
        raise NaapgnnError(f"{path} ({origin}): missing {', '.join(missing)}")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _intact(path: Path, sha256: str) -> bool:
    return path.is_file() and _sha256(path) == sha256


# --- download ----------------------------------------------------------------


def file_url(f: DataFile) -> str:
    """Where ``f`` is downloaded from (``$NAAPGNN_DATA_URL/<name>`` when set)."""
    base = os.environ.get(ENV_URL)
    if base:
        return f"{base.rstrip('/')}/{f.name}"
    return f"{NAAP440_BASE_URL}/{f.remote_path}"


def download_files(files: Iterable[DataFile], folder: str | os.PathLike) -> None:
    """Download ``files`` into ``folder``, all or nothing.

    Each file is streamed to a temporary file in ``folder`` and checked against
    its SHA-256; only when every file checks out are they renamed into place.
    On any failure the temporary files (and any folders this call created, when
    they are empty) are removed and a :class:`NaapgnnError` names the URL and
    the reason.
    """
    files = list(files)
    folder = Path(folder)
    created = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NaapgnnError(f"cannot create the cache folder {folder}: {exc.strerror or exc}") from None
    print(f"naapgnn: downloading NAAP-440 ({len(files)} files) into {folder}", file=sys.stderr)
    staged: list[tuple[Path, Path]] = []
    try:
        for f in files:
            staged.append((_fetch(f, folder), folder / f.name))
        for tmp, final in staged:
            os.replace(tmp, final)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        for directory in created:
            try:
                directory.rmdir()
            except OSError:
                break
        raise


def _fetch(f: DataFile, folder: Path) -> Path:
    url = file_url(f)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{f.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise NaapgnnError(f"cannot write to the cache folder {folder}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp:
                for chunk in iter(lambda: resp.read(1 << 16), b""):
                    digest.update(chunk)
                    out.write(chunk)
        got = digest.hexdigest()
        if got != f.sha256:
            raise NaapgnnError(f"checksum mismatch for {f.name} from {url}: expected {f.sha256}, got {got}")
        return tmp
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, NaapgnnError):
            raise
        if isinstance(exc, Exception):
            raise NaapgnnError(
                f"cannot download {f.name} from {url}: {_why(exc)} (set {ENV_DATA} to a local copy)"
            ) from None
        raise


def _why(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        if not isinstance(exc.reason, Exception):
            return str(exc.reason)
        exc = exc.reason
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"timed out after {DOWNLOAD_TIMEOUT_S} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


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
    try:
        obj = json.loads(path.read_text())
    except OSError as exc:
        raise NaapgnnError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise NaapgnnError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
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
    # row is 0-based here; the header is line 1, so data row r sits on line r + 1.
    return f"{path}: data row {row + 1} (line {row + 2}), column {column}"


def _read_csv(path: Path, columns: list[str]):
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except OSError as exc:
        raise NaapgnnError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except pd.errors.EmptyDataError:
        raise NaapgnnError(f"{path}: empty file, expected a header line") from None
    except pd.errors.ParserError as exc:
        raise NaapgnnError(f"{path}: malformed CSV: {str(exc).strip()}") from None
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
    """Report the first empty, NaN, non-numeric or (in an integer column) fractional cell."""
    import numpy as np
    import pandas as pd

    for column in df.columns:
        raw = df[column]
        if raw.dtype.kind in "iu" or (raw.dtype.kind == "f" and column not in INT_COLUMNS
                                      and np.isfinite(raw.to_numpy()).all()):
            continue
        if raw.isna().any():
            row = int(np.flatnonzero(raw.isna().to_numpy())[0])
            raise NaapgnnError(f"{_where(path, row, column)}: empty or NaN cell")
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise NaapgnnError(f"{_where(path, row, column)}: not a finite number: {str(raw.iloc[row])!r}")
        if column in INT_COLUMNS and (values != np.round(values)).any():
            row = int(np.flatnonzero(values != np.round(values))[0])
            raise NaapgnnError(f"{_where(path, row, column)}: expected an integer, got {str(raw.iloc[row])!r}")


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


def scheme_summary(scheme: list[Mapping]) -> dict[str, int]:
    """The scheme-derived CSV columns of one scheme (NumLayers ... NumPartialRFLayers)."""
    return {
        "NumLayers": len(scheme),
        "NumStages": sum(b["stride"] > 1 for b in scheme),
        "FirstLayerWidth": scheme[0]["width"],
        "LastLayerWidth": scheme[-1]["width"],
        "NumSkipConnections": sum(bool(b["residual"]) for b in scheme),
        "NumPartialRFLayers": sum(b["stride"] > 1 and b["kernel_size"] == 1 for b in scheme),
    }


def _check_schemes(df, schemes: list, path: Path) -> None:
    # ModelId i is schemes[i - 1]; the scheme-derived columns confirm the alignment.
    n = len(schemes)
    for row, record in enumerate(df[["ModelId", *scheme_summary(schemes[0])]].to_dict("records")):
        model_id = record.pop("ModelId")
        if model_id > n:
            raise NaapgnnError(
                f"{_where(path, row, 'ModelId')}: ModelId {model_id} has no scheme "
                f"({SCHEMES_JSON} holds {n})"
            )
        for column, expected in scheme_summary(schemes[model_id - 1]).items():
            if record[column] != expected:
                raise NaapgnnError(
                    f"{_where(path, row, column)}: {record[column]} but the scheme of ModelId "
                    f"{model_id} in {SCHEMES_JSON} gives {expected}"
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

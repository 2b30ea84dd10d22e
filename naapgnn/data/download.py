"""Locate the NAAP-440 folder, or download it (checksummed) into the user cache.

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
import os
import socket
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from naapgnn.errors import NaapgnnError

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
            hint = ("; a CSV built from training logs is read by importing the logs instead (naapgnn import logs "
                    "RAW_DIR -o FILE.jsonl)" if path.suffix.lower() == ".csv" else "")
            raise NaapgnnError(f"{path} ({origin}): expected a NAAP-440 folder or its {V1_CSV} / {V2_CSV}{hint}")
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

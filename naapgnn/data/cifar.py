"""CIFAR-10 as tensors: check the standard ``cifar-10-batches-py`` folder, read it
through torchvision and apply the recipe's preprocessing once to the whole set.

The recipe's per-image pipeline is ``ToTensor()`` then
``Normalize((0.5,)*3, (0.5,)*3)``, i.e. ``(x / 255 - 0.5) / 0.5`` in float32.
:func:`load_cifar10` does the same three element-wise float32 operations on the
whole uint8 array at once (on the CPU), so every pixel gets bit-identical values.
"""
from __future__ import annotations

import hashlib
import io
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from naapgnn.errors import NaapgnnError

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
META_FILE = "batches.meta"
IMAGE_BYTES = 3 * 32 * 32
NUM_CLASSES = 10
MEAN = STD = 0.5

# numpy's array pickling; nothing else may be reconstructed from a batch file.
_SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    # how Python 3 writes bytes (protocol 2) and arrays (protocol 5) into a pickle: data, no code
    ("_codecs", "encode"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
}


@dataclass
class CifarTensors:
    """Preprocessed CIFAR-10: images float32 ``[N, 3, 32, 32]``, labels int64 ``[N]``."""

    train_x: Any
    train_y: Any
    test_x: Any
    test_y: Any

    def to(self, device, memory_format=None) -> "CifarTensors":
        """Copy to ``device`` (optionally as channels-last)."""
        import torch

        fmt = memory_format or torch.contiguous_format
        return CifarTensors(
            self.train_x.to(device).contiguous(memory_format=fmt),
            self.train_y.to(device),
            self.test_x.to(device).contiguous(memory_format=fmt),
            self.test_y.to(device),
        )


def batches_folder(root: str | Path) -> Path:
    """``root/cifar-10-batches-py``, or ``root`` itself when it is that folder."""
    root = Path(root)
    if root.name == FOLDER or (root / TEST_FILES[0]).exists():
        return root
    return root / FOLDER


def cifar10_digest(root: str | Path) -> str:
    """The first 16 hex digits of the SHA-256 of the batch files (training, then test): which CIFAR-10 files a
    run trained on, so that a resumed run on other files is refused."""
    folder = batches_folder(root)
    digest = hashlib.sha256()
    for name in (*TRAIN_FILES, *TEST_FILES):
        with open(folder / name, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def check_cifar10(root: str | Path) -> Path:
    """Validate a CIFAR-10 folder without trusting it.

    Every batch file must unpickle (numpy arrays only) to a dict with ``data``
    (uint8 ``[N, 3072]``) and ``labels`` (N integers in 0-9), and
    ``batches.meta`` must name 10 classes.

    Returns
    -------
    Path
        The ``cifar-10-batches-py`` folder.

    Raises
    ------
    NaapgnnError
        One line naming the folder or file and what is wrong.
    """
    folder = batches_folder(root)
    if not folder.is_dir():
        raise NaapgnnError(f"{folder}: CIFAR-10 folder not found (expected {FOLDER} with data_batch_1..5 "
                           f"and test_batch; --download fetches it)")
    missing = [name for name in (*TRAIN_FILES, *TEST_FILES, META_FILE) if not (folder / name).is_file()]
    if missing:
        state = "is a folder, not a file" if (folder / missing[0]).is_dir() else "is missing"
        raise NaapgnnError(f"{folder}: CIFAR-10 file {missing[0]} {state}")
    for name in (*TRAIN_FILES, *TEST_FILES):
        _check_batch(folder / name)
    meta = _safe_unpickle(folder / META_FILE)
    names = meta.get("label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != NUM_CLASSES:
        raise NaapgnnError(f"{folder / META_FILE}: expected a dict with 'label_names' listing {NUM_CLASSES} classes")
    return folder


def _check_batch(path: Path) -> None:
    import numpy as np

    entry = _safe_unpickle(path)
    if not isinstance(entry, dict) or "data" not in entry or "labels" not in entry:
        as_bytes = isinstance(entry, dict) and b"data" in entry and b"labels" in entry
        raise NaapgnnError(f"{path}: expected a dict with keys 'data' and 'labels'" + (
            " (text keys, as the published files read with encoding='latin1'; this one has bytes keys b'data' and "
            "b'labels': write it with text keys)" if as_bytes else ""))
    data, labels = entry["data"], entry["labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != IMAGE_BYTES:
        shape = getattr(data, "shape", None)
        dtype = getattr(data, "dtype", type(data).__name__)
        raise NaapgnnError(f"{path}: 'data' must be uint8 of shape [N, {IMAGE_BYTES}], got {dtype} {shape}")
    if data.shape[0] == 0:
        raise NaapgnnError(f"{path}: the batch holds no images")
    try:
        labels = np.asarray(labels)
    except Exception:  # noqa: BLE001 - anything unconvertible is malformed
        labels = np.asarray([])
    if labels.ndim != 1 or len(labels) != data.shape[0] or labels.dtype.kind not in "iu":
        raise NaapgnnError(f"{path}: 'labels' must be {data.shape[0]} integers, one per image")
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise NaapgnnError(f"{path}: labels must lie in 0..{NUM_CLASSES - 1}, found {int(labels.min())}..{int(labels.max())}")


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"forbidden object {module}.{name}")


def _safe_unpickle(path: Path) -> Any:
    try:
        with open(path, "rb") as f:
            return _NumpyOnlyUnpickler(io.BytesIO(f.read()), encoding="latin1").load()
    except OSError as exc:
        raise NaapgnnError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a malformed file
        raise NaapgnnError(f"{path}: not a CIFAR-10 pickle ({type(exc).__name__}: {exc})") from None


def download_cifar10(root: str | Path) -> Path:
    """Fetch CIFAR-10 into ``root`` with torchvision's checksummed downloader; a failed fetch leaves no ``root`` it
    created (an empty folder would read as a CIFAR-10 folder without its files next time)."""
    import shutil

    import torchvision

    created = not Path(root).exists()
    try:
        torchvision.datasets.CIFAR10(str(root), train=True, download=True)
    except Exception as exc:  # noqa: BLE001 - network and archive errors vary
        if created:
            shutil.rmtree(root, ignore_errors=True)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise NaapgnnError(f"{root}: CIFAR-10 download failed: {reason}") from None
    return Path(root) / FOLDER


def official_checksums(root: str | Path) -> bool:
    """True when every batch file has the official CIFAR-10 MD5 (torchvision's list)."""
    from torchvision.datasets import CIFAR10

    folder = batches_folder(root)
    for name, md5 in CIFAR10.train_list + CIFAR10.test_list:
        path = folder / name
        if not path.is_file() or hashlib.md5(path.read_bytes()).hexdigest() != md5:
            return False
    return True


def torchvision_split(root: str | Path, train: bool, transform=None):
    """The torchvision ``CIFAR10`` data set of a checked folder (any MD5)."""
    return _torchvision_split(batches_folder(root), train, transform)


def _torchvision_split(folder: Path, train: bool, transform=None):
    from torchvision.datasets import CIFAR10

    class _CheckedFolder(CIFAR10):
        # check_cifar10 has validated the files; accept copies whose MD5 differs
        # (e.g. the synthetic test set) instead of torchvision's checksum gate.
        def _check_integrity(self) -> bool:
            return True

        def _load_meta(self) -> None:
            meta = _safe_unpickle(Path(self.root) / self.base_folder / self.meta["filename"])
            self.classes = meta[self.meta["key"]]
            self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    _CheckedFolder.base_folder = folder.name
    return _CheckedFolder(str(folder.parent), train=train, transform=transform)


def to_normalized_tensor(images_hwc) -> Any:
    """uint8 ``[N, H, W, C]`` -> float32 ``[N, C, H, W]`` as ToTensor + Normalize(0.5, 0.5)."""
    import torch

    x = torch.as_tensor(images_hwc).permute(0, 3, 1, 2).contiguous()
    return x.to(dtype=torch.float32).div(255).sub(MEAN).div(STD)


def load_cifar10(root: str | Path, download: bool = False) -> CifarTensors:
    """Check, read (through torchvision) and preprocess CIFAR-10.

    Parameters
    ----------
    root : str or Path
        Folder holding ``cifar-10-batches-py`` (or that folder itself).
    download : bool
        Fetch the dataset first when it is not there.

    Returns
    -------
    CifarTensors
        On the CPU; move with :meth:`CifarTensors.to`.
    """
    import torch

    if download and not batches_folder(root).is_dir():
        download_cifar10(root)
    folder = check_cifar10(root)
    train = _torchvision_split(folder, train=True)
    test = _torchvision_split(folder, train=False)
    return CifarTensors(
        to_normalized_tensor(train.data),
        torch.as_tensor(train.targets, dtype=torch.int64),
        to_normalized_tensor(test.data),
        torch.as_tensor(test.targets, dtype=torch.int64),
    )


def write_synthetic_cifar10(root: str | Path, n_train: int = 64, n_test: int = 32, seed: int = 0) -> Path:
    """Write a small learnable data set in the exact ``cifar-10-batches-py`` format.

    Images are noise around a class-dependent colour and stripe pattern, so a
    small network gets well above chance within an epoch or two. ``n_train`` is
    spread over ``data_batch_1..5``.

    Returns
    -------
    Path
        The ``cifar-10-batches-py`` folder written.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)

    def images(n: int) -> tuple[np.ndarray, list[int]]:
        labels = rng.integers(0, NUM_CLASSES, size=n)
        base = np.zeros((n, 3, 32, 32), dtype=np.float64)
        for c in range(NUM_CLASSES):
            colour = np.array([(c * 37) % 256, (c * 91) % 256, (c * 53) % 256], dtype=np.float64)
            stripes = np.sin(np.arange(32) * (c + 1) * np.pi / 16.0)[None, None, :] * 40.0
            base[labels == c] = colour[:, None, None] + stripes
        noisy = base + rng.normal(0.0, 30.0, size=base.shape)
        return np.clip(noisy, 0, 255).astype(np.uint8).reshape(n, IMAGE_BYTES), labels.tolist()

    splits = np.array_split(np.arange(n_train), len(TRAIN_FILES))
    data, labels = images(n_train)
    for i, (name, idx) in enumerate(zip(TRAIN_FILES, splits)):
        _dump(folder / name, {"batch_label": f"training batch {i + 1} of 5", "labels": [labels[j] for j in idx],
                              "data": data[idx], "filenames": [f"synthetic_{j}.png" for j in idx]})
    data, labels = images(n_test)
    _dump(folder / TEST_FILES[0], {"batch_label": "testing batch 1 of 1", "labels": labels, "data": data,
                                   "filenames": [f"synthetic_test_{j}.png" for j in range(n_test)]})
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    _dump(folder / META_FILE, {"num_cases_per_batch": len(splits[0]), "label_names": names, "num_vis": IMAGE_BYTES})
    return folder


def _dump(path: Path, obj: dict) -> None:
    # Keys and strings as bytes, pickled the way Python 2 wrote the real files
    # (protocol 2, BINSTRING), so they load as str under encoding="latin1"
    # (torchvision) and as bytes under encoding="bytes" (the CIFAR web page).
    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump(_as_bytes(obj))
    path.write_bytes(buffer.getvalue())


def _as_bytes(obj: Any) -> Any:
    if isinstance(obj, str):
        return obj.encode("latin1")
    if isinstance(obj, dict):
        return {_as_bytes(k): _as_bytes(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_as_bytes(v) for v in obj]
    return obj


class _Py2Pickler(pickle._Pickler):  # the pure-Python pickler lets us replace one opcode writer
    def save_bytes(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[bytes] = save_bytes

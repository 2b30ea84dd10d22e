"""CIFAR-10 folder: the exact pickle format, bit-identical preprocessing, one-line errors."""
from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from naapgnn.data.cifar import (
    FOLDER,
    check_cifar10,
    load_cifar10,
    official_checksums,
    torchvision_split,
    write_synthetic_cifar10,
)
from naapgnn.errors import NaapgnnError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    write_synthetic_cifar10(root, n_train=64, n_test=32, seed=1)
    return root


@pytest.fixture
def broken(tiny, tmp_path):
    """A private copy to damage."""
    shutil.copytree(tiny / FOLDER, tmp_path / FOLDER)
    return tmp_path


def test_synthetic_files_have_the_cifar_pickle_format(tiny):
    folder = tiny / FOLDER
    sizes = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "rb") as f:
            entry = pickle.load(f, encoding="bytes")  # as the CIFAR-10 web page reads it
        assert entry[b"data"].dtype == np.uint8 and entry[b"data"].shape[1] == 3072
        assert len(entry[b"labels"]) == entry[b"data"].shape[0]
        sizes.append(entry[b"data"].shape[0])
    assert sum(sizes[:5]) == 64 and sizes[5] == 32
    with open(folder / "batches.meta", "rb") as f:
        assert len(pickle.load(f, encoding="bytes")[b"label_names"]) == 10
    assert not official_checksums(tiny)


def test_tensors_equal_torchvision_per_image_transforms(tiny):
    import torchvision.transforms as T

    data = load_cifar10(tiny)
    assert data.train_x.shape == (64, 3, 32, 32) and data.test_x.shape == (32, 3, 32, 32)
    assert data.train_x.dtype == torch.float32 and data.train_y.dtype == torch.int64
    transform = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    for train, x, y in ((True, data.train_x, data.train_y), (False, data.test_x, data.test_y)):
        ds = torchvision_split(tiny, train, transform)
        images, labels = zip(*(ds[i] for i in range(len(ds))))
        assert torch.equal(torch.stack(images), x)  # bit for bit
        assert torch.equal(torch.tensor(labels), y)


def test_root_may_be_the_batches_folder_itself(tiny):
    assert check_cifar10(tiny / FOLDER) == tiny / FOLDER
    assert torch.equal(load_cifar10(tiny / FOLDER).test_y, load_cifar10(tiny).test_y)


def _rewrite(path, **changes):
    with open(path, "rb") as f:
        entry = pickle.load(f, encoding="latin1")
    entry.update(changes)
    with open(path, "wb") as f:
        pickle.dump(entry, f)


def test_missing_folder(tmp_path):
    with pytest.raises(NaapgnnError, match=f"{FOLDER}: CIFAR-10 folder not found"):
        check_cifar10(tmp_path)


def test_missing_batch_file(broken):
    (broken / FOLDER / "data_batch_3").unlink()
    with pytest.raises(NaapgnnError, match="file data_batch_3 is missing"):
        check_cifar10(broken)


@pytest.mark.parametrize("damage, words", [
    (lambda p: p.write_bytes(b"not a pickle at all"), "not a CIFAR-10 pickle"),
    (lambda p: _rewrite(p, data=np.zeros((13, 100), dtype=np.uint8)), "must be uint8 of shape"),
    (lambda p: _rewrite(p, data=np.zeros((13, 3072), dtype=np.float32)), "must be uint8 of shape"),
    (lambda p: _rewrite(p, labels=[0] * 5), "'labels' must be 13 integers"),
    (lambda p: _rewrite(p, labels=[10] * 13), "labels must lie in 0..9"),
    (lambda p: _rewrite(p, data=np.zeros((0, 3072), dtype=np.uint8), labels=[]), "the batch holds no images"),
    (lambda p: p.write_bytes(pickle.dumps({"labels": [1]})), "expected a dict with keys 'data' and 'labels'"),
    (lambda p: p.write_bytes(pickle.dumps({b"data": np.zeros((13, 3072), dtype=np.uint8), b"labels": [0] * 13})),
     "this one has bytes keys b'data' and b'labels': write it with text keys"),
])
def test_malformed_batch_file(broken, damage, words):
    path = broken / FOLDER / "data_batch_2"
    damage(path)
    with pytest.raises(NaapgnnError) as err:
        check_cifar10(broken)
    assert str(err.value).startswith(f"{path}: ") and words in str(err.value) and "\n" not in str(err.value)


class _Exploit:
    def __reduce__(self):
        return (print, ("unpickling ran code",))


def test_batch_file_cannot_run_code(broken, capsys):
    path = broken / FOLDER / "test_batch"
    path.write_bytes(pickle.dumps({"data": _Exploit(), "labels": []}))
    with pytest.raises(NaapgnnError, match="forbidden object builtins.print"):
        check_cifar10(broken)
    assert "unpickling ran code" not in capsys.readouterr().out


def test_meta_without_label_names(broken):
    (broken / FOLDER / "batches.meta").write_bytes(pickle.dumps({"names": []}))
    with pytest.raises(NaapgnnError, match="batches.meta: expected a dict with 'label_names'"):
        check_cifar10(broken)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_batches_python_3_pickled_read_as_the_original_ones(tiny, tmp_path, protocol):
    """Python 3 writes bytes (protocol 2) and arrays (protocol 5) through helpers the original files never use."""
    shutil.copytree(tiny / FOLDER, tmp_path / FOLDER)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        path = tmp_path / FOLDER / name
        with open(path, "rb") as f:
            entry = pickle.load(f, encoding="latin1")  # str keys, as torchvision reads them
        path.write_bytes(pickle.dumps(entry, protocol=protocol))
    check_cifar10(tmp_path)
    ours, original = load_cifar10(tmp_path), load_cifar10(tiny)
    assert torch.equal(ours.train_x, original.train_x) and torch.equal(ours.test_y, original.test_y)


def test_a_failed_download_leaves_no_folder_it_created(tmp_path, monkeypatch):
    """A failed --download left an empty folder behind, which the next run read as CIFAR-10 without its files."""
    import torchvision

    from naapgnn.data.cifar import download_cifar10

    def unreachable(root, train, download):
        (Path(root) / "cifar-10-python.tar.gz.part").parent.mkdir(parents=True, exist_ok=True)
        (Path(root) / "cifar-10-python.tar.gz.part").write_bytes(b"half")
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", unreachable)
    with pytest.raises(NaapgnnError, match=r"new: CIFAR-10 download failed: <urlopen error \[Errno -3\] Temporary"):
        download_cifar10(tmp_path / "new")
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("a user's file")
    with pytest.raises(NaapgnnError, match="CIFAR-10 download failed"):
        download_cifar10(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "a user's file"  # a folder it did not create is kept

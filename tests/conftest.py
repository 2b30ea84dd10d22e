import os
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = (REPO / os.environ.get("NAAPGNN_DATA", "../shared/data/naap440")).resolve()

warnings.filterwarnings("ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning)


@pytest.fixture(scope="session")
def load_script():
    """A function importing ``scripts/NAME.py`` as a module (the scripts are not a package)."""
    import importlib.util

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def blind_file(load_script, tmp_path):
    """A function writing a blind tester's benchmark with ``scripts/NAME.py`` (its defaults), checking that it is
    the file README measured (its SHA-256 starts with ``digest``), and returning its records as naapgnn reads them
    (``load_benchmark``'s keyword arguments; its warnings on the file's diverged and stopped runs not shown)."""
    import hashlib
    import warnings

    from naapgnn.data.records import load_benchmark

    def write(name: str, digest: str, **load):
        path = tmp_path / f"{name}.jsonl"
        assert load_script(name).main([str(path)]) == 0
        assert hashlib.sha256(path.read_bytes()).hexdigest().startswith(digest)  # README's figures are of this file
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_benchmark(path, **load)
    return write


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "naap440.csv").is_file():
        pytest.fail(f"NAAP-440 data not found at {DATA_DIR}; set NAAPGNN_DATA")
    return DATA_DIR


@pytest.fixture(scope="session")
def naap440(data_dir):
    from naapgnn.data.naap440 import load_naap440

    return load_naap440(data_dir)


@pytest.fixture
def small_benchmark(naap440, tmp_path):
    """A function writing a JSON Lines benchmark of 12 official test and 40 training NAAP-440 networks whose
    curves are cut to ``epochs`` (and kept to ``channels``, all by default); returns its path."""
    def write(epochs: int, channels=None) -> Path:
        import numpy as np

        from naapgnn.data.records import records_from_naap440, write_jsonl

        flags = naap440["IsTest"].to_numpy() == 1
        rows = np.sort(np.r_[np.flatnonzero(flags)[:12], np.flatnonzero(~flags)[::10]])
        records = records_from_naap440(naap440.iloc[rows])
        for r in records:
            r.curve = {k: v[:epochs] for k, v in r.curve.items() if channels is None or k in channels}
        path = tmp_path / "bench.jsonl"
        write_jsonl(records, path)
        return path
    return write

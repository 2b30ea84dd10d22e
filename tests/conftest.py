import os
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = (REPO / os.environ.get("NAAPGNN_DATA", "../shared/data/naap440")).resolve()

warnings.filterwarnings("ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "naap440.csv").is_file():
        pytest.fail(f"NAAP-440 data not found at {DATA_DIR}; set NAAPGNN_DATA")
    return DATA_DIR


@pytest.fixture(scope="session")
def naap440(data_dir):
    from naapgnn.data.naap440 import load_naap440

    return load_naap440(data_dir)

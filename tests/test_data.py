"""NAAP-440 loading: exact counts, location order, checksummed download, CSV errors."""
from __future__ import annotations

import hashlib
import os
import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from naapgnn.data import download
from naapgnn.data import naap440 as data
from naapgnn.data.download import NAAP440_FILES
from naapgnn.data.naap440 import curve_columns, load_naap440
from naapgnn.errors import NaapgnnError

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NAAPGNN_DATA", "../shared/data/naap440"))
DATA = DATA if DATA.is_absolute() else (REPO / DATA).resolve()


@pytest.fixture(scope="module")
def df():
    return load_naap440(DATA)


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """No data folder from the environment; an empty private cache."""
    monkeypatch.delenv("NAAPGNN_DATA", raising=False)
    monkeypatch.delenv("NAAPGNN_DATA_URL", raising=False)
    monkeypatch.setenv("NAAPGNN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "naap440"


def _copy_dataset(dest: Path, names=tuple(NAAP440_FILES)) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(DATA / name, dest / name)
    return dest


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- contents --------------------------------------------------------------------


def test_exact_counts(df):
    assert len(df) == 440
    assert int(df["IsTest"].sum()) == 40
    assert df.shape[1] == 11 + 3 * 90 + 1  # scheme columns, MaxAccuracy, curve, scheme
    assert list(df.columns) == data.v2_columns() + ["scheme"]
    assert df["ModelId"].tolist() == list(range(1, 441))
    assert df.attrs["source"] == str(DATA)


def test_v2_columns_contain_v1(df):
    assert set(data.v1_columns()) < set(df.columns)
    assert len(data.v1_columns()) == 279 and len(data.v2_columns()) == 281


def test_schemes_attached_by_model_id(df):
    first = df.loc[df["ModelId"] == 1, "scheme"].iloc[0]
    assert [b["width"] for b in first] == [12, 16, 16]
    assert [b["stride"] for b in first] == [2, 2, 1]
    assert (df["scheme"].map(len) == df["NumLayers"]).all()
    assert (df["scheme"].map(lambda s: sum(b["residual"] for b in s)) == df["NumSkipConnections"]).all()


def test_dtypes_and_max_accuracy(df):
    assert df["NumParams"].dtype == "int64" and df["e1Accuracy"].dtype == "float64"
    acc = df[curve_columns(90, ["Accuracy"])].to_numpy()
    assert (acc.max(axis=1) == df["MaxAccuracy"].to_numpy()).all()


def test_curve_columns():
    assert curve_columns(1) == ["e1LossMean", "e1LossMedian", "e1Accuracy"]
    assert curve_columns([3, 6], ["Accuracy"]) == ["e3Accuracy", "e6Accuracy"]
    assert len(curve_columns()) == 270
    with pytest.raises(NaapgnnError, match="unknown curve metric 'Loss'"):
        curve_columns(3, ["Loss"])


def test_pinned_checksums_match_the_public_files():
    for f in NAAP440_FILES.values():
        assert _sha256(DATA / f.name) == f.sha256, f.name


def test_default_urls_are_pinned(monkeypatch):
    monkeypatch.delenv("NAAPGNN_DATA_URL", raising=False)
    base = f"https://raw.githubusercontent.com/talcs/NAAP-440/{download.NAAP440_COMMIT}/"
    assert len(download.NAAP440_COMMIT) == 40
    assert download.file_url(NAAP440_FILES["naap440v2.csv"]) == base + "naap440v2.csv"
    assert download.file_url(NAAP440_FILES["paper_baseline_results.csv"]) == base + "experiment_results/results.csv"
    monkeypatch.setenv("NAAPGNN_DATA_URL", "http://mirror.example/naap/")
    assert download.file_url(NAAP440_FILES["paper_baseline_results.csv"]) == (
        "http://mirror.example/naap/paper_baseline_results.csv"
    )


def test_paper_baselines():
    table = data.load_paper_baselines(DATA)
    assert len(table) == 96
    best = table[table["Features"] == "Scheme"]["NumViolations"].min()
    assert best == 42


# --- location ------------------------------------------------------------------------


def test_location_forms(no_env, monkeypatch):
    assert download.dataset_dir(DATA / "naap440v2.csv") == DATA
    assert download.dataset_dir(DATA / "naap440.csv") == DATA
    monkeypatch.setenv("NAAPGNN_DATA", str(DATA))
    assert load_naap440().attrs["source"] == str(DATA)
    assert not no_env.exists()  # an explicit location never touches the cache


def test_location_errors(no_env, tmp_path, monkeypatch):
    with pytest.raises(NaapgnnError, match=r"no such NAAP-440 folder"):
        load_naap440(tmp_path / "nowhere")
    with pytest.raises(NaapgnnError, match=r"expected a NAAP-440 folder"):
        load_naap440(DATA / "generated_schemes.json")
    partial_copy = _copy_dataset(tmp_path / "partial", ["naap440.csv", "generated_schemes.json"])
    with pytest.raises(NaapgnnError, match=r"partial \(path\): missing naap440v2.csv"):
        load_naap440(partial_copy)
    monkeypatch.setenv("NAAPGNN_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(NaapgnnError, match=r"nowhere \(NAAPGNN_DATA\): no such NAAP-440 folder"):
        load_naap440()


def test_cache_without_download(no_env):
    with pytest.raises(NaapgnnError, match="not in the cache"):
        download.dataset_dir(download=False)


# --- download over a real HTTP server -------------------------------------------------


class _Server:
    """A folder served over HTTP on 127.0.0.1 (port chosen by the OS), logging request paths."""

    def __init__(self, folder: Path):
        self.requests: list[str] = []
        log = self.requests

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                log.append(self.path)
                super().do_GET()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/naap"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def test_download_verify_and_reuse_cache(no_env, tmp_path, monkeypatch):
    _copy_dataset(tmp_path / "www" / "naap")
    with _Server(tmp_path / "www") as server:
        monkeypatch.setenv("NAAPGNN_DATA_URL", server.url)
        df = load_naap440()
    assert sorted(server.requests) == sorted(f"/naap/{name}" for name in NAAP440_FILES)
    assert len(df) == 440 and df.attrs["source"] == str(no_env)
    assert sorted(p.name for p in no_env.iterdir()) == sorted(NAAP440_FILES)
    for f in NAAP440_FILES.values():
        assert _sha256(no_env / f.name) == f.sha256

    # Server stopped: the second load must come from the cache alone.
    again = load_naap440()
    assert again.drop(columns="scheme").equals(df.drop(columns="scheme"))

    # A damaged cache file is fetched again, and only that one.
    (no_env / "LICENSE").write_text("tampered")
    with pytest.raises(NaapgnnError, match=r"cannot download LICENSE from http://127\.0\.0\.1:\d+/naap/LICENSE"):
        load_naap440()  # the server is down: connection refused
    assert (no_env / "LICENSE").read_text() == "tampered"  # untouched by the failed attempt
    with _Server(tmp_path / "www") as server:
        monkeypatch.setenv("NAAPGNN_DATA_URL", server.url)
        load_naap440()
    assert server.requests == ["/naap/LICENSE"]
    assert _sha256(no_env / "LICENSE") == NAAP440_FILES["LICENSE"].sha256


def test_corrupted_download_is_rejected(no_env, tmp_path, monkeypatch):
    www = _copy_dataset(tmp_path / "www" / "naap")
    target = www / "naap440v2.csv"
    raw = bytearray(target.read_bytes())
    raw[5000] = ord("7") if raw[5000] != ord("7") else ord("8")  # one byte changed
    target.write_bytes(bytes(raw))
    with _Server(tmp_path / "www") as server:
        monkeypatch.setenv("NAAPGNN_DATA_URL", server.url)
        with pytest.raises(NaapgnnError) as info:
            load_naap440()
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"checksum mismatch for naap440v2.csv from {server.url}/naap440v2.csv")
    assert NAAP440_FILES["naap440v2.csv"].sha256 in message and hashlib.sha256(raw).hexdigest() in message
    assert not no_env.parent.exists()  # nothing left behind: no files, not even the cache folders


def test_missing_remote_file_is_a_404(no_env, tmp_path, monkeypatch):
    names = [n for n in NAAP440_FILES if n != "generated_schemes.json"]
    _copy_dataset(tmp_path / "www" / "naap", names)
    (no_env.parent).mkdir(parents=True)
    with _Server(tmp_path / "www") as server:
        monkeypatch.setenv("NAAPGNN_DATA_URL", server.url)
        with pytest.raises(NaapgnnError, match=r"cannot download generated_schemes.json from "
                                               r"http://127\.0\.0\.1:\d+/naap/generated_schemes.json: HTTP 404"):
            load_naap440()
    assert list(no_env.parent.iterdir()) == []


# --- malformed files ----------------------------------------------------------------------


def _edit_csv(path: Path, edit) -> None:
    lines = path.read_text().splitlines()
    rows = [line.split(",") for line in lines]
    edit(rows)
    path.write_text("\n".join(",".join(r) for r in rows) + "\n")


def _set(row: int, column: str, value: str):
    """Edit: data row ``row`` (1-based), ``column`` := ``value``."""
    def edit(rows):
        rows[row][rows[0].index(column)] = value
    return edit


def _rename(column: str, to: str):
    def edit(rows):
        rows[0][rows[0].index(column)] = to
    return edit


def _drop(column: str):
    def edit(rows):
        i = rows[0].index(column)
        for r in rows:
            del r[i]
    return edit


@pytest.mark.parametrize(
    "files, edit, expected",
    [
        (["naap440v2.csv"], _drop("e5Accuracy"), "naap440v2.csv: header (line 1): missing column 'e5Accuracy'"),
        (["naap440.csv"], _drop("ModelId"), "naap440.csv: header (line 1): missing column 'ModelId'"),
        (["naap440v2.csv"], _rename("e4Accuracy", "e3Accuracy"),  # pandas read the first, renamed the second
         "naap440v2.csv: column 'e3Accuracy' appears twice (columns "),
        (["naap440v2.csv"], _set(3, "NumMACs", "abc"),
         "naap440v2.csv: data row 3 (line 4), column NumMACs: not a finite number, got 'abc'"),
        (["naap440v2.csv"], _set(17, "e9LossMean", "0.5x"),
         "naap440v2.csv: data row 17 (line 18), column e9LossMean: not a finite number, got '0.5x'"),
        (["naap440v2.csv"], _set(12, "e3Accuracy", "NaN"),
         "naap440v2.csv: data row 12 (line 13), column e3Accuracy: empty or NaN cell"),
        (["naap440v2.csv"], _set(440, "MaxAccuracy", ""),
         "naap440v2.csv: data row 440 (line 441), column MaxAccuracy: empty or NaN cell"),
        (["naap440v2.csv"], _set(8, "NumLayers", "3.5"),
         "naap440v2.csv: data row 8 (line 9), column NumLayers: expected an integer, got '3.5'"),
        (["naap440v2.csv"], _set(4, "e3LossMean", "1e308"),
         "naap440v2.csv: data row 4 (line 5), column e3LossMean: beyond +-1e+30, got '1e308'"),
        (["naap440v2.csv"], _set(7, "NumParams", "100000000000000000.0"),  # a float column to pandas, echoed as written
         "naap440v2.csv: data row 7 (line 8), column NumParams: too large an integer, got '100000000000000000.0'"),
        (["naap440v2.csv"], _set(6, "ModelId", "100000000000000000000"),
         "naap440v2.csv: data row 6 (line 7), column ModelId: too large an integer, got '100000000000000000000'"),
        (["naap440v2.csv"], _set(9, "e3Accuracy", "45.1"),
         "naap440v2.csv: data row 9 (line 10), column e3Accuracy: an accuracy outside [0, 1] (expected a fraction), "
         "got '45.1'"),
        (["naap440v2.csv"], _set(10, "MaxAccuracy", "-0.2"), "column MaxAccuracy: an accuracy outside [0, 1]"),
        (["naap440v2.csv"], _set(5, "ModelId", "2"),
         "naap440v2.csv: data row 5 (line 6), column ModelId: duplicate ModelId 2 (first at data row 2)"),
        (["naap440v2.csv"], _set(2, "IsTest", "2"),
         "naap440v2.csv: data row 2 (line 3), column IsTest: expected 0 or 1, got 2"),
        (["naap440.csv", "naap440v2.csv"], _set(440, "ModelId", "441"),
         "naap440v2.csv: data row 440 (line 441), column ModelId: ModelId 441 has no scheme"),
        (["naap440.csv"], _set(7, "e3Accuracy", "0.1234"),
         "naap440.csv and naap440v2.csv disagree: ModelId 7, column e3Accuracy: 0.1234 vs"),
    ],
)
def test_malformed_csv(tmp_path, files, edit, expected):
    folder = _copy_dataset(tmp_path / "bad", ["naap440.csv", "naap440v2.csv", "generated_schemes.json"])
    for name in files:
        _edit_csv(folder / name, edit)
    with pytest.raises(NaapgnnError) as info:
        load_naap440(folder)
    message = str(info.value)
    assert "\n" not in message
    assert expected in message
    if "data row" in expected:
        assert message.startswith(str(folder / files[-1]))


def test_a_csv_that_is_no_utf8_is_one_line(tmp_path):
    folder = _copy_dataset(tmp_path / "bad", ["naap440.csv", "naap440v2.csv", "generated_schemes.json"])
    good = (folder / "naap440v2.csv").read_bytes()
    (folder / "naap440v2.csv").write_bytes(good[:70000] + b"\xff" + good[70000:])  # past pandas' first chunk
    with pytest.raises(NaapgnnError, match=r"naap440v2.csv: cannot read: not UTF-8 text \(byte 70000: invalid start "):
        load_naap440(folder)


def test_misaligned_schemes_are_caught(tmp_path):
    import json

    folder = _copy_dataset(tmp_path / "bad", ["naap440.csv", "naap440v2.csv", "generated_schemes.json"])
    schemes = json.loads((folder / "generated_schemes.json").read_text())
    schemes.insert(0, schemes.pop())  # shift: ModelId i no longer matches scheme i-1
    (folder / "generated_schemes.json").write_text(json.dumps(schemes))
    with pytest.raises(NaapgnnError, match=r"naap440v2.csv: data row 1 \(line 2\), column \w+: .* but the scheme "
                                           r"of ModelId 1 in generated_schemes.json gives"):
        load_naap440(folder)


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[[{"kernel_size": 3, "width": 12, "stride": 2, "residual": false}],\n  [', "invalid JSON at line 2 column"),
        ('{"a": 1}', "expected a non-empty list of schemes"),
        ('[[{"kernel_size": 3, "width": 12, "stride": 2, "residual": false}], [{"kernel_size": 3}]]',
         "scheme 1 (ModelId 2), block 0: missing field 'width'"),
        ('[[{"kernel_size": 3, "width": 0, "stride": 2, "residual": false}]]',
         "scheme 0 (ModelId 1), block 0: width must be a positive integer, got 0"),
    ],
)
def test_malformed_schemes_json(tmp_path, text, expected):
    folder = _copy_dataset(tmp_path / "bad", ["naap440.csv", "naap440v2.csv"])
    (folder / "generated_schemes.json").write_text(text)
    with pytest.raises(NaapgnnError) as info:
        load_naap440(folder)
    assert str(info.value).startswith(str(folder / "generated_schemes.json"))
    assert expected in str(info.value)


def test_download_timeout_leaves_nothing(no_env, monkeypatch):
    import socket

    silent = socket.socket()  # accepts connections (kernel backlog) but never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        monkeypatch.setattr(download, "DOWNLOAD_TIMEOUT_S", 0.3)
        monkeypatch.setenv("NAAPGNN_DATA_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        with pytest.raises(NaapgnnError, match=r"cannot download naap440.csv from http://127.0\.0\.1:\d+/naap440.csv: "
                                               r"timed out after 0.3 s"):
            load_naap440()
    finally:
        silent.close()
    assert not no_env.parent.exists()


def test_schemes_that_are_no_utf8_are_one_line_error(tmp_path):
    folder = _copy_dataset(tmp_path / "bad", ["naap440.csv", "naap440v2.csv"])
    (folder / "generated_schemes.json").write_bytes(b"[\xff]")
    with pytest.raises(NaapgnnError, match=r"generated_schemes.json: cannot read: not UTF-8 text \(byte 1: "):
        load_naap440(folder)


def test_schemes_saved_with_a_byte_order_mark_load_as_without(tmp_path):
    folder = _copy_dataset(tmp_path / "bom", ["naap440.csv", "naap440v2.csv"])
    original = (DATA / "generated_schemes.json").read_bytes()
    (folder / "generated_schemes.json").write_bytes(b"\xef\xbb\xbf" + original)
    assert load_naap440(folder)["scheme"].tolist() == load_naap440(DATA)["scheme"].tolist()


def test_a_bad_cell_is_quoted_from_the_row_pandas_read_past_blank_lines(tmp_path):
    from naapgnn.data.naap440 import _cell_text

    path = tmp_path / "ws.csv"
    path.write_text("a,b\n1,2\n   \n\n3,x\n")
    assert _cell_text(path, 1, "b") == "x" and _cell_text(path, 0, "a") == "1"


def test_a_bad_row_is_placed_on_its_line_past_blank_lines(tmp_path):
    folder = _copy_dataset(tmp_path / "bad", ["naap440.csv", "naap440v2.csv", "generated_schemes.json"])
    csv_path = folder / "naap440v2.csv"
    _edit_csv(csv_path, _set(3, "NumMACs", "abc"))
    lines = csv_path.read_text().split("\n")
    lines.insert(2, "   ")  # a blank line after data row 1
    csv_path.write_text("\n".join(lines))
    with pytest.raises(NaapgnnError, match=r"naap440v2.csv: data row 3 \(line 5\), column NumMACs: not a finite "
                                           r"number, got 'abc'"):
        load_naap440(folder)

"""The fast NAS-Bench-201 import and encoding give what the general path gave before them, bit for bit.

``tests/data/nb201_reference.npz`` holds, for 20 rows of ``nats_bench.csv`` (every 977th, three whose
cells are cut off or nearly so, and row 4) on CIFAR-10 and ImageNet16-120, the JSON Lines ``arch`` of
each record, the batched ``encode`` tensors, the architecture statistics and the receptive fields as the
code computed them before the per-layer caches (each network parsed layer by layer from
``nb201_network``).
"""
import csv
import json

import numpy as np
import pytest
from torch_geometric.data import Batch

from naapgnn.arch.format import parse_architecture, parse_layer
from naapgnn.arch.profiling import architecture_statistics, layer_depths, receptive_fields, weighted_depth
from naapgnn.data.nb201 import CELL_OPS, EDGES, nb201_architecture, nb201_network, read_nb201
from naapgnn.errors import NaapgnnError
from naapgnn.graph import encoding
from naapgnn.graph.encoding import encode, encode_many
from naapgnn.graph.rows import RowTable

from conftest import REPO
from test_encoding_reference import reference_columns

NB201_CSV = (REPO / "../shared/data/nb201/nats_bench.csv").resolve()
REFERENCE = REPO / "tests" / "data" / "nb201_reference.npz"
TENSORS = ("x", "edge_index", "ptr", "graph_attr", "node_type", "num_params", "num_macs")


@pytest.fixture(scope="module")
def reference():
    return dict(np.load(REFERENCE))


@pytest.fixture(scope="module")
def sample_csv(tmp_path_factory, reference):
    if not NB201_CSV.is_file():
        pytest.skip(f"{NB201_CSV} not found")
    with open(NB201_CSV, newline="") as f:
        rows = list(csv.reader(f))
    path = tmp_path_factory.mktemp("nb201") / "sample.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([rows[0]] + [rows[1 + i] for i in reference["rows"]])
    return path


@pytest.mark.parametrize("dataset", ["cifar10", "imagenet16"])
def test_import_and_encoding_equal_the_reference(reference, sample_csv, dataset):
    records = read_nb201(sample_csv, dataset)
    arch_json = [json.dumps({**r.to_dict(), "id": f"nb201-{row}"}, allow_nan=False)
                 for r, row in zip(records, reference["rows"])]
    assert arch_json == list(reference[f"{dataset}_jsonl"])
    archs = [r.arch for r in records]
    for graphs in ([encode(a) for a in archs], encode_many(archs)):
        batch = Batch.from_data_list(graphs)
        for key in TENSORS:
            got = getattr(batch, key).numpy()
            if key == "x":
                got = reference_columns(got)
            assert got.dtype == reference[f"{dataset}_{key}"].dtype, key
            np.testing.assert_array_equal(got, reference[f"{dataset}_{key}"], err_msg=key)
    stats = np.array([[float(v) for v in architecture_statistics(a).values()] for a in archs])
    np.testing.assert_array_equal(stats, reference[f"{dataset}_statistics"])
    np.testing.assert_array_equal(np.concatenate([receptive_fields(a) for a in archs]),
                                  reference[f"{dataset}_receptive_fields"])


def _cells():
    """Cells that put every op on every edge, with the cut-off and the all-identity ones."""
    cells = [{edge: CELL_OPS[(k + e) % len(CELL_OPS)] for e, edge in enumerate(EDGES)} for k in range(len(CELL_OPS))]
    cells += [{edge: CELL_OPS[(k * (e + 2)) % len(CELL_OPS)] for e, edge in enumerate(EDGES)} for k in range(7)]
    return cells + [dict.fromkeys(EDGES, "none"), dict.fromkeys(EDGES, "skip_connect")]


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "imagenet16"])
def test_fast_network_equals_the_parsed_layer_graph(dataset):
    for cell in _cells():
        fast = nb201_architecture(cell, dataset)
        parsed = parse_architecture(nb201_network(cell, dataset))
        assert fast == parsed and fast.to_dict() == parsed.to_dict()
        assert len(fast.layers) == len(parsed.layers)


def test_networks_share_their_identical_layers():
    first, second = (nb201_architecture(c) for c in _cells()[:2])
    assert first.layers[0] is second.layers[0]  # the stem
    assert first == parse_architecture(first.to_dict())


def test_encoding_is_the_same_when_the_row_table_starts_afresh(monkeypatch):
    archs = [nb201_architecture(c) for c in _cells()[:4]] + [parse_architecture(
        [{"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
         {"kernel_size": 3, "width": 16, "stride": 1, "residual": True}])]
    expected = Batch.from_data_list(encode_many(archs))
    monkeypatch.setattr(encoding, "_ROWS", RowTable(limit=3))
    got = Batch.from_data_list(encode_many(archs))
    for key in TENSORS:
        assert np.array_equal(getattr(got, key).numpy(), getattr(expected, key).numpy()), key


def test_layer_depths_count_conv_and_linear_on_the_longest_path():
    arch = parse_architecture({"input_shape": [3, 8, 8], "layers": [
        {"op": "conv", "out_channels": 4, "kernel_size": 3},
        {"op": "conv", "out_channels": 4, "kernel_size": 3},
        {"op": "maxpool", "kernel_size": 2, "inputs": [0]},
        {"op": "zero", "shape": [4, 4, 4]},
        {"op": "avgpool", "kernel_size": 2, "inputs": [1]},
        {"op": "add", "inputs": [2, 4, 3]},
    ]})
    assert layer_depths(arch) == (1, 2, 1, 0, 2, 2, 2, 3)  # then the appended gap and classifier
    assert weighted_depth(arch) == 3


def test_parse_layer_names_the_layer_index():
    layer = parse_layer(0, {"op": "conv", "out_channels": 8, "kernel_size": 3, "inputs": [-1]}, [], (3, 8, 8))
    assert layer.out_shape == (8, 8, 8) and layer.inputs == (-1,)
    with pytest.raises(NaapgnnError, match=r"^layer 3: conv: missing field 'out_channels'$"):
        parse_layer(3, {"op": "conv", "kernel_size": 3}, [], (3, 8, 8))
    with pytest.raises(NaapgnnError, match=r"^layer 1: add of mismatched shapes 3x8x8 and 8x8x8$"):
        parse_layer(1, {"op": "add", "inputs": [-1, 0]}, [layer], (3, 8, 8))

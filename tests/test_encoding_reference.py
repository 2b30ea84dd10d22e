"""The prediction inputs are bit-identical to those saved before the encoding speed-up.

``tests/data/encoding_reference.npz`` holds, for 16 NAAP-440 schemes and the
graphs ResNet-20, MobileNetV2, DenseNet-style and ResNet-like, the batched
graph encoding, the per-layer forest features, the architecture statistics
and the receptive fields as the code computed them before the per-architecture
caches and the vectorised encoding (before the repeat-count column of encoding
version 3 and the is_mul column of version 5 too: both are zero here); the GNN and the forest read nothing else
of an architecture, so equal inputs mean equal predictions.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from naapgnn.arch.format import parse_architecture
from naapgnn.arch.profiling import architecture_statistics, receptive_fields
from naapgnn.features.tabular import per_layer_features
from naapgnn.graph.encoding import NODE_FEATURES, encode, encode_many
from naapgnn.models.network import batch_architectures
from torch_geometric.data import Batch

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "tests" / "data" / "encoding_reference.npz"
GRAPHS = ("resnet20", "mobilenetv2", "densenet_style", "resnet_like")


@pytest.fixture(scope="module")
def reference():
    return dict(np.load(REFERENCE))


def _archs(naap440):
    from naapgnn.data.records import records_from_naap440

    records = records_from_naap440(naap440)
    return [r.arch for r in records[:16]] + [parse_architecture(json.loads((REPO / "graphs" / f"{n}.json").read_text()))
                                             for n in GRAPHS]


def reference_columns(x: np.ndarray) -> np.ndarray:
    """The columns of node features ``x`` that the references hold: encoding version 3 appended the repeat
    count (zero unless folded), version 5 the mul type (zero without a mul layer); both are checked zero and dropped."""
    later = [NODE_FEATURES.index("is_mul"), NODE_FEATURES.index("log2_repeats")]
    np.testing.assert_array_equal(x[:, later], 0)
    return np.delete(x, later, axis=1)


def _assert_equal(g, reference, keys):
    for key in keys:
        got = getattr(g, key).numpy()
        if key == "x":
            got = reference_columns(got)
        assert got.dtype == reference[key].dtype, key
        np.testing.assert_array_equal(got, reference[key], err_msg=key)


@pytest.mark.parametrize("repeat", [1, 2])  # the second pass reads the per-architecture caches
def test_batched_encoding_is_bit_identical(naap440, reference, repeat):
    archs = _archs(naap440)
    for _ in range(repeat):
        g = batch_architectures(archs)
    assert sorted(g.keys()) == ["batch", "edge_index", "graph_attr", "path_stats", "ptr", "x"]
    _assert_equal(g, reference, ("x", "edge_index", "ptr", "graph_attr"))


def test_encode_and_encode_many_are_bit_identical(naap440, reference):
    archs = _archs(naap440)
    keys = ("x", "edge_index", "ptr", "graph_attr", "node_type", "num_params", "num_macs")
    _assert_equal(Batch.from_data_list([encode(a) for a in archs]), reference, keys)
    _assert_equal(Batch.from_data_list(encode_many(archs)), reference, keys)
    single = encode(archs[3])
    assert single.num_nodes == int(reference["ptr"][4] - reference["ptr"][3])


@pytest.mark.parametrize("repeat", [1, 2])
def test_forest_features_and_statistics_are_bit_identical(naap440, reference, repeat):
    archs = _archs(naap440)
    for _ in range(repeat):
        table = per_layer_features(archs)
        stats = np.array([[float(v) for v in architecture_statistics(a).values()] for a in archs])
        fields = np.concatenate([receptive_fields(a) for a in archs])
    assert list(table.columns) == list(reference["forest_columns"])
    np.testing.assert_array_equal(table.to_numpy(), reference["forest_features"])
    np.testing.assert_array_equal(stats, reference["statistics"])
    np.testing.assert_array_equal(fields, reference["receptive_fields"])


def test_cached_results_are_copies(naap440):
    arch = _archs(naap440)[0]
    fields = receptive_fields(arch)
    fields[0] = -1.0
    stats = architecture_statistics(arch)
    stats["NumParams"] = -1
    assert receptive_fields(arch)[0] != -1.0
    assert architecture_statistics(arch)["NumParams"] != -1


def test_cache_is_per_instance_and_outside_equality(naap440):
    arch = _archs(naap440)[0]
    receptive_fields(arch)
    copy = parse_architecture(arch.to_dict())
    assert "receptive_fields" in arch.derived and copy.derived == {}
    assert copy == arch

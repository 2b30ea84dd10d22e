"""The networks' statistics the GNN's stack reads, read off the encoded batch."""
import numpy as np
import pytest

from naapgnn.arch.format import parse_architecture
from naapgnn.arch.profiling import profile
from naapgnn.graph.statistics import GRAPH_STATISTICS, graph_statistics
from naapgnn.models.network import batch_architectures

SCHEME = [{"kernel_size": 3, "width": 16, "stride": 2, "residual": False},
          {"kernel_size": 3, "width": 16, "stride": 1, "residual": True},
          {"kernel_size": 5, "width": 40, "stride": 2, "residual": False}]


def test_counts_widths_and_totals_of_a_scheme():
    arch = parse_architecture(SCHEME)
    rows = graph_statistics(batch_architectures([arch, parse_architecture(SCHEME[:1])]))
    assert rows.shape == (2, len(GRAPH_STATISTICS))
    row = dict(zip(GRAPH_STATISTICS, rows[0]))
    assert (row["num_input"], row["num_conv"], row["num_add"], row["num_gap"], row["num_classifier"]) == (1, 3, 1, 1, 1)
    assert row["num_maxpool"] == row["num_concat"] == row["num_zero"] == 0
    assert row["num_residual"] == 1 and row["stages"] == 2
    assert row["max_log2_conv_width"] == pytest.approx(np.log2(1 + 40))  # the classifier's 10 outputs do not count
    assert row["log_params"] == pytest.approx(np.log(profile(arch)[0]), rel=1e-6)
    small = dict(zip(GRAPH_STATISTICS, rows[1]))
    assert small["num_conv"] == 1 and small["num_add"] == 0 and small["max_log2_conv_width"] == pytest.approx(np.log2(17))


def test_a_network_without_a_conv_has_width_zero():
    arch = parse_architecture({"input_shape": [3, 8, 8], "layers": [{"op": "gap"}, {"op": "linear", "out_features": 10}]})
    row = dict(zip(GRAPH_STATISTICS, graph_statistics(batch_architectures([arch]))[0]))
    assert row["num_conv"] == 0 and row["max_log2_conv_width"] == 0 and row["num_classifier"] == 1

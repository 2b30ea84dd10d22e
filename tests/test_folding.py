"""Repeated blocks folded into one copy (naapgnn.graph.folding and encode(fold=True))."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from naapgnn.arch.format import load_architecture
from naapgnn.graph.encoding import NODE_FEATURES, encode, encode_many
from naapgnn.graph.folding import _tandem_units, cut_nodes, fold_repeats
from naapgnn.graph.statistics import graph_statistics

REPO = Path(__file__).resolve().parents[1]
REPEATS = NODE_FEATURES.index("log2_repeats")


def repeats_of(data) -> list[int]:
    return torch.exp2(data.x[:, REPEATS]).round().int().tolist()


def test_cut_nodes_are_those_no_edge_jumps_over():
    # 0 -> {1, 2} -> 3 -> 4 -> 5, and 3 -> 5 jumps over 4
    edges = [0, 1, 0, 2, 1, 3, 2, 3, 3, 4, 4, 5, 3, 5]
    assert cut_nodes(6, edges) == [0, 3, 5]
    assert cut_nodes(4, [0, 1, 1, 2, 2, 3]) == [0, 1, 2, 3]


def test_tandem_units_cover_runs_of_one_block_and_of_several():
    assert _tandem_units([0, 1, 1, 1, 2], 8) == [(0, 1, 1), (1, 1, 3), (4, 1, 1)]
    assert _tandem_units([5, 0, 1, 0, 1, 0, 1, 2], 8) == [(0, 1, 1), (1, 2, 3), (7, 1, 1)]
    assert _tandem_units([0, 1, 0, 1], 1) == [(0, 1, 1), (1, 1, 1), (2, 1, 1), (3, 1, 1)]
    assert _tandem_units([], 8) == []


def test_a_chain_of_equal_nodes_folds_into_one_with_its_count():
    kept, edges, repeats = fold_repeats([9, 7, 7, 7, 8], [0, 1, 1, 2, 2, 3, 3, 4])
    assert (kept, edges, repeats) == ([0, 1, 4], [0, 1, 1, 2], [1, 3, 1])


def test_a_repeated_diamond_keeps_its_inner_edges_and_links_the_next_block_to_the_kept_exit():
    # input 0; diamond A = nodes 1..3 (1, 2 read 0; 3 adds them); diamond B = nodes 4..6 (same); head 7 reads 6
    ids = [0, 1, 2, 3, 1, 2, 3, 4]
    edges = [0, 1, 0, 2, 1, 3, 2, 3, 3, 4, 3, 5, 4, 6, 5, 6, 6, 7]
    kept, folded, repeats = fold_repeats(ids, edges)
    assert kept == [0, 1, 2, 3, 7]
    assert folded == [0, 1, 0, 2, 1, 3, 2, 3, 3, 4]
    assert repeats == [1, 2, 2, 2, 1]


def test_blocks_that_differ_in_an_edge_do_not_fold():
    # the same nodes, but the second diamond also reads its input twice
    ids = [0, 1, 2, 3, 1, 2, 3, 4]
    edges = [0, 1, 0, 2, 1, 3, 2, 3, 3, 4, 3, 5, 4, 6, 5, 6, 3, 6, 6, 7]
    kept, folded, repeats = fold_repeats(ids, edges)
    assert kept == list(range(8)) and folded == edges and repeats == [1] * 8


def test_nothing_repeated_encodes_as_unfolded_with_a_zero_repeat_column():
    arch = load_architecture(REPO / "graphs/resnet_like.json")
    plain, folded = encode(arch), encode(arch, fold=True)
    assert torch.equal(plain.x, folded.x) and torch.equal(plain.edge_index, folded.edge_index)
    assert torch.count_nonzero(plain.x[:, REPEATS]) == 0


def test_resnet20_stages_fold_and_keep_the_whole_networks_statistics():
    arch = load_architecture(REPO / "graphs/resnet20.json")
    plain, folded = encode(arch), encode(arch, fold=True)
    assert (plain.num_nodes, folded.num_nodes) == (33, 21)
    assert sorted(set(repeats_of(folded))) == [1, 2, 3]
    assert torch.equal(plain.graph_attr, folded.graph_attr)
    # every kept node is a node of the plain graph, with the same values but its repeat count
    rows = {tuple(r) for r in plain.x[:, :REPEATS].tolist()}
    assert all(tuple(r) in rows for r in folded.x[:, :REPEATS].tolist())
    from torch_geometric.data import Batch

    stats = [graph_statistics(Batch.from_data_list([d])) for d in (plain, folded)]
    np.testing.assert_allclose(stats[0], stats[1])


def test_a_nas_bench_201_network_keeps_one_cell_per_stage_repeated_five_times():
    from naapgnn.data.nb201 import nb201_architecture

    cell = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    arch = nb201_architecture(cell)
    plain, folded = encode(arch), encode(arch, fold=True)
    counts = repeats_of(folded)
    assert counts.count(5) * 5 == plain.num_nodes - (folded.num_nodes - counts.count(5))
    assert counts.count(5) % 3 == 0  # three stages, one cell each
    many = encode_many([arch, load_architecture(REPO / "graphs/resnet_like.json")], fold=True)
    assert torch.equal(many[0].x, folded.x) and torch.equal(many[0].edge_index, folded.edge_index)


@pytest.mark.parametrize("name", ["vgg11", "mobilenetv2", "resnet20"])
def test_folded_edges_stay_inside_the_graph_and_follow_the_node_order(name):
    data = encode(load_architecture(REPO / f"graphs/{name}.json"), fold=True)
    src, dst = data.edge_index
    assert int(dst.max()) == data.num_nodes - 1 and bool((src < dst).all())
    # every node but the input is reached
    assert set(dst.tolist()) == set(range(1, data.num_nodes))


def test_encode_cli_saves_the_folded_graph_and_counts_its_nodes(tmp_path, capsys):
    import json

    from naapgnn.cli import main

    out = tmp_path / "g.pt"
    assert main(["encode", str(REPO / "graphs/resnet20.json"), "--fold", "--json", "-o", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["nodes"], summary["folded_nodes"]) == (33, 21)
    assert torch.load(out, weights_only=False).num_nodes == 21


TINY_GNN = dict(max_epochs=15, patience=5, n_ensemble=2, forest_trees=20, hidden=8)


def _resnet_records():
    from naapgnn.data.deep_resnets import resnet_layers
    from naapgnn.data.records import record_from_dict

    rng = np.random.default_rng(0)
    out = []
    for i, (blocks, filters) in enumerate((b, f) for b in (1, 2, 3, 4, 5) for f in (8, 12, 16)):
        target = 0.5 + 0.05 * blocks + 0.01 * filters / 4 + rng.normal(0, 0.01)
        out.append(record_from_dict({"id": f"r{i}", "arch": resnet_layers(blocks, filters, 3), "target": target}))
    return out


def test_the_gnn_reads_folded_networks_and_its_checkpoint_keeps_reading_them(tmp_path):
    from naapgnn.models.gnn import GNNPredictor

    records = _resnet_records()
    model = GNNPredictor(**TINY_GNN).fit(records)
    assert model.folds_ and model.node_dim_ == len(NODE_FEATURES) - 1  # no mul node: is_mul not read
    assert model.encode_batch(records).num_nodes < GNNPredictor(fold_repeats=False, **TINY_GNN).fit(
        records).encode_batch(records).num_nodes
    loaded = GNNPredictor.load(model.save(tmp_path / "gnn"))
    assert loaded.folds_
    np.testing.assert_allclose(loaded.predict(records), model.predict(records), atol=1e-6)


def test_without_a_repeated_block_folding_changes_nothing(naap440):
    from naapgnn.data.records import records_from_naap440
    from naapgnn.models.gnn import GNNPredictor

    records = [r for r in records_from_naap440(naap440) if r.split == "train"][:60]
    folded = GNNPredictor(**TINY_GNN).fit(records)
    plain = GNNPredictor(fold_repeats=False, **TINY_GNN).fit(records)
    assert not folded.folds_ and folded.node_dim_ == len(NODE_FEATURES) - 2  # nor log2_repeats
    np.testing.assert_array_equal(folded.predict(records), plain.predict(records))

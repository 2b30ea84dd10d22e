"""The GNN model: batching, directed message passing, readout and the curve/hparam fusion."""
from __future__ import annotations

import pytest
import torch

from naapgnn.graph.encoding import NODE_TYPES, encode
from torch_geometric.data import Batch

from naapgnn.arch.space import naap440_search_space
from naapgnn.models.network import (CONV_TYPES, AccuracyModel, GraphEncoder, adjacency, batch_architectures,
                                    classifier_nodes, graph_chunks, predict_members)


@pytest.fixture(scope="module")
def graphs():
    return [encode(s) for s in naap440_search_space()[:12]]


def batch_graphs(graphs):
    return Batch.from_data_list(graphs)


def test_batch_architectures_concatenates_and_offsets(graphs):
    g = batch_architectures(naap440_search_space()[:12])
    assert g.num_graphs == 12
    assert g.x.shape[0] == sum(int(d.num_nodes) for d in graphs)
    assert g.edge_index.shape[1] == sum(d.edge_index.shape[1] for d in graphs)
    assert torch.equal(g.graph_attr, torch.cat([d.graph_attr for d in graphs]))
    # Every graph's classifier index points at its classifier node, which is its last node.
    classifier_col = NODE_TYPES.index("classifier")
    assert torch.all(g.x[classifier_nodes(g), classifier_col] == 1)
    assert torch.equal(g.batch[classifier_nodes(g)], torch.arange(12))
    assert torch.equal(g.x, torch.cat([d.x for d in graphs]))
    # Edges never cross graphs.
    assert torch.equal(g.batch[g.edge_index[0]], g.batch[g.edge_index[1]])


def test_batch_is_a_plain_concatenation_and_predicts_identically(graphs):
    """The batch the GNN reads equals concatenating the graphs' tensors by hand (node offsets on the edges),
    and the model's outputs on both are identical, so any faster batching can be checked against it."""
    import json
    from pathlib import Path

    graph_dir = Path(__file__).resolve().parents[1] / "graphs"
    archs = list(naap440_search_space()[:12]) + [json.loads(p.read_text()) for p in sorted(graph_dir.glob("*.json"))]
    encoded = [encode(a) for a in archs]
    sizes = torch.tensor([int(d.num_nodes) for d in encoded])
    offsets = torch.cumsum(sizes, 0) - sizes
    g = batch_architectures(archs)
    assert torch.equal(g.x, torch.cat([d.x for d in encoded]))
    assert torch.equal(g.edge_index, torch.cat([d.edge_index + o for d, o in zip(encoded, offsets)], dim=1))
    assert torch.equal(g.batch, torch.repeat_interleave(torch.arange(len(archs)), sizes))
    assert torch.equal(classifier_nodes(g), offsets + sizes - 1)
    plain = Batch(x=torch.cat([d.x for d in encoded]), edge_index=g.edge_index.clone(), batch=g.batch.clone(),
                  ptr=torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(sizes, 0)]),
                  graph_attr=torch.cat([d.graph_attr for d in encoded]))
    torch.manual_seed(0)
    model = AccuracyModel(g.x.shape[1], g.graph_attr.shape[1], hidden=16, layers=2).eval()
    with torch.no_grad():
        assert torch.equal(model(g), model(plain))


def test_subset_equals_batching_the_subset(graphs):
    full = batch_graphs(graphs)
    pick = [7, 2, 11]
    sub = Batch.from_data_list(full.index_select(torch.tensor(pick)))
    direct = batch_graphs([graphs[i] for i in pick])
    for name in ("x", "edge_index", "batch", "graph_attr"):
        assert torch.equal(getattr(sub, name), getattr(direct, name)), name
    assert torch.equal(classifier_nodes(sub), classifier_nodes(direct))


@pytest.mark.parametrize("conv", CONV_TYPES)
@pytest.mark.parametrize("direction", ["forward", "both"])
def test_model_output_shape_and_gradients(graphs, conv, direction):
    torch.manual_seed(0)
    g = batch_graphs(graphs)
    model = AccuracyModel(g.x.shape[1], g.graph_attr.shape[1], curve_dim=5, hparam_dim=2, hidden=16,
                          layers=2, conv=conv, direction=direction)
    out = model(g, torch.randn(12, 5), torch.randn(12, 2))
    assert out.shape == (12,)
    out.sum().backward()
    assert all(p.grad is not None for p in model.graph.parameters() if p.requires_grad)
    assert model.curve.lins[0].weight.grad.abs().sum() > 0


def test_model_without_curve_or_hparams(graphs):
    g = batch_graphs(graphs)
    model = AccuracyModel(g.x.shape[1], g.graph_attr.shape[1], hidden=16, layers=2)
    assert model.curve is None
    assert model(g).shape == (12,)


def _input_node_state(encoder: GraphEncoder, g: Batch) -> torch.Tensor:
    return encoder.node_states(g)[0]  # node 0 of graph 0 is the network input


def test_forward_messages_follow_the_data_flow(graphs):
    torch.manual_seed(0)
    g = batch_graphs(graphs[:1])
    changed = g.clone()
    changed.x[classifier_nodes(g)[0]] += 3.0  # perturb the classifier, the last node
    hops = int(g.x.shape[0]) - 1  # a chain: the classifier is this many edges from the input
    forward = GraphEncoder(g.x.shape[1], hidden=16, layers=hops, conv="gin", direction="forward").eval()
    both = GraphEncoder(g.x.shape[1], hidden=16, layers=hops, conv="gin", direction="both").eval()
    with torch.no_grad():
        # Along the data flow nothing reaches the input node from downstream...
        assert torch.allclose(_input_node_state(forward, g), _input_node_state(forward, changed))
        # ...while the bidirectional encoder hears it, and the readout sees it either way.
        assert not torch.allclose(_input_node_state(both, g), _input_node_state(both, changed))
        assert not torch.allclose(forward(g), forward(changed))


def test_readout_is_mean_max_and_classifier(graphs):
    g = batch_graphs(graphs[:3])
    enc = GraphEncoder(g.x.shape[1], hidden=8, layers=1).eval()
    with torch.no_grad():
        h = enc.node_states(g)
        out = enc(g)
    assert out.shape == (3, 24)
    assert torch.allclose(out[:, 16:], h[classifier_nodes(g)])
    first = h[g.batch == 0]
    assert torch.allclose(out[0, :8], first.mean(0), atol=1e-6)
    assert torch.allclose(out[0, 8:16], first.max(0).values)


def test_adjacency_sums_the_incoming_messages(graphs):
    g = batch_graphs(graphs)
    h = torch.randn(g.num_nodes, 5)
    summed = torch.zeros_like(h).index_add_(0, g.edge_index[1], h[g.edge_index[0]])
    assert torch.allclose(torch.sparse.mm(adjacency(g.edge_index, g.num_nodes), h, "sum"), summed, atol=1e-6)
    twice = torch.cat([g.edge_index, g.edge_index[:, :3]], dim=1)  # a repeated edge is summed twice
    summed.index_add_(0, g.edge_index[1, :3], h[g.edge_index[0, :3]])
    assert torch.allclose(torch.sparse.mm(adjacency(twice, g.num_nodes), h, "sum"), summed, atol=1e-6)


def test_graph_chunks_are_the_batches_of_their_graphs(graphs):
    g = batch_graphs(graphs)
    largest = int((g.ptr[1:] - g.ptr[:-1]).max())
    chunks = list(graph_chunks(g, largest + 5))
    assert 1 < len(chunks) < len(graphs) and chunks[0][0].start == 0 and chunks[-1][0].stop == len(graphs)
    for (rows, chunk), (following, _) in zip(chunks, chunks[1:] + [(slice(len(graphs), None), None)]):
        assert rows.stop == following.start and chunk.num_nodes <= largest + 5
        direct = batch_graphs(graphs[rows])
        for name in ("x", "edge_index", "batch", "ptr", "graph_attr"):
            assert torch.equal(getattr(chunk, name), getattr(direct, name)), name
    assert len(list(graph_chunks(g, 1))) == len(graphs)  # a graph larger than the limit is a chunk of its own


@pytest.mark.parametrize("conv", CONV_TYPES)
@pytest.mark.parametrize("direction", ["forward", "both"])
def test_predict_members_equals_each_member_on_the_whole_batch(graphs, conv, direction):
    g = batch_graphs(graphs)
    curve, hparams = torch.randn(12, 5), torch.randn(12, 2)
    members = []
    for seed in range(2):
        torch.manual_seed(seed)
        members.append(AccuracyModel(g.x.shape[1], g.graph_attr.shape[1], curve_dim=5, hparam_dim=2, hidden=16,
                                     layers=2, conv=conv, direction=direction).eval())
    with torch.no_grad():
        whole = torch.stack([m(g, curve, hparams) for m in members])
        for max_nodes in (1, 60, 10_000):
            assert torch.allclose(predict_members(members, g, curve, hparams, max_nodes), whole, atol=1e-5)
        plain = [AccuracyModel(g.x.shape[1], g.graph_attr.shape[1], hidden=16, layers=2, conv=conv).eval()]
        assert torch.allclose(predict_members(plain, g, max_nodes=60), plain[0](g)[None], atol=1e-5)


def test_unknown_conv_is_rejected():
    with pytest.raises(ValueError, match="unknown conv type"):
        GraphEncoder(25, conv="gcn")


def test_gnnpredictor_is_exported():
    import naapgnn
    from naapgnn.models.gnn import GNNPredictor
    from naapgnn.models.gnn import GNNPredictor as Direct

    assert GNNPredictor is Direct
    assert naapgnn.GNNPredictor is Direct


def test_mlp_initialises_like_linear_layers():
    """The PyG MLP gets the weights a stack of nn.Linear would get from the same seed (seeded fits reproduce)."""
    from naapgnn.models.network import mlp

    torch.manual_seed(3)
    module = mlp([10, 16, 1], dropout=0.1)
    after = torch.rand(1)
    torch.manual_seed(3)
    linears = [torch.nn.Linear(10, 16), torch.nn.Linear(16, 1)]
    assert torch.equal(after, torch.rand(1))
    for lin, ref in zip(module.lins, linears):
        assert torch.equal(lin.weight, ref.weight) and torch.equal(lin.bias, ref.bias)
    x = torch.randn(4, 10)
    module.eval()
    assert torch.allclose(module(x), linears[1](torch.relu(linears[0](x))), atol=0, rtol=0)

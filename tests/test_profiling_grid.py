"""Costs looked up by layer content, and the statistics of many architectures at once (the layer grid)."""
import numpy as np
import pytest

from naapgnn.arch import profiling
from naapgnn.arch.format import Layer, load_architecture, parse_architecture
from naapgnn.arch.grid import grid_statistics, layer_grid
from naapgnn.arch.profiling import (
    architecture_statistics, cached_layer_cost, layer_cost, layer_depths, layer_key, receptive_fields,
)
from naapgnn.data.nb201 import nb201_architecture, nb201_network

from conftest import REPO

CELLS = (
    "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|",
    "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",  # node 3 reads only the input: zero layers
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
)


@pytest.fixture(scope="module")
def archs():
    examples = [load_architecture(p) for p in sorted((REPO / "graphs").glob("*.json"))]
    schemes = [parse_architecture([{"kernel_size": k, "width": w, "stride": s, "residual": r}
                                   for k, w, s, r in blocks])
               for blocks in ([(3, 16, 1, False), (5, 32, 2, False), (3, 32, 1, True)], [(7, 8, 4, False), (1, 8, 2, False)],
                                  [(1, 64, 1, False)] + [(3, 64, 1, True)] * 3)]
    nb201 = [parse_architecture(nb201_network(c)) for c in CELLS] + [nb201_architecture(c) for c in CELLS]
    return examples + schemes + nb201


def test_cached_and_uncached_costs_agree(archs):
    for arch in archs:
        for layer in arch.layers:
            assert cached_layer_cost(layer) == layer_cost(layer)
            assert cached_layer_cost(layer) == layer_cost(layer)  # the second time from the cache


def test_equal_layers_in_new_objects_have_equal_keys():
    a, b = (parse_architecture(nb201_network(CELLS[0])) for _ in range(2))
    assert all(x is not y and layer_key(x) == layer_key(y) for x, y in zip(a.layers, b.layers))
    assert len({layer_key(layer) for layer in a.layers}) < len(a.layers) // 3


def test_keys_tell_fields_apart_by_name():
    pool = dict(index=0, op="maxpool", inputs=(-1,), in_shape=(3, 8, 8), out_shape=(3, 8, 8))
    a = Layer(attrs={"kernel_size": 3, "stride": 1, "padding": 1}, **pool)
    b = Layer(attrs={"stride": 3, "kernel_size": 1, "padding": 1}, **pool)  # same values in another order
    assert layer_key(a) != layer_key(b)


def test_a_layer_with_a_list_field_is_costed_without_the_cache():
    layer = Layer(0, "conv", (-1,), {"out_channels": 4, "kernel_size": 3, "groups": 1, "bias": False,
                                     "batchnorm": True, "order": "conv-bn-act", "padding": [1, 1]},
                  (3, 8, 8), (4, 8, 8))
    with pytest.raises(TypeError):
        hash(layer_key(layer))
    assert cached_layer_cost(layer) == layer_cost(layer)


def test_the_cost_cache_is_bounded(monkeypatch, archs):
    monkeypatch.setattr(profiling, "_COSTS", {})
    monkeypatch.setattr(profiling, "_CACHE_SIZE", 5)
    layers = [layer for arch in archs for layer in arch.layers]
    assert len({layer_key(layer) for layer in layers if layer.op != "zero"}) > 5
    for layer in layers:
        assert cached_layer_cost(layer) == layer_cost(layer)
        assert len(profiling._COSTS) <= 5


def test_the_grid_equals_the_per_architecture_values(archs):
    grid = layer_grid(archs)
    stats = grid_statistics(grid)
    assert list(stats) == list(architecture_statistics(archs[0]))
    for a, arch in enumerate(archs):
        n = len(arch.layers)
        assert grid.lengths[a] == n
        assert {name: column[a] for name, column in stats.items()} == architecture_statistics(arch)
        assert grid.fields[a, :n].tolist() == receptive_fields(arch)
        assert tuple(grid.depths[a, :n].tolist()) == layer_depths(arch)
        assert [layer_key(grid.layers[k]) for k in grid.kinds[a, :n]] == [layer_key(layer) for layer in arch.layers]

def test_grid_rows_and_an_empty_grid(archs):
    grid = layer_grid(archs)
    rows = np.array([len(archs) - 1, 0])
    part = grid_statistics(grid.take(rows))
    assert all(np.array_equal(column[rows], part[name]) for name, column in grid_statistics(grid).items())
    empty = grid_statistics(layer_grid([]))
    assert all(len(column) == 0 for column in empty.values())


def test_counts_beyond_int64_stay_exact():
    side = 2 ** 24  # shapes are only numbers here: nothing of this size is built
    huge = parse_architecture({"input_shape": [1, side, side], "num_classes": 10, "layers": [
        {"op": "conv", "out_channels": 1024, "kernel_size": 3}, {"op": "conv", "out_channels": 1024, "kernel_size": 3}]})
    stats = grid_statistics(layer_grid([huge]))
    assert stats["NumMACs"][0] == architecture_statistics(huge)["NumMACs"] > 2 ** 63

"""The one-hot-of-ops baseline: cells read back from NAS-Bench-201 layer graphs, features, errors, registry."""
import itertools

import numpy as np
import pytest

from baselines.onehot import OneHotOpsRegressor, cell_of, onehot_features
from naapgnn.arch.format import parse_architecture
from naapgnn.data.nb201 import CELL_OPS, EDGES, nb201_network
from naapgnn.data.records import Record
from naapgnn.errors import NaapgnnError


def _arch(ops, dataset="cifar10"):
    return parse_architecture(nb201_network(dict(zip(EDGES, ops)), dataset))


SAMPLE = [tuple(ops) for ops in itertools.islice(itertools.product(CELL_OPS, repeat=6), 0, 15625, 97)]


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "imagenet16"])
def test_cell_round_trip_builds_the_same_network(dataset):
    # The cell read back may be another spelling of the same network (aliases), never another network.
    for ops in SAMPLE[::4]:
        arch = _arch(ops, dataset)
        assert _arch(cell_of(arch), dataset) == arch


def test_cells_without_skips_come_back_exactly():
    # Without identity edges no node aliases another, so the network has one spelling.
    exact = [ops for ops in SAMPLE if "skip_connect" not in ops]
    assert len(exact) > 30
    for ops in exact:
        assert cell_of(_arch(ops)) == ops


def test_aliased_cells_share_one_canonical_cell():
    # node 1 = node 0 (a lone skip): a conv 0->2 and a conv 1->2 give the same network;
    # the canonical spelling is the first in product order ("none" before the conv on edge (0, 2))
    a = ("skip_connect", "nor_conv_3x3", "none", "none", "none", "nor_conv_1x1")
    b = ("skip_connect", "none", "nor_conv_3x3", "none", "none", "nor_conv_1x1")
    assert _arch(a) == _arch(b)
    assert cell_of(_arch(a)) == cell_of(_arch(b)) == b


def test_all_none_cell_is_read():
    ops = ("none",) * 6
    assert cell_of(_arch(ops)) == ops


def test_features_are_one_hot_per_edge():
    ops = ("nor_conv_3x3", "skip_connect", "none", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3")
    x = onehot_features([Record(id="a", arch=_arch(ops))])
    assert x.shape == (1, 30)
    assert x.sum() == 6
    assert [CELL_OPS[int(k)] for k in np.flatnonzero(x[0]) % 5] == list(ops)


def test_non_nb201_network_is_refused_in_one_line():
    scheme = [{"kernel_size": 3, "width": 16, "stride": 2, "residual": False}]
    with pytest.raises(NaapgnnError, match=r"record 'x': not a NAS-Bench-201 network") as info:
        onehot_features([Record(id="x", arch=parse_architecture(scheme))])
    assert "\n" not in str(info.value)


def test_fit_predict_ranks_a_synthetic_target():
    rng = np.random.default_rng(0)
    x = np.eye(5)[rng.integers(0, 5, (400, 6))].reshape(400, 30)
    y = x[:, 3::5].sum(axis=1) * 0.1 + 0.5  # accuracy grows with the number of 3x3 convs
    for model in ("rf", "gbm"):
        reg = OneHotOpsRegressor(model=model, n_estimators=100, random_state=0).fit(x[:300], y[:300])
        mean, std = reg.predict(x[300:], return_std=True)
        assert mean.shape == std.shape == (100,)
        assert np.corrcoef(mean, y[300:])[0, 1] > 0.9
    with pytest.raises(NaapgnnError, match="expected 30 one-hot columns, got 29"):
        reg.predict(x[:, :29])
    with pytest.raises(NaapgnnError, match="model must be one of rf, gbm"):
        OneHotOpsRegressor(model="svm").fit(x, y)


def test_registered_under_onehot_ops():
    from naapgnn.models.registry import create, get

    assert isinstance(create("onehot_ops", budget=0, random_state=1), OneHotOpsRegressor)
    assert get("onehot_ops_gbm").max_budget == 0
    with pytest.raises(NaapgnnError, match="applies to budgets 0..0"):
        create("onehot_ops", budget=3)

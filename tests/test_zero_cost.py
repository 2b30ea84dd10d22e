"""Zero-training scores: NASWOT kernel by hand, determinism, synflow properties, images."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from naapgnn.data.records import Record
from naapgnn.arch.builder import build_model
from naapgnn.errors import NaapgnnError
from naapgnn.models.zero_cost import (fallback_images, load_images, naswot, naswot_kernel, score_architectures, synflow,
                               with_scores)

SMALL = [
    {"kernel_size": 3, "width": 8, "stride": 2, "residual": False},
    {"kernel_size": 3, "width": 8, "stride": 1, "residual": True},
    {"kernel_size": 1, "width": 12, "stride": 2, "residual": False},
]


def _toy():
    """Linear(2, 3) -> ReLU -> Linear(3, 2) -> ReLU with hand-picked weights."""
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU())
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]))
        net[0].bias.zero_()
        net[2].weight.copy_(torch.tensor([[1.0, 1.0, 0.0], [0.0, -1.0, 1.0]]))
        net[2].bias.copy_(torch.tensor([0.0, 0.5]))
    return net


def test_hamming_kernel_of_a_two_layer_toy_matches_the_hand_computation():
    x = torch.tensor([[1.0, 2.0], [-1.0, 1.0], [2.0, -1.0]])
    # Layer 1 pre-activations: [1, 2, -1], [-1, 1, -2], [2, -1, 3] -> codes 110, 010, 101.
    # Layer 2 pre-activations: [3, -1.5], [1, -0.5], [2, 3.5]      -> codes 10, 10, 11.
    # Codes over the 5 units: 11010, 01010, 10111; K[i, j] = units where i and j agree.
    expected = np.array([[5, 4, 2], [4, 5, 1], [2, 1, 5]], dtype=float)
    K = naswot_kernel(_toy(), x)
    np.testing.assert_array_equal(K, expected)
    assert naswot(_toy(), x) == pytest.approx(math.log(36.0))  # det = 5*24 - 4*18 + 2*(-6) = 36


def test_identical_images_give_a_singular_kernel():
    x = torch.tensor([[1.0, 2.0], [1.0, 2.0], [2.0, -1.0]])
    assert naswot(_toy(), x) == -math.inf


def test_naswot_on_a_built_network_is_finite_and_deterministic():
    images = fallback_images(8, seed=0).images
    scores = []
    for _ in range(2):
        torch.manual_seed(0)
        scores.append(naswot(build_model(SMALL), images))
    assert math.isfinite(scores[0])
    assert scores[0] == scores[1]
    # And through the batch helper, with the same fixed seed.
    a = score_architectures([SMALL, SMALL[:2]], "naswot", batch_size=8, seed=3)
    b = score_architectures([SMALL, SMALL[:2]], "naswot", batch_size=8, seed=3)
    np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(a))
    # With 8 images the log-determinant is bounded by 8 * log(N_A).
    torch.manual_seed(0)
    n_units = naswot_kernel(build_model(SMALL), images)[0, 0]
    assert 0 < scores[0] <= 8 * math.log(n_units)


def test_naswot_leaves_the_models_batchnorm_statistics_alone():
    torch.manual_seed(0)
    model = build_model(SMALL)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    naswot(model, fallback_images(8).images)
    synflow(model)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert model.training


def test_naswot_codes_sign_keeping_activations_as_relus_and_needs_two_images():
    assert naswot(nn.Linear(4, 2), torch.randn(4, 4)) == -math.inf  # no unit to code: the zero kernel
    assert naswot(nn.Sequential(nn.Linear(4, 8), nn.Sigmoid()), torch.randn(4, 4)) == -math.inf
    torch.manual_seed(3)
    images, layer = torch.randn(6, 4), nn.Linear(4, 64)
    relu = naswot(nn.Sequential(layer, nn.ReLU()), images)
    assert math.isfinite(relu)
    for act in (nn.GELU(), nn.SiLU(), nn.Mish(), nn.Hardswish(), nn.LeakyReLU(), nn.Tanh()):
        assert naswot(nn.Sequential(layer, act), images) == relu, act
    with pytest.raises(NaapgnnError, match="at least 2 images"):
        naswot(_toy(), torch.randn(1, 2))


def test_synflow_is_positive_and_grows_with_width():
    def scheme(width):
        return [{"kernel_size": 3, "width": width, "stride": 2, "residual": False},
                {"kernel_size": 3, "width": width, "stride": 2, "residual": False}]

    values = []
    for width in (8, 16, 32):
        torch.manual_seed(0)
        values.append(synflow(build_model(scheme(width))))
    assert all(v > 0 for v in values)
    assert values[0] < values[1] < values[2]


def test_synflow_sums_weight_times_gradient_for_a_linear_chain():
    # Two linear layers, all-ones input of size 2: R = sum(|W2| |W1| 1).
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU(), nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, -2.0], [3.0, 0.5]]))
        net[2].weight.copy_(torch.tensor([[-1.0, 2.0]]))
    # Every path's product of |weights| is counted once per layer: score = 2 * R.
    r = (torch.tensor([[1.0, 2.0]]) @ torch.tensor([[1.0, 2.0], [3.0, 0.5]]) @ torch.ones(2, 1)).item()
    assert synflow(net, input_shape=(2,)) == pytest.approx(2 * r)


def test_score_architectures_validates_and_times():
    scores, seconds = score_architectures([SMALL], "synflow", return_times=True)
    assert scores.shape == (1,) and seconds.shape == (1,) and seconds[0] > 0
    with pytest.raises(NaapgnnError, match="unknown zero-cost score"):
        score_architectures([SMALL], "jacov")
    with pytest.raises(NaapgnnError, match="does not match"):
        score_architectures([SMALL], "naswot", images=torch.randn(4, 3, 16, 16))


def test_images_name_their_source(tmp_path):
    from naapgnn.data.cifar import write_synthetic_cifar10

    fallback = load_images(None, n=4, seed=1)
    assert fallback.is_fallback and fallback.source.startswith("FALLBACK: Gaussian noise")
    assert tuple(fallback.images.shape) == (4, 3, 32, 32)
    write_synthetic_cifar10(tmp_path, n_train=10, n_test=12)
    real = load_images(tmp_path, n=6, seed=1)
    assert not real.is_fallback and real.source.startswith("CIFAR-10 test batch, 6 images")
    assert tuple(real.images.shape) == (6, 3, 32, 32)
    assert float(real.images.min()) >= -1.0 and float(real.images.max()) <= 1.0
    torch.testing.assert_close(real.images, load_images(tmp_path, n=6, seed=1).images)
    with pytest.raises(NaapgnnError, match="holds 12"):
        load_images(tmp_path, n=20)
    with pytest.raises(NaapgnnError, match="test batch not found"):
        load_images(tmp_path / "nowhere")


def test_with_scores_adds_hparams_and_skips_non_finite():
    from naapgnn.arch.format import parse_architecture

    records = [Record(id=str(i), arch=parse_architecture(SMALL), hparams={"lr": 0.1}) for i in range(2)]
    out = with_scores(records, {"naswot": [1.5, -math.inf]})
    assert out[0].hparams == {"lr": 0.1, "naswot": 1.5}
    assert out[1].hparams == {"lr": 0.1}
    assert records[0].hparams == {"lr": 0.1}  # originals untouched
    with pytest.raises(NaapgnnError, match="1 naswot scores for 2 records"):
        with_scores(records, {"naswot": [1.0]})


def test_synflow_without_batchnorm_equals_the_net_built_without_it_and_ignores_dead_branches():
    def net(batchnorm):
        conv = {"op": "conv", "kernel_size": 3, "batchnorm": batchnorm, "bias": False}
        return {"input_shape": [3, 8, 8], "num_classes": 4, "layers": [
            {**conv, "out_channels": 6}, {**conv, "out_channels": 6, "order": "act-conv-bn"},
            {**conv, "out_channels": 5, "inputs": [0]},  # a dead branch: no gradient reaches it
            {"op": "add", "inputs": [0, 1]}, {"op": "gap", "inputs": [3]}, {"op": "linear", "out_features": 4}]}

    torch.manual_seed(3)
    with_bn = build_model(net(True), init="default")
    torch.manual_seed(3)
    without_bn = build_model(net(False), init="default")
    plain = synflow(without_bn)
    assert synflow(with_bn, batchnorm=False) == pytest.approx(plain, rel=1e-12)
    assert synflow(with_bn) != pytest.approx(plain, rel=1e-9)  # the default keeps batch norm (eval mode)
    scores = score_architectures([net(True)], "synflow", init="default", batchnorm=False, seed=3)
    assert scores[0] == pytest.approx(plain, rel=1e-12)


def _ten_networks(naap440, monkeypatch):
    """A maker of fresh benchmarks of the first 10 NAAP-440 networks, zero-cost scores kept in chunks of 4."""
    import naapgnn.evaluation.benchmark as benchmark
    from naapgnn.data.records import records_from_naap440

    records = records_from_naap440(naap440)[:10]
    monkeypatch.setattr(benchmark, "CHUNK", 4)
    return lambda: benchmark.Benchmark(records, records, np.array([r.target for r in records]), np.zeros(10, bool),
                                       "ten", 90)


def test_zero_cost_scores_resume_from_the_last_finished_chunk(naap440, tmp_path, monkeypatch):
    import naapgnn.evaluation.benchmark as benchmark
    import naapgnn.models.zero_cost as zero_cost
    from naapgnn.io import ResumeLog

    bench = _ten_networks(naap440, monkeypatch)
    real, scored = zero_cost.score_architectures, []

    def counted(archs, score, **kw):
        if len(scored) == 4:  # naswot's 3 chunks and synflow's first done: interrupted
            raise KeyboardInterrupt
        scored.append((score, len(archs)))
        return real(archs, score, **kw)

    monkeypatch.setattr(zero_cost, "score_architectures", counted)
    store = tmp_path / "zero_cost.jsonl"
    with pytest.raises(KeyboardInterrupt):
        benchmark.compute_zero_cost(bench(), [0], ResumeLog(store), batch_size=8, progress=False)
    assert scored == [("naswot", 4), ("naswot", 4), ("naswot", 2), ("synflow", 4)]
    scored.clear()
    monkeypatch.setattr(zero_cost, "score_architectures", lambda archs, score, **kw: (scored.append(
        (score, len(archs))), real(archs, score, **kw))[1])
    resumed = bench()
    benchmark.compute_zero_cost(resumed, [0], ResumeLog(store), batch_size=8, progress=False)
    assert scored == [("synflow", 4), ("synflow", 2)]  # only what was missing
    whole = bench()
    benchmark.compute_zero_cost(whole, [0], ResumeLog(tmp_path / "fresh.jsonl"), batch_size=8, progress=False)
    for score in ("naswot", "synflow"):
        np.testing.assert_array_equal(resumed.zero_cost[0][score], whole.zero_cost[0][score])


def test_zero_cost_scores_are_kept_when_only_curves_targets_or_hparams_change(naap440, tmp_path, monkeypatch):
    import copy

    import naapgnn.evaluation.benchmark as benchmark
    import naapgnn.models.zero_cost as zero_cost
    from naapgnn.data.records import records_from_naap440
    from naapgnn.io import ResumeLog

    records = records_from_naap440(naap440)[:3]
    edited = copy.deepcopy(records)
    edited[0].curve["accuracy"][0] += 0.1
    edited[1].hparams["lr"] = 0.5
    store, scored = ResumeLog(tmp_path / "zc.jsonl"), []
    real = zero_cost.score_architectures
    monkeypatch.setattr(zero_cost, "score_architectures",
                        lambda archs, score, **kw: (scored.append(score), real(archs, score, **kw))[1])
    for recs, y in ((records, [0.5, 0.6, 0.7]), (edited, [0.1, 0.6, 0.7])):
        bench = benchmark.Benchmark(recs, recs, np.array(y), np.zeros(3, bool), "three", 90)
        benchmark.compute_zero_cost(bench, [0], store, batch_size=8, progress=False)
    assert scored == ["naswot", "synflow"]  # scored once
    renamed = copy.deepcopy(records)
    renamed[2].id = "other"
    bench = benchmark.Benchmark(renamed, renamed, np.zeros(3), np.zeros(3, bool), "three", 90)
    benchmark.compute_zero_cost(bench, [0], store, batch_size=8, progress=False)
    assert scored == ["naswot", "synflow"] * 2


def test_a_limit_scores_only_the_first_chunk_and_returns_the_projection(naap440, tmp_path, monkeypatch):
    import naapgnn.evaluation.benchmark as benchmark
    import naapgnn.models.zero_cost as zero_cost
    from naapgnn.io import ResumeLog

    bench = _ten_networks(naap440, monkeypatch)
    real, scored = zero_cost.score_architectures, []

    def timed(archs, score, **kw):  # every architecture "takes" 2 s of naswot and 1 s of synflow
        scored.append((score, len(archs)))
        values, _ = real(archs, score, **kw)
        return values, np.full(len(archs), 2.0 if score == "naswot" else 1.0)

    monkeypatch.setattr(zero_cost, "score_architectures", timed)
    store = ResumeLog(tmp_path / "zero_cost.jsonl")
    limited = bench()
    projected = benchmark.compute_zero_cost(limited, [0, 1], store, batch_size=8, progress=False, max_seconds=30)
    # 2 seeds x 10 architectures, the first 4 of seed 0 done: 16 left of each score, 16 x 2 s + 16 x 1 s
    assert projected == pytest.approx(48.0)
    assert scored == [("naswot", 4), ("synflow", 4)] and limited.zero_cost == {}
    scored.clear()
    assert benchmark.compute_zero_cost(limited, [0, 1], store, batch_size=8, progress=False, max_seconds=48) is None
    assert scored == [("naswot", 4), ("naswot", 2), ("synflow", 4), ("synflow", 2)] + [
        ("naswot", 4), ("naswot", 4), ("naswot", 2), ("synflow", 4), ("synflow", 4), ("synflow", 2)]
    assert sorted(limited.zero_cost) == [0, 1]
    scored.clear()  # all in the store: nothing projected, nothing scored
    assert benchmark.compute_zero_cost(bench(), [0, 1], store, batch_size=8, progress=False, max_seconds=0) is None
    assert scored == []

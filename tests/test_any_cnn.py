"""Any valid CNN a user brings is predicted by a default-settings checkpoint, with an honest domain report."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import naapgnn
from naapgnn.arch.profiling import weighted_depth
from naapgnn.data.records import records_from_naap440
from naapgnn.models.gnn import GNNPredictor

REPO = Path(__file__).resolve().parents[1]
GRAPHS = sorted((REPO / "graphs").glob("*.json"))
# Default settings (GIN, curve stacked, a quarter of statistics forest), only trained shorter and smaller.
SHORT = dict(max_epochs=20, patience=10, n_ensemble=2, forest_trees=30)
FAR_OUTSIDE = ("resnet20", "vgg11", "mobilenetv2", "densenet_style", "resnet_like", "vgg_like")


@pytest.fixture(scope="module")
def checkpoint(naap440, tmp_path_factory):
    train = [r for r in records_from_naap440(naap440) if r.split == "train"][:120]
    model = GNNPredictor(budget=0, **SHORT).fit(train)
    assert model.blend_forest == 0.25 and model.forest_ is not None
    return GNNPredictor.load(model.save(tmp_path_factory.mktemp("ckpt") / "gnn0"))


def _arch(name: str):
    return json.loads((REPO / "graphs" / f"{name}.json").read_text())


def test_the_fixtures_are_the_named_networks():
    shapes = {}
    for name in ("resnet20", "vgg11", "mobilenetv2", "densenet_style"):
        arch = naapgnn.parse_architecture(_arch(name))
        convs = [layer for layer in arch.layers if layer.op == "conv"]
        shapes[name] = (weighted_depth(arch), naapgnn.profile(arch)[0],
                        sum(layer.op == "add" for layer in arch.layers),
                        sum(c.attrs["groups"] == c.in_shape[0] > 1 for c in convs),
                        sum(c.attrs["activation"] == "relu6" for c in convs),
                        sum(layer.op == "concat" for layer in arch.layers))
    assert shapes["resnet20"] == (20, 272_474, 9, 0, 0, 0)      # 19 convs + classifier, 9 residual adds
    assert shapes["vgg11"] == (11, 9_753_674, 0, 0, 0, 0)       # 8 convs + 3 linear
    assert shapes["mobilenetv2"] == (53, 2_236_682, 10, 17, 35, 0)  # 17 depthwise bottlenecks, 10 adds
    assert shapes["densenet_style"] == (40, 1_059_298, 0, 0, 0, 36)  # DenseNet-40, k=12: 36 concatenations


def test_every_graph_is_predicted_within_zero_and_one(checkpoint):
    archs = [json.loads(path.read_text()) for path in GRAPHS]
    assert {p.stem for p in GRAPHS} >= {*FAR_OUTSIDE, "naap440_scheme"}
    mean, std = checkpoint.predict(archs, return_std=True)
    assert mean.shape == (len(archs),) and np.all((mean >= 0) & (mean <= 1))
    assert np.all(np.isfinite(std)) and np.all(std >= 0)
    one_by_one = np.array([checkpoint.predict([a])[0] for a in archs])
    assert np.allclose(mean, one_by_one)  # rows of a mixed batch do not disturb each other


def test_far_outside_networks_are_flagged_with_reasons(checkpoint):
    names = [p.stem for p in GRAPHS]
    in_domain, reasons = checkpoint.domain_report([json.loads(p.read_text()) for p in GRAPHS])
    report = dict(zip(names, zip(in_domain, reasons)))
    for name in FAR_OUTSIDE:
        inside, why = report[name]
        assert not inside and "params" in why and "above training max" in why, (name, why)
        assert "forest not blended" not in why, (name, why)  # the statistics forest reads any network
    assert report["mobilenetv2"][1].count("depth 53 > ") == 1
    assert "is_add" not in report["naap440_scheme"][1]


def test_a_naap440_scheme_is_in_domain(checkpoint, naap440):
    records = [r for r in records_from_naap440(naap440) if r.split == "train"][:120]
    in_domain, reasons = checkpoint.domain_report(records[:20])
    # Its own training data: nothing outside but, with only 2 members, a few noisy disagreements.
    assert all(r == "" or r.startswith("ensemble disagreement") for r in reasons), reasons
    assert in_domain.sum() >= 15, reasons


def test_a_per_layer_forest_is_left_out_where_it_cannot_read(naap440):
    train = [r for r in records_from_naap440(naap440) if r.split == "train"][:120]
    model = GNNPredictor(budget=0, forest="per_layer", **{**SHORT, "max_epochs": 5}).fit(train)
    deep = json.loads((REPO / "graphs" / "resnet20.json").read_text())
    assert np.isnan(model.predict_parts([deep])["forest"][0])
    assert "forest not blended (deeper than its 4 blocks)" in model.domain_report([deep])[1][0]

import pytest
import torch

from naapgnn.arch.format import load_architecture
from naapgnn.arch.builder import build_model
from naapgnn.arch.profiling import layer_costs, profile

from conftest import REPO

EXAMPLES = sorted((REPO / "graphs").glob("*.json"))


def test_all_440_match_dataset_params_and_macs(naap440):
    mismatches = [
        row.ModelId for row in naap440.itertuples() if profile(row.scheme) != (row.NumParams, row.NumMACs)
    ]
    assert mismatches == []


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_params_equal_the_built_module(path):
    arch = load_architecture(path)
    model = build_model(arch)
    assert profile(arch)[0] == sum(p.numel() for p in model.parameters())
    assert sum(c.params for c in layer_costs(arch)) == profile(arch)[0]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_macs_follow_the_thop_convention(path):
    thop = pytest.importorskip("thop")
    arch = load_architecture(path)
    model = build_model(arch).eval()
    macs, params = thop.profile(model, inputs=(torch.randn(1, *arch.input_shape),), verbose=False)
    assert profile(arch) == (int(params), int(macs))

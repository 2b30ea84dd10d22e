"""The predictor registry: its errors, and the paper's models reached through the entry point."""
from __future__ import annotations

import subprocess
import sys

import pytest

from naapgnn.errors import NaapgnnError
from naapgnn.models import registry


def test_unknown_key_is_one_line_listing_the_known_ones():
    with pytest.raises(NaapgnnError, match=r"unknown predictor 'oracle' \(known: gnn, "):
        registry.get("oracle")


@pytest.mark.parametrize("key, budget", [("forest", 3), ("forest+cycle", 0), ("naswot", 1), ("curve_power_law", 2)])
def test_budget_out_of_range_is_refused(key, budget):
    with pytest.raises(NaapgnnError, match=f"predictor '{key.replace('+', '[+]')}' applies to budgets"):
        registry.create(key, budget=budget)


@pytest.mark.parametrize("budget", ["5", 1.5, -1, True])
def test_a_budget_that_is_not_a_number_of_epochs_is_refused(budget):
    with pytest.raises(NaapgnnError, match=f"^predictor 'baker': budget must be a non-negative integer \\(epochs\\), "
                                           f"got {budget!r}$"):
        registry.create("baker", budget=budget)


def test_a_key_cannot_be_registered_twice():
    with pytest.raises(NaapgnnError, match="already registered"):
        registry.register(registry.get("gnn"))


def test_paper_models_come_through_the_entry_point_without_importing_baselines():
    code = ("import sys\n"
            "from naapgnn.models import registry\n"
            "assert 'baselines' not in sys.modules\n"
            "keys = registry.available()\n"
            "paper = [k for k in keys if k.startswith('paper:')]\n"
            "model = registry.create('paper_gb100', budget=3, random_state=1)\n"
            "print(len(paper), 'paper_rf200' in keys, 'per_layer_forest' in keys, type(model).__name__)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["24", "True", "True", "PaperRegressor"]


def test_every_evaluate_key_is_registered_with_its_label():
    from naapgnn.evaluation.evaluate import PREDICTORS

    assert set(PREDICTORS) <= set(registry.available())
    assert registry.get("paper:5-NN").label == "5-NN, paper features"
    assert registry.get("curve_last").label == "Last observed accuracy"

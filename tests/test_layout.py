"""The package's structure: no import cycles, one-way dependencies, small modules.

Imports are read from the source (module level and inside functions alike),
so a lazy import inside a function counts as a dependency too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("naapgnn", "baselines")
MAX_LINES = 450


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module of ours that an imported name lives in (longest known prefix)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            target = _resolve(name)
            if target and target != module:
                targets.add(target)
    return targets


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for module, path in MODULES.items():
        graph.add_node(module)
        for target in _imports(module, path):
            if not module.startswith(target + "."):  # a module importing its own package's __init__
                graph.add_edge(module, target)
    return graph


def _package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "naapgnn" and len(parts) > 2 else module


def test_the_checker_sees_lazy_imports():
    graph = _graph()
    assert "naapgnn.arch.format" in MODULES
    # naapgnn.cli.train imports the GNN estimator inside a function only.
    assert any(t.startswith("naapgnn.models") for t in graph.successors("naapgnn.cli.train"))


def test_no_import_cycle_between_modules():
    cycles = list(nx.simple_cycles(_graph()))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c + [c[0]]) for c in cycles[:5])


def test_subpackages_depend_one_way():
    """Folded to subpackages (naapgnn.arch, naapgnn.data, ...), the import graph has no cycle."""
    folded = nx.DiGraph()
    for a, b in _graph().edges:
        pa, pb = _package_of(a), _package_of(b)
        if pa != pb and not pa.startswith(pb + ".") and pb != "naapgnn":
            folded.add_edge(pa, pb)
    cycles = list(nx.simple_cycles(folded))
    assert not cycles, "subpackage cycles: " + "; ".join(" -> ".join(c + [c[0]]) for c in cycles[:5])


def test_naapgnn_below_its_cli_never_imports_baselines():
    offenders = sorted(
        f"{a} -> {b}" for a, b in _graph().edges
        if a.startswith("naapgnn") and not a.startswith("naapgnn.cli") and b.startswith("baselines")
    )
    assert not offenders, offenders


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_small(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(ROOT)}: {lines} lines (at most {MAX_LINES})"


@pytest.mark.parametrize("script", sorted((ROOT / "scripts").glob("*.py")), ids=lambda p: p.name)
def test_every_script_reads_its_arguments_with_argparse(script):
    """So that ``--help`` answers, as README's commands assume, rather than be read as a file name."""
    tree = ast.parse(script.read_text())
    calls = {node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute)}
    assert {"ArgumentParser", "parse_args"} <= calls, script.name

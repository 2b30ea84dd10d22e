"""Drawing an encoded architecture DAG to an image file."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx

from naapgnn.errors import NaapgnnError
from naapgnn.graph.encoding import to_networkx

FORMATS = ("png", "svg", "pdf", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp")
"""Image formats :func:`draw` writes, by file suffix."""

_COLORS = {
    "input": "#d9d9d9",
    "conv": "#9ecae1",
    "maxpool": "#c7e9c0",
    "avgpool": "#c7e9c0",
    "dropout": "#fdd0a2",
    "linear": "#dadaeb",
    "add": "#fcbba1",
    "mul": "#fc9272",
    "gap": "#c7e9c0",
    "classifier": "#bcbddc",
}
_GROUPED_CONV_COLOR = "#4292c6"  # grouped or depthwise conv: darker than a dense one


def check_format(path: str | Path) -> str:
    """The image format of ``path`` from its suffix; :class:`NaapgnnError` when none or unsupported."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        problem = f"cannot draw to '.{suffix}'" if suffix else "no image suffix"
        raise NaapgnnError(f"{path}: {problem}; use one of {', '.join('.' + f for f in FORMATS)}")
    return suffix


def node_color(attrs: dict) -> str:
    """Fill colour of a node: by kind, a grouped (e.g. depthwise) conv set apart from a dense one."""
    if attrs["kind"] == "conv" and int(attrs.get("groups", 1) or 1) > 1:
        return _GROUPED_CONV_COLOR
    return _COLORS.get(attrs["kind"], "white")


def draw(arch: Any, path: str | Path, title: str | None = None) -> Path:
    """Draw the DAG top to bottom, one row per topological generation.

    Parameters
    ----------
    arch : Architecture, scheme list or layer-graph dict
    path : output image path, its format by suffix (:data:`FORMATS`)
    title : optional title above the drawing

    Returns
    -------
    Path of the written file.
    """
    fmt = check_format(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    graph = to_networkx(arch)
    pos = _layered_positions(graph)
    rows = max(y for _, y in pos.values()) + 1
    width = max(sum(1 for p in pos.values() if p[1] == r) for r in range(rows))
    fig, ax = plt.subplots(figsize=(max(4.5, 3.2 * width), max(3.0, 1.05 * rows)))
    xy = {n: (x, -y) for n, (x, y) in pos.items()}
    boxes = {}
    for n, (x, y) in xy.items():
        boxes[n] = ax.text(x, y, graph.nodes[n]["label"], ha="center", va="center", fontsize=8.5,
                           bbox=dict(boxstyle="round,pad=0.35", fc=node_color(graph.nodes[n]), ec="#333333"))
    for u, v in graph.edges:
        skip = pos[v][1] - pos[u][1] > 1
        ax.annotate(
            "", xy=xy[v], xytext=xy[u],
            arrowprops=dict(
                arrowstyle="-|>", color="#d6604d" if skip else "#444444", lw=1.3,
                linestyle="--" if skip else "-", shrinkA=0, shrinkB=0,
                patchA=boxes[u].get_bbox_patch(), patchB=boxes[v].get_bbox_patch(),
                connectionstyle="arc3,rad=-0.5" if skip and pos[v][0] == pos[u][0] else "arc3,rad=0",
            ),
        )
    ax.set_xlim(-1.2, max(1.2, width - 0.8 + 1.2))
    ax.set_ylim(-rows + 0.4, 0.6)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    path = Path(path)
    fig.savefig(path, bbox_inches="tight", dpi=110, format=fmt)
    plt.close(fig)
    return path


def _layered_positions(graph: nx.DiGraph) -> dict[int, tuple[float, int]]:
    # Longest-path layering keeps a chain in one column and puts each join
    # below all of its inputs, so skip connections show as side arcs.
    level: dict[int, int] = {}
    for n in nx.topological_sort(graph):
        level[n] = max((level[p] + 1 for p in graph.predecessors(n)), default=0)
    pos = {}
    for lvl in range(max(level.values()) + 1):
        row = [n for n in graph.nodes if level[n] == lvl]
        offset = (len(row) - 1) / 2
        for i, n in enumerate(row):
            pos[n] = (i - offset, lvl)
    return pos

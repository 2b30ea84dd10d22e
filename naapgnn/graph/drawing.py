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
ARC_RAD = -0.5  # a skip connection within one column: an arc bulging to the right


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
    import matplotlib.pyplot as plt

    fig = figure(arch, title)
    path = Path(path)
    fig.savefig(path, bbox_inches="tight", dpi=110, format=fmt)
    plt.close(fig)
    return path


def figure(arch: Any, title: str | None = None):
    """The matplotlib figure :func:`draw` saves: every node and arrow inside its axes, a chain in one column, the
    nodes of one generation side by side, a skip connection within a column as an arc on its right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    graph = to_networkx(arch)
    pos = _layered_positions(graph)
    rows = max(y for _, y in pos.values()) + 1
    width = max(sum(1 for p in pos.values() if p[1] == r) for r in range(rows))
    fig, ax = plt.subplots(figsize=(max(4.5, 3.2 * width), max(3.0, 1.05 * rows)))
    xy = {n: (x, -y) for n, (x, y) in pos.items()}
    half = max(abs(x) for x, _ in xy.values())  # rows are centred on x = 0
    ax.set_xlim(-half - 1.2, half + 1.2)
    ax.set_ylim(-rows + 0.4, 0.6)
    arcs = [(u, v) for u, v in graph.edges if pos[v][1] - pos[u][1] > 1 and pos[v][0] == pos[u][0]]
    _make_room_for_arcs(fig, ax, [(xy[u], xy[v]) for u, v in arcs])
    boxes = {}
    for n, (x, y) in xy.items():
        boxes[n] = ax.text(x, y, graph.nodes[n]["label"], ha="center", va="center", fontsize=8.5,
                           bbox=dict(boxstyle="round,pad=0.35", fc=node_color(graph.nodes[n]), ec="#333333"))
    for u, v in graph.edges:
        skip = pos[v][1] - pos[u][1] > 1
        ax.annotate(
            "", xy=xy[v], xytext=xy[u], annotation_clip=False,
            arrowprops=dict(
                arrowstyle="-|>", color="#d6604d" if skip else "#444444", lw=1.3,
                linestyle="--" if skip else "-", shrinkA=0, shrinkB=0,
                patchA=boxes[u].get_bbox_patch(), patchB=boxes[v].get_bbox_patch(),
                connectionstyle=f"arc3,rad={ARC_RAD}" if (u, v) in arcs else "arc3,rad=0",
            ),
        )
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _make_room_for_arcs(fig, ax, arcs: list) -> None:
    """Widen the figure, at the same scale, so that the skip arcs between nodes of one column (``(top, bottom)``
    points in data units) fit on its right: an ``arc3`` curve bulges a quarter of its chord's length from it."""
    to_pixels = ax.transData.transform
    pixels_per_x = to_pixels((1, 0))[0] - to_pixels((0, 0))[0]
    right = ax.get_xlim()[1]
    needed = max([x + abs(ARC_RAD) / 2 * abs(to_pixels((x, y0))[1] - to_pixels((x, y1))[1]) / pixels_per_x + 0.4
                  for (x, y0), (_, y1) in arcs], default=right)
    if needed > right:
        left = ax.get_xlim()[0]
        fig.set_size_inches(fig.get_size_inches()[0] * (needed - left) / (right - left), fig.get_size_inches()[1])
        ax.set_xlim(left, needed)


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

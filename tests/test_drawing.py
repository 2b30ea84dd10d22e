"""Drawing architecture DAGs: formats by suffix, colours by kind (grouped convs set apart)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from naapgnn.errors import NaapgnnError
from naapgnn.graph.drawing import FORMATS, check_format, draw, figure, node_color

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name, expected", [("g.png", "png"), ("G.SVG", "svg"), ("a.b.pdf", "pdf")])
def test_format_from_suffix(name, expected):
    assert check_format(name) == expected


@pytest.mark.parametrize("name, message", [
    ("g.xyz", r"/g\.xyz: cannot draw to '.xyz'; use one of .png, .svg"),
    ("drawing", r"/drawing: no image suffix; use one of .png"),
])
def test_unsupported_format_is_one_line(name, message, tmp_path):
    with pytest.raises(NaapgnnError, match=message):
        draw(REPO / "graphs" / "naap440_scheme.json", tmp_path / name)
    assert not list(tmp_path.iterdir())


def test_grouped_conv_has_its_own_colour():
    dense = node_color({"kind": "conv", "groups": 1})
    assert node_color({"kind": "conv", "groups": 32}) != dense
    assert node_color({"kind": "conv"}) == dense
    assert node_color({"kind": "add"}) != dense and node_color({"kind": "unknown"}) == "white"


@pytest.mark.parametrize("graph", ["resnet_like", "vgg_like"])
def test_draw_writes_png_and_svg(graph, tmp_path):
    from naapgnn.arch.format import parse_architecture

    arch = parse_architecture(json.loads((REPO / "graphs" / f"{graph}.json").read_text()))
    png = draw(arch, tmp_path / "g.png", title=graph)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = draw(arch, tmp_path / "g.svg")
    assert b"<svg" in svg.read_bytes()[:1000]
    assert {"png", "svg", "pdf"} <= set(FORMATS)


def _fan_out(branches: int) -> dict:
    """One conv read by ``branches`` 1x1 convs, concatenated: one generation of that many nodes."""
    conv = {"op": "conv", "out_channels": 4, "kernel_size": 1, "inputs": [0]}
    return {"input_shape": [3, 8, 8], "num_classes": 10,
            "layers": [{"op": "conv", "out_channels": 8, "kernel_size": 3}, *[conv] * branches,
                       {"op": "concat", "inputs": list(range(1, branches + 1))}]}


def _dense_block(layers: int) -> dict:
    """A DenseNet-style block: every concat reads every earlier conv, so long skips run down one column."""
    arch, outputs = [{"op": "conv", "out_channels": 8, "kernel_size": 3}], [0]
    for _ in range(layers):
        arch.append({"op": "conv", "out_channels": 4, "kernel_size": 3})
        arch.append({"op": "concat", "inputs": [*outputs, len(arch) - 1]})
        outputs.append(len(arch) - 2)
    return {"input_shape": [3, 8, 8], "num_classes": 10, "layers": arch}


@pytest.mark.parametrize("arch", [_fan_out(4), _fan_out(7), _dense_block(5)], ids=["fan4", "fan7", "dense5"])
def test_every_node_and_arrow_lies_inside_the_drawing(arch):
    """A generation of four nodes put its first outside the axes (its arrow was not drawn), and the long skip arcs
    of a dense block ran off the image's right edge."""
    import matplotlib.pyplot as plt

    fig = figure(arch, title="t")
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    ax = fig.axes[0]
    area = ax.bbox.expanded(1.0, 1.0)
    arrows = [a for a in ax.texts if getattr(a, "arrow_patch", None) is not None]
    from naapgnn.graph.encoding import to_networkx

    assert len(arrows) == to_networkx(arch).number_of_edges()
    for text in ax.texts:
        box = text.get_bbox_patch() if text.get_bbox_patch() is not None else None
        extents = [text.arrow_patch.get_window_extent(renderer)] if text in arrows else []
        extents += [box.get_window_extent(renderer)] if box is not None else []
        for extent in extents:
            assert area.x0 - 0.5 <= extent.x0 and extent.x1 <= area.x1 + 0.5, (text.get_text(), extent, area)
            assert area.y0 - 0.5 <= extent.y0 and extent.y1 <= area.y1 + 0.5, (text.get_text(), extent, area)
    plt.close(fig)

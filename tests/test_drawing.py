"""Drawing architecture DAGs: formats by suffix, colours by kind (grouped convs set apart)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from naapgnn.errors import NaapgnnError
from naapgnn.graph.drawing import FORMATS, check_format, draw, node_color

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

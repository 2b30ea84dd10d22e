import json

from naapgnn.arch.format import parse_architecture
from naapgnn.arch.space import BlockOptions, SpaceRules, enlarged_rules, iter_search_space, naap440_search_space


def test_rules_reproduce_generated_schemes_exactly(data_dir):
    expected = json.loads((data_dir / "generated_schemes.json").read_text())
    assert naap440_search_space() == expected
    assert len(expected) == 440


def test_rules_are_respected():
    for scheme in naap440_search_space():
        assert 3 <= len(scheme) <= 4
        assert sum(b["stride"] > 1 for b in scheme) <= 3
        for prev, block in zip(scheme, scheme[1:]):
            if block["residual"]:
                assert block["stride"] == 1 and block["width"] == prev["width"]
        parse_architecture(scheme)


def test_rules_are_parameters():
    rules = SpaceRules(
        blocks=(BlockOptions((3,), (8,), (2,)), BlockOptions((3,), (8, 16), (1,), (False, True))),
        min_blocks=1,
        max_stages=1,
    )
    schemes = naap440_search_space(rules)
    # 1-block prefix, then width 8 (plain or residual) or width 16 (plain only).
    assert len(schemes) == 4
    assert schemes[2] == [schemes[0][0], {"kernel_size": 3, "width": 8, "stride": 1, "residual": True}]


def test_enlarged_space_size_and_validity():
    count = 0
    for scheme in iter_search_space(enlarged_rules()):
        if count % 5000 == 0:
            parse_architecture(scheme)
        count += 1
    assert count == 94716

"""The NAAP-440 search space, enumerated from its rules.

A space is a list of per-position options (kernel sizes, widths, strides,
residual flags) plus two global rules: a minimum depth and a maximum number of
stride-2 stages. A residual is only allowed where the block's input and output
shapes agree (stride 1 and the same width as the previous block). Schemes are
produced depth-first, shorter prefixes first, in the order of the options, which
reproduces ``generated_schemes.json`` exactly for :data:`NAAP440_RULES`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence


@dataclass(frozen=True)
class BlockOptions:
    """Choices for the block at one position of the network."""

    kernel_size: Sequence[int]
    width: Sequence[int]
    stride: Sequence[int]
    residual: Sequence[bool] = (False,)


@dataclass(frozen=True)
class SpaceRules:
    """Rules of a NAAP-440-style space.

    Parameters
    ----------
    blocks : sequence of BlockOptions
        Options per position; the network has at most ``len(blocks)`` blocks.
    min_blocks : int
        Shortest network enumerated.
    max_stages : int
        Most blocks with stride > 1 in one network.
    """

    blocks: Sequence[BlockOptions]
    min_blocks: int = 3
    max_stages: int = 3
    name: str = field(default="custom", compare=False)


NAAP440_RULES = SpaceRules(
    name="naap440",
    min_blocks=3,
    max_stages=3,
    blocks=(
        BlockOptions(kernel_size=(3,), width=(12, 16), stride=(2,)),
        BlockOptions(kernel_size=(3,), width=(16, 24), stride=(2,)),
        BlockOptions(kernel_size=(1, 3), width=(16, 24, 32), stride=(1, 2), residual=(False, True)),
        BlockOptions(kernel_size=(1, 3), width=(32, 40), stride=(1, 2), residual=(False, True)),
    ),
)


def enlarged_rules() -> SpaceRules:
    """A larger space of the same kind: 94,716 schemes of 3 to 5 blocks.

    More widths (12-48), 5x5 kernels, a stride choice in the second block and a
    fifth block; still at most three stride-2 stages and residuals only where
    shapes agree. Stream it with :func:`iter_search_space`.
    """
    free = BlockOptions(kernel_size=(1, 3, 5), width=(16, 24, 32, 40), stride=(1, 2), residual=(False, True))
    return SpaceRules(
        name="enlarged",
        min_blocks=3,
        max_stages=3,
        blocks=(
            BlockOptions(kernel_size=(3,), width=(12, 16, 24), stride=(2,)),
            BlockOptions(kernel_size=(3,), width=(16, 24, 32), stride=(1, 2)),
            free,
            free,
            BlockOptions(kernel_size=(1, 3), width=(32, 48), stride=(1, 2), residual=(False, True)),
        ),
    )


def iter_search_space(rules: SpaceRules = NAAP440_RULES) -> Iterator[list[dict]]:
    """Yield every scheme allowed by ``rules`` in the canonical order."""
    yield from _extend([], rules)


def naap440_search_space(rules: SpaceRules = NAAP440_RULES) -> list[list[dict]]:
    """Enumerate a NAAP-440-style space.

    Parameters
    ----------
    rules : SpaceRules
        Defaults to the NAAP-440 rules, which give exactly the 440 schemes of
        ``generated_schemes.json`` in the same order.

    Returns
    -------
    list of schemes, each a list of ``{"kernel_size", "width", "stride", "residual"}``.
    """
    return list(iter_search_space(rules))


def _extend(prefix: list[dict], rules: SpaceRules) -> Iterator[list[dict]]:
    if len(prefix) >= rules.min_blocks:
        yield prefix
    if len(prefix) == len(rules.blocks):
        return
    stages = sum(1 for b in prefix if b["stride"] > 1)
    options = rules.blocks[len(prefix)]
    for kernel in options.kernel_size:
        for width in options.width:
            for stride in options.stride:
                if stride > 1 and stages >= rules.max_stages:
                    continue
                for residual in options.residual:
                    if residual and not _shapes_agree(prefix, width, stride):
                        continue
                    block = {"kernel_size": kernel, "width": width, "stride": stride, "residual": residual}
                    yield from _extend(prefix + [block], rules)


def _shapes_agree(prefix: list[dict], width: int, stride: int) -> bool:
    return bool(prefix) and stride == 1 and prefix[-1]["width"] == width

"""Process-wide settings scoped to a block of code."""
from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Set torch's CPU thread count inside the block and restore it after (no-op for None or 0).

    On a small machine a fit that uses every core fights the other worker
    processes for them; one thread each is much faster in total.
    """
    if not n:
        yield
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)

"""Whether an untrained network fits in memory before zero-cost scoring builds it, and one line when it does not.

A benchmark record may describe a network far beyond any machine (a conv of a billion channels, a padding of
thousands of pixels). Building or running it would die in torch's allocator with a long traceback, or be killed
by the system; :func:`check_fits` refuses it from the shapes alone and :func:`within_memory` turns a failed
allocation that the bound did not foresee into a :class:`naapgnn.errors.NaapgnnError` naming the record.
"""
from __future__ import annotations

import math
import os
import re

from naapgnn.errors import NaapgnnError

__all__ = ["check_fits", "within_memory", "memory_bytes"]

ALLOCATION_FAILURE = re.compile(r"out of memory|can(no|')t allocate memory", re.IGNORECASE)
TRIED = re.compile(r"allocate ([0-9.]+) ?(bytes|[KMGTP]i?B)", re.IGNORECASE)


def memory_bytes(device: str = "cpu") -> int | None:
    """Total memory of ``device`` (the machine's RAM for the CPU), None where it cannot be read."""
    if str(device).startswith("cuda"):
        import torch

        return int(torch.cuda.get_device_properties(torch.device(device)).total_memory)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): only the backstop applies
        return None


def check_fits(arch, score: str, n_images: int, device: str = "cpu", where: str = "architecture") -> None:
    """Refuse, before building it, a network that cannot fit in ``device``'s memory whatever else runs.

    The bound is a lower one, from the shapes alone, so it never refuses a network that fits: the weights of the
    built network and of the copy scored (synflow's in double precision, with gradients) plus the largest layer
    output on ``n_images`` images (one for synflow). What torch allocates besides is left to
    :func:`within_memory`.

    Parameters
    ----------
    arch : naapgnn.arch.format.Architecture
    score : {"naswot", "synflow"}
    n_images : int
        Images in the batch the network runs on.
    device : str
        ``"cpu"`` (the machine's RAM) or a CUDA device.
    where : str
        The record or architecture, for the message.
    """
    from naapgnn.arch.profiling import layer_costs

    total = memory_bytes(device)
    if total is None or not arch.layers:
        return
    params = sum(cost.params for cost in layer_costs(arch))
    j = max(range(len(arch.layers)), key=lambda k: math.prod(arch.layers[k].out_shape))
    weights = params * (4 + 16 if score == "synflow" else 4 + 4)
    output = math.prod(arch.layers[j].out_shape) * n_images * (8 if score == "synflow" else 4)
    if weights + output <= total:
        return
    shape = "x".join(map(str, arch.layers[j].out_shape))
    mostly = (f"its {params:,} parameters" if weights >= output else
              f"layer {j}'s output of {shape} on {n_images} image{'s' * (n_images > 1)}")
    owner = "this machine" if device == "cpu" else device
    raise NaapgnnError(f"{score}: {where}: the network does not fit in memory (needs at least "
                       f"{(weights + output) / 1e9:,.1f} GB, mostly for {mostly}; {owner} has {total / 1e9:,.1f} GB); "
                       "too large to score")


def within_memory(score: str, where: str, doing: str, work, *args, **kwargs):
    """``work(*args, **kwargs)``, a failure to allocate memory (torch's out-of-memory error, its CPU allocator's "can't
    allocate memory", a MemoryError) turned into one line naming ``where`` and what was being done (``doing``);
    any other exception passes through."""
    try:
        return work(*args, **kwargs)
    except (MemoryError, RuntimeError) as exc:
        text = str(exc)
        if not (isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"
                or ALLOCATION_FAILURE.search(text)):
            raise
        size = TRIED.search(text)
        tried = ("out of memory" if size is None else f"tried to allocate {float(size[1]) / 1e9:,.1f} GB"
                 if size[2].lower() == "bytes" else f"tried to allocate {size[1]} {size[2]}")
        raise NaapgnnError(f"{score}: {where}: the network does not fit in memory ({tried} {doing}); "
                           "too large to score") from None

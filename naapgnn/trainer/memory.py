"""The default group size: as many networks as the device's free memory holds, up to a cap.

A network in training holds its parameters (a few hundred kB here) and, for the
length of a step, the activations of one batch: each layer's output and what
backward keeps beside it (a conv block's batch-norm and activation outputs) and
their gradients. With CUDA graphs a network's step keeps that memory in its own
pool between steps, so a group needs it once per network.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

CPU_GROUP = 8
MAX_GROUP = 32  # beyond it a GPU step gains little: see README's trainer figures
TENSORS_PER_OUTPUT = 4  # a layer's output, the batch-norm and activation outputs kept for backward, a gradient
SHARE_OF_FREE = 0.5  # room for eager steps (the last batch of an epoch), evaluation and the allocator's slack


def step_bytes(arch: Any, batch_size: int) -> int:
    """Estimated device memory of one training step of ``arch`` (float32)."""
    values = math.prod(arch.input_shape) + sum(math.prod(layer.out_shape) for layer in arch.layers)
    return batch_size * 4 * TENSORS_PER_OUTPUT * values


def auto_group_size(archs: Sequence[Any], batch_size: int, device: str, workers: int = 1) -> int:
    """Networks per group: ``CPU_GROUP`` on CPU; on CUDA as many of the most memory-hungry of
    ``archs`` as ``SHARE_OF_FREE`` of the free memory holds (split between ``workers``), 1 to ``MAX_GROUP``."""
    if not device.startswith("cuda") or not archs:
        return CPU_GROUP
    import torch

    free, _ = torch.cuda.mem_get_info(torch.device(device))
    need = max(step_bytes(a, batch_size) for a in archs)
    return max(1, min(MAX_GROUP, int(SHARE_OF_FREE * free / max(workers, 1) // need)))

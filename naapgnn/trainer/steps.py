"""One SGD step of the recipe, run eagerly or captured as a CUDA graph and replayed.

NAAP-440's networks are small: on a GPU an eager step spends its time launching
a hundred-odd kernels from Python, not computing. :class:`GraphedSteps` captures
a network's step once per learning rate (the recipe has three) and replays it,
one launch per step. A replay runs the kernels of the eager step, on the same
inputs and in the same order, so the arithmetic is unchanged. On CPU a test
runs this bookkeeping with a stand-in whose replay re-runs the step;
``scripts/bench_trainer.py --check`` compares the weights and logs of both on a
GPU (identical on an H200; README, "Companion trainer").

A step runs eagerly where a graph cannot stand in for it:

* the first full batch a network meets in a process (warm-up: cuDNN, cuBLAS and,
  on a fresh network, SGD's momentum buffers are created then, outside a capture);
* a batch of another size (the last of an epoch);
* a network that draws random numbers (dropout), which a graph would draw differently.
"""
from __future__ import annotations

from typing import Any


def step(run: Any, x, y, amp_dtype, autocast_cache: bool = True):
    """One SGD step of ``run.model`` / ``run.optimizer`` on ``(x, y)``; returns the detached loss."""
    import torch
    import torch.nn.functional as F

    run.optimizer.zero_grad()
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype, enabled=amp_dtype is not None,
                        cache_enabled=autocast_cache):
        out = run.model(x)
        # The original scaled by (physical / virtual batch size), both 256 here;
        # kept for identical float arithmetic.
        loss = F.cross_entropy(out, y) * len(y) / float(len(y))
    loss.backward()
    run.optimizer.step()
    return loss.detach()


class SharedBatch:
    """The batch a group's captured steps read: two tensors at fixed addresses, refilled in place."""

    def __init__(self, train_x, train_y, batch_size: int, channels_last: bool):
        import torch

        fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.x = torch.empty((batch_size, *train_x.shape[1:]), dtype=train_x.dtype, device=train_x.device,
                             memory_format=fmt)
        self.y = torch.empty((batch_size,), dtype=train_y.dtype, device=train_y.device)

    def holds(self, x) -> bool:
        return x.shape[0] == self.x.shape[0]

    def fill(self, x, y) -> None:
        self.x.copy_(x)
        self.y.copy_(y)


class GraphedSteps:
    """A network's steps of one process: eager warm-up, then one captured graph per learning rate.

    Every step writes its loss into ``losses`` at a device-side counter, so a
    replay needs no host work; :meth:`start_epoch` resets the counter.

    Parameters
    ----------
    run : object with ``model`` and ``optimizer``
    batches : int
        Steps per epoch (slots of ``losses``).
    amp_dtype : torch.dtype or None
    """

    def __init__(self, run: Any, batches: int, amp_dtype):
        import torch

        device = next(run.model.parameters()).device
        self.run = run
        self.amp_dtype = amp_dtype
        self.losses = torch.zeros(batches, dtype=torch.float32, device=device)
        self.count = torch.zeros(1, dtype=torch.long, device=device)
        self.graphs: dict[float, Any] = {}
        self.pool = None
        self.stream = torch.cuda.Stream(device=device) if device.type == "cuda" else None
        self.warm = False
        self.eager_only = _draws_random_numbers(run.model)

    def start_epoch(self) -> None:
        self.count.zero_()

    def __call__(self, x, y, lr: float, static: bool) -> None:
        """Step on ``(x, y)`` at ``lr``; ``static``: they are the group's :class:`SharedBatch` tensors."""
        if self.eager_only or not static:
            self._step(x, y, lr)
        elif not self.warm:
            self._warm_up(x, y, lr)
        else:
            if lr not in self.graphs:
                self.graphs[lr] = self._capture(x, y, lr)
            self.graphs[lr].replay()

    def _step(self, x, y, lr: float) -> None:
        for group in self.run.optimizer.param_groups:
            group["lr"] = lr
        loss = step(self.run, x, y, self.amp_dtype, autocast_cache=False)  # autocast's cache breaks captures
        # zero_grad(set_to_none) in step: a capture allocates the gradients in its own pool.
        self.losses.index_copy_(0, self.count, loss.reshape(1).float())
        self.count.add_(1)

    def _warm_up(self, x, y, lr: float) -> None:
        import torch

        if self.stream is None:
            self._step(x, y, lr)
        else:  # on a side stream, as PyTorch asks of the work before a capture, and the one the captures use:
            # libraries keep handles and workspaces per stream, and one created inside a capture can fail it
            self.stream.wait_stream(torch.cuda.current_stream(x.device))
            with torch.cuda.stream(self.stream):
                self._step(x, y, lr)
            torch.cuda.current_stream(x.device).wait_stream(self.stream)
        self.warm = True

    def _capture(self, x, y, lr: float):
        import torch

        if self.stream is None:
            return _Rerun(lambda: self._step(x, y, lr))
        graph = torch.cuda.CUDAGraph()
        # The graphs of one network share a memory pool: they never run at the same time.
        with torch.cuda.graph(graph, pool=self.pool, stream=self.stream):
            self._step(x, y, lr)
        self.pool = graph.pool()
        return graph


class _Rerun:
    """A stand-in for a CUDA graph on CPU (tests of the bookkeeping): replaying re-runs the step."""

    def __init__(self, fn):
        self.replay = fn


def _draws_random_numbers(model) -> bool:
    from torch.nn.modules.dropout import _DropoutNd

    return any(isinstance(m, _DropoutNd) and m.p > 0 for m in model.modules())

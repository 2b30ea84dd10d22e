"""Train a group of networks together, one shared batch gather per step.

Every network of a group is stepped over the same batch (on a GPU each on its
own CUDA stream, and through CUDA graphs); after each epoch each one is tested
(on its stream too), checkpointed and its log rewritten, on a background thread
(:mod:`naapgnn.trainer.writer`), so a killed run resumes at the last completed epoch.
"""
from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Sequence

from naapgnn.data import logs as logfmt
from naapgnn.io import write_text_atomic
from naapgnn.trainer.jobs import CHECKPOINT_FORMAT, Job, Recipe, TrainOptions, read_checkpoint, save_checkpoint
from naapgnn.trainer.order import epoch_permutation
from naapgnn.trainer.steps import GraphedSteps, SharedBatch, step
from naapgnn.trainer.writer import BackgroundWriter


class _Run:
    """One network in training: model, optimiser, log lines so far."""

    def __init__(self, job: Job, recipe: Recipe, options: TrainOptions, device: str):
        import torch

        from naapgnn.arch.builder import build_model
        from naapgnn.arch.profiling import profile

        self.job = job
        torch.manual_seed(recipe.seed)  # the recipe seeds right before building the network
        model = build_model(job.arch, init="naap")
        fmt = torch.channels_last if options.channels_last else torch.preserve_format
        self.model = model.to(device=device, memory_format=fmt)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                                         weight_decay=recipe.weight_decay)
        self.epoch = 0
        self.resumed = False
        if job.checkpoint_path.exists():
            state = read_checkpoint(job.checkpoint_path)  # regenerate's plan warned of other speed-up options
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.epoch = int(state["epoch"])
            self.lines = list(state["lines"])
            self.resumed = True
        else:
            params, macs = profile(job.arch)
            self.lines = logfmt.header_lines(job.logged_network, _device_label(device), params, macs)
        self.losses: list = []

    def checkpoint(self, recipe: Recipe, options: TrainOptions, writer: BackgroundWriter) -> None:
        """Queue the checkpoint of the epoch reached (the state is copied to host memory here)."""
        state = {
            "format": CHECKPOINT_FORMAT,
            "model_id": self.job.model_id,
            "network": self.job.logged_network,
            "recipe": asdict(recipe),
            "numerics": options.numerics(),
            "epoch": self.epoch,
            "model": _host_copy(self.model.state_dict()),
            "optimizer": _host_copy(self.optimizer.state_dict()),
            "lines": list(self.lines),
        }
        writer.submit(save_checkpoint, self.job.checkpoint_path, state)

    def write_log(self, writer: BackgroundWriter | None = None) -> None:
        """Rewrite the log (queued on ``writer`` when given)."""
        text = "".join(line + "\n" for line in self.lines)
        if writer is None:
            write_text_atomic(self.job.log_path, text)
        else:
            writer.submit(write_text_atomic, self.job.log_path, text)


def _host_copy(obj: Any) -> Any:
    """A copy in host memory of every tensor in ``obj``: a copy on CPU too (``.cpu()`` would return the tensor
    itself), as training goes on changing them while the writer thread saves."""
    if hasattr(obj, "detach"):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _host_copy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_host_copy(v) for v in obj]
    return obj


def _device_label(device: str) -> str:
    import torch

    d = torch.device(device)
    if d.type == "cuda":
        return f"cuda:{d.index if d.index is not None else torch.cuda.current_device()}"
    return d.type


def configure_backends(options: TrainOptions, device: str) -> None:
    """Set cuDNN and matmul precision flags (process-wide) for ``options``."""
    import torch

    if not device.startswith("cuda"):
        return
    torch.backends.cudnn.deterministic = not options.cudnn_benchmark
    torch.backends.cudnn.benchmark = options.cudnn_benchmark
    precision = "tf32" if options.tf32 else "ieee"
    # PyTorch's own default runs fp32 convolutions in TF32 on Ampere and later GPUs.
    try:  # the precision API of recent PyTorch (never mix it with allow_tf32)
        torch.backends.cudnn.fp32_precision = precision
        torch.backends.cuda.matmul.fp32_precision = precision
    except AttributeError:
        torch.backends.cudnn.allow_tf32 = options.tf32
        torch.backends.cuda.matmul.allow_tf32 = options.tf32


def _evaluate(model, x, y, batch_size: int, amp_dtype):
    """The number of test images ``model`` classifies correctly, as a tensor on the device (no wait)."""
    import torch

    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    with torch.no_grad(), torch.autocast(device_type=x.device.type, dtype=amp_dtype,
                                         enabled=amp_dtype is not None):
        for start in range(0, x.shape[0], batch_size):
            out = model(x[start:start + batch_size])
            correct += (out.argmax(dim=1) == y[start:start + batch_size]).sum()
    model.train()
    return correct


def _evaluate_group(runs, data, batch_size: int, amp_dtype, streams) -> list[int]:
    """Test every network of the group, each on its own stream when there are streams, then wait once."""
    if streams is None:
        counts = [_evaluate(r.model, data.test_x, data.test_y, batch_size, amp_dtype) for r in runs]
    else:
        counts = []
        _on_streams(streams, data.test_x, data.test_y, record=False, steps=[
            lambda r=r: counts.append(_evaluate(r.model, data.test_x, data.test_y, batch_size, amp_dtype))
            for r in runs])
        _join(streams, data.test_x.device)
    return [int(c) for c in counts]


def loss_stats(losses) -> tuple[float, float]:
    """Mean and median of one epoch's batch losses (a list of 0-d tensors, or one 1-d tensor)."""
    import numpy as np
    import torch

    values = (torch.stack(losses) if isinstance(losses, list) else losses).cpu().double().numpy()  # as loss.item()
    return float(np.mean(values)), float(np.median(values))


def train_group(jobs: Sequence[Job], data, recipe: Recipe, options: TrainOptions, device: str,
                on_epoch_end: Callable[[int, int], None] | None = None, progress=None) -> list[_Run]:
    """Train ``jobs`` together to ``recipe.epochs`` on ``data`` (already on ``device``).

    All jobs must start at the same epoch (fresh, or checkpoints of equal
    epoch). After each epoch every network's checkpoint and log are queued for
    writing and ``on_epoch_end(model_id, epoch)`` is called (1-based epoch); an
    exception there stops training with that state on disk once this returns.
    """
    with BackgroundWriter() as writer:
        runs = _train(jobs, data, recipe, options, device, writer, on_epoch_end, progress)
    for r in runs:
        r.write_log()
        try:
            os.remove(r.job.checkpoint_path)
        except FileNotFoundError:
            pass
    return runs


def _train(jobs, data, recipe: Recipe, options: TrainOptions, device: str, writer: BackgroundWriter,
           on_epoch_end, progress) -> list[_Run]:
    import torch

    runs = [_Run(job, recipe, options, device) for job in jobs]
    start = {r.epoch for r in runs}
    if len(start) != 1:
        raise ValueError(f"a group must start at one epoch, got {sorted(start)}")
    amp_dtype = torch.bfloat16 if options.amp == "bf16" else None
    streams = [torch.cuda.Stream(device=device) for _ in runs] if options.uses_streams(device) else None
    n = data.train_x.shape[0]
    batches = -(-n // recipe.batch_size)
    graphed = [GraphedSteps(r, batches, amp_dtype) for r in runs] if options.uses_graphs(device) else None
    shared = SharedBatch(data.train_x, data.train_y, recipe.batch_size, options.channels_last) if graphed else None
    for epoch in range(start.pop(), recipe.epochs):
        lr = recipe.lr_at(epoch)
        stamp = logfmt.timestamp()
        for r in runs:
            for group in r.optimizer.param_groups:
                group["lr"] = lr
            r.losses = []
            r.model.train()
        for g in graphed or ():
            g.start_epoch()
        # The data order has its own generator; this only seeds other users of the
        # global RNG (dropout in layer graphs), per epoch so that a resumed run repeats them.
        torch.manual_seed(recipe.seed + epoch)
        order = epoch_permutation(recipe.seed, epoch, n).to(data.train_x.device)
        for begin in range(0, n, recipe.batch_size):
            index = order[begin:begin + recipe.batch_size]
            x = data.train_x.index_select(0, index)
            if options.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            y = data.train_y.index_select(0, index)
            if graphed is not None:
                _graphed_step(graphed, shared, streams, x, y, lr)
            elif streams is None:
                for r in runs:
                    r.losses.append(step(r, x, y, amp_dtype))
            else:
                _on_streams(streams, x, y, [lambda r=r: r.losses.append(step(r, x, y, amp_dtype)) for r in runs])
        _join(streams, data.train_x.device)
        if graphed is not None:
            for r, g in zip(runs, graphed):
                r.losses = g.losses
        stats = [loss_stats(r.losses) for r in runs]
        stamps = [stamp, logfmt.timestamp()]
        corrects = _evaluate_group(runs, data, recipe.test_batch_size, amp_dtype, streams)
        stamps.append(logfmt.timestamp())
        writer.wait()  # the last epoch's files had this epoch's training to be written in
        for r, (mean, median), correct in zip(runs, stats, corrects):
            r.lines += logfmt.epoch_lines(epoch + 1, lr, mean, median, correct, data.test_x.shape[0], stamps)
            r.epoch = epoch + 1
            r.checkpoint(recipe, options, writer)
            r.write_log(writer)
            if progress is not None:
                progress.update(1)
            if on_epoch_end is not None:
                on_epoch_end(r.job.model_id, epoch + 1)
    return runs


def _graphed_step(graphed, shared: SharedBatch, streams, x, y, lr: float) -> None:
    """Step every network of the group; a full batch goes through the shared static tensors."""
    static = shared.holds(x)
    if static:
        _join(streams, x.device)  # the last step's replays still read the shared batch
        shared.fill(x, y)
        x, y = shared.x, shared.y
    if streams is None:
        for g in graphed:
            g(x, y, lr, static)
    else:  # the shared tensors live as long as the group: only a batch of its own needs recording on each stream
        _on_streams(streams, x, y, [lambda g=g: g(x, y, lr, static) for g in graphed], record=not static)


def _on_streams(streams, x, y, steps, record: bool = True) -> None:
    """Run ``steps[i]()`` on ``streams[i]``, each after the work queued so far on the current stream; ``record``:
    mark ``x`` and ``y`` as used there, so that their memory is not reused before those streams are done."""
    import torch

    main = torch.cuda.current_stream(x.device)
    for fn, s in zip(steps, streams):
        s.wait_stream(main)
        with torch.cuda.stream(s):
            if record:
                x.record_stream(s)
                y.record_stream(s)
            fn()


def _join(streams, device) -> None:
    """Make the current stream wait for the work queued on ``streams`` (None: nothing to wait for)."""
    import torch

    for s in streams or ():
        torch.cuda.current_stream(device).wait_stream(s)


# --- data cache (one copy per process) ------------------------------------------------

_DATA_CACHE: dict = {}


def device_data(cifar_root: str | Path, device: str, channels_last: bool = False):
    """CIFAR-10 tensors on ``device``, loaded once per process."""
    import torch

    from naapgnn.data.cifar import load_cifar10

    key = (str(Path(cifar_root).resolve()), device, channels_last)
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()
        fmt = torch.channels_last if channels_last else None
        _DATA_CACHE[key] = load_cifar10(cifar_root).to(device, memory_format=fmt)
    return _DATA_CACHE[key]

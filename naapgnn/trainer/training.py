"""The companion trainer: regenerate NAAP-440 training logs on CIFAR-10.

The recipe is the dataset's own (:class:`Recipe`): batch 256, SGD with momentum
0.9 and weight decay 1e-4, learning rate 0.1 multiplied by 0.1 after every
epoch and reset to 0.1 every third epoch, 90 epochs, cross-entropy loss, the
seed 20220819 set before building each network and again before the data
order. After every epoch the log gets the mean and median of the batch losses
and the test accuracy, in the original text format (:mod:`naapgnn.data.logs`).

What makes it fast without changing the arithmetic:

* the preprocessed data sit on the device as two tensors; a batch is one
  ``index_select`` (no per-image Python work, no DataLoader);
* the data order of every epoch is a pure function of (seed, epoch), drawn the
  way the original DataLoader drew it, so every network sees the same batches
  and a group of networks shares one gather per batch;
* ``group_size`` networks are stepped together over each batch (optionally each
  on its own CUDA stream), ``workers`` processes run groups in parallel.

Options that change float rounding (off by default): channels-last memory
format, TF32, bfloat16 autocast, cuDNN autotuning.

Work is never lost: each network's state is checkpointed atomically after every
epoch and its log is rewritten (atomically) from the checkpoint, so a killed run
resumes at the last completed epoch with no repeated or missing epoch lines;
networks whose log is complete are skipped.
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from naapgnn.errors import NaapgnnError
from naapgnn.data import logs as logfmt
from naapgnn.io import atomic_path, write_text_atomic

SEED = 20220819
CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_FORMAT = 1
SCHEME_SETS = ("naap440", "enlarged")


@dataclass(frozen=True)
class Recipe:
    """The NAAP-440 training recipe (defaults are the dataset's)."""

    epochs: int = 90
    batch_size: int = 256
    lr: float = 0.1
    lr_gamma: float = 0.1
    restart_every: int = 3
    momentum: float = 0.9
    weight_decay: float = 1e-4
    seed: int = SEED
    test_batch_size: int = 256

    def lr_at(self, epoch: int) -> float:
        """Learning rate of 0-based ``epoch``, computed by the same float
        multiplications as the original (0.1, 0.010000000000000002, ...)."""
        lr = self.lr
        for e in range(1, epoch + 1):
            lr *= self.lr_gamma
            if self.restart_every and e % self.restart_every == 0:
                lr = self.lr
        return lr

    def same_training(self, other: "Recipe") -> bool:
        """True when only the number of epochs differs."""
        return {**asdict(self), "epochs": 0} == {**asdict(other), "epochs": 0}


@dataclass(frozen=True)
class TrainOptions:
    """How to run the recipe; none of these change what is computed, only
    ``channels_last``, ``tf32``, ``amp`` and ``cudnn_benchmark`` change float rounding.

    Parameters
    ----------
    device : {"auto", "cuda", "cpu"} or a torch device string
    group_size : int
        Networks stepped together over each batch in one process.
    workers : int
        Local processes, each training groups (the data are loaded once per process).
    streams : bool
        Step each network of a group on its own CUDA stream.
    channels_last, tf32, cudnn_benchmark : bool
    amp : None or "bf16"
    """

    device: str = "auto"
    group_size: int = 8
    workers: int = 1
    streams: bool = False
    channels_last: bool = False
    tf32: bool = False
    amp: str | None = None
    cudnn_benchmark: bool = False

    def numerics(self) -> dict:
        """The options that affect float rounding (recorded in checkpoints)."""
        return {"channels_last": self.channels_last, "tf32": self.tf32, "amp": self.amp,
                "cudnn_benchmark": self.cudnn_benchmark}


@dataclass(frozen=True)
class Job:
    """One architecture to train: ``scheme_<model_id>.txt`` in ``out_dir``."""

    model_id: int
    arch: Any  # naapgnn.arch.format.Architecture
    out_dir: Path

    @property
    def log_path(self) -> Path:
        return self.out_dir / f"scheme_{self.model_id}.txt"

    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / CHECKPOINT_DIR / f"scheme_{self.model_id}.pt"

    @property
    def logged_network(self) -> Any:
        return self.arch.scheme if self.arch.scheme is not None else self.arch.to_dict()


@dataclass
class Summary:
    """What :func:`regenerate` did."""

    trained: list[int] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    arch_epochs: int = 0
    seconds: float = 0.0


# --- inputs: schemes, ids, output folder, device ----------------------------------------


def load_schemes(spec: str | Path) -> list[Any]:
    """Architectures to train, ModelId ``i`` being item ``i - 1``.

    ``spec`` is ``"naap440"`` (the 440 schemes), ``"enlarged"`` (the larger
    space of :func:`naapgnn.arch.space.enlarged_rules`) or a JSON file holding a
    list of architectures (schemes or layer graphs) or a single architecture.
    """
    from naapgnn.arch import space
    from naapgnn.arch.format import is_scheme

    if str(spec) == "naap440":
        return space.naap440_search_space()
    if str(spec) == "enlarged":
        return space.naap440_search_space(space.enlarged_rules())
    path = Path(spec)
    try:
        text = path.read_text()
    except OSError as exc:
        raise NaapgnnError(f"{path}: cannot read schemes: {exc.strerror or exc}") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NaapgnnError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if isinstance(obj, dict) or (isinstance(obj, list) and obj and is_scheme(obj) and "kernel_size" in obj[0]):
        return [obj]
    if not isinstance(obj, list) or not obj:
        raise NaapgnnError(f"{path}: expected a non-empty JSON list of architectures")
    return obj


def parse_ids(text: str | None, count: int) -> list[int]:
    """``"1,2,5-9"`` -> ``[1, 2, 5, 6, 7, 8, 9]`` (1-based, within ``count``); None -> all."""
    if text is None or text == "":
        return list(range(1, count + 1))
    ids: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise NaapgnnError(f"--ids: cannot read {part!r} (expected e.g. 1,2,5-9)")
        lo, hi = int(match.group(1)), int(match.group(2) or match.group(1))
        if lo < 1 or hi > count or lo > hi:
            raise NaapgnnError(f"--ids: {part.strip()} is outside 1-{count}")
        ids.extend(range(lo, hi + 1))
    return sorted(set(ids))


def make_jobs(schemes: Sequence[Any], out_dir: str | Path, ids: Iterable[int] | None = None,
              source: str = "schemes") -> list[Job]:
    """Parse and check every selected architecture before anything trains."""
    from naapgnn.arch.format import parse_architecture

    out_dir = Path(out_dir)
    ids = list(range(1, len(schemes) + 1)) if ids is None else list(ids)
    jobs = []
    for model_id in ids:
        if not 1 <= model_id <= len(schemes):
            raise NaapgnnError(f"{source}: scheme id {model_id} is outside 1-{len(schemes)}")
        where = f"{source}: scheme {model_id}"
        arch = parse_architecture(schemes[model_id - 1], source=where)
        if tuple(arch.input_shape) != (3, 32, 32) or arch.num_classes != 10:
            raise NaapgnnError(f"{where}: CIFAR-10 needs input_shape [3, 32, 32] and 10 classes, got "
                               f"{list(arch.input_shape)} and {arch.num_classes}")
        jobs.append(Job(model_id, arch, out_dir))
    return jobs


def prepare_out_dir(out_dir: str | Path) -> Path:
    """Create ``out_dir`` (and its checkpoint folder) and prove it is writable."""
    import tempfile

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NaapgnnError(f"{out_dir}: output path exists and is not a folder")
    try:
        (out_dir / CHECKPOINT_DIR).mkdir(parents=True, exist_ok=True)
        for folder in (out_dir, out_dir / CHECKPOINT_DIR):
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
                pass
    except OSError as exc:
        raise NaapgnnError(f"{out_dir}: output folder is not writable: {exc.strerror or exc}") from None
    return out_dir


def resolve_device(name: str) -> str:
    """``"auto"`` -> ``"cuda"`` when available else ``"cpu"``; checks CUDA requests."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise NaapgnnError(f"--device: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NaapgnnError(f"--device {name}: CUDA is not available on this machine")
    if device.type not in ("cuda", "cpu"):
        raise NaapgnnError(f"--device {name}: only cuda and cpu are supported")
    return name


def check_options(recipe: Recipe, options: TrainOptions, device: str) -> None:
    if recipe.epochs < 1:
        raise NaapgnnError(f"--epochs must be at least 1, got {recipe.epochs}")
    if options.group_size < 1 or options.workers < 1:
        raise NaapgnnError("--group-size and --workers must be at least 1")
    if options.amp not in (None, "bf16"):
        raise NaapgnnError(f"--amp: only bf16 is supported, got {options.amp!r}")
    if options.streams and not device.startswith("cuda"):
        raise NaapgnnError("--streams needs a CUDA device")


# --- resume state ----------------------------------------------------------------


def job_status(job: Job, recipe: Recipe) -> str:
    """``"done"`` (complete log, nothing to do), ``"resume"`` (checkpoint) or ``"new"``.

    Raises NaapgnnError, so that nothing is overwritten, when the folder holds a
    log or checkpoint of a different network under this id, or an incomplete
    log without a checkpoint (this trainer never leaves one: it is someone
    else's file).
    """
    if job.checkpoint_path.exists():
        state = read_checkpoint(job.checkpoint_path)
        if state["network"] != job.logged_network:
            raise NaapgnnError(f"{job.checkpoint_path}: checkpoint is for a different network than scheme {job.model_id}")
        if not Recipe(**state["recipe"]).same_training(recipe):
            raise NaapgnnError(f"{job.checkpoint_path}: checkpoint was trained with a different recipe")
        return "resume"
    if not job.log_path.exists():
        return "new"
    try:
        log = logfmt.parse_log(job.log_path)
    except NaapgnnError as exc:
        raise NaapgnnError(f"{exc}; no checkpoint to resume from: move the log away to retrain scheme "
                           f"{job.model_id}") from None
    if log.scheme != job.logged_network:
        raise NaapgnnError(f"{job.log_path}: logged network differs from scheme {job.model_id} "
                           f"(output folder of another scheme list?)")
    if len(log.epochs) < recipe.epochs:
        raise NaapgnnError(f"{job.log_path}: has {len(log.epochs)} of {recipe.epochs} epochs and no checkpoint "
                           f"to continue from: move it away to retrain scheme {job.model_id}")
    return "done"


def read_checkpoint(path: Path) -> dict:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a torn or foreign file
        raise NaapgnnError(f"{path}: unreadable checkpoint ({type(exc).__name__}); delete it to restart "
                           f"this scheme") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise NaapgnnError(f"{path}: not a naapgnn trainer checkpoint")
    return state


def _save_checkpoint(path: Path, state: dict) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(state, tmp)


# --- the data order ----------------------------------------------------------------


def _draw(generator) -> int:
    import torch

    return int(torch.empty((), dtype=torch.int64).random_(generator=generator).item())


def epoch_permutation(seed: int, epoch: int, n: int):
    """Training-set order of 0-based ``epoch`` (CPU int64 tensor of length ``n``).

    The original re-seeded the global generator, then each epoch iterated a
    shuffled DataLoader (one draw for the loader's base seed, one for the
    sampler's seed, then ``randperm`` from a generator with that seed) and an
    unshuffled test DataLoader (one draw). Replaying those draws on a private
    generator gives the same order as that loop, for any epoch, without state.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    sampler_seed = 0
    for e in range(epoch + 1):
        _draw(generator)  # training loader's base seed
        sampler_seed = _draw(generator)
        if e < epoch:
            _draw(generator)  # test loader's base seed
    return torch.randperm(n, generator=torch.Generator().manual_seed(sampler_seed))


# --- training ----------------------------------------------------------------------


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
            state = read_checkpoint(job.checkpoint_path)
            if state.get("numerics") != options.numerics():
                print(f"naapgnn: warning: scheme {job.model_id} resumes with speed-up options "
                      f"{options.numerics()} but started with {state.get('numerics')}", file=sys.stderr)
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.epoch = int(state["epoch"])
            self.lines = list(state["lines"])
            self.resumed = True
        else:
            params, macs = profile(job.arch)
            self.lines = logfmt.header_lines(job.logged_network, _device_label(device), params, macs)
        self.losses: list = []

    def checkpoint(self, recipe: Recipe, options: TrainOptions) -> None:
        state = {
            "format": CHECKPOINT_FORMAT,
            "model_id": self.job.model_id,
            "network": self.job.logged_network,
            "recipe": asdict(recipe),
            "numerics": options.numerics(),
            "epoch": self.epoch,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": _to_cpu(self.optimizer.state_dict()),
            "lines": self.lines,
        }
        _save_checkpoint(self.job.checkpoint_path, state)

    def write_log(self) -> None:
        write_text_atomic(self.job.log_path, "".join(line + "\n" for line in self.lines))


def _to_cpu(obj: Any) -> Any:
    if hasattr(obj, "detach"):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
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


def _step(run: _Run, x, y, amp_dtype) -> Any:
    import torch
    import torch.nn.functional as F

    run.optimizer.zero_grad()
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        out = run.model(x)
        # The original scaled by (physical / virtual batch size), both 256 here;
        # kept for identical float arithmetic.
        loss = F.cross_entropy(out, y) * len(y) / float(len(y))
    loss.backward()
    run.optimizer.step()
    return loss.detach()


def _evaluate(model, x, y, batch_size: int, amp_dtype) -> int:
    import torch

    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    with torch.no_grad(), torch.autocast(device_type=x.device.type, dtype=amp_dtype,
                                         enabled=amp_dtype is not None):
        for start in range(0, x.shape[0], batch_size):
            out = model(x[start:start + batch_size])
            correct += (out.argmax(dim=1) == y[start:start + batch_size]).sum()
    model.train()
    return int(correct)


def _loss_stats(losses) -> tuple[float, float]:
    import numpy as np
    import torch

    values = torch.stack(losses).cpu().double().numpy()  # exact float32 values, as loss.item()
    return float(np.mean(values)), float(np.median(values))


def train_group(jobs: Sequence[Job], data, recipe: Recipe, options: TrainOptions, device: str,
                on_epoch_end: Callable[[int, int], None] | None = None, progress=None) -> list[_Run]:
    """Train ``jobs`` together to ``recipe.epochs`` on ``data`` (already on ``device``).

    All jobs must start at the same epoch (fresh, or checkpoints of equal
    epoch). After each epoch every network is checkpointed, its log rewritten
    and ``on_epoch_end(model_id, epoch)`` called (1-based epoch); an exception
    there stops training with that state safely on disk.
    """
    import torch

    runs = [_Run(job, recipe, options, device) for job in jobs]
    start = {r.epoch for r in runs}
    if len(start) != 1:
        raise ValueError(f"a group must start at one epoch, got {sorted(start)}")
    amp_dtype = torch.bfloat16 if options.amp == "bf16" else None
    streams = [torch.cuda.Stream(device=device) for _ in runs] if options.streams else None
    n = data.train_x.shape[0]
    for epoch in range(start.pop(), recipe.epochs):
        lr = recipe.lr_at(epoch)
        stamp = logfmt.timestamp()
        for r in runs:
            for group in r.optimizer.param_groups:
                group["lr"] = lr
            r.losses = []
            r.model.train()
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
            if streams is None:
                for r in runs:
                    r.losses.append(_step(r, x, y, amp_dtype))
            else:
                _step_on_streams(runs, streams, x, y, amp_dtype)
        if streams is not None:
            for s in streams:
                torch.cuda.current_stream(device).wait_stream(s)
        for r in runs:
            mean, median = _loss_stats(r.losses)
            loss_stamp = logfmt.timestamp()
            correct = _evaluate(r.model, data.test_x, data.test_y, recipe.test_batch_size, amp_dtype)
            stamps = [stamp, loss_stamp, logfmt.timestamp()]
            r.lines += logfmt.epoch_lines(epoch + 1, lr, mean, median, correct, data.test_x.shape[0], stamps)
            r.epoch = epoch + 1
            r.checkpoint(recipe, options)
            r.write_log()
            if progress is not None:
                progress.update(1)
            if on_epoch_end is not None:
                on_epoch_end(r.job.model_id, epoch + 1)
    for r in runs:
        r.write_log()
        try:
            os.remove(r.job.checkpoint_path)
        except FileNotFoundError:
            pass
    return runs


def _step_on_streams(runs, streams, x, y, amp_dtype) -> None:
    import torch

    main = torch.cuda.current_stream(x.device)
    for r, s in zip(runs, streams):
        s.wait_stream(main)
        with torch.cuda.stream(s):
            x.record_stream(s)
            y.record_stream(s)
            r.losses.append(_step(r, x, y, amp_dtype))


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


# --- scheduling ----------------------------------------------------------------------


def plan_groups(jobs: Sequence[Job], recipe: Recipe, group_size: int) -> tuple[list[list[Job]], list[Job], dict]:
    """Split unfinished jobs into groups of equal start epoch.

    Returns
    -------
    groups : list of lists of Job
    done : list of Job
        Jobs whose log is already complete.
    starts : dict
        ModelId -> epoch its training resumes from.
    """
    done, by_start, starts = [], {}, {}
    for job in jobs:
        status = job_status(job, recipe)
        if status == "done":
            done.append(job)
            continue
        start = int(read_checkpoint(job.checkpoint_path)["epoch"]) if status == "resume" else 0
        starts[job.model_id] = start
        by_start.setdefault(start, []).append(job)
    groups = []
    for start in sorted(by_start, reverse=True):  # nearly finished networks first
        pending = by_start[start]
        groups += [pending[i:i + group_size] for i in range(0, len(pending), group_size)]
    return groups, done, starts


def run_groups(groups: Sequence[Sequence[Job]], cifar_root: str | Path, recipe: Recipe, options: TrainOptions,
               device: str, on_epoch_end=None, progress=None) -> Summary:
    """Train the groups in this process."""
    configure_backends(options, device)
    data = device_data(cifar_root, device, options.channels_last)
    summary = Summary()
    for group in groups:
        runs = train_group(group, data, recipe, options, device, on_epoch_end, progress)
        for r in runs:
            (summary.resumed if r.resumed else summary.trained).append(r.job.model_id)
    return summary


def _worker_main(groups, cifar_root, recipe, options, device) -> Summary:
    return run_groups(groups, cifar_root, recipe, options, device)


def regenerate(schemes: Sequence[Any], cifar_root: str | Path, out_dir: str | Path, ids: Iterable[int] | None = None,
               recipe: Recipe = Recipe(), options: TrainOptions = TrainOptions(), download: bool = False,
               progress: bool = True, on_epoch_end: Callable[[int, int], None] | None = None,
               source: str = "schemes") -> Summary:
    """Train the selected architectures and write ``scheme_<id>.txt`` logs.

    Everything is checked before any training: the architectures, the CIFAR-10
    folder, the output folder and the device. Finished schemes are skipped and
    interrupted ones resume from their last checkpoint.

    Parameters
    ----------
    schemes : sequence
        Architectures; ModelId ``i`` is ``schemes[i - 1]``.
    cifar_root : str or Path
        Folder holding ``cifar-10-batches-py``.
    out_dir : str or Path
        Where logs (and ``checkpoints/``) go.
    ids : iterable of int, optional
        ModelIds to train (default: all).
    recipe : Recipe
    options : TrainOptions
    download : bool
        Fetch CIFAR-10 with torchvision when missing.
    progress : bool
        tqdm progress bar on stderr.
    on_epoch_end : callable, optional
        ``f(model_id, epoch)`` after each network's epoch is safely on disk.

    Returns
    -------
    Summary
    """
    import time

    from naapgnn.data.cifar import check_cifar10, download_cifar10, batches_folder

    jobs = make_jobs(schemes, out_dir, ids, source=source)
    if download and not batches_folder(cifar_root).is_dir():
        download_cifar10(cifar_root)
    check_cifar10(cifar_root)
    prepare_out_dir(out_dir)
    device = resolve_device(options.device)
    check_options(recipe, options, device)
    groups, done, starts = plan_groups(jobs, recipe, options.group_size)
    total = sum(max(recipe.epochs - start, 0) for start in starts.values())
    t0 = time.perf_counter()
    bar = _progress_bar(total, progress)
    try:
        if options.workers > 1 and len(groups) > 1:
            if on_epoch_end is not None:
                raise ValueError("on_epoch_end needs workers=1")
            summary = _run_in_processes(groups, starts, cifar_root, recipe, options, device, bar)
        else:
            summary = run_groups(groups, cifar_root, recipe, options, device, on_epoch_end, bar)
    finally:
        if bar is not None:
            bar.close()
    summary.skipped = sorted(j.model_id for j in done)
    summary.arch_epochs = total
    summary.seconds = time.perf_counter() - t0
    return summary


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="arch-epoch", file=sys.stderr, desc="regenerate")


def _run_in_processes(groups, starts, cifar_root, recipe, options, device, bar) -> Summary:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    summary = Summary()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=options.workers, mp_context=context) as pool:
        futures = {pool.submit(_worker_main, [g], cifar_root, recipe, options, device): g for g in groups}
        for future in as_completed(futures):
            part = future.result()
            summary.trained += part.trained
            summary.resumed += part.resumed
            if bar is not None:
                bar.update(sum(max(recipe.epochs - starts[j.model_id], 0) for j in futures[future]))
    return summary


# --- the plain pipeline (reference and benchmark baseline) ------------------------------------


def train_reference(arch: Any, cifar_root: str | Path, recipe: Recipe = Recipe(), device: str = "cpu",
                    num_workers: int = 0) -> list[tuple[float, float, float, int]]:
    """Train one network the plain way: torchvision data set, per-image
    ``ToTensor`` + ``Normalize`` in a shuffled DataLoader, one model at a time.

    This is the recipe as the original ran it, kept as the reference the fast
    path is tested against and as the benchmark's baseline.

    Returns
    -------
    list of (lr, loss_mean, loss_median, correct) per epoch
    """
    import torch
    import torchvision.transforms as T

    from naapgnn.arch.builder import build_model
    from naapgnn.data.cifar import MEAN, STD, torchvision_split

    torch.manual_seed(recipe.seed)
    model = build_model(arch, init="naap").to(device)
    torch.manual_seed(recipe.seed)
    transform = T.Compose([T.ToTensor(), T.Normalize((MEAN,) * 3, (STD,) * 3)])
    train_set = torchvision_split(cifar_root, True, transform)
    test_set = torchvision_split(cifar_root, False, transform)
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=recipe.batch_size, shuffle=True,
                                               num_workers=num_workers)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=recipe.test_batch_size, shuffle=False,
                                              num_workers=num_workers)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                                weight_decay=recipe.weight_decay)
    run = type("_Plain", (), {"model": model, "optimizer": optimizer})()
    history = []
    for epoch in range(recipe.epochs):
        lr = recipe.lr_at(epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.train()
        losses = [_step(run, x.to(device), y.to(device), None) for x, y in train_loader]
        mean, median = _loss_stats(losses)
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in test_loader:
                correct += int((model(x.to(device)).argmax(dim=1).cpu() == y).sum())
        history.append((lr, mean, median, correct))
    return history

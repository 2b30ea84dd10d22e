"""Ray backend of the trainer: one task per scheme, over many GPUs and machines.

Install with ``pip install naapgnn[cluster]``. Every task trains one
architecture with :func:`naapgnn.trainer.training.run_groups` and writes into the same
output folder (which, like the CIFAR-10 folder, must be reachable at the same
path from every node, e.g. a shared file system). The resume rules are the
local ones: a task whose log is already complete does nothing, a task with a
checkpoint resumes from it. Each Ray worker process keeps the data on its
device between tasks.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from naapgnn.errors import NaapgnnError
from naapgnn.runtime import resolve_device
from naapgnn.trainer.jobs import (
    Job, Recipe, Summary, TrainOptions, check_options, exclusive_out_dir, job_status,
)
from naapgnn.trainer.training import plan_groups, prepared_jobs, progress_bar, run_groups

DEFAULT_GPU_SHARE = 1 / 8


def train_one(job: Job, cifar_root: str, recipe: Recipe, options: TrainOptions) -> Summary:
    """Body of one Ray task: train (or finish) one scheme on this worker's device."""
    device = resolve_device(options.device)
    if job_status(job, recipe).status == "done":  # finished meanwhile by another run
        return Summary(skipped=[job.model_id])
    return run_groups([[job]], cifar_root, recipe, options, device)


def regenerate_ray(schemes: Sequence[Any], cifar_root: str | Path, out_dir: str | Path,
                   ids: Iterable[int] | None = None, recipe: Recipe = Recipe(),
                   options: TrainOptions = TrainOptions(), address: str | None = None,
                   gpus_per_task: float | None = None, download: bool = False, progress: bool = True,
                   source: str = "schemes", num_cpus: int | None = None) -> Summary:
    """Like :func:`naapgnn.trainer.training.regenerate`, one Ray task per scheme.

    Parameters
    ----------
    address : str, optional
        Address of a running Ray cluster (``"auto"``, ``"ray://host:10001"``, ...);
        None starts a local Ray instance for this call.
    gpus_per_task : float, optional
        GPU share Ray reserves per task (default 1/8 when training on CUDA, else 0),
        so that several small networks share a GPU.
    num_cpus : int, optional
        CPUs of the local instance (ignored with ``address``).

    Other parameters and the return value are those of ``regenerate``.
    """
    import time

    try:
        import ray
    except ImportError:
        raise NaapgnnError("--backend ray needs Ray: pip install 'naapgnn[cluster]'") from None
    jobs, recipe = prepared_jobs(schemes, cifar_root, out_dir, ids, recipe, download, source, absolute=True)
    with exclusive_out_dir(out_dir):
        if address is None:  # a local instance trains on this machine's devices
            device = resolve_device(options.device)
        else:
            device = options.device
        check_options(recipe, options, "cuda" if device != "auto" and device.startswith("cuda") else device)
        groups, done, starts = plan_groups(jobs, recipe, group_size=1, options=options)
        if not groups:
            return Summary(skipped=sorted(j.model_id for j in done))

        started_here = not ray.is_initialized()
        if started_here:
            check_reachable(address)
            init = {"address": address, "include_dashboard": False, "log_to_driver": False}
            if address is None and num_cpus is not None:
                init["num_cpus"] = num_cpus
            try:
                ray.init(**init)
            except Exception as exc:  # noqa: BLE001 - connection errors vary by Ray version
                raise NaapgnnError(f"--address {address}: cannot start or reach Ray: {_first_line(exc)}") from None
        if gpus_per_task is None:
            wants_gpu = device.startswith("cuda") or (device == "auto" and ray.cluster_resources().get("GPU", 0) > 0)
            gpus_per_task = DEFAULT_GPU_SHARE if wants_gpu else 0.0
        t0 = time.perf_counter()
        summary = Summary(skipped=sorted(j.model_id for j in done))
        try:
            task = ray.remote(num_cpus=1, num_gpus=gpus_per_task)(train_one)
            root = str(Path(cifar_root).resolve())
            pending = {task.remote(g[0], root, recipe, options): g[0] for g in groups}
            bar = progress_bar(sum(max(recipe.epochs - s, 0) for s in starts.values()), progress, "regenerate (ray)")
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                job = pending.pop(ready[0])
                try:
                    part = ray.get(ready[0])
                except Exception as exc:  # noqa: BLE001 - a task's error, re-raised in one line
                    raise NaapgnnError(f"scheme {job.model_id}: Ray task failed: {_first_line(exc)}") from None
                summary.trained += part.trained
                summary.resumed += part.resumed
                summary.skipped += part.skipped
                if bar is not None:
                    bar.update(max(recipe.epochs - starts[job.model_id], 0))
            if bar is not None:
                bar.close()
        finally:
            if started_here:
                ray.shutdown()
        summary.skipped.sort()
        summary.arch_epochs = sum(max(recipe.epochs - starts[i], 0) for i in summary.trained + summary.resumed)
        summary.seconds = time.perf_counter() - t0
        return summary


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc
    text = str(cause).strip().splitlines()
    return text[-1] if text else type(cause).__name__


def check_reachable(address: str | None, timeout: float = 10.0) -> None:
    """One line where nothing answers at a ``host:port`` (or ``ray://host:port``) ``address``: Ray itself retries an
    unreachable head for minutes without a word. Other addresses (None, ``auto``, ``local``) are Ray's to resolve."""
    import socket

    if address is None or ":" not in address:
        return
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    if not port.isdigit():
        raise NaapgnnError(f"--address {address}: expected host:port (or ray://host:port), got port {port!r}")
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout).close()
    except OSError as exc:
        raise NaapgnnError(f"--address {address}: nothing answers at {host}:{port} ({exc.strerror or exc}); is the "
                           f"Ray head running there (ray start --head)?") from None

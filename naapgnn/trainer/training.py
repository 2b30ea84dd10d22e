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
* ``group_size`` networks are stepped together over each batch (on a GPU each
  on its own CUDA stream), ``workers`` processes run groups in parallel;
* on a GPU each network's step is captured once per learning rate as a CUDA
  graph and replayed (:mod:`naapgnn.trainer.steps`): the same kernels, one launch;
* checkpoints and logs are written on a background thread
  (:mod:`naapgnn.trainer.writer`), in order.

Options that change float rounding (off by default): channels-last memory
format, TF32, bfloat16 autocast, cuDNN autotuning.

Work is never lost: each network's state is checkpointed atomically after every
epoch and its log is rewritten (atomically) from the checkpoint, so a killed run
resumes at the last completed epoch with no repeated or missing epoch lines;
networks whose log is complete are skipped.

The pieces: :mod:`naapgnn.trainer.jobs` (recipe, options, jobs, resume state),
:mod:`naapgnn.trainer.order` (the data order), :mod:`naapgnn.trainer.group`
(one group trained together) and this module (groups scheduled over
processes, and the plain reference pipeline).
"""
from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from naapgnn.runtime import exit_with_parent, resolve_device
from naapgnn.trainer.group import configure_backends, device_data, loss_stats, train_group
from naapgnn.trainer.jobs import (
    Job, Recipe, Summary, TrainOptions, check_folder_data, check_options, exclusive_out_dir, job_status, make_jobs,
    prepare_out_dir,
)
from naapgnn.trainer.memory import auto_group_size
from naapgnn.trainer.steps import step


# --- scheduling ----------------------------------------------------------------------


def prepared_jobs(schemes: Sequence[Any], cifar_root, out_dir, ids, recipe: Recipe, download: bool, source: str,
                  absolute: bool = False) -> tuple[list[Job], Recipe]:
    """The jobs of ``schemes`` (their paths ``absolute`` for workers that may run in another folder), once the
    checks every backend makes before training pass: the CIFAR-10 folder (fetched first when ``download``) and the
    output folder; and ``recipe`` bound to the data's digest, so that a resumed run must read the same files."""
    from naapgnn.data.cifar import batches_folder, check_cifar10, cifar10_digest, download_cifar10

    jobs = make_jobs(schemes, Path(out_dir).resolve() if absolute else out_dir, ids, source=source)
    if download and not batches_folder(cifar_root).is_dir():
        download_cifar10(cifar_root)
    check_cifar10(cifar_root)
    recipe = replace(recipe, data=cifar10_digest(cifar_root))
    prepare_out_dir(out_dir)
    return jobs, recipe


def plan_groups(jobs: Sequence[Job], recipe: Recipe, group_size: int,
                options: TrainOptions) -> tuple[list[list[Job]], list[Job], dict]:
    """Split unfinished jobs into groups of equal start epoch; warn once when checkpoints resume under other
    speed-up ``options`` than they started with.

    Returns
    -------
    groups : list of lists of Job
    done : list of Job
        Jobs whose log is already complete.
    starts : dict
        ModelId -> epoch its training resumes from.
    """
    done, by_start, starts, logged, started_with, ahead = [], {}, {}, {}, {}, []
    for out_dir in {job.out_dir for job in jobs}:
        check_folder_data(out_dir, recipe.data)
    for job in jobs:
        state = job_status(job, recipe)
        if state.status in ("done", "ahead"):
            done.append(job)
            logged[job.model_id] = state.epochs
            ahead += [job] if state.status == "ahead" else []
            continue
        starts[job.model_id] = state.epochs
        by_start.setdefault(state.epochs, []).append(job)
        if state.status == "resume":
            started_with[job.model_id] = state.numerics
    for out_dir in {job.out_dir for job in jobs}:  # the checks passed: this run's files are the folder's
        check_folder_data(out_dir, recipe.data, record=True)
    _warn_longer_logs([job for job in done if job not in ahead], logged, recipe.epochs)
    if ahead:
        print(f"regenerate: warning: {len(ahead)} unfinished run{'s' * (len(ahead) > 1)} of a longer --epochs "
              f"already past --epochs {recipe.epochs} (e.g. {ahead[0].log_path.name}: {logged[ahead[0].model_id]} "
              "epochs): skipped, their logs and checkpoints kept as they are (rerun with the --epochs they started "
              "with to finish them)", file=sys.stderr)
    _warn_other_numerics(started_with, options.numerics())
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
        ``f(model_id, epoch)`` after each network's epoch, its files queued for writing (on disk when this
        returns, or raises).

    Returns
    -------
    Summary
    """
    import time

    jobs, recipe = prepared_jobs(schemes, cifar_root, out_dir, ids, recipe, download, source)
    with exclusive_out_dir(out_dir):
        device = resolve_device(options.device)
        check_options(recipe, options, device)
        group_size = options.group_size or auto_group_size([j.arch for j in jobs], recipe.batch_size, device,
                                                           options.workers)
        groups, done, starts = plan_groups(jobs, recipe, group_size, options)
        _say_resuming(len(jobs), len(done), sum(1 for start in starts.values() if start > 0))
        total = sum(max(recipe.epochs - start, 0) for start in starts.values())
        t0 = time.perf_counter()
        bar = progress_bar(total, progress)
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
        summary.group_size = group_size
        summary.seconds = time.perf_counter() - t0
        return summary


def _warn_longer_logs(done: Sequence[Job], logged: dict, epochs: int) -> None:
    """Say so when finished logs hold more epochs than this run asks for (``logged``: ModelId -> epochs): they
    are kept as they are."""
    longer = [(job, logged[job.model_id]) for job in done if logged[job.model_id] > epochs]
    if longer:
        job, n = longer[0]
        print(f"regenerate: warning: {len(longer)} finished log{'s' * (len(longer) > 1)} hold more than --epochs "
              f"{epochs} epochs (e.g. {job.log_path.name}: {n}); kept as they are, not cut", file=sys.stderr)


def _warn_other_numerics(started_with: dict, now: dict) -> None:
    """One line for the resumed schemes (``started_with``: ModelId -> their checkpoint's numerics) that started
    under other speed-up options than ``now``'s."""
    other = {model_id: numerics for model_id, numerics in started_with.items() if numerics != now}
    if other:
        first, numerics = next(iter(other.items()))
        some = f"{len(other)} schemes (the first, {first}," if len(other) > 1 else f"scheme {first} ("
        print(f"naapgnn: warning: {some} started with speed-up options {numerics}) resume with {now}",
              file=sys.stderr)


def _say_resuming(n_jobs: int, n_done: int, n_resumed: int) -> None:
    if n_done == n_jobs:
        print(f"regenerate: all {n_jobs} schemes trained this far in an earlier run; nothing to train (skipped)",
              file=sys.stderr)
    elif n_done or n_resumed:
        print(f"regenerate: of {n_jobs} schemes, {n_done} trained this far in an earlier run (skipped), {n_resumed} "
              f"continue from their last epoch, {n_jobs - n_done - n_resumed} start", file=sys.stderr)


def progress_bar(total: int, enabled: bool, desc: str = "regenerate"):
    """A bar of architecture-epochs on stderr (None when disabled)."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="arch-epoch", file=sys.stderr, desc=desc)


def _run_in_processes(groups, starts, cifar_root, recipe, options, device, bar) -> Summary:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    summary = Summary()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=options.workers, mp_context=context, initializer=exit_with_parent,
                             initargs=(os.getpid(),)) as pool:
        try:
            futures = {pool.submit(_worker_main, [g], cifar_root, recipe, options, device): g for g in groups}
            for future in as_completed(futures):
                part = future.result()
                summary.trained += part.trained
                summary.resumed += part.resumed
                if bar is not None:
                    bar.update(sum(max(recipe.epochs - starts[j.model_id], 0) for j in futures[future]))
        except BaseException:
            _stop_workers(pool)
            raise
    return summary


def _stop_workers(pool) -> None:
    """End a pool's queued and running work now: a parent stopped by SIGTERM (``kill``, a cluster's pre-emption) or
    an error otherwise waited, leaving the pool, for every group to finish. Each log and checkpoint is written
    atomically, so a rerun resumes where the workers stood."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # before shutdown forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()


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
        losses = [step(run, x.to(device), y.to(device), None) for x, y in train_loader]
        mean, median = loss_stats(losses)
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in test_loader:
                correct += int((model(x.to(device)).argmax(dim=1).cpu() == y).sum())
        history.append((lr, mean, median, correct))
    return history

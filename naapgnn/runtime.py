"""Process-wide settings scoped to a block of code."""
from __future__ import annotations

import contextlib
import os
from typing import Iterator

# torch_geometric's import warns of torch.jit.script in each new worker, before any code of ours runs there
WORKER_WARNINGS = "ignore:`torch.jit.script` is deprecated:FutureWarning"
# The resource trackers of multiprocessing and of joblib's loky list, after a command was interrupted or killed,
# the semaphores and memory-mapping folders its workers left, then remove them: two to four lines of a process
# that outlives the command, printed under its own last line and the shell's prompt, about nothing left behind
TRACKER_WARNINGS = ("ignore::UserWarning:multiprocessing.resource_tracker,"
                    "ignore::UserWarning:joblib.externals.loky.backend.resource_tracker")


@contextlib.contextmanager
def quiet_workers(spec: str = WORKER_WARNINGS) -> Iterator[None]:
    """Add ``spec`` to ``PYTHONWARNINGS`` for the worker processes (and resource trackers) started inside the
    block."""
    old = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = f"{old},{spec}" if old else spec
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYTHONWARNINGS", None)
        else:
            os.environ["PYTHONWARNINGS"] = old


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Limit torch's CPU threads and the BLAS and OpenMP pools (numpy, scipy, scikit-learn, through
    threadpoolctl) to ``n`` inside the block, and restore them after (no-op for None or 0).

    On a small machine a fit that uses every core fights the other worker
    processes for them: the GNN's kernel-ridge stack took 2.65x as long with
    OpenBLAS's default 2 threads as with 1 beside a busy core
    (``scripts/bench_blas_threads.py``). One thread each is much faster in total.
    """
    if not n:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        with threadpool_limits(limits=int(n)):
            yield
    finally:
        torch.set_num_threads(old)


def exit_with_parent(parent: int, every: float = 0.5, quiet_interrupt: bool = True) -> None:
    """In a worker process: exit as soon as ``parent`` (the process that started it) is gone.

    A parent killed by SIGTERM or SIGKILL runs no cleanup, and its workers, adopted by another process,
    would train on into the output folder, racing a rerun there. A daemon thread polls the parent's id.
    With ``quiet_interrupt``, Ctrl-C, which reaches the whole process group, ends the worker quietly (its parent
    says it was interrupted; a traceback from each worker would bury that line): its files are written
    atomically, and a rerun resumes. A worker whose result pipe is broken (the parent died between two polls) ends
    at once and silently, as a shell command does, rather than printing two chained tracebacks under the shell's
    prompt.
    """
    import signal
    import threading
    import time

    if threading.current_thread() is threading.main_thread():  # signal handlers are set there only
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        if quiet_interrupt:
            signal.signal(signal.SIGINT, lambda *_: os._exit(130))

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


_WATCHED: set = set()


def watch_parent_once(parent: int) -> None:
    """:func:`exit_with_parent` (Ctrl-C left as it is) the first time a pool's worker is handed a job of
    ``parent``'s: joblib's workers, whose initializer naapgnn does not set, outlived a killed command otherwise."""
    if parent != os.getpid() and parent not in _WATCHED:
        _WATCHED.add(parent)
        exit_with_parent(parent, quiet_interrupt=False)


def resolve_device(name: str | None) -> str:
    """The torch device to run on: ``"auto"`` (or None) -> ``"cuda"`` when available
    else ``"cpu"``; any other name is checked and returned unchanged.

    Raises
    ------
    NaapgnnError
        An unknown device name, a device type other than cuda or cpu, or CUDA
        asked for on a machine without it.
    """
    import torch

    from naapgnn.errors import NaapgnnError

    if name in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise NaapgnnError(f"--device {name}: not a device (expected auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NaapgnnError(f"--device {name}: CUDA is not available on this machine")
    if device.type not in ("cuda", "cpu"):
        raise NaapgnnError(f"--device {name}: only cuda and cpu are supported")
    if device.type == "cpu" and device.index not in (None, 0):  # torch runs any cpu:N on the one CPU device
        raise NaapgnnError(f"--device {name}: the CPU is one device (give cpu)")
    count = torch.cuda.device_count() if device.type == "cuda" else 0
    if count and device.index is not None and device.index >= count:
        raise NaapgnnError(f"--device {name}: this machine has {count} CUDA device(s) (cuda:0 to cuda:{count - 1})")
    return name


@contextlib.contextmanager
def seeded_torch(seed: int, device="cpu") -> Iterator[None]:
    """Run the block with torch's random streams seeded by ``seed`` (the CPU one, and every CUDA device's when
    ``device`` is a CUDA device), then put them back as the caller had them: what the block draws is fixed by
    ``seed``, and the caller's own draws after it do not depend on the block. A CPU block leaves CUDA untouched (and
    uninitialised)."""
    import torch

    cuda = torch.device(device).type == "cuda"
    with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if cuda else []):
        torch.random.default_generator.manual_seed(int(seed))
        if cuda:
            torch.cuda.manual_seed_all(int(seed))
        yield

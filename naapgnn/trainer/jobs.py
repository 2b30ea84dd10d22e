"""What the trainer trains and how: the recipe, the run options, one job per
architecture, the inputs (scheme lists, ids, output folder) and the resume state
of a job (its log and checkpoint).
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

from naapgnn.data import logs as logfmt
from naapgnn.data.naap440 import NUM_EPOCHS
from naapgnn.data.unfinished import CHECKPOINT_DIR
from naapgnn.errors import NaapgnnError
from naapgnn.folders import held_folder
from naapgnn.io import atomic_path, loads_json, read_text, write_text_atomic

SEED = 20220819
LOCK_FILE = ".regenerate.lock"  # held by the run training into the folder (exclusive_out_dir)
DATA_FILE = ".cifar10-digest"  # the digest of the CIFAR-10 files the folder's logs were trained on (Recipe.data)
CHECKPOINT_FORMAT = 1
SCHEME_SETS = ("naap440", "enlarged")


@dataclass(frozen=True)
class Recipe:
    """The NAAP-440 training recipe (defaults are the dataset's)."""

    epochs: int = NUM_EPOCHS
    batch_size: int = 256
    lr: float = 0.1
    lr_gamma: float = 0.1
    restart_every: int = 3
    momentum: float = 0.9
    weight_decay: float = 1e-4
    seed: int = SEED
    test_batch_size: int = 256
    data: str = ""  # naapgnn.data.cifar.cifar10_digest of the files trained on; "" where unknown


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
        """True when only the number of epochs differs (the data are compared by :meth:`same_data`)."""
        return {**asdict(self), "epochs": 0, "data": ""} == {**asdict(other), "epochs": 0, "data": ""}

    def same_data(self, other: "Recipe") -> bool:
        """True unless both name their CIFAR-10 files and the two differ."""
        return not (self.data and other.data) or self.data == other.data


@dataclass(frozen=True)
class TrainOptions:
    """How to run the recipe; none of these change what is computed, only
    ``channels_last``, ``tf32``, ``amp`` and ``cudnn_benchmark`` change float rounding.

    Parameters
    ----------
    device : {"auto", "cuda", "cpu"} or a torch device string
    group_size : int or None
        Networks stepped together over each batch in one process; None picks it
        from the device's free memory (:func:`naapgnn.trainer.memory.auto_group_size`).
    workers : int
        Local processes, each training groups (the data are loaded once per process).
    streams : bool or None
        Step (and test) each network of a group on its own CUDA stream. None (default):
        on a CUDA device, off elsewhere.
    cuda_graphs : bool or None
        On a CUDA device, capture each network's step as a CUDA graph and replay it
        (:mod:`naapgnn.trainer.steps`; the same kernels, so the same arithmetic: weights and
        logs bit for bit those of the eager step on an H200, ``scripts/bench_trainer.py
        --check``). None (default): on a CUDA device, off elsewhere.
    channels_last, tf32, cudnn_benchmark : bool
    amp : None or "bf16"
    """

    device: str = "auto"
    group_size: int | None = None
    workers: int = 1
    streams: bool | None = None
    cuda_graphs: bool | None = None
    channels_last: bool = False
    tf32: bool = False
    amp: str | None = None
    cudnn_benchmark: bool = False

    def uses_streams(self, device: str) -> bool:
        return _on_cuda(self.streams, device)

    def uses_graphs(self, device: str) -> bool:
        return _on_cuda(self.cuda_graphs, device)

    def numerics(self) -> dict:
        """The options that affect float rounding (recorded in checkpoints)."""
        return {"channels_last": self.channels_last, "tf32": self.tf32, "amp": self.amp,
                "cudnn_benchmark": self.cudnn_benchmark}


def _on_cuda(flag: bool | None, device: str) -> bool:
    """A CUDA-only option: None means on wherever the device is a GPU."""
    return (flag is None or flag) and device.startswith("cuda")


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
    group_size: int = 0  # networks per group, as chosen


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
    text = read_text(path, what="cannot read schemes")
    obj = loads_json(text, str(path))
    if isinstance(obj, dict) or (isinstance(obj, list) and obj and is_scheme(obj) and "kernel_size" in obj[0]):
        return [obj]
    if not isinstance(obj, list) or not obj:
        raise NaapgnnError(f"{path}: expected a non-empty JSON list of architectures")
    return obj


def parse_ids(text: str | None, count: int) -> list[int]:
    """``"1,2,5-9"`` -> ``[1, 2, 5, 6, 7, 8, 9]`` (1-based, within ``count``); None -> all; an empty text is
    refused, as a shell variable left unset would otherwise start every training."""
    if text is None:
        return list(range(1, count + 1))
    if not text.strip():
        raise NaapgnnError("--ids: empty (an unset shell variable?); leave --ids out to train every scheme")
    ids: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise NaapgnnError(f"--ids: cannot read {part!r} (expected e.g. 1,2,5-9)")
        lo, hi = int(match.group(1)), int(match.group(2) or match.group(1))
        if lo > hi:
            raise NaapgnnError(f"--ids: {part.strip()} runs backwards (write the lower id first: {hi}-{lo})")
        if lo < 1 or hi > count:
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
    for folder, role in ((out_dir, "the output folder"), (out_dir / CHECKPOINT_DIR, "where the trainer keeps its "
                                                                                    "checkpoints")):
        if folder.exists() and not folder.is_dir():
            raise NaapgnnError(f"{folder}: exists and is not a folder ({role}); move it away")
    try:
        (out_dir / CHECKPOINT_DIR).mkdir(parents=True, exist_ok=True)
        for folder in (out_dir, out_dir / CHECKPOINT_DIR):
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
                pass
    except OSError as exc:
        raise NaapgnnError(f"{out_dir}: output folder is not writable: {exc.strerror or exc}") from None
    return out_dir


@contextlib.contextmanager
def exclusive_out_dir(out_dir: str | Path) -> Iterator[None]:
    """Hold ``out_dir`` for one run: a second run on it while this one trains is refused in one line (two runs
    would train the same networks and race to write their logs); what a killed run's writes left is removed."""
    with held_folder(out_dir, "regenerate run is training into this folder", LOCK_FILE, also=(CHECKPOINT_DIR,)):
        yield


def check_folder_data(out_dir: str | Path, digest: str, record: bool = False) -> None:
    """Refuse, in one line, a folder whose logs were trained on other CIFAR-10 files than ``digest`` names (its
    finished logs would be skipped and mixed with this run's); with ``record`` (once every other check passed),
    record ``digest`` where the folder has none."""
    path = Path(out_dir) / DATA_FILE
    saved = read_text(path).strip() if path.is_file() else ""
    if digest and saved and saved != digest:
        raise NaapgnnError(f"{out_dir}: its logs were trained on other CIFAR-10 files (digest {saved}, these "
                           f"{digest}); give the --cifar-root they used, or another --out")
    if record and digest and not saved:
        write_text_atomic(path, digest + "\n")


def check_options(recipe: Recipe, options: TrainOptions, device: str) -> None:
    if recipe.epochs < 1:
        raise NaapgnnError(f"--epochs must be at least 1, got {recipe.epochs}")
    for value, flag in ((options.group_size, "--group-size"), (options.workers, "--workers")):
        if value is not None and value < 1:
            raise NaapgnnError(f"{flag} must be at least 1, got {value}")
    if options.amp not in (None, "bf16"):
        raise NaapgnnError(f"--amp: only bf16 is supported, got {options.amp!r}")
    for given, flag in ((options.streams, "--streams"), (options.cuda_graphs, "--cuda-graphs"),
                        (options.tf32, "--tf32"),
                        (options.cudnn_benchmark, "--cudnn-benchmark")):
        if given and device != "auto" and not device.startswith("cuda"):  # "auto": a cluster's, not known here
            raise NaapgnnError(f"{flag} needs a CUDA device (it changes nothing on {device})")


# --- resume state ----------------------------------------------------------------


class JobState(NamedTuple):
    """Where a job stands: ``status`` is ``"done"`` (complete log, nothing to do), ``"resume"`` (checkpoint),
    ``"ahead"`` (the checkpoint of a longer run, already past this run's epochs: left to finish later) or
    ``"new"``; ``epochs`` the epochs its log (done) or checkpoint (resume) holds, 0 when new; ``numerics`` the
    speed-up options a resumed checkpoint was trained with (:meth:`TrainOptions.numerics`)."""

    status: str
    epochs: int
    numerics: dict | None = None


def job_status(job: Job, recipe: Recipe) -> JobState:
    """Where ``job`` stands (:class:`JobState`), its log and checkpoint read once.

    Raises NaapgnnError, so that nothing is overwritten, when the folder holds a
    log or checkpoint of a different network under this id, or an incomplete
    log without a checkpoint (this trainer never leaves one: it is someone
    else's file).
    """
    if job.checkpoint_path.exists():
        state = read_checkpoint(job.checkpoint_path)
        if state["network"] != job.logged_network:
            raise NaapgnnError(f"{job.checkpoint_path}: checkpoint is for a different network than scheme {job.model_id}")
        saved = Recipe(**state["recipe"])
        if not saved.same_training(recipe):
            raise NaapgnnError(f"{job.checkpoint_path}: checkpoint was trained with a different recipe")
        if not saved.same_data(recipe):
            raise NaapgnnError(f"{job.checkpoint_path}: checkpoint was trained on other CIFAR-10 files (digest "
                               f"{saved.data}, these {recipe.data}); give the --cifar-root it started with, or move "
                               f"the checkpoint away to start over")
        if int(state["epoch"]) >= recipe.epochs:  # a longer run's: finishing it is that run's to do
            return JobState("ahead", int(state["epoch"]))
        return JobState("resume", int(state["epoch"]), state.get("numerics"))
    if not job.log_path.exists():
        return JobState("new", 0)
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
    return JobState("done", len(log.epochs))


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


def save_checkpoint(path: Path, state: dict) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(state, tmp)

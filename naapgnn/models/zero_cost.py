"""Zero-training scores: rank untrained networks without a single step of training.

* :func:`naswot` - Mellor et al. 2021, "Neural Architecture Search without
  Training": push a minibatch through the untrained network, turn every ReLU
  output into a binary code per image (unit active or not), and score the
  network by ``log|K|`` where ``K[i, j] = N_A - hamming(c_i, c_j)`` counts the
  units on which images ``i`` and ``j`` agree. Networks whose activation
  patterns tell images apart get a high score. The paper reads ReLUs; here
  every activation whose output has its input's sign (GELU, SiLU, Mish,
  Hardswish, leaky ReLU, tanh) gives the same code, the sign of its input, so
  a network of those is scored too (one of ReLUs scores as in the paper).
* :func:`synflow` - Tanaka et al. 2020, the data-free "synaptic flow": take
  absolute values of all parameters, feed an all-ones input, and sum
  ``|theta * dR/dtheta|`` over the conv and linear weights, ``R`` being the sum
  of the outputs. Computed in double precision (the products of many layers'
  weights overflow single precision in deep networks).
* :func:`score_architectures` scores many architectures built by
  :func:`naapgnn.arch.builder.build_model`, each with the same fixed seed.

Images for NASWOT come from :func:`load_images`: a seeded sample of the
CIFAR-10 test batch when a CIFAR-10 folder is given, else a clearly labelled
fallback batch of Gaussian noise. :class:`ImageBatch` carries the label so
reports can name what was used.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from naapgnn.errors import NaapgnnError
from naapgnn.models.zero_cost_memory import check_fits, within_memory
from naapgnn.models.score_line import ScoreLine  # also here, its former place: earlier pickles name it so
from naapgnn.runtime import seeded_torch

SCORES = ("naswot", "synflow")
DEFAULT_BATCH_SIZE = 64
DEFAULT_SEED = 0

__all__ = [
    "SCORES", "ImageBatch", "naswot", "naswot_kernel", "synflow", "score_architectures",
    "load_images", "fallback_images", "with_scores", "finite_inputs", "ScoreLine",
]


@dataclass
class ImageBatch:
    """A minibatch of images for NASWOT and where it came from.

    Attributes
    ----------
    images : torch.Tensor
        Float ``[N, C, H, W]``.
    source : str
        Human-readable origin, e.g. ``"CIFAR-10 test batch, 64 images (seed 0)"``
        or ``"FALLBACK: Gaussian noise N(0, 1), 64 images (seed 0); no CIFAR-10 folder given"``.
    is_fallback : bool
        True when no real images were available.
    """

    images: Any
    source: str
    is_fallback: bool


# --- NASWOT -------------------------------------------------------------------------


def _coded_types():
    """Activations whose output is positive exactly where their input is: a unit's code (active or not) is
    the same as a ReLU's on that input. Sigmoids (always positive) give none."""
    from torch import nn

    return (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Mish, nn.Hardswish, nn.Tanh)


def naswot_kernel(model, images) -> np.ndarray:
    """The NASWOT kernel ``K = N_A - H`` of ``model`` on ``images``.

    ``K[i, j]`` is the number of ReLU units (over every ReLU module of the
    model, and every activation module whose output has its input's sign,
    every channel and position) on which images ``i`` and ``j`` are both
    active or both inactive; all zeros for a model without such a module.
    The model runs as the reference implementation runs it: in training mode (batch-norm uses the batch
    statistics), without gradients, on a copy so the caller's batch-norm
    running statistics are left untouched.

    Parameters
    ----------
    model : torch.nn.Module
        Its ``nn.ReLU`` modules (and GELU, SiLU, ...) are read.
    images : torch.Tensor
        ``[N, C, H, W]`` on the model's device.

    Returns
    -------
    numpy.ndarray of shape (N, N)
        float64, symmetric, with ``N_A`` (the total number of units) on the diagonal.
    """
    import torch

    if images.ndim < 2 or images.shape[0] < 2:
        raise NaapgnnError(f"naswot: need a batch of at least 2 images, got shape {tuple(images.shape)}")
    net = copy.deepcopy(model).train()
    n = images.shape[0]
    K = torch.zeros((n, n), dtype=torch.float64, device=images.device)

    def hook(module, inputs, output):
        # Agreements = c.c' + (1-c).(1-c') = 2 c.c' - |c| - |c'| + D: one matmul per layer.
        c = (output.detach() > 0).reshape(n, -1).to(torch.float32)
        s = c.sum(dim=1, dtype=torch.float64)
        K.add_(2.0 * (c @ c.T).to(torch.float64) - s[:, None] - s[None, :] + c.shape[1])

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, _coded_types())]
    try:
        with torch.no_grad():
            net(images)
    finally:
        for h in handles:
            h.remove()
    return K.cpu().numpy()


def naswot(model, images) -> float:
    """NASWOT score (Mellor et al. 2021): ``log det K`` of :func:`naswot_kernel`.

    Parameters
    ----------
    model : torch.nn.Module
        An untrained network (e.g. from :func:`naapgnn.arch.builder.build_model`).
    images : torch.Tensor
        A minibatch ``[N, C, H, W]`` on the model's device (N >= 2).

    Returns
    -------
    float
        Higher is better. ``-inf`` when the kernel is singular (two images with
        identical activation codes everywhere, or a model with no unit to
        code: no ReLU, GELU, ... at all).
    """
    K = naswot_kernel(model, images)
    sign, logdet = np.linalg.slogdet(K)
    return float(logdet) if sign > 0 else -math.inf


# --- synflow ---------------------------------------------------------------------------


def synflow(model, input_shape: Sequence[int] | None = None, device=None, batchnorm: bool = True) -> float:
    """SynFlow score (Tanaka et al. 2020): data-free synaptic flow of the untrained network.

    All parameters and buffers are replaced by their absolute values, an
    all-ones input of ``input_shape`` goes through the network in double
    precision, and the score is ``sum |theta * dR/dtheta|`` over the conv and
    linear weights, ``R`` being the sum of the logits. Batch norm runs in
    evaluation mode as in Tanaka et al.'s pruner: with fresh running
    statistics (mean 0, variance 1) it is the identity up to
    ``1/sqrt(1 + eps)``. ``batchnorm=False`` removes batch norm instead (the
    convention of NASLib's published NAS-Bench-201 scores). Weights that the
    output does not depend on (dead branches) contribute 0. Runs on a copy;
    the caller's model is unchanged.

    Parameters
    ----------
    model : torch.nn.Module
    input_shape : sequence of int, optional
        ``(C, H, W)``; default: ``model.arch.input_shape`` (models from
        :func:`naapgnn.arch.builder.build_model`).
    device : torch.device or str, optional
        Default: the device of the model's parameters.
    batchnorm : bool
        False replaces every batch-norm module by the identity.

    Returns
    -------
    float
        Positive (0 when the output is cut off from every weight); larger for
        wider and deeper networks.
    """
    import torch
    from torch import nn

    if input_shape is None:
        arch = getattr(model, "arch", None)
        if arch is None:
            raise NaapgnnError("synflow: give input_shape (the model has no .arch to take it from)")
        input_shape = arch.input_shape
    params = list(model.parameters())
    if device is None:
        device = params[0].device if params else torch.device("cpu")
    net = copy.deepcopy(model).to(device=device, dtype=torch.float64).eval()
    if not batchnorm:
        for module in list(net.modules()):
            for name, child in module.named_children():
                if isinstance(child, nn.modules.batchnorm._BatchNorm):
                    setattr(module, name, nn.Identity())
    with torch.no_grad():
        for tensor in net.state_dict().values():
            if tensor.is_floating_point():
                tensor.abs_()
    weighted = [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if not weighted:
        raise NaapgnnError("synflow: the model has no conv or linear layer")
    net.zero_grad(set_to_none=True)
    x = torch.ones((1, *input_shape), dtype=torch.float64, device=device)
    net(x).sum().backward()
    with torch.no_grad():
        total = sum(float((w * w.grad).abs().sum()) for w in weighted if w.grad is not None)
    if not math.isfinite(total):
        raise NaapgnnError("synflow: the score overflows double precision for this network")
    return total


# --- images -------------------------------------------------------------------------------


def check_batch_size(n: int, option: str = "--zc-batch-size (batch_size)") -> None:
    """NASWOT compares pairs of images: refuse a batch size below 2 by its ``option``'s name, before any scoring."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise NaapgnnError(f"{option}: NASWOT compares pairs of images, so it needs at least 2, got {n!r}")


def fallback_images(n: int = DEFAULT_BATCH_SIZE, shape: Sequence[int] = (3, 32, 32),
                    seed: int = DEFAULT_SEED) -> ImageBatch:
    """A seeded batch of standard Gaussian noise, labelled as the fallback it is."""
    import torch

    check_batch_size(n)
    gen = torch.Generator().manual_seed(int(seed))
    images = torch.randn((int(n), *shape), generator=gen)
    source = (f"FALLBACK: Gaussian noise N(0, 1), {n} images of {'x'.join(map(str, shape))} "
              f"(seed {seed}); no CIFAR-10 folder given")
    return ImageBatch(images, source, True)


def load_images(cifar_root: str | Path | None = None, n: int = DEFAULT_BATCH_SIZE, seed: int = DEFAULT_SEED,
                shape: Sequence[int] = (3, 32, 32)) -> ImageBatch:
    """A NASWOT minibatch: ``n`` CIFAR-10 test images (seeded sample) or the fallback.

    Parameters
    ----------
    cifar_root : path, optional
        A folder holding ``cifar-10-batches-py`` (or that folder). Only its
        ``test_batch`` is read, preprocessed as the NAAP-440 recipe does
        (``(x / 255 - 0.5) / 0.5``). None gives :func:`fallback_images`.
    n : int
        Batch size.
    seed : int
        Which images are drawn (and the noise of the fallback).
    shape : sequence of int
        Image shape of the fallback batch.

    Returns
    -------
    ImageBatch
    """
    import torch

    check_batch_size(n)
    if cifar_root is None:
        return fallback_images(n, shape, seed)
    from naapgnn.data import cifar

    path = cifar.batches_folder(cifar_root) / cifar.TEST_FILES[0]
    if not path.is_file():
        raise NaapgnnError(f"{path}: CIFAR-10 test batch not found (expected {cifar.FOLDER}/test_batch)")
    cifar._check_batch(path)
    data = cifar._safe_unpickle(path)["data"]
    if n > len(data):
        raise NaapgnnError(f"{path}: asked for {n} images, the batch holds {len(data)}")
    pick = np.sort(np.random.default_rng(int(seed)).choice(len(data), size=int(n), replace=False))
    images = cifar.to_normalized_tensor(data[pick].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    source = f"CIFAR-10 test batch, {n} images (seed {seed}) from {path.parent}"
    return ImageBatch(images.to(torch.float32), source, False)


# --- many architectures ----------------------------------------------------------------------


def _arch_of(item):
    from naapgnn.arch.format import parse_architecture

    return parse_architecture(getattr(item, "arch", item))


def _where(item, i: int) -> str:
    """How a message names the ``i``-th item: ``record 'n4' (line 5)`` for a record, else ``architecture i``."""
    if getattr(item, "id", None) is None:
        return f"architecture {i}"
    line = getattr(item, "line", None)
    return f"record {item.id!r}" + (f" (line {line})" if line else "")


def _built(arch, init: str, device: str):
    """The network of ``arch``, initialised from torch's random stream (seeded by the caller), on ``device``."""
    from naapgnn.arch.builder import build_model

    return build_model(arch, init=init).to(device)


def score_architectures(archs: Sequence[Any], score: str = "naswot", images=None,
                        batch_size: int = DEFAULT_BATCH_SIZE, seed: int = DEFAULT_SEED, device: str = "cpu",
                        return_times: bool = False, progress: bool = False, init: str = "naap",
                        batchnorm: bool = True):
    """Score many untrained architectures.

    Each network is built by :func:`naapgnn.arch.builder.build_model` (NAAP-440
    initialisation) and scored with torch's random streams seeded by ``seed``
    (:func:`naapgnn.runtime.seeded_torch`), so a score depends only on the
    architecture, the seed and the images, and the caller's own random state is
    left as it was.

    Parameters
    ----------
    archs : sequence
        Architectures, schemes, layer graphs or :class:`naapgnn.data.records.Record`.
    score : {"naswot", "synflow"}
    images : torch.Tensor or ImageBatch, optional
        NASWOT minibatch used as is; default :func:`fallback_images`
        (``batch_size`` images of each architecture's input shape, ``seed``).
    batch_size : int
        Size of the default NASWOT batch.
    seed : int
        Seed of the initialisation (and of the default images).
    device : str
        ``"cpu"``, ``"cuda"``, or ``"auto"`` (CUDA when present).
    return_times : bool
        Also return the seconds spent on each architecture (build + score).
    progress : bool
        tqdm bar on stderr.
    init : {"naap", "default"}
        Initialisation of :func:`~naapgnn.arch.builder.build_model`.
    batchnorm : bool
        Synflow only: False scores without batch norm (see :func:`synflow`).

    Returns
    -------
    numpy.ndarray of shape (n,), or (scores, seconds)

    Raises
    ------
    NaapgnnError
        For a network too large for memory, naming its record (its id and line): refused from its shapes before
        it is built (:func:`~naapgnn.models.zero_cost_memory.check_fits`), or when an allocation fails.
    """
    import torch
    from tqdm.auto import tqdm

    if score not in SCORES:
        raise NaapgnnError(f"unknown zero-cost score {score!r} (expected one of {', '.join(SCORES)})")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if isinstance(images, ImageBatch):
        images = images.images
    batches: dict[tuple, Any] = {}
    scores, times = np.zeros(len(archs)), np.zeros(len(archs))
    for i, item in enumerate(tqdm(archs, desc=f"{score} scores", unit="arch", disable=not progress)):
        start = time.perf_counter()
        arch, where = _arch_of(item), _where(item, i)
        batch = None
        if score == "naswot":
            batch = images
            if batch is None:
                key = tuple(arch.input_shape)
                if key not in batches:
                    batches[key] = fallback_images(batch_size, key, seed).images.to(device)
                batch = batches[key]
            if tuple(batch.shape[1:]) != tuple(arch.input_shape):
                raise NaapgnnError(f"{where}: input shape {list(arch.input_shape)} does not match "
                                   f"the images' {list(batch.shape[1:])}")
        check_fits(arch, score, 1 if batch is None else batch.shape[0], device, where)
        with seeded_torch(seed, device):  # the scoring draws too (dropout in train mode): fixed, and the caller's kept
            model = within_memory(score, where, "building it", _built, arch, init, device)
            if batch is None:
                scores[i] = within_memory(score, where, "scoring it", synflow, model, arch.input_shape, device=device,
                                          batchnorm=batchnorm)
            else:
                scores[i] = within_memory(score, where, "scoring it", naswot, model, batch.to(device))
        if device != "cpu" and torch.cuda.is_available():
            torch.cuda.synchronize()
        times[i] = time.perf_counter() - start
    return (scores, times) if return_times else scores


def with_scores(records: Sequence[Any], scores: dict[str, Sequence[float]]) -> list:
    """Copies of ``records`` with zero-cost scores added to their ``hparams``.

    :class:`naapgnn.models.gnn.GNNPredictor` reads every ``hparams`` field as
    a numeric input, so ``GNNPredictor(budget=0).fit(with_scores(records,
    {"naswot": s}))`` learns from the graph and the score. Non-finite scores
    (a singular NASWOT kernel) are left out of that record's ``hparams``; the
    predictor fills a missing value with the training mean.
    """
    import dataclasses

    out = []
    for i, r in enumerate(records):
        hp = dict(r.hparams)
        for name, values in scores.items():
            if len(values) != len(records):
                raise NaapgnnError(f"with_scores: {len(values)} {name} scores for {len(records)} records")
            v = float(values[i])
            if math.isfinite(v):
                hp[name] = v
        out.append(dataclasses.replace(r, hparams=hp))
    return out


def finite_inputs(scores: dict[str, Sequence[float]]) -> dict[str, np.ndarray]:
    """Zero-cost scores as finite model inputs: NASWOT as is, log synflow; a
    singular NASWOT kernel (-inf) ranks just below the lowest finite score."""
    out = {}
    for name, values in scores.items():
        with np.errstate(divide="ignore"):  # a synflow of 0 (a network that passes nothing) ranks below the rest
            v = np.log(values) if name == "synflow" else np.asarray(values, dtype=float)
        finite = np.isfinite(v)
        if not finite.any():
            raise NaapgnnError(f"zero-cost score {name}: no finite value")
        out[name] = np.where(finite, v, v[finite].min() - 1.0)
    return out

"""Benchmark the companion trainer: architecture-epochs per second and the
projected time of the full NAAP-440 regeneration (440 architectures x 90 epochs).

    python scripts/bench_trainer.py [--device cpu|cuda] [--archs N] [--epochs E] [--cifar-root DIR]
                                    [--configs faithful,graphs,...] [--group-sizes 8,auto]
                                    [--check] [--baseline|--no-baseline]

Without ``--cifar-root`` a synthetic data set in the CIFAR-10 file format
(``--train-images`` / ``--test-images``) is written to a temporary folder; the
projection scales the measured time per architecture-epoch to CIFAR-10's
50,000 / 10,000 images (a training image costs about three test images:
forward + backward) and, as the benchmark trains an evenly spread sample of the
440 architectures, by the ratio of their MACs to the average.

Each configuration (``--configs``, at each of ``--group-sizes``; ``default`` is the
trainer's own, on a GPU ``graphs-streams``, on CPU ``faithful``) trains the
sample in this process; with ``--epochs 4`` or more the projection is
``3 first epochs + 87 x the mean later epoch`` per network, since the first
three epochs (one per learning rate) carry the one-off warm-up and graph
captures; what checkpoints and logs cost the training thread is not scaled with
the images. ``--check`` first trains a few networks eagerly and through CUDA
graphs (with and without streams) and compares their final weights bit for bit,
then compares the fast settings with the faithful ones after one epoch.

The baseline (default on CPU) trains the same networks the plain way: torchvision
data set with per-image ToTensor + Normalize, a shuffled DataLoader, one model at a time.
"""
from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

from naapgnn.data.naap440 import NUM_EPOCHS

TRAIN_COST = 3.0  # forward + backward of one training image, in test-image forwards
FULL_ARCHS, FULL_EPOCHS, FULL_TRAIN, FULL_TEST = 440, NUM_EPOCHS, 50_000, 10_000
FAST = {"channels_last": True, "tf32": True, "amp": "bf16", "cudnn_benchmark": True}
CONFIGS = {
    "default": {},  # the trainer's defaults: on a GPU, graphs-streams; on CPU, faithful
    "faithful": {"cuda_graphs": False, "streams": False},  # eager fp32, the plain pipeline's arithmetic
    "faithful-streams": {"cuda_graphs": False, "streams": True},
    "graphs": {"cuda_graphs": True, "streams": False},
    "graphs-streams": {"cuda_graphs": True, "streams": True},
    "fast-eager": {"cuda_graphs": False, "streams": False, **FAST},
    "fast-eager-streams": {"cuda_graphs": False, "streams": True, **FAST},
    "fast": {"cuda_graphs": True, "streams": False, **FAST},
    "fast-streams": {"cuda_graphs": True, "streams": True, **FAST},
    # the fast settings without cuDNN autotuning, whose picks vary from run to run
    "fast-fixed-streams": {"cuda_graphs": True, "streams": True, **FAST, "cudnn_benchmark": False},
    "tf32-streams": {"cuda_graphs": True, "streams": True, "tf32": True},
}
FAST_LOSS_RTOL, FAST_ACCURACY_ATOL = 0.02, 0.02  # fast vs faithful after one epoch (stated in README)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--archs", type=int, default=4, help="architectures to train (default 4)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs each (default 2)")
    parser.add_argument("--cifar-root", default=None, help="real CIFAR-10 folder (default: synthetic)")
    parser.add_argument("--train-images", type=int, default=2000, help="synthetic training images")
    parser.add_argument("--test-images", type=int, default=500, help="synthetic test images")
    parser.add_argument("--configs", default=None,
                        help=f"comma-separated, of {', '.join(CONFIGS)} (default: default, the trainer's own)")
    parser.add_argument("--group-sizes", default="8", help="comma-separated sizes or 'auto' (default 8)")
    parser.add_argument("--check", action="store_true", help="first compare eager, graphed and fast training")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    baseline = parser.add_mutually_exclusive_group()
    baseline.add_argument("--baseline", dest="baseline", action="store_true", default=None,
                          help="also time the plain DataLoader pipeline (default on CPU)")
    baseline.add_argument("--no-baseline", dest="baseline", action="store_false")
    args = parser.parse_args(argv)
    configs = (args.configs or "").split(",") if args.configs else None
    for name in configs or ():
        if name not in CONFIGS:
            parser.error(f"--configs: unknown {name!r}; choose from {', '.join(CONFIGS)}")
    sizes = [None if s.strip() == "auto" else int(s) for s in args.group_sizes.split(",")]

    import torch

    from naapgnn.runtime import resolve_device

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    configs = configs or ["default"]
    if args.check and not device.startswith("cuda"):
        parser.error("--check compares CUDA graphs and the fast settings with eager fp32: it needs --device cuda")
    work = Path(tempfile.mkdtemp(prefix="bench_trainer_"))
    try:
        root, what = _data(args, work)
        print(f"device: {_device_name(device)}; torch {torch.__version__}")
        print(f"data: {what}")
        if args.check:
            _attempt("check", _check, root, device, work)
        rows = []
        for name in configs:  # each row printed as it finishes: a run cut short keeps the rows it had
            for size in sizes:
                row = _attempt(f"{name}, group size {size or 'auto'}", _time_config, name, size, root, device, args,
                               work)
                if row is not None:
                    _print_row(row, args.epochs, header=not rows)
                    rows.append(row)
        if not rows:
            return 1
        run_baseline = args.baseline if args.baseline is not None else device == "cpu"
        if run_baseline:
            _time_baseline(root, device, args, rows[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _attempt(what: str, fn, *args):
    """Run one part of the benchmark; a failure is reported and the other parts still run."""
    import traceback

    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports every part it can
        traceback.print_exc()
        print(f"{what}: FAILED: {type(exc).__name__}: {exc}")
        sys.stdout.flush()
        return None


def _data(args, work: Path):
    from naapgnn.data.cifar import write_synthetic_cifar10

    if args.cifar_root:
        return args.cifar_root, f"CIFAR-10 at {args.cifar_root}"
    root = work / "data"
    t0 = time.perf_counter()
    write_synthetic_cifar10(root, args.train_images, args.test_images, seed=0)
    return root, (f"synthetic CIFAR-format data ({args.train_images} train / {args.test_images} test images, "
                  f"written in {time.perf_counter() - t0:.1f} s; no real CIFAR-10 given)")


def _device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        free, total = torch.cuda.mem_get_info(torch.device(device))
        return f"{torch.cuda.get_device_name(torch.device(device))} ({total / 2**30:.0f} GiB, {free / 2**30:.0f} free)"
    n = torch.get_num_threads()
    return f"CPU ({n} torch thread{'s' if n != 1 else ''})"


def _sample(count: int):
    from naapgnn.arch.profiling import profile
    from naapgnn.arch.space import naap440_search_space

    schemes = naap440_search_space()
    count = max(1, min(count, len(schemes)))
    ids = sorted({1 + round(i * (len(schemes) - 1) / max(count - 1, 1)) for i in range(count)})
    macs_all = sum(profile(s)[1] for s in schemes)
    macs_sample = sum(profile(schemes[i - 1])[1] for i in ids)
    return schemes, ids, macs_all / (len(schemes) * macs_sample / len(ids))


def _time_config(name: str, size, root, device: str, args, work: Path) -> dict:
    import torch

    from naapgnn.trainer.group import device_data
    from naapgnn.trainer.jobs import Recipe, TrainOptions
    from naapgnn.trainer.memory import step_bytes
    from naapgnn.trainer.training import regenerate

    schemes, ids, mac_scale = _sample(args.archs)
    options = TrainOptions(device=device, group_size=size, **CONFIGS[name])
    data = device_data(root, device, options.channels_last)  # one-time load, not timed
    n_train, n_test = data.train_x.shape[0], data.test_x.shape[0]
    image_scale = (TRAIN_COST * FULL_TRAIN + FULL_TEST) / (TRAIN_COST * n_train + n_test)
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    ends: dict = {}

    def on_epoch_end(model_id: int, epoch: int) -> None:
        ends[(model_id, epoch)] = time.perf_counter()

    t0 = time.perf_counter()
    with _timed_saves() as saves:
        summary = regenerate(schemes, root, work / f"out_{name}_{size}", ids=ids, recipe=Recipe(epochs=args.epochs),
                             options=options, progress=False, on_epoch_end=on_epoch_end)
    per_arch = _per_arch_seconds(ids, ends, t0, summary.group_size, args.epochs)
    save_s = saves["seconds"] / (len(ids) * args.epochs)  # per network-epoch; it does not grow with the images
    projected = FULL_ARCHS * ((per_arch - FULL_EPOCHS * save_s) * image_scale * mac_scale + FULL_EPOCHS * save_s)
    peak = torch.cuda.max_memory_reserved(torch.device(device)) if cuda else 0
    group = min(summary.group_size, len(ids))
    estimate = max(step_bytes(_arch(schemes[i - 1]), 256) for i in ids)
    return {"config": name, "group": f"{summary.group_size}{' (auto)' if size is None else ''}",
            "rate": len(ids) * args.epochs / summary.seconds, "projected_h": projected / 3600,
            "seconds": summary.seconds, "peak_gib": peak / 2**30, "per_net_mib": peak / group / 2**20,
            "estimate_mib": estimate / 2**20, "arch_epochs": len(ids) * args.epochs,
            "save_ms": 1000 * save_s,
            "save_share": saves["seconds"] / summary.seconds,
            "image_scale": image_scale, "mac_scale": mac_scale}


@contextlib.contextmanager
def _timed_saves():
    """Time what checkpoints and logs cost the training thread: queueing them (the state's copy to host memory)
    and waiting for the background writer (wrapping the three methods while in use)."""
    from naapgnn.trainer.group import _Run
    from naapgnn.trainer.writer import BackgroundWriter

    totals = {"seconds": 0.0}
    originals = {(_Run, name): getattr(_Run, name) for name in ("checkpoint", "write_log")}
    originals[BackgroundWriter, "wait"] = BackgroundWriter.wait

    def timed(method):
        def run(self, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                totals["seconds"] += time.perf_counter() - t0
        return run

    for (owner, name), method in originals.items():
        setattr(owner, name, timed(method))
    try:
        yield totals
    finally:
        for (owner, name), method in originals.items():
            setattr(owner, name, method)


def _per_arch_seconds(ids, ends: dict, t0: float, group_size: int, epochs: int) -> float:
    """Projected seconds of one network's 90 epochs: the first three epochs as measured plus
    87 x the mean later epoch (from 4 epochs on), else 90 x the mean epoch, per group."""
    total, start = 0.0, t0
    for g in range(0, len(ids), group_size):
        members = ids[g:g + group_size]
        marks = [start] + [max(ends[(m, e)] for m in members) for e in range(1, epochs + 1)]
        start = marks[-1]
        spans = [b - a for a, b in zip(marks, marks[1:])]
        if epochs >= 4:
            later = spans[3:]
            total += sum(spans[:3]) + (FULL_EPOCHS - 3) * sum(later) / len(later)
        else:
            total += FULL_EPOCHS * sum(spans) / len(spans)
    return total / len(ids)


def _arch(scheme):
    from naapgnn.arch.format import parse_architecture

    return parse_architecture(scheme)


def _print_row(r: dict, epochs: int, header: bool) -> None:
    if header:
        how = "epochs 1-3 as measured + 87 x a later epoch" if epochs >= 4 else "90 x the mean epoch"
        print(f"\nprojection: per network, {how}; x{r['image_scale']:.1f} "
              f"images to CIFAR-10's 50,000/10,000, x{r['mac_scale']:.2f} MACs to the 440's mean")
        print("| settings | group size | arch-epochs | arch-epochs/s (this data) | projected 440 x 90 epochs "
              "| checkpoint + log, training thread's share per network-epoch | peak memory | per network "
              "| estimate per network |")
        print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {r['config']} | {r['group']} | {r['arch_epochs']} | {r['rate']:.2f} | "
          f"**{_duration(r['projected_h'])}** | {r['save_ms']:.1f} ms ({r['save_share']:.1%} of the run) | "
          f"{r['peak_gib']:.2f} GiB | {r['per_net_mib']:.0f} MiB | {r['estimate_mib']:.0f} MiB |")
    sys.stdout.flush()


def _duration(hours: float) -> str:
    return f"{hours * 60:.1f} min" if hours < 3 else f"{hours:.1f} h"


def _time_baseline(root, device: str, args, fast_row: dict) -> None:
    from naapgnn.trainer.jobs import Recipe
    from naapgnn.trainer.training import train_reference

    schemes, ids, _ = _sample(args.archs)
    t0 = time.perf_counter()
    for i in ids:
        train_reference(schemes[i - 1], root, Recipe(epochs=args.epochs), device=device)
    base_s = time.perf_counter() - t0
    print(f"plain DataLoader pipeline (per-image transforms, num_workers=0, one model at a time): {base_s:.2f} s = "
          f"{fast_row['arch_epochs'] / base_s:.3f} arch-epochs/s")
    print(f"speed-up of the trainer ({fast_row['config']}) over the plain pipeline: "
          f"{base_s / fast_row['seconds']:.2f}x")


def _check(root, device: str, work: Path) -> None:
    """Eager vs graphs (bit for bit) and fast vs faithful (within the stated tolerance)."""
    # "faithful" twice: eager against itself tells a nondeterministic kernel from a graph fault
    checks = {name: _train_for_check(name.split()[0], root, device, work, epochs=4, tag=name.replace(" ", "_"))
              for name in ("faithful", "faithful again", "graphs", "graphs-streams")}
    base = checks["faithful"]
    for name in ("faithful again", "graphs", "graphs-streams"):
        diff = max(_max_abs_diff(base[i][0], checks[name][i][0]) for i in base)
        same_logs = all(base[i][1] == checks[name][i][1] for i in base)
        verdict = "PASS" if diff == 0 and same_logs else "FAIL"
        print(f"check: {name} vs faithful eager after 4 epochs: max |weight difference| {diff:.3g}, "
              f"logged values {'identical' if same_logs else 'DIFFERENT'} -> {verdict}")
        sys.stdout.flush()
    one = {name: _train_for_check(name, root, device, work, epochs=1) for name in ("faithful", "fast")}
    worst_loss = worst_acc = 0.0
    for i in one["faithful"]:
        (_, a), (_, b) = one["faithful"][i], one["fast"][i]
        worst_loss = max(worst_loss, abs(a[0][1] - b[0][1]) / abs(a[0][1]))
        worst_acc = max(worst_acc, abs(a[0][3] - b[0][3]))
    ok = worst_loss <= FAST_LOSS_RTOL and worst_acc <= FAST_ACCURACY_ATOL
    print(f"check: fast (bf16, channels last, TF32, cuDNN autotune) vs faithful, epoch 1 of {len(one['fast'])} "
          f"networks: loss mean within {worst_loss:.2%} (tolerance {FAST_LOSS_RTOL:.0%}), test accuracy within "
          f"{worst_acc:.4f} (tolerance {FAST_ACCURACY_ATOL}) -> {'PASS' if ok else 'FAIL'}")
    sys.stdout.flush()


def _train_for_check(name: str, root, device: str, work: Path, epochs: int, tag: str = "") -> dict:
    from naapgnn.data.logs import parse_log
    from naapgnn.trainer.group import configure_backends, device_data, train_group
    from naapgnn.trainer.jobs import Recipe, TrainOptions, make_jobs, prepare_out_dir

    schemes, ids, _ = _sample(3)
    options = TrainOptions(device=device, group_size=len(ids), **CONFIGS[name])
    configure_backends(options, device)
    data = device_data(root, device, options.channels_last)
    jobs = make_jobs(schemes, prepare_out_dir(work / f"check_{tag or name}_{epochs}"), ids)
    runs = train_group(jobs, data, Recipe(epochs=epochs), options, device)
    out = {}
    for r in runs:
        weights = {k: v.detach().float().cpu() for k, v in r.model.state_dict().items()}
        logged = [(e.lr, e.loss_mean, e.loss_median, e.accuracy) for e in parse_log(r.job.log_path).epochs]
        out[r.job.model_id] = (weights, logged)
    return out


def _max_abs_diff(a: dict, b: dict) -> float:
    return max(float((a[k] - b[k]).abs().max()) if a[k].numel() else 0.0 for k in a)


if __name__ == "__main__":
    sys.exit(main())

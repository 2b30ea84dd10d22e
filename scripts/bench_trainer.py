"""Benchmark the companion trainer: architecture-epochs per second and the
projected time of the full NAAP-440 regeneration (440 architectures x 90 epochs).

    python scripts/bench_trainer.py [--device cpu|cuda] [--archs N] [--epochs E]
                                    [--cifar-root DIR] [--group-size G] [--baseline|--no-baseline]

Without ``--cifar-root`` a synthetic data set in the CIFAR-10 file format
(2,000 training / 500 test images) is written to a temporary folder; the
projection then scales the measured time per architecture-epoch to CIFAR-10's
50,000 / 10,000 images (a training image costs about three test images:
forward + backward) and, as the benchmark trains an evenly spread sample of the
440 architectures, by the ratio of their MACs to the average. The baseline
(default on CPU) trains the same networks the plain way: torchvision data set
with per-image ToTensor + Normalize, a shuffled DataLoader, one model at a time.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from naapgnn.data.naap440 import NUM_EPOCHS

TRAIN_COST = 3.0  # forward + backward of one training image, in test-image forwards
FULL_ARCHS, FULL_EPOCHS, FULL_TRAIN, FULL_TEST = 440, NUM_EPOCHS, 50_000, 10_000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--archs", type=int, default=4, help="architectures to train (default 4)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs each (default 2)")
    parser.add_argument("--cifar-root", default=None, help="real CIFAR-10 folder (default: synthetic)")
    parser.add_argument("--train-images", type=int, default=2000, help="synthetic training images")
    parser.add_argument("--test-images", type=int, default=500, help="synthetic test images")
    parser.add_argument("--group-size", type=int, default=8, help="networks stepped together")
    parser.add_argument("--streams", action="store_true", help="one CUDA stream per network")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--tf32", action="store_true")
    parser.add_argument("--amp", choices=("bf16",), default=None)
    parser.add_argument("--cudnn-benchmark", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    baseline = parser.add_mutually_exclusive_group()
    baseline.add_argument("--baseline", dest="baseline", action="store_true", default=None,
                          help="also time the plain DataLoader pipeline (default on CPU)")
    baseline.add_argument("--no-baseline", dest="baseline", action="store_false")
    args = parser.parse_args(argv)

    import torch

    from naapgnn.data.cifar import load_cifar10, write_synthetic_cifar10
    from naapgnn.arch.profiling import profile
    from naapgnn.arch.space import naap440_search_space
    from naapgnn.runtime import resolve_device
    from naapgnn.trainer.group import device_data
    from naapgnn.trainer.jobs import Recipe, TrainOptions
    from naapgnn.trainer.training import regenerate, train_reference

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    work = Path(tempfile.mkdtemp(prefix="bench_trainer_"))
    try:
        if args.cifar_root:
            root, what = args.cifar_root, f"CIFAR-10 at {args.cifar_root}"
        else:
            root = work / "data"
            write_synthetic_cifar10(root, args.train_images, args.test_images, seed=0)
            what = (f"synthetic CIFAR-format data ({args.train_images} train / {args.test_images} test images; "
                    f"no real CIFAR-10 given)")
        cpu_data = load_cifar10(root)
        n_train, n_test = cpu_data.train_x.shape[0], cpu_data.test_x.shape[0]

        schemes = naap440_search_space()
        count = max(1, min(args.archs, len(schemes)))
        ids = sorted({1 + round(i * (len(schemes) - 1) / max(count - 1, 1)) for i in range(count)})
        macs_all = sum(profile(s)[1] for s in schemes)
        macs_sample = sum(profile(schemes[i - 1])[1] for i in ids)
        mac_scale = macs_all / (len(schemes) * macs_sample / len(ids))
        image_scale = (TRAIN_COST * FULL_TRAIN + FULL_TEST) / (TRAIN_COST * n_train + n_test)

        recipe = Recipe(epochs=args.epochs)
        options = TrainOptions(device=device, group_size=args.group_size, streams=args.streams,
                               channels_last=args.channels_last, tf32=args.tf32, amp=args.amp,
                               cudnn_benchmark=args.cudnn_benchmark)
        device_data(root, device, args.channels_last)  # one-time load, not timed
        summary = regenerate(schemes, root, work / "out", ids=ids, recipe=recipe, options=options, progress=False)
        fast_s = summary.seconds
        arch_epochs = len(ids) * args.epochs
        rate = arch_epochs / fast_s
        projected_s = FULL_ARCHS * FULL_EPOCHS / rate * image_scale * mac_scale

        device_name = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else \
            f"CPU ({torch.get_num_threads()} torch thread{'s' if torch.get_num_threads() != 1 else ''})"
        print(f"device: {device_name}")
        print(f"data: {what}")
        print(f"networks: NAAP-440 ids {','.join(map(str, ids))} x {args.epochs} epochs, group size "
              f"{args.group_size}, options {options.numerics()}")
        print(f"fast trainer: {arch_epochs} arch-epochs in {fast_s:.2f} s = {rate:.3f} arch-epochs/s "
              f"on this data")
        print(f"projected full job ({FULL_ARCHS} x {FULL_EPOCHS} epochs on CIFAR-10, x{image_scale:.1f} images, "
              f"x{mac_scale:.2f} MACs): {projected_s:.0f} s = {projected_s / 3600:.2f} h")

        run_baseline = args.baseline if args.baseline is not None else device == "cpu"
        if run_baseline:
            t0 = time.perf_counter()
            for i in ids:
                train_reference(schemes[i - 1], root, recipe, device=device)
            base_s = time.perf_counter() - t0
            print(f"plain DataLoader pipeline (per-image transforms, num_workers=0, one model at a time): {base_s:.2f} s = "
                  f"{arch_epochs / base_s:.3f} arch-epochs/s")
            print(f"speed-up of the fast trainer over the plain pipeline: {base_s / fast_s:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

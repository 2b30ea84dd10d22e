"""``naapgnn regenerate``: train architectures on CIFAR-10 with the NAAP-440 recipe."""
from __future__ import annotations

import argparse
import sys

NUM_EPOCHS = 90
"""NAAP-440's epochs per network (:data:`naapgnn.data.naap440.NUM_EPOCHS`; not imported, for start-up time)."""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "regenerate",
        help="train architectures on CIFAR-10 with the NAAP-440 recipe and write their logs",
        description="Regenerate NAAP-440 training logs (scheme_<id>.txt, the original format) by "
        "training each architecture with the dataset's recipe. Inputs are checked before any "
        "training; finished schemes are skipped and interrupted ones resume from their last epoch. "
        "Turn the logs into the dataset CSV with 'naapgnn build-csv'.",
    )
    p.add_argument("--schemes", required=True, metavar="FILE|naap440|enlarged",
                   help="JSON list of architectures (schemes or layer graphs), 'naap440' for the 440 "
                   "schemes or 'enlarged' for the larger space; ModelId i is item i")
    p.add_argument("--cifar-root", required=True, metavar="DIR",
                   help="folder holding cifar-10-batches-py (as torchvision expects)")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="folder for the logs and checkpoints/")
    p.add_argument("--ids", metavar="LIST", help="ModelIds to train, e.g. 1,2,5-9 (default: all)")
    p.add_argument("--epochs", type=int, default=NUM_EPOCHS, help=f"epochs per network (default {NUM_EPOCHS})")
    p.add_argument("--device", default="auto", help="auto, cuda, cuda:N or cpu (default auto)")
    p.add_argument("--group-size", type=_group_size, default=None, metavar="N|auto",
                   help="networks stepped together over each batch in one process (default auto: as many as half "
                   "the GPU's free memory holds, at most 32; 8 on CPU)")
    p.add_argument("--workers", type=int, default=1, help="local training processes (default 1)")
    p.add_argument("--download", action="store_true", help="download CIFAR-10 with torchvision if missing")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local processes, or Ray tasks (one per scheme; needs naapgnn[cluster])")
    p.add_argument("--address", default=None,
                   help="Ray cluster address (default: start a local Ray instance)")
    p.add_argument("--gpus-per-task", type=float, default=None,
                   help="Ray: GPU share of one task (default 1/8 with CUDA, 0 on CPU)")
    fast = p.add_argument_group("speed-ups that change float rounding (off by default)")
    fast.add_argument("--channels-last", action="store_true", help="channels-last memory format")
    fast.add_argument("--tf32", action="store_true", help="TF32 convolutions and matmuls (CUDA)")
    fast.add_argument("--amp", choices=("bf16",), default=None, help="bfloat16 autocast")
    fast.add_argument("--cudnn-benchmark", action="store_true", help="cuDNN autotuning (non-deterministic)")
    exact = p.add_argument_group("speed-ups that keep the arithmetic (on by default on a GPU)")
    exact.add_argument("--streams", action=argparse.BooleanOptionalAction, default=None,
                       help="one CUDA stream per network of a group")
    exact.add_argument("--cuda-graphs", action=argparse.BooleanOptionalAction, default=None,
                       help="capture each network's step as a CUDA graph and replay it (the eager step's kernels)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _group_size(text: str) -> int | None:
    if text.strip().lower() == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from None


def run(args) -> int:
    from naapgnn.cli.options import writable_folder
    from naapgnn.trainer.jobs import Recipe, TrainOptions, load_schemes, parse_ids
    from naapgnn.trainer.training import regenerate

    from naapgnn.errors import NaapgnnError

    if args.backend != "ray" and (args.address is not None or args.gpus_per_task is not None):
        raise NaapgnnError(f"{'--address' if args.address is not None else '--gpus-per-task'} is read by "
                           f"--backend ray only; leave it out or add --backend ray")
    writable_folder(args.out)  # an empty --out (an unset shell variable) would fill the current folder with logs
    schemes = load_schemes(args.schemes)
    ids = parse_ids(args.ids, len(schemes))
    recipe = Recipe(epochs=args.epochs)
    options = TrainOptions(device=args.device, group_size=args.group_size, workers=args.workers,
                           streams=args.streams, cuda_graphs=args.cuda_graphs, channels_last=args.channels_last,
                           tf32=args.tf32, amp=args.amp, cudnn_benchmark=args.cudnn_benchmark)
    if args.backend == "ray":
        from naapgnn.trainer.distributed import regenerate_ray

        summary = regenerate_ray(schemes, args.cifar_root, args.out, ids=ids, recipe=recipe, options=options,
                                 address=args.address, gpus_per_task=args.gpus_per_task,
                                 download=args.download, progress=not args.no_progress, source=args.schemes)
    else:
        summary = regenerate(schemes, args.cifar_root, args.out, ids=ids, recipe=recipe, options=options,
                             download=args.download, progress=not args.no_progress, source=args.schemes)
    rate = summary.arch_epochs / summary.seconds if summary.seconds > 0 and summary.arch_epochs else 0.0
    print(f"trained {len(summary.trained)}, resumed {len(summary.resumed)}, skipped {len(summary.skipped)} "
          f"finished; {summary.arch_epochs} arch-epochs in {summary.seconds:.1f} s ({rate:.3f}/s); logs in {args.out}")
    sys.stdout.flush()
    return 0

"""``naapgnn build-csv RAW_DIR OUT.csv [--version 1|2]``: training logs -> dataset CSV."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "build-csv",
        help="build the NAAP-440 dataset CSV from a folder of training logs",
        description="Parse every scheme_<id>.txt training log of RAW_DIR and write the dataset CSV "
        "(one row per architecture, sorted by ModelId, IsTest split included). On the published "
        "raw_data folder this reproduces naap440.csv (--version 1) and naap440v2.csv (--version 2) "
        "byte for byte.",
    )
    p.add_argument("raw_dir", metavar="RAW_DIR", help="folder of scheme_<id>.txt logs")
    p.add_argument("out_csv", metavar="OUT.csv", help="CSV to write (atomically)")
    p.add_argument("--version", type=int, choices=(1, 2), default=1,
                   help="1: naap440.csv columns; 2: adds NumSkipConnections, NumPartialRFLayers (default 1)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epoch columns to write, cutting longer logs (default: the logs' common length; logs of "
                   "different lengths are refused)")
    p.set_defaults(func=run)


def run(args) -> int:
    from naapgnn.cli.options import not_a_log_of
    from naapgnn.data.logs import build_csv

    not_a_log_of(args.out_csv, args.raw_dir, "OUT.csv")
    rows = build_csv(args.raw_dir, args.out_csv, version=args.version, epochs=args.epochs)
    print(f"wrote {rows} rows to {args.out_csv}")
    return 0

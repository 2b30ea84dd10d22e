"""``naapgnn encode``: validate, encode, summarise, save and draw one architecture."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "encode",
        help="validate and encode an architecture JSON file as a graph",
        description="Validate an architecture (NAAP-440 scheme or layer graph), encode it as a "
        "PyTorch Geometric graph, print a summary (nodes, edges, params, MACs), and optionally "
        "save the graph and draw the DAG.",
    )
    p.add_argument("arch", metavar="ARCH.json", help="architecture file (scheme list or layer graph)")
    p.add_argument("-o", "--out", "--output", dest="output", metavar="graph.pt",
                   help="save the torch_geometric Data object here")
    p.add_argument("--draw", metavar="graph.png", help="draw the DAG to this image file")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--fold", action="store_true",
                   help="save the folded graph (runs of identical blocks as one copy with a repeat count, as the "
                   "GNN reads it) and add its node count to the summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from naapgnn.arch.format import load_architecture
    from naapgnn.errors import NaapgnnError
    from naapgnn.graph.encoding import summary as graph_summary

    if args.draw:
        from naapgnn.graph.drawing import check_format

        check_format(args.draw)
    from naapgnn.cli.options import distinct_output

    for option, path in (("-o", args.output), ("--draw", args.draw)):
        if path and Path(path).is_dir():
            raise NaapgnnError(f"{option} {path}: is a folder; give a file name")
        distinct_output(path, option, inputs=(args.arch,))
    if args.output and args.draw and Path(args.output).resolve() == Path(args.draw).resolve():
        raise NaapgnnError(f"-o {args.output} and --draw {args.draw}: one file; the drawing would replace the graph")
    arch = load_architecture(args.arch)
    summary = graph_summary(arch)  # torch is imported only to save the Data object (start-up time)
    if args.fold:
        from naapgnn.graph.encoding import encode

        summary["folded_nodes"] = encode(arch, fold=True).num_nodes
    if args.output:
        save_graph(arch, args.output, fold=args.fold)
    if args.draw:
        from naapgnn.graph.drawing import draw
        from naapgnn.io import atomic_path

        with atomic_path(args.draw) as tmp:
            draw(arch, tmp, title=args.arch)
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{args.arch}: {summary['nodes']} nodes, {summary['edges']} edges, "
            f"{summary['params']:,} params, {summary['macs']:,} MACs"
            + (f" ({summary['folded_nodes']} nodes when folded)" if args.fold else "")
        )
        if args.output:
            print(f"graph saved to {args.output}")
        if args.draw:
            print(f"drawing saved to {args.draw}")
    return 0


def save_graph(arch, path, fold: bool = False) -> None:
    """``torch.save`` the encoded graph (folded with ``fold``) to ``path``, atomically."""
    import torch

    from naapgnn.graph.encoding import encode
    from naapgnn.io import atomic_path

    with atomic_path(path) as tmp:
        torch.save(encode(arch, fold=fold), tmp)

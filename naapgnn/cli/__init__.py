"""Command-line interface: ``naapgnn <command> ...`` (also ``python -m naapgnn``).

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a
callable taking the parsed arguments and returning an exit status.
Command modules import heavy dependencies inside ``func`` so that
``--help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
import signal
import sys
import warnings

from naapgnn.errors import NaapgnnError, NaapgnnWarning, TrainingRecordsWarning
from naapgnn.runtime import TRACKER_WARNINGS, quiet_workers

COMMAND_MODULES = (
    "encode",
    "baselines",
    "train",
    "predict",
    "evaluate",
    "search",
    "build_csv",
    "regenerate",
    "import_benchmark",
)


def build_parser() -> argparse.ArgumentParser:
    from naapgnn import __version__

    parser = argparse.ArgumentParser(
        prog="naapgnn",
        description="Predict final accuracy of CNN architectures from their graph "
        "and early training curve.",
    )
    parser.add_argument("--version", action="version", version=f"naapgnn {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"naapgnn.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"naapgnn.cli.{name}":
                continue  # command not shipped in this build
            raise
        module.register(subparsers)
    return parser


def _glue_negative_values(argv: list[str]) -> list[str]:
    """``--budgets -1,2`` as ``--budgets=-1,2``: argparse takes a value that starts with ``-`` and is no plain number
    for an option, and answers "expected one argument" instead of the option's own check of the value."""
    out = []
    for token in argv:
        if out and out[-1].startswith("--") and "=" not in out[-1] and re.fullmatch(r"-\d[\d.,eE+-]*", token):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(_glue_negative_values(sys.argv[1:] if argv is None else list(argv)))
    if extra:
        _refuse_unrecognized(parser, getattr(args, "command", None), extra)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    default_show = warnings.showwarning
    # joblib's note on an interrupted or failed parallel run: the command's own line says what happened
    warnings.filterwarnings("ignore", message=r".*tasks which were still being processed by the workers have been "
                            "cancelled", category=UserWarning)
    warnings.showwarning = _one_line_warning(args.command, default_show, getattr(args, "data", None))
    default_term = _terminate_as_interrupt()
    try:
        with quiet_workers(TRACKER_WARNINGS):
            return int(args.func(args) or 0)
    except NaapgnnError as exc:
        print(f"naapgnn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the checks above did not foresee: still one line, no traceback
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"naapgnn {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        print(f"naapgnn {args.command}: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return 143 if terminated else 130
    finally:
        warnings.showwarning = default_show
        if default_term is not None:
            signal.signal(signal.SIGTERM, default_term)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a cluster's pre-emption), raised as Ctrl-C is so that the cleanups run: a
    temporary file of an atomic write is removed, not left beside its output."""


def _terminate_as_interrupt():
    """Make SIGTERM raise :class:`Terminated` in this process (a worker forked from it dies as by default);
    returns the handler it replaced (None off the main thread, where no handler can be set)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    pid = os.getpid()

    def handler(signum, frame):
        if os.getpid() != pid:  # a forked worker: die as SIGTERM's default does
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise Terminated()

    return signal.signal(signal.SIGTERM, handler)


def _refuse_unrecognized(parser: argparse.ArgumentParser, command: str | None, extra: list[str]) -> None:
    """Exit as argparse does for arguments no option reads, from the command's own parser (so the message names
    it), adding where they are numbers that the list options of naapgnn read comma-separated (``--budgets 0 3``)."""
    commands = next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {})
    owner = commands.get(command, parser)
    hint = ""
    if all(token.replace(",", "").replace(".", "").replace("-", "").isdigit() for token in extra):
        hint = " (options that take a list read it comma-separated, e.g. --budgets 0,3)"
    owner.error(f"unrecognized arguments: {' '.join(extra)}{hint}")


def _one_line_warning(command: str, default, data: str | None = None):
    """A ``warnings.showwarning`` that prints a :class:`NaapgnnWarning` as one line, each text once (every fit of
    an evaluation may raise the same one), one about the training records after the file they came from
    (``data``), others as ``default`` does."""
    shown = set()

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, TrainingRecordsWarning) and data:
            message = f"{data}: {message}"
        if issubclass(category, NaapgnnWarning):
            if str(message) not in shown:
                shown.add(str(message))
                print(f"naapgnn {command}: warning: {message}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)
    return show


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Option parsers shared by the commands and scripts (one place for each)."""
from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager

from naapgnn.errors import NaapgnnError

DEFAULT_THREADS = 1
"""Torch CPU threads of the commands: see ``scripts/bench_train_load.py`` for the measurement."""

RUN_SETTINGS = ("budget", "random_state", "device", "n_threads", "n_jobs", "progress")
"""GNNPredictor arguments that a command sets itself, never through ``--params``."""


def parse_params(text: str | None, option: str = "--params") -> dict:
    """A JSON object of GNNPredictor hyperparameters, checked against its signature.

    Raises :class:`NaapgnnError` with one line naming the option and the problem
    (invalid JSON and its column, not an object, an unknown or a run-level key).
    """
    from naapgnn.io import loads_json
    from naapgnn.models.gnn import GNNPredictor

    if not text:
        return {}
    params = loads_json(text, option, line=False)
    if not isinstance(params, dict):
        raise NaapgnnError(f"{option}: expected a JSON object of GNNPredictor hyperparameters")
    for key in RUN_SETTINGS:
        if key in params:
            raise NaapgnnError(f"{option}: {key!r} is set by the command itself, not through {option}")
    known = set(GNNPredictor().get_params()) - set(RUN_SETTINGS)
    unknown = sorted(set(params) - known)
    if unknown:
        raise NaapgnnError(f"{option}: unknown hyperparameter {unknown[0]!r} (known: {', '.join(sorted(known))})")
    from naapgnn.models.inputs import check_params

    try:  # out of range before any data is read, not at the first fit
        check_params(GNNPredictor(**params))
    except NaapgnnError as exc:
        raise NaapgnnError(f"{option}: {str(exc).removeprefix('GNNPredictor: ')}") from None
    return params


def add_target_scale(parser) -> None:
    """``--target-scale fraction|percent``: how a benchmark file gives its targets."""
    parser.add_argument("--target-scale", choices=("fraction", "percent"), default="fraction",
                        help="how a benchmark file gives final accuracies: fraction, 0..1 (default), or percent, "
                        "0..100 (divided by 100); a target outside the range is refused")


def add_threads(parser) -> None:
    """``--threads N``: torch CPU threads of a command that fits or runs torch models."""
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, metavar="N",
                        help=f"torch CPU threads (default {DEFAULT_THREADS}: as fast as more on an idle small "
                        "machine, and not slowed down several times when another process holds a core)")


def check_threads(value: int | None) -> None:
    if value is not None and value < 1:
        raise NaapgnnError(f"--threads must be >= 1, got {value}")


def check_seed(value: int, option: str = "--seed") -> None:
    from naapgnn.models.inputs import MAX_SEED  # the estimators' bound (imported here: --help loads no numpy)

    if not 0 <= value <= MAX_SEED:
        raise NaapgnnError(f"{option} must be an integer from 0 to {MAX_SEED}, got {value}")


def writable_file(path: str | None, option: str = "--out", example: str = "preds.csv") -> None:
    """Refuse an output path that is an existing folder (one line instead of a traceback, suggesting ``example``)."""
    from pathlib import Path

    if path is not None and Path(path).is_dir():
        raise NaapgnnError(f"{option} {path}: is a folder; give a file name, e.g. {Path(path) / example}")


def distinct_output(path: str | None, option: str, inputs=(), folders=()) -> None:
    """Refuse an output ``path`` that is one of the command's existing ``inputs`` or lies inside one of its input
    ``folders`` (a checkpoint, a folder of logs): writing there would destroy what the command reads."""
    from pathlib import Path

    if path is None:
        return
    out = Path(path).resolve()
    for given in inputs:
        if given and Path(given).is_file() and out == Path(given).resolve():
            raise NaapgnnError(f"{option} {path}: is the input {given}; give another file")
    for folder in folders:
        if folder and Path(folder).is_dir() and Path(folder).resolve() in out.parents:
            raise NaapgnnError(f"{option} {path}: lies inside {folder}, which this command reads; give a file "
                               f"elsewhere")


def not_a_log_of(path: str, raw_dir: str, option: str) -> None:
    """Refuse an output ``path`` named as a training log (``scheme_<id>.txt``) inside the ``raw_dir`` read."""
    from pathlib import Path

    from naapgnn.data.logs import LOG_NAME

    out = Path(path)
    if LOG_NAME.match(out.name) and out.parent.is_dir() and out.parent.resolve() == Path(raw_dir).resolve():
        raise NaapgnnError(f"{option} {path}: is a training log's name in RAW_DIR; give another file")


def scale_option(args) -> dict:
    """``{"target_scale": ...}`` for a benchmark loader."""
    return {"target_scale": args.target_scale}


def writable_folder(path, option: str = "--out") -> None:
    """Refuse an output folder path that is empty or an existing file (checked before any work starts)."""
    from pathlib import Path

    if path == "":
        raise NaapgnnError(f"{option}: an empty path; give a folder")
    if path is not None and Path(path).is_file():
        raise NaapgnnError(f"{option} {path}: is a file; give a folder")


def holding_a_folder(run_held):
    """The command ``run(args)`` that calls ``run_held(args, hold)``, ``hold`` a :class:`contextlib.ExitStack`
    open until the command ends: :func:`hold_out_folder` enters the output folder's lock into it once the folder
    is known, and the lock is released however the command ends."""
    import functools

    @functools.wraps(run_held)
    def run(args):
        import contextlib

        with contextlib.ExitStack() as hold:
            return run_held(args, hold)

    return run


def hold_out_folder(hold, path, command: str, also: tuple = (), outputs=()) -> None:
    """Refuse an output folder path that is a file, then hold the folder (:func:`naapgnn.folders.held_folder`) for
    ``command``'s run until ``hold`` (a :class:`contextlib.ExitStack`) closes; refuse, before any work, a folder
    standing where one of its ``outputs`` (file names) goes."""
    from pathlib import Path

    from naapgnn.folders import held_folder

    writable_folder(path)
    hold.enter_context(held_folder(path, f"naapgnn {command} run is writing into this folder", also=also))
    blocked = next((Path(path) / name for name in outputs if (Path(path) / name).is_dir()), None)
    if blocked is not None:
        raise NaapgnnError(f"{blocked}: a folder stands where naapgnn {command} writes a file; move it away")


@contextmanager
def warnings_after_checks():
    """Hold the warnings of the block (reading an input) until it ends without an error: an input the block's
    checks refuse gets its one-line error alone, not notices of how its records would have been read."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:  # the command's own filters and printer
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def check_curve_lengths(records, budget: int, source, channels=None) -> None:
    """One line when some of ``records`` (read from ``source``) hold fewer than ``budget`` epochs of curve: how
    many, and the first few ids with their lengths; or, given the measured ``channels`` a checkpoint
    reads, when a record has none of them (naming those it has)."""
    from naapgnn.data.channels import SCHEDULE_CHANNEL, measured_channels

    channels = [c for c in channels or () if c != SCHEDULE_CHANNEL]  # lr: a schedule, not a measurement
    if budget > 0 and channels:
        for r in records:
            if not any(len(r.curve.get(c, ())) for c in channels):
                has = measured_channels(r.curve)
                where = r.place(source) if source else f"the data: record {r.id!r}"
                raise NaapgnnError(f"{where} has none of the curve channels the checkpoint reads "
                                   f"({', '.join(channels)}); "
                                   + (f"it has {', '.join(has)}" if has else "it has no curve"))
    from naapgnn.data.channels import late_logs

    short = [r for r in records if r.num_epochs < budget]
    late = late_logs(records, budget)
    if budget <= 0 or not (short or late):
        return
    if short and len(short) == len(records):
        longest = max(r.num_epochs for r in records)
        raise NaapgnnError(f"{source or 'the data'}: budget {budget} needs the first {budget} epochs of curve; no "
                           f"record has them (the longest curve has {longest} epoch{'s' * (longest != 1)})")
    if short:
        listed = ", ".join(f"{r.id!r} ({_line(r)}{r.num_epochs} epoch{'s' * (r.num_epochs != 1)})" for r in short[:3])
        listed += ", ..." if len(short) > 3 else ""
        raise NaapgnnError(f"{source or 'the data'}: budget {budget} needs the first {budget} epochs of curve; "
                           f"{len(short)} of the {len(records)} records have fewer: {listed}")
    listed = ", ".join(f"{r.id!r} ({_line(r)}{channel} from epoch {epoch})" for r, channel, epoch in late[:3])
    raise NaapgnnError(f"{source or 'the data'}: budget {budget} needs a logged value by epoch {budget}; "
                       f"{len(late)} of the {len(records)} records log a channel first later: {listed}"
                       + (", ..." if len(late) > 3 else ""))


def _line(record) -> str:
    return f"line {record.line}, " if record.line else ""


def budgets_held(defaults, shortest: int, option: str = "--budgets", first_logged: int = 1,
                 records=None) -> list[int]:
    """:func:`naapgnn.data.gaps.budgets_within` of ``defaults``, with a note when that leaves some out, scales
    them to a benchmark that logs every ``first_logged`` epochs (naming, of ``records``, those without a curve), or
    moves them to the epochs the ``records`` log values at."""
    from naapgnn.data.gaps import budgets_within, logged_epochs, moved_budgets_words

    defaults = list(defaults)
    within = budgets_within(defaults, shortest, first_logged)
    logged = logged_epochs(records) if records and any(within) else None
    held = budgets_within(defaults, shortest, first_logged, logged)
    if held != defaults:
        why = [f"the shortest curve of the benchmark has {shortest} epochs"] if max(defaults) > shortest else []
        bare = [r for r in records or () if not r.num_epochs]
        if bare and shortest == 0:
            why = [f"{len(bare)} of the {len(records)} records have no curve (first: {_line(bare[0])}record "
                   f"{bare[0].id!r}): every budget >= 1 would need one"]
        why += [f"some record logs its first value at epoch {first_logged}"] if first_logged > 1 else []
        why += [moved_budgets_words(logged)] if held != within else []
        left = [b for b in defaults if b not in held]
        scaled = [b for b in within if b not in defaults]
        steps = f", counted in steps of {first_logged} epoch{'s' * (first_logged != 1)}" if scaled else ""
        kept = (f"budgets {', '.join(map(str, held))} kept, {', '.join(map(str, left))} left out"
                if set(held) <= set(defaults) else
                f"budgets {', '.join(map(str, held))} instead of {', '.join(map(str, defaults))}{steps}")
        print(f"note: {kept}: {' and '.join(why)} ({option} to choose)")
    return held


def protocol_or_default(given: str | None, is_test, source) -> str:
    """``given``, or (None) ``official`` when some record is marked test, else ``repeated`` with a note."""
    if given is not None:
        return given
    if any(is_test):
        return "official"
    print(f"note: no record of {source or 'the data'} is marked test (\"split\": \"test\"), so the official protocol "
          "has no test split: using the repeated protocol (--protocol to choose)", file=sys.stderr)
    return "repeated"


def split_options(args, protocols, repeats: int, folds: int = 10) -> None:
    """Give ``--repeats`` and ``--folds`` their defaults where left out, and say on stderr of one given that no
    protocol of ``protocols`` reads (a file that marks test records runs the official protocol by default)."""
    for name, default, protocol in (("repeats", repeats, "repeated"), ("folds", folds, "kfold")):
        value = getattr(args, name)
        if value is None:
            setattr(args, name, default)
        elif protocol not in protocols:
            print(f"note: --{name} {value} sets the {protocol} protocol's splits, and it does not run here "
                  f"(protocol {', '.join(protocols)}; --protocol {protocol} to run it)", file=sys.stderr)


def note_repeated_configurations(bench) -> None:
    """Say on stderr which configurations ``bench`` runs more than once (the splits keep their records together)."""
    repeated = bench.repeated_configurations()
    if repeated:
        print(f"note: {repeated}", file=sys.stderr)

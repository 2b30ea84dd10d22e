"""``naapgnn predict``: predict final accuracy with a trained checkpoint."""
from __future__ import annotations

import argparse

from naapgnn.cli.options import add_target_scale, add_threads

COLUMNS = ("id", "prediction", "uncertainty", "in_domain", "reason")
PREDICTION_DECIMALS = 6  # as the CSV writes a prediction, and as the summary line scores it


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict final accuracy with a checkpoint from `naapgnn train`",
        description="Predict the final accuracy of architectures with a GNN checkpoint. INPUT is the "
        "NAAP-440 folder or a CSV inside it (id = ModelId), one architecture JSON file, or a JSON Lines "
        "benchmark. Writes CSV rows id,prediction,uncertainty,in_domain,reason (+ target when known): "
        "in_domain is false, with the reason, for an architecture or curve outside what the checkpoint "
        "was trained on. A checkpoint trained with budget K needs the first K epochs of each record's "
        "curve; for one architecture give them with --curve, and its training hyperparameters, when the "
        "checkpoint was trained on some, with --hparams.",
    )
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="checkpoint folder")
    p.add_argument("input", metavar="INPUT", help="NAAP-440 folder/CSV, architecture .json or benchmark .jsonl")
    p.add_argument("--curve", metavar="A,A,...|CURVE.json", default=None,
                   help="the training curve of a single architecture: per-epoch accuracies (fractions), "
                   "comma-separated, or a JSON file {\"accuracy\": [...], \"loss_mean\": [...], ...}")
    p.add_argument("--hparams", metavar="K=V,K=V,...|HPARAMS.json", default=None,
                   help="the training hyperparameters of a single architecture, as a benchmark record's \"hparams\": "
                   "comma-separated KEY=VALUE pairs (a VALUE that is a number, true, false or null is read as "
                   "that, any other as a category: lr=0.1,optimizer=sgd,nesterov=true), or a JSON object file "
                   "{\"lr\": 0.1, \"optimizer\": \"sgd\"}")
    p.add_argument("--split", choices=("train", "test", "all"), default="all",
                   help="records to predict (default all)")
    p.add_argument("-o", "--out", metavar="preds.csv", default=None, help="write here (default: standard output)")
    p.add_argument("--device", default=None, help="override the checkpoint's device (auto, cpu, cuda)")
    add_threads(p)
    add_target_scale(p)
    p.set_defaults(func=run)


def predictions_csv(records, mean, std, in_domain=None, reasons=None) -> str:
    """The CSV text: :data:`COLUMNS` and ``target`` when any record has one."""
    import csv
    import io

    in_domain = [True] * len(records) if in_domain is None else in_domain
    reasons = [""] * len(records) if reasons is None else reasons
    with_target = any(r.target is not None for r in records)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(COLUMNS) + (["target"] if with_target else []))
    for r, m, s, ok, why in zip(records, mean, std, in_domain, reasons):
        row = [r.id, f"{m:.{PREDICTION_DECIMALS}f}", f"{s:.6f}", "true" if ok else "false", why]
        if with_target:
            # 12 digits: 69.429 / 100 reads 0.69429, not 0.6942900000000001
            row.append("" if r.target is None else f"{float(r.target):.12g}")
        writer.writerow(row)
    return buf.getvalue()


def read_curve(text: str) -> dict:
    """``--curve``: comma-separated accuracies, or the path of a JSON object of channels."""
    from pathlib import Path

    from naapgnn.data.records import parse_curve
    from naapgnn.errors import NaapgnnError

    if text.strip().lower().endswith(".json") or Path(text).is_file():
        obj, source = _json_file(Path(text), "--curve"), str(Path(text))
    else:
        obj, source = {"accuracy": [_float(item, i) for i, item in enumerate(text.split(","))]}, "--curve"
    try:
        curve = parse_curve(obj, diverged_ok=True)  # null: an epoch not logged, read as in a benchmark file
    except NaapgnnError as exc:
        raise NaapgnnError(f"{source}: {exc}") from None
    if not any(len(v) for v in curve.values()):
        raise NaapgnnError(f"{source}: the curve is empty")
    outside = [(i, v) for i, v in enumerate(curve.get("accuracy", ())) if v == v and not 0 <= v <= 1]
    if outside:
        i, v = outside[0]
        listed = "; a comma list is the accuracy channel: a checkpoint reading others takes them as a JSON file" \
            if source == "--curve" else ""
        raise NaapgnnError(f"{source}: epoch {i + 1}: accuracy {v:g} is outside [0, 1] (give fractions{listed})")
    return curve


def _json_file(path, flag: str):
    """The decoded JSON of the file ``path`` given to ``flag``; :class:`NaapgnnError` naming both otherwise."""
    from naapgnn.io import loads_json, read_text

    return loads_json(read_text(path, prefix=f"{flag} "), f"{flag} {path}")


def read_hparams(text: str) -> dict[str, float]:
    """``--hparams``: one architecture's training hyperparameters, read as a JSON Lines record's ``hparams``.

    Parameters
    ----------
    text : str
        Comma-separated ``KEY=VALUE`` pairs, each VALUE read as JSON when it parses (``0.1``, ``true``,
        ``null``), as a number when it reads as one (``.1``), and as a category otherwise (``sgd``); or the path
        of a JSON object file.

    Returns
    -------
    dict of str to float
        The numeric form (:func:`naapgnn.data.hparams.parse_hparams`).

    Raises
    ------
    NaapgnnError
        One line naming ``--hparams``, the hyperparameter and what is wrong with it.
    """
    from pathlib import Path

    from naapgnn.data.hparams import json_kind, parse_hparams
    from naapgnn.errors import NaapgnnError

    if Path(text).is_file() or ("=" not in text and text.strip().lower().endswith(".json")):
        source, obj = f"--hparams {Path(text)}", _json_file(Path(text), "--hparams")
    else:
        source, obj = "--hparams", _key_values(text)
    if not isinstance(obj, dict):
        raise NaapgnnError(f"{source}: expected a JSON object of hyperparameters, got {json_kind(obj)}")
    try:
        hparams = parse_hparams(obj)
    except NaapgnnError as exc:  # "hparams.lr: ..." -> "--hparams: lr: ..."
        message = str(exc)
        message = message[len("hparams."):] if message.startswith("hparams.") else message.removeprefix("hparams: ")
        raise NaapgnnError(f"{source}: {message}") from None
    if not hparams:
        raise NaapgnnError(f"{source}: no hyperparameters given")
    from naapgnn.data.plausibility import negative_learning_rate

    key = negative_learning_rate(hparams)
    if key is not None:
        raise NaapgnnError(f"{source}: {key}: {hparams[key]:g} is negative; a learning rate is 0 or more")
    return hparams


def _key_values(text: str) -> dict:
    """``KEY=VALUE,KEY=VALUE`` as a dict of :func:`_value`."""
    from naapgnn.errors import NaapgnnError

    out: dict = {}
    for item in text.split(","):
        key, equals, value = (part.strip() for part in item.partition("="))
        if not equals or not key:
            raise NaapgnnError(f"--hparams: {item.strip()!r} is not KEY=VALUE (give KEY=VALUE,KEY=VALUE,... "
                               "or a JSON object file)")
        if key in out:
            raise NaapgnnError(f"--hparams: {key!r} given twice")
        out[key] = _value(value)
    return out


def _value(text: str):
    """A ``--hparams`` VALUE: its JSON value when it parses, a boolean for ``true``/``false`` in any case (Python's
    ``False`` too), a number when Python reads one (``.1``; ``nan``, refused later), else a category."""
    import json

    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _float(item: str, index: int) -> float:
    import math

    from naapgnn.errors import NaapgnnError

    if item.strip().lower() in ("null", "nan"):  # an epoch not logged, as null in a benchmark file
        return math.nan
    try:
        value = float(item)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise NaapgnnError(f"--curve: epoch {index + 1}: {item.strip()!r} is not a finite number (null for an epoch "
                           "not logged)")
    return value


def attach_curve(records, curve: dict, model) -> None:
    """Give the single record of ``records`` the ``--curve``, checked against the checkpoint; its non-finite values
    read as a benchmark file's are (an epoch not logged, or a run that diverged)."""
    import warnings

    import numpy as np

    from naapgnn.data.channels import read_at_mean_when_lacking
    from naapgnn.errors import NaapgnnError, NaapgnnWarning

    _single_record(records, "--curve", "curves")
    own = [c for c, values in records[0].curve.items() if len(values)]
    if own:  # which of the two to read is the user's to say
        raise NaapgnnError(f"--curve: the record {records[0].id!r} has a curve of its own ({', '.join(own)}); "
                           "give the curve once, in the record or with --curve")
    budget = int(model.budget)
    channels = [c for c in getattr(model, "curve_channels_", []) or [] if c != "lr"]  # lr: a schedule, not a measurement
    lacking = [c for c in channels if c not in curve]
    # as the model reads a record (GNNPredictor.refuse_unlogged_channels)
    if budget and lacking and (len(lacking) == len(channels)
                               or not all(read_at_mean_when_lacking(c) for c in lacking)):
        from naapgnn.data.names import close_name

        unread = [c for c in curve if c not in channels]  # a channel the checkpoint reads is no misspelt other
        close = next(((got, want) for want in lacking if (got := close_name(want, unread))), None)
        hint = f"; {close[0]!r} a misspelt {close[1]!r}?" if close else ""
        at_mean = [c for c in lacking if read_at_mean_when_lacking(c)] if len(lacking) < len(channels) else []
        alone = f"; lacking {', '.join(at_mean)} alone is read at the training mean" if at_mean else ""
        raise NaapgnnError(f"--curve: the checkpoint reads the channels {', '.join(channels)}; the curve lacks "
                           f"{', '.join(c for c in lacking if c not in at_mean)} (it has {', '.join(curve)}{hint}"
                           f"{alone})" + (
                               f" (give those channels as a JSON file, {{\"{channels[0]}\": [...], ...}})"
                               if set(curve) == {"accuracy"} else ""))
    epochs = max(len(curve[c]) for c in (channels or curve) if c in curve)
    if epochs < budget:
        raise NaapgnnError(f"--curve: {epochs} epoch{'s' if epochs != 1 else ''} given, the checkpoint "
                           f"(budget {budget}) needs the first {budget}")
    records[0].curve = curve
    if any(np.isnan(v).any() for v in curve.values()):
        from naapgnn.data.gaps import fill_non_finite

        notice = fill_non_finite(records, "--curve", [1], model.curve_worst_, budget)
        if notice:
            warnings.warn(notice, NaapgnnWarning, stacklevel=2)


def attach_hparams(records, hparams: dict, model) -> None:
    """Give the single record of ``records`` the ``--hparams`` (the checkpoint reads them its own way,
    :func:`naapgnn.features.hparams.model_hparams`); a note when the checkpoint reads none."""
    import sys

    from naapgnn.errors import NaapgnnError

    _single_record(records, "--hparams", "hyperparameters")
    if records[0].hparams:
        raise NaapgnnError(f"--hparams: the record {records[0].id!r} has hyperparameters of its own "
                           f"({', '.join(sorted(records[0].hparams))}); give them once, in the record or with "
                           "--hparams")
    _refuse_category_for_number(hparams, getattr(model, "hparam_names_", None) or [])
    records[0].hparams = dict(hparams)
    if not getattr(model, "hparam_names_", None):
        print("naapgnn predict: note: the checkpoint reads no hyperparameters; --hparams changes nothing but the "
              "domain check", file=sys.stderr)


def _refuse_category_for_number(hparams: dict, names) -> None:
    """One line when ``--hparams`` gives a word (``lr=fast``) for a name the checkpoint reads as a number: the
    model would read the name as missing (its training mean), a number the user never gave."""
    from naapgnn.data.hparams import SEPARATOR, is_indicator, read_as
    from naapgnn.errors import NaapgnnError

    numeric = {n for n in names if not is_indicator(n)}
    for key in read_as(hparams, names):
        name, _, value = key.partition(SEPARATOR)
        if is_indicator(key) and name in numeric:
            raise NaapgnnError(f"--hparams: {name}: {value!r} is not a number; the checkpoint reads {name} as a "
                               "number")


def warn_lr_contradiction(record) -> None:
    """One warning line when the record's ``hparams`` learning rate is one its ``lr`` channel never takes, given
    in part with ``--curve`` or ``--hparams`` (:func:`naapgnn.data.plausibility.lr_contradiction`)."""
    import sys

    from naapgnn.data.plausibility import describe_lr_contradiction, lr_contradiction

    hit = lr_contradiction(record)
    if hit:
        print(f"naapgnn predict: warning: record {record.id!r}: {describe_lr_contradiction(hit, 'the model')}",
              file=sys.stderr)


def _single_record(records, flag: str, what: str) -> None:
    from naapgnn.errors import NaapgnnError

    if len(records) != 1:
        raise NaapgnnError(f"{flag} is for a single architecture; INPUT holds {len(records)} records "
                           f"(give their {what} in a JSON Lines benchmark instead)")


def predict_and_check(model, records):
    """Mean, std, in_domain and reasons of ``records``: the graphs encoded and the GNN's parts computed
    once for both the prediction and :meth:`domain_report`; a model without ``domain_report`` counts all
    in domain."""
    import numpy as np

    if hasattr(model, "predict_parts"):
        graphs = model.encode_batch(records)
        parts = model.predict_parts(records, graphs)
        mean, std = model.predict_from_parts(parts, return_std=True)
        in_domain, reasons = model.domain_report(records, parts=parts, graphs=graphs)
        return mean, std, np.asarray(in_domain, dtype=bool), [str(r) for r in reasons]
    mean, std = model.predict(records, return_std=True)
    reasons = ["not checked: this predictor has no domain_report"] * len(records)
    return mean, std, np.ones(len(records), dtype=bool), reasons


def _records(args: argparse.Namespace, model, curve, hparams) -> list:
    """The records to predict, read and checked as the checkpoint reads them."""
    import sys

    from naapgnn.cli.options import check_curve_lengths
    from naapgnn.data.records import load_benchmark, split_records
    from naapgnn.errors import NaapgnnError

    records = split_records(load_benchmark(args.input, target_scale=args.target_scale,
                                           diverged_values=model.curve_worst_,
                                           hparam_names=getattr(model, "hparam_names_", None),
                                           read_epochs=int(model.budget or 0)), args.split)
    if not records:
        raise NaapgnnError(f"{args.input}: no records in split {args.split!r}")
    if hparams is not None:
        attach_hparams(records, hparams, model)
    if curve is not None:
        attach_curve(records, curve, model)
        if not model.budget:
            from naapgnn.features.hparams import SCHEDULE_PEAK

            peak = "lr" in curve and SCHEDULE_PEAK in (getattr(model, "hparam_names_", None) or [])
            print("naapgnn predict: note: the checkpoint reads no curve (budget 0); " + (
                  f"of --curve it reads the lr channel's peak alone ({SCHEDULE_PEAK})" if peak
                  else "--curve changes nothing"), file=sys.stderr)
    elif model.budget and len(records) == 1 and records[0].num_epochs < model.budget:
        raise NaapgnnError(f"record {records[0].id!r}: budget {model.budget} needs the first {model.budget} epochs "
                           f"of its curve, it has {records[0].num_epochs}; give them with --curve")
    if curve is not None or hparams is not None:  # a file's records are checked as it is read
        warn_lr_contradiction(records[0])
    check_curve_lengths(records, model.budget, args.input, getattr(model, "curve_channels_", None))
    return records


def run(args: argparse.Namespace) -> int:
    import math
    import sys

    from naapgnn.cli.options import check_threads, distinct_output, warnings_after_checks, writable_file
    from naapgnn.errors import NaapgnnError
    from naapgnn.io import write_text_atomic
    from naapgnn.models.gnn import GNNPredictor

    check_threads(args.threads)
    writable_file(args.out)
    distinct_output(args.out, "--out", inputs=(args.input, args.curve, args.hparams),
                    folders=(args.checkpoint, args.input))
    curve = read_curve(args.curve) if args.curve is not None else None
    hparams = read_hparams(args.hparams) if args.hparams is not None else None
    model = GNNPredictor.load(args.checkpoint, device=args.device)
    with warnings_after_checks():
        records = _records(args, model, curve, hparams)
    model.set_params(n_threads=args.threads)
    mean, std, in_domain, reasons = predict_and_check(model, records)
    broken = [i for i, value in enumerate(mean) if not math.isfinite(value)]
    if broken:  # before anything is written
        i = broken[0]
        raise NaapgnnError(f"record {records[i].id!r}: prediction {mean[i]} is not finite, an input too large for "
                           f"the model ({reasons[i] or 'in domain'}); nothing written")
    summary = summary_line(records, mean, model.budget, getattr(model, "training_ids_", None),
                           getattr(model, "training_configurations_", None), percent=args.target_scale == "percent")
    text = predictions_csv(records, mean, std, in_domain, reasons)
    if args.out:
        write_text_atomic(args.out, text)
    else:
        sys.stdout.write(text)
    outside = int((~in_domain).sum())
    if outside:
        first = next(i for i, ok in enumerate(in_domain) if not ok)
        print(f"naapgnn predict: warning: {outside} of {len(records)} architectures lie outside what the checkpoint "
              f"was trained on (in_domain false; e.g. {records[first].id}: {reasons[first]}); their predictions "
              "are extrapolations", file=sys.stderr)
    print(summary + (f"; wrote {args.out}" if args.out else ""), file=sys.stderr)
    return 0


def summary_line(records, mean, budget, training_ids=None, training_configurations=None, percent=False) -> str:
    """How many were predicted and, on those with a target, MAE, Kendall tau and violations, of the predictions
    as the CSV writes them (6 decimals: below that, two predictions differ by the float noise of the batch they
    were computed in); and how many of those share an id with the checkpoint's ``training_ids``, and how many
    others a configuration (:func:`naapgnn.data.configurations.configuration_keys`) with its records."""
    import numpy as np

    known = [(r.target, m) for r, m in zip(records, mean) if r.target is not None]
    scored = [r for r in records if r.target is not None]
    summary = f"predicted {len(records)} architecture{'s' * (len(records) != 1)} (budget {budget})"
    if len(known) == 1:  # no ranking to score, but an error
        (target, prediction), = known
        error = abs(round(float(prediction), PREDICTION_DECIMALS) - target)
        unit = f" ({100 * error:.2f} points)" if percent else ""
        return (summary + f"; its target {target:.4f}, absolute error {error:.4f}{unit}"
                + _trained_on_note(scored, training_ids, training_configurations))
    if len(known) >= 2:
        from naapgnn.evaluation.metrics import describe_tau, mae, max_violations, violations

        t, p = (np.array(a) for a in zip(*known))
        p = np.round(p, PREDICTION_DECIMALS)
        tau = describe_tau(t, p)
        error = mae(t, p)
        unit = f" ({100 * error:.2f} points: targets read in percent, predictions written as fractions)" if (
            percent) else ""
        summary += f"; on the {len(known)} with a target: MAE {error:.4f}{unit}, Kendall tau {tau}"
        if not tau.startswith("undefined"):
            summary += f", violations {violations(t, p)}/{max_violations(len(t))}"
        summary += _trained_on_note(scored, training_ids, training_configurations)
    return summary


def _trained_on_note(records, training_ids, training_configurations) -> str:
    """`` (N of them with the id of a record the checkpoint trained on ...)`` and the same of the other records
    whose configuration it trained on under another id (a seed of the same run); '' when there are none."""
    from naapgnn.data.configurations import configuration_keys

    trained_on = set(training_ids or ())
    others = [r for r in records if r.id not in trained_on]
    seen = len(records) - len(others)
    known = set(training_configurations or ())
    twins = sum(key in known for key in configuration_keys(others)) if known and others else 0
    parts = [f"{seen} of them with the id of a record the checkpoint trained on"] if seen else []
    parts += [f"{twins} {'more ' if seen else 'of them '}runs of a configuration (architecture and hyperparameters) "
              "it trained on, under another id"] if twins else []
    own = "a fit's own records" + (" and other runs of them" if twins else "")
    return f" ({', and '.join(parts)}: {own} score better than new ones)" if parts else ""

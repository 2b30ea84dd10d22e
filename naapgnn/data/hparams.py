"""Training hyperparameters of a record as numbers, categorical ones included.

A benchmark may give a hyperparameter as a number (``"lr": 0.1``), a boolean
(``"nesterov": true``, read as 1 or 0) or a category (``"optimizer": "adam"``).
A category becomes one indicator per value, named ``"optimizer=adam"``: 1 for
the record's value, 0 for every other value of that name in the same
benchmark (:func:`complete_categories`). A model trained on indicators reads
an indicator a record lacks as 0 when the record gives the same name another
value (:func:`hparam_value`): a benchmark of SGD and Adam runs predicts an
Adam-only file correctly, and a value never seen in training is reported by
the domain check rather than read. A name whose every string value is a number (``"lr": "0.01"``) is read
as numbers (:func:`numbers_in_strings`), with a warning (:func:`number_strings_notice`; none for a name that
the checkpoint reading the file reads as categories). That rule is the file's: a file whose every ``bs``
is ``"64"`` reads it as a number where one that also has ``"auto"`` reads categories, so a model reads a
record's hyperparameters its own way (:func:`read_as`): a number as the indicator of its value, or an
indicator whose value is a number as that number.

``null`` is a hyperparameter that does not apply to the record (a conditional
one: ``"momentum": null`` for an Adam run beside SGD runs that give it). It
is kept as NaN, which the models read as the training mean (the record's
other hyperparameters, its optimizer say, tell the runs apart); a category
given as ``null`` has every indicator 0.

A name whose last word is ``seed`` is the run's seed (:func:`is_seed`): kept in the record, read by no predictor, and no
part of its configuration, with a warning (:func:`seed_notice`).

:func:`finite_number` is the rule every number of a record follows (curve values and targets too), and
:func:`json_kind` names a wrong JSON value in messages.
"""
from __future__ import annotations

import json
import math
from typing import Any, Iterable, Mapping

from naapgnn.data.names import name_words
from naapgnn.errors import NaapgnnError, as_written

__all__ = ["json_kind", "finite_number", "MAX_MAGNITUDE", "parse_hparams", "complete_categories", "given_name",
           "case_variants_notice", "hparams_notices", "given_names", "is_seed", "seed_notice", "name_problem",
           "name_problems", "mixed_kinds", "is_indicator", "numbers_in_strings", "number_strings_notice", "read_as",
           "hparam_value", "hparams_to_json", "same_hparams", "not_applicable"]

SEPARATOR = "="
MAX_MAGNITUDE = 1e30
"""Largest |value| of a curve or hyperparameter: the models compute in float32 (at most 3.4e38), and squares and
kernels of larger values overflow."""


def parse_hparams(hparams: Any) -> dict[str, float]:
    """The numeric form of a record's ``hparams`` object (see the module docstring).

    Raises
    ------
    NaapgnnError
        Naming the hyperparameter and what is wrong with its value.
    """
    if hparams is None:
        return {}
    if not isinstance(hparams, Mapping):
        raise NaapgnnError(f"hparams: expected an object of numbers or categories, got {json_kind(hparams)}")
    out = {}
    for key, value in hparams.items():
        key = str(key)
        if SEPARATOR in key:
            raise NaapgnnError(f"hparams: name {key!r} holds {SEPARATOR!r} (reserved for categories: name=value)")
        if isinstance(value, str):
            if not value:
                raise NaapgnnError(f"hparams.{key}: expected a number or a non-empty category, got ''")
            out[f"{key}{SEPARATOR}{value}"] = 1.0
        elif isinstance(value, bool):
            out[key] = float(value)
        elif value is None:  # does not apply to this record
            out[key] = math.nan
        elif not isinstance(value, (int, float)):
            raise NaapgnnError(f"hparams.{key}: expected a number, string, boolean or null, got {value!r}")
        else:
            out[key] = finite_number(value, f"hparams.{key}")
    return out


def json_kind(value: Any) -> str:
    """What a decoded JSON value is, for messages ("an object", "a list", "null", ...)."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


def finite_number(value: Any, where: str) -> float:
    """``value`` as a float; :class:`NaapgnnError` naming ``where`` unless it is a finite JSON number within
    :data:`MAX_MAGNITUDE` (a boolean is no number here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NaapgnnError(f"{where}: expected a finite number, got {as_written(value)}")
    if isinstance(value, int) and (abs(value) > 2 ** 53):
        raise NaapgnnError(f"{where}: integer of {len(str(abs(value)))} digits is too large to read exactly")
    if not math.isfinite(value):
        raise NaapgnnError(f"{where}: expected a finite number, got {as_written(value)}")
    if abs(value) > MAX_MAGNITUDE:
        raise NaapgnnError(f"{where}: {value!r} is beyond what the models read (|value| <= {MAX_MAGNITUDE:g})")
    return float(value)


def is_indicator(name: str) -> bool:
    """Whether ``name`` is a category's indicator (``optimizer=adam``)."""
    return SEPARATOR in name


def name_problem(keys, first_keys, first_line: int, sharing: int = 1, total: int = 0) -> str:
    """What a record's hyperparameter names (``keys``) lack or add against those of the record on ``first_line``
    (``first_keys``), which ``sharing`` of the file's ``total`` records give."""
    missing, extra = sorted(set(first_keys) - set(keys)), sorted(set(keys) - set(first_keys))
    parts = ([f"lacks {', '.join(map(repr, missing))}"] if missing else []) + (
        [f"adds {', '.join(map(repr, extra))}"] if extra else [])
    shared = f"{sharing} of {total} records give those names; " if sharing > 1 else ""
    return f"hparams: {' and '.join(parts)} against line {first_line} ({shared}every record needs the same hparams)"


def name_problems(records) -> list[tuple[int, str]]:
    """``(line, problem)`` of each record whose hyperparameter names differ from those most ``records`` give (of
    sets as common, the earliest), so that one odd record is named whichever line it is on."""
    from collections import Counter

    names = [frozenset(given_names(r.hparams)) for r in records]
    counts = Counter(names)
    common = max(counts, key=lambda n: (counts[n], -names.index(n)))
    line = records[names.index(common)].line
    return [(r.line, name_problem(n, common, line, counts[common], len(records)))
            for r, n in zip(records, names) if n != common]


def given_name(key: str) -> str:
    """The name as the file gave it: ``optimizer`` for an ``optimizer=...`` indicator, any other name as it is."""
    return key.split(SEPARATOR, 1)[0]


def given_names(hparams: Mapping[str, float]) -> set[str]:
    """The names as the file gave them (:func:`given_name`)."""
    return {given_name(k) for k in hparams}


def complete_categories(hparams_list: Iterable[dict[str, float]]) -> None:
    """Give every dict of ``hparams_list`` a 0 for each category value that only other dicts have (in place).

    A dict that gives the name as a number keeps it, without indicators: a checkpoint reads each record by
    itself (:func:`read_as`), so one record's category never changes how the others' numbers read (a training
    file that mixes the two is refused first, :func:`mixed_kinds`).
    """
    hparams_list = list(hparams_list)
    indicators = {k for hp in hparams_list for k in hp if is_indicator(k)}
    for hp in hparams_list:
        names = given_names(hp) - {k for k, v in hp.items() if not is_indicator(k) and not math.isnan(v)}
        for k in indicators:
            if k not in hp and k.split(SEPARATOR, 1)[0] in names:
                hp[k] = 0.0
        for k in [k for k in hp if math.isnan(hp[k]) and any(i.startswith(k + SEPARATOR) for i in indicators)]:
            del hp[k]  # a category given as null: every indicator 0


def mixed_kinds(raw: Iterable[tuple[int, Any]]) -> list[tuple[int, str]]:
    """``(line, message)`` for each name that some records give as a number or boolean and others as a string
    that is no number (``"bs": "auto"`` beside ``"bs": 64``), at the first such string; ``raw`` holds each
    record's line and its ``hparams`` as the file gives them.

    Read as categories, the numbers would be lost; read as numbers, the string would.
    """
    numbers: dict[str, tuple[int, Any]] = {}
    strings: dict[str, tuple[int, str]] = {}
    for line, hparams in raw:
        for name, value in (hparams or {}).items():
            if isinstance(value, str) and _number_or_none(value) is None:
                strings.setdefault(name, (line, value))
            elif value is not None and not isinstance(value, str):
                numbers.setdefault(name, (line, value))
    problems = []
    for name in [n for n in strings if n in numbers]:
        (line, text), (number_line, number) = strings[name], numbers[name]
        kind = "boolean" if isinstance(number, bool) else "number"
        problems.append((line, f"hparams.{name}: {json.dumps(text)} is a string where other records give {kind}s "
                               f"(line {number_line}: {json.dumps(number)}); give every value as a {kind}, or "
                               "every one as a string to read them as categories"))
    return sorted(problems)


def numbers_in_strings(hparams_list: Iterable[dict[str, float]]) -> dict[str, tuple[str, int]]:
    """Read as numbers, in place, the categories whose every string value is a number
    (``"lr": "0.01"``, as a table exported with text columns writes it); returns their names (sorted), each with
    the first value the list gives it as written and that record's index (for a warning that shows the file's own
    values and where).

    Read as categories they would lose their order (and the log reading of a rate spread over decades);
    a name that also takes a value that is no number (``"auto"``) stays a category.
    """
    hparams_list = list(hparams_list)
    values: dict[str, list[str]] = {}
    first_row: dict[str, int] = {}
    for row, hp in enumerate(hparams_list):
        for key in hp:
            if is_indicator(key):
                name, value = key.split(SEPARATOR, 1)
                values.setdefault(name, []).append(value)
                first_row.setdefault(name, row)
    numeric = {name: (values[name][0], first_row[name]) for name in sorted(values)
               if all(_number_or_none(v) is not None for v in values[name])}
    for hp in hparams_list:
        for key in [k for k in hp if is_indicator(k) and k.split(SEPARATOR, 1)[0] in numeric]:
            name, value = key.split(SEPARATOR, 1)
            del hp[key]
            hp[name] = _number_or_none(value)
    return numeric


def is_seed(name: str) -> bool:
    """Whether the hyperparameter ``name`` (or the category of an indicator) is a run's seed: its last word
    (:func:`naapgnn.data.names.name_words`) is ``seed`` (``seed``, ``random_seed``, ``torchSeed``, ``PRNGSeed``,
    ``SEED``, a numbered ``seed2`` or ``seed_2``) or it ends in ``seed`` and an id (``seed_id``), unless it counts or
    switches seeds (``num_seed``, ``use_seed``; ``num_seeds`` is no seed either).
    A seed is no part of the recipe: no predictor reads it, and records that differ only in it are runs of one
    configuration (:mod:`naapgnn.data.configurations`)."""
    words = name_words(given_name(name))
    while len(words) > 1 and (words[-1].isdigit() or words[-1] in ("id", "idx", "index")):
        words = words[:-1]
    if not words or words[-1] != "seed":
        return False
    return not (len(words) > 1 and words[0] in ("num", "n", "nb", "count", "use", "fix", "fixed", "same"))


def seed_notice(hparams_list: Iterable[Mapping[str, float]], source: str) -> str:
    """A one-line warning naming the hyperparameters read as a run's seed (:func:`is_seed`); empty when none is."""
    names = sorted({given_name(key) for hp in hparams_list for key in hp if is_seed(key)})
    if not names:
        return ""
    return (f"{source}: hparams {', '.join(names)}: read as the run's seed, not a hyperparameter: no predictor reads "
            "it, and records that differ only in it are runs of one configuration (kept on one side of every split)")


def hparams_notices(hparams_list: list, source: str, lines: list) -> tuple[str, str]:
    """The file's notices on its hyperparameters: :func:`seed_notice`, :func:`case_variants_notice`."""
    return seed_notice(hparams_list, source), case_variants_notice(hparams_list, source, lines)


def case_variants_notice(hparams_list: Iterable[Mapping[str, float]], source: str, lines: Iterable[int]) -> str:
    """A one-line warning naming the categories of a hyperparameter written two ways that differ only in case or
    spaces (``"SGD"`` in one record, ``"sgd"`` in the rest): read as different categories, which a file seldom
    means; empty when there are none."""
    spellings: dict[tuple[str, str], dict[str, list[int]]] = {}
    for hp, line in zip(hparams_list, lines):
        for key, value in hp.items():
            if is_indicator(key) and value == 1:
                name, _, category = key.partition(SEPARATOR)
                spellings.setdefault((name, category.strip().casefold()), {}).setdefault(category, []).append(line)
    clashes = [(name, sorted(ways.items(), key=lambda way: -len(way[1])))
               for (name, _), ways in spellings.items() if len(ways) > 1]
    if not clashes:
        return ""
    said = "; ".join(f"{name}: " + ", ".join(f"{category!r} ({len(at)} record(s), first line {at[0]})"
                                              for category, at in ways) for name, ways in clashes)
    return (f"{source}: hparams {said}: values that differ only in case or spaces, read as different categories "
            "(write each one way)")


def number_strings_notice(hparams_list: Iterable[dict[str, float]], source: str,
                          model_names: Iterable[str] | None = None, lines: list[int] | None = None) -> str:
    """Read as numbers, in place, the names whose every string value is a number (:func:`numbers_in_strings`),
    and say so.

    Parameters
    ----------
    hparams_list : iterable of dict of str to float
        The records' hyperparameters (:func:`parse_hparams`), changed in place.
    source : str
        The file, for the message.
    model_names : iterable of str, optional
        The hyperparameters a checkpoint reads (its ``hparam_names_``): a name it reads as categories
        (``bs=64``) is not warned of, as the checkpoint reads ``"64"`` as that category (:func:`read_as`).
    lines : list of int, optional
        Each record's line in the file: the warning then names the line of each name's first value.

    Returns
    -------
    str
        A one-line warning naming the names read as numbers, each with its first value as the file writes it
        (and its line); empty when there is none to warn of.
    """
    numeric = numbers_in_strings(hparams_list)
    categories = {given_name(k) for k in model_names or () if is_indicator(k)}
    numeric = {name: value for name, value in numeric.items() if name not in categories}
    if not numeric:
        return ""
    examples = ", ".join(json.dumps(value) + ("" if lines is None else f" on line {lines[row]}")
                         for value, row in numeric.values())
    return f"{source}: hparams {', '.join(numeric)}: numbers written as strings ({examples}), read as numbers"


def read_as(hparams: Mapping[str, float], names: Iterable[str]) -> dict[str, float]:
    """``hparams`` as a model that reads ``names`` reads them, whichever way the record's file read a
    name whose values are numbers written as strings (:func:`numbers_in_strings`).

    A number (``"bs": 64``) where ``names`` hold the name as categories becomes the indicator of the category
    whose value is that number (``bs=64``; ``bs=32`` when none is, a category the model never saw); a category
    whose value is a number (``bs=64``) where ``names`` hold the name as a number becomes that number, and one
    given as null (no indicator 1) becomes a null. A record the model reads as it is comes back unchanged.
    """
    names = set(names)
    categories: dict[str, list[str]] = {}
    for key in names:
        if is_indicator(key):
            name, value = key.split(SEPARATOR, 1)
            categories.setdefault(name, []).append(value)
    out = dict(hparams)
    for key, value in hparams.items():
        if not is_indicator(key) and key in categories and key not in names and not math.isnan(value):
            del out[key]
            match = sorted(v for v in categories[key] if _number_or_none(v) == value)
            out[f"{key}{SEPARATOR}{match[0] if match else f'{value:g}'}"] = 1.0
    for name in given_names(hparams) & names - set(hparams) - set(categories):
        given = [k.split(SEPARATOR, 1)[1] for k, v in hparams.items() if k.startswith(name + SEPARATOR) and v == 1.0]
        number = _number_or_none(given[0]) if given else math.nan
        if number is not None:  # a category that is no number ("auto") stays one: the model misses the name
            for k in [k for k in out if k.startswith(name + SEPARATOR)]:
                del out[k]
            out[name] = number
    return out


def _number_or_none(text: str) -> float | None:
    """``text`` as a finite number within :data:`MAX_MAGNITUDE`, or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) <= MAX_MAGNITUDE else None


def hparam_value(hparams: Mapping[str, float], name: str) -> float:
    """The value of ``name`` in ``hparams``: 0 for a category indicator when the record gives that
    category another value, NaN when the record does not give it at all."""
    if name in hparams:
        return float(hparams[name])
    if is_indicator(name) and name.split(SEPARATOR, 1)[0] in given_names(hparams):
        return 0.0
    return math.nan


def hparams_to_json(hparams: Mapping[str, float]) -> dict[str, Any]:
    """The JSON form of numeric hyperparameters: each category back to ``name: value``."""
    out: dict[str, Any] = {}
    for key, value in hparams.items():
        if not is_indicator(key):
            out[key] = None if math.isnan(value) else value
        else:
            name, category = key.split(SEPARATOR, 1)
            if value == 1.0:
                out[name] = category
            else:
                out.setdefault(name, None)  # null unless an indicator of it is 1
    return out


def same_hparams(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    """Whether two records' hyperparameters are equal, a null (NaN) equal to a null."""
    return a.keys() == b.keys() and all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def not_applicable(hparams: Mapping[str, float], name: str) -> bool:
    """Whether the record gives ``name`` as null (a category: the name given, with no indicator 1)."""
    if not is_indicator(name):
        return name in hparams and math.isnan(hparams[name])
    base = given_name(name)
    return base in given_names(hparams) and not any(v == 1.0 for k, v in hparams.items()
                                                     if k.startswith(base + SEPARATOR))

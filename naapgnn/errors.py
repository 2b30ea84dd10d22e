"""The one exception type that user-facing code raises for bad input, and its warning types."""


class NaapgnnError(ValueError):
    """Bad input or an unusable resource, described in one line.

    The message names what is wrong and where (file, line, row, column or
    layer index). The command-line interface prints it without a traceback.
    """


class TooFewRecordsError(NaapgnnError):
    """Too few training records for a model to fit: where a command sets their number (a search's ``--warmup`` or
    ``--n-train``), that option is at fault, and the command names it."""


class NaapgnnWarning(UserWarning):
    """Input read in a way the user should know of (a diverged run's non-finite curve values, say), in one
    line; the command-line interface prints it as ``naapgnn COMMAND: warning: ...``."""


class TrainingRecordsWarning(NaapgnnWarning):
    """A :class:`NaapgnnWarning` about the records a model is fitted on, raised where their file is not known;
    the command-line interface names the file it read them from (``--data``)."""


def invalid_lines(name: str, problems: list, listed: int = 10) -> str:
    """One line for a file's invalid records: the first ``(line, message)`` of ``problems`` in full, then how many
    more and their lines (at most ``listed`` of them)."""
    lineno, message = problems[0]
    out = f"{name} line {lineno}: {message}"
    rest = [n for n, _ in problems[1:]]
    if rest:
        shown = ", ".join(str(n) for n in rest[:listed]) + (", ..." if len(rest) > listed else "")
        noun = "record" if len(rest) == 1 else "records"
        out += f"; and {len(rest)} more invalid {noun} (line{'s' if len(rest) > 1 else ''} {shown})"
    return out


def unknown_fields(names, what: str = "field") -> str:
    """``unknown field 'a'``, or ``unknown fields 'a', 'b'`` (``what``: another noun, ``top-level field``): every one
    at once, so that a file of several is mended in one pass, not one rerun per field."""
    names = sorted(names)
    return f"unknown {what}{'s' if len(names) > 1 else ''} {', '.join(map(repr, names))}"


def as_written(value) -> str:
    """A decoded JSON value as a file writes it, for messages: ``null``, ``true``, ``false``, ``NaN``, ``Infinity``,
    a string quoted; anything else as its ``repr``."""
    import json
    import math

    if value is None or isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        return json.dumps(value)
    return repr(value)

"""The one exception type that user-facing code raises for bad input."""


class NaapgnnError(ValueError):
    """Bad input or an unusable resource, described in one line.

    The message names what is wrong and where (file, line, row, column or
    layer index). The command-line interface prints it without a traceback.
    """

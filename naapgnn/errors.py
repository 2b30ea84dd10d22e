"""The one exception type that user-facing code raises for bad input, and the one warning type."""


class NaapgnnError(ValueError):
    """Bad input or an unusable resource, described in one line.

    The message names what is wrong and where (file, line, row, column or
    layer index). The command-line interface prints it without a traceback.
    """


class NaapgnnWarning(UserWarning):
    """Input read in a way the user should know of (a diverged run's non-finite curve values, say), in one
    line; the command-line interface prints it as ``naapgnn COMMAND: warning: ...``."""

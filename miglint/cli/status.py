"""Exit status and the usage error, shared by every command and the git helpers."""

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class UsageError(Exception):
    """A command line that cannot be carried out (exit status 2)."""

"""Command line: arguments to a run, its output and its exit status.

Takes `sys.argv` (and, for `--diff BASE` and MIG006, the git repository around the paths).
Gives `main` (the `miglint` console script: argument parsing, `check` and `rules`, the
output written once, the exit status), `status` (exit codes and the usage error),
`commands` (the other subcommands, one module each, imported only when named), `gitdiff`
and `gitshow` (what changed since a git ref, and the files as they were there) and
`djangocheck` (`--django-check`, the one place that runs the project's own code).
"""

from miglint.cli.main import main

__all__ = ["main"]

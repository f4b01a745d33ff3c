"""`miglint cache clear [PATH]`: remove the project's cache.

Removes `.miglint_cache/` in the project root and the project's folder under
`$XDG_CACHE_HOME/miglint/projects/` (used when the tree is read-only); only folders that
miglint made (they hold its CACHEDIR.TAG) are removed.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

DESCRIPTION = """\
Remove miglint's cache for the project at PATH (default: .): the `.miglint_cache/`
folder in the project root (the folder of the config file, else PATH) and the project's
folder under $XDG_CACHE_HOME/miglint (default ~/.cache/miglint). The cache is rebuilt on
the next run; `miglint check --no-cache` runs without it.
"""


def register(subparsers: Any) -> Any:
    parser = subparsers.add_parser(
        "cache",
        help="manage the cache (`miglint cache clear`)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=("clear",), help="what to do: clear")
    parser.add_argument("path", nargs="?", default=".", metavar="PATH", help="default: .")
    parser.add_argument("--config", metavar="FILE", help="config file (locates the root)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="tracebacks of errors")
    return run


def run(args: argparse.Namespace) -> int:
    from miglint.cli.main import resolve_config
    from miglint.cli.status import EXIT_OK
    from miglint.project.load import PathError
    from miglint.run.cache import cache_dirs, clear_directory

    if not os.path.isdir(args.path):
        raise PathError(f"{args.path}: no such folder")
    config = resolve_config(args, [args.path])
    for directory in cache_dirs(config.path, [args.path], os.environ):
        if clear_directory(directory) and not args.quiet:
            print(f"removed {directory}", file=sys.stderr)
    return EXIT_OK

"""What the renderers share: paths as the user sees them, and counts per severity."""

from __future__ import annotations

import os

from miglint.core.finding import Finding


def display_path(path: str) -> str:
    """`path` relative to the current directory, with forward slashes."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        relative = path
    return relative.replace(os.sep, "/")


class DisplayPaths:
    """display_path for many findings at once: the current folder is asked once, each path
    worked out once, and a plain path below the current folder is just cut."""

    def __init__(self) -> None:
        self.prefix = os.path.join(os.getcwd(), "")
        self.shown: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        shown = self.shown.get(path)
        if shown is None:
            if path.startswith(self.prefix) and os.path.normpath(path) == path:
                shown = path[len(self.prefix) :].replace(os.sep, "/")
            else:
                shown = display_path(path)
            self.shown[path] = shown
        return shown


def counts(findings: list[Finding]) -> dict[str, int]:
    result = {"error": 0, "warning": 0, "info": 0}
    for finding in findings:
        result[str(finding.severity)] += 1
    return result

"""Renderers: each turns a list of findings into text for one output format."""

from __future__ import annotations

import os
from collections.abc import Callable

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


def _text(findings: list[Finding]) -> str:
    from miglint.report import text

    return text.render(findings)


def _json(findings: list[Finding]) -> str:
    from miglint.report import json

    return json.render(findings)


def _github(findings: list[Finding]) -> str:
    from miglint.report import github

    return github.render(findings)


def _sarif(findings: list[Finding]) -> str:
    from miglint.report import sarif

    return sarif.render(findings)


def _markdown(findings: list[Finding]) -> str:
    from miglint.report import markdown

    return markdown.render(findings)


# `--format` names (kept apart so that parsing the command line imports no renderer).
FORMAT_NAMES = ("text", "json", "github", "sarif", "markdown")
# `--format` name -> renderer. Each renderer is a small module in this package.
FORMATS: dict[str, Callable[[list[Finding]], str]] = {
    "text": _text,
    "json": _json,
    "github": _github,
    "sarif": _sarif,
    "markdown": _markdown,
}

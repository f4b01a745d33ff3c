"""Renderers: each turns a list of findings into text for one output format."""

from __future__ import annotations

import os
from collections.abc import Callable

from miglint.finding import Finding


def display_path(path: str) -> str:
    """`path` relative to the current directory, with forward slashes."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        relative = path
    return relative.replace(os.sep, "/")


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


# `--format` name -> renderer. Each renderer is a small module in this package.
FORMATS: dict[str, Callable[[list[Finding]], str]] = {
    "text": _text,
    "json": _json,
    "github": _github,
    "sarif": _sarif,
    "markdown": _markdown,
}

"""`--format` names and their renderers; a renderer's module is imported only when used."""

from __future__ import annotations

from collections.abc import Callable

from miglint.core.finding import Finding


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

"""The one diagnostic type every rule produces and every reporter renders."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (use error, warning or info)") from None


# How sure a fix is, as in ruff: a safe fix keeps the migration's meaning; an unsafe one
# changes behaviour the author must confirm (`--unsafe-fixes`).
SAFE = "safe"
UNSAFE = "unsafe"


@dataclass(frozen=True)
class TextEdit:
    """Replace the text from (line, column) up to (end_line, end_column) of `path` (1-based,
    end exclusive, columns in characters) with `content`. An empty range inserts; an
    insertion at 1:1 of a path that does not exist creates that file with `content`."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    content: str


@dataclass(frozen=True)
class Edit:
    """A fix for a finding: text edits that are applied together, or not at all."""

    applicability: str
    message: str
    edits: tuple[TextEdit, ...]

    @property
    def safe(self) -> bool:
        return self.applicability == SAFE


@dataclass(frozen=True)
class Finding:
    code: str
    rule: str
    severity: Severity
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    app: str | None = None
    migration: str | None = None
    fix: str | None = None
    # What `--fix` would change, when the rule can fix it (attached by miglint.fixes).
    edit: Edit | None = None

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.code, self.message)

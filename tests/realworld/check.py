"""Print the invariant violations of miglint's findings on a corpus, as Markdown.

    python -m tests.realworld.check                    # the committed corpus
    python -m tests.realworld.check /work/corpus/src   # any folder of projects

One line per violation: project, path:line, codes, why. Exit status 1 when there is any.
The same checks run in tests/realworld/test_corpus.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.realworld import corpus
from tests.realworld.invariants import Violation, by_invariant, check_project


def violations_of(root: Path, home: Path) -> dict[str, list[Violation]]:
    env = corpus.isolated_env(home)
    found: dict[str, list[Violation]] = {}
    for project in corpus.projects(root):
        result = corpus.check(project, env)
        try:
            findings = result.json()
        except ValueError:
            message = (result.stderr.strip().splitlines() or ["no output"])[-1]
            found[project.name] = [Violation("output", ".", 0, (), f"not JSON: {message}")]
            continue
        found[project.name] = check_project(project, findings, corpus.graph(project, env))
    return found


def markdown(found: dict[str, list[Violation]]) -> str:
    lines = []
    everything = [(name, v) for name, vs in found.items() for v in vs]
    counts = {invariant: len(group) for invariant, group in by_invariant(v for _, v in everything)}
    lines.append(
        "Totals: "
        + (", ".join(f"{k} {v}" for k, v in counts.items()) if counts else "no violations")
    )
    for invariant, _ in by_invariant(v for _, v in everything):
        lines.append("")
        lines.append(f"## {invariant}")
        lines.append("")
        for name, violation in everything:
            if violation.invariant == invariant:
                lines.append(
                    f"- {name}: {violation.path}:{violation.line} {','.join(violation.codes)}: "
                    f"{violation.why}"
                )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, help="a folder of projects")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        root = args.folder or corpus.unpack(Path(scratch) / "corpus")
        found = violations_of(root, Path(scratch))
    sys.stdout.write(markdown(found))
    return 1 if any(found.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

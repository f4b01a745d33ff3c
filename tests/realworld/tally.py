"""Print miglint's findings per project and code on a corpus, as a Markdown table.

    python -m tests.realworld.tally                    # the committed corpus
    python -m tests.realworld.tally /work/corpus/src   # any folder of projects
    python -m tests.realworld.tally --save DIR         # also keep each project's JSON

Each row is one project (`miglint . --format json --no-cache` from its folder): exit
status, findings, errors, then the count of each code; the last row adds them up. Run it
before and after a change to record what the change did to real projects.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

from tests.realworld import corpus


def tally(root: Path, home: Path, save: Path | None = None) -> str:
    env = corpus.isolated_env(home)
    rows: list[tuple[str, str, Counter[str], int]] = []
    for project in corpus.projects(root):
        result = corpus.check(project, env)
        try:
            findings = result.json()
        except ValueError:
            rows.append((project.name, f"{result.returncode} (no JSON)", Counter(), 0))
            continue
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            (save / f"{project.name}.json").write_text(json.dumps(findings, indent=1))
        errors = sum(1 for f in findings if f["severity"] == "error")
        rows.append(
            (project.name, str(result.returncode), Counter(f["code"] for f in findings), errors)
        )
    codes = sorted({code for _, _, counts, _ in rows for code in counts})
    total: Counter[str] = Counter()
    for _, _, counts, _ in rows:
        total.update(counts)
    lines = [
        "| project | exit | findings | errors | " + " | ".join(codes) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(codes),
    ]
    for name, status, counts, errors in rows:
        cells = [str(counts[code]) if counts[code] else "" for code in codes]
        lines.append(
            f"| {name} | {status} | {sum(counts.values())} | {errors} | " + " | ".join(cells) + " |"
        )
    errors_total = sum(errors for *_, errors in rows)
    lines.append(
        f"| **total** | | {sum(total.values())} | {errors_total} | "
        + " | ".join(str(total[code]) for code in codes)
        + " |"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, help="a folder of projects")
    parser.add_argument("--save", type=Path, help="write each project's findings here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        root = args.folder or corpus.unpack(Path(scratch) / "corpus")
        sys.stdout.write(tally(root, Path(scratch), args.save))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The Markdown report of a run: the job summary, also the check run's summary.

Counts per severity, a table of findings linked to their lines, and for each app whose
graph has conflicting leaves a Mermaid picture of its tail, so the two branches show.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from miglint.core.finding import Finding
from miglint.graph.graph import MigrationGraph
from miglint.graph.nodes import NodeKey
from miglint.project.load import Project
from miglint.report import markdown

# Past this many steps back from a leaf, the tail is cut (with a note): enough to see a fork.
TAIL_DEPTH = 12
TABLE_ROWS = 500
CONFLICT_CODE = "MIG001"


@dataclass(frozen=True)
class Links:
    """Where the files are on GitHub: `{server}/{repository}/blob/{sha}/{path}#L1-L2`."""

    server_url: str
    repository: str
    sha: str

    def __call__(self, finding: Finding, path: str) -> str:
        end = f"-L{finding.end_line}" if finding.end_line > finding.line else ""
        quoted = urllib.parse.quote(path, safe="/")
        return f"{self.server_url}/{self.repository}/blob/{self.sha}/{quoted}#L{finding.line}{end}"


def _mermaid_label(text: str) -> str:
    """A Mermaid node label: anything but plain name characters as an entity code."""
    return re.sub(r"[^A-Za-z0-9_.\- ]", lambda m: f"#{ord(m.group())};", text)


def conflict_tail(graph: MigrationGraph, app_key: str) -> tuple[list[NodeKey], bool]:
    """The app's migrations from the last common ancestor(s) of its leaves down to them.

    Also whether the picture was cut at TAIL_DEPTH steps from the leaves.
    """
    leaves = graph.leaf_nodes(app_key)
    lineages = [{key for key in graph.forwards_plan(leaf) if key[0] == app_key} for leaf in leaves]
    common = set.intersection(*lineages) if lineages else set()
    branches = set.union(*lineages) - common if lineages else set()
    forks = {key for key in common if any(c in branches for c in graph.children.get(key, ()))}
    # Distance from the nearest leaf, walking to parents within the tail.
    distance = {leaf: 0 for leaf in leaves}
    frontier = list(leaves)
    while frontier:
        following = []
        for key in frontier:
            for parent in graph.parents.get(key, ()):
                if parent in branches | forks and parent not in distance:
                    distance[parent] = distance[key] + 1
                    following.append(parent)
        frontier = following
    shown = sorted(key for key, steps in distance.items() if steps < TAIL_DEPTH)
    return shown, len(shown) < len(distance)


def mermaid(graph: MigrationGraph, app_key: str) -> str:
    nodes, cut = conflict_tail(graph, app_key)
    ids = {key: f"m{i}" for i, key in enumerate(nodes)}
    leaves = set(graph.leaf_nodes(app_key))
    lines = ["```mermaid", "flowchart TD"]
    lines += [f'    {ids[key]}["{_mermaid_label(key[1])}"]' for key in nodes]
    for child in nodes:
        for parent in sorted(graph.parents.get(child, ())):
            if parent in ids:
                lines.append(f"    {ids[parent]} --> {ids[child]}")
    lines.append("    classDef leaf fill:#fde2e1,stroke:#d1242f,stroke-width:2px")
    lines.append(f"    class {','.join(ids[key] for key in nodes if key in leaves)} leaf")
    lines.append("```")
    note = f"\nOnly the last {TAIL_DEPTH} migrations of each branch are shown.\n" if cut else ""
    return "\n".join(lines) + "\n" + note


def conflict_sections(findings: Sequence[Finding], project: Project) -> list[str]:
    paths = {f.path for f in findings if f.code == CONFLICT_CODE}
    app_keys = sorted({m.app_key for m in project.migrations if m.path in paths})
    sections = []
    for app_key in app_keys:
        leaves = project.graph.leaf_nodes(app_key)
        if len(leaves) < 2:
            continue
        label = project.graph.nodes[leaves[0]].app
        names = ", ".join(markdown.escape(key[1]) for key in leaves)
        sections.append(
            f"### Conflicting migrations in {markdown.escape(label)}\n\n"
            f"{len(leaves)} leaf migrations ({names}) branch off the same history; "
            f"`python manage.py makemigrations --merge {markdown.escape(label)}` joins them.\n\n"
            + mermaid(project.graph, app_key)
        )
    return sections


def render(
    rows: Sequence[tuple[Finding, str]],
    project: Project | None,
    *,
    links: Links | None,
    notes: Sequence[str] = (),
    sections: Sequence[str] = (),
    max_chars: int | None = None,
) -> str:
    """The report for `(finding, path relative to the repository)` rows.

    With `max_chars` (GitHub limits a check run's summary), the table is shortened to fit.
    """
    findings = [finding for finding, _ in rows]
    head = [
        "## miglint",
        f"**{markdown.headline(findings)}**",
        markdown.counts_table(findings),
        *notes,
    ]
    graphs = conflict_sections(findings, project) if project is not None else []
    limit = min(len(rows), TABLE_ROWS)
    while True:
        table = markdown.findings_table(list(rows), links, limit=limit)
        blocks = [*head, "### Findings\n\n" + table if table else "", *sections, *graphs]
        text = "\n\n".join(block.strip("\n") for block in blocks if block) + "\n"
        if max_chars is None or len(text) <= max_chars:
            return text
        if limit > 0:
            limit //= 2
        elif graphs:
            graphs = []
        else:
            return text[: max_chars - 2] + "…\n"

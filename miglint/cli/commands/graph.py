"""`miglint graph [PATH] [--app APP] [--format text|mermaid|json]`: the static
`showmigrations --plan`.

The order is Django's: the forwards plan of every leaf (of APP's leaves with `--app`), each
migration once. Squashed migrations stand in for the migrations they replace, as they do
for `migrate` on a new database; leaves are marked and an app with several leaves (a
conflict `migrate` refuses) is highlighted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

from miglint.graph.nodes import Migration, NodeKey
from miglint.project.load import Project
from miglint.report.common import display_path

DESCRIPTION = """\
Print the migration graph without Django: like `manage.py showmigrations --plan -v 2`, the
migrations in the order `migrate` applies them with their dependencies; squashes shown,
leaves marked, conflicting leaves highlighted. `--format mermaid` renders on GitHub.
"""


def register(subparsers: Any) -> Any:
    parser = subparsers.add_parser(
        "graph",
        help="the migration graph in migrate order (text, mermaid, json)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", nargs="?", default=".", metavar="PATH", help="default: .")
    parser.add_argument("--app", metavar="APP", help="only this app (and what it depends on)")
    parser.add_argument("--format", choices=("text", "mermaid", "json"), default="text")
    parser.add_argument("--config", metavar="FILE", help="config file (for excludes)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    parser.add_argument("-v", "--verbose", action="store_true", help="tracebacks of errors")
    return run


def run(args: argparse.Namespace) -> int:
    from miglint.cli.main import load
    from miglint.cli.status import EXIT_OK, UsageError

    args.paths = [args.path]
    project, _ = load(args)
    if args.app is not None and args.app not in _labels(project):
        known = ", ".join(sorted(_labels(project))) or "none found"
        raise UsageError(f"unknown app {args.app!r} (apps with migrations: {known})")
    if args.format == "json":
        output = render_json(project, args.app)
    elif args.format == "mermaid":
        output = render_mermaid(project, args.app)
    else:
        output = render_text(project, args.app)
    sys.stdout.write(output)
    sys.stdout.flush()
    return EXIT_OK


def _labels(project: Project) -> dict[str, str]:
    """App label -> app key, for the apps whose key is their label."""
    return {app.label: app.key for app in project.apps if app.key == app.label}


def plan_order(project: Project, app: str | None = None) -> list[NodeKey]:
    """Every migration in `showmigrations --plan` order (APP's leaves and their ancestors)."""
    graph = project.graph
    leaves = [key for key in graph.leaf_nodes() if app is None or key[0] == app]
    order: list[NodeKey] = []
    seen: set[NodeKey] = set()
    for leaf in leaves:
        for key in graph.forwards_plan(leaf):
            if key not in seen:
                seen.add(key)
                order.append(key)
    return order


def _conflicted(project: Project) -> set[str]:
    return {key for key in project.graph.app_keys() if len(project.graph.leaf_nodes(key)) > 1}


def _external(migration: Migration, project: Project) -> list[tuple[str, str]]:
    """Declared dependencies on apps outside the scanned tree (`auth`, third-party apps)."""
    labels = _labels(project)
    found = []
    for dependency in migration.facts.dependencies:
        app = dependency.app if dependency.app is not None else f"settings.{dependency.setting}"
        if app != migration.app and app not in labels:
            found.append((app, dependency.name))
    return found


def dependencies(key: NodeKey, project: Project) -> list[tuple[str, str]]:
    """The graph's parents of `key` (after squash replacement), then out-of-tree ones."""
    graph = project.graph
    parents = [(graph.nodes[p].app, p[1]) for p in sorted(graph.parents[key]) if p in graph.nodes]
    return parents + _external(graph.nodes[key], project)


def render_text(project: Project, app: str | None = None) -> str:
    graph = project.graph
    order = plan_order(project, app)
    if not order:
        return "(no migrations)\n"
    conflicted = _conflicted(project)
    leaves = set(graph.leaf_nodes())
    lines = []
    for key in order:
        migration = graph.nodes[key]
        marks = []
        if migration.facts.replaces:
            marks.append(f"squashes {len(migration.facts.replaces)}")
        if key in leaves:
            marks.append("CONFLICT: leaf" if key[0] in conflicted else "leaf")
        deps = ", ".join(
            a if a.startswith("settings.") else f"{a}.{n}" for a, n in dependencies(key, project)
        )
        line = f"{'!' if key in leaves and key[0] in conflicted else ' '} {migration.label}"
        if deps:
            line += f" ... ({deps})"
        if marks:
            line += f"  [{', '.join(marks)}]"
        lines.append(line)
        if migration.facts.replaces:
            replaced = ", ".join(f"{d.app}.{d.name}" for d in migration.facts.replaces)
            lines.append(f"      replaces {replaced}")
    for app_key in sorted(conflicted):
        if app is not None and app_key != app:
            continue
        names = ", ".join(name for _, name in graph.leaf_nodes(app_key))
        lines.append("")
        lines.append(
            f"Conflict: app {app_key!r} has {len(graph.leaf_nodes(app_key))} leaf migrations "
            f"({names}); run `python manage.py makemigrations --merge {app_key}`."
        )
    return "\n".join(lines) + "\n"


def render_json(project: Project, app: str | None = None) -> str:
    graph = project.graph
    apps: dict[str, Any] = {}
    for candidate in sorted(project.apps, key=lambda a: a.label):
        if candidate.key != candidate.label or (app is not None and candidate.label != app):
            continue
        nodes = []
        for key in graph.app_order(candidate.key):
            migration = graph.nodes[key]
            nodes.append(
                {
                    "name": migration.name,
                    "path": display_path(migration.path),
                    "dependencies": [list(d) for d in dependencies(key, project)],
                    "replaces": [
                        [d.app if d.app is not None else "", d.name]
                        for d in migration.facts.replaces
                    ],
                    "squash": bool(migration.facts.replaces),
                }
            )
        apps[candidate.label] = {
            "path": display_path(candidate.path),
            "nodes": nodes,
            "leaves": [name for _, name in graph.leaf_nodes(candidate.key)],
        }
    return json.dumps({"apps": apps}, indent=2, ensure_ascii=False) + "\n"


def _mermaid_label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def render_mermaid(project: Project, app: str | None = None) -> str:
    """A Mermaid flowchart (GitHub renders it in Markdown): one subgraph per app."""
    graph = project.graph
    order = plan_order(project, app)
    ids = {key: f"m{index}" for index, key in enumerate(order)}
    conflicted = _conflicted(project)
    leaves = set(graph.leaf_nodes())
    lines = ["flowchart TD"]
    by_app: dict[str, list[NodeKey]] = {}
    for key in order:
        by_app.setdefault(key[0], []).append(key)
    for index, (_, keys) in enumerate(sorted(by_app.items())):
        label = graph.nodes[keys[0]].app
        lines.append(f"  subgraph app{index}[{_mermaid_label(label)}]")
        for key in keys:
            migration = graph.nodes[key]
            text = migration.name
            if migration.facts.replaces:
                text += f" (squashes {len(migration.facts.replaces)})"
                lines.append(f"    {ids[key]}[[{_mermaid_label(text)}]]")
            else:
                lines.append(f"    {ids[key]}[{_mermaid_label(text)}]")
        lines.append("  end")
    lines.extend(_edges(order, ids, project))
    leaf_ids = [ids[k] for k in order if k in leaves and k[0] not in conflicted]
    conflict_ids = [ids[k] for k in order if k in leaves and k[0] in conflicted]
    lines.append("  classDef leaf stroke-width:3px")
    lines.append("  classDef conflict fill:#fdd,stroke:#c00,stroke-width:3px")
    if leaf_ids:
        lines.append(f"  class {','.join(leaf_ids)} leaf")
    if conflict_ids:
        lines.append(f"  class {','.join(conflict_ids)} conflict")
    return "\n".join(lines) + "\n"


def _edges(order: list[NodeKey], ids: dict[NodeKey, str], project: Project) -> Iterator[str]:
    for key in order:
        for parent in sorted(project.graph.parents[key]):
            if parent in ids:
                yield f"  {ids[parent]} --> {ids[key]}"

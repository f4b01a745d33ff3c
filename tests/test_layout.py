"""The package's layout: no import cycle, and imports that flow one way along the pipeline.

The import graph is read from the source with `ast`: every import statement anywhere in a
module counts (also inside functions, and also under `if TYPE_CHECKING:`, which is not left
out), and `from miglint.x import y` is an edge to the module `miglint.x.y` when `y` is a
module, else to `miglint.x`. Importing `miglint.x.y` also runs the package `miglint.x`'s
`__init__`; that is not counted as an edge (those files hold docstrings and re-exports).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "miglint"

# The stages, lowest first: a module may import modules of its own stage and of the stages
# before it, never of a later one. A module belongs to the stage of the longest prefix
# listed here that names it; `miglint` names the package's own `__init__` only, so a new
# module at the top fails until it is given a stage (`miglint.docs` is the rule pages' generator, run as
# `python -m miglint.docs`; `miglint.__main__` is `python -m miglint`).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("miglint", "miglint.core")),
    ("source", ("miglint.source",)),
    ("sql", ("miglint.sql",)),
    ("graph", ("miglint.graph",)),
    ("project", ("miglint.project",)),
    ("state", ("miglint.state",)),
    ("fixes", ("miglint.fixes",)),
    ("rules", ("miglint.rules",)),
    ("run", ("miglint.run",)),
    ("report", ("miglint.report", "miglint.docs")),
    ("cli", ("miglint.cli", "miglint.__main__")),
    ("github", ("miglint.github",)),
)
# Imports that the stage order allows but the design does not: (importer prefix, imported
# prefix, why). Rules read facts, never files; reporters render findings, never source.
FORBIDDEN: tuple[tuple[str, str, str], ...] = (
    ("miglint.rules", "miglint.core.inputs", "rules never read files"),
    ("miglint.rules", "miglint.source.pysource", "rules never read files"),
    ("miglint.report", "miglint.source", "reporters never see source"),
    ("miglint.report", "miglint.project", "reporters never see source"),
    ("miglint.report", "miglint.graph", "reporters never see source"),
    ("miglint.report", "miglint.state", "reporters never see source"),
)


def module_files(package: Path, name: str) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = [name, *path.relative_to(package).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def import_graph(package: Path, name: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (see the module docstring)."""
    modules = module_files(package, name)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        own_package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = alias.name
                    while target and target not in modules:
                        target = target.rpartition(".")[0]
                    if target:
                        imported.add(target)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = own_package.split(".")
                    base = base[: len(base) - node.level + 1]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                for alias in node.names:
                    if f"{source}.{alias.name}" in modules:
                        imported.add(f"{source}.{alias.name}")
                    elif source in modules:
                        imported.add(source)
        imported.discard(module)
        graph[module] = imported
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that ends where it starts, or None."""
    state: dict[str, str] = {}  # "open" while on the current path, then "done"
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return None


def stage_of(module: str, layers: Sequence[tuple[str, tuple[str, ...]]]) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, stage index)
    for index, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            # The top package's name (no dot) names its `__init__` only.
            names = module == prefix or ("." in prefix and module.startswith(prefix + "."))
            if names and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def wrong_way_imports(
    graph: Mapping[str, set[str]],
    layers: Sequence[tuple[str, tuple[str, ...]]],
    forbidden: Sequence[tuple[str, str, str]] = (),
) -> list[str]:
    """One line per import against the stage order or a forbidden pair."""
    problems = []
    for module in sorted(graph):
        stage = stage_of(module, layers)
        if stage is None:
            problems.append(f"{module} is in no stage: add it to LAYERS")
            continue
        for target in sorted(graph[module]):
            target_stage = stage_of(target, layers)
            if target_stage is not None and target_stage > stage:
                problems.append(
                    f"{module} ({layers[stage][0]}) imports {target} "
                    f"({layers[target_stage][0]}), a later stage"
                )
            for importer, imported, why in forbidden:
                if (module == importer or module.startswith(importer + ".")) and (
                    target == imported or target.startswith(imported + ".")
                ):
                    problems.append(f"{module} imports {target}: {why}")
    return problems


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph(PACKAGE, "miglint"))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_imports_flow_one_way_along_the_pipeline() -> None:
    problems = wrong_way_imports(import_graph(PACKAGE, "miglint"), LAYERS, FORBIDDEN)
    assert problems == [], "\n".join(problems)


def test_every_stage_package_says_what_it_takes_and_gives() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "Takes" in docstring and "Gives" in docstring, init.parent.name


def write_package(root: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    package = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "low/__init__.py": "",
            "low/a.py": "from pkg.low.b import thing\n",
            "low/b.py": "def thing():\n    from pkg.low import a\n",
            "c.py": "from . import d\n",
            "d.py": "",
        },
    )
    graph = import_graph(package, "pkg")
    assert graph["pkg.c"] == {"pkg.d"}
    assert find_cycle(graph) == ["pkg.low.a", "pkg.low.b", "pkg.low.a"]


def test_an_import_from_a_later_stage_or_a_forbidden_one_is_named(tmp_path: Path) -> None:
    package = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "early.py": "import pkg.late\n",
            "late.py": "from pkg import early\n",
            "reader.py": "",
            "rule.py": "from pkg.reader import read\n",
            "stray.py": "",
        },
    )
    layers = (("early", ("pkg", "pkg.early", "pkg.reader")), ("late", ("pkg.late", "pkg.rule")))
    forbidden = (("pkg.rule", "pkg.reader", "rules never read files"),)
    assert wrong_way_imports(import_graph(package, "pkg"), layers, forbidden) == [
        "pkg.early (early) imports pkg.late (late), a later stage",
        "pkg.rule imports pkg.reader: rules never read files",
        "pkg.stray is in no stage: add it to LAYERS",
    ]

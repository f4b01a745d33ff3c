"""The migration graph, built from parsed facts the way Django's MigrationLoader builds it.

Nothing is applied (there is no database), so every squashed migration whose replaced
migrations are all or none on disk replaces them, as `migrate` on a fresh database would.
Dependencies on apps that are not in the scanned tree (`auth`, third-party apps) are
outside the graph, not errors.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from miglint.graph.nodes import Migration, NodeKey
from miglint.source.facts import Dependency


@dataclass(frozen=True)
class MissingDependency:
    """`migration` names `target`, which is not on disk (nor replaced by a squash)."""

    migration: Migration
    dependency: Dependency
    target: NodeKey
    # "dependencies" or "run_before"
    via: str


@dataclass(frozen=True)
class SquashProblem:
    """A squashed migration Django's loader rejects, or rejects on some runs.

    `migration` is where to report it, at `dependency` when one entry is the cause."""

    migration: Migration
    message: str
    # Django's loader stops on it (NodeNotFoundError) rather than possibly resolving it.
    fatal: bool = False
    dependency: Dependency | None = None


@dataclass
class MigrationGraph:
    nodes: dict[NodeKey, Migration] = field(default_factory=dict)
    parents: dict[NodeKey, set[NodeKey]] = field(default_factory=dict)
    children: dict[NodeKey, set[NodeKey]] = field(default_factory=dict)
    missing: list[MissingDependency] = field(default_factory=list)
    cycles: list[tuple[NodeKey, ...]] = field(default_factory=list)
    squash_problems: list[SquashProblem] = field(default_factory=list)
    # Squashed migrations that depend on themselves once they replace their migrations (a
    # cycle of one that a squash problem explains).
    squash_loops: set[NodeKey] = field(default_factory=set)
    # Squashed migrations that replace some of the same migrations as another squash (a
    # second leaf that a squash problem explains).
    overlapping_squashes: set[NodeKey] = field(default_factory=set)
    # Replaced migration -> the squashed migration that stands in for it.
    replaced_by: dict[NodeKey, NodeKey] = field(default_factory=dict)
    # Every migration on disk, replaced ones included.
    disk: dict[NodeKey, Migration] = field(default_factory=dict)
    # App key -> the label its own migrations call it by, when that is not the label
    # discovery read (an AppConfig.label set where miglint cannot see it).
    own_labels: dict[str, str] = field(default_factory=dict)
    # Indexes filled by `build_graph` (see `index`) so that per-app questions on a large
    # graph cost the app's size, not the graph's: each app's nodes, and for each node the
    # apps among its ancestors (itself included) as a bit mask (-1: unknown, in a cycle).
    app_nodes: dict[str, list[NodeKey]] = field(default_factory=dict, repr=False, compare=False)
    upstream_apps: dict[NodeKey, int] = field(default_factory=dict, repr=False, compare=False)
    app_bits: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    # len(nodes) when indexed; a graph changed since then is scanned in full.
    indexed_size: int = field(default=-1, repr=False, compare=False)
    # app_order's answers since `index`: several rules ask for every app's order.
    app_orders: dict[str, tuple[NodeKey, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def index(self) -> None:
        """Build the per-app indexes; call again after changing the graph."""
        self.app_nodes = {}
        for key in sorted(self.nodes):
            self.app_nodes.setdefault(key[0], []).append(key)
        self.app_bits = {app: 1 << i for i, app in enumerate(sorted(self.app_nodes))}
        # Kahn's order: a node's mask is ready once all its parents' are; nodes left over
        # sit in or after a cycle and keep -1 (every app), which only disables skipping.
        pending = {key: len(self.parents.get(key, ())) for key in self.nodes}
        ready = [key for key, count in pending.items() if count == 0]
        masks = {key: self.app_bits[key[0]] for key in self.nodes}
        while ready:
            key = ready.pop()
            for child in self.children.get(key, ()):
                if child in pending:
                    masks[child] |= masks[key]
                    pending[child] -= 1
                    if pending[child] == 0:
                        ready.append(child)
            del pending[key]
        for key in pending:
            masks[key] = -1
        self.upstream_apps = masks
        self.app_orders = {}
        self.indexed_size = len(self.nodes)

    def _candidates(self, app: str | None) -> Iterable[NodeKey]:
        if app is None:
            return self.nodes
        if self.indexed_size == len(self.nodes):
            return self.app_nodes.get(app, ())
        return (key for key in self.nodes if key[0] == app)

    def app_keys(self) -> list[str]:
        return sorted({key[0] for key in self.nodes})

    def leaf_nodes(self, app: str | None = None) -> list[NodeKey]:
        """Nodes with no child in their own app: the current state of each app."""
        return sorted(
            key
            for key in self._candidates(app)
            if all(child[0] != key[0] for child in self.children[key])
        )

    def root_nodes(self, app: str | None = None) -> list[NodeKey]:
        """Nodes with no parent in their own app."""
        return sorted(
            key
            for key in self._candidates(app)
            if all(parent[0] != key[0] for parent in self.parents[key])
        )

    def forwards_plan(self, target: NodeKey) -> list[NodeKey]:
        """What must be applied to reach `target`, ending with it (Django's order)."""
        return self._iterative_dfs(target, forwards=True)

    def backwards_plan(self, target: NodeKey) -> list[NodeKey]:
        """What must be unapplied to unapply `target`, ending with it (Django's order)."""
        return self._iterative_dfs(target, forwards=False)

    def _iterative_dfs(
        self, start: NodeKey, forwards: bool, app: str | None = None
    ) -> list[NodeKey]:
        """Django's iterative DFS. With `app` (forwards only), parents with no node of
        `app` among their ancestors are not entered: the order of `app`'s nodes is the
        same, since no node that leads to `app` sits above such a parent."""
        bit = self.app_bits.get(app, 0) if app and self.indexed_size == len(self.nodes) else 0
        upstream = self.upstream_apps
        visited: list[NodeKey] = []
        seen: set[NodeKey] = set()
        # Nodes whose parents are being visited; meeting one again means a cycle (where
        # Django's loop would never end), so it is not expanded twice.
        open_nodes: set[NodeKey] = set()
        stack: list[tuple[NodeKey, bool]] = [(start, False)]
        edges = self.parents if forwards else self.children
        while stack:
            node, processed = stack.pop()
            if node in seen:
                continue
            if processed:
                seen.add(node)
                visited.append(node)
            elif node not in open_nodes:
                open_nodes.add(node)
                stack.append((node, True))
                if bit:
                    stack.extend(
                        (n, False) for n in sorted(edges.get(node, ())) if upstream[n] & bit
                    )
                else:
                    stack.extend((n, False) for n in sorted(edges.get(node, ())))
        return visited

    def app_order(self, app: str) -> list[NodeKey]:
        """The app's migrations in the order `migrate` applies them."""
        indexed = self.indexed_size == len(self.nodes)
        if indexed and app in self.app_orders:
            return list(self.app_orders[app])
        order: list[NodeKey] = []
        seen: set[NodeKey] = set()
        for leaf in self.leaf_nodes(app):
            for key in self._iterative_dfs(leaf, forwards=True, app=app):
                if key[0] == app and key not in seen:
                    seen.add(key)
                    order.append(key)
        if indexed:
            self.app_orders[app] = tuple(order)
        return order

    def ancestors(self, key: NodeKey) -> Iterator[NodeKey]:
        """Every migration that must run before `key` (not `key` itself)."""
        for node in self.forwards_plan(key):
            if node != key:
                yield node


class _Builder:
    """Django's MigrationLoader.build_graph, with every error collected instead of raised.

    Like Django's graph, `parents`/`children` hold a placeholder ("dummy") node for every
    key that is referenced but not on disk until the squashes have been applied, and
    `__first__`/`__latest__` see those placeholders too.
    """

    def __init__(self, migrations: Iterable[Migration], labels: dict[str, str]) -> None:
        self.graph = MigrationGraph()
        # App label -> the app key its migrations live under.
        self.labels = labels
        self.migrations = sorted(migrations, key=lambda m: m.key)
        # Keys referenced but not on disk, with every reference to them.
        self.dummies: dict[NodeKey, list[MissingDependency]] = {}
        # Label -> the folders of every app using it (more than one in monorepos and copies).
        self.homes: dict[str, dict[str, str]] = {}
        # Every key of each app while building, placeholders included (for `ends`).
        self.members: dict[str, set[NodeKey]] = {}
        for migration in self.migrations:
            self.members.setdefault(migration.app_key, set()).add(migration.key)
            homes = self.homes.setdefault(migration.app, {})
            if migration.app_key not in homes:
                homes[migration.app_key] = os.path.dirname(os.path.dirname(migration.path))
        self.graph.own_labels = _unread_labels(self.migrations)
        self.labels = {
            **{label: key for key, label in self.graph.own_labels.items()},
            **self.labels,
        }
        # Replaced migrations of labels that are no app in the tree (an app's old label).
        self.foreign_replaced = {
            (d.app, d.name)
            for m in self.migrations
            for d in m.facts.replaces
            if d.app is not None and self.app_key(d.app, m) is None
        }

    def build(self) -> MigrationGraph:
        graph = self.graph
        for migration in self.migrations:
            graph.nodes[migration.key] = migration
            graph.disk[migration.key] = migration
            graph.parents[migration.key] = set()
            graph.children[migration.key] = set()
        for migration in self.migrations:
            for dependency in migration.facts.dependencies:
                # Same-app edges first, so that `__first__` finds the right root (as Django).
                if self.is_own(dependency, migration) and dependency.name != "__first__":
                    internal = (migration.app_key, dependency.name)
                    self.add_edge(migration, internal, migration.key, dependency, "dependencies")
        for migration in self.migrations:
            for dependency in migration.facts.dependencies:
                if self.is_own(dependency, migration):
                    continue
                parent = self.check_key(dependency, migration)
                if parent is not None:
                    self.add_edge(migration, parent, migration.key, dependency, "dependencies")
            for dependency in migration.facts.run_before:
                child = self.check_key(dependency, migration)
                if child is not None:
                    self.add_edge(migration, migration.key, child, dependency, "run_before")
        self.replace_squashed()
        for key in self.dummies:
            graph.missing.extend(self.dummies[key])
            self.drop(key)
        graph.missing.sort(key=lambda m: (m.migration.key, m.target))
        graph.cycles.extend(find_cycles(graph))
        return graph

    def app_key(self, label: str, migration: Migration) -> str | None:
        """Where migrations of `label` live, seen from `migration`; None outside the tree."""
        if label == migration.app or label == self.graph.own_labels.get(migration.app_key):
            return migration.app_key
        homes = self.homes.get(label, {})
        if len(homes) < 2:
            return self.labels.get(label)
        # Several apps share the label: the one nearest in the tree (a copy under tests/
        # depends on its sibling copies; another project of a monorepo on its own apps).
        here = os.path.dirname(os.path.dirname(migration.path))

        def nearness(key: str) -> tuple[int, bool]:
            try:
                common = len(os.path.commonpath([here, homes[key]]))
            except ValueError:  # different drives
                common = 0
            return (common, key == self.labels.get(label))

        return max(sorted(homes), key=nearness)

    def is_own(self, dependency: Dependency, migration: Migration) -> bool:
        """`dependency` names the app of `migration` (by its label, read or inferred)."""
        return dependency.app is not None and dependency.app in (
            migration.app,
            self.graph.own_labels.get(migration.app_key),
        )

    def check_key(self, dependency: Dependency, migration: Migration) -> NodeKey | None:
        """Django's MigrationLoader.check_key: resolve `__first__`/`__latest__` of other apps."""
        if dependency.app is None:
            return None
        app_key = self.app_key(dependency.app, migration)
        if app_key is None:
            # An app renamed in the tree: its new migrations replace the old label's, and
            # Django points dependencies on those at the replacements.
            old = (dependency.app, dependency.name)
            return old if old in self.foreign_replaced else None
        key = (app_key, dependency.name)
        if dependency.name not in ("__first__", "__latest__") or key in self.graph.parents:
            return key
        if app_key == migration.app_key:
            return None
        nodes = self.ends(app_key, first=dependency.name == "__first__")
        return nodes[0] if nodes else None

    def ends(self, app_key: str, first: bool) -> list[NodeKey]:
        """Roots (or leaves) of an app while building, placeholders included, as Django."""
        edges = self.graph.parents if first else self.graph.children
        return sorted(
            key
            for key in self.members.get(app_key, ())
            if key in edges and all(other[0] != app_key for other in edges[key])
        )

    def add_edge(
        self,
        migration: Migration,
        parent: NodeKey,
        child: NodeKey,
        dependency: Dependency,
        via: str,
    ) -> None:
        graph = self.graph
        target = parent if via == "dependencies" else child
        for key in (child, parent):
            if key not in graph.parents:
                self.dummies[key] = []
                self.members.setdefault(key[0], set()).add(key)
                graph.parents[key] = set()
                graph.children[key] = set()
        if target in self.dummies:
            self.dummies[target].append(MissingDependency(migration, dependency, target, via))
        graph.children[parent].add(child)
        graph.parents[child].add(parent)

    def replace_squashed(self) -> None:
        graph = self.graph
        squashes = [m for m in self.migrations if m.facts.replaces]
        replaced_keys = {m.key: self.replaced(m) for m in squashes}
        order = _inner_first(squashes, replaced_keys)
        self.overlapping(order, replaced_keys)
        for migration in order:
            replaced = replaced_keys[migration.key]
            if migration.key not in graph.parents:
                graph.squash_problems.append(
                    SquashProblem(
                        migration,
                        f"{migration.label} is replaced by a squashed migration that it "
                        "replaces in turn, so Django's loader fails with 'Unable to find "
                        "replacement node'",
                        fatal=True,
                    )
                )
                continue
            if migration.key in replaced:
                graph.squash_problems.append(
                    SquashProblem(
                        migration,
                        f"{migration.label} lists itself in `replaces`; Django's loader takes it "
                        "out of the graph, so `migrate` never applies it, or fails with KeyError "
                        "when another migration depends on it",
                    )
                )
                replaced = replaced - {migration.key}
            for key in sorted(replaced & set(replaced_keys) - {migration.key}):
                if key in graph.disk:
                    graph.squash_problems.append(
                        SquashProblem(migration, _nested_message(migration, graph.disk[key]))
                    )
            self.remove_replaced(migration, replaced)

    def overlapping(
        self, order: list[Migration], replaced_keys: dict[NodeKey, set[NodeKey]]
    ) -> None:
        """Squashes on disk that replace some of the same migrations, neither replacing the
        other: Django takes one after the other, and the second one is either chained
        after the first or left unconnected."""
        seen: dict[NodeKey, Migration] = {}
        for migration in order:
            mine = replaced_keys[migration.key]
            earlier: dict[NodeKey, list[NodeKey]] = {}
            for key in sorted(mine):
                other = seen.get(key)
                if (
                    other is not None
                    and other.key not in mine
                    and migration.key not in replaced_keys[other.key]
                ):
                    earlier.setdefault(other.key, []).append(key)
                seen.setdefault(key, migration)
            for other_key, shared in earlier.items():
                other = self.graph.disk[other_key]
                self.graph.overlapping_squashes |= {other_key, migration.key}
                names = ", ".join(f"{app}.{name}" for app, name in shared[:3])
                more = f" and {len(shared) - 3} more" if len(shared) > 3 else ""
                self.graph.squash_problems.append(
                    SquashProblem(
                        migration,
                        f"{migration.label} and {other.label} both replace {names}{more}; "
                        "Django's loader then applies one squash after the other (so the "
                        "operations of what both replace run twice) or leaves one of them as "
                        "a second leaf node",
                    )
                )

    def replaced(self, migration: Migration) -> set[NodeKey]:
        return {
            (self.app_key(d.app, migration) or d.app, d.name)
            for d in migration.facts.replaces
            if d.app is not None
        }

    def remove_replaced(self, squash: Migration, replaced: set[NodeKey]) -> None:
        """Django's MigrationGraph.remove_replaced_nodes: edges move to the replacement."""
        graph = self.graph
        replacement = squash.key
        for key in sorted(replaced):
            if key in graph.nodes or key in self.dummies:
                graph.replaced_by[key] = replacement
            self.dummies.pop(key, None)
            graph.nodes.pop(key, None)
            if key not in graph.parents:
                continue
            for child in graph.children.pop(key):
                graph.parents[child].discard(key)
                if child not in replaced:
                    if child == replacement:
                        self.loop(squash, key, squash_depends=True)
                    graph.parents[child].add(replacement)
                    graph.children[replacement].add(child)
            for parent in graph.parents.pop(key):
                graph.children[parent].discard(key)
                if parent not in replaced:
                    if parent == replacement:
                        self.loop(squash, key, squash_depends=False)
                    graph.children[parent].add(replacement)
                    graph.parents[replacement].add(parent)

    def loop(self, squash: Migration, key: NodeKey, squash_depends: bool) -> None:
        """Record that `squash` depends on itself through `key`, which it replaces."""
        graph = self.graph
        graph.squash_loops.add(squash.key)
        replaced = graph.disk.get(key)
        name = replaced.label if replaced else f"{key[0]}.{key[1]}"
        error = "Django's loader fails with CircularDependencyError"
        if squash_depends:
            entry = _entry_naming(squash, squash.facts.dependencies, key, self)
            graph.squash_problems.append(
                SquashProblem(
                    squash,
                    f"{squash.label} depends on {name}, which it replaces; once it stands in "
                    f"for {name} it depends on itself, and {error}",
                    dependency=entry,
                )
            )
            return
        entry = (
            None
            if replaced is None
            else _entry_naming(replaced, replaced.facts.dependencies, squash.key, self)
        )
        graph.squash_problems.append(
            SquashProblem(
                replaced if entry is not None and replaced is not None else squash,
                f"{name} is replaced by {squash.label} but depends on it; once the squash "
                f"stands in for {name} it depends on itself, and {error}",
                dependency=entry,
            )
        )

    def drop(self, key: NodeKey) -> None:
        graph = self.graph
        for child in graph.children.pop(key, set()):
            graph.parents[child].discard(key)
        for parent in graph.parents.pop(key, set()):
            graph.children[parent].discard(key)


def _inner_first(
    squashes: list[Migration], replaced_keys: dict[NodeKey, set[NodeKey]]
) -> list[Migration]:
    """Squashes in an order where each comes after the squashes it replaces (the order in
    which Django's loader succeeds); squashes that replace each other in a loop come last."""
    by_key = {m.key: m for m in squashes}
    inner = {key: replaced_keys[key] & set(by_key) - {key} for key in by_key}
    order: list[Migration] = []
    done: set[NodeKey] = set()
    pending = sorted(by_key)
    while pending:
        ready = [key for key in pending if inner[key] <= done]
        if not ready:
            order.extend(by_key[key] for key in pending)
            break
        for key in ready:
            order.append(by_key[key])
            done.add(key)
        pending = [key for key in pending if key not in done]
    return order


def _nested_message(outer: Migration, inner: Migration) -> str:
    """Why a squash that replaces another squash still on disk fails on some runs."""
    failure = "Django's loader fails with 'Unable to find replacement node'"
    if outer.app_key == inner.app_key:
        when = (
            f"when it takes {outer.name} first, and it reads the files of a migrations "
            "package in no fixed order (a set of names)"
        )
    else:
        when = f"when '{outer.app}' is listed before '{inner.app}' in INSTALLED_APPS"
    return (
        f"{outer.label} replaces {inner.label}, itself a squashed migration still on disk; "
        f"{failure} {when}"
    )


def _entry_naming(
    migration: Migration, entries: tuple[Dependency, ...], key: NodeKey, builder: _Builder
) -> Dependency | None:
    """The entry of `migration`'s `entries` that names the node `key`, if one does."""
    for entry in entries:
        if entry.app is None or entry.name != key[1]:
            continue
        if builder.app_key(entry.app, migration) == key[0] or entry.app == key[0]:
            return entry
    return None


def _unread_labels(migrations: list[Migration]) -> dict[str, str]:
    """Apps whose migrations consistently call their own app by another label.

    Django writes same-app dependencies with the app label. When migrations of an app name
    its other migrations under one label `L` that no app in the tree has, none uses the
    label discovery gave it, and no other app names an `L` migration it lacks, `L` is its
    real label (an AppConfig.label set where miglint cannot read it).
    """
    labels = {m.app for m in migrations}
    by_app: dict[str, list[Migration]] = {}
    for migration in migrations:
        by_app.setdefault(migration.app_key, []).append(migration)
    found: dict[str, str] = {}
    for app_key, group in by_app.items():
        names = {m.name for m in group}
        label = group[0].app
        candidates: set[str] = set()
        for migration in group:
            dependencies = migration.facts.dependencies
            if any(d.app == label for d in dependencies):
                candidates.clear()
                break
            candidates |= {
                d.app
                for d in dependencies
                if d.app is not None
                and d.app not in labels
                and d.name in names
                and d.name != migration.name
            }
        # A label the app's migrations replace one for one is an old label (a renamed app).
        candidates -= {d.app for m in group for d in m.facts.replaces if d.name == m.name}
        if len(candidates) != 1:
            continue
        [candidate] = candidates
        elsewhere = (
            d
            for m in migrations
            if m.app_key != app_key
            for d in (*m.facts.dependencies, *m.facts.run_before)
            if d.app == candidate
        )
        if all(d.name in names or d.name in ("__first__", "__latest__") for d in elsewhere):
            found[app_key] = candidate
    return found


def find_cycles(graph: MigrationGraph) -> list[tuple[NodeKey, ...]]:
    """One cycle per strongly connected group of migrations, each starting at its least node."""
    index: dict[NodeKey, int] = {}
    low: dict[NodeKey, int] = {}
    on_stack: set[NodeKey] = set()
    stack: list[NodeKey] = []
    groups: list[list[NodeKey]] = []
    counter = 0
    for root in sorted(graph.nodes):
        if root in index:
            continue
        work: list[tuple[NodeKey, Iterator[NodeKey]]] = [(root, iter(sorted(graph.children[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.children[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1 or node in graph.children[node]:
                        groups.append(group)
    return sorted(_cycle_path(graph, set(group)) for group in groups)


def _cycle_path(graph: MigrationGraph, group: set[NodeKey]) -> tuple[NodeKey, ...]:
    """A simple cycle through the group's least node, following dependencies forwards."""
    start = min(group)
    previous: dict[NodeKey, NodeKey] = {}
    queue = [start]
    for node in queue:
        for child in sorted(graph.children[node]):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return tuple(reversed(path))
            if child in group and child not in previous:
                previous[child] = node
                queue.append(child)
    return (start,)


def build_graph(migrations: Iterable[Migration], labels: dict[str, str]) -> MigrationGraph:
    """The graph of `migrations`; `labels` maps each app label in the tree to its app key."""
    graph = _Builder(migrations, labels).build()
    graph.index()
    return graph

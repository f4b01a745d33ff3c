"""Fuzz the parser-to-facts layer: no exception escapes `parse_migration_bytes` or
`load_project`, whatever the bytes (generated migration-like text, and mutated real
migrations: byte flips, truncations, insertions)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miglint.project.config import Config
from miglint.project.load import load_project
from miglint.rules import all_rules
from miglint.rules.base import example_files
from miglint.run.lint import lint
from miglint.source.facts import MigrationFacts
from miglint.source.parse import parse_migration_bytes
from tests.helpers import write_tree

FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def real_migrations() -> list[bytes]:
    """Every rule example: real migration styles, valid and not."""
    texts = []
    for rule in all_rules():
        for example in (*rule.VALID, *rule.INVALID):
            for path, text in example_files(example).items():
                if path.endswith(".py"):
                    texts.append(text.encode())
    return sorted(set(texts))


CORPUS = real_migrations()

NAMES = st.sampled_from(
    ["migrations", "models", "shop", "Migration", "settings", "x", "AUTH_USER_MODEL", "é"]
)
STRINGS = st.sampled_from(["'shop'", "'0001_initial'", "''", "'__first__'", "b'x'", "'\\x00'"])
ATOMS = st.one_of(
    STRINGS,
    NAMES,
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["None", "True", "False", "...", "1.5", "1j", "[]", "()", "{}"]),
)


def _expression(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(
            children, st.sampled_from([".", " + ", " * ", " if x else ", "[", "("]), children
        ).map(
            lambda t: f"{t[0]}{t[1]}{t[2]}" + ("]" if t[1] == "[" else ")" if t[1] == "(" else "")
        ),
        st.lists(children, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(children, max_size=3).map(lambda items: "(" + ", ".join(items) + ",)"),
        st.tuples(NAMES, st.lists(children, max_size=3)).map(
            lambda t: f"migrations.{t[0]}(" + ", ".join(t[1]) + ")"
        ),
        st.tuples(NAMES, children).map(lambda t: f"{t[0]}={t[1]}"),
        st.lists(st.tuples(children, children), max_size=3).map(
            lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
        ),
        children.map(lambda c: f"lambda: {c}"),
        children.map(lambda c: f"*{c}"),
    )


EXPRESSIONS = st.recursive(ATOMS, _expression, max_leaves=25)
ATTRIBUTES = st.sampled_from(
    ["dependencies", "operations", "replaces", "run_before", "initial", "atomic", "x"]
)
BODY_LINES = st.one_of(
    st.tuples(ATTRIBUTES, EXPRESSIONS).map(lambda t: f"    {t[0]} = {t[1]}"),
    st.tuples(ATTRIBUTES, EXPRESSIONS).map(lambda t: f"    {t[0]} += {t[1]}"),
    st.just("    # miglint: ignore[MIG101]"),
    st.just("    pass"),
    st.just("    def f(self): return 1"),
    st.just("    if x:\n        operations = []"),
)
MODULE_LINES = st.one_of(
    st.just("from django.db import migrations, models"),
    st.just("from django.conf import settings"),
    st.just("import django.db.migrations as m"),
    st.tuples(NAMES, EXPRESSIONS).map(lambda t: f"{t[0]} = {t[1]}"),
    st.just("def forwards(apps, schema_editor):\n    apps.get_model('shop', 'Item').objects.all()"),
    st.just("# -*- coding: latin-1 -*-"),
    st.just("if True:"),
    st.just(")"),
)


@st.composite
def migration_like(draw: st.DrawFn) -> bytes:
    head = draw(st.lists(MODULE_LINES, max_size=4))
    base = draw(st.sampled_from(["migrations.Migration", "m.Migration", "", "object"]))
    body = draw(st.lists(BODY_LINES, max_size=6))
    text = "\n".join([*head, f"class Migration({base}):", *(body or ["    pass"])]) + "\n"
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete", "duplicate"]))
        position = draw(st.integers(0, len(data)))
        if kind == "flip" and data:
            index = min(position, len(data) - 1)
            data[index] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[position:]
        elif kind == "insert":
            fragment = draw(
                st.one_of(
                    st.binary(max_size=8),
                    st.sampled_from([b"(", b")", b"[", b"]", b"'", b'"""', b"\\", b"\n  ", b"\t"]),
                )
            )
            data[position:position] = fragment
        elif kind == "delete":
            del data[position : position + draw(st.integers(1, 20))]
        else:
            data[position:position] = data[position : position + draw(st.integers(1, 200))]
    return bytes(data)


def check_facts(facts: MigrationFacts) -> None:
    assert isinstance(facts, MigrationFacts)
    if facts.error is not None:
        assert facts.error.line >= 1 and facts.error.column >= 1
        assert facts.error.message


@FUZZ
@given(migration_like())
def test_generated_migrations_never_raise(data: bytes) -> None:
    check_facts(parse_migration_bytes(data))


@FUZZ
@given(mutated())
def test_mutated_real_migrations_never_raise(data: bytes) -> None:
    check_facts(parse_migration_bytes(data))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(mutated(), migration_like()), min_size=1, max_size=4))
def test_projects_of_fuzzed_files_load_and_lint(files: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        tree: dict[str, str | bytes] = {
            f"shop/migrations/{number:04d}_fuzz.py": data for number, data in enumerate(files, 1)
        }
        tree["shop/models.py"] = files[0]
        tree["shop/apps.py"] = files[-1]
        write_tree(root, tree)
        project = load_project([str(root)], Config(root=str(root)))
        findings = lint(project)
        broken = [m for m in project.migrations if m.facts.error is not None]
        parse_errors = [f for f in findings if f.code == "MIG000" and f.severity.name == "ERROR"]
        assert len(parse_errors) <= len(project.migrations)
        assert {f.path for f in parse_errors} >= {m.path for m in broken}


def test_the_corpus_is_real() -> None:
    """The mutations start from many real migration texts that parse cleanly."""
    clean = [data for data in CORPUS if parse_migration_bytes(data).error is None]
    assert len(clean) >= 50

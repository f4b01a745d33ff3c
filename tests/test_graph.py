"""The migration graph and its rules (MIG001-MIG004): migration files in, findings out."""

from __future__ import annotations

from pathlib import Path

from miglint.core.finding import Severity
from tests.helpers import lint_tree, load, migration, write_tree

INITIAL = migration()


def codes(findings: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(finding.code for finding in findings)


def test_linear_history_has_no_graph_findings(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
            "shop/migrations/0003_sku.py": migration(dependencies='("shop", "0002_price")'),
        },
    )
    assert lint_tree(tmp_path, "MIG000", "MIG001", "MIG002", "MIG003", "MIG004") == []
    graph = load(tmp_path).graph
    assert graph.leaf_nodes("shop") == [("shop", "0003_sku")]
    assert graph.root_nodes("shop") == [("shop", "0001_initial")]
    assert graph.forwards_plan(("shop", "0003_sku")) == [
        ("shop", "0001_initial"),
        ("shop", "0002_price"),
        ("shop", "0003_sku"),
    ]
    assert graph.backwards_plan(("shop", "0001_initial")) == [
        ("shop", "0003_sku"),
        ("shop", "0002_price"),
        ("shop", "0001_initial"),
    ]


def test_conflict_names_both_leaves_and_the_merge_command(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
            "shop/migrations/0002_sku.py": migration(dependencies='("shop", "0001_initial")'),
        },
    )
    # One finding for the app, on the newest leaf, naming every leaf.
    [finding] = lint_tree(tmp_path, "MIG001")
    assert Path(finding.path).name == "0002_sku.py" and finding.line == 4
    assert "2 leaf nodes (0002_price, 0002_sku)" in finding.message
    assert finding.fix == "Run `python manage.py makemigrations --merge shop`."


def test_three_branches_are_one_finding_on_the_highest_number(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
            "shop/migrations/0003_tax.py": migration(dependencies='("shop", "0002_price")'),
            "shop/migrations/0002_sku.py": migration(dependencies='("shop", "0001_initial")'),
            "shop/migrations/0002_weight.py": migration(dependencies='("shop", "0001_initial")'),
        },
    )
    [finding] = lint_tree(tmp_path, "MIG001")
    assert Path(finding.path).name == "0003_tax.py"
    assert "3 leaf nodes (0002_sku, 0002_weight, 0003_tax)" in finding.message


def test_merge_migration_resolves_the_conflict(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
            "shop/migrations/0002_sku.py": migration(dependencies='("shop", "0001_initial")'),
            "shop/migrations/0003_merge.py": migration(
                dependencies='("shop", "0002_price"), ("shop", "0002_sku")'
            ),
        },
    )
    assert lint_tree(tmp_path, "MIG001") == []


def test_every_reference_to_a_missing_node_is_reported_where_it_is(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_inital")'),
            "billing/migrations/0001_initial.py": migration(dependencies='("shop", "0001_inital")'),
        },
    )
    findings = lint_tree(tmp_path, "MIG002")
    assert sorted((Path(f.path).parent.parent.name, f.line, f.column) for f in findings) == [
        ("billing", 5, 21),
        ("shop", 5, 21),
    ]
    for finding in findings:
        assert "('shop', '0001_inital')" in finding.message
        assert finding.fix == "Did you mean ('shop', '0001_initial')?"


def test_a_node_a_computed_replaces_may_stand_for_is_not_missing(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            # Which old migrations it replaces is read from the database when Django loads it.
            "shop/migrations/0001_squashed.py": migration(
                extra="    replaces = applied_squashes()\n"
            ),
            "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
        },
    )
    assert lint_tree(tmp_path, "MIG001", "MIG002") == []
    [finding] = lint_tree(tmp_path, "MIG005")
    assert "`replaces`" in finding.message


def test_run_before_a_missing_node_is_reported(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "billing/migrations/0001_initial.py": migration(
                extra='    run_before = [("shop", "0002_gone")]\n'
            ),
        },
    )
    [finding] = lint_tree(tmp_path, "MIG002")
    assert "run_before" in finding.message and "0002_gone" in finding.message


def test_dependencies_outside_the_tree_are_not_errors(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": migration(
                dependencies=(
                    '("auth", "0012_alter_user_first_name_max_length"), '
                    '("contenttypes", "__first__"), ("taggit", "0003_taggeditem_add_unique_index"), '
                    "migrations.swappable_dependency(settings.AUTH_USER_MODEL)"
                )
            ),
        },
    )
    assert lint_tree(tmp_path, "MIG002", "MIG003") == []


def test_cycle_across_apps_is_named(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": migration(
                dependencies='("billing", "0001_initial")'
            ),
            "billing/migrations/0001_initial.py": migration(
                dependencies='("shop", "0001_initial")'
            ),
        },
    )
    [finding] = lint_tree(tmp_path, "MIG003")
    assert "billing.0001_initial -> shop.0001_initial -> billing.0001_initial" in finding.message


def test_a_cycle_does_not_hang_plans_or_rules(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": migration(dependencies='("shop", "0002_b")'),
            "shop/migrations/0002_b.py": migration(dependencies='("shop", "0001_initial")'),
        },
    )
    project = load(tmp_path)
    assert sorted(project.graph.forwards_plan(("shop", "0002_b"))) == [
        ("shop", "0001_initial"),
        ("shop", "0002_b"),
    ]
    assert {m.name for m in project.app_migrations("shop")} == {"0001_initial", "0002_b"}
    assert "MIG003" in codes(lint_tree(tmp_path))


SQUASH = migration(extra='    replaces = [("shop", "0001_initial"), ("shop", "0002_price")]\n')


def test_squash_with_replaced_files_deleted_is_fine(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_squashed_0002_price.py": SQUASH,
            "shop/migrations/0003_sku.py": migration(dependencies='("shop", "0002_price")'),
            "billing/migrations/0001_initial.py": migration(
                dependencies='("shop", "0001_initial")'
            ),
        },
    )
    assert lint_tree(tmp_path, "MIG001", "MIG002", "MIG003", "MIG004") == []
    graph = load(tmp_path).graph
    assert graph.forwards_plan(("billing", "0001_initial")) == [
        ("shop", "0001_squashed_0002_price"),
        ("billing", "0001_initial"),
    ]


def test_squash_with_replaced_files_present_replaces_them(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
            "shop/migrations/0001_squashed_0002_price.py": SQUASH,
            "shop/migrations/0003_sku.py": migration(dependencies='("shop", "0002_price")'),
        },
    )
    assert lint_tree(tmp_path, "MIG001", "MIG002", "MIG003", "MIG004") == []
    graph = load(tmp_path).graph
    assert sorted(graph.nodes) == [("shop", "0001_squashed_0002_price"), ("shop", "0003_sku")]
    assert graph.replaced_by[("shop", "0002_price")] == ("shop", "0001_squashed_0002_price")
    # Every file on disk is still known, for rules that read replaced migrations.
    assert len(graph.disk) == 4


def test_partly_deleted_squash_is_fine(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
            "shop/migrations/0001_squashed_0002_price.py": SQUASH,
        },
    )
    assert lint_tree(tmp_path, "MIG001", "MIG002", "MIG003", "MIG004") == []


def test_nested_squash_with_the_inner_squash_on_disk_is_a_warning_about_django(
    tmp_path: Path,
) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_squashed_0002_price.py": SQUASH,
            "shop/migrations/0001_squashed_0003_sku.py": migration(
                extra=(
                    '    replaces = [("shop", "0001_squashed_0002_price"), ("shop", "0003_sku")]\n'
                )
            ),
            "shop/migrations/0004_tax.py": migration(dependencies='("shop", "0003_sku")'),
        },
    )
    findings = lint_tree(tmp_path, "MIG001", "MIG002", "MIG003", "MIG004")
    assert [(f.code, Path(f.path).name) for f in findings] == [
        ("MIG004", "0001_squashed_0003_sku.py")
    ]
    assert "Unable to find replacement node" in findings[0].message
    graph = load(tmp_path).graph
    assert sorted(graph.nodes) == [("shop", "0001_squashed_0003_sku"), ("shop", "0004_tax")]


def test_squash_depending_on_what_it_replaces_is_broken(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
            "shop/migrations/0001_squashed_0002_price.py": migration(
                dependencies='("shop", "0001_initial")',
                extra='    replaces = [("shop", "0001_initial"), ("shop", "0002_price")]\n',
            ),
        },
    )
    # One hazard, one finding: MIG004 says why the squash depends on itself (no MIG003).
    [finding] = lint_tree(tmp_path, "MIG001", "MIG002", "MIG003", "MIG004")
    assert finding.code == "MIG004" and Path(finding.path).name == "0001_squashed_0002_price.py"
    assert finding.line == 6  # the dependency entry
    assert "depends on shop.0001_initial, which it replaces" in finding.message
    assert "CircularDependencyError" in finding.message


def test_replaced_migration_depending_on_its_squash_is_reported_where_it_says_so(
    tmp_path: Path,
) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_price.py": migration(
                dependencies='("shop", "0001_squashed_0002_price")'
            ),
            "shop/migrations/0001_squashed_0002_price.py": SQUASH,
        },
    )
    [finding] = lint_tree(tmp_path, "MIG001", "MIG002", "MIG003", "MIG004")
    assert finding.code == "MIG004" and Path(finding.path).name == "0002_price.py"
    assert "shop.0002_price is replaced by shop.0001_squashed_0002_price but depends on it" in (
        finding.message
    )


def test_an_app_renamed_by_replacing_the_old_labels_migrations_is_fine(tmp_path: Path) -> None:
    # `store` became `shop`: shop's migrations replace store's, which no longer exist.
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": migration(
                extra='    replaces = [("store", "0001_initial")]\n'
            ),
            "shop/migrations/0002_price.py": migration(
                dependencies='("shop", "0001_initial")',
                extra='    replaces = [("store", "0002_price")]\n',
            ),
            "shop/migrations/0003_sku.py": migration(dependencies='("shop", "0002_price")'),
            # Written before the rename, still naming the old label.
            "billing/migrations/0001_initial.py": migration(dependencies='("store", "0002_price")'),
        },
    )
    assert lint_tree(tmp_path, "MIG000", "MIG001", "MIG002", "MIG003", "MIG004") == []
    graph = load(tmp_path).graph
    # As in Django, the dependency on the old label now points at its replacement.
    assert graph.parents[("billing", "0001_initial")] == {("shop", "0002_price")}


def test_a_migration_replacing_itself_is_broken_and_no_crash(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": migration(
                extra='    replaces = [("shop", "0001_initial")]\n'
            ),
            "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
        },
    )
    [finding] = lint_tree(tmp_path, "MIG001", "MIG002", "MIG003", "MIG004")
    assert finding.code == "MIG004" and "lists itself in `replaces`" in finding.message


def test_two_squashes_replacing_the_same_migrations_are_broken(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_squashed_0002_price.py": SQUASH,
            # A later squash written by hand over the same range, the first one left behind.
            "shop/migrations/0001_squashed_0003_sku.py": migration(
                extra=(
                    '    replaces = [("shop", "0001_initial"), ("shop", "0002_price"), '
                    '("shop", "0003_sku")]\n'
                )
            ),
            "shop/migrations/0004_tax.py": migration(dependencies='("shop", "0003_sku")'),
        },
    )
    # One finding: the squash left over as a second leaf is not also a MIG001 conflict.
    findings = lint_tree(tmp_path, "MIG001", "MIG004")
    assert [(f.code, Path(f.path).name) for f in findings] == [
        ("MIG004", "0001_squashed_0003_sku.py")
    ]
    assert "both replace shop.0001_initial, shop.0002_price" in findings[0].message


def test_first_and_latest_resolve_like_django(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
            "billing/migrations/0001_initial.py": migration(dependencies='("shop", "__first__")'),
            "billing/migrations/0002_tax.py": migration(
                dependencies='("billing", "0001_initial"), ("shop", "__latest__")'
            ),
        },
    )
    graph = load(tmp_path).graph
    assert graph.parents[("billing", "0001_initial")] == {("shop", "0001_initial")}
    assert graph.parents[("billing", "0002_tax")] == {
        ("billing", "0001_initial"),
        ("shop", "0002_price"),
    }
    assert lint_tree(tmp_path, "MIG001", "MIG002", "MIG003") == []


def test_unreadable_file_does_not_cause_a_false_conflict(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
            # It would have merged the branch, but cannot be read.
            "shop/migrations/0003_merge.py": "class Migration(:\n",
            "shop/migrations/0002_sku.py": migration(dependencies='("shop", "0001_initial")'),
        },
    )
    findings = lint_tree(tmp_path)
    assert [f.code for f in findings if f.severity == Severity.ERROR] == ["MIG000"]


def test_label_set_where_miglint_cannot_read_it_is_learnt_from_the_migrations(
    tmp_path: Path,
) -> None:
    write_tree(
        tmp_path,
        {
            # The label comes from a project base class: not readable statically.
            "shop/apps.py": (
                "from core.apps import BaseConfig\n\n\n"
                "class ShopConfig(BaseConfig):\n"
                '    name = "shop"\n'
                '    label = "store"\n'
            ),
            "shop/migrations/0001_initial.py": migration(
                dependencies='("contenttypes", "0002_remove_content_type_name")'
            ),
            "shop/migrations/0002_price.py": migration(dependencies='("store", "0001_initial")'),
            "shop/migrations/0003_sku.py": migration(dependencies='("store", "0002_price")'),
            "shop/migrations/0001_squashed_0002_price.py": migration(
                extra='    replaces = [("store", "0001_initial"), ("store", "0002_price")]\n'
            ),
            "billing/migrations/0001_initial.py": migration(dependencies='("store", "0003_sku")'),
            "billing/migrations/0002_tax.py": migration(dependencies='("billing", "0001_initial")'),
        },
    )
    assert lint_tree(tmp_path, "MIG001", "MIG002", "MIG003", "MIG004") == []
    graph = load(tmp_path).graph
    assert graph.own_labels == {"shop": "store"}
    assert graph.parents[("billing", "0001_initial")] == {("shop", "0003_sku")}
    # A real branch is still a conflict.
    write_tree(
        tmp_path,
        {"shop/migrations/0003_other.py": migration(dependencies='("store", "0002_price")')},
    )
    [finding] = lint_tree(tmp_path, "MIG001")
    assert Path(finding.path).name == "0003_sku.py"
    assert "(0003_other, 0003_sku)" in finding.message


def test_other_apps_names_are_not_taken_for_a_label(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": migration(dependencies='("taggit", "0001_initial")'),
            "blog/migrations/0001_initial.py": migration(),
            "blog/migrations/0002_tags.py": migration(
                dependencies='("taggit", "0001_initial"), ("blog", "0001_initial")'
            ),
            "blog/migrations/0003_more.py": migration(
                dependencies='("taggit", "0003_taggeditem_add_unique_index"), ("blog", "0002_tags")'
            ),
        },
    )
    assert load(tmp_path).graph.own_labels == {}
    assert lint_tree(tmp_path, "MIG001", "MIG002") == []

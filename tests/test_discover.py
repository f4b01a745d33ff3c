"""Discovery: which folders are Django apps with migrations, and what their labels are."""

from __future__ import annotations

import os
from pathlib import Path

from miglint.project.config import Config
from miglint.project.discover import Discovery, app_label, discover
from miglint.project.load import load_project
from tests.helpers import lint_tree, load, migration, run_cli, write_tree

INITIAL = migration()


def found(root: Path, config: Config | None = None) -> Discovery:
    config = config or Config(root=str(root))
    return discover([str(root)], config.excluded)


def apps(root: Path, config: Config | None = None) -> dict[str, str]:
    """App key -> app folder relative to `root`."""
    return {
        app.key: Path(app.path).relative_to(root).as_posix() for app in found(root, config).apps
    }


def test_apps_at_any_depth_src_layout_and_nested_apps(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "manage.py": "",
            "blog/migrations/0001_initial.py": INITIAL,
            "src/project/accounts/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/orders/migrations/0001_initial.py": INITIAL,
            "services/api/apps/deep/er/still/payments/migrations/0001_initial.py": INITIAL,
        },
    )
    assert apps(tmp_path) == {
        "accounts": "src/project/accounts",
        "blog": "blog",
        "orders": "shop/orders",
        "payments": "services/api/apps/deep/er/still/payments",
        "shop": "shop",
    }


def test_label_from_app_config(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/apps.py": (
                "from django.apps import AppConfig\n\n\n"
                "class ShopConfig(AppConfig):\n"
                '    default_auto_field = "django.db.models.BigAutoField"\n'
                '    name = "project.shop"\n'
                '    label = "store"\n'
                '    verbose_name = "Shop"\n'
            ),
        },
    )
    assert apps(tmp_path) == {"store": "shop"}
    assert app_label(str(tmp_path / "shop")) == ("store", "apps.py")


def test_label_from_dotted_name(tmp_path: Path) -> None:
    write_tree(
        tmp_path / "pkg",
        {
            "apps.py": (
                "from django import apps\n\n\n"
                "class Config(apps.AppConfig):\n"
                '    name = "project.contrib.billing"\n'
            ),
        },
    )
    assert app_label(str(tmp_path / "pkg")) == ("billing", "apps.py")


def test_label_from_an_app_config_in_the_package_init(tmp_path: Path) -> None:
    """Plugin frameworks (pulp, for one) define the AppConfig in the app's __init__.py and
    name the class in INSTALLED_APPS; apps.py, when it defines a config, still wins."""
    config = (
        "from pulpcore.plugin import PulpPluginAppConfig\n\n\n"
        "class GalleryPluginAppConfig(PulpPluginAppConfig):\n"
        '    name = "gallery_ng.app"\n'
        '    label = "gallery"\n'
    )
    write_tree(
        tmp_path,
        {
            "gallery_ng/app/__init__.py": config,
            "gallery_ng/app/migrations/0001_initial.py": INITIAL,
            "gallery_ng/app/migrations/0002_more.py": migration(
                dependencies='("gallery", "0001_initial")'
            ),
            "other/__init__.py": config.replace('"gallery"', '"ignored"'),
            "other/apps.py": "from django.apps import AppConfig\n\n\n"
            'class OtherConfig(AppConfig):\n    name = "other"\n',
            "other/migrations/0001_initial.py": INITIAL,
        },
    )
    assert apps(tmp_path) == {"gallery": "gallery_ng/app", "other": "other"}
    assert app_label(str(tmp_path / "gallery_ng/app")) == ("gallery", "__init__.py")
    # The app's own dependency on its label resolves: rolling back to 0001 unapplies 0002.
    result = run_cli("plan", "gallery", "0001", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "gallery.0002_more" in result.stdout


def test_several_app_configs_use_the_default_one(tmp_path: Path) -> None:
    header = "from django.apps import AppConfig\n\n\n"
    write_tree(
        tmp_path,
        {
            "one/apps.py": header
            + 'class A(AppConfig):\n    name = "one"\n    label = "first"\n\n\n'
            + 'class B(AppConfig):\n    name = "one"\n    label = "second"\n    default = True\n',
            # No default among several: Django uses a plain AppConfig, labelled by the folder.
            "two/apps.py": header
            + 'class A(AppConfig):\n    name = "two"\n    label = "first"\n\n\n'
            + 'class B(AppConfig):\n    name = "two"\n    label = "second"\n',
            # The only config opts out of being the default: the folder name again.
            "three/apps.py": header
            + 'class A(AppConfig):\n    name = "three"\n    label = "x3"\n    default = False\n',
            # One opts out, the other is then the only candidate.
            "four/apps.py": header
            + 'class A(AppConfig):\n    name = "four"\n    label = "x4"\n    default = False\n\n\n'
            + 'class B(AppConfig):\n    name = "four"\n    label = "y4"\n',
        },
    )
    assert app_label(str(tmp_path / "one"))[0] == "second"
    assert app_label(str(tmp_path / "two"))[0] == "two"
    assert app_label(str(tmp_path / "three"))[0] == "three"
    assert app_label(str(tmp_path / "four"))[0] == "y4"


def test_label_that_is_not_a_literal_falls_back_to_the_folder(tmp_path: Path) -> None:
    write_tree(
        tmp_path / "shop",
        {
            "apps.py": (
                "from django.apps import AppConfig\n\nPREFIX = get_prefix()\n\n\n"
                "class ShopConfig(AppConfig):\n"
                '    name = "shop"\n'
                '    label = PREFIX + "_shop"\n'
            )
        },
    )
    assert app_label(str(tmp_path / "shop")) == ("shop", "folder")


def test_broken_apps_py_falls_back_to_the_folder(tmp_path: Path) -> None:
    write_tree(tmp_path / "shop", {"apps.py": b"class ShopConfig(AppConfig:\n\xff\xfe"})
    assert app_label(str(tmp_path / "shop")) == ("shop", "folder")


def test_skips_the_placeholder_folders_of_project_templates(tmp_path: Path) -> None:
    """A cookiecutter or copier template holds Jinja, not Python: its migrations are not
    a project's (and do not parse)."""
    template = (
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    operations = [\n"
        "        {%- if cookiecutter.username_type == 'email' %}\n"
        '        migrations.AddField("user", "name", models.TextField()),\n'
        "        {%- endif %}\n"
        "    ]\n"
    )
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "{{cookiecutter.project_slug}}/users/migrations/0001_initial.py": template,
            "{% if cookiecutter.api %}api{% endif %}/migrations/0001_initial.py": template,
        },
    )
    assert apps(tmp_path) == {"shop": "shop"}
    result = run_cli("check", ".", "--no-cache", cwd=tmp_path)
    assert result.returncode == 0, result.stdout


def test_skips_vcs_virtualenvs_site_packages_and_node_modules(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            ".git/modules/shop/migrations/0001_initial.py": INITIAL,
            "env/pyvenv.cfg": "home = /usr/bin\n",
            "env/lib/python3.12/site-packages/django/contrib/auth/migrations/0001_initial.py": (
                INITIAL
            ),
            "venv3/pyvenv.cfg": "home = /usr/bin\n",
            "venv3/src/thirdparty/migrations/0001_initial.py": INITIAL,
            "vendor/lib/site-packages/taggit/migrations/0001_initial.py": INITIAL,
            "frontend/node_modules/pkg/migrations/0001_initial.py": INITIAL,
        },
    )
    assert apps(tmp_path) == {"shop": "shop"}


def test_exclude_globs_from_config(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "legacy/old_shop/migrations/0001_initial.py": INITIAL,
            "build/lib/shop2/migrations/0001_initial.py": INITIAL,
            "blog/migrations/0001_initial.py": INITIAL,
        },
    )
    config = Config(root=str(tmp_path), exclude=("legacy/", "build", "b*g"))
    assert apps(tmp_path, config) == {"shop": "shop"}


def test_alembic_migrations_folder_is_not_an_app(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            # Flask-Migrate / Alembic layout.
            "flaskapp/migrations/env.py": (
                "from alembic import context\n\n\ndef run_migrations_online():\n    pass\n"
            ),
            "flaskapp/migrations/script.py.mako": '"""${message}"""\n',
            "flaskapp/migrations/alembic.ini": "[alembic]\n",
            "flaskapp/migrations/versions/1a2b3c_add_users.py": (
                'revision = "1a2b3c"\ndown_revision = None\n\n\ndef upgrade():\n    pass\n'
            ),
        },
    )
    assert apps(tmp_path) == {"shop": "shop"}
    assert lint_tree(tmp_path) == []


def test_only_python_modules_not_starting_with_underscore_are_migrations(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
            "shop/migrations/_helpers.py": "def forwards(apps, schema_editor):\n    pass\n",
            "shop/migrations/~0003_draft.py": "syntax error (\n",
            "shop/migrations/README.md": "# notes\n",
            "shop/migrations/0003_data.sql": "DELETE FROM shop_item;\n",
            "shop/migrations/0002_price.py.orig": "broken (\n",
            "shop/migrations/__pycache__/0001_initial.cpython-311.pyc": b"\x00\x01",
        },
    )
    [app] = found(tmp_path).apps
    assert [os.path.basename(p) for p in app.migration_paths] == [
        "0001_initial.py",
        "0002_price.py",
    ]
    assert lint_tree(tmp_path, "MIG000") == []


def test_a_helper_module_without_migration_class_is_mig000(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/utils.py": "def forwards(apps, schema_editor):\n    pass\n",
        },
    )
    [finding] = lint_tree(tmp_path, "MIG000")
    assert finding.path.endswith("utils.py") and "no Migration class" in finding.message


def test_a_file_given_on_the_command_line(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": INITIAL,
            "shop/migrations/0002_price.py": migration(
                dependencies='("shop", "0001_initial")',
                operations='        migrations.RemoveField("item", "price"),',
            ),
            "shop/migrations/0003_sku.py": migration(
                dependencies='("shop", "0002_price")',
                operations='        migrations.RemoveField("item", "sku"),',
            ),
            "blog/migrations/0001_initial.py": migration(
                operations='        migrations.DeleteModel("Post"),'
            ),
        },
    )
    target = tmp_path / "shop" / "migrations" / "0003_sku.py"
    project = load_project([str(target)], Config(root=str(tmp_path)))
    # The whole project is read, so the graph around the file is known ...
    assert sorted(m.label for m in project.migrations) == [
        "blog.0001_initial",
        "shop.0001_initial",
        "shop.0002_price",
        "shop.0003_sku",
    ]
    assert project.only_paths == frozenset({str(target)})
    # ... and only the named file is reported on.
    from miglint.run.lint import lint

    assert {Path(f.path).name for f in lint(project)} == {"0003_sku.py"}


def test_two_apps_with_one_label_are_two_graphs(tmp_path: Path) -> None:
    files = {
        "migrations/0001_initial.py": INITIAL,
        "migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
    }
    write_tree(tmp_path, {f"shop/{k}": v for k, v in files.items()})
    write_tree(tmp_path, {f"tests/fixtures/shop/{k}": v for k, v in files.items()})
    write_tree(
        tmp_path,
        {"billing/migrations/0001_initial.py": migration(dependencies='("shop", "0002_price")')},
    )
    discovery = found(tmp_path)
    keys = apps(tmp_path)
    assert keys["shop"] == "shop"
    assert sorted(keys) == [
        "billing",
        "shop",
        "shop@" + os.path.relpath(tmp_path / "tests/fixtures/shop"),
    ]
    [notice] = discovery.notices
    assert "2 apps share the label 'shop'" in notice
    project = load(tmp_path)
    # billing's dependency goes to the real app, not to the copy.
    assert project.graph.parents[("billing", "0001_initial")] == {("shop", "0002_price")}
    # Each copy is linear on its own: no conflict from their union, nothing missing.
    assert lint_tree(tmp_path, "MIG001", "MIG002", "MIG003", "MIG004") == []


def test_symlinked_folders_are_not_followed(tmp_path: Path) -> None:
    write_tree(tmp_path / "outside", {"shop/migrations/0001_initial.py": INITIAL})
    project = tmp_path / "project"
    write_tree(project, {"blog/migrations/0001_initial.py": INITIAL})
    (project / "linked").symlink_to(tmp_path / "outside", target_is_directory=True)
    assert apps(project) == {"blog": "blog"}


def test_empty_migrations_package_is_not_an_app(tmp_path: Path) -> None:
    write_tree(tmp_path, {"shop/migrations/__init__.py": "", "shop/models.py": ""})
    assert found(tmp_path).apps == ()


def test_labels_match_django(tmp_path: Path) -> None:
    from tests.django_oracle import run_django

    header = "from django.apps import AppConfig\n\n\n"
    apps_files = {
        "plain": None,
        "labelled": header + 'class C(AppConfig):\n    name = "labelled"\n    label = "lab"\n',
        "pick_default": header
        + 'class A(AppConfig):\n    name = "pick_default"\n    label = "pa"\n\n\n'
        + 'class B(AppConfig):\n    name = "pick_default"\n    label = "pb"\n    default = True\n',
        "no_default": header
        + 'class A(AppConfig):\n    name = "no_default"\n    label = "na"\n\n\n'
        + 'class B(AppConfig):\n    name = "no_default"\n    label = "nb"\n',
        "opted_out": header
        + 'class A(AppConfig):\n    name = "opted_out"\n    label = "oa"\n    default = False\n',
        "constant": 'LABEL = "const_label"\n\n'
        + header
        + 'class C(AppConfig):\n    name = "constant"\n    label = LABEL\n',
        "nested": None,
    }
    for module, text in apps_files.items():
        folder = tmp_path / module if module != "nested" else tmp_path / "outer" / "nested"
        write_tree(folder, {"__init__.py": "", "migrations/0001_initial.py": INITIAL})
        if text is not None:
            (folder / "apps.py").write_text(text, encoding="utf-8")
    (tmp_path / "outer" / "__init__.py").touch()
    modules = [m if m != "nested" else "outer.nested" for m in apps_files]
    script = """
from django.apps import apps
print(json.dumps({c.name: c.label for c in apps.get_app_configs()}))
"""
    django_labels = run_django(tmp_path, script, apps=modules)
    ours = {
        Path(app.path).relative_to(tmp_path).as_posix().replace("/", "."): app.label
        for app in found(tmp_path).apps
    }
    assert ours == {module: django_labels[module] for module in modules}


def test_monorepo_projects_sharing_labels_resolve_to_their_own_apps(tmp_path: Path) -> None:
    for project, count in (("project_a", 2), ("project_b", 3)):
        files = {f"{project}/users/migrations/0001_initial.py": INITIAL}
        for number in range(2, count + 1):
            previous = "0001_initial" if number == 2 else f"{number - 1:04d}_step"
            files[f"{project}/users/migrations/{number:04d}_step.py"] = migration(
                dependencies=f'("users", "{previous}")'
            )
        last = "0002_step" if count == 2 else "0003_step"
        files[f"{project}/orders/migrations/0001_initial.py"] = migration(
            dependencies=f'("users", "{last}")'
        )
        write_tree(tmp_path, files)
    # project_b's orders depends on users.0003_step, which only project_b's users has.
    assert lint_tree(tmp_path, "MIG001", "MIG002", "MIG003") == []
    graph = load(tmp_path).graph
    parents = {key: sorted(graph.parents[key]) for key in graph.nodes if key[1] == "0001_initial"}
    orders_b = next(key for key in parents if key[0].startswith("orders@"))
    assert parents[orders_b] == [
        (f"users@{os.path.relpath(tmp_path / 'project_b/users')}", "0003_step")
    ]
    assert parents[("orders", "0001_initial")] == [("users", "0002_step")]

"""What users copy or GitHub reads as written: action.yml, the Dockerfile, the pre-commit hook
and the README's workflow, CI and pre-commit examples.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml

from miglint.github import environment
from miglint.project.config import tomllib
from tests.github.harness import git, pull_request_repository
from tests.helpers import migration

REPO = Path(__file__).resolve().parent.parent.parent
SCRIPTS = Path(sysconfig.get_path("scripts"))


def tool(name: str) -> str:
    """An executable installed with the test dependencies, next to this Python."""
    for folder in (SCRIPTS, Path(sys.executable).parent):
        if (folder / name).exists():
            return str(folder / name)
    raise AssertionError(f"{name} is not installed (pip install -e '.[test]')")


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    # Builtin schemas ship inside the package: no network needed.
    return subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# action.yml


def test_action_yml_validates_against_the_github_actions_schema() -> None:
    result = check_jsonschema("vendor.github-actions", REPO / "action.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_action_is_the_docker_image_of_this_repository() -> None:
    action = load_yaml(REPO / "action.yml")
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}


def test_action_inputs_are_the_ones_the_entry_point_reads() -> None:
    inputs = load_yaml(REPO / "action.yml")["inputs"]
    assert set(inputs) == {
        "path",
        "fail_on",
        "select",
        "ignore",
        "only_changed",
        "annotations",
        "suggestions",
        "comment",
        "github_token",
        "config",
    }
    # Underscores: Docker actions pass INPUT_<NAME> with hyphens kept, unusable in a shell.
    assert all("-" not in name for name in inputs)
    assert inputs["github_token"]["default"] == "${{ github.token }}"
    # The defaults action.yml passes mean what the entry point assumes when unset.
    passed = {
        f"INPUT_{name.upper()}": str(spec.get("default", "")) for name, spec in inputs.items()
    }
    assert environment.read_inputs(passed) == environment.read_inputs({})
    assert inputs["only_changed"]["default"] == "true"
    assert inputs["fail_on"]["default"] == "error"
    assert inputs["suggestions"]["default"] == "true"
    assert inputs["comment"]["default"] == "false"


def test_action_outputs() -> None:
    outputs = load_yaml(REPO / "action.yml")["outputs"]
    assert set(outputs) == {"findings", "errors"}


# Dockerfile


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_installs_git_and_the_package_and_runs_miglint_action() -> None:
    instructions = dockerfile_instructions()
    base = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert len(base) == 1
    # A pinned Python slim image: a full version, never `latest`.
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base[0])
    runs = " ".join(rest for keyword, rest in instructions if keyword == "RUN")
    assert "apt-get install" in runs and " git" in runs
    assert "pip install" in runs
    entrypoint = [rest for keyword, rest in instructions if keyword == "ENTRYPOINT"]
    assert [json.loads(e) for e in entrypoint] == [["miglint", "action"]]
    # Docker actions must run as root to use the mounted workspace and command files.
    assert not [rest for keyword, rest in instructions if keyword == "USER"]


def test_dockerfile_copies_everything_the_package_needs_and_dockerignore_keeps_it() -> None:
    sources = []
    for keyword, rest in dockerfile_instructions():
        if keyword == "COPY":
            sources.extend(rest.split()[:-1])
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        result = False
        for pattern in patterns:
            negate = pattern.startswith("!")
            pattern = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
                result = not negate
        return result

    for source in sources:
        assert (REPO / source).exists(), source
        assert not ignored(source), source
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["readme"] in sources
    assert "pyproject.toml" in sources and "miglint" in sources
    # PyGithub is the `github` extra, which the image installs; the package alone lacks it.
    assert not any(d.lower().startswith("pygithub") for d in project["dependencies"])
    assert any(d.lower().startswith("pygithub") for d in project["optional-dependencies"]["github"])
    runs = " ".join(rest for keyword, rest in dockerfile_instructions() if keyword == "RUN")
    assert '"/tmp/miglint[github]"' in runs
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert "LICENSE" in sources
    assert (REPO / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


# pre-commit


def test_pre_commit_hook_definition() -> None:
    hooks = load_yaml(REPO / ".pre-commit-hooks.yaml")
    assert isinstance(hooks, list) and len(hooks) == 1
    hook = hooks[0]
    assert hook["id"] == "miglint"
    assert hook["entry"] == "miglint"
    assert hook["language"] == "python"
    assert hook["require_serial"] is True
    # The staged files are passed; miglint reads their whole project for the graph.
    assert hook["pass_filenames"] is True
    result = subprocess.run(
        [tool("pre-commit"), "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("path", "runs"),
    [
        ("shop/migrations/0001_initial.py", True),
        ("src/apps/shop/migrations/0042_auto_20240101_1200.py", True),
        ("migrations/0001_initial.py", True),
        ("shop/models.py", True),
        ("shop/models/order.py", True),
        ("shop/models/__init__.py", True),
        ("shop/views.py", False),
        ("shop/migrations/README.md", False),
        ("shop/tests/test_models_py.txt", False),
        ("docs/models.md", False),
        ("shop/my_models.py", False),
        ("dojo/db_migrations/0001_initial.py", True),
        ("shop/migrations_helpers.py", False),
    ],
)
def test_pre_commit_hook_runs_on_migrations_and_models(path: str, runs: bool) -> None:
    hook = load_yaml(REPO / ".pre-commit-hooks.yaml")[0]
    # pre-commit matches `files` with Python's re.search.
    assert bool(re.search(hook["files"], path)) is runs


# README


def project_version() -> str:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return str(project["version"])


def readme_section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("## GitHub Action, code scanning, other CI and pre-commit")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def yaml_blocks(first_line: str) -> list[str]:
    blocks = re.findall(r"```yaml\n(.*?)```", readme_section(), flags=re.DOTALL)
    return [block for block in blocks if block.startswith(first_line)]


def write_block(tmp_path: Path, name: str, block: str) -> Path:
    path = tmp_path / name
    path.write_text(block, encoding="utf-8")
    return path


def test_readme_workflows_validate_against_the_workflow_schema(tmp_path: Path) -> None:
    workflows = yaml_blocks("# .github/workflows/")
    assert len(workflows) == 2
    for index, block in enumerate(workflows):
        path = write_block(tmp_path, f"workflow{index}.yml", block)
        result = check_jsonschema("vendor.github-workflows", path)
        assert result.returncode == 0, block + result.stdout + result.stderr


def test_readme_action_workflow_has_what_the_action_needs() -> None:
    workflow = yaml.safe_load(yaml_blocks("# .github/workflows/miglint.yml")[0])
    assert workflow["permissions"] == {
        "checks": "write",
        "contents": "read",
        "pull-requests": "write",
    }
    steps = workflow["jobs"]["miglint"]["steps"]
    checkout = next(s for s in steps if s["uses"].startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    action = next(s for s in steps if s["uses"].startswith("miglint/miglint@"))
    # A tag the README says how to make: v + the version in pyproject.toml.
    assert action["uses"] == f"miglint/miglint@v{project_version()}"
    assert f"git tag -a v{project_version()} " in (REPO / "README.md").read_text()
    assert steps.index(checkout) < steps.index(action)
    assert workflow["jobs"]["miglint"]["runs-on"].startswith("ubuntu")


def test_readme_action_inputs_exist() -> None:
    inputs = set(load_yaml(REPO / "action.yml")["inputs"])
    outputs = set(load_yaml(REPO / "action.yml")["outputs"])
    section = readme_section()
    for name in re.findall(r"^\| `(\w+)`", section, flags=re.MULTILINE):
        assert name in inputs, name
    for name in re.findall(r"outputs\.(\w+)", section):
        assert name in outputs, name
    # The outputs example: a `with:` of the action names real inputs only.
    for block in re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL):
        for used in re.findall(
            r"uses: miglint/miglint@v[\d.]+\n(?:.*\n)*?\s+with:\n((?:\s{10}.*\n)+)", block
        ):
            for key in re.findall(r"^\s+(\w+):", used, flags=re.MULTILINE):
                assert key in inputs, key


def test_readme_code_scanning_workflow(tmp_path: Path) -> None:
    workflow = yaml.safe_load(yaml_blocks("# .github/workflows/miglint-code-scanning.yml")[0])
    assert workflow["permissions"]["security-events"] == "write"
    steps = workflow["jobs"]["sarif"]["steps"]
    upload = next(
        s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")
    )
    commands = [s["run"] for s in steps if "run" in s and s["run"].startswith("miglint ")]
    assert len(commands) == 1
    command, _, target = commands[0].partition(" > ")
    assert target == upload["with"]["sarif_file"]
    # The command as written produces valid SARIF on a project with findings, exit status 0.
    project = tmp_path / "project"
    pull_request_repository(
        project,
        {"shop/migrations/0001_initial.py": migration()},
        {"shop/migrations/0002_x.py": migration(dependencies='("shop", "0000_gone")')},
    )
    result = run_shell(command, project)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["version"] == "2.1.0" and document["runs"][0]["results"]


def run_shell(command: str, cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    words = [os.path.expandvars(word) for word in shlex.split(command)]
    environment_ = {**os.environ, **variables}
    for name, value in variables.items():
        words = [word.replace(f"${name}", value) for word in words]
    assert words[0] == "miglint"
    return subprocess.run(
        [sys.executable, "-m", "miglint", *words[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=environment_,
        timeout=120,
    )


def test_readme_gitlab_job(tmp_path: Path) -> None:
    block = yaml_blocks("# .gitlab-ci.yml")[0]
    result = check_jsonschema("vendor.gitlab-ci", write_block(tmp_path, ".gitlab-ci.yml", block))
    assert result.returncode == 0, result.stdout + result.stderr
    job = yaml.safe_load(block)["miglint"]
    assert job["artifacts"]["when"] == "always"
    commands = [line for line in job["script"] if line.startswith("miglint ")]
    assert len(commands) == 1
    command, _, target = commands[0].partition(" > ")
    assert target in job["artifacts"]["paths"]
    # Run it as the merge request pipeline would: only the change's findings, as JSON.
    project = tmp_path / "project"
    repository = pull_request_repository(
        project,
        {
            "shop/migrations/0001_initial.py": migration(),
            "billing/migrations/0001_initial.py": migration(dependencies='("billing", "0000_old")'),
        },
        {"shop/migrations/0002_x.py": migration(dependencies='("shop", "0000_gone")')},
    )
    git(project, "checkout", "-q", repository.head)
    result = run_shell(command, project, CI_MERGE_REQUEST_DIFF_BASE_SHA=repository.base)
    assert result.returncode == 1, result.stderr
    rows = json.loads(result.stdout)
    paths = {row["path"] for row in rows}
    assert "shop/migrations/0002_x.py" in paths
    assert not any(path.startswith("billing/") for path in paths)


def test_readme_pre_commit_snippet(tmp_path: Path) -> None:
    block = yaml_blocks("# .pre-commit-config.yaml")[0]
    config = write_block(tmp_path, ".pre-commit-config.yaml", block)
    result = subprocess.run(
        [tool("pre-commit"), "validate-config", str(config)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    repos = yaml.safe_load(block)["repos"]
    assert repos[0]["repo"] == "https://github.com/miglint/miglint"
    assert repos[0]["rev"] == f"v{project_version()}"
    hook_ids = {hook["id"] for hook in load_yaml(REPO / ".pre-commit-hooks.yaml")}
    assert {hook["id"] for hook in repos[0]["hooks"]} <= hook_ids


def test_the_action_without_pygithub_says_how_to_install_it() -> None:
    hide_pygithub = (
        "import sys; sys.modules['github'] = None; "
        "from miglint.cli.main import main; sys.exit(main(['action']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", hide_pygithub],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "miglint: error: `miglint action` needs PyGithub: pip install 'miglint[github]'\n"
    )

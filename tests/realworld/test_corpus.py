"""miglint on real Django applications: what it says must be true, and said once.

The committed corpus (tests/data/realworld-corpus.tar.xz, built by build_corpus.py from
the releases pinned in corpus.toml) is unpacked once per session and miglint is run on
each project as a user runs it (`miglint . --format json --no-cache`, from the project's
folder). The invariants are in invariants.py. Set MIGLINT_CORPUS to a folder of projects
(one sub-folder each) to run the same tests on it instead, e.g.
`MIGLINT_CORPUS=/work/corpus/src pytest tests/realworld/test_corpus.py`.
"""

from __future__ import annotations

import io
import lzma
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.realworld import corpus
from tests.realworld.build_corpus import load_manifest, tar_bytes
from tests.realworld.invariants import Violation, check_project

EXTERNAL = os.environ.get(corpus.ENVIRONMENT)


def _project_names() -> list[str]:
    if EXTERNAL:
        return [p.name for p in corpus.projects(Path(EXTERNAL))]
    return [release.folder for release in load_manifest()]


PROJECTS = _project_names()
INVARIANTS = ("MIG401", "MIG004", "MIG000", "duplicate", "contradiction")


@pytest.fixture(scope="session")
def committed_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corpus.unpack(tmp_path_factory.mktemp("realworld"))


@pytest.fixture(scope="session")
def corpus_root(request: pytest.FixtureRequest) -> Path:
    if EXTERNAL:
        return Path(EXTERNAL)
    root: Path = request.getfixturevalue("committed_root")
    return root


@pytest.fixture(scope="session")
def miglint_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return corpus.isolated_env(tmp_path_factory.mktemp("home"))


@dataclass(frozen=True)
class Checked:
    run: corpus.Run
    findings: list[dict[str, Any]]
    violations: list[Violation]


_CHECKED: dict[str, Checked] = {}


def checked(root: Path, name: str, env: dict[str, str]) -> Checked:
    """miglint's findings on one project and their violations, computed once per session."""
    if name not in _CHECKED:
        project = root / name
        result = corpus.check(project, env)
        assert result.returncode in (0, 1), f"{name}: exit {result.returncode}: {result.stderr}"
        findings = result.json()
        violations = check_project(project, findings, corpus.graph(project, env))
        _CHECKED[name] = Checked(result, findings, violations)
    return _CHECKED[name]


def _report(violations: list[Violation], limit: int = 40) -> str:
    lines = [str(v) for v in violations[:limit]]
    if len(violations) > limit:
        lines.append(f"... and {len(violations) - limit} more")
    return f"{len(violations)} violations:\n" + "\n".join(lines)


@pytest.mark.parametrize("invariant", INVARIANTS)
@pytest.mark.parametrize("name", PROJECTS)
def test_findings_keep_the_invariant(
    corpus_root: Path, miglint_env: dict[str, str], name: str, invariant: str
) -> None:
    violations = [
        v for v in checked(corpus_root, name, miglint_env).violations if v.invariant == invariant
    ]
    assert violations == [], _report(violations)


@pytest.mark.parametrize("name", PROJECTS)
def test_the_cache_gives_the_same_json(
    corpus_root: Path, miglint_env: dict[str, str], tmp_path: Path, name: str
) -> None:
    # On a copy: the cache is written into the project's tree.
    project = corpus.copy_project(corpus_root / name, tmp_path / name)
    without = corpus.check(project, miglint_env)
    filling = corpus.run(project, ".", "--format", "json", env=miglint_env)
    warm = corpus.run(project, ".", "--format", "json", env=miglint_env)
    assert (project / ".miglint_cache").is_dir()
    assert filling.returncode == warm.returncode == without.returncode
    assert filling.stdout == without.stdout
    assert warm.stdout == without.stdout


def test_the_tarball_holds_the_manifest_with_licences(committed_root: Path) -> None:
    releases = load_manifest()
    assert len(releases) >= 10
    assert sorted(p.name for p in corpus.projects(committed_root)) == sorted(
        r.folder for r in releases
    )
    notice = (committed_root / "README.txt").read_text()
    for release in releases:
        folder = committed_root / release.folder
        licences = [
            p
            for p in folder.rglob("*")
            if p.name.upper().startswith(("LICENSE", "LICENCE", "COPYING"))
        ]
        assert licences, f"{release.folder} has no licence file"
        assert f"{release.folder}/: {release.file} (sha256 {release.sha256})" in notice
        assert list(folder.rglob("migrations/*.py")), f"{release.folder} has no migrations"


def test_the_tarball_is_what_the_build_script_writes() -> None:
    # Rebuilding the tar from the tarball's own members gives the same bytes: the build is
    # deterministic (sorted members, fixed owners, modes and times), so a refresh shows up
    # in git only when a project changed. (xz with a fixed preset is deterministic too.)
    packed = corpus.TARBALL.read_bytes()
    # Every module but the tests of 19 distributions: a refresh that grows it past this
    # should look for a smaller rule (build_corpus.py --compare proves one).
    assert len(packed) < 10_000_000
    unpacked = lzma.decompress(packed)
    with tarfile.open(fileobj=io.BytesIO(unpacked)) as archive:
        infos = archive.getmembers()
        members = {
            info.name: archive.extractfile(info).read()  # type: ignore[union-attr]
            for info in infos
        }
    assert [info.name for info in infos] == sorted(members)
    assert {(i.mtime, i.mode, i.uid, i.gid, i.uname, i.gname) for i in infos} == {
        (946_684_800, 0o644, 0, 0, "", "")
    }
    assert tar_bytes(members) == unpacked

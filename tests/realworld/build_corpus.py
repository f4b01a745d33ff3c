"""Build tests/data/realworld-corpus.tar.xz from pinned releases on PyPI (maintainer script).

    python tests/realworld/build_corpus.py            # download, verify, rebuild the tarball
    python tests/realworld/build_corpus.py --check    # rebuild and fail if the bytes differ
    python tests/realworld/build_corpus.py --compare  # and check miglint finds the same on
                                                      # each whole distribution

Each project of tests/realworld/corpus.toml is downloaded with `pip download --no-deps
--require-hashes` (the exact file named there, its sha256 checked by pip and again here).
Only what miglint may read is kept, unmodified: every Python module except test modules
(`test_*.py`, `*_test.py`, `conftest.py`, which never run when `makemigrations` does),
the requirement, lock, packaging and miglint configuration files at the root, and the
licence files. (miglint reads any module for the project's patches of Django, so a rule
that follows imports from the models is not enough.) The tarball is written
deterministically (sorted members, fixed owners, modes and mtimes), so rebuilding from the
same manifest gives the same bytes. Needs the network (PyPI) and pip; the tests do not.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import lzma
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the maintainer script runs on 3.11 like the tests
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "corpus.toml"
TARBALL = HERE.parent / "data" / "realworld-corpus.tar.xz"

# 2000-01-01T00:00:00Z: a fixed mtime, so that the archive does not depend on the build date.
MTIME = 946_684_800
# Files larger than this are left out (none of the kept kinds is this large in practice).
MAX_FILE = 2_000_000

_LICENCE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|AUTHORS)([.-][^/]*)?$", re.IGNORECASE)
_PACKAGING = re.compile(
    r"^(pyproject\.toml|setup\.cfg|setup\.py|Pipfile|Pipfile\.lock|poetry\.lock|uv\.lock"
    r"|PKG-INFO|METADATA|requirements[^/]*\.txt|[^/]*\.in"
    r"|miglint\.toml|\.miglint\.toml|miglint-baseline\.json)$"
)


@dataclass(frozen=True)
class Release:
    """One pinned distribution of the manifest."""

    name: str
    version: str
    file: str
    sha256: str
    license: str
    exclude: tuple[str, ...] = ()

    @property
    def folder(self) -> str:
        """The project's folder in the tarball, e.g. `django-cms-5.1.3`."""
        return f"{re.sub(r'[-_.]+', '-', self.name).lower()}-{self.version}"

    @property
    def is_wheel(self) -> bool:
        return self.file.endswith(".whl")


def load_manifest(path: Path = MANIFEST) -> list[Release]:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return [
        Release(
            name=entry["name"],
            version=entry["version"],
            file=entry["file"],
            sha256=entry["sha256"],
            license=entry["license"],
            exclude=tuple(entry.get("exclude", ())),
        )
        for entry in data["project"]
    ]


def download(release: Release, directory: Path) -> Path:
    """The release's file, downloaded by pip into `directory` and checked against its hash."""
    target = directory / release.file
    if not target.exists():
        requirement = directory / f"{release.folder}.txt"
        requirement.write_text(
            f"{release.name}=={release.version} --hash=sha256:{release.sha256}\n"
        )
        binary = ["--only-binary", ":all:"] if release.is_wheel else ["--no-binary", ":all:"]
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--require-hashes"),
                *binary,
                *("-d", str(directory), "-r", str(requirement)),
            ],
            check=True,
        )
    if not target.exists():
        raise SystemExit(f"pip did not download {release.file}")
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != release.sha256:
        raise SystemExit(f"{release.file}: sha256 {digest}, manifest says {release.sha256}")
    return target


def read_archive(path: Path, limit: int | None = MAX_FILE) -> dict[str, bytes]:
    """Every regular file of a wheel or sdist up to `limit` bytes (None: all), by its path
    (an sdist's top folder removed)."""
    largest = limit if limit is not None else float("inf")
    files: dict[str, bytes] = {}
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir() and info.file_size <= largest:
                    files[info.filename] = archive.read(info)
        return files
    with tarfile.open(path) as archive:
        for member in archive.getmembers():
            if not member.isfile() or member.size > largest:
                continue
            _, _, inner = member.name.partition("/")
            handle = archive.extractfile(member)
            if inner and handle is not None:
                files[inner] = handle.read()
    return files


def _is_packaging(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    if parts[0].endswith(".dist-info"):
        return name == "METADATA"
    if len(parts) == 1:
        return bool(_PACKAGING.match(name))
    # A requirements/ folder at the root (requirements/base.txt, requirements/prod.in).
    return len(parts) == 2 and parts[0] == "requirements" and name.endswith((".txt", ".in"))


def _is_licence(path: str) -> bool:
    parts = path.split("/")
    at_root = len(parts) == 1
    in_dist_info = parts[0].endswith(".dist-info") and len(parts) <= 3
    return (at_root or in_dist_info) and bool(_LICENCE.match(parts[-1]))


def _is_python(path: str) -> bool:
    """A Python module of the distribution other than a test module: miglint may read any
    of them (migrations, models and what they use, apps.py, settings, and every module for
    the project's patches of Django's autodetector). Test modules are the ones that never
    run when `makemigrations` does; what a test suite needs miglint to read (test apps,
    their models and migrations, test settings) is in modules of other names."""
    name = posixpath.basename(path)
    if not path.endswith(".py") or path.split("/")[0].endswith(".dist-info"):
        return False
    if "/migrations/" in f"/{path}" or "settings" in name:
        return True
    return not (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py")


def _excluded(path: str, exclude: tuple[str, ...]) -> bool:
    return any(path == e.rstrip("/") or path.startswith(e) for e in exclude)


def select(files: dict[str, bytes], exclude: tuple[str, ...] = ()) -> dict[str, bytes]:
    """The files miglint reads, out of one distribution's files."""
    return {
        path: data
        for path, data in sorted(files.items())
        if not _excluded(path, exclude)
        and (_is_python(path) or _is_packaging(path) or _is_licence(path))
    }


def _notice(releases: list[Release]) -> bytes:
    lines = [
        "miglint's real-world test corpus.",
        "",
        "Each folder holds unmodified files taken from one release on PyPI: only the files",
        "miglint may read (every Python module except test modules, packaging and",
        "requirement files) and the release's licence files, which apply to the files of",
        "that folder. Everything else of the release was left out.",
        "Built by tests/realworld/build_corpus.py from tests/realworld/corpus.toml.",
        "",
    ]
    for release in releases:
        lines.append(
            f"{release.folder}/: {release.file} (sha256 {release.sha256}), {release.license}"
        )
    return ("\n".join(lines) + "\n").encode()


def tar_bytes(members: dict[str, bytes]) -> bytes:
    """An uncompressed tar of `members` (path -> bytes), the same bytes for the same input."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(members):
            data = members[path]
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def write_tarball(members: dict[str, bytes], target: Path) -> bytes:
    """A deterministic .tar.xz of `members` (path -> bytes); returns its bytes."""
    compressed = lzma.compress(tar_bytes(members), preset=9 | lzma.PRESET_EXTREME)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(compressed)
    return compressed


def build(releases: list[Release], downloads: Path) -> dict[str, bytes]:
    members: dict[str, bytes] = {"README.txt": _notice(releases)}
    for release in releases:
        archive = download(release, downloads)
        kept = select(read_archive(archive), release.exclude)
        if not any(_is_licence(path) for path in kept):
            raise SystemExit(f"{release.file}: no licence file found")
        for path, data in kept.items():
            members[f"{release.folder}/{path}"] = data
        print(f"{release.folder}: {len(kept)} files", file=sys.stderr)
    return members


def compare(
    releases: list[Release], downloads: Path, members: dict[str, bytes], scratch: Path
) -> bool:
    """Whether miglint finds the same on each whole distribution as on its excerpt."""
    script = Path(sys.executable).with_name("miglint")
    command = [str(script)] if script.exists() else [sys.executable, "-P", "-m", "miglint"]
    env = {**os.environ, "XDG_CACHE_HOME": str(scratch / "cache")}
    same = True
    for release in releases:
        whole, excerpt = scratch / "whole" / release.folder, scratch / "excerpt" / release.folder
        files = read_archive(downloads / release.file, limit=None)
        for root, contents in (
            (whole, {p: d for p, d in files.items() if not _excluded(p, release.exclude)}),
            (
                excerpt,
                {
                    p.partition("/")[2]: d
                    for p, d in members.items()
                    if p.startswith(f"{release.folder}/")
                },
            ),
        ):
            for path, data in contents.items():
                target = root / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        outputs = []
        for root in (whole, excerpt):
            result = subprocess.run(
                [*command, ".", "--format", "json", "--no-cache"],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            outputs.append((result.returncode, result.stdout))
        if outputs[0] != outputs[1]:
            same = False
            print(f"{release.folder}: miglint finds differently on the excerpt", file=sys.stderr)
        else:
            print(f"{release.folder}: the same JSON on the excerpt", file=sys.stderr)
        shutil.rmtree(whole)
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--download-dir", type=Path, help="keep the downloads here")
    parser.add_argument("--output", type=Path, default=TARBALL)
    parser.add_argument(
        "--check", action="store_true", help="fail if the rebuilt tarball differs from --output"
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also run miglint on each whole distribution and on its excerpt; fail if the "
        "findings differ (the excerpt left out something miglint reads)",
    )
    args = parser.parse_args(argv)
    releases = load_manifest()
    with tempfile.TemporaryDirectory() as scratch:
        downloads = args.download_dir or Path(scratch)
        downloads.mkdir(parents=True, exist_ok=True)
        members = build(releases, downloads)
        if args.compare and not compare(releases, downloads, members, Path(scratch)):
            return 1
        if args.check:
            before = args.output.read_bytes()
            after = write_tarball(members, Path(scratch) / "rebuilt.tar.xz")
            if before != after:
                print(f"{args.output} differs from a rebuild", file=sys.stderr)
                return 1
            print(f"{args.output} is up to date", file=sys.stderr)
            return 0
        data = write_tarball(members, args.output)
    print(f"{args.output}: {len(data):,} bytes, {len(members)} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

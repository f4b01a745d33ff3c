"""Time miglint against Django's own check on generated projects of the given shapes and sizes.

    python bench/run.py --migrations 1000 10000 --shape large wide

For each shape and size, on the same files and in one run: (d) reading every migration
file plus `ast.parse` (the floor for any tool that reads Python source), (a) miglint with
--no-cache, (a') miglint's first run filling an empty cache, (b) miglint warm (nothing
changed), (c) miglint after one migration was touched (a comment appended, its facts the
same), (c') after one migration was edited (an operation added or removed: its app and
the apps that depend on it are analysed again), and (e) `manage.py makemigrations --check
--dry-run` (after one untimed run that also checks that Django accepts the project and
finds no changes, and leaves its .pyc files behind, so Django is timed at its best). Every
time is that of a fresh process (start-up included), the median of --repeat runs, both
wall-clock and CPU seconds (user+sys, workers included; steadier on a busy machine). Peak
memory is the largest resident set of any miglint process (workers included). miglint's
JSON output must be identical in (a), (a'), (b) and (c), and (c') identical to --no-cache
on the edited files, or the benchmark stops.

Shapes (bench/generate.py): "large" is a large real project (apps of 200 migrations,
linear histories, few cross-app foreign keys); "wide" is the shape benchmarked before
(apps of 100 migrations, merge migrations, half of all foreign keys across apps, on which
Django's check is slow).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


@dataclass
class Sample:
    wall: float
    cpu: float
    # Largest resident set (MB) of the process and of any of its children.
    peak_mb: float
    # A digest of what it printed (outputs are compared, not kept: a benchmark process
    # holding megabytes of them would count in the peak memory of what it starts).
    output: bytes = b""


@dataclass
class Result:
    size: int
    shape: str
    times: dict[str, list[Sample]] = field(default_factory=dict)

    def wall(self, name: str) -> float:
        return statistics.median(s.wall for s in self.times[name])

    def cpu(self, name: str) -> float:
        return statistics.median(s.cpu for s in self.times[name])


def run_child(command: list[str], cwd: str, env: dict[str, str]) -> Sample:
    """Run `command`, returning its wall time, CPU time and peak memory."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        output = hashlib.file_digest(out, "blake2b").digest()
        errors = err.read()
    lines = errors.decode(errors="replace").strip().splitlines()
    peak_kb = float(usage.ru_maxrss)
    if lines and lines[-1].startswith("{"):
        report = json.loads(lines[-1])
        peak_kb = max(peak_kb, report["self_kb"], report["children_kb"])
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{errors.decode()}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, peak_kb / 1024, output)


def child_main(mode: str, arguments: list[str]) -> int:
    """Inside the measured process: run miglint or the floor, then report peak memory."""
    import resource

    status = 0
    if mode == "miglint":
        from miglint.cli.main import main

        status = main(arguments)
    elif mode == "floor":
        import ast

        for directory, subdirs, files in os.walk(arguments[0]):
            subdirs.sort()
            if os.path.basename(directory) != "migrations":
                continue
            for name in sorted(files):
                if name.endswith(".py") and not name.startswith("_"):
                    with open(os.path.join(directory, name), "rb") as handle:
                        ast.parse(handle.read())
    sys.stdout.flush()
    report = {
        "self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }
    print(json.dumps(report), file=sys.stderr)
    return status


def measure(
    shape: str, size: int, workdir: str, repeat: int, django_repeat: int, python: str
) -> Result:
    from bench.generate import SHAPES, generate

    root = os.path.join(workdir, f"{shape}_{size}")
    if os.path.exists(root):
        shutil.rmtree(root)
    count = generate(root, size, shape=shape)
    print(f"\n{count} migrations, shape {shape!r} ({SHAPES[shape].description}), in {root}")
    env = {
        **os.environ,
        "XDG_CACHE_HOME": os.path.join(workdir, "xdg"),
        "NO_COLOR": "1",
        # miglint runs from the snapshot taken at the start (see main).
        "PYTHONPATH": os.path.join(workdir, "code"),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    django = [python, "manage.py", "makemigrations", "--check", "--dry-run"]
    check = subprocess.run(django, cwd=root, env=env, capture_output=True, text=True, check=False)
    if check.returncode != 0 or "No changes detected" not in check.stdout:
        raise SystemExit(
            f"Django does not accept the generated project:\n{check.stdout}{check.stderr}"
        )
    print("  Django: loads the graph, no changes detected", flush=True)
    result = Result(size, shape)
    me = [python, os.path.abspath(__file__), "--child"]
    lint = [*me, "miglint", root, "--format", "json", "--fail-on", "never"]
    cache_dir = os.path.join(root, ".miglint_cache")
    folder = os.path.join(root, "app_000", "migrations")
    candidates = sorted(
        os.path.join(folder, name)
        for name in os.listdir(folder)
        if name[0].isdigit() and "operations = [\n" in _read(os.path.join(folder, name))
    )
    target = candidates[len(candidates) // 2]
    original = _read(target)
    edited = original.replace(
        "operations = [\n",
        'operations = [\n        migrations.RunSQL("SELECT 1", migrations.RunSQL.noop),\n',
        1,
    )

    def sample(name: str, command: list[str], cwd: str = workdir) -> Sample:
        measured = run_child(command, cwd, env)
        result.times.setdefault(name, []).append(measured)
        print(
            f"  {name:<10} {measured.wall:8.2f} s wall {measured.cpu:8.2f} s cpu"
            f" {measured.peak_mb:6.0f} MB",
            flush=True,
        )
        return measured

    for _ in range(repeat):
        sample("floor", [*me, "floor", root])
    for _ in range(repeat):
        sample("no-cache", [*lint, "--no-cache"])
    for _ in range(repeat):
        shutil.rmtree(cache_dir, ignore_errors=True)
        sample("first", lint)
    for _ in range(repeat):
        sample("warm", lint)
    for round_ in range(repeat):
        _write(target, original + f"# touched {round_} {time.time()}\n")
        sample("touched", lint)
    for round_ in range(repeat):
        # Each round changes the file: edited, back to the original, edited again...
        _write(target, edited if round_ % 2 == 0 else original)
        sample("edited", lint)
    reference_edited = run_child([*lint, "--no-cache"], workdir, env).output
    _write(target, original)
    outputs = {name: {s.output for s in samples} for name, samples in result.times.items()}
    reference = outputs["no-cache"]
    for name in ("first", "warm", "touched"):
        if len(reference) != 1 or outputs[name] != reference:
            raise SystemExit(f"miglint's output differs between the --no-cache and {name} runs")
    if result.times["edited"][-1].output != reference_edited:
        raise SystemExit("miglint's output on the edited files differs from --no-cache")
    for _ in range(django_repeat):
        sample("django", django, cwd=root)
    return result


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


COLUMNS = ("floor", "no-cache", "first", "warm", "touched", "edited", "django")


def report(results: list[Result]) -> str:
    lines = []
    for shape in dict.fromkeys(r.shape for r in results):
        chosen = sorted((r for r in results if r.shape == shape), key=lambda r: r.size)
        lines.append(f"shape {shape!r}:")
        lines.append("")
        for label, pick in (("wall s", Result.wall), ("cpu s", Result.cpu)):
            lines.append(
                f"| migrations ({label}) | "
                + " | ".join(COLUMNS)
                + " | a/e | a'/a | b/e | c/e | c'/e | a/d | peak MB |"
            )
            lines.append("|---:|" + "---:|" * (len(COLUMNS) + 7))
            for result in chosen:
                value = {c: pick(result, c) for c in COLUMNS}
                peak = max(s.peak_mb for name in COLUMNS[1:-1] for s in result.times[name])
                ratios = (
                    value["no-cache"] / value["django"],
                    value["first"] / value["no-cache"],
                    value["warm"] / value["django"],
                    value["touched"] / value["django"],
                    value["edited"] / value["django"],
                )
                lines.append(
                    f"| {result.size} | "
                    + " | ".join(f"{value[c]:.2f}" for c in COLUMNS)
                    + " | "
                    + " | ".join(f"{r:.3f}" for r in ratios)
                    + f" | {value['no-cache'] / value['floor']:.1f} | {peak:.0f} |"
                )
            lines.append("")
        if len(chosen) >= 2:
            small, large = chosen[0], chosen[-1]
            lines.append(f"growth {large.size}/{small.size} migrations (wall, cpu):")
            for c in COLUMNS:
                lines.append(
                    f"  {c:<9} {large.wall(c) / small.wall(c):6.1f}x"
                    f"  {large.cpu(c) / small.cpu(c):6.1f}x"
                )
            lines.append("")
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child_main(sys.argv[2], sys.argv[3:])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--migrations", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument(
        "--shape", nargs="+", default=["large", "wide"], help="large, wide (bench/generate.py)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each miglint timing")
    parser.add_argument("--django-repeat", type=int, default=1, help="timed Django runs")
    parser.add_argument("--workdir", help="where to generate (default: a temporary folder)")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="miglint-bench-")
    os.makedirs(workdir, exist_ok=True)
    sys.path.insert(0, REPO)
    # A copy of miglint as it is now: an edit to the working tree during the run would
    # otherwise change the cache key (it includes miglint's source) and the code measured.
    import miglint

    snapshot = os.path.join(workdir, "code", "miglint")
    shutil.rmtree(snapshot, ignore_errors=True)
    shutil.copytree(
        os.path.dirname(miglint.__file__), snapshot, ignore=shutil.ignore_patterns("__pycache__")
    )
    results = [
        measure(shape, size, workdir, args.repeat, args.django_repeat, sys.executable)
        for shape in args.shape
        for size in sorted(args.migrations)
    ]
    print()
    print(report(results))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time miglint against Django's own check on generated projects of the given sizes.

    python bench/run.py --migrations 1000 10000

For each size, on the same files and in one run: (d) reading every migration file plus
`ast.parse` (the floor for any tool that reads Python source), (a) miglint cold (empty
cache), (b) miglint warm (nothing changed), (c) miglint after one migration changed, and
(e) `manage.py makemigrations --check --dry-run` (after one untimed run that also checks
that Django accepts the project and finds no changes, and leaves its .pyc files behind, so
Django is timed at its best). Every time is the wall-clock time of a fresh process (start-up
included), the median of --repeat runs; CPU seconds (user+sys, workers included) are shown
too because they are steadier on a busy machine. Peak memory is the largest resident set
of the cold run's processes. miglint's JSON output must be identical in (a), (b), (c) and
with --no-cache, or the benchmark stops.
"""

from __future__ import annotations

import argparse
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
    output: bytes = b""


@dataclass
class Result:
    size: int
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
        output, errors = out.read(), err.read()
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
        from miglint.cli import main

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


def measure(size: int, workdir: str, repeat: int, django_repeat: int, python: str) -> Result:
    from bench.generate import generate

    root = os.path.join(workdir, f"project_{size}")
    if os.path.exists(root):
        shutil.rmtree(root)
    count = generate(root, size)
    print(f"\n{count} migrations in {root}", flush=True)
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
    result = Result(size)
    me = [python, os.path.abspath(__file__), "--child"]
    lint = [*me, "miglint", root, "--format", "json", "--fail-on", "never"]
    cache_dir = os.path.join(root, ".miglint_cache")
    touched = sorted(
        os.path.join(root, "app_000", "migrations", name)
        for name in os.listdir(os.path.join(root, "app_000", "migrations"))
        if name[0].isdigit()
    )
    target = touched[len(touched) // 2]
    with open(target, "rb") as handle:
        original = handle.read()

    def sample(name: str, command: list[str], cwd: str = workdir) -> Sample:
        measured = run_child(command, cwd, env)
        result.times.setdefault(name, []).append(measured)
        print(f"  {name:<10} {measured.wall:8.2f} s wall {measured.cpu:8.2f} s cpu", flush=True)
        return measured

    for _ in range(repeat):
        sample("floor", [*me, "floor", root])
    for _ in range(repeat):
        shutil.rmtree(cache_dir, ignore_errors=True)
        sample("cold", lint)
    for _ in range(repeat):
        sample("warm", lint)
    for round_ in range(repeat):
        with open(target, "wb") as handle:
            handle.write(original + f"# touched {round_} {time.time()}\n".encode())
        sample("touched", lint)
    with open(target, "wb") as handle:
        handle.write(original)
    sample("no-cache", [*lint, "--no-cache"])
    outputs = {name: {s.output for s in samples} for name, samples in result.times.items()}
    reference = outputs["cold"]
    for name in ("warm", "touched", "no-cache"):
        if len(reference) != 1 or outputs[name] != reference:
            raise SystemExit(f"miglint's output differs between the cold and the {name} runs")
    for _ in range(django_repeat):
        sample("django", django, cwd=root)
    return result


def report(results: list[Result]) -> str:
    columns = ("floor", "cold", "warm", "touched", "no-cache", "django")
    lines = [
        "| migrations | "
        + " | ".join(f"{c} s" for c in columns)
        + " | a/e | b/e | c/e | a/d | peak MB (a) |",
        "|---:|" + "---:|" * (len(columns) + 5),
    ]
    for result in results:
        wall = {c: result.wall(c) for c in columns}
        peak = max(s.peak_mb for s in result.times["cold"])
        lines.append(
            f"| {result.size} | "
            + " | ".join(f"{wall[c]:.2f}" for c in columns)
            + f" | {wall['cold'] / wall['django']:.3f} | {wall['warm'] / wall['django']:.3f}"
            f" | {wall['touched'] / wall['django']:.3f} | {wall['cold'] / wall['floor']:.1f}"
            f" | {peak:.0f} |"
        )
    lines.append("")
    lines.append("CPU seconds (user+sys, all processes), median:")
    lines.append("| migrations | " + " | ".join(columns) + " |")
    lines.append("|---:|" + "---:|" * len(columns))
    for result in results:
        lines.append(
            f"| {result.size} | " + " | ".join(f"{result.cpu(c):.2f}" for c in columns) + " |"
        )
    if len(results) >= 2:
        small, large = results[0], results[-1]
        lines.append("")
        lines.append(f"growth {large.size}/{small.size} migrations (wall, cpu):")
        for c in columns:
            lines.append(
                f"  {c:<9} {large.wall(c) / small.wall(c):6.1f}x  {large.cpu(c) / small.cpu(c):6.1f}x"
            )
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child_main(sys.argv[2], sys.argv[3:])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--migrations", type=int, nargs="+", default=[1000, 10000])
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
        measure(size, workdir, args.repeat, args.django_repeat, sys.executable)
        for size in sorted(args.migrations)
    ]
    print()
    print(report(results))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

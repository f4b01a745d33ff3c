"""`miglint plan APP TARGET [PATH]`: what `migrate APP TARGET` would unapply, step by step.

Exit status: 0 when every step can be reversed, 1 when one cannot, 2 for an unknown app or
target (or a graph Django could not load).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from miglint.report.common import display_path
from miglint.state.plan import Plan, PlanError, PlanStep, make_plan

DESCRIPTION = """\
Show what `python manage.py migrate APP TARGET` would run, planned as Django's executor
plans it, assuming every migration on disk is applied (the state after a deploy): the
migrations it would unapply (TARGET earlier than the app's leaf, or `zero`), in order and
across the apps that depend on them; for each, whether Django can reverse it and what data
the step destroys. TARGET may be a name prefix, as `migrate` accepts (e.g. 0003).
Exit status 1 when a step cannot be reversed.
"""


def register(subparsers: Any) -> Any:
    parser = subparsers.add_parser(
        "plan",
        help="what rolling back to TARGET would unapply (like `migrate APP TARGET`)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("app", metavar="APP", help="app label")
    parser.add_argument("target", metavar="TARGET", help="migration name, prefix, or zero")
    parser.add_argument("path", nargs="?", default=".", metavar="PATH", help="default: .")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--config", metavar="FILE", help="config file (for excludes)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    parser.add_argument("-v", "--verbose", action="store_true", help="tracebacks of errors")
    return run


def run(args: argparse.Namespace) -> int:
    from miglint.cli.main import load
    from miglint.cli.status import EXIT_FINDINGS, EXIT_OK, UsageError

    args.paths = [args.path]
    project, _ = load(args)
    try:
        plan = make_plan(project, args.app, args.target)
    except PlanError as error:
        raise UsageError(str(error)) from None
    for warning in plan.warnings:
        print(f"miglint: warning: {warning}", file=sys.stderr)
    output = render_json(plan) if args.format == "json" else render_text(plan)
    sys.stdout.write(output)
    sys.stdout.flush()
    return EXIT_FINDINGS if plan.irreversible else EXIT_OK


def as_dict(plan: Plan) -> dict[str, Any]:
    return {
        "app": plan.app,
        "target": plan.target,
        "direction": plan.direction,
        "steps": [
            {
                "app": step.migration.app,
                "migration": step.migration.name,
                "path": display_path(step.migration.path),
                "reversible": step.reversible,
                "reasons": list(step.reasons),
                "destroys": list(step.destroys),
            }
            for step in plan.steps
        ],
    }


def render_json(plan: Plan) -> str:
    return json.dumps(as_dict(plan), indent=2, ensure_ascii=False) + "\n"


def render_text(plan: Plan) -> str:
    command = f"migrate {plan.app} {plan.target}"
    if not plan.steps:
        if plan.target == "zero":
            return f"`{command}`: {plan.app} has no migrations to unapply.\n"
        return (
            f"`{command}`: {plan.app}.{plan.target} is the app's latest migration; "
            "nothing to unapply.\n"
        )
    blocked = plan.irreversible
    count = len(plan.steps)
    lines = [
        f"`{command}` unapplies {count} migration{'s' if count != 1 else ''}, in this order:",
        "",
    ]
    width = len(str(count))
    for number, step in enumerate(plan.steps, start=1):
        lines.extend(_step_lines(number, width, step))
    lines.append("")
    if blocked:
        first = blocked[0]
        done = plan.steps.index(first)
        lines.append(
            f"Cannot roll back: {len(blocked)} step{'s' if len(blocked) != 1 else ''} cannot be "
            f"reversed. `{command}` stops with IrreversibleError at {first.migration.label}"
            + (f", after unapplying {done} migration{'s' if done != 1 else ''}." if done else ".")
        )
    else:
        destroyed = sum(len(step.destroys) for step in plan.steps)
        lines.append(
            "Every step can be reversed"
            + (
                f"; {destroyed} thing{'s' if destroyed != 1 else ''} would be dropped (see above)."
                if destroyed
                else "."
            )
        )
    return "\n".join(lines) + "\n"


def _step_lines(number: int, width: int, step: PlanStep) -> list[str]:
    flag = "" if step.reversible else "  IRREVERSIBLE"
    lines = [
        f"{number:>{width}}. {step.migration.label}{flag}  ({display_path(step.migration.path)})"
    ]
    indent = " " * (width + 2)
    for reason in step.reasons:
        lines.append(f"{indent}! {reason}")
    for item in step.destroys:
        lines.append(f"{indent}destroys {item}")
    return lines

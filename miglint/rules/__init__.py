"""Rules: every rule miglint has, one module per family, one class per rule.

Takes the loaded `Project` (parsed facts, the graph, and what the state stage works out
from them); never reads a file. Gives `Finding`s, and for some the `Edit` a fix would make
(built with `miglint.fixes`). `base` says what a rule is; `all_rules` finds every rule class
in this package's modules, so adding a rule touches one file.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from miglint.rules.base import MigrationRule, Rule

__all__ = ["MigrationRule", "Rule", "all_rules", "rule_for_code"]


def all_rules() -> tuple[type[Rule], ...]:
    """Every concrete rule class in this package, sorted by code."""
    found: dict[str, type[Rule]] = {}
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, Rule) and "code" in vars(value):
                existing = found.setdefault(value.code, value)
                if existing is not value:
                    raise RuntimeError(f"two rules share code {value.code}: {existing}, {value}")
    return tuple(found[code] for code in sorted(found))


def rule_for_code(code: str) -> type[Rule] | None:
    for rule in all_rules():
        if rule.code == code.upper() or rule.name == code.lower():
            return rule
    return None

"""Rules are found by walking ``rewrites.rules``: adding a file adds a rule, nothing else."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from functools import lru_cache

from rewrites import rules as rules_package
from rewrites.core import Rule


@lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    found: list[type[Rule]] = []
    for info in pkgutil.iter_modules(rules_package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{rules_package.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Rule)
                and value.__module__ == module.__name__
                and "code" in value.__dict__
            ):
                found.append(value)
    return tuple(sorted(found, key=lambda rule: rule.code))


def matches(rule: type[Rule], selector: str) -> bool:
    """The one meaning of a rule selector, wherever it is given (--select/--ignore,
    ``[tool.migrate]`` select/ignore, per-file-ignores): ``ALL``, a code prefix (``MIG3``), a code
    or a rule name, in any case."""
    selector = selector.strip()
    return (
        selector.upper() == "ALL" or rule.code.startswith(selector.upper()) or rule.name == selector.lower()
    )


def unknown_selectors(selectors: Iterable[str]) -> list[str]:
    """Selectors that match no rule (a typo in --select should not silently select nothing)."""
    return [s for s in selectors if not any(matches(rule, s) for rule in all_rules())]


class SelectorError(ValueError):
    """Rule selectors that cannot mean what was meant; the message names where they were given."""


def check_selectors(selectors: Iterable[str], where: str) -> tuple[str, ...]:
    """The one check of rule selectors, wherever they are given (``where`` names it for the
    message): an empty one would match every rule, and one that matches no rule is a typo that
    would silently select, ignore or exempt nothing."""
    chosen = tuple(selectors)
    if any(not s.strip() for s in chosen):
        raise SelectorError(f"{where} holds an empty rule selector")
    unknown = unknown_selectors(chosen)
    if unknown:
        raise SelectorError(f"{where}: no rule matches {', '.join(map(repr, unknown))} (see `migrate rules`)")
    return chosen


def select_rules(select: Iterable[str] | None = None, ignore: Iterable[str] = ()) -> tuple[type[Rule], ...]:
    """Rules that a selector in ``select`` matches (all rules without one), minus those ``ignore``
    matches."""
    chosen = all_rules()
    if select is not None:
        selectors = list(select)
        chosen = tuple(r for r in chosen if any(matches(r, s) for s in selectors))
    ignored = list(ignore)
    return tuple(r for r in chosen if not any(matches(r, s) for s in ignored))


def find_rule(selector: str) -> type[Rule] | None:
    for rule in all_rules():
        if rule.code == selector.upper() or rule.name == selector.lower():
            return rule
    return None

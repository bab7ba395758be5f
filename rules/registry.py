"""Discovers the rules: every module under ``rules/<library>/`` holds one rule."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable, Sequence
from functools import cache

from rules.framework import Rule

LIBRARY_PACKAGES = ("rules.python", "rules.pandas", "rules.polars", "rules.torch")


class UnknownRule(ValueError):
    """A rule code, prefix or name that matches no rule."""


def _rule_in(module) -> type[Rule]:
    found = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, Rule)
        and obj is not Rule
        and obj.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise RuntimeError(f"{module.__name__} must define exactly one rule, found {len(found)}")
    return found[0]


@cache
def all_rules() -> tuple[type[Rule], ...]:
    rules = []
    for package_name in LIBRARY_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{package_name}.{info.name}")
            rules.append(_rule_in(module))
    return tuple(sorted(rules, key=lambda r: r.code))


def get(code_or_name: str) -> type[Rule]:
    for rule in all_rules():
        if code_or_name.upper() == rule.code or code_or_name == rule.name:
            return rule
    raise UnknownRule(f"unknown rule {code_or_name!r}; `kaizen rules` lists them")


def _matches(rule: type[Rule], selector: str) -> bool:
    selector = selector.strip()
    return rule.code.startswith(selector.upper()) or rule.name == selector or selector.upper() == "ALL"


def validate_selectors(selectors: Iterable[str]) -> None:
    for selector in selectors:
        if not any(_matches(rule, selector) for rule in all_rules()):
            raise UnknownRule(f"unknown rule code or prefix {selector!r}; `kaizen rules` lists them")


def select(select: Sequence[str] | None = None, ignore: Sequence[str] = ()) -> list[type[Rule]]:
    """Rules matching any ``select`` selector (all when None) and no ``ignore``
    selector. A selector is a code (KZ201), a prefix (KZ2, KZ) or a name."""
    validate_selectors(list(select or ()) + list(ignore))
    chosen = [r for r in all_rules() if select is None or any(_matches(r, s) for s in select)]
    return [r for r in chosen if not any(_matches(r, s) for s in ignore)]

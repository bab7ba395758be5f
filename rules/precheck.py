"""A cheap second filter before LibCST: facts read from Python's own ``ast``.

Trigger words (``Rule.TRIGGERS``) let a file through when a word occurs
anywhere in its text, so ``.item()`` in a docstring or a call outside any loop
is enough. Parsing with ``ast`` costs a fraction of a LibCST parse with scope
and qualified-name metadata, so the engine reads a few structural facts once
per file and each rule's ``precheck`` asks whether its pattern can occur at
all. A precheck must never be stricter than the rule: it answers "maybe"
(True) or "certainly not" (False). The tests hold every rule's flagged
examples to that, and compare findings with and without prechecks on real
package sources.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _callee_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


@dataclass
class TreeFacts:
    """Structural facts of one module. Names are a callee's last identifier
    (``torch.cat(...)`` gives ``cat``), with ``from x import a as b`` aliases
    read back to ``a``, and as written too."""

    call_names: set[str] = field(default_factory=set)
    loop_call_names: set[str] = field(default_factory=set)
    """Calls anywhere inside a loop or a comprehension."""
    for_iter_call_names: set[str] = field(default_factory=set)
    """Calls in the iterable of a ``for`` statement."""
    comprehension_iter_call_names: set[str] = field(default_factory=set)
    """Calls in the iterable of a comprehension or generator expression."""
    loop_self_update_calls: set[str] = field(default_factory=set)
    """Calls that are the whole value of ``name = f(... name ...)`` inside a
    loop (``x = torch.cat([x, y])`` gives ``cat``)."""
    loop_accumulated_call_names: set[str] = field(default_factory=set)
    """Calls anywhere in what a loop accumulates: the value of an augmented
    assignment, of ``name = ... name ...``, or the argument of ``.append(...)``."""
    chained_calls: set[tuple[str, str]] = field(default_factory=set)
    """(inner callee, method) for a method called directly on a call's result:
    ``torch.zeros(3).to(d)`` gives ``("zeros", "to")``."""
    pops_front: bool = False
    """Some call ``x.pop(0)``."""
    loop_indexer_assignment: bool = False
    """An assignment to ``x.loc[...]`` or ``x.iloc[...]`` inside a loop."""
    zero_argument_eval: bool = False
    """Some call ``x.eval()`` without arguments."""

    @classmethod
    def from_source(cls, source: str) -> TreeFacts | None:
        """The facts, or None when ``ast`` cannot parse the text (then the
        LibCST parse decides what to report)."""
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        collector = _Collector()
        collector.visit(tree)
        return collector.facts


class _Collector(ast.NodeVisitor):
    def __init__(self) -> None:
        self.facts = TreeFacts()
        self.aliases: dict[str, str] = {}
        self.loop_depth = 0

    def _names(self, func: ast.expr) -> set[str]:
        name = _callee_name(func)
        if name is None:
            return set()
        return {name, self.aliases.get(name, name)}

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name

    def _in_loop(self, node: ast.AST) -> None:
        self.loop_depth += 1
        self.generic_visit(node)
        self.loop_depth -= 1

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        for call in (n for n in ast.walk(node.iter) if isinstance(n, ast.Call)):
            self.facts.for_iter_call_names |= self._names(call.func)
        self._in_loop(node)

    visit_AsyncFor = visit_For

    def visit_While(self, node: ast.While) -> None:
        self._in_loop(node)

    def _comprehension(self, node: ast.AST) -> None:
        for generator in node.generators:  # type: ignore[attr-defined]
            for call in (n for n in ast.walk(generator.iter) if isinstance(n, ast.Call)):
                self.facts.comprehension_iter_call_names |= self._names(call.func)
        self._in_loop(node)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def _accumulated(self, value: ast.AST) -> None:
        for call in (n for n in ast.walk(value) if isinstance(n, ast.Call)):
            self.facts.loop_accumulated_call_names |= self._names(call.func)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if self.loop_depth:
            self._accumulated(node.value)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if self.loop_depth:
            targets = {t.id for t in node.targets if isinstance(t, ast.Name)}
            reads = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
            if targets & reads:
                self._accumulated(node.value)
                if isinstance(node.value, ast.Call):
                    self.facts.loop_self_update_calls |= self._names(node.value.func)
            if any(
                isinstance(t, ast.Subscript)
                and isinstance(t.value, ast.Attribute)
                and t.value.attr in ("loc", "iloc")
                for t in node.targets
            ):
                self.facts.loop_indexer_assignment = True
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        names = self._names(node.func)
        self.facts.call_names |= names
        if self.loop_depth:
            self.facts.loop_call_names |= names
        func = node.func
        if isinstance(func, ast.Attribute):
            if isinstance(func.value, ast.Call):
                for inner in self._names(func.value.func):
                    self.facts.chained_calls.add((inner, func.attr))
            if (
                func.attr == "pop"
                and len(node.args) == 1
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value == 0
            ):
                self.facts.pops_front = True
            if func.attr == "append" and self.loop_depth:
                for argument in node.args:
                    self._accumulated(argument)
            if func.attr == "eval" and not node.args and not node.keywords:
                self.facts.zero_argument_eval = True
        self.generic_visit(node)

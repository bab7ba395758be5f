"""Shapes shared by the list-as-queue rules (KZ101, KZ102).

A module whose name starts with ``_`` holds no rule; the registry skips it.
"""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst
import libcst.matchers as m

POP_ZERO = m.Call(
    func=m.Attribute(attr=m.Name("pop")),
    args=[m.Arg(value=m.Integer("0"), keyword=None, star="")],
)


def is_pop_zero(node: cst.CSTNode) -> bool:
    return m.matches(node, POP_ZERO)


def dotted(node: cst.CSTNode) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def _statement_of(node: cst.CSTNode, parents: Mapping) -> cst.SimpleStatementLine | None:
    current = node
    while current in parents:
        current = parents[current]
        if isinstance(current, cst.SimpleStatementLine):
            return current
        if isinstance(current, cst.BaseCompoundStatement):
            return None
    return None


def _next_statement(line: cst.SimpleStatementLine, parents: Mapping) -> cst.BaseStatement | None:
    block = parents.get(line)
    body = getattr(block, "body", None)
    if not isinstance(body, (list, tuple)):
        return None
    index = next((i for i, stmt in enumerate(body) if stmt is line), None)
    if index is None or index + 1 >= len(body):
        return None
    return body[index + 1]


def removes_from_mapping(pop_call: cst.Call, parents: Mapping) -> bool:
    """Whether the popped value is used at once to delete a mapping key:
    ``d.pop(keys.pop(0))``, ``del d[keys.pop(0)]`` or
    ``oldest = keys.pop(0)`` followed by ``del d[oldest]`` / ``d.pop(oldest)``.
    That is a FIFO cache (KZ102's business), not a plain queue."""
    parent = parents.get(pop_call)
    if isinstance(parent, cst.Arg):
        call = parents.get(parent)
        if m.matches(call, m.Call(func=m.Attribute(attr=m.Name("pop")))) and call.args[0] is parent:
            return True
    if isinstance(parent, cst.Index):
        element = parents.get(parent)
        subscript = parents.get(element)
        if isinstance(subscript, cst.Subscript) and isinstance(parents.get(subscript), cst.Del):
            return True
    if isinstance(parent, cst.Assign) and m.matches(parent, m.Assign(targets=[m.AssignTarget(target=m.Name())])):
        name = parent.targets[0].target.value
        line = _statement_of(parent, parents)
        following = _next_statement(line, parents) if line is not None else None
        if following is not None and deletes_key_named(following, name):
            return True
    return False


def deletes_key_named(statement: cst.CSTNode, name: str) -> bool:
    """``del d[name]`` or ``d.pop(name)`` as a whole statement."""
    return m.matches(
        statement,
        m.SimpleStatementLine(
            body=[
                m.Del(target=m.Subscript(slice=[m.SubscriptElement(slice=m.Index(value=m.Name(name)))]))
                | m.Expr(value=m.Call(func=m.Attribute(attr=m.Name("pop")), args=[m.Arg(value=m.Name(name))]))
            ]
        ),
    )

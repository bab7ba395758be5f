"""Analysis shared by the torch rules: qualified names, loops, names that a
rewrite may safely take over, and tensor evidence.

Not a rule module (the leading underscore keeps the registry out of it).
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider, ScopeProvider

# Statements that may sit between an accumulation and its loop without
# changing when the accumulation runs: plain blocks and if/else branches.
_TRANSPARENT = (
    cst.SimpleStatementLine,
    cst.SimpleStatementSuite,
    cst.IndentedBlock,
    cst.If,
    cst.Else,
)
_SCOPE_BOUNDARY = (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.Module)


def qualified_names(rule: cst.MetadataDependent, node: cst.CSTNode) -> set[str]:
    try:
        return {q.name for q in rule.get_metadata(QualifiedNameProvider, node, set())}
    except KeyError:
        return set()


def is_torch_call(rule, node: cst.CSTNode, names: Iterable[str]) -> bool:
    """``node`` is a call of one of the ``torch.*`` functions ``names``, however
    torch was imported (``import torch as th``, ``from torch import cat``)."""
    if not isinstance(node, cst.Call):
        return False
    wanted = set(names)
    return bool(qualified_names(rule, node.func) & wanted)


def is_torch_namespace_call(rule, node: cst.CSTNode) -> bool:
    """A call of anything under ``torch.`` (``torch.sum``, ``F.mse_loss``)."""
    if not isinstance(node, cst.Call):
        return False
    return any(name.startswith("torch.") for name in qualified_names(rule, node.func))


def parent(rule, node: cst.CSTNode) -> cst.CSTNode | None:
    try:
        return rule.get_metadata(ParentNodeProvider, node)
    except KeyError:
        return None


def ancestors(rule, node: cst.CSTNode):
    current = parent(rule, node)
    while current is not None:
        yield current
        current = parent(rule, current)


class LoopContext:
    """Where a statement sits relative to its innermost enclosing loop."""

    def __init__(
        self, loop: cst.For | cst.While | None, direct: bool, small: cst.BaseSmallStatement
    ):
        self.loop = loop
        # True when only blocks and if/else branches lie between the statement
        # and the loop, so it runs exactly when the loop body reaches it.
        self.direct = direct
        self.small = small


def loop_context(rule, small: cst.BaseSmallStatement) -> LoopContext:
    direct = True
    for node in ancestors(rule, small):
        if isinstance(node, (cst.For, cst.While)):
            return LoopContext(node, direct, small)
        if isinstance(node, _SCOPE_BOUNDARY):
            return LoopContext(None, False, small)
        if not isinstance(node, _TRANSPARENT):
            direct = False
    return LoopContext(None, False, small)


def exception_exposed(rule, loop: cst.CSTNode) -> str | None:
    """Why an exception raised inside ``loop`` might be caught within the same
    scope (after which a half-built accumulator could be read), or None.

    ``with`` blocks whose context managers are torch calls (``no_grad``,
    ``autocast``) never swallow exceptions, so they are allowed."""
    for node in ancestors(rule, loop):
        if isinstance(node, _SCOPE_BOUNDARY):
            return None
        if isinstance(node, (cst.Try, cst.TryStar)):
            return "the loop sits inside a try block"
        if isinstance(node, cst.With) and not all(
            is_torch_namespace_call(rule, item.item) for item in node.items
        ):
            return "the loop sits inside a with block that could suppress exceptions"
    return None


class _NameUses(cst.CSTVisitor):
    """Every ``Name`` node that refers to a variable called ``name`` (attribute
    names and keyword names are not variables)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.found: list[cst.Name] = []

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name:
            self.found.append(node)


def name_uses(node: cst.CSTNode, name: str) -> list[cst.Name]:
    visitor = _NameUses(name)
    node.visit(visitor)
    return visitor.found


def all_identifiers(module: cst.Module) -> set[str]:
    names: set[str] = set()

    class _Collect(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            names.add(node.value)

    module.visit(_Collect())
    return names


def fresh_name(taken: set[str], base: str) -> str:
    """``base`` or ``base_2``, ``base_3``...: the first one not used anywhere in
    the module, so a new variable can never shadow or be shadowed."""
    candidate, index = base, 2
    while candidate in taken:
        candidate, index = f"{base}_{index}", index + 1
    taken.add(candidate)
    return candidate


def local_only(rule, target: cst.Name) -> str | None:
    """Why the variable bound by ``target`` might be seen outside the plain
    flow of its own scope (a closure, another function, ``global``), or None."""
    try:
        scope = rule.get_metadata(ScopeProvider, target)
    except KeyError:
        return "its scope is unknown"
    if scope is None:
        return "its scope is unknown"
    assignments = scope.assignments[target.value]
    if not assignments:
        return f"`{target.value}` is declared global or nonlocal"
    for assignment in assignments:
        for reference in assignment.references:
            try:
                ref_scope = rule.get_metadata(ScopeProvider, reference.node)
            except KeyError:
                return "a reference to it has no known scope"
            if ref_scope is not scope:
                return f"`{target.value}` is also read by a nested function or another scope"
    return None


def bound_before(rule, loop: cst.CSTNode, name: str) -> cst.Assign | None:
    """The plain ``name = ...`` that gives ``name`` its value when ``loop``
    starts: the nearest earlier statement of the same block that touches
    ``name`` must be that assignment. A loop directly inside ``with`` blocks
    looks on past them (their bodies run unconditionally). None otherwise."""
    statement = loop
    while True:
        block = parent(rule, statement)
        statements = getattr(block, "body", None)
        if not isinstance(statements, (list, tuple)) or statement not in statements:
            return None
        for earlier in reversed(statements[: statements.index(statement)]):
            assign = _plain_assignment(earlier, name)
            if assign is not None:
                return assign
            if name_uses(earlier, name):
                return None
        owner = parent(rule, block)
        if not isinstance(owner, cst.With):
            return None
        statement = owner


def _plain_assignment(statement: cst.CSTNode, name: str) -> cst.Assign | None:
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    found = None
    for small in statement.body:
        if isinstance(small, cst.Assign) and any(
            isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets
        ):
            found = small
        elif found is not None and name_uses(small, name):
            return None
    return found


def as_atom(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``expr`` safe to put before ``.attr`` (parenthesised when it is an
    operator expression)."""
    if expr.lpar or isinstance(
        expr,
        (
            cst.Name,
            cst.Attribute,
            cst.Call,
            cst.Subscript,
            cst.List,
            cst.Tuple,
            cst.Dict,
            cst.SimpleString,
            cst.ConcatenatedString,
            cst.FormattedString,
            cst.Integer,
            cst.Float,
        ),
    ):
        if isinstance(expr, (cst.Integer, cst.Float)) and not expr.lpar:
            return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return expr
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def method_call(receiver: cst.BaseExpression, method: str, *args: cst.Arg) -> cst.Call:
    return cst.Call(
        func=cst.Attribute(value=as_atom(receiver), attr=cst.Name(method)), args=list(args)
    )


def is_zero_literal(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Integer):
        return expr.evaluated_value == 0
    if isinstance(expr, cst.Float):
        return expr.evaluated_value == 0.0
    return False


def int_literal(expr: cst.BaseExpression) -> int | None:
    """The value of ``3`` or ``-1``, else None."""
    if isinstance(expr, cst.Integer):
        return int(expr.evaluated_value)
    if (
        isinstance(expr, cst.UnaryOperation)
        and isinstance(expr.operator, cst.Minus)
        and isinstance(expr.expression, cst.Integer)
    ):
        return -int(expr.expression.evaluated_value)
    return None


# Methods that only torch tensors have (numpy arrays and Python numbers do not).
TORCH_ONLY_METHODS = {"detach", "cpu", "cuda", "backward"}
# Methods that, called on a tensor, return a tensor.
TENSOR_METHODS = {
    "sum",
    "mean",
    "float",
    "double",
    "half",
    "long",
    "int",
    "bool",
    "argmax",
    "argmin",
    "abs",
    "sqrt",
    "exp",
    "log",
    "squeeze",
    "unsqueeze",
    "view",
    "reshape",
    "flatten",
    "clone",
    "to",
    "norm",
    "pow",
    "eq",
    "ne",
    "gt",
    "lt",
    "ge",
    "le",
    "softmax",
    "sigmoid",
    "max",
    "min",
    "std",
    "var",
    "prod",
    "round",
    "contiguous",
}
MODEL_METHODS = {"eval", "train", "parameters", "zero_grad", "state_dict"}


def module_like_names(rule, module: cst.Module) -> set[str]:
    """Callables that are models or loss modules: names (or ``self.x``) on
    which ``.eval()``/``.train()``/``.parameters()`` are called, or that are
    assigned a ``torch.nn`` object."""
    found: set[str] = set()

    class _Collect(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in MODEL_METHODS:
                found.add(module.code_for_node(func.value))

        def visit_Assign(self, node: cst.Assign) -> None:
            value = node.value
            if isinstance(value, cst.Call) and any(
                n.startswith("torch.nn.") and not n.startswith("torch.nn.functional.")
                for n in qualified_names(rule, value.func)
            ):
                for target in node.targets:
                    found.add(module.code_for_node(target.target))

    module.visit(_Collect())
    return found

"""What the iterrows rules (KZ201, KZ202) share: finding how a row is read,
and writing the exact positional replacement.

``DataFrame.iterrows()`` builds each row as ``Series(values_of_row,
index=columns)``. The values come from ``frame.to_numpy()``, but the Series
constructor then infers a dtype from the row, and that inference can change a
value: a row whose other values are all strings turns ``None`` into NaN (the
pandas 3 ``str`` dtype), a row holding datetimes turns NaN or None into NaT,
and a frame of only datetimes yields ``Timestamp`` where ``to_numpy()`` holds
``numpy.datetime64``. So reading ``frame.to_numpy()`` by position is exact
only when no row can be re-inferred:

- some column has a numpy int, unsigned or bool dtype: such a value is never
  missing, never a string and never a date, so every row stays as it is; or
- every column is a numpy number or the ``str`` dtype, whose only missing
  value is NaN, which inference keeps as NaN.

The rewrite checks exactly that at run time, together with unique,
single-level column labels that contain the keys read, and otherwise iterates
the real ``iterrows()`` Series (reading them by label), so the result is the
same on every frame.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ParentNodeProvider

from rules.framework import Import

# The guard in the generated code: to_numpy() rows equal iterrows() rows.
DTYPE_GUARD = (
    "any(isinstance(t, {numpy}.dtype) and t.kind in \"biu\" for t in {frame}.dtypes)\n"
    "or all(isinstance(t, {numpy}.dtype) and t.kind in \"biufc\" or t == \"str\" for t in {frame}.dtypes)"
)

EXPLANATION = "# iterrows() values, read by position from to_numpy() where that is exact"

_SCOPE_NODES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
_LITERAL_DEFAULT = m.OneOf(
    m.Integer(),
    m.Float(),
    m.SimpleString(),
    m.Name("None"),
    m.Name("True"),
    m.Name("False"),
    m.UnaryOperation(operator=m.Minus(), expression=m.Integer() | m.Float()),
)


@dataclass
class Key:
    """A column key the body reads: a string literal or a plain name."""

    node: cst.BaseExpression
    code: str
    label: str  # the text the position variable is named after

    @property
    def is_literal(self) -> bool:
        return isinstance(self.node, cst.SimpleString)


@dataclass
class Read:
    """One read of the row: ``row[key]``, ``row.get(key, default)`` or ``row.key``."""

    node: cst.BaseExpression  # the whole expression to replace
    key: Key
    kind: str  # "item", "get" or "attr"
    default: cst.BaseExpression | None = None


@dataclass
class RowReads:
    reads: list[Read] = field(default_factory=list)
    problem: str | None = None

    def keys(self, kind: str | None = None) -> list[Key]:
        """Distinct keys in order of first appearance."""
        seen: dict[str, Key] = {}
        for read in self.reads:
            if kind is None or read.kind == kind:
                seen.setdefault(read.key.code, read.key)
        return list(seen.values())


def iterrows_target(iter_node: cst.BaseExpression) -> cst.BaseExpression | None:
    """The frame expression of ``<frame>.iterrows()``, else None."""
    if m.matches(iter_node, m.Call(func=m.Attribute(attr=m.Name("iterrows")), args=[])):
        return iter_node.func.value  # type: ignore[union-attr]
    return None


def pair_target(target: cst.BaseExpression) -> tuple[cst.Name, cst.Name] | None:
    """``(index, row)`` when ``target`` is a pair of plain names."""
    if m.matches(target, m.Tuple(elements=[m.Element(m.Name()), m.Element(m.Name())])):
        first, second = (element.value for element in target.elements)  # type: ignore[union-attr]
        if first.value != second.value:
            return first, second
    return None


def _string_key(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString) and "b" not in node.prefix.lower():
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def series_attributes() -> frozenset[str] | None:
    """Names ``row.<name>`` would resolve on a Series before any column."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency here
        return None
    return frozenset(dir(pd.Series))


def collect_reads(
    visitor: cst.MetadataDependent,
    roots: list[cst.CSTNode],
    row: str,
    index: str | None,
    names_ok: bool,
) -> RowReads:
    """How the ``roots`` (a loop body, or a comprehension's parts) use ``row``.

    Every use must be a plain read with a constant key (or, with
    ``names_ok``, a plain name key); anything else sets ``problem``.
    ``index``, when given, must not be used at all.
    """
    result = RowReads()
    attributes = None
    for root in roots:
        if index is not None and m.findall(root, m.Name(index)):
            for name in m.findall(root, m.Name(index)):
                if _is_variable(visitor, name):
                    result.problem = f"the index variable `{index}` is used"
                    return result
        for name in m.findall(root, m.Name(row)):
            if not _is_variable(visitor, name):
                continue
            parent = visitor.get_metadata(ParentNodeProvider, name)
            read = None
            if _inside_nested_scope(visitor, name, root):
                result.problem = f"`{row}` is used inside a nested function or class"
                return result
            if isinstance(parent, cst.Subscript) and parent.value is name:
                read = _item_read(parent, names_ok)
                if read is not None and not _is_load(visitor, parent):
                    read = None
            elif isinstance(parent, cst.Attribute) and parent.value is name:
                grand = visitor.get_metadata(ParentNodeProvider, parent)
                if parent.attr.value == "get" and isinstance(grand, cst.Call) and grand.func is parent:
                    read = _get_read(grand)
                elif not isinstance(grand, cst.Call) or grand.func is not parent:
                    if attributes is None:
                        attributes = series_attributes() or frozenset()
                    attr = parent.attr.value
                    if attr not in attributes and not attr.startswith("_") and _is_load(visitor, parent):
                        key = Key(cst.SimpleString(f'"{attr}"'), f'"{attr}"', attr)
                        read = Read(parent, key, "attr")
            if read is None:
                result.problem = f"`{row}` is used other than by reading a column with a constant key"
                return result
            result.reads.append(read)
    return result


def _is_variable(visitor: cst.MetadataDependent, name: cst.Name) -> bool:
    """False for names that are attribute names or keyword names, not variables."""
    parent = visitor.get_metadata(ParentNodeProvider, name)
    if isinstance(parent, cst.Attribute) and parent.attr is name:
        return False
    if isinstance(parent, cst.Arg) and parent.keyword is name:
        return False
    return not isinstance(parent, (cst.ImportAlias, cst.FunctionDef, cst.ClassDef, cst.Param))


def _inside_nested_scope(visitor: cst.MetadataDependent, node: cst.CSTNode, root: cst.CSTNode) -> bool:
    current = node
    while current is not root:
        current = visitor.get_metadata(ParentNodeProvider, current)
        if isinstance(current, _SCOPE_NODES):
            return True
    return False


def _is_load(visitor: cst.MetadataDependent, node: cst.CSTNode) -> bool:
    """False when ``node`` is assigned to or deleted (``row["x"] = 1``)."""
    parent = visitor.get_metadata(ParentNodeProvider, node)
    if isinstance(parent, (cst.AssignTarget, cst.Del)):
        return False
    if isinstance(parent, (cst.AugAssign, cst.AnnAssign)) and parent.target is node:
        return False
    if isinstance(parent, (cst.CompFor, cst.For)) and parent.target is node:
        return False
    if isinstance(parent, cst.Element):
        container = visitor.get_metadata(ParentNodeProvider, parent)
        if isinstance(container, (cst.Tuple, cst.List)):
            return _is_load(visitor, container)
    if isinstance(parent, cst.StarredElement):
        return _is_load(visitor, parent)
    return True


def _key_from(node: cst.BaseExpression, names_ok: bool) -> Key | None:
    text = _string_key(node)
    if text is not None:
        return Key(node, node.value, text)
    if names_ok and isinstance(node, cst.Name) and node.value not in ("None", "True", "False"):
        return Key(node, node.value, node.value)
    return None


def _item_read(subscript: cst.Subscript, names_ok: bool) -> Read | None:
    if len(subscript.slice) != 1 or not isinstance(subscript.slice[0].slice, cst.Index):
        return None
    index = subscript.slice[0].slice
    if index.star is not None:
        return None
    key = _key_from(index.value, names_ok)
    return Read(subscript, key, "item") if key else None


def _get_read(call: cst.Call) -> Read | None:
    args = call.args
    if len(args) != 2 or any(arg.keyword or arg.star for arg in args):
        return None
    key = _key_from(args[0].value, names_ok=False)
    if key is None or not m.matches(args[1].value, _LITERAL_DEFAULT):
        return None
    return Read(call, key, "get", default=args[1].value)


# -- writing the replacement ------------------------------------------------
_IDENTIFIER_JUNK = re.compile(r"[^0-9a-zA-Z_]+")


class NamePool:
    """Fresh variable names that clash with no name in the module."""

    def __init__(self, module: cst.Module) -> None:
        self.taken = {node.value for node in m.findall(module, m.Name())}

    def fresh(self, base: str) -> str:
        base = _IDENTIFIER_JUNK.sub("_", base).strip("_").lower() or "column"
        if base[0].isdigit() or keyword.iskeyword(base):
            base = f"column_{base}"
        name, counter = base, 1
        while name in self.taken:
            name, counter = f"{base}_{counter}", counter + 1
        self.taken.add(name)
        return name


@dataclass
class Plan:
    """The statements that choose the rows and the key positions."""

    prelude: list[cst.BaseStatement]
    rows: str
    positions: dict[tuple[str, str], str]  # ("item" or "get", key code) -> variable
    imports: tuple[Import, ...] = ()


def _binds(module: cst.Module, name: str) -> int:
    """How many places bind ``name`` anywhere in ``module``."""
    target = m.Name(name)
    count = len(m.findall(module, m.AsName(name=target)))
    count += len(m.findall(module, m.Param(name=target)))
    count += len(m.findall(module, m.FunctionDef(name=target) | m.ClassDef(name=target)))
    count += len(m.findall(module, m.ImportAlias(name=target, asname=None)))
    for kind in (m.AssignTarget(), m.AugAssign(), m.AnnAssign(), m.NamedExpr(), m.For(), m.CompFor()):
        for node in m.findall(module, kind):
            count += len(m.findall(node.target, target))
    for node in m.findall(module, m.Global() | m.Nonlocal()):
        count += len(m.findall(node, target))
    return count


def numpy_reference(module: cst.Module) -> tuple[str, tuple[Import, ...]]:
    """How the generated guard names numpy. A module-level ``import numpy as
    np`` (or ``import numpy``) is reused when nothing else binds that name, so
    the fix adds no second import of numpy; otherwise it adds ``import numpy``."""
    for statement in module.body:
        if not m.matches(statement, m.SimpleStatementLine(body=[m.Import()])):
            continue
        for alias in statement.body[0].names:
            if m.matches(alias.name, m.Name("numpy")):
                name = alias.asname.name.value if alias.asname else "numpy"
                if _binds(module, name) == 1:
                    return name, ()
    return "numpy", (Import("numpy"),)


def positional_plan(
    pool: NamePool, frame: str, row: str, reads: RowReads, module: cst.Module
) -> Plan:
    """Code choosing ``rows`` and one position variable per key read."""
    columns = pool.fresh("columns")
    rows = pool.fresh("rows")
    item_keys = reads.keys("item") + [k for k in reads.keys("attr") if k.code not in {i.code for i in reads.keys("item")}]
    get_keys = reads.keys("get")
    positions = {("item", key.code): pool.fresh(f"{key.label}_at") for key in item_keys}
    positions.update({("get", key.code): pool.fresh(f"{key.label}_at") for key in get_keys})
    fast, slow = [], []
    for key in item_keys:
        fast.append(f"{columns}.get_loc({key.code})")
        slow.append(key.code)
    for key in get_keys:
        fast.append(f"{columns}.get_loc({key.code}) if {key.code} in {columns} else None")
        slow.append(f"{key.code} if {key.code} in {columns} else None")
    targets = ", ".join([rows, *positions.values()])
    conditions = [f"{columns}.is_unique", f"{columns}.nlevels == 1"]
    if item_keys:
        listed = ", ".join(key.code for key in item_keys) + ("," if len(item_keys) == 1 else "")
        conditions.append(f"all(isinstance(key, str) and key in {columns} for key in ({listed}))")
    numpy, imports = numpy_reference(module)
    guard = DTYPE_GUARD.format(frame=frame, numpy=numpy).replace("\n", "\n        ")
    conditions.append(f"(\n        {guard}\n    )")
    condition = "\n    and ".join(conditions)
    text = (
        f"{columns} = {frame}.columns\n"
        f"if (\n    {condition}\n):\n"
        f"    {targets} = {frame}.to_numpy(), {', '.join(fast)}\n"
        f"else:\n"
        f"    {targets} = ({row} for _, {row} in {frame}.iterrows()), {', '.join(slow)}\n"
    )
    parsed = cst.parse_module(text).with_changes(
        default_indent=module.default_indent, default_newline=module.default_newline
    )
    body = list(parsed.body)
    body[0] = body[0].with_changes(leading_lines=[cst.EmptyLine(comment=cst.Comment(EXPLANATION))])
    return Plan(body, rows, positions, imports)


def position_kind(read: Read) -> str:
    return "get" if read.kind == "get" else "item"


def replacement_for(read: Read, row: str, position: str, module: cst.Module) -> cst.BaseExpression:
    if read.kind == "get":
        default = module.code_for_node(read.default)
        return cst.parse_expression(f"({row}[{position}] if {position} is not None else {default})")
    if read.kind == "item":
        subscript = read.node
        element = subscript.slice[0]
        return subscript.with_changes(
            slice=[element.with_changes(slice=element.slice.with_changes(value=cst.Name(position)))]
        )
    return cst.parse_expression(f"{row}[{position}]")


class NodeSwapper(cst.CSTTransformer):
    """Replaces original nodes (matched by identity) with new ones."""

    def __init__(self, swaps: dict[int, cst.CSTNode]) -> None:
        super().__init__()
        self.swaps = swaps

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        return self.swaps.get(id(original_node), updated_node)


def rewrite_reads(root: cst.CSTNode, reads: RowReads, row: str, plan: Plan, module: cst.Module) -> cst.CSTNode:
    swaps = {
        id(read.node): replacement_for(read, row, plan.positions[position_kind(read), read.key.code], module)
        for read in reads.reads
    }
    return root.visit(NodeSwapper(swaps))

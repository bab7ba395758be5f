"""KZ301: a Python loop over ``DataFrame.iter_rows`` that only reads columns."""

from __future__ import annotations

import re

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ParentNodeProvider, PositionProvider, ScopeProvider

from rules.framework import Bench, Equivalence, Invalid, Rule, Safety, Valid
from rules.precheck import TreeFacts
from rules.python._fifo import dotted

_ITER_ROWS = m.Call(func=m.Attribute(attr=m.Name("iter_rows")))


class _Swap(cst.CSTTransformer):
    def __init__(self, replacements: dict) -> None:
        super().__init__()
        self._replacements = replacements

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        return self._replacements.get(id(original_node), updated_node)


def _column_list(frame: str, columns: list[cst.SimpleString]) -> cst.BaseExpression:
    lists = [f"{frame}[{column.value}].to_list()" for column in columns]
    if len(lists) == 1:
        return cst.parse_expression(lists[0])
    return cst.parse_expression(f"zip({', '.join(lists)})")


def _plain_column(node: cst.CSTNode) -> bool:
    """A string literal naming one column: polars reads ``*`` and ``^...$`` as patterns."""
    if not isinstance(node, cst.SimpleString) or "b" in node.prefix.lower():
        return False
    value = node.evaluated_value
    return isinstance(value, str) and value != "*" and not (value.startswith("^") and value.endswith("$"))


class PolarsIterRowsLoop(Rule):
    """## What it does
    Flags ``for`` loops over ``DataFrame.iter_rows()`` whose body only reads
    single columns of each row: ``for row in df.iter_rows(named=True):``
    reading ``row["a"]``, or ``for a, b in df.select(["a", "b"]).iter_rows():``.

    ## Why is this bad?
    ``iter_rows`` builds a Python tuple for every row (and with ``named=True``
    a dict as well) before the loop body sees a value. Converting just the
    columns the loop reads, each in one call (``Series.to_list()``), and
    zipping them skips the per-row containers.

    ## Example
    ```python
    total = 0.0
    for row in df.iter_rows(named=True):
        total += row["price"] * row["qty"]

    for a, b in df.select(["a", "b"]).iter_rows():
        print(a, b)
    ```

    ## Use instead
    ```python
    total = 0.0
    for row_price, row_qty in zip(df["price"].to_list(), df["qty"].to_list()):
        total += row_price * row_qty

    for a, b in zip(df["a"].to_list(), df["b"].to_list()):
        print(a, b)
    ```

    ## Fix safety
    The values are the same Python objects of the same types: ``to_list``
    and ``iter_rows`` convert each value the same way. The equivalence check
    compares them exactly on generated frames with integer, float (NaN, null,
    infinities), float32, string, boolean, date, datetime, duration and list
    columns, nulls everywhere, and empty frames. ``to_list`` is used rather
    than iterating the Series itself, because a Series of lists iterates as
    Series objects where ``iter_rows`` gives Python lists.

    The ``select(...)`` form is safe: ``select`` already fails before the loop
    when a column is missing, as the rewrite does. The ``named=True`` form is
    unsafe: a column the loop reads but the frame lacks fails before the loop
    after the fix, even on an empty frame, where the original fails with
    ``KeyError`` only when it reaches that read. The fix is offered only when
    the row variable is read as ``row["literal"]`` and nothing else, inside
    the loop body; memory grows from one buffered batch of rows to one Python
    list per column read.
    """

    code = "KZ301"
    name = "polars-iter-rows-loop"
    message = (
        "loop over `iter_rows()` builds a Python container per row; "
        "zip the columns it reads instead (`df[col].to_list()`)"
    )
    safety = Safety.SAFE
    TRIGGERS = ("iter_rows",)

    @classmethod
    def precheck(cls, facts: TreeFacts) -> bool:
        return "iter_rows" in facts.for_iter_call_names

    METADATA_DEPENDENCIES = (PositionProvider, ScopeProvider, ParentNodeProvider)

    VALID = (
        Valid(
            """
            for a, b in zip(df["a"].to_list(), df["b"].to_list()):
                print(a, b)
            """
        ),
        Valid("rows = list(df.iter_rows())\n"),
    )
    INVALID = (
        Invalid(
            """
            def pairs(df):
                out = []
                for a, b in df.select(["a", "b"]).iter_rows():  # ids and scores
                    out.append((a, b))
                return out
            """,
            """
            def pairs(df):
                out = []
                for a, b in zip(df["a"].to_list(), df["b"].to_list()):  # ids and scores
                    out.append((a, b))
                return out
            """,
        ),
        Invalid(
            """
            def total(df):
                result = 0.0
                for row in df.iter_rows(named=True):
                    # weight each price
                    result += row["price"] * row["qty"] + row["price"]
                return result
            """,
            """
            def total(df):
                result = 0.0
                for row_price, row_qty in zip(df["price"].to_list(), df["qty"].to_list()):
                    # weight each price
                    result += row_price * row_qty + row_price
                return result
            """,
            unsafe=True,
        ),
        Invalid(
            """
            for record in frame.iter_rows(named=True):
                print(record["id"])
            """,
            """
            for record_id in frame["id"].to_list():
                print(record_id)
            """,
            unsafe=True,
        ),
        # The row escapes: it is passed on whole.
        Invalid(
            """
            for row in df.iter_rows(named=True):
                handle(row)
            """
        ),
        # The row is read after the loop (the last one).
        Invalid(
            """
            for row in df.iter_rows(named=True):
                print(row["a"])
            print(row["a"])
            """
        ),
    )

    EQUIVALENCE = Equivalence(
        template="""
        pairs = []
        for a, b in df.select(["a", "b"]).iter_rows():
            pairs.append((a, b))
        named = []
        for row in df.iter_rows(named=True):
            named.append((row["c"], row["a"], row["c"]))
        """,
        inputs="rules.equivalence.polars_inputs:frames",
        outputs=("pairs", "named"),
        max_examples=150,
        unsafe=True,
    )

    BENCH = Bench(
        setup="""
        import polars as pl

        n = 200_000
        df = pl.DataFrame(
            {
                "id": range(n),
                "price": [float(i % 97) for i in range(n)],
                "qty": [i % 7 for i in range(n)],
                "name": [f"item{i % 13}" for i in range(n)],
            }
        )
        """,
        # The select form: its fix is the safe one the rule's label promises
        # (`kaizen rule KZ301 --bench --unsafe-fixes` does not change it).
        before="""
        total = 0.0
        for price, qty in df.select(["price", "qty"]).iter_rows():
            total += price * qty
        """,
        size="200,000 rows, 4 columns (float, int, int, string), 2 read",
    )

    def visit_For(self, node: cst.For) -> None:
        if not m.matches(node.iter, _ITER_ROWS):
            return
        call: cst.Call = node.iter
        frame = call.func.value
        if not call.args:
            self._tuple_form(node, call, frame)
        elif len(call.args) == 1 and m.matches(call.args[0], m.Arg(keyword=m.Name("named"), value=m.Name("True"))):
            self._named_form(node, frame)

    # -- for a, b in df.select([...]).iter_rows() ---------------------------
    def _tuple_form(self, loop: cst.For, call: cst.Call, frame: cst.BaseExpression) -> None:
        select = m.Call(func=m.Attribute(attr=m.Name("select")))
        if not m.matches(frame, select):
            return
        source = dotted(frame.func.value)
        columns = self._selected_columns(frame)
        targets = loop.target.elements if isinstance(loop.target, cst.Tuple) else None
        if source is None or columns is None or targets is None:
            self.report(
                call,
                f"{self.message}; not fixed: the frame or its columns are not plain names",
                safety=Safety.DISPLAY_ONLY,
            )
            return
        if len(columns) != len(targets) or not all(
            isinstance(t.value, cst.Name) for t in targets
        ):
            self.report(
                call,
                f"{self.message}; not fixed: the loop unpacks a different number of names",
                safety=Safety.DISPLAY_ONLY,
            )
            return
        self.report(call, replacement=_column_list(source, columns))

    def _selected_columns(self, select: cst.Call) -> list[cst.SimpleString] | None:
        values = [arg.value for arg in select.args]
        if any(arg.keyword is not None or arg.star for arg in select.args):
            return None
        if len(values) == 1 and isinstance(values[0], (cst.List, cst.Tuple)):
            values = [element.value for element in values[0].elements]
        if not values or not all(_plain_column(v) for v in values):
            return None
        names = [v.evaluated_value for v in values]
        if len(set(names)) != len(names):
            return None
        return values

    # -- for row in df.iter_rows(named=True) --------------------------------
    def _named_form(self, loop: cst.For, frame: cst.BaseExpression) -> None:
        source = dotted(frame)
        row = loop.target
        if source is None or not isinstance(row, cst.Name):
            self.report(
                loop.iter, f"{self.message}; not fixed: the frame is not a plain name", safety=Safety.DISPLAY_ONLY
            )
            return
        verdict = self._row_reads(loop, row)
        if isinstance(verdict, str):
            self.report(loop.iter, f"{self.message}; not fixed: {verdict}", safety=Safety.DISPLAY_ONLY)
            return
        reads, columns = verdict
        names = self._fresh_names(row.value, columns)
        replacements = {
            id(subscript): cst.Name(names[subscript.slice[0].slice.value.evaluated_value])
            for subscript in reads
        }
        new_body = loop.body.visit(_Swap(replacements))
        ordered = list(names.values())
        target = (
            cst.Name(ordered[0])
            if len(ordered) == 1
            else cst.Tuple([cst.Element(cst.Name(n)) for n in ordered], lpar=[], rpar=[])
        )
        new_loop = loop.with_changes(
            target=target, iter=_column_list(source, list(columns.values())), body=new_body
        )
        self.report(
            loop.iter,
            f"{self.message}; unsafe fix: a column missing from the frame then fails before "
            "the loop, even when the frame is empty",
            replacement=new_loop,
            replace=loop,
            safety=Safety.UNSAFE,
        )

    def _row_reads(self, loop: cst.For, row: cst.Name):
        scopes = self.metadata[ScopeProvider]
        parents = self.metadata[ParentNodeProvider]
        scope = scopes.get(row)
        assignments = list(scope.assignments[row.value]) if scope is not None else []
        if len(assignments) != 1 or assignments[0].node is not row:
            return f"`{row.value}` is bound elsewhere too"
        reads: list[cst.Subscript] = []
        columns: dict[str, cst.SimpleString] = {}
        body_reads = {id(n) for n in m.findall(loop.body, m.Name(row.value))}
        for access in assignments[0].references:
            node = access.node
            if id(node) not in body_reads or scopes.get(node) is not scope:
                return f"`{row.value}` is used outside the loop body or in a nested scope"
            subscript = parents.get(node)
            if not (
                isinstance(subscript, cst.Subscript)
                and subscript.value is node
                and len(subscript.slice) == 1
                and isinstance(subscript.slice[0].slice, cst.Index)
                and _plain_column(subscript.slice[0].slice.value)
                and not isinstance(parents.get(subscript), (cst.AssignTarget, cst.Del, cst.AugAssign))
            ):
                shown = parents.get(subscript) if isinstance(subscript, cst.Arg) else subscript
                return f"`{row.value}` is used as `{self._code(shown)}`, not only read by column name"
            literal = subscript.slice[0].slice.value
            reads.append(subscript)
            columns.setdefault(literal.evaluated_value, literal)
        if not reads:
            return f"the loop never reads a column of `{row.value}`"
        return reads, columns

    def _fresh_names(self, row: str, columns: dict[str, cst.SimpleString]) -> dict[str, str]:
        module = self._module
        taken = {n.value for n in m.findall(module, m.Name())}
        names: dict[str, str] = {}
        for column in columns:
            base = f"{row}_{re.sub(r'[^0-9a-zA-Z_]', '_', column)}"
            candidate, suffix = base, 2
            while candidate in taken or not candidate.isidentifier():
                candidate, suffix = f"{base}_{suffix}", suffix + 1
            taken.add(candidate)
            names[column] = candidate
        return names

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node

    def _code(self, node: cst.CSTNode) -> str:
        code = cst.Module(body=[]).code_for_node(node).strip()
        return code if len(code) <= 60 else code[:57] + "..."

"""KZ203: a DataFrame grown one piece at a time inside a loop."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ParentNodeProvider, PositionProvider, QualifiedNameProvider

from rules.framework import Bench, Invalid, Rule, Safety, Valid
from rules.pandas._iterrows import NamePool, NodeSwapper
from rules.precheck import TreeFacts

_ALLOWED_KEYWORDS = {"ignore_index", "sort"}
_NESTED_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


class DataframeGrownInLoop(Rule):
    """## What it does
    Flags a DataFrame grown inside a loop: ``df = pd.concat([df, piece])``,
    ``df.loc[len(df)] = values`` or ``df = df.append(piece)``.

    ## Why is this bad?
    Every step copies the whole frame built so far, so the loop is quadratic
    in the number of rows. Collecting the pieces in a list and concatenating
    once is linear: for 600 pieces of 10 rows and 4 columns the rewrite ran
    5.0x and 6.6x faster in two runs on a shared 2-core machine (the rule's
    BENCH: ``python -c "from rules.registry import get; from
    rules.measure.job import run_here; print(run_here(get('KZ203')))"``); the
    chain is quadratic, so the gap grows with the number of pieces.

    ## Example
    ```python
    for record in records:
        df = pd.concat([df, pd.DataFrame([record])], ignore_index=True)
    ```

    ## Use instead
    ```python
    df_parts = [df]
    for record in records:
        df_parts.append(pd.DataFrame([record]))
    df = pd.concat(df_parts, ignore_index=True) if len(df_parts) > 1 else df
    ```

    ## Fix safety
    The fix for ``pd.concat`` is unsafe. One concatenation can give other
    dtypes than a chain of them: a chain re-infers after every step, so an
    empty or all-missing piece early on can leave a column ``object`` or
    ``float`` where one concatenation keeps it ``int``, and the reverse. If the
    loop stops with an exception, the original has grown the frame up to that
    point and the rewrite has not. The rewrite keeps the frame itself (the
    same object) when the loop adds nothing.

    The rule only rewrites ``name = pd.concat([name, piece])`` (with
    ``ignore_index`` or ``sort`` as the only keywords) in a loop that uses the
    name nowhere else and has no ``else`` clause. ``df.loc[len(df)] = ...``
    (which also changes the frame in place for every other reference to it)
    and ``df.append`` (removed in pandas 2) are reported without a fix.
    """

    code = "KZ203"
    name = "dataframe-grown-in-loop"
    message = "DataFrame grown inside a loop: collect the pieces in a list and concatenate once"
    safety = Safety.UNSAFE
    TRIGGERS = ("concat", ".loc[len(", ".append(")

    @classmethod
    def precheck(cls, facts: TreeFacts) -> bool:
        grows = facts.loop_self_update_calls & {"concat", "append", "_append"}
        return bool(grows) or facts.loop_indexer_assignment

    METADATA_DEPENDENCIES = (PositionProvider, ParentNodeProvider, QualifiedNameProvider)

    VALID = (
        Valid("import pandas as pd\nframes = [pd.DataFrame([r]) for r in rows]\ndf = pd.concat(frames)\n"),
        Valid("import pandas as pd\nfor part in parts:\n    out = pd.concat([left, part])\n"),
        Valid("import pandas as pd\ndf = pd.concat([df, extra])\n"),
        Valid("for x in xs:\n    items.append(x)\n"),
    )
    INVALID = (
        Invalid(
            """
            import pandas as pd

            def build(df, records):
                # grow the table
                for record in records:
                    if record:
                        df = pd.concat([df, pd.DataFrame([record])], ignore_index=True)  # one row
                return df
            """,
            """
            import pandas as pd

            def build(df, records):
                # grow the table
                df_parts = [df]
                for record in records:
                    if record:
                        df_parts.append(pd.DataFrame([record]))  # one row
                df = pd.concat(df_parts, ignore_index=True) if len(df_parts) > 1 else df
                return df
            """,
            unsafe=True,
        ),
        # Read inside the loop: every step needs the frame so far.
        Invalid(
            """
            import pandas as pd
            for record in records:
                df = pd.concat([df, pd.DataFrame([record])])
                print(len(df))
            """
        ),
        Invalid("for value in values:\n    df.loc[len(df)] = value\n"),
        Invalid("while queue:\n    df = df.append(queue.pop())\n"),
    )
    BENCH = Bench(
        setup="""
        import numpy as np
        import pandas as pd
        rng = np.random.default_rng(0)
        pieces = [
            pd.DataFrame({"id": np.arange(10) + 10 * i, "x": rng.random(10), "name": ["n"] * 10, "flag": True})
            for i in range(600)
        ]
        start = pieces[0].iloc[:0]
        """,
        before="""
        import pandas as pd
        df = start
        for piece in pieces:
            df = pd.concat([df, piece], ignore_index=True)
        """,
        size="600 pieces of 10 rows, 4 columns (int, float, str, bool)",
    )

    def __init__(self, path: str = "<string>") -> None:
        super().__init__(path)
        self._pool: NamePool | None = None

    def visit_Module(self, node: cst.Module) -> None:
        self._pool = NamePool(node)

    def visit_For(self, node: cst.For) -> None:
        self._check_loop(node)

    def visit_While(self, node: cst.While) -> None:
        self._check_loop(node)

    def _check_loop(self, loop: cst.For | cst.While) -> None:
        for statement in m.findall(loop.body, m.SimpleStatementLine()):
            if self._nested(statement, loop):
                continue
            for small in statement.body:
                self._check_statement(loop, statement, small)

    def _nested(self, node: cst.CSTNode, loop: cst.CSTNode) -> bool:
        """Inside a nested scope or an inner loop (which reports it itself)."""
        current = self.get_metadata(ParentNodeProvider, node)
        while current is not loop:
            if isinstance(current, (*_NESTED_SCOPES, cst.For, cst.While)):
                return True
            current = self.get_metadata(ParentNodeProvider, current)
        return False

    def _check_statement(self, loop, line: cst.SimpleStatementLine, small: cst.BaseSmallStatement) -> None:
        if m.matches(
            small,
            m.Assign(
                targets=[m.AssignTarget(m.Name())],
                value=m.Call(func=m.Attribute(attr=m.Name("append") | m.Name("_append"))),
            ),
        ):
            target = small.targets[0].target.value
            if m.matches(small.value.func.value, m.Name(target)):
                self.report(small, f"{self.message} (not fixed: DataFrame.append was removed in pandas 2)",
                            safety=Safety.DISPLAY_ONLY)
            return
        if m.matches(
            small,
            m.Assign(targets=[m.AssignTarget(m.Subscript(value=m.Attribute(attr=m.Name("loc") | m.Name("iloc"))))]),
        ):
            subscript = small.targets[0].target
            frame = subscript.value.value
            index = subscript.slice[0].slice if len(subscript.slice) == 1 else None
            if (
                isinstance(index, cst.Index)
                and m.matches(index.value, m.Call(func=m.Name("len"), args=[m.Arg()]))
                and frame.deep_equals(index.value.args[0].value)
            ):
                self.report(small, f"{self.message} (not fixed: .loc[len(df)] also changes the frame in place)",
                            safety=Safety.DISPLAY_ONLY)
            return
        if not isinstance(small, cst.Assign) or not isinstance(small.value, cst.Call):
            return
        call = small.value
        if not any(q.name == "pandas.concat" for q in self.get_metadata(QualifiedNameProvider, call.func, set())):
            return
        if not call.args or not isinstance(call.args[0].value, cst.List) or call.args[0].keyword:
            return
        pieces = call.args[0].value.elements
        if not pieces or not isinstance(pieces[0], cst.Element):
            return
        grown = pieces[0].value
        if not (len(small.targets) == 1 and small.targets[0].target.deep_equals(grown)):
            return
        problem = self._fix_problem(loop, line, small, grown, call)
        if problem is not None:
            self.report(small, f"{self.message} (not fixed: {problem})", safety=Safety.DISPLAY_ONLY)
            return
        self._report_fix(loop, line, small, grown.value, call)

    def _fix_problem(self, loop, line, small: cst.Assign, grown, call: cst.Call) -> str | None:
        if not isinstance(grown, cst.Name):
            return "the frame is not a plain variable"
        pieces = call.args[0].value.elements
        if len(pieces) != 2 or not isinstance(pieces[1], cst.Element):
            return "the concat joins more than one new piece"
        extra = [arg for arg in call.args[1:] if arg.keyword is None or arg.keyword.value not in _ALLOWED_KEYWORDS]
        if extra or call.args[0].keyword is not None:
            return "the concat has arguments other than ignore_index and sort"
        if loop.orelse is not None:
            return "the loop has an else clause"
        if len(line.body) != 1:
            return "its line holds more than one statement"
        name = grown.value
        uses = [n for n in m.findall(loop, m.Name(name)) if self._is_variable(n)]
        own = {id(small.targets[0].target), id(grown)}
        if any(id(n) not in own for n in uses):
            return f"`{name}` is used elsewhere in the loop"
        return None

    def _is_variable(self, name: cst.Name) -> bool:
        parent = self.get_metadata(ParentNodeProvider, name)
        if isinstance(parent, cst.Attribute) and parent.attr is name:
            return False
        return not (isinstance(parent, cst.Arg) and parent.keyword is name)

    def _report_fix(self, loop, line, small: cst.Assign, name: str, call: cst.Call) -> None:
        parts = self._pool.fresh(f"{name}_parts")
        piece = call.args[0].value.elements[1].value
        append = cst.Expr(
            cst.Call(func=cst.Attribute(cst.Name(parts), cst.Name("append")), args=[cst.Arg(piece)])
        )
        new_line = line.with_changes(body=[append])
        new_loop = loop.visit(NodeSwapper({id(line): new_line})).with_changes(leading_lines=())
        final_call = call.with_changes(args=[call.args[0].with_changes(value=cst.Name(parts)), *call.args[1:]])
        final = cst.parse_statement(f"{name} = _ if len({parts}) > 1 else {name}\n")
        final = final.with_changes(
            body=[final.body[0].with_changes(value=final.body[0].value.with_changes(body=final_call))]
        )
        start = cst.parse_statement(f"{parts} = [{name}]\n").with_changes(leading_lines=loop.leading_lines)
        self.report(
            small,
            replacement=cst.FlattenSentinel([start, new_loop, final]),
            replace=loop,
        )

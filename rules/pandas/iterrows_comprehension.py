"""KZ201: ``DataFrame.iterrows()`` in a comprehension."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ParentNodeProvider, PositionProvider, ScopeProvider

from rules.framework import Bench, Equivalence, Invalid, Rule, Safety, Valid
from rules.pandas._iterrows import (
    NamePool,
    NodeSwapper,
    RowReads,
    collect_reads,
    iterrows_target,
    pair_target,
    positional_plan,
    rewrite_reads,
)
from rules.precheck import TreeFacts

_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


class IterrowsComprehension(Rule):
    """## What it does
    Flags list, set and dict comprehensions and generator expressions that
    iterate ``frame.iterrows()``, such as
    ``{str(r[a]): str(r[b]) for _, r in df[[a, b]].iterrows()}``.

    ## Why is this bad?
    ``iterrows()`` builds a new Series for every row. Reading the rows of
    ``frame.to_numpy()`` by position gives the same values without that cost:
    on 4,000 rows the safe rewrite ran 13x faster and the unsafe column-wise
    one 27x, in two runs on a shared 2-core machine (the rule's BENCH;
    ``python -c "from rules.registry import get; from rules.measure.job import
    build_bench_job; from rules.measure.run import run_job;
    print(run_job(build_bench_job(get('KZ201'), unsafe_fixes=False)))"``, and
    ``unsafe_fixes=True`` for the column-wise figure).

    The common rewrite ``dict(zip(df[a].astype(str), df[b].astype(str)))`` is
    not equivalent: iterrows upcasts an int to float when the frame also has a
    float column (``'1301.0'``, not ``'1301'``), and under pandas 3
    ``astype(str)`` keeps a missing value as NaN where ``str(row[a])`` gives
    ``'nan'``.

    ## Example
    ```python
    names = {str(r[a]): str(r[b]) for _, r in df[[a, b]].iterrows()}
    ```

    ## Use instead
    ```python
    frame = df[[a, b]]
    a_at, b_at = frame.columns.get_loc(a), frame.columns.get_loc(b)
    names = {str(r[a_at]): str(r[b_at]) for r in frame.to_numpy()}
    ```
    (the fix also keeps the frames where this would change values working,
    see below).

    ## Fix safety
    The safe fix evaluates the frame once before the statement and reads
    ``to_numpy()`` rows by position, after a run-time check that this is exact
    for the frame (its dtypes cannot make pandas re-infer a row, its labels
    are unique and flat, the keys are strings it holds); otherwise the
    rewritten code iterates the real ``iterrows()`` rows. It needs the
    comprehension to be the whole value of an assignment or ``return`` in a
    function or module body; elsewhere, and for generator expressions (which
    read the frame lazily), the rule reports without fixing.

    With ``--unsafe-fixes`` the rule rewrites to the column-wise form instead,
    ``zip(frame[a].tolist(), frame[b].tolist())``, which is faster again but
    returns each column's own values: ints stay ints next to float columns,
    missing strings come back as NaN rather than ``None``, dates as
    ``Timestamp``. Use it where the column dtypes are known to make no
    difference. This shows as a second, unsafe finding at the same place.
    """

    code = "KZ201"
    name = "iterrows-comprehension"
    message = "iterrows() in a comprehension: read to_numpy() rows by position"
    unsafe_message = (
        "iterrows() in a comprehension: zip the columns' tolist() "
        "(faster; unsafe: values follow each column's dtype, not the row's)"
    )
    safety = Safety.SAFE
    TRIGGERS = ("iterrows",)

    @classmethod
    def precheck(cls, facts: TreeFacts) -> bool:
        return "iterrows" in facts.comprehension_iter_call_names

    METADATA_DEPENDENCIES = (PositionProvider, ParentNodeProvider, ScopeProvider)

    VALID = (
        Valid("names = {str(a): str(b) for a, b in zip(df['a'], df['b'])}\n"),
        Valid("rows = [row for row in df.iterrows()]\n"),
        Valid("rows = [row['a'] for _, row in df.itertuples()]\n"),
        Valid("rows = [r for _, r in df.iterrows()]\n"),
    )
    INVALID = (
        Invalid(
            """
            def names(df, a, b):
                # one label per id
                mapping = {str(r[a]): str(r[b]) for _, r in df[[a, b]].iterrows()}  # ids
                return mapping
            """,
            """
            import numpy

            def names(df, a, b):
                # one label per id
                # iterrows() values, read by position from to_numpy() where that is exact
                frame = df[[a, b]]
                columns = frame.columns
                if (
                    columns.is_unique
                    and columns.nlevels == 1
                    and all(isinstance(key, str) and key in columns for key in (a, b))
                    and (
                        any(isinstance(t, numpy.dtype) and t.kind in "biu" for t in frame.dtypes)
                        or all(isinstance(t, numpy.dtype) and t.kind in "biufc" or t == "str" for t in frame.dtypes)
                    )
                ):
                    rows, a_at, b_at = frame.to_numpy(), columns.get_loc(a), columns.get_loc(b)
                else:
                    rows, a_at, b_at = (r for _, r in frame.iterrows()), a, b
                mapping = {str(r[a_at]): str(r[b_at]) for r in rows}  # ids
                return mapping
            """,
        ),
        Invalid(
            """
            def names(df, a, b):
                return {str(r[a]): str(r[b]) for _, r in df[[a, b]].iterrows()}
            """,
            """
            def names(df, a, b):
                frame = df[[a, b]]
                return {str(a_value): str(b_value) for a_value, b_value in zip(frame[a].tolist(), frame[b].tolist())}
            """,
            unsafe=True,
        ),
        Invalid(
            """
            ids = [row["id"] for _, row in df.iterrows() if row.get("keep", True)]
            """,
            """
            import numpy

            # iterrows() values, read by position from to_numpy() where that is exact
            columns = df.columns
            if (
                columns.is_unique
                and columns.nlevels == 1
                and all(isinstance(key, str) and key in columns for key in ("id",))
                and (
                    any(isinstance(t, numpy.dtype) and t.kind in "biu" for t in df.dtypes)
                    or all(isinstance(t, numpy.dtype) and t.kind in "biufc" or t == "str" for t in df.dtypes)
                )
            ):
                rows, id_at, keep_at = df.to_numpy(), columns.get_loc("id"), columns.get_loc("keep") if "keep" in columns else None
            else:
                rows, id_at, keep_at = (row for _, row in df.iterrows()), "id", "keep" if "keep" in columns else None
            ids = [row[id_at] for row in rows if (row[keep_at] if keep_at is not None else True)]
            """,
        ),
        # A generator expression reads the frame lazily: reported only.
        Invalid("total = sum(r['x'] for _, r in df.iterrows())\n"),
        # Not the whole value of an assignment: reported only.
        Invalid("print([r['x'] for _, r in df.iterrows()])\n"),
        # The row itself escapes.
        Invalid("rows = [(r, r['x']) for _, r in df.iterrows()]\n"),
    )

    EQUIVALENCE = Equivalence(
        template="""
        mapping = {str(r[a]): str(r[b]) for _, r in df[[a, b]].iterrows()}
        raw = [(r[a], r.get(b, None), r.get("missing", 0)) for _, r in df.iterrows()]
        """,
        inputs="rules.equivalence.pandas_inputs:frames_with_two_columns",
        outputs=("mapping", "raw"),
        max_examples=150,
    )
    BENCH = Bench(
        setup="""
        import numpy as np
        import pandas as pd
        rng = np.random.default_rng(0)
        n = 4_000
        df = pd.DataFrame({
            "code": rng.integers(1000, 9999, n),
            "name": rng.choice(["alpha", "beta", "gamma"], n),
            "weight": rng.random(n),
        })
        a, b = "code", "weight"
        """,
        before="""
        mapping = {str(r[a]): str(r[b]) for _, r in df[[a, b]].iterrows()}
        """,
        size="4,000 rows, 2 of 3 columns (int, float)",
    )

    def __init__(self, path: str = "<string>") -> None:
        super().__init__(path)
        self._pool: NamePool | None = None
        self._module: cst.Module | None = None

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._pool = NamePool(node)

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._check(node, [node.elt])

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._check(node, [node.elt])

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._check(node, [node.key, node.value])

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._check(node, [node.elt])

    def _check(self, node: cst.BaseComp, parts: list[cst.CSTNode]) -> None:
        clause = node.for_in
        frame = iterrows_target(clause.iter)
        pair = pair_target(clause.target)
        if frame is None or pair is None:
            return
        index, row = pair
        if len(parts) == 1 and m.matches(parts[0], m.Name(row.value)) and not clause.ifs:
            # Only collects the row Series (the fix's own fallback does this):
            # there is no column read to speed up.
            return
        problem = None
        if clause.inner_for_in is not None or clause.asynchronous is not None:
            problem = "the comprehension has more than one for clause"
        elif m.findall(node, m.NamedExpr()):
            problem = "the comprehension assigns with :="
        reads = RowReads()
        if problem is None:
            roots = parts + [condition.test for condition in clause.ifs]
            reads = collect_reads(self, roots, row.value, index.value, names_ok=True)
            problem = reads.problem
        if problem is None and any(r.key.code in (index.value, row.value) for r in reads.reads):
            problem = "a key is the comprehension's own variable"
        if problem is None and not reads.reads:
            problem = f"the comprehension never reads `{row.value}`"
        statement = None
        if problem is None:
            statement, problem = self._statement_of(node)
        if problem is not None:
            self.report(node, f"{self.message} (not fixed: {problem})", safety=Safety.DISPLAY_ONLY)
            return
        # One frame variable for both offers, so that the safe rewrite does
        # not depend on whether the unsafe one was also offered.
        frame_name, prelude = self._frame_prelude(frame)
        if all(read.kind != "get" for read in reads.reads):
            self._report_columnwise(node, statement, frame_name, list(prelude), reads)
        self._report_positional(node, statement, frame_name, list(prelude), reads)

    def _statement_of(self, node: cst.BaseComp) -> tuple[cst.SimpleStatementLine | None, str | None]:
        """The one-statement line whose whole value is ``node``."""
        if isinstance(node, cst.GeneratorExp):
            return None, "a generator expression reads the frame lazily"
        parent = self.get_metadata(ParentNodeProvider, node)
        if not (isinstance(parent, (cst.Assign, cst.Return)) and parent.value is node):
            return None, "it is not the whole value of an assignment or return"
        line = self.get_metadata(ParentNodeProvider, parent)
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
            return None, "its line holds more than one statement"
        scope = self.get_metadata(ScopeProvider, parent, None)
        if scope is None or type(scope).__name__ == "ClassScope":
            return None, "it is in a class body"
        return line, None

    def _frame_prelude(self, frame: cst.BaseExpression) -> tuple[str, list[cst.BaseStatement]]:
        if isinstance(frame, cst.Name):
            return frame.value, []
        name = self._pool.fresh("frame")
        return name, [cst.parse_statement(f"{name} = {self._module.code_for_node(frame)}\n")]

    def _report_positional(self, node, statement, frame_name, prelude, reads: RowReads) -> None:
        module = self._module
        row = node.for_in.target.elements[1].value.value
        plan = positional_plan(self._pool, frame_name, row, reads, module)
        new_node = rewrite_reads(node, reads, row, plan, module)
        new_node = new_node.with_changes(
            for_in=new_node.for_in.with_changes(target=cst.Name(row), iter=cst.Name(plan.rows))
        )
        statements = [*prelude, *plan.prelude]
        if prelude:
            statements[0] = statements[0].with_changes(leading_lines=plan.prelude[0].leading_lines)
            statements[1] = statements[1].with_changes(leading_lines=())
        statements[0] = statements[0].with_changes(
            leading_lines=(*statement.leading_lines, *statements[0].leading_lines)
        )
        line = _replace_in_line(statement, node, new_node).with_changes(leading_lines=())
        unsafe = any(read.kind == "attr" for read in reads.reads)
        self.report(
            node,
            self.message + (" (unsafe: a missing column raises KeyError, not AttributeError)" if unsafe else ""),
            replacement=cst.FlattenSentinel([*statements, line]),
            replace=statement,
            safety=Safety.UNSAFE if unsafe else Safety.SAFE,
            imports=list(plan.imports),
        )

    def _report_columnwise(self, node, statement, frame_name, prelude, reads: RowReads) -> None:
        keys = reads.keys()
        values = {key.code: self._pool.fresh(f"{key.label}_value") for key in keys}
        columns = [f"{frame_name}[{key.code}].tolist()" for key in keys]
        if len(keys) == 1:
            target, source = values[keys[0].code], columns[0]
        else:
            target, source = ", ".join(values.values()), f"zip({', '.join(columns)})"
        swaps = {id(read.node): cst.Name(values[read.key.code]) for read in reads.reads}
        new_node = node.visit(NodeSwapper(swaps))
        new_node = new_node.with_changes(
            for_in=new_node.for_in.with_changes(
                target=cst.parse_expression(target), iter=cst.parse_expression(source)
            )
        )
        line = _replace_in_line(statement, node, new_node)
        if prelude:
            prelude[0] = prelude[0].with_changes(leading_lines=statement.leading_lines)
            line = line.with_changes(leading_lines=())
        self.report(
            node,
            self.unsafe_message,
            replacement=cst.FlattenSentinel([*prelude, line]),
            replace=statement,
            safety=Safety.UNSAFE,
        )


def _replace_in_line(line: cst.SimpleStatementLine, old: cst.CSTNode, new: cst.CSTNode) -> cst.SimpleStatementLine:
    small = line.body[0]
    return line.with_changes(body=[small.with_changes(value=new)]) if small.value is old else line

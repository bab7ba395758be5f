"""KZ302: ``map_elements`` with a lambda, where a native expression would do."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from rules.framework import Invalid, Rule, Safety, Valid
from rules.precheck import TreeFacts

_ARITHMETIC = (cst.BinaryOperation, cst.UnaryOperation, cst.Integer, cst.Float, cst.Name)


def _native_form(receiver: cst.BaseExpression, function: cst.Lambda) -> str | None:
    """``receiver`` substituted into an arithmetic lambda body (``lambda x: x * 2 + 1``),
    the native expression that computes the same values; None for anything else."""
    params = function.params
    if (
        len(params.params) != 1
        or not isinstance(params.star_arg, cst.MaybeSentinel)
        or params.kwonly_params
        or params.star_kwarg is not None
    ):
        return None
    name = params.params[0].name.value
    for node in m.findall(function.body, m.DoNotCare()):
        if not isinstance(node, _ARITHMETIC) and not isinstance(
            node, (cst.BaseBinaryOp, cst.BaseUnaryOp, cst.LeftParen, cst.RightParen, cst.SimpleWhitespace)
        ):
            return None
    if any(n.value != name for n in m.findall(function.body, m.Name())):
        return None
    if not m.findall(function.body, m.Name(name)):
        return None

    # Calls, attributes and subscripts bind tighter than any operator.
    atom = isinstance(receiver, (cst.Name, cst.Attribute, cst.Call, cst.Subscript))
    value = receiver if atom else receiver.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])

    class _Substitute(cst.CSTTransformer):
        def leave_Name(self, original_node, updated_node):
            return value

    body = function.body.visit(_Substitute())
    return cst.Module(body=[]).code_for_node(body)


class PolarsMapElementsLambda(Rule):
    """## What it does
    Flags ``.map_elements(lambda ...)`` on polars expressions and Series.

    ## Why is this bad?
    ``map_elements`` calls the Python function once per value, holding the
    GIL, outside polars' query engine: no vectorisation, no parallelism, no
    query optimisation, and the result dtype has to be guessed or declared.
    Most lambdas written this way (arithmetic, conditions, string and date
    handling, lookups) have native expression forms: operators,
    ``pl.when().then().otherwise()``, the ``.str`` / ``.dt`` / ``.list``
    namespaces, ``replace``/``replace_strict``.

    ## Example
    ```python
    df.with_columns(pl.col("price").map_elements(lambda x: x * 1.2 + 1, return_dtype=pl.Float64))
    ```

    ## Use instead
    ```python
    df.with_columns(pl.col("price") * 1.2 + 1)
    ```

    ## Fix safety
    Display-only. Whether a native expression gives the same values depends
    on the lambda (``map_elements`` skips nulls by default, integer overflow
    and division follow Python's rules there and polars' in expressions), so
    the rule points at the native API and, for plain arithmetic on the
    argument, shows the expression to start from.
    """

    code = "KZ302"
    name = "polars-map-elements-lambda"
    message = (
        "`map_elements` with a lambda runs Python once per value, outside polars' engine; "
        "use native expressions (operators, `pl.when`, `.str`/`.dt`/`.list`, `replace`)"
    )
    safety = Safety.DISPLAY_ONLY
    TRIGGERS = ("map_elements",)

    @classmethod
    def precheck(cls, facts: TreeFacts) -> bool:
        return "map_elements" in facts.call_names

    VALID = (
        Valid('df.with_columns(pl.col("price") * 1.2)\n'),
        Valid('s = df["text"].map_elements(parse_record, return_dtype=pl.String)\n'),
    )
    INVALID = (
        Invalid('df.with_columns(pl.col("price").map_elements(lambda x: x * 1.2 + 1))\n'),
        Invalid('labels = df["code"].map_elements(lambda c: MAPPING.get(c), return_dtype=pl.String)\n'),
        Invalid('out = pl.col("a").map_elements(function=lambda v: -v)\n'),
    )

    def visit_Call(self, node: cst.Call) -> None:
        if not m.matches(node.func, m.Attribute(attr=m.Name("map_elements"))):
            return
        function = next(
            (
                arg.value
                for index, arg in enumerate(node.args)
                if (arg.keyword is None and index == 0 and not arg.star)
                or m.matches(arg.keyword, m.Name("function"))
            ),
            None,
        )
        if not isinstance(function, cst.Lambda):
            return
        native = _native_form(node.func.value, function)
        message = self.message if native is None else f"{self.message}; here: `{native}`"
        self.report(node, message)

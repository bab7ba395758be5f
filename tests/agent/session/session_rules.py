"""Small rules used only by the session tests.

The real catalogue changes as rules are added; these keep the session tests
about the session: a fix that is equivalent on the inputs its check
generates (non-empty lists) and measurably faster, but that changes
behaviour on an empty list, which the tiny projects' tests and smoke scripts
then catch. ``BrokenFix`` writes code that does not compile.
"""

import libcst as cst
import libcst.matchers as m

from rules.framework import Bench, Equivalence, Invalid, Rule, Safety, Valid

_SORTED_FIRST = m.Subscript(
    value=m.Call(func=m.Name("sorted"), args=[m.Arg(keyword=None, star="")]),
    slice=[m.SubscriptElement(slice=m.Index(value=m.Integer("0")))],
)


class SortedFirst(Rule):
    """## What it does
    Flags ``sorted(xs)[0]``.
    ## Why is this bad?
    Sorting is O(n log n) where ``min`` is O(n).
    ## Example
    ``first = sorted(xs)[0]``
    ## Use instead
    ``first = min(xs)``
    ## Fix safety
    Differs on an empty list (ValueError instead of IndexError).
    """

    code = "KZ198"
    name = "sorted-first"
    message = "use min() instead of sorting to take the first element"
    safety = Safety.SAFE
    TRIGGERS = ("sorted(",)
    VALID = (Valid("y = sorted(xs)[1]\n"),)
    INVALID = (Invalid("y = sorted(xs)[0]\n", "y = min(xs)\n"),)
    EQUIVALENCE = Equivalence(
        template="first = sorted(xs)[0]\n",
        inputs="tests.agent.session.session_inputs:non_empty_int_lists",
        outputs=("first",),
        max_examples=20,
    )
    BENCH = Bench(
        setup="import random\nrandom.seed(0)\nxs = [random.random() for _ in range(2000)]\n",
        before="sorted(xs)[0]\n",
        size="2,000 floats",
    )

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if m.matches(node, _SORTED_FIRST):
            call = node.value
            self.report(node, replacement=call.with_changes(func=cst.Name("min")))


class BrokenFix(Rule):
    """## What it does
    Flags ``break_me()``.
    ## Why is this bad?
    It is a test fixture.
    ## Example
    ``break_me()``
    ## Use instead
    Nothing.
    ## Fix safety
    The fix never compiles at module level.
    """

    code = "KZ197"
    name = "broken-fix"
    message = "test rule with a fix that does not compile"
    safety = Safety.UNSAFE
    TRIGGERS = ("break_me",)
    VALID = (Valid("keep_me()\n"),)
    INVALID = (Invalid("break_me()\n", None),)

    def visit_Call(self, node: cst.Call) -> None:
        if m.matches(node, m.Call(func=m.Name("break_me"))):
            self.report(node, replacement=cst.parse_expression("(yield)"))

"""KZ401: a tensor grown with ``torch.cat`` on every pass of a loop."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import (
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from rules.framework import Bench, Equivalence, Invalid, Rule, Safety, Valid
from rules.precheck import TreeFacts
from rules.torch import _common as c

CAT_FUNCTIONS = ("torch.cat", "torch.concat")


class TorchCatInLoop(Rule):
    """## What it does
    Flags `x = torch.cat([x, part])` inside a `for` loop: a tensor that grows
    by one concatenation per pass.

    ## Why is this bad?
    Every `torch.cat` allocates a new tensor and copies everything joined so
    far, so `n` passes copy O(n²) elements and allocate `n` ever larger
    buffers. Collecting the parts in a list and joining them once copies each
    element once.

    ## Example
    ```python
    import torch

    preds = torch.empty(0)
    for batch in batches:
        preds = torch.cat([preds, model(batch)])
    ```

    ## Use instead
    ```python
    import torch

    preds = torch.empty(0)
    preds_parts = []
    for batch in batches:
        preds_parts.append(model(batch).clone())
    if preds_parts:
        preds = torch.cat([preds, *preds_parts])
    ```

    ## Fix safety
    Safe. The initial tensor stays the first part, so dtype promotion and the
    legacy rule that lets a 1-D empty tensor join tensors of any rank give the
    same result as the chain of pairwise joins; with zero passes `x` is left
    untouched (the very same object). Each part is cloned when it is appended
    because `torch.cat` copied it at that moment: a part modified in place
    later in the loop keeps the value it had. This is checked on generated
    inputs (float32, int64 and bool parts and initial tensors, 1-D empty
    initial tensors, zero-size parts, zero passes, `dim` 0, 1 and -1).

    The fix is offered only when the accumulator is a local variable bound
    before the loop and used nowhere else in the loop, the join sits directly
    in the loop body (or an `if` in it), `dim` is a literal, the loop has no
    `else` clause, and no `try` (or `with` block that could swallow an
    exception) around the loop could let code read a half-built accumulator.
    Otherwise the finding is display-only. One difference remains: when the
    parts' shapes do not fit together, both versions raise `RuntimeError`,
    but the rewrite raises after the loop instead of at the failing pass.
    """

    code = "KZ401"
    name = "torch-cat-in-loop"
    message = (
        "`{name}` grows by torch.cat on every pass of the loop, copying all earlier "
        "parts each time; collect the parts in a list and join them once after the loop"
    )
    safety = Safety.SAFE
    METADATA_DEPENDENCIES = (
        PositionProvider,
        QualifiedNameProvider,
        ParentNodeProvider,
        ScopeProvider,
    )
    TRIGGERS = ("cat(",)

    @classmethod
    def precheck(cls, facts: TreeFacts) -> bool:
        return bool(facts.loop_self_update_calls & {"cat", "concat", "concatenate"})

    VALID = (
        # The accumulator is read in the loop: this is computation, not collection.
        Valid(
            """
            import torch
            h = torch.zeros(2, 0)
            for layer in layers:
                h = torch.cat([h, layer(h)], dim=1)
            """
        ),
        # Not in a loop.
        Valid(
            """
            import torch
            x = torch.cat([a, b])
            """
        ),
        # `cat` is not torch's.
        Valid(
            """
            from mylib import cat
            x = []
            for p in parts:
                x = cat([x, p])
            """
        ),
        # Already collected in a list.
        Valid(
            """
            import torch
            out_parts = []
            for p in parts:
                out_parts.append(p)
            out = torch.cat(out_parts)
            """
        ),
    )

    INVALID = (
        Invalid(
            """
            import torch

            def predict(model, batches):
                # collected predictions
                preds = torch.empty(0)
                for batch in batches:
                    preds = torch.cat([preds, model(batch)])  # grows
                return preds
            """,
            """
            import torch

            def predict(model, batches):
                # collected predictions
                preds = torch.empty(0)
                preds_parts = []
                for batch in batches:
                    preds_parts.append(model(batch).clone())  # grows
                if preds_parts:
                    preds = torch.cat([preds, *preds_parts])
                return preds
            """,
        ),
        # Any import style, a tuple, dim= and an if inside the loop.
        Invalid(
            """
            import torch as th
            feats = th.zeros(4, 0)
            for i, block in enumerate(blocks):
                if i % 2:
                    feats = th.cat((feats, block + 1), dim=1)
            """,
            """
            import torch as th
            feats = th.zeros(4, 0)
            feats_parts = []
            for i, block in enumerate(blocks):
                if i % 2:
                    feats_parts.append((block + 1).clone())
            if feats_parts:
                feats = th.cat([feats, *feats_parts], dim=1)
            """,
        ),
        Invalid(
            """
            from torch import cat
            acc = start
            for p in parts: acc = cat([acc, p], -1)
            """,
            """
            from torch import cat
            acc = start
            acc_parts = []
            for p in parts: acc_parts.append(p.clone())
            if acc_parts:
                acc = cat([acc, *acc_parts], -1)
            """,
        ),
        # break does not change which parts are joined: both stop collecting.
        Invalid(
            """
            import torch
            x = torch.empty(0)
            for p in parts:
                if p.numel() == 0:
                    break
                x = torch.cat([x, p])
            """,
            """
            import torch
            x = torch.empty(0)
            x_parts = []
            for p in parts:
                if p.numel() == 0:
                    break
                x_parts.append(p.clone())
            if x_parts:
                x = torch.cat([x, *x_parts])
            """,
        ),
        # A try around the loop could expose a half-built accumulator.
        Invalid(
            """
            import torch
            x = torch.empty(0)
            try:
                for p in parts:
                    x = torch.cat([x, p])
            except RuntimeError:
                pass
            print(x)
            """
        ),
        # A nested function reads the accumulator.
        Invalid(
            """
            import torch
            def run(parts):
                x = torch.empty(0)
                def size():
                    return len(x)
                for p in parts:
                    x = torch.cat([x, p])
                    print(size())
                return x
            """
        ),
        # Not bound before the loop in the same block.
        Invalid(
            """
            import torch
            def run(parts, x):
                for p in parts:
                    x = torch.cat([x, p])
                return x
            """
        ),
        # A while loop: the condition could depend on anything.
        Invalid(
            """
            import torch
            x = torch.empty(0)
            while more():
                x = torch.cat([x, fetch()])
            """
        ),
        # A dim that is not a literal could change during the loop.
        Invalid(
            """
            import torch
            x = torch.empty(0)
            for p in parts:
                x = torch.cat([x, p], dim=axis)
            """
        ),
    )

    EQUIVALENCE = Equivalence(
        template="""
        import torch
        out0 = init0
        for part in parts0:
            out0 = torch.cat([out0, part])
        out1 = init1
        for part in parts1:
            out1 = torch.cat((out1, part), dim=1)
        out2 = init2
        for part in parts2:
            out2 = torch.cat([out2, part], -1)
        same0 = out0 is init0
        # A part modified in place after it was joined keeps its joined value.
        out3 = torch.empty(0)
        for part in parts0:
            out3 = torch.cat([out3, part])
            part.zero_()
        """,
        inputs="rules.equivalence.torch_inputs:cat_accumulation_inputs",
        outputs=("out0", "out1", "out2", "same0", "out3"),
        max_examples=150,
    )

    BENCH = Bench(
        setup="""
        import torch
        torch.set_num_threads(1)
        torch.manual_seed(0)
        batches = [torch.randn(64, 32) for _ in range(500)]
        """,
        before="""
        import torch
        preds = torch.empty(0)
        for batch in batches:
            preds = torch.cat([preds, batch * 2])
        """,
        size="500 parts of 64x32 float32 (32,000 rows in the end)",
    )

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._taken = c.all_identifiers(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        target = node.targets[0].target
        name = target.value
        call = node.value
        if not c.is_torch_call(self, call, CAT_FUNCTIONS):
            return
        parsed = _split_cat_args(call)
        if parsed is None:
            return
        sequence, dim_arg = parsed
        elements = sequence.elements
        if (
            len(elements) != 2
            or any(isinstance(e, cst.StarredElement) for e in elements)
            or not isinstance(elements[0].value, cst.Name)
            or elements[0].value.value != name
            or c.name_uses(elements[1].value, name)
        ):
            return
        context = c.loop_context(self, node)
        if context.loop is None:
            return
        loop = context.loop
        uses = c.name_uses(loop, name)
        if {id(u) for u in uses} != {id(target), id(elements[0].value)}:
            # Read elsewhere in the loop: the tensor is used while it grows.
            return
        message = self.message.format(name=name)
        reason = self._why_not_fixable(node, target, context, dim_arg)
        if reason:
            self.report(call, f"{message} (not fixed: {reason})", safety=Safety.DISPLAY_ONLY)
            return
        parts = c.fresh_name(self._taken, f"{name}_parts")
        part = elements[1].value
        append = cst.Expr(
            cst.Call(
                func=cst.Attribute(value=cst.Name(parts), attr=cst.Name("append")),
                args=[cst.Arg(c.method_call(part, "clone"))],
            )
        )
        new_loop = loop.deep_replace(node, append).with_changes(leading_lines=[])
        init = cst.SimpleStatementLine(
            body=[cst.Assign(targets=[cst.AssignTarget(cst.Name(parts))], value=cst.List([]))],
            leading_lines=loop.leading_lines,
        )
        func = self._module.code_for_node(call.func)
        dim_text = ""
        if dim_arg is not None:
            value = self._module.code_for_node(dim_arg.value)
            dim_text = f", dim={value}" if dim_arg.keyword is not None else f", {value}"
        indent = self._module.default_indent
        after = cst.parse_statement(
            f"if {parts}:\n{indent}{name} = {func}([{name}, *{parts}]{dim_text})\n",
            config=self._module.config_for_parsing,
        )
        self.report(
            call, message, replacement=cst.FlattenSentinel([init, new_loop, after]), replace=loop
        )

    def _why_not_fixable(self, assign, target, context, dim_arg) -> str | None:
        loop = context.loop
        if not isinstance(loop, cst.For):
            return "only `for` loops are rewritten"
        if loop.orelse is not None:
            return "the loop has an else clause"
        if not context.direct:
            return "the join is nested in a block other than if/else inside the loop"
        if dim_arg is not None and c.int_literal(dim_arg.value) is None:
            return "`dim` is not a literal integer"
        exposed = c.exception_exposed(self, loop)
        if exposed:
            return exposed
        if c.bound_before(self, loop, target.value) is None:
            return f"`{target.value}` is not assigned before the loop in the same block"
        return c.local_only(self, target)


def _split_cat_args(call: cst.Call) -> tuple[cst.List | cst.Tuple, cst.Arg | None] | None:
    """The sequence and the dim argument of ``cat(seq)``, ``cat(seq, d)`` or
    ``cat(seq, dim=d)``; None for any other form (``out=``, ``*args``)."""
    args = list(call.args)
    if not args or args[0].keyword is not None or args[0].star:
        return None
    sequence = args[0].value
    if not isinstance(sequence, (cst.List, cst.Tuple)):
        return None
    rest = args[1:]
    if not rest:
        return sequence, None
    if len(rest) != 1 or rest[0].star:
        return None
    dim = rest[0]
    if dim.keyword is not None and dim.keyword.value != "dim":
        return None
    return sequence, dim

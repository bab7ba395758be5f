"""KZ403: a tensor created on the host and then moved to a device."""

from __future__ import annotations

import re

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

# Creation functions whose result does not depend on where it is created.
DETERMINISTIC = {
    f"torch.{name}"
    for name in (
        "tensor",
        "as_tensor",
        "zeros",
        "ones",
        "empty",
        "full",
        "arange",
        "linspace",
        "logspace",
        "eye",
        "zeros_like",
        "ones_like",
        "empty_like",
        "full_like",
    )
}
# Created on a device they draw from that device's generator: other numbers.
RANDOM = {
    f"torch.{name}"
    for name in ("rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like")
}
DEVICE_STRING = re.compile(r"^(cpu|cuda|mps|xpu|meta|hpu|xla)(:\d+)?$")
# Creation arguments whose meaning changes when the tensor is made on the device.
BLOCKING_KEYWORDS = {"device", "requires_grad", "pin_memory", "out"}


class TensorCreatedThenMoved(Rule):
    """## What it does
    Flags a tensor created on the host and moved right away:
    `torch.tensor(data).to(device)`, `torch.zeros(n).cuda()` and the like.

    ## Why is this bad?
    The tensor is first allocated and filled in host memory, then copied to
    the device, which blocks the host for the copy. Passing `device=` creates
    it where it is needed in one step: for `zeros`/`ones`/`full`/`arange` the
    fill runs on the device and no host buffer or copy exists at all.

    ## Example
    ```python
    import torch

    mask = torch.zeros(batch, seq, dtype=torch.bool).to("cuda")
    ids = torch.tensor(token_ids).cuda()
    ```

    ## Use instead
    ```python
    import torch

    mask = torch.zeros(batch, seq, dtype=torch.bool, device="cuda")
    ids = torch.tensor(token_ids, device="cuda")
    ```

    ## Fix safety
    Safe. The values, dtype and device are the same; checked on generated
    data (nested lists of floats, ints and bools, empty lists, shapes with
    zero sizes) with the `"cpu"` device, comparing values, dtype, device and
    `requires_grad`. The fix is offered only when the argument is provably a
    device: `device=...`, a device string such as `"cuda:0"`, a
    `torch.device(...)` call, a variable assigned only such values, `.cuda()`
    or `.cpu()`. `.to(x)` with an unknown `x` could be a dtype or a tensor,
    so that is reported without a fix, as are moves with more arguments
    (`non_blocking=`, `dtype=`, `copy=`), creation calls that already have
    `device=`, `requires_grad=` (moving a leaf makes a non-leaf, creating on
    the device keeps the leaf: gradients would then land in a different
    place) or `pin_memory=`, and random tensors (`torch.randn(n).cuda()`),
    because a device draws from its own generator and the numbers change.
    """

    code = "KZ403"
    name = "tensor-created-then-moved"
    message = "`{func}` creates the tensor on the host and then copies it; pass `device=` to create it there"
    safety = Safety.SAFE
    METADATA_DEPENDENCIES = (
        PositionProvider,
        QualifiedNameProvider,
        ParentNodeProvider,
        ScopeProvider,
    )
    TRIGGERS = (".to(", ".cuda(", ".cpu(")

    @classmethod
    def precheck(cls, facts: TreeFacts) -> bool:
        return any(
            method in ("to", "cuda", "cpu") and f"torch.{inner}" in DETERMINISTIC | RANDOM
            for inner, method in facts.chained_calls
        )

    VALID = (
        Valid(
            """
            import torch
            x = torch.tensor(data, device="cuda")
            y = batch.to(device)
            z = torch.zeros(3).float()
            """
        ),
        Valid(
            """
            import numpy as np
            a = np.zeros(3).to("cuda")
            """
        ),
    )

    INVALID = (
        Invalid(
            """
            import torch
            ids = torch.tensor(token_ids).to("cuda")  # ids
            mask = torch.zeros(4, 8, dtype=torch.bool).cuda()
            pos = torch.arange(n).to(device=dev)
            """,
            """
            import torch
            ids = torch.tensor(token_ids, device="cuda")  # ids
            mask = torch.zeros(4, 8, dtype=torch.bool, device="cuda")
            pos = torch.arange(n, device=dev)
            """,
        ),
        # A variable assigned only devices, any import style.
        Invalid(
            """
            import torch as th
            from torch import full

            device = th.device("cuda" if th.cuda.is_available() else "cpu")

            def make(n):
                return full((n, 2), 0.5).to(device)
            """,
            """
            import torch as th
            from torch import full

            device = th.device("cuda" if th.cuda.is_available() else "cpu")

            def make(n):
                return full((n, 2), 0.5, device=device)
            """,
        ),
        Invalid(
            """
            import torch
            dev = "cuda:0" if use_gpu else "cpu"
            w = torch.ones(
                3,
                4,
            ).to(dev)
            """,
            """
            import torch
            dev = "cuda:0" if use_gpu else "cpu"
            w = torch.ones(
                3,
                4,
                device=dev,
            )
            """,
        ),
        # An unknown argument: could be a dtype or another tensor.
        Invalid(
            """
            import torch
            def f(data, target):
                return torch.tensor(data).to(target)
            """
        ),
        # More .to() arguments, or a random tensor.
        Invalid(
            """
            import torch
            a = torch.tensor(data).to("cuda", non_blocking=True)
            """
        ),
        Invalid(
            """
            import torch
            noise = torch.randn(16).cuda()
            """
        ),
        Invalid(
            """
            import torch
            w = torch.zeros(3, requires_grad=True).to("cuda")
            """
        ),
    )

    EQUIVALENCE = Equivalence(
        template="""
        import torch
        a = torch.tensor(data).to("cpu")
        b = torch.zeros(shape, dtype=dtype).to(device="cpu")
        c = torch.full(shape, fill).to(torch.device("cpu"))
        d = torch.as_tensor(data, dtype=dtype).cpu()
        e = torch.arange(n).to("cpu")
        f = torch.ones_like(a).to(torch.device("cpu"))
        g = torch.linspace(0, 1, n).to(device="cpu")
        """,
        inputs="rules.equivalence.torch_inputs:creation_inputs",
        outputs=("a", "b", "c", "d", "e", "f", "g"),
        max_examples=150,
    )

    BENCH = Bench(
        setup="""
        import torch
        torch.set_num_threads(1)
        DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
        rows = [[float(i * 64 + j) for j in range(64)] for i in range(256)]
        """,
        before="""
        import torch
        mask = torch.zeros(1024, 1024).to(torch.device(DEVICE))
        table = torch.tensor(rows).to(torch.device(DEVICE))
        """,
        size="a 1024x1024 float32 zeros tensor and a 256x64 tensor from nested lists",
    )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("to", "cuda", "cpu"):
            return
        creation = func.value
        if not isinstance(creation, cst.Call):
            return
        names = c.qualified_names(self, creation.func)
        if not names & (DETERMINISTIC | RANDOM):
            return
        created = min(names & (DETERMINISTIC | RANDOM))
        message = self.message.format(func=created)
        device = self._device_argument(node)
        reason = None
        if names & RANDOM:
            reason = "a random tensor made on the device draws from that device's generator, so its values would change"
        elif device is None:
            reason = "the `.to()` argument is not provably a device"
        else:
            keywords = {a.keyword.value for a in creation.args if a.keyword is not None}
            blocking = sorted(keywords & BLOCKING_KEYWORDS)
            if blocking:
                reason = f"the creation call already passes {', '.join(blocking)}="
            elif not creation.args or any(a.star for a in creation.args):
                reason = "the creation call's arguments cannot be extended"
        if reason:
            self.report(node, f"{message} (not fixed: {reason})", safety=Safety.DISPLAY_ONLY)
            return
        args = list(creation.args)
        last = args[-1]
        space = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        if last.comma is cst.MaybeSentinel.DEFAULT:
            args[-1] = last.with_changes(comma=space)
            trailing = cst.MaybeSentinel.DEFAULT
        else:
            # A trailing comma stays last; with one argument per line the new
            # argument gets a line of its own, like its neighbours.
            one_per_line = (
                len(args) >= 2
                and isinstance(args[-2].comma, cst.Comma)
                and isinstance(args[-2].comma.whitespace_after, cst.ParenthesizedWhitespace)
            )
            args[-1] = last.with_changes(comma=args[-2].comma if one_per_line else space)
            trailing = last.comma
        new_arg = cst.Arg(
            value=device,
            keyword=cst.Name("device"),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace(""),
            ),
            comma=trailing,
        )
        replacement = creation.with_changes(args=[*args, new_arg], lpar=node.lpar, rpar=node.rpar)
        self.report(node, message, replacement=replacement)

    def _device_argument(self, call: cst.Call) -> cst.BaseExpression | None:
        """The device ``call`` moves to, when that is provable, else None."""
        method = call.func.attr.value
        if method in ("cuda", "cpu"):
            return cst.SimpleString(f'"{method}"') if not call.args else None
        if len(call.args) != 1 or call.args[0].star:
            return None
        arg = call.args[0]
        if arg.keyword is not None:
            return arg.value if arg.keyword.value == "device" else None
        return arg.value if self._is_device(arg.value, follow_names=True) else None

    def _is_device(self, expr: cst.BaseExpression, follow_names: bool) -> bool:
        if isinstance(expr, cst.SimpleString):
            return bool(DEVICE_STRING.match(expr.evaluated_value or ""))
        if isinstance(expr, cst.Call):
            return "torch.device" in c.qualified_names(self, expr.func)
        if isinstance(expr, cst.IfExp):
            return self._is_device(expr.body, False) and self._is_device(expr.orelse, False)
        if isinstance(expr, cst.Name) and follow_names:
            return self._name_is_device(expr)
        return False

    def _name_is_device(self, name: cst.Name) -> bool:
        try:
            scope = self.get_metadata(ScopeProvider, name)
        except KeyError:
            return False
        if scope is None:
            return False
        assignments = scope[name.value]
        if not assignments:
            return False
        for assignment in assignments:
            node = getattr(assignment, "node", None)
            target = c.parent(self, node) if isinstance(node, cst.Name) else None
            assign = c.parent(self, target) if isinstance(target, cst.AssignTarget) else None
            if not isinstance(assign, cst.Assign) or not self._is_device(assign.value, False):
                return False
        return True

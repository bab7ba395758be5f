"""KZ402: a device-to-host sync on every pass of a training or evaluation loop."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import (
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from rules.framework import Bench, Equivalence, Import, Invalid, Rule, Safety, Valid
from rules.precheck import TreeFacts
from rules.torch import _common as c



class HostSyncInLoop(Rule):
    """## What it does
    Flags per-pass host syncs in loops: `total += loss.item()`,
    `total += float(loss)`, and `.item()`, `.tolist()` or `.cpu().numpy()`
    results appended to a list on every batch.

    ## Why is this bad?
    Reading a CUDA tensor's value on the host makes the host wait until the
    device has finished all queued work. Done once per batch, it stops the
    host from queueing the next batch's kernels while the device is busy, so
    the device idles between steps. Keeping the values on the device and
    reading them once after the loop lets the queue run ahead.

    ## Example
    ```python
    total = 0.0
    preds = []
    for xb, yb in loader:
        out = model(xb)
        loss = criterion(out, yb)
        loss.backward()
        total += loss.item()
        preds.append(out.detach().cpu().numpy())
    ```

    ## Use instead
    ```python
    import torch

    total = 0.0
    preds = []
    total_parts = []
    preds_on_device = []
    for xb, yb in loader:
        out = model(xb)
        loss = criterion(out, yb)
        loss.backward()
        total_parts.append(loss.detach())
        preds_on_device.append(out.detach())
    if total_parts:
        total += sum(torch.stack(total_parts).flatten().tolist())
    if preds_on_device:
        preds.extend(part.cpu().numpy() for part in preds_on_device)
    ```

    ## Fix safety
    Unsafe. The values read after the loop are the same tensors' values, but:
    the sum is taken by Python's `sum()`, which from Python 3.12 compensates
    rounding error, so the last bits of a float total can differ from
    repeated `+=`; every per-batch tensor stays in device memory until the
    loop ends (a long evaluation can run out of memory); a tensor modified in
    place after it was collected is read with its later values; `torch.stack`
    needs every collected value to have the same shape; and if the loop
    raises, the accumulator was never updated. `.tolist()` and
    `.cpu().numpy()` parts are still copied one by one, but after the loop,
    where the copies no longer stall it.

    The fix is offered only when the accumulator is a local initialised to
    `0`/`0.0` (or `[]` for a list) before the loop and not used elsewhere in
    it, when the value is provably a tensor (`.backward()` is called on it,
    it comes from a `torch` function, a model or loss module, or a
    tensor-only method such as `.detach()`), and when no `try` around the
    loop could expose the half-built accumulator. Otherwise the finding is
    display-only.

    The benefit needs a GPU to show: on a CPU `.item()` costs little. The
    benchmark measures the CPU cost of the pattern only.
    """

    code = "KZ402"
    name = "host-sync-in-loop"
    message = (
        "`{expr}` copies a device value to the host on every pass of the loop, "
        "making the host wait for the device; keep the values on the device and "
        "read them once after the loop"
    )
    safety = Safety.UNSAFE
    METADATA_DEPENDENCIES = (
        PositionProvider,
        QualifiedNameProvider,
        ParentNodeProvider,
        ScopeProvider,
    )
    TRIGGERS = (".item()", "float(", ".tolist()", ".numpy()")

    @classmethod
    def precheck(cls, facts: TreeFacts) -> bool:
        return bool(facts.loop_accumulated_call_names & {"item", "tolist", "numpy", "float"})

    VALID = (
        # Not in a loop.
        Valid(
            """
            import torch
            total = 0.0
            total += torch.ones(()).item()
            """
        ),
        # Logging a value is not accumulation.
        Valid(
            """
            for xb in loader:
                loss = model(xb)
                print(loss.item())
            """
        ),
        # float() of something that is not known to be a tensor.
        Valid(
            """
            total = 0.0
            for line in lines:
                total += float(line)
            """
        ),
    )

    INVALID = (
        Invalid(
            """
            import torch.nn.functional as F

            def train_epoch(model, loader, opt):
                # one epoch
                total = 0.0
                for xb, yb in loader:
                    loss = F.mse_loss(model(xb), yb)
                    loss.backward()
                    opt.step()
                    total += loss.item()  # running loss
                return total / len(loader)
            """,
            """
            import torch.nn.functional as F
            import torch

            def train_epoch(model, loader, opt):
                # one epoch
                total = 0.0
                total_parts = []
                for xb, yb in loader:
                    loss = F.mse_loss(model(xb), yb)
                    loss.backward()
                    opt.step()
                    total_parts.append(loss.detach())  # running loss
                if total_parts:
                    total += sum(torch.stack(total_parts).flatten().tolist())
                return total / len(loader)
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch

            def evaluate(model, loader):
                model.eval()
                correct = 0
                preds = []
                with torch.no_grad():
                    for xb, yb in loader:
                        out = model(xb)
                        correct = correct + (out.argmax(1) == yb).sum().item()
                        preds.append(out.cpu().numpy())
                return correct, preds
            """,
            """
            import torch

            def evaluate(model, loader):
                model.eval()
                correct = 0
                preds = []
                with torch.no_grad():
                    correct_parts = []
                    preds_on_device = []
                    for xb, yb in loader:
                        out = model(xb)
                        correct_parts.append((out.argmax(1) == yb).sum().detach())
                        preds_on_device.append(out.detach())
                    if preds_on_device:
                        preds.extend(part.cpu().numpy() for part in preds_on_device)
                    if correct_parts:
                        correct += sum(torch.stack(correct_parts).flatten().tolist())
                return correct, preds
            """,
            unsafe=True,
        ),
        # float() of a tensor, and item() values collected in a list.
        Invalid(
            """
            import torch
            losses = []
            total = 0
            for batch in batches:
                loss = torch.mean(batch)
                total += float(loss)
                losses.append(loss.item())
            """,
            """
            import torch
            losses = []
            total = 0
            total_parts = []
            losses_on_device = []
            for batch in batches:
                loss = torch.mean(batch)
                total_parts.append(loss.detach())
                losses_on_device.append(loss.detach())
            if losses_on_device:
                losses.extend(torch.stack(losses_on_device).flatten().tolist())
            if total_parts:
                total += sum(map(float, torch.stack(total_parts).flatten().tolist()))
            """,
            unsafe=True,
        ),
        # The accumulator is read inside the loop: reported, not fixed.
        Invalid(
            """
            total = 0.0
            for step, (xb, yb) in enumerate(loader):
                loss = criterion(model(xb), yb)
                loss.backward()
                total += loss.item()
                if step % 100 == 0:
                    print(total / (step + 1))
            """
        ),
        # Not provably a tensor: `.item()` exists on numpy values too.
        Invalid(
            """
            total = 0.0
            for value in values:
                total += value.item()
            """
        ),
        # Not initialised to zero before the loop.
        Invalid(
            """
            import torch
            def run(batches, total):
                for batch in batches:
                    total += torch.sum(batch).item()
                return total
            """
        ),
    )

    EQUIVALENCE = Equivalence(
        template="""
        import math
        import torch
        total = 0.0
        for loss in losses:
            total += torch.abs(loss).item()
        reference = math.fsum(abs(loss.item()) for loss in losses)
        total_close = type(total) is float and math.isclose(total, reference, rel_tol=1e-12, abs_tol=1e-300)
        hits = 0
        for count in counts:
            hits += torch.gt(count, 0).sum().item()
        arrays = []
        for loss in losses:
            arrays.append(torch.neg(loss).cpu().numpy())
        halves = []
        for count in counts:
            halves.append(float(torch.div(count, 2)))
        """,
        setup="",
        inputs="rules.equivalence.torch_inputs:host_sync_inputs",
        outputs=("total_close", "hits", "arrays", "halves"),
        max_examples=100,
        unsafe=True,
    )

    BENCH = Bench(
        setup="""
        import torch
        import torch.nn.functional as F
        torch.set_num_threads(1)
        torch.manual_seed(0)
        batches = [torch.randn(64, 16) for _ in range(200)]
        target = torch.zeros(64, 16)
        """,
        before="""
        import torch.nn.functional as F
        total = 0.0
        for batch in batches:
            loss = F.mse_loss(batch, target)
            total += loss.item()
        """,
        size="200 steps of a 64x16 float32 MSE loss, on the CPU (no device to wait for)",
    )

    # -- analysis ----------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._taken = c.all_identifiers(node)
        self._modules = c.module_like_names(self, node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.operator, cst.AddAssign) and isinstance(node.target, cst.Name):
            self._accumulation(node, node.target, node.value, (node.target,))

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        target = node.targets[0].target
        value = node.value
        if (
            isinstance(value, cst.BinaryOperation)
            and isinstance(value.operator, cst.Add)
            and isinstance(value.left, cst.Name)
            and value.left.value == target.value
        ):
            self._accumulation(node, target, value.right, (target, value.left))

    def visit_Expr(self, node: cst.Expr) -> None:
        call = node.value
        if not (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "append"
            and isinstance(call.func.value, cst.Name)
            and len(call.args) == 1
            and call.args[0].keyword is None
            and not call.args[0].star
        ):
            return
        self._collection(node, call.func.value, call.args[0].value)

    def _accumulation(self, statement, target: cst.Name, value, own_names) -> None:
        sync = self._sync(value)
        if sync is None:
            return
        kind, device_expr, evident = sync
        context = c.loop_context(self, statement)
        if context.loop is None:
            return
        message = self.message.format(expr=self._module.code_for_node(value))
        reason = self._why_not_fixable(
            statement, target, context, own_names, device_expr, evident, zero=True
        )
        if reason:
            if kind == "float" and not evident and not self._is_tensor(device_expr, context.loop):
                return  # float(x) of an unknown x is most likely not a sync at all
            self.report(value, f"{message} (not fixed: {reason})", safety=Safety.DISPLAY_ONLY)
            return
        parts = c.fresh_name(self._taken, f"{target.value}_parts")
        values = f"torch.stack({parts}).flatten().tolist()"
        if kind == "float":
            values = f"map(float, {values})"
        after = f"{target.value} += sum({values})"
        self._rewrite(statement, value, context.loop, parts, device_expr, after, message)

    def _collection(self, statement: cst.Expr, target: cst.Name, value) -> None:
        sync = self._sync(value)
        if sync is None:
            return
        kind, device_expr, evident = sync
        context = c.loop_context(self, statement)
        if context.loop is None:
            return
        message = self.message.format(expr=self._module.code_for_node(value))
        reason = self._why_not_fixable(
            statement, target, context, (target,), device_expr, evident, zero=False
        )
        if reason:
            if (
                kind in ("float", "tolist")
                and not evident
                and not self._is_tensor(device_expr, context.loop)
            ):
                return
            self.report(value, f"{message} (not fixed: {reason})", safety=Safety.DISPLAY_ONLY)
            return
        parts = c.fresh_name(self._taken, f"{target.value}_on_device")
        if kind == "item":
            after = f"{target.value}.extend(torch.stack({parts}).flatten().tolist())"
        elif kind == "float":
            after = f"{target.value}.extend(map(float, torch.stack({parts}).flatten().tolist()))"
        elif kind == "tolist":
            after = f"{target.value}.extend(part.tolist() for part in {parts})"
        else:
            after = f"{target.value}.extend(part.cpu().numpy() for part in {parts})"
        self._rewrite(statement, value, context.loop, parts, device_expr, after, message)

    def _rewrite(self, statement, value, loop, parts, device_expr, after, message) -> None:
        if _ends_with_method(device_expr, "detach"):
            kept = device_expr
        else:
            kept = c.method_call(device_expr, "detach")
        append = cst.Expr(
            cst.Call(
                func=cst.Attribute(value=cst.Name(parts), attr=cst.Name("append")),
                args=[cst.Arg(kept)],
            )
        )
        new_loop = loop.deep_replace(statement, append).with_changes(leading_lines=[])
        init = cst.SimpleStatementLine(
            body=[cst.Assign(targets=[cst.AssignTarget(cst.Name(parts))], value=cst.List([]))],
            leading_lines=loop.leading_lines,
        )
        indent = self._module.default_indent
        read_after = cst.parse_statement(
            f"if {parts}:\n{indent}{after}\n", config=self._module.config_for_parsing
        )
        self.report(
            value,
            message,
            replacement=cst.FlattenSentinel([init, new_loop, read_after]),
            replace=loop,
            imports=[Import("torch")],
        )

    def _why_not_fixable(
        self, statement, target, context, own_names, device_expr, evident, zero
    ) -> str | None:
        loop = context.loop
        uses = c.name_uses(loop, target.value)
        if {id(u) for u in uses} != {id(n) for n in own_names}:
            return f"`{target.value}` is also used elsewhere in the loop"
        if not isinstance(loop, cst.For):
            return "only `for` loops are rewritten"
        if loop.orelse is not None:
            return "the loop has an else clause"
        if not context.direct:
            return "the statement is nested in a block other than if/else inside the loop"
        if not evident and not self._is_tensor(device_expr, loop):
            return f"`{self._module.code_for_node(device_expr)}` is not provably a tensor"
        exposed = c.exception_exposed(self, loop)
        if exposed:
            return exposed
        bound = c.bound_before(self, loop, target.value)
        if bound is None or not (
            c.is_zero_literal(bound.value)
            if zero
            else isinstance(bound.value, cst.List) and not bound.value.elements
        ):
            start = "0 or 0.0" if zero else "[]"
            return f"`{target.value}` is not set to {start} before the loop in the same block"
        return c.local_only(self, target)

    def _sync(self, expr) -> tuple[str, cst.BaseExpression, bool] | None:
        """(kind, the tensor expression, whether the form itself proves it is a
        tensor) for a host-reading expression, else None."""
        if not isinstance(expr, cst.Call):
            return None
        func = expr.func
        if isinstance(func, cst.Attribute) and not expr.args:
            method = func.attr.value
            if method == "item":
                return "item", func.value, False
            if method == "tolist":
                inner = _strip_method(func.value, "cpu")
                return (
                    ("tolist", inner, True) if inner is not None else ("tolist", func.value, False)
                )
            if method == "numpy":
                inner = _strip_method(func.value, "cpu")
                return ("numpy", inner, True) if inner is not None else None
            return None
        if (
            len(expr.args) == 1
            and expr.args[0].keyword is None
            and not expr.args[0].star
            and "builtins.float" in c.qualified_names(self, func)
        ):
            return "float", expr.args[0].value, False
        return None

    def _is_tensor(self, expr, loop, depth: int = 0) -> bool:
        if depth > 8:
            return False
        if isinstance(expr, cst.Call):
            if c.is_torch_namespace_call(self, expr):
                return True
            func = expr.func
            if self._module.code_for_node(func) in self._modules:
                return True
            if isinstance(func, cst.Attribute):
                method = func.attr.value
                if method in c.TORCH_ONLY_METHODS:
                    return True
                if method in c.TENSOR_METHODS:
                    return self._is_tensor(func.value, loop, depth + 1)
            return False
        if isinstance(expr, cst.Subscript):
            return self._is_tensor(expr.value, loop, depth + 1)
        if isinstance(expr, cst.Comparison):
            return self._is_tensor(expr.left, loop, depth + 1) or any(
                self._is_tensor(t.comparator, loop, depth + 1) for t in expr.comparisons
            )
        if isinstance(expr, cst.BinaryOperation):
            return self._is_tensor(expr.left, loop, depth + 1) or self._is_tensor(
                expr.right, loop, depth + 1
            )
        if isinstance(expr, cst.UnaryOperation):
            return self._is_tensor(expr.expression, loop, depth + 1)
        if isinstance(expr, cst.Name):
            return self._name_is_tensor(expr.value, loop, depth)
        return False

    def _name_is_tensor(self, name: str, loop, depth: int) -> bool:
        finder = _LoopFacts(name)
        loop.body.visit(finder)
        if finder.backward:
            return True
        if len(finder.values) == 1:
            return self._is_tensor(finder.values[0], loop, depth + 1)
        return False


class _LoopFacts(cst.CSTVisitor):
    """What a loop body says about ``name``: whether ``name.backward()`` is
    called, and the values assigned to it."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.backward = False
        self.values: list[cst.BaseExpression] = []

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "backward"
            and isinstance(func.value, cst.Name)
            and func.value.value == self.name
        ):
            self.backward = True

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Name) and target.target.value == self.name:
                self.values.append(node.value)
            elif c.name_uses(target.target, self.name):
                # Bound by unpacking: the value is unknown, and it counts twice
                # so that a single other assignment cannot vouch for it.
                self.values.extend([node.value, node.value])


def _strip_method(expr, method: str):
    """``x`` for ``x.<method>()``, else None."""
    if (
        isinstance(expr, cst.Call)
        and not expr.args
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value == method
    ):
        return expr.func.value
    return None


def _ends_with_method(expr, method: str) -> bool:
    return _strip_method(expr, method) is not None

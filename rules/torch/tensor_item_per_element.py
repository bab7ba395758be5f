"""KZ406: a tensor read one element at a time with ``.item()`` in a loop."""

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

# Scopes of their own: a name inside them may be a different variable.
_NESTED_SCOPES = (
    cst.FunctionDef,
    cst.ClassDef,
    cst.Lambda,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.GeneratorExp,
)
# Where a conditional expression needs no parentheses of its own.
_LOOSE_PARENTS = (
    cst.Arg,
    cst.Assign,
    cst.AugAssign,
    cst.AnnAssign,
    cst.Return,
    cst.Element,
    cst.DictElement,
)
# Containers a subscript store may write into without touching any tensor.
_CONTAINER_BUILTINS = {"builtins.dict", "builtins.list", "builtins.set"}
_CONTAINER_FACTORIES = {"collections.defaultdict", "collections.OrderedDict", "collections.Counter"}

# The exact condition under which one ``.tolist()`` gives, in order, what
# ``.item()`` gives for each row: a dense tensor with at least one dimension
# whose rows hold one element each. Everything here reads metadata only, so it
# never waits for the device and never raises for a tensor.
_HOIST = """\
{values} = (
{indent}{t}.reshape(-1).tolist()
{indent}if {t}.layout == torch.strided
{indent}and not ({t}.is_nested or {t}.is_meta)
{indent}and {t}.dim() >= 1
{indent}and {t}.numel() == {t}.shape[0]
{indent}else None
)
"""


class TensorItemPerElement(Rule):
    """## What it does
    Flags a tensor read one element per pass of a loop with `.item()`:
    `pred[i].item()` in a `for i in range(...)` or `for i, x in enumerate(...)`
    loop, and `v.item()` in a `for v in tensor:` loop.

    ## Why is this bad?
    Each `.item()` is a separate device-to-host copy: on a GPU the host waits
    for the device once per element; on a CPU each one still pays for
    indexing, a new 0-d tensor and a conversion. One `.tolist()` before the
    loop reads every value at once, and the loop then indexes a Python list.
    Reading 2,000 float32 predictions into a dict by index on the CPU, the
    rewrite ran 9.5x and 10.0x faster than the original loop in two runs on
    a shared 2-core machine (the rule's BENCH: `python -c "from
    rules.registry import get; from rules.measure.job import run_here;
    print(run_here(get('KZ406')))"`); on a GPU each avoided `.item()` is
    also an avoided wait for the device.

    ## Example
    ```python
    pred = model(features).squeeze(-1)
    scores = {}
    for i, code in enumerate(codes):
        scores[code] = pred[i].item()
    ```

    ## Use instead
    ```python
    import torch

    pred = model(features).squeeze(-1)
    scores = {}
    pred_values = (
        pred.reshape(-1).tolist()
        if pred.layout == torch.strided
        and not (pred.is_nested or pred.is_meta)
        and pred.dim() >= 1
        and pred.numel() == pred.shape[0]
        else None
    )
    for i, code in enumerate(codes):
        scores[code] = pred_values[i] if pred_values is not None and 0 <= i < len(pred_values) else pred[i].item()
    ```

    ## Fix safety
    Safe. The list is read only when every row of the tensor holds exactly
    one element (shape `[n]`, `[n, 1]`, ...), the case in which `.tolist()`
    gives the very numbers `.item()` gives, of the same Python types; the
    condition reads metadata only, so it cannot fail or wait for the device.
    Whenever the list does not apply (a 0-d tensor, rows of several or of no
    elements, an index outside `0 <= i < n`, a sparse or nested tensor), the
    original `pred[i].item()` runs, so errors are the same errors at the same
    point. A `for v in pred:` loop iterates the list when it applies and the
    tensor itself otherwise, with `v.item()` kept for that case. This is
    checked on generated inputs (shapes `[n]`, `[n, 1]`, `[n, 2]`, `[n, 0]`,
    0-d and empty; float32, float64, bfloat16, int64, uint8 and bool;
    `requires_grad`; indices past either end; loops that fail half way).

    The fix is offered only when the tensor is provably a tensor (assigned
    just before the loop, in the same block, from a `torch` function, a
    tensor-only method such as `.detach()` or `.cpu()`, or a tensor method
    on one of those or on a model's output; a bare model call may return a
    tuple), is a local not read by other scopes, and is only read in the loop
    (`pred[i].item()`, `len(pred)`); the loop index is not reassigned, the
    loop calls no in-place method (`x.add_()`) and passes no `out=`, and every
    subscript it assigns belongs to a dict, list or set created before the
    loop, since a write through a view could change the tensor while it is
    read. A `for v in pred:` loop also needs `v` to be used only as
    `v.item()`. A loop over a literal `range(...)` reads a fixed number of
    elements, which can be fewer than a whole-tensor read costs, so it is
    left alone. Otherwise the finding is display-only.

    The whole tensor is read even when the loop stops early (`break`).
    """

    code = "KZ406"
    name = "tensor-item-per-element"
    message = (
        "`{expr}` copies one element per pass of the loop to the host (a separate "
        "sync and conversion each time); read all values with one `.tolist()` "
        "before the loop and {use}"
    )
    safety = Safety.SAFE
    METADATA_DEPENDENCIES = (
        PositionProvider,
        QualifiedNameProvider,
        ParentNodeProvider,
        ScopeProvider,
    )
    TRIGGERS = (".item()",)

    @classmethod
    def precheck(cls, facts: TreeFacts) -> bool:
        return "item" in facts.loop_call_names

    VALID = (
        # One read, not one per element.
        Valid(
            """
            import torch
            pred = torch.sigmoid(logits)
            best = pred.max().item()
            """
        ),
        # The index does not come from the loop.
        Valid(
            """
            import torch
            pred = torch.sigmoid(logits)
            for code in codes:
                scores[code] = pred[0].item()
            """
        ),
        # Already read as a list.
        Valid(
            """
            import torch
            values = torch.sigmoid(logits).tolist()
            for i, code in enumerate(codes):
                scores[code] = values[i]
            """
        ),
    )

    INVALID = (
        Invalid(
            """
            import torch

            def score(model, features, codes):
                model.eval()
                pred = model(features).squeeze(-1)
                scores = {}
                # one score per stock
                for i, code in enumerate(codes):
                    scores[code] = pred[i].item()  # plain float
                return scores
            """,
            """
            import torch

            def score(model, features, codes):
                model.eval()
                pred = model(features).squeeze(-1)
                scores = {}
                # one score per stock
                pred_values = (
                    pred.reshape(-1).tolist()
                    if pred.layout == torch.strided
                    and not (pred.is_nested or pred.is_meta)
                    and pred.dim() >= 1
                    and pred.numel() == pred.shape[0]
                    else None
                )
                for i, code in enumerate(codes):
                    scores[code] = pred_values[i] if pred_values is not None and 0 <= i < len(pred_values) else pred[i].item()  # plain float
                return scores
            """,
        ),
        # An operand needs parentheses; `import torch as th` still gets `torch`.
        Invalid(
            """
            import torch as th
            pred = th.softmax(logits, dim=0)
            total = 0.0
            for i in range(len(pred)):
                total += pred[i].item() * weights[i]
            """,
            """
            import torch as th
            import torch

            pred = th.softmax(logits, dim=0)
            total = 0.0
            pred_values = (
                pred.reshape(-1).tolist()
                if pred.layout == torch.strided
                and not (pred.is_nested or pred.is_meta)
                and pred.dim() >= 1
                and pred.numel() == pred.shape[0]
                else None
            )
            for i in range(len(pred)):
                total += (pred_values[i] if pred_values is not None and 0 <= i < len(pred_values) else pred[i].item()) * weights[i]
            """,
        ),
        # Iterating the tensor itself.
        Invalid(
            """
            import torch
            losses = torch.stack(parts).detach()
            history = []
            for value in losses:
                history.append(value.item())
            """,
            """
            import torch
            losses = torch.stack(parts).detach()
            history = []
            losses_values = (
                losses.reshape(-1).tolist()
                if losses.layout == torch.strided
                and not (losses.is_nested or losses.is_meta)
                and losses.dim() >= 1
                and losses.numel() == losses.shape[0]
                else None
            )
            for value in (losses if losses_values is None else losses_values):
                history.append(value if losses_values is not None else value.item())
            """,
        ),
        # Modified in place inside the loop, here through a view: the list
        # would hold stale values.
        Invalid(
            """
            import torch
            pred = torch.rand(8)
            head = pred[:4]
            for i in range(len(pred)):
                head.mul_(0.5)
                print(pred[i].item())
            """
        ),
        # A write through a subscript could go into a view of the tensor.
        Invalid(
            """
            import torch
            pred = torch.rand(8)
            head = pred[:4]
            for i in range(4, len(pred)):
                head[i - 4] = 0.0
                print(pred[i].item())
            """
        ),
        # A parameter is not provably a tensor: numpy arrays have `.item()` too.
        Invalid(
            """
            def run(pred, codes):
                for i, code in enumerate(codes):
                    print(code, pred[i].item())
            """
        ),
        # A bare model call may return a tuple.
        Invalid(
            """
            out = model(features)
            for i in range(len(out)):
                print(out[i].item())
            """
        ),
        # The loop variable is read after the loop, where it would be a number.
        Invalid(
            """
            import torch
            losses = torch.stack(parts)
            for value in losses:
                print(value.item())
            last = value
            """
        ),
        # A fixed, short read of a possibly long tensor.
        Invalid(
            """
            import torch
            pred = torch.sigmoid(logits)
            for i in range(3):
                print(pred[i].item())
            """
        ),
    )

    EQUIVALENCE = Equivalence(
        template="""
        import torch
        try:
            scores = {}
            pred_a = torch.as_tensor(pred)
            for i, code in enumerate(codes):
                scores[code] = pred_a[i].item()
            error_a = None
        except Exception as exc:
            error_a = (type(exc).__name__, str(exc))
        total = 0
        try:
            pred_b = torch.as_tensor(pred)
            for i in range(start, stop):
                total += pred_b[i].item() * 2
            error_b = None
        except Exception as exc:
            error_b = (type(exc).__name__, str(exc))
        history = []
        seen = 0
        try:
            pred_c = torch.as_tensor(pred)
            for value in pred_c:
                seen += 1
                if flag or seen > 1:
                    history.append(value.item())
            error_c = None
        except Exception as exc:
            error_c = (type(exc).__name__, str(exc))
        """,
        inputs="rules.equivalence.torch_inputs:item_per_element_inputs",
        outputs=("scores", "error_a", "total", "error_b", "history", "seen", "error_c"),
        max_examples=150,
    )

    BENCH = Bench(
        setup="""
        import torch
        torch.set_num_threads(1)
        torch.manual_seed(0)
        logits = torch.randn(2000)
        codes = [str(1301 + k) for k in range(2000)]
        """,
        before="""
        pred = logits.detach()
        scores = {}
        for i, code in enumerate(codes):
            scores[code] = pred[i].item()
        """,
        size="2,000 float32 predictions read into a dict by index, on the CPU",
    )

    # -- analysis ----------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._taken = c.all_identifiers(node)
        self._modules = c.module_like_names(self, node)

    def visit_For(self, node: cst.For) -> None:
        index = self._loop_index(node)
        if index is not None:
            self._indexed_reads(node, index)
        if isinstance(node.target, cst.Name) and isinstance(node.iter, cst.Name):
            self._iterated(node, node.iter.value, node.target)

    def _loop_index(self, loop: cst.For) -> str | None:
        """The name that provably holds an int on every pass: the target of
        ``range(...)`` or the counter of ``enumerate(...)``."""
        call = loop.iter
        if not isinstance(call, cst.Call) or any(a.star for a in call.args):
            return None
        names = c.qualified_names(self, call.func)
        target = loop.target
        if "builtins.range" in names and isinstance(target, cst.Name):
            return target.value
        if (
            "builtins.enumerate" in names
            and isinstance(target, (cst.Tuple, cst.List))
            and len(target.elements) == 2
            and isinstance(target.elements[0], cst.Element)
            and isinstance(target.elements[0].value, cst.Name)
        ):
            return target.elements[0].value.value
        return None

    # -- form A: pred[i].item() -------------------------------------------
    def _indexed_reads(self, loop: cst.For, index: str) -> None:
        groups: dict[str, list[cst.Call]] = {}
        for call in _item_calls(loop.body):
            receiver = call.func.value
            if (
                isinstance(receiver, cst.Subscript)
                and isinstance(receiver.value, cst.Name)
                and _single_index(receiver) == index
                and not self._already_hoisted(call)
            ):
                groups.setdefault(receiver.value.value, []).append(call)
        for tensor, calls in groups.items():
            expr = self._module.code_for_node(calls[0])
            message = self.message.format(expr=expr, use="index the list")
            reason = self._why_not_indexed(loop, tensor, index, calls)
            if reason:
                self.report(
                    calls[0], f"{message} (not fixed: {reason})", safety=Safety.DISPLAY_ONLY
                )
                continue
            values = c.fresh_name(self._taken, f"{tensor}_values")
            replacements = {}
            for call in calls:
                fast = cst.parse_expression(
                    f"{values}[{index}] if {values} is not None and 0 <= {index} < len({values}) "
                    f"else {self._module.code_for_node(call)}"
                )
                replacements[id(call)] = self._parenthesised(call, fast)
            new_loop = loop.visit(_Replace(replacements))
            self._hoist(calls[0], loop, new_loop, tensor, values, message)

    def _why_not_indexed(self, loop, tensor, index, calls) -> str | None:
        if self._fixed_count(loop):
            return "the loop reads a fixed number of elements, maybe fewer than a whole read costs"
        stored = _stored_names(loop.body)
        if index in stored:
            return f"`{index}` is reassigned in the loop"
        allowed = {id(call.func.value.value) for call in calls}
        if isinstance(loop.iter, cst.Call) and "builtins.enumerate" in c.qualified_names(
            self, loop.iter.func
        ):
            first = loop.iter.args[0].value if loop.iter.args else None
            if isinstance(first, cst.Name):
                allowed.add(id(first))
        for use in c.name_uses(loop, tensor):
            if id(use) not in allowed and not self._is_len_argument(use):
                return f"`{tensor}` is also used otherwise in the loop"
        return self._why_tensor_not_stable(loop, tensor)

    # -- form B: for v in pred: v.item() ---------------------------------
    def _iterated(self, loop: cst.For, tensor: str, target: cst.Name) -> None:
        uses = c.name_uses(loop.body, target.value)
        calls = [call for call in _item_calls(loop.body) if _is_name(call.func.value, target.value)]
        if not calls:
            return
        expr = self._module.code_for_node(calls[0])
        message = self.message.format(expr=expr, use="iterate the list")
        reason = None
        if len(uses) != len(calls):
            reason = f"`{target.value}` is used other than through `.item()`"
        elif c.name_uses(loop.body, tensor):
            reason = f"`{tensor}` is also used in the loop"
        else:
            reason = self._why_not_only_in_loop(target, {id(call.func.value) for call in calls})
        reason = reason or self._why_tensor_not_stable(loop, tensor)
        if reason:
            self.report(calls[0], f"{message} (not fixed: {reason})", safety=Safety.DISPLAY_ONLY)
            return
        values = c.fresh_name(self._taken, f"{tensor}_values")
        replacements = {}
        for call in calls:
            fast = cst.parse_expression(
                f"{target.value} if {values} is not None else {self._module.code_for_node(call)}"
            )
            replacements[id(call)] = self._parenthesised(call, fast)
        new_body = loop.body.visit(_Replace(replacements))
        new_iter = cst.parse_expression(f"({tensor} if {values} is None else {values})")
        new_loop = loop.with_changes(body=new_body, iter=new_iter)
        self._hoist(calls[0], loop, new_loop, tensor, values, message)

    def _why_not_only_in_loop(self, target: cst.Name, allowed: set[int]) -> str | None:
        """Why the loop variable might be read anywhere but the ``.item()``
        calls in the loop (after the loop it would be a number, not a row)."""
        local = c.local_only(self, target)
        if local:
            return local
        scope = self.get_metadata(ScopeProvider, target)
        for assignment in scope.assignments[target.value]:
            for reference in assignment.references:
                if id(reference.node) not in allowed:
                    return f"`{target.value}` is read outside the loop's `.item()` calls"
        return None

    # -- shared --------------------------------------------------------------
    def _why_tensor_not_stable(self, loop: cst.For, tensor: str) -> str | None:
        """Why the values of ``tensor`` might change while the loop runs, or
        why it might not be a tensor at all, or None."""
        if tensor in _stored_names(loop):
            return f"`{tensor}` is reassigned in the loop"
        facts = _Writes()
        loop.visit(facts)
        if facts.in_place:
            return f"the loop calls `.{facts.in_place}()`, which could modify `{tensor}` through a view"
        if facts.out_argument:
            return f"the loop passes `out=`, which could write into `{tensor}`"
        for target in facts.subscript_stores:
            base = target.value
            if not (isinstance(base, cst.Name) and self._is_new_container(loop, base.value)):
                written = self._module.code_for_node(base)
                return (
                    f"`{written}[...] = ...` in the loop could write into `{tensor}` through a view"
                )
        assign = self._assigned_before(loop, tensor)
        if assign is None:
            return f"`{tensor}` is not assigned before the loop in the same block"
        if not self._is_tensor(assign.value, assign):
            return f"`{tensor}` is not provably a tensor"
        name = next(
            t.target
            for t in assign.targets
            if isinstance(t.target, cst.Name) and t.target.value == tensor
        )
        return c.local_only(self, name)

    def _assigned_before(self, statement, name: str) -> cst.Assign | None:
        """The plain ``name = ...`` that gives ``name`` its value when
        ``statement`` runs (see ``bound_before``), also found as the last word
        on ``name`` inside an earlier ``with torch.no_grad():`` block, whose
        body always runs to its end or raises."""
        found = c.bound_before(self, statement, name)
        if found is not None:
            return found
        block = c.parent(self, statement)
        statements = getattr(block, "body", None)
        if not isinstance(statements, (list, tuple)) or statement not in statements:
            return None
        for earlier in reversed(statements[: statements.index(statement)]):
            if not c.name_uses(earlier, name):
                continue
            if not (
                isinstance(earlier, cst.With)
                and isinstance(earlier.body, cst.IndentedBlock)
                and earlier.body.body
                and all(
                    item.asname is None and c.is_torch_namespace_call(self, item.item)
                    for item in earlier.items
                )
            ):
                return None
            last = earlier.body.body[-1]
            if isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1:
                only = last.body[0]
                if (
                    isinstance(only, cst.Assign)
                    and len(only.targets) == 1
                    and _is_name(only.targets[0].target, name)
                ):
                    return only
            if c.name_uses(last, name):
                return None
            return self._assigned_before(last, name)
        return None

    def _hoist(self, node, loop, new_loop, tensor, values, message) -> None:
        text = _HOIST.format(values=values, t=tensor, indent=self._module.default_indent)
        hoisted = cst.parse_statement(text, config=self._module.config_for_parsing)
        hoisted = hoisted.with_changes(leading_lines=loop.leading_lines)
        self.report(
            node,
            message,
            replacement=cst.FlattenSentinel([hoisted, new_loop.with_changes(leading_lines=[])]),
            replace=loop,
            imports=[Import("torch")],
        )

    def _parenthesised(self, call: cst.Call, expr: cst.BaseExpression) -> cst.BaseExpression:
        if isinstance(c.parent(self, call), _LOOSE_PARENTS):
            return expr
        return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])

    def _already_hoisted(self, call: cst.Call) -> bool:
        """``call`` is the fallback of this rule's own rewrite:
        ``values[i] if values is not None ... else pred[i].item()``."""
        owner = c.parent(self, call)
        return (
            isinstance(owner, cst.IfExp)
            and owner.orelse is call
            and isinstance(owner.body, cst.Subscript)
            and isinstance(owner.body.value, cst.Name)
        )

    def _fixed_count(self, loop: cst.For) -> bool:
        call = loop.iter
        return "builtins.range" in c.qualified_names(self, call.func) and all(
            c.int_literal(arg.value) is not None for arg in call.args
        )

    def _is_len_argument(self, name: cst.Name) -> bool:
        arg = c.parent(self, name)
        call = c.parent(self, arg) if isinstance(arg, cst.Arg) else None
        return (
            isinstance(call, cst.Call)
            and len(call.args) == 1
            and "builtins.len" in c.qualified_names(self, call.func)
        )

    def _is_new_container(self, loop: cst.For, name: str) -> bool:
        assign = self._assigned_before(loop, name)
        if assign is None:
            return False
        value = assign.value
        if isinstance(
            value, (cst.Dict, cst.List, cst.Set, cst.DictComp, cst.ListComp, cst.SetComp)
        ):
            return True
        if isinstance(value, cst.Call):
            names = c.qualified_names(self, value.func)
            return bool(names & (_CONTAINER_BUILTINS | _CONTAINER_FACTORIES))
        return False

    def _is_tensor(self, expr, statement, depth: int = 0) -> bool:
        """Whether ``expr`` (the value assigned by ``statement``) is provably a
        torch tensor."""
        if depth > 8:
            return False
        if isinstance(expr, cst.Call):
            if c.is_torch_namespace_call(self, expr):
                return True
            func = expr.func
            if isinstance(func, cst.Attribute):
                method = func.attr.value
                if method in c.TORCH_ONLY_METHODS:
                    return True
                if method in c.TENSOR_METHODS:
                    receiver = func.value
                    return self._is_model_output(receiver) or self._is_tensor(
                        receiver, statement, depth + 1
                    )
            return False
        if isinstance(expr, cst.Subscript):
            return self._is_tensor(expr.value, statement, depth + 1)
        if isinstance(expr, cst.BinaryOperation):
            return self._is_tensor(expr.left, statement, depth + 1) or self._is_tensor(
                expr.right, statement, depth + 1
            )
        if isinstance(expr, cst.UnaryOperation):
            return self._is_tensor(expr.expression, statement, depth + 1)
        if isinstance(expr, cst.Name):
            line = c.parent(self, statement)
            earlier = self._assigned_before(line, expr.value) if line is not None else None
            return earlier is not None and self._is_tensor(earlier.value, earlier, depth + 1)
        return False

    def _is_model_output(self, expr) -> bool:
        return isinstance(expr, cst.Call) and self._module.code_for_node(expr.func) in self._modules


class _Replace(cst.CSTTransformer):
    """Replaces nodes of the original tree, found by identity."""

    def __init__(self, replacements: dict[int, cst.BaseExpression]) -> None:
        super().__init__()
        self.replacements = replacements

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        return self.replacements.get(id(original), updated)


class _ItemCalls(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[cst.Call] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, _NESTED_SCOPES):
            return False
        if (
            isinstance(node, cst.Call)
            and not node.args
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "item"
        ):
            self.found.append(node)
        return True


def _item_calls(node: cst.CSTNode) -> list[cst.Call]:
    """Every ``x.item()`` call in ``node`` outside nested scopes."""
    visitor = _ItemCalls()
    node.visit(visitor)
    return visitor.found


class _Stores(cst.CSTVisitor):
    """Names bound anywhere in a subtree, nested scopes included (a
    comprehension or ``global`` there can still rebind them)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def _bind(self, target: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            self.names.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._bind(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._bind(node.name)

    def visit_Del(self, node: cst.Del) -> None:
        self._bind(node.target)

    def visit_Global(self, node: cst.Global) -> None:
        self.names.update(item.name.value for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.names.update(item.name.value for item in node.names)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.names.add(node.name.value)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.names.add(node.name.value)


def _stored_names(node: cst.CSTNode) -> set[str]:
    visitor = _Stores()
    node.visit(visitor)
    return visitor.names


class _Writes(cst.CSTVisitor):
    """Writes in a loop that could reach a tensor through a view: the first
    in-place method call (``x.add_()``), an ``out=`` argument, and the
    subscripts assigned to."""

    def __init__(self) -> None:
        super().__init__()
        self.in_place: str | None = None
        self.out_argument = False
        self.subscript_stores: list[cst.Subscript] = []

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (
            self.in_place is None
            and isinstance(func, cst.Attribute)
            and func.attr.value.endswith("_")
            and not func.attr.value.startswith("_")
        ):
            self.in_place = func.attr.value
        if any(arg.keyword is not None and arg.keyword.value == "out" for arg in node.args):
            self.out_argument = True

    def _store(self, target: cst.CSTNode) -> None:
        if isinstance(target, cst.Subscript):
            self.subscript_stores.append(target)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._store(element.value)
        elif isinstance(target, cst.StarredElement):
            self._store(target.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._store(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._store(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._store(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._store(node.target)


def _single_index(subscript: cst.Subscript) -> str | None:
    """``i`` for ``x[i]``, else None."""
    if len(subscript.slice) != 1:
        return None
    element = subscript.slice[0]
    if element.comma not in (cst.MaybeSentinel.DEFAULT,) and element.comma is not None:
        return None
    if isinstance(element.slice, cst.Index) and element.slice.star is None:
        value = element.slice.value
        if isinstance(value, cst.Name):
            return value.value
    return None


def _is_name(node: cst.CSTNode, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name

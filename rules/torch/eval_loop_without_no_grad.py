"""KZ405: an evaluation loop that runs the model with autograd recording."""

from __future__ import annotations

import os
import re

import libcst as cst
from libcst.metadata import ParentNodeProvider, PositionProvider, QualifiedNameProvider

from rules.framework import Invalid, Rule, Valid
from rules.precheck import TreeFacts
from rules.torch import _common as c

GRAD_OFF = {
    "torch.no_grad",
    "torch.inference_mode",
    "torch.set_grad_enabled",
    "torch.autograd.no_grad",
    "torch.autograd.grad_mode.no_grad",
    "torch.autograd.grad_mode.inference_mode",
    "torch.autograd.grad_mode.set_grad_enabled",
}
EVAL_WORDS = {
    "eval", "evaluate", "evaluation", "validate", "validation", "val", "valid",
    "predict", "prediction", "predictions", "inference", "infer", "test", "testing",
}  # fmt: skip
MODEL_NAME = re.compile(r"(^|_)(model|net|network)$", re.IGNORECASE)
TRAINING_CALLS = {"backward", "step"}


class EvalLoopWithoutNoGrad(Rule):
    """## What it does
    Flags a loop that calls a model on batches in an evaluation context (a
    function named like `evaluate`, `validate`, `predict` or `test_epoch`, or
    after `model.eval()`) without `torch.no_grad()` or
    `torch.inference_mode()` around it, as a `with` block or a decorator.

    ## Why is this bad?
    `model.eval()` changes dropout and batch norm; it does not turn autograd
    off. Every forward pass still records the graph and keeps the
    activations it needs for a backward pass that never comes: more memory
    (smaller batches fit) and slower passes. `torch.inference_mode()` skips
    that bookkeeping entirely.

    ## Example
    ```python
    def evaluate(model, loader):
        model.eval()
        outputs = []
        for xb, _ in loader:
            outputs.append(model(xb))
        return outputs
    ```

    ## Use instead
    ```python
    import torch

    @torch.inference_mode()
    def evaluate(model, loader):
        model.eval()
        outputs = []
        for xb, _ in loader:
            outputs.append(model(xb))
        return outputs
    ```

    ## Fix safety
    Display-only. Some evaluation code needs gradients (saliency maps,
    test-time adaptation, adversarial examples), and tensors made under
    `inference_mode` cannot later take part in autograd, so where to turn
    gradients off is the author's call. Loops that call `.backward()` or
    `.step()` are taken as training and not flagged.
    """

    code = "KZ405"
    name = "eval-loop-without-no-grad"
    message = (
        "`{call}` runs in an evaluation loop with autograd on, recording a graph and "
        "keeping activations no backward pass will use; wrap the loop in "
        "`with torch.inference_mode():` (or torch.no_grad())"
    )
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider, ParentNodeProvider)
    TRIGGERS = ("eval", "valid", "predict", "test", "infer", "val_")

    @classmethod
    def precheck(cls, facts: TreeFacts) -> bool:
        models = (name for name in facts.loop_call_names if MODEL_NAME.search(name))
        return facts.zero_argument_eval or any(models)

    VALID = (
        Valid(
            """
            import torch

            def evaluate(model, loader):
                model.eval()
                with torch.no_grad():
                    for xb, _ in loader:
                        model(xb)

            @torch.inference_mode()
            def predict(model, loader):
                return [model(xb) for xb in loader] + [model(xb) for xb in [loader] for _ in ()]

            @torch.no_grad()
            def validate(net, loader):
                for xb in loader:
                    net(xb)
            """
        ),
        # Training: gradients are the point.
        Valid(
            """
            def train_epoch(model, loader, opt):
                model.train()
                for xb, yb in loader:
                    loss = model(xb).sum()
                    loss.backward()
                    opt.step()
            """
        ),
        # Test-time adaptation calls backward inside an eval-named function.
        Valid(
            """
            def evaluate_with_adaptation(model, loader, opt):
                for xb in loader:
                    model(xb).sum().backward()
                    opt.step()
            """
        ),
        # No model call in the loop.
        Valid(
            """
            def evaluate(scores):
                total = 0
                for s in scores:
                    total += s
                return total
            """
        ),
    )

    INVALID = (
        Invalid(
            """
            import torch

            def evaluate(model, loader):
                model.eval()
                outputs = []
                for xb, _ in loader:
                    outputs.append(model(xb))
                return outputs
            """
        ),
        # After .eval(), in a function with any name, via self.
        Invalid(
            """
            class Trainer:
                def run_epoch_end(self, loader):
                    self.encoder.eval()
                    for batch in loader:
                        self.encoder(batch)
            """
        ),
        # A with block that does not turn gradients off.
        Invalid(
            """
            import torch

            def test_epoch(net, loader):
                with torch.autocast("cuda"):
                    for xb in loader:
                        net(xb)
            """
        ),
    )

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._reported: set[int] = set()
        self._facts: dict[int, _FunctionFacts] = {}
        base = os.path.basename(self.path)
        self._pytest_file = base.startswith("test_") or base.endswith("_test.py")

    def visit_Call(self, node: cst.Call) -> None:
        callee = node.func
        if not isinstance(callee, (cst.Name, cst.Attribute)):
            return
        callee_text = self._module.code_for_node(callee)
        loop = None
        function = None
        for ancestor in c.ancestors(self, node):
            if isinstance(ancestor, (cst.Lambda, cst.ClassDef, cst.Module)):
                return
            if loop is None and isinstance(ancestor, (cst.For, cst.While)):
                loop = ancestor
            if isinstance(ancestor, cst.FunctionDef):
                function = ancestor
                break
            if isinstance(ancestor, cst.With) and any(
                self._turns_grad_off(item.item) for item in ancestor.items
            ):
                return
        if loop is None or function is None or id(loop) in self._reported:
            return
        if any(self._turns_grad_off(d.decorator) for d in function.decorators):
            return
        facts = self._facts_of(function)
        if not (MODEL_NAME.search(_last_identifier(callee)) or callee_text in facts.eval_receivers):
            return
        if not (self._eval_named(function.name.value) or callee_text in facts.eval_receivers):
            return
        loop_facts = self._facts_of(loop)
        if loop_facts.training:
            return
        self._reported.add(id(loop))
        call_text = self._module.code_for_node(node)
        if len(call_text) > 60:
            call_text = f"{callee_text}(...)"
        self.report(node, self.message.format(call=call_text))

    def _facts_of(self, node: cst.CSTNode) -> _FunctionFacts:
        # Memoised: every call in a loop asks about the same function and loop,
        # and visiting them afresh for each call made large files quadratic.
        facts = self._facts.get(id(node))
        if facts is None:
            facts = self._facts[id(node)] = _FunctionFacts()
            node.visit(facts)
        return facts

    def _eval_named(self, name: str) -> bool:
        if self._pytest_file and name.startswith("test_"):
            return False
        words = {w for w in re.split(r"_+|(?<=[a-z])(?=[A-Z])", name) if w}
        return bool({w.lower() for w in words} & EVAL_WORDS)

    def _turns_grad_off(self, expr: cst.BaseExpression) -> bool:
        target = expr.func if isinstance(expr, cst.Call) else expr
        return bool(c.qualified_names(self, target) & GRAD_OFF)


class _FunctionFacts(cst.CSTVisitor):
    """Receivers of ``.eval()`` and whether training calls (``.backward()``,
    ``.step()``) occur."""

    def __init__(self) -> None:
        super().__init__()
        self.eval_receivers: set[str] = set()
        self.training = False

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        if func.attr.value == "eval" and not node.args:
            self.eval_receivers.add(cst.Module([]).code_for_node(func.value))
        if func.attr.value in TRAINING_CALLS:
            self.training = True


def _last_identifier(expr: cst.BaseExpression) -> str:
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    if isinstance(expr, cst.Name):
        return expr.value
    return ""

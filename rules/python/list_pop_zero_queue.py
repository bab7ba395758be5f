"""KZ101: a local list used as a FIFO queue through ``pop(0)``."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.metadata import (
    BuiltinAssignment,
    FunctionScope,
    ParentNodeProvider,
    PositionProvider,
    ScopeProvider,
)

from rules.framework import Bench, Equivalence, Import, Invalid, Rule, Safety, Valid
from rules.precheck import TreeFacts
from rules.python._fifo import dotted, is_pop_zero, removes_from_mapping

_TRUTH_PARENTS = (cst.If, cst.While, cst.IfExp, cst.Assert)
_EAGER_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp)


def _one_positional(call: cst.Call) -> bool:
    return len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star


class _Swap(cst.CSTTransformer):
    """Replaces given original nodes inside one subtree."""

    def __init__(self, replacements: dict[int, cst.CSTNode]) -> None:
        super().__init__()
        self._replacements = replacements

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        return self._replacements.get(id(original_node), updated_node)


class ListPopZeroQueue(Rule):
    """## What it does
    Flags ``queue.pop(0)`` on a list that a function creates and then uses only
    as a first-in, first-out queue: ``append``, ``pop(0)``, ``len``, truth
    tests, and loops over it that do not change it.

    ## Why is this bad?
    ``list.pop(0)`` moves every remaining element one slot to the left, so it
    costs time proportional to the length of the list; a queue drained that
    way is quadratic. ``collections.deque.popleft()`` takes constant time.

    ## Example
    ```python
    def breadth_first(graph, start):
        queue = [start]
        order = []
        while queue:
            node = queue.pop(0)
            order.append(node)
            for child in graph[node]:
                queue.append(child)
        return order
    ```

    ## Use instead
    ```python
    from collections import deque

    def breadth_first(graph, start):
        queue = deque([start])
        order = []
        while queue:
            node = queue.popleft()
            order.append(node)
            for child in graph[node]:
                queue.append(child)
        return order
    ```

    ## Fix safety
    Safe. The fix is offered only when every use of the name in its function
    is one of the forms above, so the list never escapes (it is not returned,
    passed on, aliased, indexed, sliced, printed, or captured by a nested
    function). A loop over the queue is allowed only when its body neither
    appends to nor pops from it: a list lets a loop run on into items appended
    during the loop, while a deque raises ``RuntimeError``. Generator
    expressions over the queue are not allowed, because they run later, when
    the queue may have changed. Popping from an empty queue raises
    ``IndexError`` in both versions; only the message text differs. Lists
    held in attributes (``self.queue``) or received as arguments are reported
    without a fix, since code elsewhere may use them as lists.
    """

    code = "KZ101"
    name = "list-pop-zero-queue"
    message = (
        "`list.pop(0)` shifts every remaining item; a `collections.deque` "
        "pops from the left in constant time"
    )
    safety = Safety.SAFE
    TRIGGERS = (".pop(0)",)

    @classmethod
    def precheck(cls, facts: TreeFacts) -> bool:
        return facts.pops_front

    METADATA_DEPENDENCIES = (PositionProvider, ScopeProvider, ParentNodeProvider)

    VALID = (
        Valid("item = stack.pop()\n"),
        Valid("value = mapping.pop(0, None)\n"),
        Valid(
            """
            from collections import deque

            def drain(items):
                queue = deque(items)
                while queue:
                    yield queue.popleft()
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            def drain(items):
                queue = list(items)
                out = []
                while queue:
                    out.append(queue.pop(0))
                return out
            """,
            """
            from collections import deque

            def drain(items):
                queue = deque(items)
                out = []
                while queue:
                    out.append(queue.popleft())
                return out
            """,
        ),
        Invalid(
            """
            import collections

            def breadth_first(graph, start):
                # visit in the order nodes were discovered
                queue = [start]
                seen = {start}
                while len(queue) > 0:
                    node = queue.pop(0)  # oldest first
                    for child in graph[node]:
                        if child not in seen:
                            seen.add(child)
                            queue.append(child)
                return seen
            """,
            """
            import collections
            from collections import deque

            def breadth_first(graph, start):
                # visit in the order nodes were discovered
                queue = deque([start])
                seen = {start}
                while len(queue) > 0:
                    node = queue.popleft()  # oldest first
                    for child in graph[node]:
                        if child not in seen:
                            seen.add(child)
                            queue.append(child)
                return seen
            """,
        ),
        Invalid(
            """
            def snapshot_then_drain(items):
                pending = []
                for item in items:
                    pending.append(item)
                copied = [x * 2 for x in pending]
                for x in pending:
                    print(x)
                while pending and not len(pending) == 0:
                    pending.pop(0)
                return copied
            """,
            """
            from collections import deque

            def snapshot_then_drain(items):
                pending = deque()
                for item in items:
                    pending.append(item)
                copied = [x * 2 for x in pending]
                for x in pending:
                    print(x)
                while pending and not len(pending) == 0:
                    pending.popleft()
                return copied
            """,
        ),
        # Escapes through the return value: callers may index it.
        Invalid(
            """
            def rest(items):
                queue = list(items)
                queue.pop(0)
                return queue
            """
        ),
        # Appending while looping over it: a list goes on, a deque raises.
        Invalid(
            """
            def grow(items):
                queue = list(items)
                for item in queue:
                    if item > 0:
                        queue.append(item - 1)
                return queue.pop(0)
            """
        ),
        Invalid(
            """
            def first(items):
                queue = list(items)
                head = queue[0]
                queue.pop(0)
                return head
            """
        ),
        Invalid(
            """
            class Worker:
                def __init__(self):
                    self.jobs = []

                def next_job(self):
                    return self.jobs.pop(0)
            """
        ),
        Invalid(
            """
            def alias(items):
                queue = []
                other = queue
                queue.append(1)
                return queue.pop(0), other
            """
        ),
    )

    EQUIVALENCE = Equivalence(
        setup="",
        template="""
        def simulate(initial, ops, pool):
            queue = list(initial)
            out = []
            for op, index in ops:
                value = pool[index % len(pool)]
                if op == "append":
                    queue.append(value)
                elif op == "pop":
                    if queue:
                        out.append(queue.pop(0))
                    else:
                        out.append("empty")
                elif op == "pop-unchecked":
                    try:
                        out.append(queue.pop(0))
                    except IndexError:
                        out.append("IndexError")
                elif op == "len":
                    out.append(len(queue))
                elif op == "truth":
                    out.append(1 if queue else 0)
                    out.append(not queue)
                    out.append(bool(queue and len(queue) > 1))
                elif op == "iterate":
                    for item in queue:
                        out.append(item)
                elif op == "comprehension":
                    out.append([item for item in queue])
            out.append([item for item in queue])
            return out

        result = simulate(initial, ops, pool)
        """,
        inputs="rules.equivalence.python_inputs:queue_operations",
        outputs=("result",),
        max_examples=200,
    )

    BENCH = Bench(
        setup="items = list(range(20_000))",
        before="""
        def drain(items):
            queue = list(items)
            total = 0
            while queue:
                total += queue.pop(0)
            return total

        drain(items)
        """,
        size="a queue of 20,000 ints, drained completely",
    )

    # -- analysis ----------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if not is_pop_zero(node):
            return
        parents = self.metadata[ParentNodeProvider]
        receiver = node.func.value
        label = dotted(receiver)
        if label is None:
            return
        if removes_from_mapping(node, parents):
            return  # a dict plus key list: KZ102 reports it
        message = self.message.replace("`list.pop(0)`", f"`{label}.pop(0)`", 1)
        if not isinstance(receiver, cst.Name):
            self.report(
                node,
                f"{message}; not fixed: `{label}` is an attribute, so code elsewhere may use it as a list",
                safety=Safety.DISPLAY_ONLY,
            )
            return
        verdict = self._analyse(node, receiver)
        if isinstance(verdict, str):
            self.report(node, f"{message}; not fixed: {verdict}", safety=Safety.DISPLAY_ONLY)
            return
        function, replacements = verdict
        new_function = function.visit(_Swap(replacements))
        self.report(
            node,
            message,
            replacement=new_function,
            replace=function,
            imports=[Import("collections", "deque")],
        )

    def _analyse(self, pop_call: cst.Call, name: cst.Name):
        """``(function, replacements)`` when the fix is provably safe, else the reason why not."""
        scopes = self.metadata[ScopeProvider]
        scope = scopes.get(name)
        if scope is None:
            return "its scope is unknown"
        assignments = [a for a in scope[name.value]]
        if not assignments:
            return f"`{name.value}` is not assigned in this module"
        owner = assignments[0].scope
        if not isinstance(owner, FunctionScope):
            return f"`{name.value}` is not local to a function, so other code may use it"
        if any(a.scope is not owner for a in assignments):
            return f"`{name.value}` is bound in more than one scope"
        conflict = self._deque_name_conflict()
        if conflict:
            return conflict
        replacements: dict[int, cst.CSTNode] = {}
        accesses = set()
        for assignment in assignments:
            if scopes.get(assignment.node) is not owner:
                return f"`{name.value}` is rebound from a nested function"
            problem = self._check_creation(assignment.node, name.value, replacements)
            if problem:
                return problem
            accesses.update(assignment.references)
        for access in accesses:
            problem = self._check_use(access.node, name.value, owner, replacements)
            if problem:
                return problem
        function = self._function_of(owner)
        if function is None:
            return "its function was not found"
        return function, replacements

    def _function_of(self, scope: FunctionScope) -> cst.FunctionDef | None:
        node = scope.node
        return node if isinstance(node, cst.FunctionDef) else None

    def _deque_name_conflict(self) -> str | None:
        scopes = self.metadata[ScopeProvider]
        for scope in set(scopes.values()):
            if scope is None:
                continue
            for assignment in scope.assignments["deque"]:
                node = assignment.node
                if m.matches(
                    node,
                    m.ImportFrom(
                        module=m.Name("collections"),
                        names=[m.ZeroOrMore(), m.ImportAlias(name=m.Name("deque"), asname=None), m.ZeroOrMore()],
                    ),
                ):
                    continue
                return "the name `deque` already means something else in this module"
        return None

    def _check_creation(self, target: cst.CSTNode, name: str, replacements: dict) -> str | None:
        parents = self.metadata[ParentNodeProvider]
        assign_target = parents.get(target)
        assign = parents.get(assign_target)
        if not (
            isinstance(target, cst.Name)
            and isinstance(assign_target, cst.AssignTarget)
            and isinstance(assign, cst.Assign)
            and len(assign.targets) == 1
        ):
            return f"`{name}` is bound by something other than a plain `{name} = [...]`"
        value = assign.value
        deque = cst.Name("deque")
        if isinstance(value, cst.List) and not value.elements:
            new = cst.Call(deque)
        elif isinstance(value, (cst.List, cst.ListComp)):
            new = cst.Call(deque, args=[cst.Arg(value)])
        elif m.matches(value, m.Call(func=m.Name("list"), args=m.OneOf([], [m.Arg(keyword=None, star="")]))):
            if self._is_shadowed("list", value):
                return "`list` is redefined here"
            new = value.with_changes(func=deque)
        else:
            return f"`{name}` starts as something other than a new list"
        replacements[id(value)] = new
        return None

    def _is_shadowed(self, builtin: str, node: cst.CSTNode) -> bool:
        scope = self.metadata[ScopeProvider].get(node)
        if scope is None:
            return True
        return any(not isinstance(a, BuiltinAssignment) for a in scope[builtin])

    def _check_use(self, node: cst.CSTNode, name: str, owner, replacements: dict) -> str | None:
        scopes = self.metadata[ScopeProvider]
        parents = self.metadata[ParentNodeProvider]
        if scopes.get(node) is not owner:
            return f"`{name}` is used inside a nested function or comprehension"
        parent = parents.get(node)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            call = parents.get(parent)
            if isinstance(call, cst.Call) and call.func is parent:
                if parent.attr.value == "append" and _one_positional(call):
                    return None
                if is_pop_zero(call):
                    replacements[id(call)] = call.with_changes(
                        func=parent.with_changes(attr=cst.Name("popleft")), args=[]
                    )
                    return None
            return f"`{name}` is used as `{self._code(parents.get(parent) or parent)}`"
        if isinstance(parent, cst.Arg) and parent.keyword is None and not parent.star:
            call = parents.get(parent)
            if (
                m.matches(call, m.Call(func=m.Name("len") | m.Name("bool"), args=[m.Arg()]))
                and not self._is_shadowed(call.func.value, call)
            ):
                return None
            return f"`{name}` is passed to `{self._code(call)}`"
        if self._in_truth_context(node):
            return None
        if isinstance(parent, cst.For) and parent.iter is node:
            if self._mutated_within(parent.body, name):
                return f"`{name}` changes while a loop runs over it (a deque raises where a list goes on)"
            return None
        if isinstance(parent, cst.CompFor) and parent.iter is node:
            comprehension = parents.get(parent)
            if isinstance(comprehension, _EAGER_COMPREHENSIONS) and comprehension.for_in is parent:
                return None
            return f"`{name}` is iterated lazily by a generator expression"
        return f"`{name}` is used in `{self._code(parent)}`"

    def _in_truth_context(self, node: cst.CSTNode) -> bool:
        parents = self.metadata[ParentNodeProvider]
        child, parent = node, parents.get(node)
        while isinstance(parent, cst.BooleanOperation):
            child, parent = parent, parents.get(parent)
        if isinstance(parent, _TRUTH_PARENTS) and getattr(parent, "test", None) is child:
            return True
        if isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
            return True
        if isinstance(parent, cst.Arg) and child is not node:
            call = parents.get(parent)
            return m.matches(call, m.Call(func=m.Name("bool"), args=[m.Arg()]))
        # Anywhere else `q and x` hands back the list itself.
        return False

    def _mutated_within(self, body: cst.CSTNode, name: str) -> bool:
        found = False

        class _Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                nonlocal found
                if m.matches(call.func, m.Attribute(value=m.Name(name), attr=m.Name("append") | m.Name("pop"))):
                    found = True

        body.visit(_Finder())
        return found

    def _code(self, node: cst.CSTNode) -> str:
        code = cst.Module(body=[]).code_for_node(node).strip()
        return code if len(code) <= 60 else code[:57] + "..."

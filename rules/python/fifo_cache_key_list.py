"""KZ102: a dict plus a parallel list of its keys, evicted through ``pop(0)``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ParentNodeProvider, PositionProvider, ScopeProvider

from rules.framework import Bench, Equivalence, Import, Invalid, Rule, Safety, Valid
from rules.precheck import TreeFacts
from rules.python._fifo import is_pop_zero, removes_from_mapping

_POPITEM = "{cache}.popitem(last=False)"


def _self_attr(node: cst.CSTNode, self_name: str, attr: str) -> bool:
    return m.matches(node, m.Attribute(value=m.Name(self_name), attr=m.Name(attr)))


def _single_name_key(subscript: cst.Subscript) -> str | None:
    """``k`` for ``x[k]`` with a plain name as the only index."""
    if len(subscript.slice) == 1 and m.matches(subscript.slice[0], m.SubscriptElement(slice=m.Index(value=m.Name()))):
        return subscript.slice[0].slice.value.value
    return None


def _body(block: cst.CSTNode) -> Sequence[cst.BaseStatement] | None:
    body = getattr(block, "body", None)
    return body if isinstance(body, (list, tuple)) else None


def _index_in(block: cst.CSTNode, statement: cst.CSTNode) -> int | None:
    body = _body(block) or ()
    return next((i for i, s in enumerate(body) if s is statement), None)


def _binds_name(statements: Sequence[cst.CSTNode], name: str) -> bool:
    """Whether any of ``statements`` may rebind ``name`` (any target position)."""
    found = False

    class _Targets(cst.CSTVisitor):
        def _check(self, target: cst.CSTNode | None) -> None:
            nonlocal found
            if target is not None and m.findall(target, m.Name(name)):
                found = True

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            self._check(node.target)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            self._check(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            self._check(node.target)

        def visit_For(self, node: cst.For) -> None:
            self._check(node.target)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            self._check(node.target)

        def visit_AsName(self, node: cst.AsName) -> None:
            self._check(node.name)

    for statement in statements:
        statement.visit(_Targets())
    return found


@dataclass
class _Plan:
    """What the class-wide rewrite changes, keyed by id() of original nodes."""

    replacements: dict[int, cst.CSTNode | cst.RemovalSentinel] = field(default_factory=dict)
    evictions: list[cst.CSTNode] = field(default_factory=list)
    unsafe_reason: str | None = None


class _Swap(cst.CSTTransformer):
    def __init__(self, replacements: dict) -> None:
        super().__init__()
        self._replacements = replacements

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        return self._replacements.get(id(original_node), updated_node)


class FifoCacheKeyList(Rule):
    """## What it does
    Flags a cache kept as a dict plus a list of its keys in insertion order,
    where eviction pops the oldest key from the front of the list:
    ``oldest = self._keys.pop(0); del self._cache[oldest]`` or
    ``self._cache.pop(self._keys.pop(0))``.

    ## Why is this bad?
    ``list.pop(0)`` shifts every remaining key, so each eviction costs time
    proportional to the cache size, and the list duplicates what a dict
    already knows: its insertion order. One ``collections.OrderedDict`` keeps
    the order and evicts its oldest entry in constant time with
    ``popitem(last=False)``. The gain grows with the cache size: with a
    thousand entries the ordered dict was no faster here (slightly slower,
    since its insert costs a little more than a dict insert plus a list
    append); with a hundred thousand, each eviction saved tens of
    microseconds. Re-run ``kaizen``'s pattern benchmark at your own size
    (``from rules.measure.job import run_here``, with a ``BENCH`` resized)
    before relying on either figure.

    ## Example
    ```python
    class FeatureCache:
        def __init__(self, max_size):
            self.max_size = max_size
            self._cache = {}
            self._keys = []

        def __getitem__(self, key):
            if key in self._cache:
                return self._cache[key]
            value = load(key)
            self._cache[key] = value
            self._keys.append(key)
            if len(self._keys) > self.max_size:
                oldest = self._keys.pop(0)
                del self._cache[oldest]
            return value
    ```

    ## Use instead
    ```python
    from collections import OrderedDict

    class FeatureCache:
        def __init__(self, max_size):
            self.max_size = max_size
            self._cache = OrderedDict()

        def __getitem__(self, key):
            if key in self._cache:
                return self._cache[key]
            value = load(key)
            self._cache[key] = value
            if len(self._cache) > self.max_size:
                self._cache.popitem(last=False)
            return value
    ```

    ## Fix safety
    The rewrite keeps behaviour only while the key list equals the dict's keys
    in order, so the fix is offered only when the rule can see that in the
    class: both attributes are created empty in ``__init__``; every insert
    ``self._cache[key] = value`` sits next to ``self._keys.append(key)`` and
    is reached only when ``key`` is not yet cached (inside
    ``if key not in self._cache:``, or after ``if key in self._cache:``
    that returns or raises); the list is otherwise only measured with
    ``len`` and popped at the front for eviction; the dict is otherwise only
    read (``in``, ``[key]``, ``get``, ``len``, and ``items``/``keys``/
    ``values`` inside ``list()`` or a loop). Any other use, including a use
    outside the class's own methods or a subclass in the same module, leaves
    the finding without a fix. Without the guard, re-inserting a cached key
    lists it twice, and a later eviction of the second copy fails with
    ``KeyError``, which the ordered dict never does.

    The fix is safe when the cache is provably non-empty at each eviction
    (the eviction follows the insert in the same block and runs once, or the
    size test compares against a literal that keeps it non-empty). Otherwise
    it is unsafe: with a size limit of 0 or less, evicting from the empty
    cache raises ``IndexError`` before the fix and ``KeyError`` after it.

    The rule assumes that base classes defined in other modules do not use the
    two attributes, and that nothing called between the membership test and
    the insert inserts the same key (re-entrant loading).
    """

    code = "KZ102"
    name = "fifo-cache-key-list"
    message = (
        "FIFO cache kept as a dict plus a key list evicted with `pop(0)` (O(n) per eviction); "
        "one `collections.OrderedDict` with `popitem(last=False)` evicts in O(1)"
    )
    safety = Safety.SAFE
    TRIGGERS = (".pop(0)",)

    @classmethod
    def precheck(cls, facts: TreeFacts) -> bool:
        return facts.pops_front

    METADATA_DEPENDENCIES = (PositionProvider, ParentNodeProvider, ScopeProvider)

    VALID = (
        Valid(
            """
            class Recent:
                def __init__(self):
                    self.items = []

                def add(self, item):
                    self.items.append(item)
                    if len(self.items) > 10:
                        self.items.pop(0)
            """
        ),
        Valid(
            """
            from collections import OrderedDict

            class Cache:
                def __init__(self):
                    self._cache = OrderedDict()

                def put(self, key, value):
                    self._cache[key] = value
                    if len(self._cache) > 8:
                        self._cache.popitem(last=False)
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            class FeatureCache:
                \"\"\"Keeps the most recently loaded feature frames.\"\"\"

                def __init__(self, max_size=128):
                    self.max_size = max_size
                    self._cache = {}  # key -> frame
                    self._keys = []  # insertion order

                def __getitem__(self, key):
                    if key in self._cache:
                        return self._cache[key]
                    value = self._load(key)
                    self._cache[key] = value
                    self._keys.append(key)
                    # evict the oldest entry
                    if len(self._keys) > self.max_size:
                        oldest = self._keys.pop(0)
                        del self._cache[oldest]
                    return value

                def _load(self, key):
                    return [key] * 3
            """,
            """
            from collections import OrderedDict

            class FeatureCache:
                \"\"\"Keeps the most recently loaded feature frames.\"\"\"

                def __init__(self, max_size=128):
                    self.max_size = max_size
                    self._cache = OrderedDict()  # key -> frame

                def __getitem__(self, key):
                    if key in self._cache:
                        return self._cache[key]
                    value = self._load(key)
                    self._cache[key] = value
                    # evict the oldest entry
                    if len(self._cache) > self.max_size:
                        self._cache.popitem(last=False)
                    return value

                def _load(self, key):
                    return [key] * 3
            """,
        ),
        Invalid(
            """
            class Memo:
                def __init__(self, limit):
                    self.limit = limit
                    self.cache = dict()
                    self.order = []

                def put(self, key, value):
                    if key not in self.cache:
                        self.cache[key] = value
                        self.order.append(key)
                        if len(self.cache) > 4:
                            evicted = self.cache.pop(self.order.pop(0))
                            print("evicted", evicted)

                def get(self, key):
                    return self.cache.get(key)
            """,
            """
            from collections import OrderedDict

            class Memo:
                def __init__(self, limit):
                    self.limit = limit
                    self.cache = OrderedDict()

                def put(self, key, value):
                    if key not in self.cache:
                        self.cache[key] = value
                        if len(self.cache) > 4:
                            evicted = self.cache.popitem(last=False)[1]
                            print("evicted", evicted)

                def get(self, key):
                    return self.cache.get(key)
            """,
        ),
        # Eviction before the insert against a configurable limit: a limit of
        # 0 evicts from the empty cache, which raises a different exception.
        Invalid(
            """
            class Cache:
                def __init__(self, limit):
                    self.limit = limit
                    self._data = {}
                    self._order = []

                def put(self, key, value):
                    if key in self._data:
                        return
                    if len(self._data) >= self.limit:
                        del self._data[self._order.pop(0)]
                    self._data[key] = value
                    self._order.append(key)
            """,
            """
            from collections import OrderedDict

            class Cache:
                def __init__(self, limit):
                    self.limit = limit
                    self._data = OrderedDict()

                def put(self, key, value):
                    if key in self._data:
                        return
                    if len(self._data) >= self.limit:
                        self._data.popitem(last=False)
                    self._data[key] = value
            """,
            unsafe=True,
        ),
        # No membership guard: re-inserting a key lists it twice.
        Invalid(
            """
            class Cache:
                def __init__(self):
                    self._data = {}
                    self._order = []

                def put(self, key, value):
                    self._data[key] = value
                    self._order.append(key)
                    if len(self._order) > 3:
                        oldest = self._order.pop(0)
                        del self._data[oldest]
            """
        ),
        # Moving a key to the back on a hit is LRU, not FIFO.
        Invalid(
            """
            class Lru:
                def __init__(self):
                    self._data = {}
                    self._order = []

                def get(self, key):
                    if key in self._data:
                        self._order.remove(key)
                        self._order.append(key)
                        return self._data[key]

                def put(self, key, value):
                    if key not in self._data:
                        self._data[key] = value
                        self._order.append(key)
                        if len(self._order) > 3:
                            del self._data[self._order.pop(0)]
            """
        ),
        Invalid(
            """
            def dedupe(stream, limit):
                seen = {}
                order = []
                for key, value in stream:
                    if key not in seen:
                        seen[key] = value
                        order.append(key)
                        if len(order) > limit:
                            oldest = order.pop(0)
                            del seen[oldest]
                return seen
            """
        ),
    )

    EQUIVALENCE = Equivalence(
        template="""
        class FifoCache:
            def __init__(self, max_size):
                self.max_size = max_size
                self._cache = {}
                self._keys = []

            def get(self, key, default=None):
                return self._cache.get(key, default)

            def put(self, key, value):
                if key not in self._cache:
                    self._cache[key] = value
                    self._keys.append(key)
                    if len(self._keys) > self.max_size:
                        oldest = self._keys.pop(0)
                        del self._cache[oldest]

            def load(self, key):
                if key in self._cache:
                    return self._cache[key]
                value = (key, len(self._cache))
                self._cache[key] = value
                self._keys.append(key)
                if len(self._cache) > self.max_size:
                    evicted = self._cache.pop(self._keys.pop(0))
                    value = (value, evicted)
                return value

            def size(self):
                return len(self._keys)

            def snapshot(self):
                return list(self._cache.items())

        cache = FifoCache(max_size)
        results = []
        for op, key, value in ops:
            try:
                if op == "get":
                    results.append(cache.get(key, "missing"))
                elif op == "put":
                    cache.put(key, value)
                elif op == "load":
                    results.append(cache.load(key))
                elif op == "size":
                    results.append(cache.size())
                else:
                    results.append(cache.snapshot())
            except Exception as exc:
                results.append(type(exc).__name__)
        results.append(cache.snapshot())
        """,
        inputs="rules.equivalence.python_inputs:cache_operations",
        outputs=("results",),
        max_examples=200,
    )

    BENCH = Bench(
        setup="",
        before="""
        class Cache:
            def __init__(self, max_size):
                self.max_size = max_size
                self._cache = {}
                self._keys = []

            def put(self, key, value):
                if key not in self._cache:
                    self._cache[key] = value
                    self._keys.append(key)
                    if len(self._keys) > self.max_size:
                        oldest = self._keys.pop(0)
                        del self._cache[oldest]

        cache = Cache(100_000)
        for i in range(110_000):
            cache.put(i, i)
        """,
        size="110,000 inserts into a cache of at most 100,000 entries (the last 10,000 each evict)",
    )

    # -- analysis ----------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if not is_pop_zero(node):
            return
        parents = self.metadata[ParentNodeProvider]
        if not removes_from_mapping(node, parents):
            return
        verdict = self._analyse(node)
        if isinstance(verdict, str):
            self.report(node, f"{self.message}; not fixed: {verdict}", safety=Safety.DISPLAY_ONLY)
            return
        classdef, new_classdef, unsafe_reason = verdict
        if unsafe_reason:
            self.report(
                node,
                f"{self.message}; unsafe fix: {unsafe_reason}",
                replacement=new_classdef,
                replace=classdef,
                safety=Safety.UNSAFE,
                imports=[Import("collections", "OrderedDict")],
            )
            return
        self.report(
            node,
            replacement=new_classdef,
            replace=classdef,
            imports=[Import("collections", "OrderedDict")],
        )

    def _ancestor(self, node: cst.CSTNode, kind: type) -> cst.CSTNode | None:
        parents = self.metadata[ParentNodeProvider]
        current = parents.get(node)
        while current is not None and not isinstance(current, kind):
            current = parents.get(current)
        return current

    def _method_of(self, node: cst.CSTNode, classdef: cst.ClassDef) -> cst.FunctionDef | None:
        """The method of ``classdef`` (a def directly in its body) containing ``node``."""
        parents = self.metadata[ParentNodeProvider]
        current = node
        while current is not None:
            parent = parents.get(current)
            if (
                isinstance(current, cst.FunctionDef)
                and isinstance(parent, cst.IndentedBlock)
                and parents.get(parent) is classdef
            ):
                return current
            current = parent
        return None

    def _eviction_parts(self, pop_call: cst.Call):
        """``(keys attribute, cache attribute, statements to rewrite)``."""
        parents = self.metadata[ParentNodeProvider]
        keys = pop_call.func.value
        parent = parents.get(pop_call)
        if isinstance(parent, cst.Arg):
            cache_call = parents.get(parent)
            return keys, cache_call.func.value, ("pop", cache_call)
        if isinstance(parent, cst.Index):
            subscript = parents.get(parents.get(parent))
            return keys, subscript.value, ("del", parents.get(subscript))
        assign = parent
        line = parents.get(assign)
        block = parents.get(line)
        following = _body(block)[_index_in(block, line) + 1]
        small = following.body[0]
        cache = small.target.value if isinstance(small, cst.Del) else small.value.func.value
        return keys, cache, ("assign", assign, line, following)

    def _analyse(self, pop_call: cst.Call):
        keys, cache, _ = self._eviction_parts(pop_call)
        classdef = self._ancestor(pop_call, cst.ClassDef)
        if not (isinstance(keys, cst.Attribute) and isinstance(cache, cst.Attribute)):
            return "only a dict and key list held as attributes of one class are rewritten"
        if classdef is None or not isinstance(keys.value, cst.Name) or not isinstance(cache.value, cst.Name):
            return "only a dict and key list held as attributes of one class are rewritten"
        method = self._method_of(pop_call, classdef)
        self_name = self._self_name(method)
        if self_name is None or keys.value.value != self_name or cache.value.value != self_name:
            return "the attributes are not reached through the method's `self`"
        keys_attr, cache_attr = keys.attr.value, cache.attr.value
        if keys_attr == cache_attr:
            return "the dict and the key list are the same attribute"
        problem = self._module_problems(classdef, keys_attr, cache_attr)
        if problem:
            return problem
        plan = _Plan()
        problem = self._plan_class(classdef, self_name, keys_attr, cache_attr, plan)
        if problem:
            return problem
        new_classdef = classdef.visit(_Swap(plan.replacements))
        return classdef, new_classdef, plan.unsafe_reason

    def _self_name(self, method: cst.FunctionDef | None) -> str | None:
        if method is None or not method.params.params:
            return None
        for decorator in method.decorators:
            if m.matches(decorator.decorator, m.Name("staticmethod") | m.Name("classmethod")):
                return None
        return method.params.params[0].name.value

    def _module_problems(self, classdef: cst.ClassDef, keys_attr: str, cache_attr: str) -> str | None:
        module = self._ancestor(classdef, cst.Module)
        class_name = classdef.name.value
        for other in m.findall(module, m.ClassDef()):
            for base in other.bases:
                if m.matches(base.value, m.Name(class_name) | m.Attribute(attr=m.Name(class_name))):
                    return f"`{class_name}` is subclassed in this module"
        for statement in classdef.body.body:
            if m.findall(statement, m.AssignTarget(target=m.Name(keys_attr) | m.Name(cache_attr))) and not isinstance(
                statement, cst.FunctionDef
            ):
                return "the class body binds an attribute of the same name"
        for scope in {s for s in self.metadata[ScopeProvider].values() if s is not None}:
            for assignment in scope.assignments["OrderedDict"]:
                if not m.matches(
                    assignment.node,
                    m.ImportFrom(
                        module=m.Name("collections"),
                        names=[m.ZeroOrMore(), m.ImportAlias(name=m.Name("OrderedDict"), asname=None), m.ZeroOrMore()],
                    ),
                ):
                    return "the name `OrderedDict` already means something else in this module"
        return None

    def _plan_class(self, classdef, self_name, keys_attr, cache_attr, plan: _Plan) -> str | None:
        parents = self.metadata[ParentNodeProvider]
        module = self._ancestor(classdef, cst.Module)
        label = {keys_attr: f"`self.{keys_attr}`", cache_attr: f"`self.{cache_attr}`"}
        appends: list[cst.SimpleStatementLine] = []
        stores: list[cst.SimpleStatementLine] = []
        created = {keys_attr: 0, cache_attr: 0}
        handled_evictions: set[int] = set()
        for attribute in m.findall(module, m.Attribute(attr=m.Name(keys_attr) | m.Name(cache_attr))):
            attr = attribute.attr.value
            method = self._method_of(attribute, classdef)
            if method is None or self._self_name(method) != self_name or not m.matches(
                attribute.value, m.Name(self_name)
            ):
                return f"{label[attr]} is used outside the class's own methods"
            parent = parents.get(attribute)
            grand = parents.get(parent)
            # Creation in __init__.
            if isinstance(parent, cst.AssignTarget):
                assign = grand
                line = parents.get(assign)
                if method.name.value != "__init__" or parents.get(parents.get(line)) is not method:
                    return f"{label[attr]} is rebound outside `__init__`"
                empty = m.List(elements=[]) if attr == keys_attr else (m.Dict(elements=[]) | m.Call(func=m.Name("dict"), args=[]))
                if len(assign.targets) != 1 or not m.matches(assign.value, empty) or len(line.body) != 1:
                    return f"{label[attr]} does not start empty"
                created[attr] += 1
                if attr == keys_attr:
                    plan.replacements[id(line)] = cst.RemoveFromParent()
                else:
                    plan.replacements[id(assign.value)] = cst.Call(cst.Name("OrderedDict"))
                continue
            if attr == keys_attr:
                problem = self._plan_keys_use(attribute, parent, grand, cache_attr, self_name, plan, appends, handled_evictions, method)
            else:
                problem = self._plan_cache_use(attribute, parent, grand, keys_attr, self_name, plan, stores, handled_evictions)
            if problem:
                return problem
        if created != {keys_attr: 1, cache_attr: 1}:
            return "the two attributes are not each created once in `__init__`"
        return self._pair_inserts(appends, stores, self_name, cache_attr, plan) or self._plan_evictions(plan, keys_attr, cache_attr)

    def _plan_keys_use(self, attribute, parent, grand, cache_attr, self_name, plan, appends, handled, method) -> str | None:
        parents = self.metadata[ParentNodeProvider]
        key_label = f"`self.{attribute.attr.value}`"
        if isinstance(parent, cst.Attribute) and isinstance(grand, cst.Call) and grand.func is parent:
            if parent.attr.value == "append":
                line = parents.get(parents.get(grand))
                if (
                    isinstance(parents.get(grand), cst.Expr)
                    and isinstance(line, cst.SimpleStatementLine)
                    and len(line.body) == 1
                    and len(grand.args) == 1
                    and isinstance(grand.args[0].value, cst.Name)
                ):
                    appends.append(line)
                    return None
                return f"{key_label} is appended to in a form the rule does not follow"
            if is_pop_zero(grand) and removes_from_mapping(grand, parents):
                return self._plan_eviction(grand, cache_attr, self_name, plan, handled)
            return f"{key_label} is used as `{self._code(grand)}`"
        if self._is_len_arg(attribute):
            plan.replacements[id(attribute)] = attribute.with_changes(attr=cst.Name(cache_attr))
            return None
        return f"{key_label} is used in `{self._code(parent)}`"

    def _plan_cache_use(self, attribute, parent, grand, keys_attr, self_name, plan, stores, handled) -> str | None:
        parents = self.metadata[ParentNodeProvider]
        cache_label = f"`self.{attribute.attr.value}`"
        if isinstance(parent, cst.Subscript) and parent.value is attribute:
            if isinstance(grand, cst.AssignTarget):
                assign = parents.get(grand)
                line = parents.get(assign)
                if (
                    len(assign.targets) == 1
                    and len(line.body) == 1
                    and _single_name_key(parent) is not None
                ):
                    stores.append(line)
                    return None
                return f"{cache_label} is written in a form the rule does not follow"
            if isinstance(grand, cst.Del):
                return None if id(grand) in handled or self._is_eviction_target(grand, keys_attr) else (
                    f"a key is deleted from {cache_label} outside the eviction"
                )
            return None  # a read: self._cache[key]
        if isinstance(parent, cst.Attribute) and isinstance(grand, cst.Call) and grand.func is parent:
            method = parent.attr.value
            if method == "get":
                return None
            if method == "pop" and self._is_eviction_target(grand, keys_attr):
                return None
            if method in ("items", "keys", "values") and not grand.args and self._consumed_as_sequence(grand):
                return None
            return f"{cache_label} is used as `{self._code(grand)}`"
        if isinstance(parent, cst.ComparisonTarget) and isinstance(parent.operator, (cst.In, cst.NotIn)):
            return None
        if self._is_len_arg(attribute):
            return None
        return f"{cache_label} is used in `{self._code(parent)}`"

    def _is_eviction_target(self, node: cst.CSTNode, keys_attr: str) -> bool:
        """``del cache[...]`` / ``cache.pop(...)`` whose key comes from the key list's ``pop(0)``
        either directly or through the name assigned on the line before."""
        parents = self.metadata[ParentNodeProvider]
        if m.findall(node, m.Call(func=m.Attribute(attr=m.Name("pop"), value=m.Attribute(attr=m.Name(keys_attr))))):
            return True
        line = parents.get(node) if isinstance(node, cst.Del) else parents.get(parents.get(node))
        block = parents.get(line)
        index = _index_in(block, line)
        if not index:
            return False
        previous = _body(block)[index - 1]
        return m.matches(
            previous,
            m.SimpleStatementLine(
                body=[m.Assign(value=m.Call(func=m.Attribute(value=m.Attribute(attr=m.Name(keys_attr)), attr=m.Name("pop"))))]
            ),
        ) and removes_from_mapping(previous.body[0].value, parents)

    def _consumed_as_sequence(self, call: cst.Call) -> bool:
        parents = self.metadata[ParentNodeProvider]
        parent = parents.get(call)
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is call:
            return True
        if isinstance(parent, cst.Arg):
            outer = parents.get(parent)
            return m.matches(outer, m.Call(func=m.Name("list") | m.Name("tuple") | m.Name("sorted"), args=[m.Arg()]))
        return False

    def _is_len_arg(self, node: cst.CSTNode) -> bool:
        parents = self.metadata[ParentNodeProvider]
        arg = parents.get(node)
        return isinstance(arg, cst.Arg) and m.matches(parents.get(arg), m.Call(func=m.Name("len"), args=[m.Arg()]))

    def _plan_eviction(self, pop_call, cache_attr, self_name, plan: _Plan, handled: set[int]) -> str | None:
        parents = self.metadata[ParentNodeProvider]
        _, cache, eviction = self._eviction_parts(pop_call)
        if not _self_attr(cache, self_name, cache_attr):
            return "the key list evicts from another mapping"
        popitem = cst.parse_expression(_POPITEM.format(cache=f"{self_name}.{cache_attr}"))
        kind = eviction[0]
        if kind == "pop":
            cache_call = eviction[1]
            if len(cache_call.args) != 1:
                return f"`{self._code(cache_call)}` passes a default"
            holder = parents.get(cache_call)
            if isinstance(holder, cst.Expr):
                plan.replacements[id(cache_call)] = popitem
            else:
                plan.replacements[id(cache_call)] = cst.Subscript(
                    popitem, [cst.SubscriptElement(cst.Index(cst.Integer("1")))]
                )
            statement = self._ancestor(cache_call, cst.SimpleStatementLine)
        elif kind == "del":
            delete = eviction[1]
            handled.add(id(delete))
            plan.replacements[id(delete)] = cst.Expr(popitem)
            statement = parents.get(delete)
        else:
            _, assign, line, following = eviction
            name = assign.targets[0].target.value
            small = following.body[0]
            if isinstance(small, cst.Del):
                handled.add(id(small))
            elif len(small.value.args) != 1:
                return f"`{self._code(small)}` passes a default"
            method = self._ancestor(line, cst.FunctionDef)
            if len(m.findall(method, m.Name(name))) > 2:
                new_value = cst.Subscript(popitem, [cst.SubscriptElement(cst.Index(cst.Integer("0")))])
                plan.replacements[id(assign.value)] = new_value
            else:
                plan.replacements[id(line)] = line.with_changes(body=[cst.Expr(popitem)])
            plan.replacements[id(following)] = cst.RemoveFromParent()
            statement = line
        plan.evictions.append(statement)
        return None

    def _pair_inserts(self, appends, stores, self_name, cache_attr, plan: _Plan) -> str | None:
        parents = self.metadata[ParentNodeProvider]
        paired: set[int] = set()
        for append in appends:
            block = parents.get(append)
            index = _index_in(block, append)
            key = append.body[0].value.args[0].value.value
            neighbours = [
                _body(block)[i] for i in (index - 1, index + 1) if 0 <= i < len(_body(block))
            ]
            store = next(
                (
                    s
                    for s in neighbours
                    if any(s is t for t in stores)
                    and _single_name_key(s.body[0].targets[0].target) == key
                ),
                None,
            )
            if store is None:
                return f"`{self._code(append)}` is not next to the matching insert into the dict"
            paired.add(id(store))
            first = min(index, _index_in(block, store))
            problem = self._proves_new_key(block, first, key, self_name, cache_attr)
            if problem:
                return problem
            plan.replacements[id(append)] = cst.RemoveFromParent()
        if any(id(s) not in paired for s in stores):
            return "the dict is written without recording the key in the list"
        return None

    def _proves_new_key(self, block, first: int, key: str, self_name: str, cache_attr: str) -> str | None:
        """Whether ``key`` cannot be in the cache at the insert at ``block.body[first]``."""
        parents = self.metadata[ParentNodeProvider]
        body = _body(block)
        before = list(body[:first])
        reason = (
            f"cannot prove `{key}` is not cached yet where it is inserted (add `if {key} not in "
            f"self.{cache_attr}:`); a key inserted twice would be listed twice"
        )
        cache = m.Attribute(value=m.Name(self_name), attr=m.Name(cache_attr))
        stores_cache = m.AssignTarget(target=m.Subscript(value=cache))
        owner = parents.get(block)
        if isinstance(owner, cst.If) and owner.body is block and m.matches(
            owner.test, m.Comparison(left=m.Name(key), comparisons=[m.ComparisonTarget(m.NotIn(), cache)])
        ):
            if _binds_name(before, key) or any(m.findall(s, stores_cache) for s in before):
                return reason
            return None
        if isinstance(owner, cst.FunctionDef):
            for index in range(first - 1, -1, -1):
                statement = body[index]
                if (
                    isinstance(statement, cst.If)
                    and statement.orelse is None
                    and m.matches(
                        statement.test, m.Comparison(left=m.Name(key), comparisons=[m.ComparisonTarget(m.In(), cache)])
                    )
                    and self._always_leaves(statement.body)
                ):
                    between = list(body[index + 1 : first])
                    if _binds_name(between, key) or any(m.findall(s, stores_cache) for s in between):
                        return reason
                    return None
        return reason

    def _always_leaves(self, block: cst.BaseSuite) -> bool:
        body = _body(block)
        if not body:
            return False
        last = body[-1]
        return m.matches(last, m.SimpleStatementLine(body=[m.ZeroOrMore(), m.Return() | m.Raise()]))

    def _plan_evictions(self, plan: _Plan, keys_attr: str, cache_attr: str) -> str | None:
        if not plan.evictions:
            return "no eviction was found"
        for statement in plan.evictions:
            if not self._evicts_non_empty(statement, keys_attr, cache_attr):
                plan.unsafe_reason = (
                    "the cache may be empty when it evicts (a size limit of 0 or less), where "
                    "`list.pop(0)` raised IndexError and `popitem` raises KeyError"
                )
        return None

    def _evicts_non_empty(self, statement, keys_attr: str, cache_attr: str) -> bool:
        parents = self.metadata[ParentNodeProvider]
        block = parents.get(statement)
        guard = parents.get(block)
        if self._inserted_before(block, statement, cache_attr):
            return True
        if isinstance(guard, cst.If) and guard.body is block:
            outer = parents.get(guard)
            if self._inserted_before(outer, guard, cache_attr):
                return True
        if isinstance(guard, (cst.If, cst.While)) and guard.body is block:
            return self._literal_keeps_non_empty(guard.test, keys_attr, cache_attr)
        return False

    def _inserted_before(self, block, statement, cache_attr: str) -> bool:
        """Whether a statement of ``block`` before ``statement`` always inserts into the cache."""
        index = _index_in(block, statement)
        if index is None:
            return False
        insert = m.SimpleStatementLine(
            body=[m.Assign(targets=[m.AssignTarget(target=m.Subscript(value=m.Attribute(attr=m.Name(cache_attr))))])]
        )
        return any(m.matches(s, insert) for s in _body(block)[:index])

    def _literal_keeps_non_empty(self, test, keys_attr: str, cache_attr: str) -> bool:
        size = m.Call(func=m.Name("len"), args=[m.Arg(value=m.Attribute(attr=m.Name(keys_attr) | m.Name(cache_attr)))])
        if not m.matches(test, m.Comparison(left=size, comparisons=[m.ComparisonTarget(m.GreaterThan() | m.GreaterThanEqual(), m.Integer())])):
            return False
        target = test.comparisons[0]
        bound = int(target.comparator.value, 0)
        return bound >= 0 if isinstance(target.operator, cst.GreaterThan) else bound >= 1

    def _code(self, node: cst.CSTNode) -> str:
        code = cst.Module(body=[]).code_for_node(node).strip()
        return code if len(code) <= 60 else code[:57] + "..."

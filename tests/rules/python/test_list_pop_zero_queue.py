"""KZ101 beyond its own examples: why iteration during mutation is refused,
which uses keep the fix away, and what the findings say."""

import textwrap

import pytest

from rules.engine import check_source, fix_source
from rules.equivalence.run import run_job
from rules.framework import Safety
from rules.python.list_pop_zero_queue import ListPopZeroQueue


def _findings(source):
    return check_source(textwrap.dedent(source), "t.py", [ListPopZeroQueue])


def test_equivalence_machinery_catches_appending_while_iterating():
    # The rewrite the rule refuses: a list loop runs on into appended items,
    # a deque raises RuntimeError. The check must see the difference.
    template = textwrap.dedent(
        """
        def walk(initial, ops, pool):
            queue = list(initial)
            seen = []
            for item in queue:
                seen.append(item)
                if len(queue) < 5:
                    queue.append(len(queue))
            return seen

        result = walk(initial, ops, pool)
        """
    )
    job = {
        "before": template,
        "after": "from collections import deque\n" + template.replace("list(initial)", "deque(initial)"),
        "setup": "",
        "inputs": "rules.equivalence.python_inputs:queue_operations",
        "outputs": ["result"],
        "max_examples": 50,
    }
    result = run_job(job)
    assert result["ok"] is False
    assert "__raised__" in result["detail"]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            """
            def f(items):
                queue = list(items)
                for item in queue:
                    queue.append(item)
                return queue.pop(0)
            """,
            "changes while a loop runs over it",
        ),
        (
            """
            def f(items):
                queue = list(items)
                def push(x):
                    queue.append(x)
                push(1)
                return queue.pop(0)
            """,
            "nested function",
        ),
        (
            """
            def f(items):
                queue = list(items)
                total = sum(x for x in queue)
                return queue.pop(0), total
            """,
            "generator expression",
        ),
        (
            """
            def f(queue):
                return queue.pop(0)
            """,
            "bound by something other",
        ),
        (
            """
            def f(items):
                queue = list(items)
                queue.extend(items)
                return queue.pop(0)
            """,
            "queue.extend(items)",
        ),
        (
            """
            def f(items):
                queue = list(items)
                return queue.pop(0), print(queue)
            """,
            "passed to `print(queue)`",
        ),
        (
            """
            def f(items):
                queue = list(items)
                rest = queue or None
                return queue.pop(0), rest
            """,
            "queue or None",
        ),
        (
            """
            from mylib import deque

            def f(items):
                queue = list(items)
                return queue.pop(0)
            """,
            "`deque` already means something else",
        ),
        (
            """
            queue = []

            def f():
                return queue.pop(0)
            """,
            "not local to a function",
        ),
    ],
)
def test_unprovable_uses_are_reported_without_a_fix(source, reason):
    (finding,) = _findings(source)
    assert finding.safety is Safety.DISPLAY_ONLY
    assert not finding.fixable
    assert reason in finding.message


def test_eviction_from_a_dict_is_left_to_the_cache_rule():
    assert _findings(
        """
        def f(stream):
            seen, order = {}, []
            for key in stream:
                seen[key] = 1
                order.append(key)
                oldest = order.pop(0)
                del seen[oldest]
        """
    ) == []


def test_two_queues_in_one_function_are_both_fixed():
    source = textwrap.dedent(
        """
        def f(a, b):
            left = list(a)
            right = list(b)
            return left.pop(0), right.pop(0)
        """
    )
    result = fix_source(source, "t.py", [ListPopZeroQueue])
    assert "left.popleft()" in result.source and "right.popleft()" in result.source
    assert result.source.count("deque(") == 2
    assert result.remaining == []

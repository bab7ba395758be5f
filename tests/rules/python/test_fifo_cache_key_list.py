"""KZ102 beyond its own examples: the equivalence check rejects the rewrite
where it would be wrong, and the analysis refuses the shapes it cannot prove."""

import textwrap

import pytest

from rules.engine import check_source, fix_source
from rules.equivalence.run import run_job
from rules.framework import Safety
from rules.python.fifo_cache_key_list import FifoCacheKeyList

DRIVER = """
cache = Cache(max_size)
results = []
for op, key, value in ops:
    try:
        if op in ("put", "load"):
            cache.put(key, value)
        results.append(cache.size())
    except Exception as exc:
        results.append(type(exc).__name__)
results.append(cache.items())
"""

UNGUARDED = """
class Cache:
    def __init__(self, max_size):
        self.max_size = max_size
        self._cache = {}
        self._keys = []

    def put(self, key, value):
        self._cache[key] = value
        self._keys.append(key)
        if len(self._keys) > self.max_size:
            oldest = self._keys.pop(0)
            del self._cache[oldest]

    def size(self):
        return len(self._keys)

    def items(self):
        return list(self._cache.items())
"""

# What a careless rewrite of UNGUARDED would write.
UNGUARDED_AS_ORDERED_DICT = """
from collections import OrderedDict

class Cache:
    def __init__(self, max_size):
        self.max_size = max_size
        self._cache = OrderedDict()

    def put(self, key, value):
        self._cache[key] = value
        if len(self._cache) > self.max_size:
            self._cache.popitem(last=False)

    def size(self):
        return len(self._cache)

    def items(self):
        return list(self._cache.items())
"""


def test_equivalence_check_rejects_the_rewrite_without_a_membership_guard():
    job = {
        "before": UNGUARDED + DRIVER,
        "after": UNGUARDED_AS_ORDERED_DICT + DRIVER,
        "setup": "",
        "inputs": "rules.equivalence.python_inputs:cache_operations",
        "outputs": ["results"],
        "max_examples": 100,
    }
    result = run_job(job)
    assert result["ok"] is False
    assert "outputs differ" in result["detail"]


def test_the_rule_refuses_the_same_class():
    (finding,) = check_source(UNGUARDED, "t.py", [FifoCacheKeyList])
    assert finding.safety is Safety.DISPLAY_ONLY
    assert "cannot prove `key` is not cached yet" in finding.message


def _class_with(extra_method: str, put_body: str | None = None) -> str:
    put = put_body or """
        if key not in self._data:
            self._data[key] = value
            self._keys.append(key)
            if len(self._keys) > 3:
                oldest = self._keys.pop(0)
                del self._data[oldest]
    """
    return (
        "class Cache:\n"
        "    def __init__(self):\n"
        "        self._data = {}\n"
        "        self._keys = []\n\n"
        "    def put(self, key, value):\n"
        + textwrap.indent(textwrap.dedent(put).strip("\n"), "        ")
        + "\n\n"
        + textwrap.indent(textwrap.dedent(extra_method).strip("\n"), "    ")
        + "\n"
    )


@pytest.mark.parametrize(
    ("method", "reason"),
    [
        ("def keys(self):\n    return self._keys\n", "`self._keys` is used in `return self._keys`"),
        ("def first(self):\n    return self._keys[0]\n", "`self._keys` is used in `self._keys[0]`"),
        ("def walk(self):\n    for key in self._keys:\n        print(key)\n", "`self._keys` is used in"),
        ("def clear(self):\n    self._data.clear()\n", "`self._data` is used as `self._data.clear()`"),
        ("def raw(self):\n    return self._data\n", "`self._data` is used in `return self._data`"),
        ("def again(self, key):\n    self._keys.append(key)\n", "not next to the matching insert"),
        ("def reset(self):\n    self._keys = []\n", "rebound outside `__init__`"),
        (
            "def touch(self, key):\n    self._keys.remove(key)\n    self._keys.append(key)\n",
            "`self._keys` is used as `self._keys.remove(key)`",
        ),
    ],
)
def test_other_uses_of_either_attribute_keep_the_fix_away(method, reason):
    findings = check_source(_class_with(method), "t.py", [FifoCacheKeyList])
    assert len(findings) == 1
    assert findings[0].safety is Safety.DISPLAY_ONLY
    assert reason in findings[0].message


def test_key_rebound_between_guard_and_insert_is_not_proven():
    put = """
        if key in self._data:
            return
        key = str(key)
        self._data[key] = value
        self._keys.append(key)
        if len(self._keys) > 3:
            del self._data[self._keys.pop(0)]
    """
    (finding,) = check_source(_class_with("def noop(self):\n    pass\n", put), "t.py", [FifoCacheKeyList])
    assert finding.safety is Safety.DISPLAY_ONLY


def test_guarded_class_is_fixed_and_other_methods_are_untouched():
    source = _class_with("def peek(self, key):\n    # read only\n    return self._data.get(key)  # may be None\n")
    result = fix_source(source, "t.py", [FifoCacheKeyList])
    assert result.source.startswith("from collections import OrderedDict\n")
    assert "self._keys" not in result.source
    assert "    def peek(self, key):\n        # read only\n        return self._data.get(key)  # may be None\n" in result.source
    assert "self._data.popitem(last=False)" in result.source


def test_unsafe_eviction_needs_unsafe_fixes():
    put = """
        if key in self._data:
            return
        if len(self._data) >= self.limit:
            self._data.pop(self._keys.pop(0))
        self._data[key] = value
        self._keys.append(key)
    """
    source = _class_with("def noop(self):\n    pass\n", put)
    (finding,) = check_source(source, "t.py", [FifoCacheKeyList])
    assert finding.safety is Safety.UNSAFE
    assert fix_source(source, "t.py", [FifoCacheKeyList]).changed is False
    assert "popitem(last=False)" in fix_source(source, "t.py", [FifoCacheKeyList], unsafe_fixes=True).source


def test_literal_bound_proves_the_cache_non_empty():
    put = """
        if key in self._data:
            return
        while len(self._data) >= 4:
            self._data.pop(self._keys.pop(0))
        self._data[key] = value
        self._keys.append(key)
    """
    (finding,) = check_source(_class_with("def noop(self):\n    pass\n", put), "t.py", [FifoCacheKeyList])
    assert finding.safety is Safety.SAFE

"""Hypothesis strategies for the Python (KZ1xx) rules' equivalence checks.

Imports only the standard library and hypothesis: it runs in the target's
interpreter.
"""

from __future__ import annotations

from hypothesis import strategies as st

# Values that compare or hash awkwardly: NaN, -0.0, 1 == 1.0 == True, None,
# and mutable lists, which the pool hands out more than once (aliasing).
_SCALARS = st.one_of(
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1.0, True, False, None, "", "a"]),
    st.text(max_size=3),
)
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3))

QUEUE_OPS = ("append", "pop", "pop-unchecked", "len", "truth", "iterate", "comprehension")


def queue_operations():
    """``initial`` items, a ``pool`` of values and ``ops``: (operation, pool index) pairs."""
    return st.fixed_dictionaries(
        {
            "initial": st.lists(_VALUES, max_size=6),
            "pool": st.lists(_VALUES, min_size=1, max_size=5),
            "ops": st.lists(
                st.tuples(st.sampled_from(QUEUE_OPS), st.integers(0, 10)), max_size=40
            ),
        }
    )


# Keys that collide as dict keys (1, 1.0, True) or never equal themselves (NaN).
# float("nan") built anew each time gives keys that are distinct objects.
_KEYS = st.one_of(
    st.sampled_from([0, 1, 1.0, True, 2, "a", "b", float("nan"), None, (1, 2)]),
    st.builds(float, st.just("nan")),
)
CACHE_OPS = ("get", "put", "load", "size", "snapshot")


def cache_operations():
    """``max_size`` (0 and negatives included) and ``ops``: (operation, key, value) triples."""
    return st.fixed_dictionaries(
        {
            "max_size": st.integers(-1, 5),
            "ops": st.lists(
                st.tuples(st.sampled_from(CACHE_OPS), _KEYS, _SCALARS), max_size=40
            ),
        }
    )

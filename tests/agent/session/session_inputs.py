"""Generated inputs for the test-only rules' equivalence checks (stdlib and
hypothesis only: this module is imported in the target's interpreter)."""

from hypothesis import strategies as st


def non_empty_int_lists():
    return st.fixed_dictionaries({"xs": st.lists(st.integers(), min_size=1, max_size=30)})

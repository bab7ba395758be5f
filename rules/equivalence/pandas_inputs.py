"""Hypothesis strategies of pandas inputs for the KZ2xx equivalence checks.

Each public function returns a strategy of ``{name: value}`` dicts that an
equivalence template reads as globals. The frames aim at the places where
row-wise pandas code and its faster rewrites part ways: int and float columns
side by side (``iterrows`` upcasts), missing values of every kind (None and
NaN in object columns, NaN in pandas 3's default ``str`` columns, ``pd.NA``
in nullable Int64, NaT in datetimes), float32, categoricals, bool, frames
with no rows, and column labels that are awkward but unique.

This module runs in the target's interpreter: it imports only the standard
library, hypothesis, numpy and pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

MAX_ROWS = 6

# Labels a real frame might carry that trip up naive code: spaces, dots,
# non-ASCII, a digit string, a label shadowing a Series attribute, "".
AWKWARD_LABELS = ("id", "x", "name", "a b", "x.1", "Préis", "0", "index", "size", "")

_TEXT = st.sampled_from(["", "a", "b", "1301", "1.5", "nan", "None", "é ü", " x "])
_INTS = st.integers(min_value=-(2**40), max_value=2**40)
_FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e12, max_value=1e12),
    st.sampled_from([float("nan"), 0.5, -0.0, 1301.0, 1e-7]),
)
_FLOAT32 = st.floats(allow_nan=True, allow_infinity=False, width=32)
_DATES = st.one_of(
    st.datetimes(
        min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
        max_value=pd.Timestamp("2040-01-01").to_pydatetime(),
    ),
    st.none(),
)


def _column(kind: str, rows: int) -> st.SearchStrategy:
    """A strategy of one column (a Series) of ``kind`` with ``rows`` values."""
    n = rows
    if kind == "int":
        return st.lists(_INTS, min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype="int64"))
    if kind == "float":
        return st.lists(_FLOATS, min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype="float64"))
    if kind == "float32":
        return st.lists(_FLOAT32, min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype="float32"))
    if kind == "str":
        # pandas 3's default string dtype: None and NaN both become NaN.
        values = st.one_of(_TEXT, st.none(), st.just(float("nan")))
        return st.lists(values, min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype="str"))
    if kind == "object":
        # A column kept as object keeps None apart from NaN.
        values = st.one_of(_TEXT, st.none(), st.just(float("nan")))
        return st.lists(values, min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype=object))
    if kind == "datetime":
        return st.lists(_DATES, min_size=n, max_size=n).map(
            lambda v: pd.Series(pd.to_datetime(v), dtype="datetime64[ns]")
        )
    if kind == "category":
        values = st.one_of(st.sampled_from(["lo", "mid", "hi"]), st.none())
        return st.lists(values, min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype="category"))
    if kind == "Int64":
        values = st.one_of(_INTS, st.none())
        return st.lists(values, min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype="Int64"))
    if kind == "bool":
        return st.lists(st.booleans(), min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype="bool"))
    raise ValueError(f"unknown column kind {kind!r}")


COLUMN_KINDS = ("int", "float", "float32", "str", "object", "datetime", "category", "Int64", "bool")


@st.composite
def _frame(draw, required: tuple[str, ...] = (), min_columns: int = 1, max_columns: int = 5):
    """A frame holding the ``required`` labels (in random positions) plus
    other unique awkward labels, each column of a random kind."""
    rows = draw(st.integers(min_value=0, max_value=MAX_ROWS))
    others = [label for label in AWKWARD_LABELS if label not in required]
    extra_count = draw(
        st.integers(min_value=max(0, min_columns - len(required)), max_value=max_columns - len(required))
    )
    extra = draw(st.lists(st.sampled_from(others), min_size=extra_count, max_size=extra_count, unique=True))
    labels = draw(st.permutations(list(required) + extra))
    columns = {}
    for label in labels:
        kind = draw(st.sampled_from(COLUMN_KINDS))
        columns[label] = draw(_column(kind, rows)).reset_index(drop=True)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(rows))
    if draw(st.booleans()):
        # A non-default index: iterrows yields its labels, to_numpy drops them.
        frame.index = pd.Index([f"r{i}" for i in range(rows)], dtype=object)
    return frame


def frames_with_two_columns():
    """``df`` plus ``a`` and ``b``, two distinct labels of ``df``."""

    @st.composite
    def build(draw):
        frame = draw(_frame(min_columns=2))
        a, b = draw(st.permutations(list(frame.columns)))[:2]
        return {"df": frame, "a": a, "b": b}

    return build()


def frames_with_id_and_x():
    """``df`` holding columns ``"id"`` and ``"x"`` (any kinds) among others;
    it never holds ``"missing"``."""
    return _frame(required=("id", "x")).map(lambda frame: {"df": frame})


def frames_to_grow():
    """``df`` (possibly empty) and ``rows``, a list of dicts keyed by the
    frame's labels, to be appended one at a time."""

    @st.composite
    def build(draw):
        frame = draw(_frame(min_columns=1, max_columns=3))
        labels = list(frame.columns)
        count = draw(st.integers(min_value=0, max_value=4))
        rows = [
            {label: draw(st.one_of(_INTS, _FLOATS, _TEXT)) for label in labels}
            for _ in range(count)
        ]
        return {"df": frame, "rows": rows}

    return build()


def numpy_rows():
    """``rows``: a list of 0 to 6 small tuples of numbers, for templates that
    build a frame from scratch."""
    row = st.tuples(_INTS, _FLOATS)
    return st.lists(row, max_size=MAX_ROWS).map(lambda rows: {"rows": rows, "np": np})

"""Hypothesis strategies for the polars (KZ3xx) rules' equivalence checks.

Imports only the standard library, hypothesis and polars: it runs in the
target's interpreter.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import strategies as st

_FLOATS = st.floats(allow_nan=True, allow_infinity=True)
_FLOAT32 = st.floats(allow_nan=True, allow_infinity=True, width=32)

# dtype -> values of that dtype (None is added to every column).
_COLUMN_KINDS = {
    "i64": (pl.Int64, st.integers(-(2**63), 2**63 - 1)),
    "i8": (pl.Int8, st.integers(-128, 127)),
    "u32": (pl.UInt32, st.integers(0, 2**32 - 1)),
    "f64": (pl.Float64, _FLOATS),
    "f32": (pl.Float32, _FLOAT32),
    "str": (pl.String, st.text(max_size=4)),
    "bool": (pl.Boolean, st.booleans()),
    "date": (pl.Date, st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))),
    "datetime": (pl.Datetime("us"), st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1))),
    "duration": (pl.Duration("us"), st.timedeltas(dt.timedelta(days=-999), dt.timedelta(days=999))),
    "list": (pl.List(pl.Int64), st.lists(st.one_of(st.none(), st.integers(-5, 5)), max_size=3)),
}


@st.composite
def _column(draw, height: int) -> pl.Series:
    dtype, values = _COLUMN_KINDS[draw(st.sampled_from(sorted(_COLUMN_KINDS)))]
    data = draw(st.lists(st.one_of(st.none(), values), min_size=height, max_size=height))
    return pl.Series(values=data, dtype=dtype)


@st.composite
def _frame(draw) -> pl.DataFrame:
    height = draw(st.integers(0, 6))
    columns = {name: draw(_column(height)) for name in ("a", "b", "c")}
    return pl.DataFrame(columns)


def frames():
    """``df``: a frame with columns a, b, c of independently drawn dtypes, 0-6 rows."""
    return st.fixed_dictionaries({"df": _frame()})

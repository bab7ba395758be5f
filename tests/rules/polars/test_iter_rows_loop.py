"""KZ301 beyond its own examples: why the fix uses ``to_list()`` and why the
named form is unsafe."""

import textwrap

import polars as pl
import pytest

from rules.engine import check_source, fix_source
from rules.equivalence.run import run_job
from rules.framework import Safety
from rules.polars.iter_rows_loop import PolarsIterRowsLoop

TUPLE_LOOP = """
pairs = []
for a, b in df.select(["a", "b"]).iter_rows():
    pairs.append((a, b))
"""


def test_equivalence_check_rejects_iterating_the_series_directly():
    # A Series of lists iterates as Series objects; iter_rows gives lists.
    job = {
        "before": TUPLE_LOOP,
        "after": TUPLE_LOOP.replace('df.select(["a", "b"]).iter_rows()', 'zip(df["a"], df["b"])'),
        "setup": "",
        "inputs": "rules.equivalence.polars_inputs:frames",
        "outputs": ["pairs"],
        "max_examples": 150,
    }
    result = run_job(job)
    assert result["ok"] is False
    assert "Series" in result["detail"]


def test_named_rewrite_fails_early_on_a_missing_column():
    source = textwrap.dedent(
        """
        seen = []
        for row in df.iter_rows(named=True):
            seen.append(row["missing"])
        """
    )
    fixed = fix_source(source, "t.py", [PolarsIterRowsLoop], unsafe_fixes=True).source
    empty = pl.DataFrame({"a": []}, schema={"a": pl.Int64})
    exec(source, {"df": empty})  # noqa: S102 - running both versions is the test; never reaches the read
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        exec(fixed, {"df": empty})  # noqa: S102


def test_named_form_is_unsafe_and_tuple_form_safe():
    findings = check_source(
        "for row in df.iter_rows(named=True):\n    f(row['a'])\n"
        "for a, b in df.select('a', 'b').iter_rows():\n    f(a, b)\n",
        "t.py",
        [PolarsIterRowsLoop],
    )
    assert [f.safety for f in findings] == [Safety.UNSAFE, Safety.SAFE]
    assert fix_source("for row in df.iter_rows(named=True):\n    f(row['a'])\n", "t.py", [PolarsIterRowsLoop]).changed is False


@pytest.mark.parametrize(
    "source",
    [
        "for row in df.iter_rows(named=True):\n    row['a'] = 1\n",
        "for row in df.iter_rows(named=True):\n    f(row.get('a'))\n",
        "for row in df.iter_rows(named=True):\n    f(row[name])\n",
        "for row in df.iter_rows(named=True):\n    g = lambda: row['a']\n",
        "for a, b in df.select(['a', 'a']).iter_rows():\n    f(a, b)\n",
        "for a, b in df.select('*').iter_rows():\n    f(a, b)\n",
        "for a, b in df.select(['a', 'b', 'c']).iter_rows():\n    f(a, b)\n",
        "for row in load().iter_rows(named=True):\n    f(row['a'])\n",
    ],
)
def test_unprovable_loops_are_not_fixed(source):
    (finding,) = check_source(source, "t.py", [PolarsIterRowsLoop])
    assert finding.safety is Safety.DISPLAY_ONLY
    assert fix_source(source, "t.py", [PolarsIterRowsLoop], unsafe_fixes=True).changed is False


def test_generated_names_do_not_clash():
    source = "row_a = 0\nfor row in df.iter_rows(named=True):\n    row_a += row['a'] + row['my col']\n"
    fixed = fix_source(source, "t.py", [PolarsIterRowsLoop], unsafe_fixes=True).source
    assert fixed == (
        "row_a = 0\n"
        "for row_a_2, row_my_col in zip(df['a'].to_list(), df['my col'].to_list()):\n"
        "    row_a += row_a_2 + row_my_col\n"
    )

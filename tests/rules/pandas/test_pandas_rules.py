"""Behaviour of the pandas rules beyond their own examples: the equivalence
machinery rejects the tempting wrong rewrites, the generated guard falls back
where to_numpy() would be wrong, and the rules only trust what they can prove."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engine import check_source, fix_source
from rules.equivalence import pandas_inputs
from rules.equivalence.run import run_job
from rules.framework import Safety
from rules.registry import get

KZ201, KZ202, KZ203 = get("KZ201"), get("KZ202"), get("KZ203")


def _job(before, after, inputs, outputs):
    return {"before": before, "after": after, "inputs": inputs, "outputs": outputs, "max_examples": 150}


def test_astype_str_zip_is_caught_as_not_equivalent():
    result = run_job(
        _job(
            "mapping = {str(r[a]): str(r[b]) for _, r in df[[a, b]].iterrows()}\n",
            "mapping = dict(zip(df[a].astype(str), df[b].astype(str)))\n",
            "rules.equivalence.pandas_inputs:frames_with_two_columns",
            ["mapping"],
        )
    )
    assert result["ok"] is False
    assert result["detail"].startswith("outputs differ")


def test_selecting_only_the_read_columns_is_caught_as_not_equivalent():
    result = run_job(
        _job(
            "seen = [(row['id'], row['x']) for _, row in df.iterrows()]\n",
            "seen = [(v[0], v[1]) for v in df[['id', 'x']].to_numpy()]\n",
            "rules.equivalence.pandas_inputs:frames_with_id_and_x",
            ["seen"],
        )
    )
    assert result["ok"] is False
    assert "outputs differ" in result["detail"]


def test_unguarded_to_numpy_positions_are_caught_as_not_equivalent():
    # The design's "exact form" without the run-time dtype guard: pandas
    # re-infers some rows (None -> NaN next to strings, NaT next to dates).
    result = run_job(
        _job(
            "seen = [(row['id'], row['x']) for _, row in df.iterrows()]\n",
            "i, j = df.columns.get_loc('id'), df.columns.get_loc('x')\n"
            "seen = [(v[i], v[j]) for v in df.to_numpy()]\n",
            "rules.equivalence.pandas_inputs:frames_with_id_and_x",
            ["seen"],
        )
    )
    assert result["ok"] is False


def _run_fixed(rule, source, **names):
    fixed = fix_source(source, "t.py", [rule]).source
    assert fixed != source
    before, after = dict(names), dict(names)
    exec(source, before)  # noqa: S102 - running the code under test
    exec(fixed, after)  # noqa: S102
    return before, after, fixed


LOOP = "seen = []\nfor _, row in df.iterrows():\n    seen.append((row['id'], row.get('x', 0)))\n"


@pytest.mark.parametrize(
    "frame",
    [
        # duplicate labels: row['id'] is a Series, get_loc would be a mask
        pd.DataFrame([[1, 2, 3.5]], columns=["id", "id", "x"]),
        # a row of strings turns None into NaN under pandas 3
        pd.DataFrame({"id": pd.Series(["a", None], dtype=object), "x": ["b", "c"]}),
        # dates only: iterrows yields Timestamp, to_numpy datetime64
        pd.DataFrame({"id": pd.to_datetime(["2024-01-02", None]), "x": pd.to_datetime(["2024-01-03"] * 2)}),
        # int next to float: iterrows upcasts
        pd.DataFrame({"id": [1, 2], "x": [0.5, 1.5], "name": ["a", "b"]}),
        # the key is missing: both raise the same KeyError on the first row
        pd.DataFrame({"x": [1]}),
        pd.DataFrame({"id": [], "x": []}),
    ],
)
def test_fixed_loop_matches_iterrows_on_awkward_frames(frame):
    def run(source):
        scope = {"df": frame.copy()}
        try:
            exec(source, scope)  # noqa: S102
        except KeyError as exc:
            return ("KeyError", str(exc))
        return scope["seen"]

    fixed = fix_source(LOOP, "t.py", [KZ202]).source
    before, after = run(LOOP), run(fixed)
    from rules.equivalence.compare import difference

    assert difference(before, after) is None


def test_loop_fix_is_safe_and_comprehension_offers_unsafe_column_zip():
    (loop,) = check_source(LOOP, "t.py", [KZ202])
    assert loop.safety is Safety.SAFE and loop.fixable
    source = "m = {str(r['a']): str(r['b']) for _, r in df.iterrows()}\n"
    findings = check_source(source, "t.py", [KZ201])
    assert sorted(f.safety.value for f in findings) == ["safe", "unsafe"]
    assert "zip(df['a'].tolist(), df['b'].tolist())" in fix_source(source, "t.py", [KZ201], unsafe_fixes=True).source
    assert "to_numpy()" in fix_source(source, "t.py", [KZ201]).source


def test_rules_reads_only_what_they_can_prove():
    # A loop in a class body and a comprehension inside a call: reported only.
    class_body = "class T:\n    for _, row in df.iterrows():\n        x = row['a']\n"
    (finding,) = check_source(class_body, "t.py", [KZ202])
    assert finding.safety is Safety.DISPLAY_ONLY and not finding.fixable
    # `row.size` is a Series attribute, not a column: never read as one.
    attribute = "for _, row in df.iterrows():\n    n = row.size\n"
    (finding,) = check_source(attribute, "t.py", [KZ202])
    assert not finding.fixable


def test_concat_from_another_library_is_not_flagged():
    source = "from mylib import concat\nfor p in parts:\n    df = concat([df, p])\n"
    assert check_source(source, "t.py", [KZ203]) == []
    source = "import pandas\nfor p in parts:\n    df = pandas.concat([df, p])\n"
    (finding,) = check_source(source, "t.py", [KZ203])
    assert finding.safety is Safety.UNSAFE
    assert fix_source(source, "t.py", [KZ203]).changed is False
    assert fix_source(source, "t.py", [KZ203], unsafe_fixes=True).changed is True


def test_grow_fix_keeps_the_same_frame_when_the_loop_adds_nothing():
    source = "import pandas as pd\nstart = df\nfor p in parts:\n    df = pd.concat([df, p])\n"
    fixed = fix_source(source, "t.py", [KZ203], unsafe_fixes=True).source
    frame = pd.DataFrame({"a": [1]})
    scope = {"df": frame, "parts": []}
    exec(fixed, scope)  # noqa: S102
    assert scope["df"] is frame
    scope = {"df": frame, "parts": [pd.DataFrame({"a": [2]}), pd.DataFrame({"a": [3]})]}
    exec(fixed, scope)  # noqa: S102
    assert scope["df"]["a"].tolist() == [1, 2, 3]


@pytest.mark.parametrize("kind", pandas_inputs.COLUMN_KINDS)
def test_input_strategies_build_every_column_kind(kind):
    expected = {
        "int": np.dtype("int64"), "float": np.dtype("float64"), "float32": np.dtype("float32"),
        "str": "str", "object": np.dtype(object), "datetime": np.dtype("datetime64[ns]"),
        "category": "category", "Int64": "Int64", "bool": np.dtype(bool),
    }[kind]

    @settings(max_examples=5, derandomize=True, database=None)
    @given(st.integers(0, 4).flatmap(lambda n: pandas_inputs._column(kind, n)))
    def check(column):
        assert column.dtype == expected

    check()


def test_input_strategies_hold_the_awkward_cases():
    found = set()

    @settings(max_examples=150, derandomize=True, database=None)
    @given(pandas_inputs.frames_with_id_and_x())
    def collect(inputs):
        frame = inputs["df"]
        assert {"id", "x"} <= set(frame.columns) and frame.columns.is_unique
        if len(frame) == 0:
            found.add("empty")
        if frame.map(lambda v: v is None).to_numpy().any():
            found.add("None")
        if any(str(t) == "Int64" for t in frame.dtypes) and frame.isna().to_numpy().any():
            found.add("NA")

    collect()
    assert found == {"empty", "None", "NA"}


ALIASED = """\
import numpy as np
import pandas as pd


def sectors(df):
    out = {}
    for _, row in df.iterrows():
        out[row["code"]] = row["sector"]
    return out
"""


def test_the_fix_reuses_an_existing_numpy_alias_instead_of_importing_numpy_again():
    from rules.registry import get

    fixed = fix_source(ALIASED, "prep.py", [get("KZ202")]).source
    assert fixed.count("import numpy") == 1 and "np.dtype" in fixed
    frame = pd.DataFrame({"code": ["1301", "1332"], "sector": ["A", "B"], "n": [1, 2]})
    namespace: dict = {}
    exec(compile(fixed, "prep.py", "exec"), namespace)
    original: dict = {}
    exec(compile(ALIASED, "prep.py", "exec"), original)
    assert namespace["sectors"](frame) == original["sectors"](frame)


def test_a_rebound_numpy_alias_is_not_trusted():
    from rules.registry import get

    shadowed = ALIASED.replace("def sectors(df):", "def sectors(df, np=None):")
    fixed = fix_source(shadowed, "prep.py", [get("KZ202")]).source
    assert "numpy.dtype" in fixed and "np.dtype" not in fixed
    assert "\nimport numpy\n" in fixed

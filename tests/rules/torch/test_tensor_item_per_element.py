"""KZ406 beyond its own examples: the equivalence runner rejects the tempting
rewrites that are not exact, the fixture program computes the same values
before and after fixing, and the analysis keeps the fix away from loops it
cannot prove."""

import re
import runpy
from pathlib import Path

import pytest
import torch
from hypothesis import Phase, settings

from rules.engine import check_source, compiles, fix_source
from rules.equivalence.compare import difference
from rules.equivalence.job import build_job
from rules.equivalence.run import _execute, run_job
from rules.framework import Safety
from rules.measure.job import build_bench_job
from rules.registry import get

KZ406 = get("KZ406")
FIXTURES = Path(__file__).parent.parent / "fixtures" / "KZ406"


def _fix(source):
    return fix_source(source, "t.py", [KZ406])


def _only(findings):
    assert len(findings) == 1, findings
    return findings[0]


settings.register_profile(
    "kaizen-kz406-no-shrink", phases=[Phase.explicit, Phase.reuse, Phase.generate]
)


@pytest.fixture
def no_shrinking():
    """A failing check stops at its first counterexample: shrinking it only
    makes the message nicer and costs seconds per test."""
    previous = settings.get_current_profile_name()
    settings.load_profile("kaizen-kz406-no-shrink")
    yield
    settings.load_profile(previous)


# -- the equivalence runner catches rewrites that are not exact --------------

NAIVE_HOIST = "pred_a_values = pred_a.tolist() if pred_a.dim() >= 1 else None\n"


def _without_shape_guard(after: str) -> str:
    """The rule's rewrite with the hoisted read replaced by a plain
    ``.tolist()``: the same list for shape [n], nested lists for [n, 1]."""
    hoisted = re.search(r"pred_a_values = \(\n.*?\n\s*\)\n", after, re.DOTALL)
    return after[: hoisted.start()] + NAIVE_HOIST + after[hoisted.end() :]


def test_tolist_without_the_shape_guard_is_caught(no_shrinking):
    job = build_job(KZ406)
    job["after"] = _without_shape_guard(job["after"])
    result = run_job(job)
    assert not result["ok"]
    assert "scores" in result["detail"]


def test_tolist_without_the_shape_guard_gives_lists_for_a_column_tensor():
    job = build_job(KZ406)
    inputs = {
        "pred": torch.tensor([[0.25], [0.5], [0.75]]),
        "codes": ["a", "b", "c"],
        "start": 0,
        "stop": 0,
        "flag": True,
    }
    outputs = job["outputs"]
    before, _ = _execute(job["before"], dict(inputs), outputs)
    after, _ = _execute(job["after"], dict(inputs), outputs)
    naive, _ = _execute(_without_shape_guard(job["after"]), dict(inputs), outputs)
    assert before["scores"] == {"a": 0.25, "b": 0.5, "c": 0.75}
    assert difference(before, after) is None
    assert naive["scores"] == {"a": [0.25], "b": [0.5], "c": [0.75]}
    assert difference(before, naive) is not None


def test_indexing_the_list_without_the_range_guard_is_caught(no_shrinking):
    # Past the end a list raises "list index out of range", a tensor its own
    # IndexError message: the guard sends such indices to the tensor.
    job = build_job(KZ406)
    guard = " and 0 <= i < len(pred_a_values)"
    assert guard in job["after"]
    job["after"] = job["after"].replace(guard, "")
    result = run_job(job)
    assert not result["ok"]
    assert "error_a" in result["detail"]


def test_an_eager_item_list_as_the_iteration_fallback_is_caught(no_shrinking):
    # `[x.item() for x in t]` fails before the first pass for rows of two
    # elements; the original fails only where the body calls `.item()`.
    job = build_job(KZ406)
    loop = "for value in (pred_c if pred_c_values is None else pred_c_values):"
    assert loop in job["after"]
    eager = (
        "for value in (pred_c_values if pred_c_values is not None else [x.item() for x in pred_c]):"
    )
    job["after"] = (
        job["after"]
        .replace(loop, eager)
        .replace("value if pred_c_values is not None else value.item()", "value")
    )
    result = run_job(job)
    assert not result["ok"]
    assert "seen" in result["detail"] or "history" in result["detail"]


# -- the fixture program computes the same before and after ------------------


def test_fixture_gives_the_same_values():
    before = runpy.run_path(str(FIXTURES / "evaluation_loop.in.py"), run_name="fixture")
    after = runpy.run_path(str(FIXTURES / "evaluation_loop.out.py"), run_name="fixture")
    args = ("model", "features", "codes", "weights")
    old = before["evaluate"](*(before[a] for a in args))
    new = after["evaluate"](*(after[a] for a in args))
    assert difference(old, new) is None
    assert len(new[0]) == 12 and all(type(v) is float for v in new[0].values())
    for name in ("daily_losses", "clipped"):
        old = before[name](before["model"], before["features"])
        new = after[name](after["model"], after["features"])
        assert difference(old, new, name) is None


def test_fixture_loop_with_an_in_place_clip_is_only_reported():
    source = (FIXTURES / "evaluation_loop.out.py").read_text()
    finding = _only(check_source(source, "t.py", [KZ406]))
    assert finding.safety is Safety.DISPLAY_ONLY
    assert "`pred` is also used otherwise in the loop" in finding.message


# -- what is fixed and what is only reported ---------------------------------


def test_two_tensors_read_in_one_loop_are_both_hoisted():
    source = (
        "import torch\n"
        "pred = torch.sigmoid(logits)\n"
        "target = torch.as_tensor(labels)\n"
        "rows = []\n"
        "for i in range(len(pred)):\n"
        "    rows.append((pred[i].item(), target[i].item()))\n"
    )
    result = _fix(source)
    assert "pred_values = (" in result.source and "target_values = (" in result.source
    assert len(result.applied) == 2 and compiles(result.source)
    assert not _fix(result.source).changed
    assert check_source(result.source, "t.py", [KZ406]) == []
    namespace = {"logits": torch.tensor([0.0, 1.0]), "labels": [[1], [0]]}
    old, new = dict(namespace), dict(namespace)
    exec(compile(source, "<before>", "exec"), old)  # noqa: S102 - runs the example
    exec(compile(result.source, "<after>", "exec"), new)  # noqa: S102 - runs the example
    assert old["rows"] == new["rows"] == [(0.5, 1), (pytest.approx(0.7310585), 0)]


def test_a_nested_loop_reading_the_outer_index_is_hoisted_before_the_outer_loop():
    source = (
        "import torch\n"
        "pred = torch.rand(4)\n"
        "for i in range(len(pred)):\n"
        "    for j in range(2):\n"
        "        print(i, j, pred[i].item())\n"
    )
    fixed = _fix(source).source
    assert fixed.index("pred_values = (") < fixed.index("for i in range")
    assert "pred_values[i] if pred_values is not None" in fixed


def test_the_list_name_never_clashes_with_an_existing_name():
    source = (
        "import torch\n"
        "pred_values = None\n"
        "pred = torch.rand(3)\n"
        "for i in range(len(pred)):\n"
        "    print(pred[i].item(), pred_values)\n"
    )
    fixed = _fix(source).source
    assert "pred_values_2 = (" in fixed
    assert "print(pred_values_2[i] if pred_values_2 is not None" in fixed


def test_a_tab_indented_module_keeps_its_tabs():
    source = (
        "import torch\n"
        "def f(codes):\n"
        "\tpred = torch.rand(3)\n"
        "\tfor i, code in enumerate(codes):\n"
        "\t\tprint(code, pred[i].item())\n"
    )
    fixed = _fix(source).source
    assert compiles(fixed)
    assert "\t\tpred.reshape(-1).tolist()\n" in fixed


def test_a_tensor_assigned_inside_an_earlier_no_grad_block_is_trusted():
    source = (
        "import torch\n"
        "with torch.no_grad():\n"
        "    pred = torch.sigmoid(logits)\n"
        "for i in range(len(pred)):\n"
        "    print(pred[i].item())\n"
    )
    assert _only(check_source(source, "t.py", [KZ406])).fixable


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("    i = i + 1\n    print(pred[i].item())\n", "`i` is reassigned in the loop"),
        ("    torch.mul(pred, 2, out=buf)\n    print(pred[i].item())\n", "`pred` is also used"),
        ("    torch.sin(other, out=buf)\n    print(pred[i].item())\n", "passes `out=`"),
        ("    cache[i] = pred[i].item()\n", "`cache[...] = ...` in the loop could write into"),
        ("    pred = pred * 2\n    print(pred[i].item())\n", "`pred` is also used"),
    ],
    ids=["index-reassigned", "tensor-passed", "out-argument", "unknown-subscript", "rebound"],
)
def test_loops_that_could_change_the_tensor_or_index_are_only_reported(body, reason):
    source = "import torch\npred = torch.rand(4)\nfor i in range(len(pred)):\n" + body
    finding = _only(check_source(source, "t.py", [KZ406]))
    assert finding.safety is Safety.DISPLAY_ONLY and not finding.fixable
    assert reason in finding.message
    assert not _fix(source).changed


def test_a_subscript_into_a_dict_made_before_the_loop_is_no_obstacle():
    source = (
        "import collections\n"
        "import torch\n"
        "pred = torch.rand(4)\n"
        "counts = collections.defaultdict(float)\n"
        "for i, code in enumerate(codes):\n"
        "    counts[code] += pred[i].item()\n"
    )
    assert _only(check_source(source, "t.py", [KZ406])).fixable


def test_an_unknown_value_iterated_with_item_is_only_reported():
    source = "for value in values:\n    print(value.item())\n"
    finding = _only(check_source(source, "t.py", [KZ406]))
    assert finding.safety is Safety.DISPLAY_ONLY
    assert "`values` is not assigned before the loop" in finding.message


def test_iteration_without_item_or_with_other_uses_of_the_row():
    assert (
        check_source(
            "import torch\nt = torch.rand(3)\nfor v in t:\n    print(v)\n", "t.py", [KZ406]
        )
        == []
    )
    source = "import torch\nt = torch.rand(3)\nfor v in t:\n    print(v, v.item())\n"
    finding = _only(check_source(source, "t.py", [KZ406]))
    assert "`v` is used other than through `.item()`" in finding.message


def test_item_with_a_tuple_index_or_an_expression_index_is_not_flagged():
    source = (
        "import torch\n"
        "pred = torch.rand(4, 2)\n"
        "for i in range(len(pred)):\n"
        "    print(pred[i, 0].item(), pred[i + 1].item())\n"
    )
    assert check_source(source, "t.py", [KZ406]) == []


# -- the benchmark runs the code the rule writes -----------------------------


def test_benchmark_snippets_give_the_same_scores():
    job = build_bench_job(KZ406)
    assert job["before"] != job["after"]
    results = []
    for snippet in (job["before"], job["after"]):
        namespace = {}
        exec(compile(job["setup"] + "\n" + snippet, "<bench>", "exec"), namespace)  # noqa: S102
        results.append(namespace["scores"])
    assert len(results[0]) == 2000
    assert difference(results[0], results[1]) is None

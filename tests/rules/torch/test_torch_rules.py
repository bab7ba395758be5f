"""Behaviour of the torch rules beyond their own examples: the equivalence
runner rejects tempting wrong rewrites, the fixture programs compute the same
results before and after fixing, and each rule reports without fixing where
it cannot prove its preconditions."""

import runpy
from pathlib import Path

import pytest
from hypothesis import Phase, settings

from rules.engine import check_source, fix_source
from rules.equivalence.compare import difference
from rules.equivalence.job import build_job
from rules.equivalence.run import run_job
from rules.framework import Safety
from rules.measure.job import build_bench_job
from rules.registry import get

KZ401, KZ402, KZ403, KZ404, KZ405 = (get(f"KZ40{i}") for i in range(1, 6))
FIXTURES = Path(__file__).parent.parent / "fixtures"


def _fixed(source, rule, unsafe=False):
    return fix_source(source, "t.py", [rule], unsafe_fixes=unsafe).source


def _only(findings):
    assert len(findings) == 1, findings
    return findings[0]


# -- the equivalence runner catches wrong rewrites ---------------------------

settings.register_profile(
    "kaizen-torch-no-shrink", phases=[Phase.explicit, Phase.reuse, Phase.generate]
)


@pytest.fixture
def no_shrinking():
    """A failing check stops at its first counterexample: shrinking it only
    makes the message nicer and costs seconds per test."""
    previous = settings.get_current_profile_name()
    settings.load_profile("kaizen-torch-no-shrink")
    yield
    settings.load_profile(previous)


def test_dropping_the_initial_tensor_of_a_cat_accumulation_is_caught(no_shrinking):
    job = build_job(KZ401)
    # Joining only the parts loses the initial tensor's rows and its part in
    # dtype promotion (an int64 initial tensor with bool parts, say).
    job["after"] = job["after"].replace("[out0, *out0_parts]", "out0_parts")
    result = run_job(job)
    assert not result["ok"]
    assert "out0" in result["detail"]


def test_appending_parts_without_a_copy_is_caught(no_shrinking):
    job = build_job(KZ401)
    job["after"] = job["after"].replace("append(part.clone())", "append(part)")
    result = run_job(job)
    assert not result["ok"]
    assert "out3" in result["detail"]


def test_always_joining_even_after_zero_passes_is_caught(no_shrinking):
    job = build_job(KZ401)
    # Without the guard, zero passes return a copy instead of the same tensor.
    job["after"] = job["after"].replace("if out0_parts:\n    out0", "if True:\n    out0")
    result = run_job(job)
    assert not result["ok"]
    assert "same0" in result["detail"]


def test_float32_accumulation_on_the_device_is_caught_as_inexact(no_shrinking):
    job = build_job(KZ402)
    job["after"] = job["after"].replace(
        "total += sum(torch.stack(total_parts).flatten().tolist())",
        "total += torch.stack(total_parts).sum().item()",
    )
    assert job["after"] != build_job(KZ402)["after"]
    result = run_job(job)
    assert not result["ok"]
    assert "total_close" in result["detail"]


def test_creating_with_another_dtype_is_caught(no_shrinking):
    job = build_job(KZ403)
    job["after"] = job["after"].replace(
        'torch.tensor(data, device="cpu")', 'torch.tensor(data, device="cpu", dtype=torch.float32)'
    )
    result = run_job(job)
    assert not result["ok"]


# -- fixture programs compute the same before and after ----------------------


def _run(path):
    return runpy.run_path(str(path), run_name="fixture")


def _pair(code, case):
    return _run(FIXTURES / code / f"{case}.in.py"), _run(FIXTURES / code / f"{case}.out.py")


def test_kz401_fixture_gives_identical_tensors():
    before, after = _pair("KZ401", "evaluation_script")
    for name in ("collect", "running_features", "guarded"):
        old = (
            before[name](before["model"], before["batches"])
            if name != "guarded"
            else before[name](before["batches"])
        )
        new = (
            after[name](after["model"], after["batches"])
            if name != "guarded"
            else after[name](after["batches"])
        )
        assert difference(old, new, name) is None


def test_kz402_fixture_gives_the_same_values():
    before, after = _pair("KZ402", "unsafe_training_loop")
    old_loss, old_big = before["train_epoch"](before["model"], before["batches"], before["opt"])
    new_loss, new_big = after["train_epoch"](after["model"], after["batches"], after["opt"])
    assert old_big == new_big and type(new_big) is int
    assert new_loss == pytest.approx(old_loss, rel=1e-12)
    assert (
        difference(
            before["evaluate"](before["model"], before["batches"]),
            after["evaluate"](after["model"], after["batches"]),
        )
        is None
    )


def test_kz403_fixture_gives_identical_tensors():
    before, after = _pair("KZ403", "model_setup")
    results = []
    for module in (before, after):
        module["torch"].manual_seed(1)
        results.append(module["make_inputs"]([3, 1, 4], 2, 5, module["torch"].float64))
    assert difference(results[0], results[1]) is None


# -- reported without a fix where nothing can be proven ----------------------


def test_cat_accumulator_read_by_another_function_is_not_fixed():
    source = (
        "import torch\n"
        "def show():\n"
        "    print(x)\n"
        "x = torch.empty(0)\n"
        "for p in parts:\n"
        "    x = torch.cat([x, p])\n"
        "    show()\n"
    )
    finding = _only(check_source(source, "t.py", [KZ401]))
    assert finding.safety is Safety.DISPLAY_ONLY
    assert "also read by a nested function" in finding.message
    assert _fixed(source, KZ401) == source


def test_cat_parts_name_never_clashes_with_an_existing_name():
    source = "import torch\npreds_parts = 1\npreds = torch.empty(0)\nfor p in ps:\n    preds = torch.cat([preds, p])\n"
    fixed = _fixed(source, KZ401)
    assert "preds_parts_2 = []" in fixed
    assert "preds_parts = 1" in fixed


def test_cat_fix_inside_an_epoch_loop_is_idempotent():
    source = (
        "import torch\n"
        "for epoch in range(3):\n"
        "    seen = torch.empty(0)\n"
        "    for p in ps:\n"
        "        seen = torch.cat([seen, p])\n"
        "    print(seen.shape)\n"
    )
    once = _fixed(source, KZ401)
    assert "seen_parts.append(p.clone())" in once
    assert _fixed(once, KZ401) == once
    assert check_source(once, "t.py", [KZ401]) == []


def test_host_sync_fix_needs_unsafe_fixes():
    source = "import torch\ntotal = 0.0\nfor b in bs:\n    total += torch.sum(b).item()\n"
    assert _fixed(source, KZ402) == source
    assert "total_parts.append(torch.sum(b).detach())" in _fixed(source, KZ402, unsafe=True)


def test_host_sync_outside_any_loop_or_of_unknown_values_is_not_reported():
    assert check_source("import torch\nx = torch.ones(()).item()\n", "t.py", [KZ402]) == []
    assert check_source("t = 0.0\nfor s in rows:\n    t += float(s)\n", "t.py", [KZ402]) == []


def test_host_sync_of_an_unknown_item_is_display_only():
    finding = _only(check_source("t = 0\nfor v in vals:\n    t += v.item()\n", "t.py", [KZ402]))
    assert finding.safety is Safety.DISPLAY_ONLY
    assert "not provably a tensor" in finding.message


@pytest.mark.parametrize(
    ("move", "fixed"),
    [
        ('.to("cuda:1")', 'torch.zeros(3, device="cuda:1")'),
        (".cuda()", 'torch.zeros(3, device="cuda")'),
        (".cpu()", 'torch.zeros(3, device="cpu")'),
        (".to(device=d)", "torch.zeros(3, device=d)"),
        ('.to(torch.device("mps"))', 'torch.zeros(3, device=torch.device("mps"))'),
    ],
)
def test_creation_moves_that_are_provably_devices_are_fixed(move, fixed):
    assert (
        _fixed(f"import torch\nx = torch.zeros(3){move}\n", KZ403) == f"import torch\nx = {fixed}\n"
    )


@pytest.mark.parametrize(
    "move",
    ['.to("float32")', ".to(torch.float16)", ".to(other)", ".cuda(1)", '.to("cuda", copy=True)'],
)
def test_creation_moves_that_may_not_be_devices_are_only_reported(move):
    source = f"import torch\nx = torch.zeros(3){move}\n"
    finding = _only(check_source(source, "t.py", [KZ403]))
    assert finding.safety is Safety.DISPLAY_ONLY
    assert _fixed(source, KZ403) == source


def test_device_variable_reassigned_to_something_else_is_not_trusted():
    source = 'import torch\ndev = "cuda"\ndev = pick()\nx = torch.zeros(3).to(dev)\n'
    assert _only(check_source(source, "t.py", [KZ403])).safety is Safety.DISPLAY_ONLY


def test_dataloader_message_names_only_what_is_missing():
    source = "from torch.utils.data import DataLoader\nl = DataLoader(ds, num_workers=4, pin_memory=True)\n"
    finding = _only(check_source(source, "t.py", [KZ404]))
    assert "persistent_workers=" in finding.message
    assert "pin_memory=True makes" not in finding.message
    assert finding.safety is Safety.DISPLAY_ONLY
    literal_zero = "from torch.utils.data import DataLoader\nl = DataLoader(ds, num_workers=0)\n"
    assert check_source(literal_zero, "t.py", [KZ404]) == []


def test_eval_loop_in_a_pytest_file_is_not_an_evaluation_function():
    source = "def test_outputs(model, xs):\n    for x in xs:\n        model(x)\n"
    assert check_source(source, "tests/test_model.py", [KZ405]) == []
    assert len(check_source(source, "train.py", [KZ405])) == 1


def test_eval_loop_reported_once_per_loop():
    source = (
        "def validate(model, loader):\n"
        "    for xb in loader:\n"
        "        a = model(xb)\n"
        "        b = model(xb * 2)\n"
    )
    finding = _only(check_source(source, "t.py", [KZ405]))
    assert finding.line == 3


# -- benchmarks run the code the rules write --------------------------------


@pytest.mark.parametrize("rule", [KZ401, KZ402, KZ403], ids=lambda r: r.code)
def test_benchmark_snippets_run_before_and_after(rule):
    job = build_bench_job(rule)
    assert job["before"] != job["after"]
    for snippet in (job["before"], job["after"]):
        namespace = {}
        exec(compile(job["setup"] + "\n" + snippet, "<bench>", "exec"), namespace)  # noqa: S102

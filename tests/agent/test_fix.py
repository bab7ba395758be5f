"""`kaizen fix`: exact diffs on fixture projects, in-place writes that keep
mode, encoding and line endings, unsafe fixes only on request, and never a
written file that does not compile."""

import os
import shutil
import stat
from pathlib import Path

import libcst as cst
import pytest

import rules.registry
from agent.config import Settings
from agent.fixing import fix_paths
from rules.framework import Invalid, Rule, Safety, Valid
from tests.agent.cli_support import DEMO, DEMO_RULES, FIXTURES
from tests.agent.cli_support import run_cli as run


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".kaizen_cache" not in p.parts
    }


def test_diff_shows_exactly_the_expected_diff_and_writes_nothing(demo_repo, capsys):
    before = snapshot(demo_repo)
    code, out, err = run(capsys, "fix", "--diff")
    assert code == 1
    assert out == (FIXTURES / "demo.diff").read_text()
    assert err == "Would fix 1 finding in 1 file.\n"
    assert snapshot(demo_repo) == before


def test_diff_with_unsafe_fixes_adds_the_unsafe_fix(demo_repo, capsys):
    code, out, err = run(capsys, "fix", "--diff", "--unsafe-fixes")
    assert code == 1
    assert out == (FIXTURES / "demo.unsafe.diff").read_text()
    assert err == "Would fix 2 findings in 1 file.\n"


def test_diff_without_fixes_exits_0(demo_repo, capsys):
    code, out, err = run(capsys, "fix", "--diff", "src/app/loops.py", "src/app/clean.py")
    assert (code, out, err) == (0, "", "No fixes available.\n")


def test_fix_writes_safe_fixes_reports_the_rest_then_check_has_nothing_safe_to_fix(demo_repo, capsys):
    code, out, _ = run(capsys, "fix")
    assert code == 1  # a display-only and an unsafe finding remain
    assert out.splitlines() == [
        "Fixed src/app/queue.py: KZ191",
        "src/app/loops.py:3:14: KZ193 `range(len(x))` loop",
        "src/app/queue.py:14:12: KZ192 `sorted(x)[0]` sorts to find the minimum",
        "Found 3 findings (1 fixed, 2 remaining).",
        "1 more fix available with `kaizen fix --unsafe-fixes`.",
    ]
    text = (demo_repo / "src/app/queue.py").read_text()
    assert "pending.popleft())  # the oldest first" in text
    assert "sorted(values)[0]" in text
    code, out, _ = run(capsys, "check", "--output-format", "json")
    import json

    assert [r for r in json.loads(out) if r["fixable"] and r["safety"] == "safe"] == []
    code, out, _ = run(capsys, "fix", "--diff")
    assert (code, out) == (0, "")


def test_unsafe_fixes_flag_and_config_key_apply_unsafe_fixes(demo_repo, capsys):
    code, out, _ = run(capsys, "fix", "--unsafe-fixes", "src/app/queue.py")
    assert code == 0
    assert out.splitlines()[0] == "Fixed src/app/queue.py: KZ191, KZ192"
    assert "return min(values)" in (demo_repo / "src/app/queue.py").read_text()


def test_unsafe_fixes_from_config(demo_repo, capsys):
    pyproject = demo_repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "unsafe-fixes = true\n")
    run(capsys, "fix", "src/app/queue.py")
    assert "return min(values)" in (demo_repo / "src/app/queue.py").read_text()
    # and the flag turns it off again
    (demo_repo / "src/app/queue.py").write_text("y = sorted(x)[0]\n")
    run(capsys, "fix", "--no-unsafe-fixes", "src/app/queue.py")
    assert (demo_repo / "src/app/queue.py").read_text() == "y = sorted(x)[0]\n"


def test_excluded_folder_is_not_fixed_unless_named(demo_repo, capsys):
    run(capsys, "fix")
    assert "q.pop(0)" in (demo_repo / "generated/gen.py").read_text()
    run(capsys, "fix", "generated/gen.py")
    assert "q.popleft()" in (demo_repo / "generated/gen.py").read_text()


def test_fix_keeps_mode_encoding_bom_and_line_endings(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(rules.registry, "all_rules", lambda: DEMO_RULES)
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\nversion='0'\n")
    crlf = tmp_path / "crlf.py"
    crlf.write_bytes(b"q = []\r\nq.pop(0)\r\n")
    crlf.chmod(0o754)
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbfname = '\xc3\xa9'\nq.pop(0)\n")
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"# -*- coding: latin-1 -*-\nname = '\xe9'\nq.pop(0)\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "fix", ".")
    assert code == 0, err
    assert crlf.read_bytes() == b"q = []\r\nq.popleft()\r\n"
    assert stat.S_IMODE(crlf.stat().st_mode) == 0o754
    assert bom.read_bytes() == b"\xef\xbb\xbfname = '\xc3\xa9'\nq.popleft()\n"
    assert latin.read_bytes() == b"# -*- coding: latin-1 -*-\nname = '\xe9'\nq.popleft()\n"
    leftovers = [p.name for p in tmp_path.iterdir() if "kaizen-tmp" in p.name]
    assert leftovers == []


def test_fix_rewrites_a_symlink_target_and_keeps_the_link(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(rules.registry, "all_rules", lambda: DEMO_RULES)
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\nversion='0'\n")
    (tmp_path / "real.py").write_text("q.pop(0)\n")
    os.symlink("real.py", tmp_path / "link.py")
    monkeypatch.chdir(tmp_path)
    run(capsys, "fix", "link.py")
    assert (tmp_path / "link.py").is_symlink()
    assert (tmp_path / "real.py").read_text() == "q.popleft()\n"


class BreaksCode(Rule):
    """## What it does
    x
    ## Why is this bad?
    x
    ## Example
    x
    ## Use instead
    x
    ## Fix safety
    x
    """

    code = "KZ194"
    name = "breaks-code-demo"
    message = "a fix that does not compile"
    safety = Safety.SAFE
    TRIGGERS = ("oops",)
    VALID = (Valid("x = 1\n"),)
    INVALID = (Invalid("oops()\n", None),)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "oops":
            self.report(node, replacement=cst.parse_expression("(yield)"))


def test_a_fix_that_would_not_compile_is_never_written(tmp_path):
    source = tmp_path / "bad.py"
    source.write_text("oops()\nq.pop(0)\n")
    outcome = fix_paths([tmp_path], [BreaksCode, DEMO.PopZero], root=tmp_path, settings=Settings(), jobs=1)
    assert source.read_text() == "oops()\nq.popleft()\n"
    (changed,) = outcome.changed
    assert [f.code for f in changed.rejected] == ["KZ194"]
    assert [f.code for f in outcome.remaining] == ["KZ194"]


def test_fix_in_parallel_matches_fix_in_one_process(tmp_path):
    for i in range(12):
        (tmp_path / f"m{i}.py").write_text(f"q{i} = []\nq{i}.pop(0)\nv = sorted(q{i})[0]\n")
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    for folder in (serial, parallel):
        folder.mkdir()
        for i in range(12):
            shutil.copy(tmp_path / f"m{i}.py", folder)
    one = fix_paths([serial], DEMO_RULES, root=serial, settings=Settings(), unsafe_fixes=True, jobs=1, use_cache=False)
    two = fix_paths([parallel], DEMO_RULES, root=parallel, settings=Settings(), unsafe_fixes=True, jobs=2, use_cache=False)
    assert snapshot(serial) == snapshot(parallel)
    assert len(one.applied) == len(two.applied) == 24
    assert (serial / "m3.py").read_text() == "q3 = []\nq3.popleft()\nv = min(q3)\n"


@pytest.fixture
def mltrain_repo(tmp_path, monkeypatch):
    """tests/fixtures/repos/mltrain, checked with the real catalogue."""
    repo = tmp_path / "mltrain"
    shutil.copytree(FIXTURES / "mltrain", repo)
    monkeypatch.chdir(repo)
    return repo


def test_real_rules_diff_on_the_mltrain_fixture(mltrain_repo, capsys):
    """iterrows comprehension, list.pop(0) queue and torch.cat in a loop, as
    the real rules rewrite them today; update mltrain.diff when a rule's
    output changes on purpose."""
    before = snapshot(mltrain_repo)
    code, out, err = run(capsys, "fix", "--diff", "--no-cache")
    assert code == 1
    assert out == (FIXTURES / "mltrain.diff").read_text()
    assert err == "Would fix 3 findings in 3 files.\n"
    assert snapshot(mltrain_repo) == before


def test_real_rules_after_fix_check_finds_nothing_safe_to_fix(mltrain_repo, capsys):
    import json

    run(capsys, "fix")
    for path in mltrain_repo.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")
    code, out, _ = run(capsys, "check", "--output-format", "json")
    left = json.loads(out)
    assert [r for r in left if r["fixable"] and r["safety"] == "safe"] == []
    assert {r["code"] for r in left} <= {"KZ201", "KZ405"}  # the unsafe variant and a display-only one
    code, out, _ = run(capsys, "fix", "--diff")
    assert (code, out) == (0, "")

"""The session's pure parts: gate thresholds, smoke tolerance, per-test
comparison, planning order, redaction, state; and the command line."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import Settings
from agent.environment import redact, sensitive_values
from agent.gates import (
    GateContext,
    SmokeRun,
    TestRun,
    required_speedup,
    verify_benchmark,
    verify_compiles,
    verify_ruff,
    verify_smoke,
    verify_tests,
)
from agent.lock import LockBusy, SessionLock
from agent.plan import recorded_speedups
from agent.state import SessionState
from tests.agent.session.conftest import make_repo, write


def pattern(speedup, after_s=1e-3, before_spread=0.01, after_spread=0.01):
    return {"speedup": speedup, "after_s": after_s, "before_s": after_s * speedup, "size": "n",
            "repeats": 5, "before_spread": before_spread, "after_spread": after_spread}


def test_benchmark_needs_more_than_min_speedup_and_more_than_the_noise():
    settings = Settings()
    assert verify_benchmark(pattern(1.06), settings).status == "passed"
    assert verify_benchmark(pattern(1.04), settings).status == "failed"
    noisy = pattern(1.3, before_spread=0.2, after_spread=0.2)
    assert required_speedup(settings, noisy) == pytest.approx(1.4)
    assert verify_benchmark(noisy, settings).status == "failed"


def test_benchmark_of_a_tiny_snippet_needs_ten_percent():
    assert verify_benchmark(pattern(1.08, after_s=2e-6), Settings()).status == "failed"
    assert verify_benchmark(pattern(1.12, after_s=2e-6), Settings()).status == "passed"
    assert verify_benchmark({"error": "no benchmark"}, Settings()).status == "failed"


def _ctx(tmp_path: Path, script: str, **settings) -> GateContext:
    (tmp_path / "smoke.py").write_text(script)
    config = Settings(smoke_command=("{python}", "smoke.py"), **settings)
    import sys

    return GateContext(tmp_path, sys.executable, config, tmp_path)


def test_smoke_tolerance_gates_quality_metrics_but_not_speed(tmp_path: Path):
    baseline = SmokeRun([], True, 1.0, {"loss": 1.0, "samples_per_s": 100.0, "epoch_s": 3.0})
    ok = _ctx(tmp_path, 'print(\'{"loss": 1.04, "samples_per_s": 5.0, "epoch_s": 90.0}\')\n')
    assert verify_smoke(ok, baseline)[0].status == "passed"
    drifted = _ctx(tmp_path, 'print(\'{"loss": 1.2, "samples_per_s": 100.0, "epoch_s": 3.0}\')\n')
    gate, _ = verify_smoke(drifted, baseline)
    assert gate.status == "failed" and "loss moved from 1 to 1.2" in gate.detail
    missing = _ctx(tmp_path, 'print(\'{"samples_per_s": 100.0}\')\n')
    assert "no longer reports loss" in verify_smoke(missing, baseline)[0].detail
    not_json = _ctx(tmp_path, 'print("done")\n')
    assert "not a JSON object" in verify_smoke(not_json, baseline)[0].detail


def test_smoke_gate_is_skipped_when_the_baseline_already_failed(tmp_path: Path):
    ctx = _ctx(tmp_path, "raise SystemExit(3)\n")
    gate, _ = verify_smoke(ctx, SmokeRun([], False, 0.1, failure="`python` exited with status 3"))
    assert gate.status == "skipped" and "already failed at baseline" in gate.detail


def test_non_pytest_test_command_compares_exit_status(tmp_path: Path):
    import sys

    (tmp_path / "check.py").write_text("raise SystemExit(1)\n")
    settings = Settings(test_command=("{python}", "check.py"))
    ctx = GateContext(tmp_path, sys.executable, settings, tmp_path)
    passing = TestRun(["check"], True, 0, 0.1)
    gate, run = verify_tests(ctx, passing)
    assert gate.status == "failed" and run.per_test is False
    failing = TestRun(["check"], False, 1, 0.1, failure="`python` exited with status 1")
    assert verify_tests(ctx, failing)[0].status == "skipped"


def test_compile_gate_reports_a_new_syntax_error_but_not_an_old_one(tmp_path: Path):
    import sys

    write(tmp_path, {"good.py": "x = 1\n", "bad.py": "def (:\n", "old.py": "class\n"})
    ctx = GateContext(tmp_path, sys.executable, Settings(), tmp_path)
    gate = verify_compiles(ctx, ["good.py", "bad.py", "old.py"], ["old.py: line 1: SyntaxError"])
    assert gate.status == "failed" and gate.detail.startswith("bad.py: line 1")
    assert verify_compiles(ctx, ["good.py", "old.py"], ["old.py: line 1: x"]).status == "passed"


def test_ruff_gate_fails_on_a_new_diagnostic_only(tmp_path: Path):
    import sys

    from agent.environment import ruff_executable

    write(tmp_path, {"m.py": "import os\n"})
    ctx = GateContext(tmp_path, sys.executable, Settings(), tmp_path, ruff_executable())
    gate, counts = verify_ruff(ctx, ["m.py"], Counter({("m.py", "F401"): 1}))
    assert gate.status == "passed" and counts[("m.py", "F401")] == 1
    gate, _ = verify_ruff(ctx, ["m.py"], Counter())
    assert gate.status == "failed" and "F401 went from 0 to 1" in gate.detail


def test_redaction_replaces_secret_values_everywhere():
    secrets = sensitive_values({"API_TOKEN": "abcdef123", "HOME": "/root", "MY_SECRET": "xy"})
    assert secrets == ["abcdef123"]
    data = {"a": ["token abcdef123 here"], "abcdef123": 1.5}
    assert redact(data, secrets) == {"a": ["token [redacted] here"], "[redacted]": 1.5}


def test_recorded_speedups_accepts_the_documented_shapes(tmp_path: Path):
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps({"rules": {"KZ201": {"speedup": 28.1}, "KZ101": 3}}))
    assert recorded_speedups(path) == {"KZ201": 28.1, "KZ101": 3.0}
    path.write_text("not json")
    assert recorded_speedups(path) == {}


def test_state_round_trips_and_tolerates_damage(tmp_path: Path):
    path = tmp_path / "kaizen" / "state.json"
    state = SessionState({"abc": {"status": "completed"}}, {"k": {"gate": "tests"}})
    state.save(path)
    assert SessionState.load(path) == state
    path.write_text("{broken")
    assert SessionState.load(path) == SessionState()


def test_lock_is_exclusive_and_released(tmp_path: Path):
    path = tmp_path / "session.lock"
    with SessionLock(path), pytest.raises(LockBusy):
        SessionLock(path).acquire()
    with SessionLock(path):
        pass


def test_cli_refuses_a_folder_that_is_not_a_repository(tmp_path: Path, capsys):
    assert main(["session", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a git repository" in err


def test_cli_rejects_a_bad_budget(tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["session", str(tmp_path), "--budget", "soon"])
    assert caught.value.code == 2
    assert "cannot read duration" in capsys.readouterr().err


def test_cli_reports_a_lock_held_by_another_session(tmp_path: Path, capsys):
    root = tmp_path / "p"
    make_repo(root)
    with SessionLock(root / ".git" / "kaizen" / "session.lock"):
        assert main(["session", str(root), "--json"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kaizen: another kaizen session is already running")
    assert "Traceback" not in err


def test_cli_json_summary_on_a_repository_without_findings(tmp_path: Path, capsys):
    root = tmp_path / "p"
    make_repo(root, {"lib.py": "def first(values):\n    return min(values)\n"}, smoke=False)
    assert main(["session", str(root), "--json", "--select", "KZ"]) == 0
    summary = json.loads(capsys.readouterr().out)
    for key in ("repo", "branch", "commits", "reverted", "report", "status"):
        assert key in summary
    assert summary["status"] == "nothing-to-do" and summary["branch"] is None

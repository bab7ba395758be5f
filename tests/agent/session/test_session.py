"""End-to-end sessions on tiny real git repositories."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest

from agent.errors import UserError
from agent.git import GitRepo
from agent.lock import SessionLock
from agent.session import SessionOptions, run_session
from tests.agent.session.conftest import (
    LIB,
    ROOT,
    SMOKE,
    TEST_EMPTY,
    TEST_RULES,
    kaizen_branches,
    make_repo,
    snapshot,
    write,
)


def session(root: Path, **options) -> dict:
    return run_session(root, SessionOptions(**options), rules=TEST_RULES)


def branch_file(root: Path, branch: str, path: str) -> str:
    return git.Repo(root).git.show(f"{branch}:{path}")


def record_of(root: Path, summary: dict) -> dict:
    if summary["branch"]:
        return json.loads(branch_file(root, summary["branch"], summary["record"]))
    return json.loads(Path(summary["record"]).read_text())


def test_session_commits_a_verified_change_and_leaves_a_dirty_checkout_alone(project: Path):
    (project / "lib.py").write_text(LIB + "# work in progress\n")  # tracked, modified
    (project / "notes.txt").write_text("untracked\n")
    git.Repo(project).git.add("notes.txt")  # staged
    (project / "scratch.py").write_text("x = sorted([2, 1])[0]\n")  # untracked with the pattern
    before = snapshot(project)

    summary = session(project)

    assert snapshot(project) == before
    assert summary["status"] == "completed"
    assert summary["branch"].startswith("kaizen/")
    assert kaizen_branches(project) == [summary["branch"]]
    (commit,) = summary["commits"]
    assert commit["rule"] == "KZ198" and commit["files"] == ["lib.py"]
    assert branch_file(project, summary["branch"], "lib.py") == "def first(values):\n    return min(values)"
    # The report and its record are the last commit on the branch.
    repo = git.Repo(project)
    tip = repo.commit(summary["branch"])
    assert sorted(tip.stats.files) == sorted([summary["report"], summary["record"]])
    assert tip.parents[0].hexsha == commit["sha"]
    assert tip.parents[0].parents[0].hexsha == before["head"]
    assert repo.commit(commit["sha"]).author.name == "kaizen"
    report = branch_file(project, summary["branch"], summary["report"])
    assert "KZ198" in report
    # No worktree is left registered, and the lock is free again.
    assert len(repo.git.worktree("list").splitlines()) == 1
    with SessionLock(project / ".git" / "kaizen" / "session.lock"):
        pass


def test_commit_message_names_rule_files_and_measured_figures(project: Path):
    summary = session(project)
    (commit,) = summary["commits"]
    message = git.Repo(project).commit(commit["sha"]).message
    pattern = commit["measured"]["pattern"]
    assert message.startswith("KZ198 sorted-first: lib.py")
    assert "2,000 floats" in message and "median of 3" in message
    assert f"{pattern['speedup']:.2f}x" in message
    assert f"kaizen rule KZ198 --bench --python {sys.executable}" in message
    assert "smoke samples_per_s: 1000 -> 1000" in message
    assert "test command:" in message
    assert commit["measured"]["smoke"]["before"]["loss"] == 0.25
    assert commit["measured"]["tests"]["before_s"] > 0


def test_detached_head_is_used_as_base_and_stays_detached(project: Path):
    repo = git.Repo(project)
    repo.git.checkout("--detach")
    before = snapshot(project)
    summary = session(project)
    assert snapshot(project) == before
    assert git.Repo(project).head.is_detached
    assert summary["base"]["sha"] == before["head"]
    assert len(summary["commits"]) == 1


def test_unborn_repository_is_refused(tmp_path: Path):
    git.Repo.init(tmp_path / "empty")
    with pytest.raises(UserError, match="has no commits yet") as caught:
        session(tmp_path / "empty")
    assert caught.value.exit_code == 1


def test_merge_in_progress_is_refused_and_untouched(project: Path):
    repo = git.Repo(project)
    repo.git.checkout("-b", "other")
    write(project, {"lib.py": "def first(values):\n    return sorted(values)[-1]\n"})
    repo.git.commit("-am", "other")
    repo.git.checkout("main")
    write(project, {"lib.py": "def first(values):\n    return sorted(values)[1]\n"})
    repo.git.commit("-am", "main")
    with pytest.raises(git.GitCommandError):
        repo.git.merge("other")
    before = snapshot(project)
    with pytest.raises(UserError, match="in the middle of a merge"):
        session(project)
    assert snapshot(project) == before


def test_no_smoke_command_skips_the_gate_and_says_so(tmp_path: Path):
    root = tmp_path / "p"
    make_repo(root, smoke=False)
    summary = session(root)
    (commit,) = summary["commits"]
    record = record_of(root, summary)
    smoke_gate = next(g for g in record["commits"][0]["gates"] if g["name"] == "smoke")
    assert smoke_gate["status"] == "skipped"
    assert "no smoke command" in smoke_gate["detail"]
    assert record["baseline"]["smoke"] is None
    assert "smoke" not in commit["measured"]


SMOKE_CRASHES_AFTER = """\
import json
from lib import first
try:
    value = first([])
except IndexError:  # the behaviour before the change
    value = 0.5
print(json.dumps({"loss": value, "samples_per_s": 10.0}))
"""

SMOKE_NAN_AFTER = """\
import json
from lib import first
try:
    value = first([])
except IndexError:
    value = 0.5
except ValueError:
    value = float("nan")
print(json.dumps({"loss": value, "samples_per_s": 10.0}))
"""


@pytest.mark.parametrize(
    ("smoke", "expected"),
    [(SMOKE_CRASHES_AFTER, "exited with status 1"), (SMOKE_NAN_AFTER, "non-finite loss")],
    ids=["crash", "nan"],
)
def test_smoke_failure_after_the_change_reverts_it(tmp_path: Path, smoke: str, expected: str):
    root = tmp_path / "p"
    make_repo(root, {"smoke.py": smoke})
    summary = session(root)
    assert summary["commits"] == []
    (reverted,) = summary["reverted"]
    assert reverted["gate"] == "smoke"
    assert expected in reverted["reason"]
    assert summary["branch"] is None and kaizen_branches(root) == []
    record = record_of(root, summary)
    assert record["status"] == "completed"
    assert record["reverted"][0]["diff"].startswith("diff --git")


def test_a_test_failing_only_after_the_change_reverts_it_and_is_not_retried(tmp_path: Path):
    root = tmp_path / "p"
    # test_old fails at baseline already: it must not be blamed on the change.
    make_repo(root, {"tests/test_empty.py": TEST_EMPTY,
                     "tests/test_old.py": "def test_old():\n    assert False\n"}, smoke=False)
    summary = session(root)
    (reverted,) = summary["reverted"]
    assert reverted["gate"] == "tests"
    assert "test_empty_raises_index_error failed after the change" in reverted["reason"]
    assert "test_old" not in reverted["reason"]
    record = record_of(root, summary)
    assert record["baseline"]["tests"]["failed"] == ["tests.test_old::test_old"]

    # A new commit elsewhere: a new base, but lib.py is unchanged, so no retry.
    write(root, {"README.md": "hello\n"})
    repo = git.Repo(root)
    repo.git.add("README.md")
    repo.git.commit("-m", "docs")
    again = session(root)
    assert again["reverted"] == [] and again["commits"] == []
    skipped = record_of(root, again)["skipped"]
    assert [s["reason"].startswith("reverted earlier (tests:") for s in skipped] == [True]

    # Once the code changes, the group is tried again.
    write(root, {"lib.py": LIB + "\n\nVERSION = 2\n"})
    repo.git.commit("-am", "lib changed")
    third = session(root)
    assert [r["gate"] for r in third["reverted"]] == ["tests"]


def test_a_fix_that_does_not_compile_is_reverted_at_the_compile_gate(tmp_path: Path):
    root = tmp_path / "p"
    # At module level `(yield)` is a SyntaxError.
    make_repo(root, {"tool.py": "break_me()\n"}, smoke=False)
    before = (root / "tool.py").read_bytes()
    summary = run_session(root, SessionOptions(unsafe_fixes=True), rules=TEST_RULES)
    broken = [r for r in summary["reverted"] if r["rule"] == "KZ197"]
    assert [r["gate"] for r in broken] == ["compiles"]
    assert "would not compile" in broken[0]["reason"]
    assert [c["rule"] for c in summary["commits"]] == ["KZ198"]
    assert branch_file(root, summary["branch"], "tool.py").encode() + b"\n" == before


def test_unsafe_fixes_are_skipped_unless_enabled(tmp_path: Path):
    root = tmp_path / "p"
    make_repo(root, {"tool.py": "def run():\n    break_me()\n"}, smoke=False)
    summary = session(root)
    record = record_of(root, summary)
    assert any(s["rule"] == "KZ197" and "unsafe fix not enabled" in s["reason"] for s in record["skipped"])


def test_second_session_on_the_same_base_has_nothing_to_do(project: Path):
    first = session(project)
    assert first["branch"]
    second = session(project)
    assert second["status"] == "nothing-to-do"
    assert second["branch"] is None and second["commits"] == []
    assert "already processed" in second["stop_reason"]
    assert kaizen_branches(project) == [first["branch"]]


def test_a_repository_without_findings_has_nothing_to_do_and_gets_no_branch(tmp_path: Path):
    root = tmp_path / "p"
    make_repo(root, {"lib.py": "def first(values):\n    return min(values)\n"})
    summary = session(root)
    assert summary["status"] == "nothing-to-do" and summary["branch"] is None
    assert kaizen_branches(root) == []


def test_dry_run_commits_nothing_and_writes_the_report_to_a_temp_path(project: Path):
    before = snapshot(project)
    summary = session(project, dry_run=True)
    assert snapshot(project) == before
    assert kaizen_branches(project) == []
    assert summary["branch"] is None and summary["dry_run"] is True
    (commit,) = summary["commits"]
    assert commit["sha"] is None and commit["measured"]["pattern"]["speedup"] > 1
    report = Path(summary["report"])
    assert report.is_file() and not report.is_relative_to(project)
    assert "KZ198" in report.read_text()
    # A dry run does not count as processing the base.
    assert session(project)["branch"]


SLOW_SMOKE = SMOKE.replace("import json\n", "import json\nimport time\ntime.sleep(1.5)\n", 1)


def test_budget_running_out_stops_cleanly_and_says_so(tmp_path: Path):
    # The baseline's smoke run alone outlasts the budget, whatever the machine.
    project = tmp_path / "project"
    make_repo(project, {"smoke.py": SLOW_SMOKE})
    summary = session(project, budget=0.5)
    assert summary["status"] == "budget-exhausted"
    assert "budget" in summary["stop_reason"]
    assert summary["commits"] == [] and summary["branch"] is None
    record = record_of(project, summary)
    assert [s["reason"] for s in record["skipped"]] == ["budget ran out"]
    # An unfinished session does not mark the base as processed.
    assert session(project)["status"] == "completed"


def test_max_commits_stops_after_the_limit(tmp_path: Path):
    root = tmp_path / "p"
    make_repo(root, {"other.py": "def last(values):\n    return sorted(values)[0]\n"})
    summary = session(root, max_commits=1)
    assert len(summary["commits"]) == 1
    assert summary["status"] == "max-commits"


def test_a_second_session_at_the_same_time_is_refused(project: Path):
    lock = SessionLock(project / ".git" / "kaizen" / "session.lock")
    lock.acquire()
    try:
        with pytest.raises(UserError, match="another kaizen session is already running") as caught:
            session(project)
        assert caught.value.exit_code == 1
    finally:
        lock.release()
    assert kaizen_branches(project) == []


def test_a_symlink_pointing_outside_is_neither_followed_nor_modified(tmp_path: Path):
    outside = tmp_path / "outside.py"
    outside.write_text("def secret_first(values):\n    return sorted(values)[0]\n")
    root = tmp_path / "p"
    repo = make_repo(root)
    (root / "linked.py").symlink_to(outside)
    (root / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    repo.git.add("linked.py", "linked_dir")
    repo.git.commit("-m", "links")
    before = outside.read_bytes()
    summary = session(root)
    assert outside.read_bytes() == before
    assert [c["files"] for c in summary["commits"]] == [["lib.py"]]
    record = record_of(root, summary)
    assert all("linked" not in s["path"] for s in record["skipped"])
    assert record["findings"]["total"] == 1


def test_a_secret_in_the_environment_never_reaches_the_record_or_report(tmp_path: Path, monkeypatch):
    secret = "s3cr3t-value-4711"
    monkeypatch.setenv("KAIZEN_TEST_SECRET", secret)
    root = tmp_path / "p"
    smoke = (
        "import json, os, sys\nfrom lib import first\n"
        "print(os.environ['KAIZEN_TEST_SECRET'], file=sys.stderr)\n"
        "print(json.dumps({'loss': first([1.0]), 'run': os.environ['KAIZEN_TEST_SECRET']}))\n"
    )
    make_repo(root, {"smoke.py": smoke})
    summary = session(root)
    assert summary["branch"]
    record_text = branch_file(root, summary["branch"], summary["record"])
    report_text = branch_file(root, summary["branch"], summary["report"])
    log = git.Repo(root).git.log(summary["branch"], "--format=%B")
    for text in (record_text, report_text, json.dumps(summary), log):
        assert secret not in text
    assert "[redacted]" in record_text


KILLABLE_TEST = """\
import os
import time


def test_slow_in_the_gate():
    marker = os.environ.get("KAIZEN_TEST_MARKER")
    if not marker:
        return
    with open(marker, "a") as handle:
        handle.write(f"{os.getpid()}\\n")
    with open(marker) as handle:
        runs = len(handle.read().splitlines())
    if runs >= 2:  # the first run is the baseline; the second is the tests gate
        time.sleep(60)
"""

LAUNCH = """\
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from agent.session import SessionOptions, run_session
from tests.agent.session.conftest import TEST_RULES
run_session(Path({repo!r}), SessionOptions(), rules=TEST_RULES)
"""


def start_session_in_tests_gate(tmp_path: Path) -> tuple[Path, dict, subprocess.Popen, Path]:
    """A session in a subprocess, returned once its tests gate is running (a
    test there sleeps): the repository, its snapshot, the process, the marker
    file listing the test runs' pids."""
    root = tmp_path / "p"
    make_repo(root, {"tests/test_slow.py": KILLABLE_TEST}, smoke=False)
    (root / "dirty.txt").write_text("mine\n")
    before = snapshot(root)
    marker = tmp_path / "marker"
    env = {**os.environ, "KAIZEN_TEST_MARKER": str(marker)}
    process = subprocess.Popen([sys.executable, "-c", LAUNCH.format(root=str(ROOT), repo=str(root))],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if marker.exists() and len(marker.read_text().splitlines()) >= 2:
            return root, before, process, marker
        time.sleep(0.05)
    process.kill()
    pytest.fail("the session never reached the tests gate")


def test_a_killed_session_leaves_the_repository_untouched_and_the_next_one_cleans_up(tmp_path: Path):
    root, before, process, marker = start_session_in_tests_gate(tmp_path)
    process.send_signal(signal.SIGKILL)
    process.wait()
    # The test run it started sleeps on in its own process group: stop it too.
    gate_pid = int(marker.read_text().splitlines()[-1])
    try:
        os.killpg(gate_pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

    assert snapshot(root) == before
    assert kaizen_branches(root) == []
    stale = list((root / ".git" / "kaizen" / "worktrees").iterdir())
    assert len(stale) == 1

    summary = session(root)
    assert summary["status"] == "completed" and summary["branch"]
    assert not stale[0].exists()
    assert len(GitRepo(root).repo.git.worktree("list").splitlines()) == 1
    assert snapshot(root)["files"] == before["files"]


QUEUE_LIB = """\
def drain(items):
    queue = list(items)
    out = []
    while queue:
        out.append(queue.pop(0))
    return out
"""

QUEUE_TESTS = """\
from lib import drain


def test_drain_keeps_order():
    assert drain([3, 1, 2]) == [3, 1, 2]
"""


def test_a_catalogue_rule_runs_through_every_gate(tmp_path: Path):
    # The real KZ101 rule, its own equivalence inputs and benchmark, in this
    # environment as the target's.
    root = tmp_path / "p"
    # ruff 0.17's default rule set includes import sorting (I001), which the
    # fix's added import trips in a file without imports; pin the classic set.
    ruff = '[tool.ruff.lint]\nselect = ["E4", "E7", "E9", "F"]\n'
    make_repo(root, {"lib.py": QUEUE_LIB, "tests/test_lib.py": QUEUE_TESTS}, smoke=False,
              extra_config=ruff)
    summary = run_session(root, SessionOptions(select=("KZ101",)))
    (commit,) = summary["commits"]
    assert commit["rule"] == "KZ101"
    assert "popleft()" in branch_file(root, summary["branch"], "lib.py")
    gates = {g["name"]: g["status"] for g in record_of(root, summary)["commits"][0]["gates"]}
    assert gates == {"compiles": "passed", "ruff": "passed", "equivalence": "passed",
                     "tests": "passed", "smoke": "skipped", "benchmark": "passed"}


def test_nothing_to_try_skips_the_test_and_smoke_runs(tmp_path: Path):
    root = tmp_path / "clean"
    # The smoke script would leave a marker if it ran; nothing here is fixable.
    marker = tmp_path / "smoke-ran"
    make_repo(root, {
        "lib.py": "def first(values):\n    return min(values)\n",
        "smoke.py": f"from pathlib import Path\nPath({str(marker)!r}).touch()\nprint('{{}}')\n",
    })
    summary = session(root)
    assert summary["status"] == "nothing-to-do" and summary["branch"] is None
    record = record_of(root, summary)
    assert record["baseline"]["tests"] is None and record["baseline"]["smoke"] is None
    assert record["baseline"]["commands_skipped"] == "no fixable findings to try"
    assert not marker.exists()


def test_report_says_the_smoke_run_was_skipped_not_missing(tmp_path: Path):
    from reports.session import render_markdown

    root = tmp_path / "clean"
    make_repo(root, {"lib.py": "def first(values):\n    return min(values)\n"})
    summary = session(root)
    report = render_markdown(record_of(root, summary))
    smoke_section = report.split("## Smoke run", 1)[1].split("## ", 1)[0]
    assert "Not run: no fixable findings to try." in smoke_section
    assert "No smoke command is configured" not in smoke_section


def test_a_terminated_session_cleans_up_after_itself(tmp_path: Path):
    # SIGTERM (a scheduler's stop) unwinds the session: the test run it started
    # is killed, the worktree removed and the lock released before it exits.
    root, before, process, marker = start_session_in_tests_gate(tmp_path)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) != 0
    gate_pid = int(marker.read_text().splitlines()[-1])
    with pytest.raises(ProcessLookupError):
        os.killpg(gate_pid, 0)  # the tests gate's process group is gone
    assert snapshot(root) == before
    assert kaizen_branches(root) == []
    assert list((root / ".git" / "kaizen" / "worktrees").iterdir()) == []
    assert len(GitRepo(root).repo.git.worktree("list").splitlines()) == 1
    lock = SessionLock(root / ".git" / "kaizen" / "session.lock")
    lock.acquire()  # released: a new session could start at once
    lock.release()


def test_push_sends_only_the_session_branch_to_the_remote(project: Path, tmp_path: Path):
    remote = tmp_path / "remote.git"
    git.Repo.init(remote, bare=True)
    git.Repo(project).create_remote("origin", str(remote))
    summary = session(project, push="origin")
    assert summary["branch"]
    pushed = git.Repo(remote).git.for_each_ref("--format=%(refname)").split()
    assert pushed == [f"refs/heads/{summary['branch']}"]
    assert git.Repo(remote).commit(summary["branch"]).hexsha == git.Repo(project).commit(
        summary["branch"]).hexsha


def test_without_push_nothing_reaches_the_remote(project: Path, tmp_path: Path):
    remote = tmp_path / "remote.git"
    git.Repo.init(remote, bare=True)
    git.Repo(project).create_remote("origin", str(remote))
    assert session(project)["branch"]
    assert git.Repo(remote).git.for_each_ref("--format=%(refname)") == ""

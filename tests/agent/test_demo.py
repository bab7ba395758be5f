"""The demo project: a clean git repository whose tests pass and on which the
rules fire; and a session on it that commits, reports and leaves `main` alone."""

import json
import subprocess
import sys

import pytest

from agent.cli import main
from agent.demo import BRANCH, build_project, project_files, run_demo

EXPECTED_CODES = {"KZ102", "KZ201", "KZ202", "KZ401", "KZ402", "KZ406"}


def _git(repo, *args) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "marketlab"
    build_project(path)
    return path


def test_project_is_a_clean_git_repository_on_main(project):
    assert _git(project, "rev-parse", "--abbrev-ref", "HEAD").strip() == BRANCH
    assert _git(project, "status", "--porcelain") == ""
    assert len(_git(project, "rev-list", "HEAD").split()) == 1
    tracked = set(_git(project, "ls-files").split())
    assert tracked == {str(p) for p in project_files()}
    assert {"smoke.py", "marketlab/prep.py", "marketlab/dataset.py", "marketlab/train.py",
            "tests/test_train.py", "pyproject.toml"} <= tracked


def test_kaizen_check_finds_the_demo_patterns(project, capsys):
    assert main(["check", str(project), "--no-cache", "--output-format", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)
    codes = {f["code"] for f in findings}
    assert EXPECTED_CODES <= codes
    by_file = {(f["code"], f["path"].rsplit("/", 2)[-1]) for f in findings}
    assert {("KZ102", "dataset.py"), ("KZ201", "prep.py"), ("KZ202", "prep.py"),
            ("KZ401", "train.py"), ("KZ402", "train.py"), ("KZ406", "train.py")} <= by_file


def test_project_tests_pass_and_leave_the_tree_clean(project):
    done = subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=project,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "12 passed" in done.stdout
    assert _git(project, "status", "--porcelain") == ""


def test_smoke_run_prints_one_json_line_of_metrics(project):
    done = subprocess.run([sys.executable, "smoke.py"], cwd=project, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(metrics) == {"loss", "rank_ic", "mean_score", "samples_per_s", "wall_s"}
    assert metrics["loss"] > 0 and -1 <= metrics["rank_ic"] <= 1
    assert metrics["samples_per_s"] > 0


def test_demo_refuses_a_non_empty_path_in_one_sentence(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    assert main(["demo", "--path", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"kaizen: {tmp_path} exists and is not an empty folder; pick a new --path.\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_demo_session_commits_a_verified_change_and_its_report(tmp_path):
    # One rule keeps this to one group (about a minute on two cores); the
    # full `kaizen demo` runs every rule the same way.
    path = tmp_path / "marketlab"
    summary = run_demo(path, select=("KZ102",), budget=300)
    assert summary["status"] == "completed", summary.get("stop_reason")
    (commit,) = summary["commits"]
    assert commit["rule"] == "KZ102" and commit["files"] == ["marketlab/dataset.py"]
    assert commit["measured"]["pattern"]["speedup"] > 1
    branch = summary["branch"]
    assert _git(path, "log", "--format=%s", f"{BRANCH}..{branch}").splitlines() == [
        f"kaizen session report {summary['report'].rsplit('/', 1)[-1].removesuffix('.md')}",
        "KZ102 fifo-cache-key-list: marketlab/dataset.py",
    ]
    report = _git(path, "show", f"{branch}:{summary['report']}")
    assert "### 1. KZ102 fifo-cache-key-list" in report
    assert "| tests | passed |" in report
    # The user's branch and working tree are as they were.
    assert _git(path, "rev-parse", "--abbrev-ref", "HEAD").strip() == BRANCH
    assert len(_git(path, "rev-list", BRANCH).split()) == 1
    assert _git(path, "status", "--porcelain") == ""
    assert "OrderedDict" in _git(path, "show", f"{branch}:marketlab/dataset.py")

"""`kaizen check`: text, JSON and SARIF output, exit codes, --select/--ignore,
config and ruff advisories, on the demo fixture project with three small rules."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import main
from rules.framework import Safety
from tests.agent.cli_support import DEMO_RULES
from tests.agent.cli_support import run_cli as run


def test_text_output_lists_findings_ruff_style_and_exits_1(demo_repo, capsys):
    code, out, err = run(capsys, "check")
    assert code == 1
    assert err == ""
    assert out.splitlines() == [
        "src/app/loops.py:3:14: KZ193 `range(len(x))` loop",
        "src/app/queue.py:9:21: KZ191 [*] `pop(0)` on a list is O(n)",
        "src/app/queue.py:14:12: KZ192 `sorted(x)[0]` sorts to find the minimum",
        "Found 3 findings in 4 files.",
        "[*] 1 fixable with `kaizen fix` (1 more with `kaizen fix --unsafe-fixes`).",
    ]


def test_unsafe_fixes_flag_marks_unsafe_fixes_as_applicable(demo_repo, capsys):
    _, out, _ = run(capsys, "check", "--unsafe-fixes")
    assert "src/app/queue.py:14:12: KZ192 [*] `sorted(x)[0]`" in out
    assert "[*] 2 fixable with `kaizen fix --unsafe-fixes`." in out


def test_no_findings_exit_0(demo_repo, capsys):
    code, out, _ = run(capsys, "check", "src/app/clean.py")
    assert code == 0
    assert out == "No findings in 1 file.\n"


def test_json_output_shape(demo_repo, capsys):
    code, out, _ = run(capsys, "check", "--output-format", "json")
    assert code == 1
    records = json.loads(out)
    assert [r["code"] for r in records] == ["KZ193", "KZ191", "KZ192"]
    pop = records[1]
    assert pop == {
        "code": "KZ191",
        "name": "pop-zero-demo",
        "path": "src/app/queue.py",
        "line": 9,
        "column": 21,
        "end_line": 9,
        "end_column": 35,
        "message": "`pop(0)` on a list is O(n)",
        "safety": "safe",
        "fixable": True,
        "source": "kaizen",
    }
    assert records[0]["safety"] == "display-only" and records[0]["fixable"] is False


def test_json_output_with_no_findings_is_an_empty_array(demo_repo, capsys):
    code, out, _ = run(capsys, "check", "--output-format", "json", "src/app/clean.py")
    assert (code, json.loads(out)) == (0, [])


def test_sarif_output_structure(demo_repo, capsys):
    code, out, _ = run(capsys, "check", "--output-format", "sarif")
    assert code == 1
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    assert "sarif" in sarif["$schema"]
    (kaizen_run,) = sarif["runs"]
    driver = kaizen_run["tool"]["driver"]
    assert driver["name"] == "kaizen"
    assert [r["id"] for r in driver["rules"]] == ["KZ191", "KZ192", "KZ193"]
    ids = {r["id"] for r in driver["rules"]}
    results = kaizen_run["results"]
    assert len(results) == 3
    for result in results:
        assert result["ruleId"] in ids
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in {"warning", "note"}
        assert result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"].startswith("src/app/")
        region = physical["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert region["endLine"] >= region["startLine"]
    pop = next(r for r in results if r["ruleId"] == "KZ191")
    assert pop["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 9, "startColumn": 21, "endLine": 9, "endColumn": 35,
    }


@pytest.mark.parametrize(
    ("flags", "codes"),
    [
        (["--select", "KZ191"], {"KZ191"}),
        (["--select", "KZ191,KZ193"], {"KZ191", "KZ193"}),
        (["--select", "KZ191", "--select", "range-len-demo"], {"KZ191", "KZ193"}),
        (["--select", "KZ19"], {"KZ191", "KZ192", "KZ193"}),
        (["--ignore", "KZ192"], {"KZ191", "KZ193"}),
        (["--select", "KZ1", "--ignore", "sorted-first-demo,KZ193"], {"KZ191"}),
    ],
)
def test_select_and_ignore_by_code_prefix_or_name(demo_repo, capsys, flags, codes):
    _, out, _ = run(capsys, "check", "--output-format", "json", *flags)
    assert {r["code"] for r in json.loads(out)} == codes


def test_unknown_selector_is_a_usage_error_naming_it(demo_repo, capsys):
    code, out, err = run(capsys, "check", "--select", "KZ191,KZ999")
    assert code == 2
    assert out == ""
    assert "KZ999" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_flag_is_a_usage_error(demo_repo, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", "--frobnicate"])
    assert exc.value.code == 2
    assert "--frobnicate" in capsys.readouterr().err


def test_paths_are_shown_relative_to_the_current_folder(demo_repo, capsys, monkeypatch):
    monkeypatch.chdir(demo_repo / "src")
    _, out, _ = run(capsys, "check", "app/queue.py")
    assert out.splitlines()[0] == "app/queue.py:9:21: KZ191 [*] `pop(0)` on a list is O(n)"


def test_config_select_applies_and_flags_override_it(demo_repo, capsys):
    pyproject = demo_repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'select = ["KZ193"]\n')
    _, out, _ = run(capsys, "check", "--output-format", "json")
    assert {r["code"] for r in json.loads(out)} == {"KZ193"}
    _, out, _ = run(capsys, "check", "--output-format", "json", "--select", "KZ191")
    assert {r["code"] for r in json.loads(out)} == {"KZ191"}


def test_unknown_selector_in_config_is_a_config_error(demo_repo, capsys):
    pyproject = demo_repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'ignore = ["KZ777"]\n')
    code, _, err = run(capsys, "check")
    assert code == 2
    assert "KZ777" in err and "pyproject.toml" in err


def _fake_ruff(folder: Path, payload: list) -> Path:
    script = folder / "ruff"
    script.write_text(
        "#!/bin/sh\n"
        f"echo \"$@\" > {folder / 'ruff-args.txt'}\n"
        f"cat <<'JSON'\n{json.dumps(payload)}\nJSON\n"
    )
    script.chmod(0o755)
    return script


def test_with_ruff_shows_advisories_without_changing_exit_code(demo_repo, capsys, monkeypatch, tmp_path):
    advisory = {
        "code": "PERF401",
        "message": "Use a list comprehension to create a transformed list",
        "filename": str(demo_repo / "src/app/clean.py"),
        "location": {"row": 2, "column": 5},
        "end_location": {"row": 2, "column": 20},
        "url": "https://docs.astral.sh/ruff/rules/manual-list-comprehension",
    }
    fake = _fake_ruff(tmp_path, [advisory])
    monkeypatch.setattr("agent.ruff.find_ruff", lambda: str(fake))
    code, out, _ = run(capsys, "check", "--with-ruff", "src/app/clean.py")
    assert code == 0
    assert "src/app/clean.py:2:5: PERF401 (ruff advisory) Use a list comprehension" in out
    assert "1 ruff advisory (not counted as findings)." in out
    args = (tmp_path / "ruff-args.txt").read_text()
    assert "--select PERF,PD,NPY,FURB" in args and "--exit-zero" in args and "--no-fix" in args

    code, out, _ = run(capsys, "check", "--with-ruff", "--output-format", "json", "src/app/clean.py")
    (record,) = json.loads(out)
    assert record["source"] == "ruff" and record["advisory"] is True and record["code"] == "PERF401"
    assert record["path"] == "src/app/clean.py" and record["line"] == 2

    code, out, _ = run(capsys, "check", "--with-ruff", "--output-format", "sarif", "src/app/clean.py")
    runs = json.loads(out)["runs"]
    assert runs[1]["tool"]["driver"]["name"] == "ruff"
    assert runs[1]["results"][0]["ruleId"] == "PERF401"


def test_with_ruff_from_config(demo_repo, capsys, monkeypatch, tmp_path):
    fake = _fake_ruff(tmp_path, [])
    monkeypatch.setattr("agent.ruff.find_ruff", lambda: str(fake))
    pyproject = demo_repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "with-ruff = true\n")
    run(capsys, "check", "src/app/clean.py")
    assert (tmp_path / "ruff-args.txt").exists()


def test_missing_ruff_is_one_line_and_the_check_goes_on(demo_repo, capsys, monkeypatch):
    monkeypatch.setattr("agent.ruff.find_ruff", lambda: None)
    code, out, err = run(capsys, "check", "--with-ruff", "src/app/clean.py")
    assert code == 0
    assert err == "kaizen: ruff is not installed, so ruff advisories are skipped\n"
    assert out == "No findings in 1 file.\n"


def test_real_ruff_advisories_come_back_relative_to_the_root(tmp_path):
    from agent import ruff

    if ruff.find_ruff() is None:
        pytest.fail("ruff is a dependency of kaizen and must be installed")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '0'\n")
    (tmp_path / "slow.py").write_text(
        "def f(xs):\n    out = []\n    for x in xs:\n        if x:\n            out.append(x * 2)\n    return out\n"
    )
    found = ruff.advisories([tmp_path], tmp_path)
    assert [(a["source"], a["code"], a["path"], a["line"]) for a in found] == [("ruff", "PERF401", "slow.py", 5)]
    assert found[0]["message"]


def test_console_script_runs_as_a_subprocess(tmp_path):
    """The installed `kaizen` entry point, end to end, with the real catalogue."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '0'\n")
    (tmp_path / "ok.py").write_text("x = 1\n")
    script = Path(sys.executable).parent / "kaizen"
    completed = subprocess.run(
        [str(script), "check", "--output-format", "json", "--no-cache", "."],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == []
    completed = subprocess.run(
        [str(script), "check", "--select", "KZ000"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 2
    assert "KZ000" in completed.stderr and "Traceback" not in completed.stderr


def test_safety_labels_of_demo_rules_cover_all_three():
    assert {rule.safety for rule in DEMO_RULES} == set(Safety)

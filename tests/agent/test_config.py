"""`[tool.kaizen]` as check and fix read it: keys applied, flags override,
unknown keys and bad values are exit 2 naming the key."""

import json
from pathlib import Path

import pytest

import rules.registry
from agent.cli import main
from agent.config import ConfigError, Settings, settings_from_table
from tests.agent.cli_support import DEMO


def check_json(capsys, *argv):
    code = main(["check", "--output-format", "json", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else None), err


def add_config(repo: Path, lines: str) -> None:
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + lines)


def test_per_file_ignores_and_exclude_from_config(demo_repo, capsys):
    _, records, _ = check_json(capsys)
    paths = {r["path"] for r in records}
    assert "scripts/run.py" not in paths  # KZ193 ignored there
    assert "generated/gen.py" not in paths  # excluded
    assert paths == {"src/app/loops.py", "src/app/queue.py"}
    _, records, _ = check_json(capsys, "scripts/run.py")
    assert records == []


def test_flags_override_config(demo_repo, capsys):
    add_config(demo_repo, 'select = ["KZ193"]\nignore = ["KZ191"]\n')
    _, records, _ = check_json(capsys)
    assert {r["code"] for r in records} == {"KZ193"}
    _, records, _ = check_json(capsys, "--select", "KZ191,KZ192", "--ignore", "KZ192")
    assert {r["code"] for r in records} == {"KZ191"}


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        ("selectt = ['KZ191']\n", "selectt"),
        ("unsafe-fixes = 'yes'\n", "unsafe-fixes"),
        ("exclude = 3\n", "exclude"),
        ("with-ruff = 1\n", "with-ruff"),
        ("per-file-ignores = ['x']\n", "per-file-ignores"),
        ("per-file-ignores = { 'a/*' = ['KZ999'] }\n", "KZ999"),
    ],
)
def test_bad_config_is_exit_2_naming_the_key(demo_repo, capsys, lines, named):
    (demo_repo / "pyproject.toml").write_text("[tool.kaizen]\n" + lines)
    for command in ("check", "fix"):
        code = main([command])
        out, err = capsys.readouterr()
        assert code == 2
        assert named in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert out == ""


def test_invalid_toml_is_exit_2(demo_repo, capsys):
    (demo_repo / "pyproject.toml").write_text("[tool.kaizen\nselect = \n")
    assert main(["check"]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_nearest_pyproject_wins(demo_repo, capsys, monkeypatch):
    sub = demo_repo / "src"
    (sub / "pyproject.toml").write_text("[tool.kaizen]\nselect = ['KZ192']\n")
    monkeypatch.chdir(sub)
    _, records, _ = check_json(capsys, ".")
    assert {r["code"] for r in records} == {"KZ192"}
    assert (sub / ".kaizen_cache").is_dir()  # the project root is where the pyproject is


def test_project_without_pyproject_uses_defaults(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(rules.registry, "all_rules", lambda: (DEMO.PopZero,))
    (tmp_path / "a.py").write_text("q.pop(0)\n")
    monkeypatch.chdir(tmp_path)
    code, records, _ = check_json(capsys)
    assert code == 1 and [r["code"] for r in records] == ["KZ191"]


def test_settings_table_reads_the_keys_check_and_fix_use():
    settings = settings_from_table(
        {
            "select": ["KZ2"],
            "ignore": "KZ201",
            "unsafe-fixes": True,
            "exclude": ["gen"],
            "per-file-ignores": {"tests/*": ["KZ1"]},
            "with-ruff": True,
        }
    )
    assert settings == Settings(
        select=("KZ2",), ignore=("KZ201",), unsafe_fixes=True, exclude=("gen",),
        per_file_ignores={"tests/*": ("KZ1",)}, with_ruff=True,
    )
    with pytest.raises(ConfigError, match="`colour`"):
        settings_from_table({"colour": "blue"})

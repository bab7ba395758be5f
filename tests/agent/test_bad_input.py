"""Every kind of bad input gives one clear line, the other files are still
checked, and the exit code is the documented one; never a traceback."""

import os
from pathlib import Path

import pytest

from agent.cli import main
from tests.agent.cli_support import run_cli

GOOD = "q = []\nq.pop(0)\n"


@pytest.fixture
def project(tmp_path, monkeypatch, demo_rules_only):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\nversion = '0'\n")
    (tmp_path / "good.py").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys, *argv):
    code, out, err = run_cli(capsys, *argv)
    assert "Traceback" not in out + err
    return code, out, err


BAD_FILES = {
    "latin1.py": (b"name = '\xe9t\xe9'\nq.pop(0)\n",
                  ("latin1.py: cannot read: not valid UTF-8 (byte 0xe9 at offset 8); "
                   "save it as UTF-8 or declare its encoding in a coding comment")),
    "syntax.py": (b"def f(:\n    q.pop(0)\n",
                  "syntax.py: cannot parse: invalid syntax (line 1, column 7)"),
    "py2.py": (b"print 'hello'\nq.pop(0)\n",
               ("py2.py: cannot parse: Missing parentheses in call to 'print'. "
                "Did you mean print(...)? (line 1, column 1)")),
    "nul.py": (b"q.pop(0)\x00\n", None),
    "cookie.py": (b"# -*- coding: klingon -*-\nq.pop(0)\n", "cookie.py: cannot read: unknown encoding: klingon"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
@pytest.mark.parametrize("command", ["check", "fix"])
def test_bad_file_is_one_line_others_still_processed_exit_1(project, capsys, name, command):
    data, message = BAD_FILES[name]
    (project / name).write_bytes(data)
    code, out, err = run(capsys, command, ".")
    assert code == 1
    (line,) = err.strip().splitlines()
    if message is None:
        assert line.startswith(f"{name}: cannot parse: ")
    else:
        assert line == message
    assert (project / name).read_bytes() == data
    if command == "check":
        assert out.startswith("good.py:2:1: KZ191 [*]")
        assert "1 path could not be checked" in out
    else:
        assert (project / "good.py").read_text() == "q = []\nq.popleft()\n"


def test_empty_file_is_fine(project, capsys):
    (project / "empty.py").write_bytes(b"")
    code, out, err = run(capsys, "check", "empty.py")
    assert (code, out, err) == (0, "No findings in 1 file.\n", "")


def test_symlink_loop_named_on_the_command_line(project, capsys):
    os.symlink("loop.py", project / "loop.py")
    code, out, err = run(capsys, "check", "loop.py", "good.py")
    assert code == 1
    assert err == "loop.py: cannot read: symbolic link loop\n"
    assert "good.py:2:1: KZ191" in out


def test_symlink_loops_inside_folders(project, capsys):
    (project / "pkg").mkdir()
    os.symlink("..", project / "pkg" / "parent")
    os.symlink("self.py", project / "pkg" / "self.py")
    code, out, err = run(capsys, "check", ".")
    assert code == 1
    assert err == "pkg/self.py: cannot read: symbolic link loop\n"
    assert out.count("good.py:2:1: KZ191") == 1


def test_missing_path(project, capsys):
    code, out, err = run(capsys, "check", "nope.py", "good.py")
    assert code == 1
    assert err == "nope.py: cannot read: no such file or directory\n"
    assert "good.py:2:1" in out


def test_only_a_missing_path_still_exits_1(project, capsys):
    code, _, err = run(capsys, "fix", "nope")
    assert code == 1
    assert err == "nope: cannot read: no such file or directory\n"


def test_unreadable_file(project, capsys):
    if os.geteuid() == 0:
        # root reads any file; a folder without execute permission is not
        # bypassed for listing by root either, so use a file that is a folder.
        (project / "dir.py").mkdir()
        code, out, err = run(capsys, "check", "dir.py/")
        assert code == 0 and err == "" and out == "No findings in 0 files.\n"
        return
    locked = project / "locked.py"
    locked.write_text(GOOD)
    locked.chmod(0)
    code, _, err = run(capsys, "check", ".")
    assert code == 1 and err.startswith("locked.py: cannot read: ")


def test_unknown_rule_code(project, capsys):
    code, out, err = run(capsys, "fix", "--select", "KZ191", "--ignore", "nonsense-rule")
    assert code == 2 and out == ""
    assert err == "kaizen: unknown rule code or prefix 'nonsense-rule'; `kaizen rules` lists them\n"


def test_unknown_config_key(project, capsys):
    (project / "pyproject.toml").write_text("[tool.kaizen]\nfrobnicate = true\n")
    code, out, err = run(capsys, "check")
    assert code == 2 and out == ""
    assert err.startswith("kaizen: unknown key `frobnicate` in [tool.kaizen]")


def test_bad_jobs_value_is_a_usage_error(project, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", "--jobs", "0"])
    assert exc.value.code == 2
    assert "--jobs" in capsys.readouterr().err


def test_read_only_file_cannot_be_written_but_others_are(project, capsys, monkeypatch):
    (project / "other.py").write_text(GOOD)

    import agent.fixing

    real = agent.fixing.write_atomically

    def refuse(path, text, encoding):
        if Path(path).name == "other.py":
            raise PermissionError(13, "Permission denied")
        real(path, text, encoding)

    monkeypatch.setattr(agent.fixing, "write_atomically", refuse)
    code, _, err = run(capsys, "fix", ".")
    assert code == 1
    assert err == "other.py: cannot write: Permission denied\n"
    assert (project / "good.py").read_text() == "q = []\nq.popleft()\n"
    assert (project / "other.py").read_text() == GOOD


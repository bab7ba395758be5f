"""Discovery, the content-hash cache and parallel scanning (agent.scan, agent.cache)."""

import json
import os
import sys
import threading
from pathlib import Path

import pytest

import agent.scan
from agent.cache import CACHE_DIR_NAME, Cache, Entry, rules_fingerprint
from agent.config import Settings
from agent.scan import discover, discover_files, project_root, scan

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "repos"
sys.path.insert(0, str(FIXTURES))
import demo_rules

DEMO = demo_rules.load()
RULES = [DEMO.PopZero, DEMO.SortedFirst, DEMO.RangeLen]


def write(root: Path, relative: str, text: str = "x = 1\n") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def names(files, root):
    return sorted(p.relative_to(root).as_posix() for p in files)


# -- discovery ----------------------------------------------------------------

def test_discovery_skips_tool_folders_and_non_python_files(tmp_path):
    for relative in [
        "a.py", "pkg/b.py", "pkg/stub.pyi", "notes.txt",
        ".git/hooks/x.py", ".venv/lib/y.py", "venv/z.py", "pkg/__pycache__/c.py",
        "build/lib/d.py", "node_modules/e.py", ".kaizen_cache/f.py",
    ]:
        write(tmp_path, relative)
    assert names(discover([tmp_path], tmp_path, Settings()), tmp_path) == ["a.py", "pkg/b.py"]


def test_exclude_globs_match_names_and_root_relative_paths(tmp_path):
    for relative in ["keep.py", "gen/a.py", "src/gen/b.py", "src/other/c_pb2.py", "src/other/d.py", "docs/conf.py"]:
        write(tmp_path, relative)
    settings = Settings(exclude=("gen", "*_pb2.py", "docs/*"))
    assert names(discover([tmp_path], tmp_path, settings), tmp_path) == ["keep.py", "src/other/d.py"]


def test_explicit_file_is_scanned_even_when_excluded(tmp_path):
    target = write(tmp_path, "gen/a.py")
    settings = Settings(exclude=("gen",))
    assert discover([target], tmp_path, settings) == [target]


def test_symlink_cycles_end_and_each_file_is_found_once(tmp_path):
    write(tmp_path, "pkg/a.py")
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "again")  # pkg/again -> pkg
    os.symlink(tmp_path, tmp_path / "pkg" / "up")  # pkg/up -> root
    os.symlink("a.py", tmp_path / "pkg" / "alias.py")
    files, errors = discover_files([tmp_path], tmp_path, Settings())
    assert names(files, tmp_path) == ["pkg/a.py"]
    assert errors == []


def test_symlinked_folder_inside_root_is_followed_outside_root_is_not(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    write(root, "real/a.py")
    write(outside, "b.py")
    os.symlink(root / "real", root / "linked")
    os.symlink(outside, root / "elsewhere")
    found = names(discover([root], root, Settings()), root)
    # `linked` points at a folder also reached under its real name: scanned once,
    # under the real name.
    assert found == ["real/a.py"]
    files = discover([root / "linked"], root, Settings())
    assert [p.name for p in files] == ["a.py"]


def test_self_loop_and_dangling_python_links_are_errors_not_crashes(tmp_path):
    write(tmp_path, "ok.py")
    os.symlink("loop.py", tmp_path / "loop.py")
    os.symlink("gone.py", tmp_path / "dangling.py")
    os.symlink("nowhere", tmp_path / "dangling_dir")
    files, errors = discover_files([tmp_path], tmp_path, Settings())
    assert names(files, tmp_path) == ["ok.py"]
    assert sorted(str(e) for e in errors) == [
        "dangling.py: cannot read: broken symbolic link",
        "loop.py: cannot read: symbolic link loop",
    ]


def test_missing_path_is_an_error_and_the_rest_is_scanned(tmp_path):
    write(tmp_path, "a.py", "q.pop(0)\n")
    result = scan([tmp_path / "a.py", tmp_path / "nope.py"], RULES, root=tmp_path, settings=Settings(), jobs=1)
    assert [str(e) for e in result.errors] == ["nope.py: cannot read: no such file or directory"]
    assert [f.code for f in result.findings] == ["KZ191"]


def test_project_root_is_nearest_pyproject_else_git_root_else_common_folder(tmp_path):
    write(tmp_path, "proj/pyproject.toml", "")
    write(tmp_path, "proj/src/a.py")
    assert project_root([tmp_path / "proj/src/a.py"]) == tmp_path / "proj"
    (tmp_path / "repo/.git").mkdir(parents=True)
    write(tmp_path, "repo/pkg/b.py")
    assert project_root([tmp_path / "repo/pkg"]) == tmp_path / "repo"
    write(tmp_path, "loose/x/c.py")
    write(tmp_path, "loose/y/d.py")
    assert project_root([tmp_path / "loose/x/c.py", tmp_path / "loose/y"]) == tmp_path / "loose"


# -- scanning and the cache ---------------------------------------------------

def test_findings_paths_are_root_relative_and_sorted(tmp_path):
    write(tmp_path, "b.py", "q.pop(0)\n")
    write(tmp_path, "a/m.py", "for i in range(len(x)):\n    q.pop(0)\n")
    result = scan([tmp_path], RULES, root=tmp_path, settings=Settings(), jobs=1)
    assert [(f.path, f.line, f.code) for f in result.findings] == [
        ("a/m.py", 1, "KZ193"), ("a/m.py", 2, "KZ191"), ("b.py", 1, "KZ191"),
    ]
    assert result.files == 2


def test_files_without_trigger_words_are_never_parsed(tmp_path):
    write(tmp_path, "plain.py", "def (broken\n")  # not Python, but never parsed
    write(tmp_path, "hit.py", "q.pop(0)\n")
    result = scan([tmp_path], RULES, root=tmp_path, settings=Settings(), jobs=1, use_cache=False)
    assert (result.files, result.parsed, result.errors) == (2, 1, [])


def test_second_scan_of_unchanged_files_parses_nothing(tmp_path, monkeypatch):
    for i in range(3):
        write(tmp_path, f"m{i}.py", f"q{i}.pop(0)\n")
    write(tmp_path, "broken.py", "q.pop(0) +\n")
    first = scan([tmp_path], RULES, root=tmp_path, settings=Settings(), jobs=1)
    assert (first.parsed, first.cached) == (4, 0)

    def no_parsing(*args, **kwargs):
        raise AssertionError("a cached file was parsed")

    monkeypatch.setattr(agent.scan, "check_source", no_parsing)
    second = scan([tmp_path], RULES, root=tmp_path, settings=Settings(), jobs=1)
    assert (second.parsed, second.cached) == (0, 4)
    assert second.findings == first.findings
    assert [str(e) for e in second.errors] == [str(e) for e in first.errors]
    assert second.errors[0].message.startswith("cannot parse")


def test_changed_file_and_changed_rule_set_miss_the_cache(tmp_path):
    write(tmp_path, "a.py", "q.pop(0)\n")
    write(tmp_path, "b.py", "r.pop(0)\n")
    scan([tmp_path], RULES, root=tmp_path, settings=Settings(), jobs=1)
    write(tmp_path, "b.py", "r.pop(0)\nsorted(r)[0]\n")
    again = scan([tmp_path], RULES, root=tmp_path, settings=Settings(), jobs=1)
    assert (again.parsed, again.cached) == (1, 1)
    assert [f.code for f in again.findings] == ["KZ191", "KZ191", "KZ192"]
    assert rules_fingerprint(RULES) != rules_fingerprint(RULES[:2])


def test_same_bytes_under_another_name_reuse_the_entry_with_the_right_path(tmp_path):
    write(tmp_path, "a.py", "q.pop(0)\n")
    scan([tmp_path], RULES, root=tmp_path, settings=Settings(), jobs=1)
    write(tmp_path, "copy.py", "q.pop(0)\n")
    result = scan([tmp_path], RULES, root=tmp_path, settings=Settings(), jobs=1)
    assert (result.parsed, result.cached) == (0, 2)
    assert [f.path for f in result.findings] == ["a.py", "copy.py"]


def test_corrupt_cache_entries_are_misses(tmp_path):
    write(tmp_path, "a.py", "q.pop(0)\n")
    write(tmp_path, "b.py", "r.pop(0)\n")
    first = scan([tmp_path], RULES, root=tmp_path, settings=Settings(), jobs=1)
    entries = sorted((tmp_path / CACHE_DIR_NAME).rglob("*.json"))
    assert len(entries) == 2
    entries[0].write_text("{ not json")
    entries[1].write_text(json.dumps({"findings": [{"code": "KZ191"}]}))
    second = scan([tmp_path], RULES, root=tmp_path, settings=Settings(), jobs=1)
    assert (second.parsed, second.cached) == (2, 0)
    assert second.findings == first.findings


def test_no_cache_neither_reads_nor_writes(tmp_path):
    write(tmp_path, "a.py", "q.pop(0)\n")
    scan([tmp_path], RULES, root=tmp_path, settings=Settings(), jobs=1, use_cache=False)
    assert not (tmp_path / CACHE_DIR_NAME).exists()


def test_cache_folder_ignores_itself_for_git(tmp_path):
    write(tmp_path, "a.py", "q.pop(0)\n")
    scan([tmp_path], RULES, root=tmp_path, settings=Settings(), jobs=1)
    assert (tmp_path / CACHE_DIR_NAME / ".gitignore").read_text().splitlines()[-1] == "*"


def test_concurrent_writers_of_one_entry_leave_a_valid_entry(tmp_path):
    cache = Cache(tmp_path)
    entries = [Entry([{"code": "KZ191", "name": "n", "line": i, "column": 1, "end_line": i,
                       "end_column": 2, "message": "m", "safety": "safe", "fixable": True}])
               for i in range(1, 9)]
    threads = [threading.Thread(target=lambda e=e: [cache.put("fp", "ab" * 32, e) for _ in range(20)])
               for e in entries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = Cache(tmp_path).get("fp", "ab" * 32)
    assert got is not None and got.findings in [e.findings for e in entries]
    assert not [p for p in (tmp_path / CACHE_DIR_NAME).rglob(".tmp-*")]


def test_parallel_scan_gives_the_same_result_as_serial(tmp_path):
    for i in range(20):
        write(tmp_path, f"m{i:02}.py", f"q.pop(0)\nfor i in range(len(x{i})):\n    pass\n")
    write(tmp_path, "bad.py", "q.pop(0) +\n")
    serial = scan([tmp_path], RULES, root=tmp_path, settings=Settings(), jobs=1, use_cache=False)
    parallel = scan([tmp_path], RULES, root=tmp_path, settings=Settings(), jobs=2, use_cache=False)
    assert parallel.parsed == serial.parsed == 21
    assert parallel.findings == serial.findings
    assert [str(e) for e in parallel.errors] == [str(e) for e in serial.errors]


def test_per_file_ignores_take_rules_out_for_matching_paths(tmp_path):
    write(tmp_path, "scripts/run.py", "q.pop(0)\nsorted(q)[0]\n")
    write(tmp_path, "src/lib.py", "q.pop(0)\n")
    settings = Settings(per_file_ignores={"scripts/*": ("KZ191",)})
    result = scan([tmp_path], RULES, root=tmp_path, settings=settings, jobs=1)
    assert [(f.path, f.code) for f in result.findings] == [("scripts/run.py", "KZ192"), ("src/lib.py", "KZ191")]


def test_a_crashing_rule_is_reported_for_its_file_and_not_cached(tmp_path, monkeypatch):
    class Crashes(DEMO.PopZero):
        code = "KZ195"

        def visit_Call(self, node):
            raise RuntimeError("boom")

    write(tmp_path, "a.py", "q.pop(0)\n")
    result = scan([tmp_path], [Crashes], root=tmp_path, settings=Settings(), jobs=1)
    (error,) = result.errors
    assert error.path == "a.py" and "RuntimeError: boom" in error.message
    assert not list((tmp_path / CACHE_DIR_NAME).rglob("*.json"))


@pytest.mark.parametrize("jobs", [1, 2])
def test_scan_without_rules_reads_files_but_parses_none(tmp_path, jobs):
    write(tmp_path, "a.py", "q.pop(0)\n")
    result = scan([tmp_path], [], root=tmp_path, settings=Settings(), jobs=jobs)
    assert (result.files, result.parsed, result.findings) == (1, 0, [])

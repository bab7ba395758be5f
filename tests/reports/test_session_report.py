"""The session report rendered from a full record: sections, gates, commands, chart."""

import json
import re

import pytest

from agent.cli import main
from reports.session import RecordError, render_markdown, speedup_chart


def _section(markdown: str, title: str) -> str:
    """The text of the `## title` section, up to the next `## ` heading."""
    start = markdown.index(f"\n## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else None]


def test_report_has_every_section_in_order(record):
    markdown = render_markdown(record)
    headings = re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE)
    assert headings == [
        "Summary", "Changes", "Reverted changes", "Skipped findings", "Ruff advisories",
        "Smoke run", "Baseline", "Settings", "Environment",
    ]
    assert re.findall(r"^### \d+\. (KZ\d{3}) ", markdown, flags=re.MULTILINE) == ["KZ201", "KZ101"]


def test_summary_states_status_changes_and_duration(record):
    markdown = render_markdown(record)
    assert "| Status | **completed** |" in markdown
    summary = _section(markdown, "Summary")
    assert "**2 verified changes** committed on `kaizen/20261126-101500`" in summary
    assert "`KZ201` iterrows-comprehension (safe) in `prep/maps.py`: pattern benchmark 28.1x" in summary
    assert "Took 192.4 s" in summary
    assert "Reverted after a failed gate: 1; skipped: 2; ruff advisories: 1." in summary


def test_gate_table_lists_gates_in_pipeline_order(record, structure):
    markdown = render_markdown(record)
    change = markdown[markdown.index("### 1. KZ201") : markdown.index("### 2. KZ101")]
    gate_table = next(t for t in structure.tables(change) if t[0][0].strip() == "Gate")
    names = [row[0].strip() for row in gate_table[2:]]
    assert names == ["compiles", "ruff", "equivalence", "tests", "smoke", "benchmark"]
    assert [cell.strip() for cell in gate_table[2]] == ["compiles", "passed", "1 file", "10 ms"]


def test_pattern_benchmark_is_labelled_and_reproducible(record):
    markdown = render_markdown(record)
    assert (
        "Pattern benchmark (the rule's pattern at 4,000 rows, 2 columns; not a measurement of "
        "this repository's code): 31 ms before, 1.1 ms after, **28.1x**" in markdown
    )
    assert "Reproduce with `kaizen rule KZ201 --bench --python /abs/.venv/bin/python`." in markdown
    # Next to it, what was measured on the repository's own code.
    assert "the smoke run (`/abs/.venv/bin/python smoke.py`)" in markdown
    assert "| samples\\_per\\_s | 900 | 905 | +0.56% |" in markdown
    assert "the test run (`/abs/.venv/bin/python -m pytest -q`): 4.2 s before, 4.1 s after." in markdown


def test_diff_is_fenced_and_commit_message_shown(record, structure):
    doc = structure.split_fences(render_markdown(record))
    diffs = [content for info, content in doc.fences if info == "diff"]
    assert diffs[0].startswith("--- a/prep/maps.py")
    assert len(diffs) == 3  # two commits and the reverted change
    assert any(info == "text" and content.startswith("KZ201") for info, content in doc.fences)
    assert not doc.unclosed


def test_reverted_skipped_and_advisories_are_listed_with_reasons(record):
    markdown = render_markdown(record)
    reverted = _section(markdown, "Reverted changes")
    assert "| `KZ401` loss-item-in-loop | `train.py` | tests | tests/test\\_train.py::test\\_loss failed" in reverted
    skipped = _section(markdown, "Skipped findings")
    assert "| `KZ402` tensor-item-sync | `train.py` line 40 | unsafe fix not enabled |" in skipped
    advisories = _section(markdown, "Ruff advisories")
    assert "| ruff | `PERF401` | `a.py` line 3 | Use a list comprehension" in advisories


def test_smoke_baseline_and_environment(record):
    markdown = render_markdown(record)
    smoke = _section(markdown, "Smoke run")
    assert "| samples\\_per\\_s | 900 | 930 | +3.3% |" in smoke
    baseline = _section(markdown, "Baseline")
    assert "passed: 12 passed, 1 failed, 4.2 s" in baseline
    assert "- `tests/test_old.py::test_known_broken`" in baseline
    environment = _section(markdown, "Environment")
    assert "| Python | 3.11.7 |" in environment
    assert "| CPU | Example CPU 3000 (2 cores) |" in environment
    assert "| GPU | none |" in environment
    assert "| pandas | 3.1.1 |" in environment


def test_mermaid_chart_of_pattern_speedups(record, structure):
    doc = structure.split_fences(render_markdown(record))
    (chart,) = [content for info, content in doc.fences if info == "mermaid"]
    assert chart.splitlines()[0] == "xychart-beta"
    assert 'x-axis ["KZ201", "KZ101"]' in chart
    assert "bar [28.1, 200]" in chart


def test_no_chart_without_commits(record):
    record["commits"] = []
    record["status"] = "nothing-to-do"
    markdown = render_markdown(record)
    assert "```mermaid" not in markdown
    assert "No change was committed." in markdown


def test_chart_admits_only_rule_codes_and_finite_numbers():
    commits = [
        {"rule": 'KZ201"]\n    bar [1', "measured": {"pattern": {"speedup": 3.0}}},
        {"rule": "KZ202", "measured": {"pattern": {"speedup": float("nan")}}},
        {"rule": "KZ203", "measured": {"pattern": {"speedup": "9 (trust me)"}}},
        {"rule": "KZ204", "measured": {"pattern": {"speedup": 4.0}}},
    ]
    chart = speedup_chart(commits)
    assert 'x-axis ["KZ204"]' in chart
    assert "bar [4]" in chart
    assert speedup_chart(commits[:3]) is None


def test_minimal_record_renders(record):
    minimal = {"schema": 1, "status": "failed", "stop_reason": "the tests did not run."}
    markdown = render_markdown(minimal)
    assert "| Status | **failed**: the tests did not run. |" in markdown
    assert "No smoke command is configured." in markdown


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ([], "not a JSON object"),
        ({"schema": 2, "status": "completed"}, "schema 2"),
        ({"schema": 1}, "`status`"),
        ({"schema": 1, "status": "completed", "commits": {}}, "`commits`"),
    ],
)
def test_wrong_records_are_refused_in_one_sentence(record, message):
    with pytest.raises(RecordError, match=message):
        render_markdown(record)


def test_kaizen_report_round_trip(record, tmp_path, capsys):
    path = tmp_path / "kaizen-1.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    assert main(["report", str(path)]) == 0
    assert capsys.readouterr().out == render_markdown(record)
    out = tmp_path / "out" / "report.md"
    assert main(["report", str(path), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render_markdown(record)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not valid JSON"),
        ('{"schema": 7, "status": "completed"}', "schema 7"),
    ],
)
def test_kaizen_report_refuses_bad_input_with_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "record.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err

"""A hostile repository cannot inject Markdown or HTML into a report."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.markdown import escape, fenced, inline_code
from reports.session import render_markdown

EVIL_NAME = "`x`<img src=x onerror=alert(1)>[link](http://evil)||"
EVIL_CODE = "```\n</details><script>alert(1)</script>\n````\n[click](http://evil)\n"
EVIL_TEXT = "# heading <b>bold</b> ![img](http://evil/x.png) **strong** www.evil.com\n- item"


def _hostile(record: dict) -> dict:
    commit = record["commits"][0]
    commit["files"] = [EVIL_NAME]
    commit["lines"] = [{"path": EVIL_NAME, "line": 1, "end_line": 2}]
    commit["diff"] = EVIL_CODE
    commit["message"] = EVIL_CODE
    commit["name"] = EVIL_TEXT
    commit["gates"][0]["detail"] = EVIL_TEXT
    commit["measured"]["pattern"]["size"] = EVIL_TEXT
    record["branch"] = EVIL_NAME
    record["repo"] = EVIL_NAME
    record["stop_reason"] = EVIL_TEXT
    record["reverted"][0].update(files=[EVIL_NAME], reason=EVIL_TEXT, diff=EVIL_CODE)
    record["skipped"][0].update(path=EVIL_NAME, reason=EVIL_TEXT, name=EVIL_TEXT)
    record["advisories"][0].update(path=EVIL_NAME, message=EVIL_TEXT, code=EVIL_NAME)
    record["baseline"]["tests"]["failed"] = [EVIL_NAME]
    record["baseline"]["compile_errors"] = [EVIL_TEXT]
    record["environment"]["libraries"][EVIL_NAME] = EVIL_TEXT
    record["smoke"]["before"][EVIL_NAME] = 1.0
    return record


def test_hostile_record_renders_inert(record, structure):
    markdown = render_markdown(_hostile(record))
    doc = structure.split_fences(markdown)
    assert not doc.unclosed
    live = structure.live_text(markdown)
    # No raw HTML of the repository's, and only our own <details> blocks.
    for tag in ("<img", "<script", "<b>", "</script"):
        assert tag not in live
    assert live.count("<details>") == live.count("</details>") == 3
    # No link, image or emphasis syntax outside code.
    assert not re.search(r"\]\(", live)
    assert "**strong**" not in live
    assert "http://evil" not in live and "www.evil" not in live
    # No heading or list item that the record opened.
    assert not re.search(r"^#+ heading", markdown, flags=re.MULTILINE)
    assert not re.search(r"^- item", markdown, flags=re.MULTILINE)


def test_hostile_code_stays_inside_its_fence(record, structure):
    doc = structure.split_fences(render_markdown(_hostile(record)))
    diffs = [content for info, content in doc.fences if info == "diff"]
    assert EVIL_CODE.rstrip("\n") in diffs
    texts = [content for info, content in doc.fences if info == "text"]
    assert EVIL_CODE.rstrip("\n") in texts


def test_hostile_tables_keep_their_columns(record, structure):
    markdown = render_markdown(_hostile(record))
    for table in structure.tables(markdown):
        widths = {len(row) for row in table}
        assert len(widths) == 1, table


def test_hostile_name_survives_as_code(record):
    markdown = render_markdown(_hostile(record))
    # Outside tables: a code span longer than the name's backticks, padded.
    assert "`` `x`<img src=x onerror=alert(1)>[link](http://evil)|| ``" in markdown
    # Inside tables, the pipes are escaped even in the code span.
    assert "`` `x`<img src=x onerror=alert(1)>[link](http://evil)\\|\\| ``" in markdown


def test_environment_variables_never_render(record, monkeypatch):
    monkeypatch.setenv("KAIZEN_SECRET_TOKEN", "s3cr3t-value")
    record["environment"]["env"] = {"KAIZEN_SECRET_TOKEN": "s3cr3t-value"}
    assert "s3cr3t" not in render_markdown(record)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain words, 1.5 s", "plain words, 1.5 s"),
        ("a_b*c", "a\\_b\\*c"),
        ("<img src=x>", "&lt;img src=x&gt;"),
        ("[a](b)", "\\[a\\](b)"),
        ("# title", "\\# title"),
        ("1. first", "1\\. first"),
        ("see http://x.org", "see http\\://x.org"),
        ("two\nlines", "two lines"),
        ("&lt;", "&amp;lt;"),
        (None, ""),
        (3, "3"),
    ],
)
def test_escape(text, expected):
    assert escape(text) == expected


def test_inline_code_outlasts_backtick_runs():
    assert inline_code("a") == "`a`"
    assert inline_code("a``b") == "```a``b```"
    assert inline_code("`x`") == "`` `x` ``"
    assert inline_code("a|b", in_table=True) == "`a\\|b`"
    assert inline_code("x\ny") == "`x y`"


def test_fenced_outlasts_backtick_lines():
    block = fenced("````\ncode", "diff")
    assert block.startswith("`````diff\n") and block.endswith("\n`````")
    assert fenced("x").startswith("```\n")
    with pytest.raises(ValueError):
        fenced("x", "diff onclick=")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_escaped_text_has_no_live_syntax(structure, text):
    live = structure.strip_code_spans(escape(text))
    assert "\n" not in live
    assert not re.search(r"[<>\[\]`*_|~]", live)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_fenced_content_comes_back_unchanged(structure, text):
    doc = structure.split_fences("before\n\n" + fenced(text, "diff") + "\n\nafter")
    assert not doc.unclosed
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    assert doc.fences == [("diff", normalised.removesuffix("\n"))]
    assert doc.prose == ["before", "", "", "after"]

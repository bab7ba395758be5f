"""Escaping of untrusted text for Markdown reports.

A report shows text that comes from the target repository: paths, code,
diffs, test ids, commit and rule messages, branch names. A hostile repository
must not be able to inject Markdown (links, images, headings, tables) or HTML
(``<img onerror=...>``, ``</details><script>``) through any of them. So the
renderers escape every value by default (:func:`escape`, installed as the
jinja2 ``finalize`` hook) and mark their own output as :class:`Markdown`, which
is trusted and passes through unchanged.

CommonMark treats text inside code spans and fenced blocks literally, HTML
included; :func:`inline_code` and :func:`fenced` pick a backtick run that the
content cannot close.
"""

from __future__ import annotations

import math
import re

__all__ = ["Markdown", "escape", "fenced", "inline_code", "number", "table_cell"]


class Markdown(str):
    """Text already safe to place in Markdown as it is (our own markup)."""


# Punctuation that makes Markdown syntax anywhere in a line: emphasis, code,
# links and images (both need `[`), tables and strike-through.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
# Syntax that only counts at the start of a line: headings, list items, block
# quotes (`>` becomes an entity anyway). Templates put values after other text,
# but a value at the start of a list item can still open a nested block.
_LINE_START = re.compile(r"^(\s*)([#+\-=]|\d+(?=[.)](?:\s|$)))")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_HTML_SPECIAL = re.compile(r'[&<>"]')
# GitHub turns bare URLs into links (extended autolinks); an escaped colon or
# dot keeps the text but breaks the match.
_BARE_URL = re.compile(r"(?i)(?<=[a-z])(://)|(?<=www)(\.)")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c]+")
_BACKTICK_RUN = re.compile(r"`+")


def _one_line(text: str) -> str:
    # A line break would let the text start a new block (a heading, a list,
    # a raw HTML block), so inline text is always one line.
    return _LINE_BREAKS.sub(" ", text)


def _escape_line_start(match: re.Match) -> str:
    indent, marker = match.groups()
    # `1.` is escaped as `1\.` (the digits are not punctuation).
    return indent + (marker + "\\" if marker.isdigit() else "\\" + marker)


def escape(value: object) -> Markdown:
    """``value`` as inline Markdown text that renders literally.

    ``None`` renders as an empty string; numbers as themselves; anything else
    through ``str`` with HTML metacharacters turned into entities, Markdown
    punctuation backslash-escaped and line breaks turned into spaces.
    """
    if isinstance(value, Markdown):
        return value
    if value is None:
        return Markdown("")
    if isinstance(value, bool):
        return Markdown("yes" if value else "no")
    if isinstance(value, (int, float)):
        return number(value)
    text = _one_line(str(value))
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = _LINE_START.sub(_escape_line_start, text)
    text = _HTML_SPECIAL.sub(lambda m: _HTML[m.group(0)], text)
    text = _BARE_URL.sub(lambda m: "\\" + m.group(0), text)
    return Markdown(text)


def table_cell(value: object) -> Markdown:
    """Like :func:`escape`; the name documents that it is safe in a GFM table."""
    return escape(value)


def inline_code(value: object, *, in_table: bool = False) -> Markdown:
    """``value`` as a code span that no backtick inside it can close.

    In a GFM table a ``|`` splits the cell even inside a code span, so
    ``in_table`` escapes it (GitHub shows ``\\|`` in a cell's code span as ``|``).
    """
    text = _one_line("" if value is None else str(value))
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * (longest + 1)
    # A span whose content starts or ends with a backtick needs a space of
    # padding, which CommonMark strips again; a blank span needs one too.
    if text.startswith("`") or text.endswith("`") or not text.strip():
        text = f" {text} "
    if in_table:
        text = text.replace("|", "\\|")
    return Markdown(f"{fence}{text}{fence}")


def fenced(value: object, language: str = "") -> Markdown:
    """``value`` as a fenced code block that nothing inside it can close.

    The fence is one backtick longer than the longest backtick run in the
    content (at least three), so a line of backticks inside stays content;
    HTML inside a fenced block is shown, never interpreted. ``language`` is
    ours (an info string such as ``diff``), never the repository's.
    """
    if not re.fullmatch(r"[a-z0-9+-]*", language):
        raise ValueError(f"not a plain info string: {language!r}")
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    if not text.endswith("\n"):
        text += "\n"
    return Markdown(f"{fence}{language}\n{text}{fence}")


def number(value: object, digits: int = 3) -> Markdown:
    """A number for a report: integers as they are, floats to ``digits``
    significant decimals (``0.000123`` stays readable), non-numbers escaped."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return escape(value) if value is not None else Markdown("")
    if isinstance(value, int):
        return Markdown(str(value))
    if math.isnan(value):
        return Markdown("NaN")
    if math.isinf(value):
        return Markdown("inf" if value > 0 else "-inf")
    if value == 0:
        return Markdown("0")
    magnitude = abs(value)
    if magnitude >= 1000:
        return Markdown(f"{value:,.0f}")
    if magnitude >= 1:
        return Markdown(f"{value:.{max(digits - 1, 0)}f}".rstrip("0").rstrip("."))
    return Markdown(f"{value:.{digits}g}")

"""A small model of how CommonMark/GFM reads a report, for assertions.

It is not a Markdown parser: it knows exactly the constructs an injection
would need (fenced blocks, code spans, backslash escapes, table pipes), so
tests can say "outside code, no raw HTML and no link syntax" precisely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_OPEN_FENCE = re.compile(r"^(`{3,})([^`]*)$")


@dataclass
class Document:
    prose: list[str] = field(default_factory=list)
    """Lines outside fenced blocks."""
    fences: list[tuple[str, str]] = field(default_factory=list)
    """(info string, content) of each fenced block."""
    unclosed: bool = False


def split_fences(markdown: str) -> Document:
    doc = Document()
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        opening = _OPEN_FENCE.match(lines[i])
        if not opening:
            doc.prose.append(lines[i])
            i += 1
            continue
        length, info = len(opening.group(1)), opening.group(2).strip()
        closing = re.compile(rf"^`{{{length},}}\s*$")
        body = []
        i += 1
        while i < len(lines) and not closing.match(lines[i]):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            doc.unclosed = True
        doc.fences.append((info, "\n".join(body)))
        i += 1
    return doc


def _without_escapes(line: str) -> str:
    # A backslash-escaped character is literal text; replace it by a letter so
    # that it can neither open a code span nor count as syntax below.
    return re.sub(r"\\[!-/:-@\[-`{-~]", "E", line)


def strip_code_spans(line: str) -> str:
    """The line with escapes and code spans (whose content is literal) removed."""
    line = _without_escapes(line)
    return re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "CODE", line)


def live_text(markdown: str) -> str:
    """Everything that Markdown would interpret: prose outside fences and code spans."""
    return "\n".join(strip_code_spans(line) for line in split_fences(markdown).prose)


def table_rows(markdown: str) -> list[list[str]]:
    """Rows of every GFM table, split at unescaped pipes."""
    rows = []
    for line in split_fences(markdown).prose:
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line)
            rows.append(cells[1:-1])
    return rows


def tables(markdown: str) -> list[list[list[str]]]:
    """Tables as lists of rows; a table is a run of lines starting with a pipe."""
    result, current = [], []
    for line in split_fences(markdown).prose + [""]:
        if line.startswith("|"):
            current.append(re.split(r"(?<!\\)\|", line)[1:-1])
        elif current:
            result.append(current)
            current = []
    return result

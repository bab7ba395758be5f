"""The jinja2 environment shared by the session report and the rule docs.

Every ``{{ }}`` goes through :func:`reports.markdown.escape` (the ``finalize``
hook), so a template cannot forget to escape a value; the filters below return
:class:`~reports.markdown.Markdown`, which passes through as it is.
"""

from __future__ import annotations

import math
import shlex
from functools import cache
from pathlib import Path

import jinja2

from reports.markdown import Markdown, escape, fenced, inline_code, number

TEMPLATES = Path(__file__).parent / "templates"


def _finalize(value: object) -> object:
    if isinstance(value, jinja2.Undefined):
        return ""
    return escape(value)


def seconds(value: object) -> Markdown:
    """A duration with a unit that keeps three significant digits readable."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return escape(value)
    magnitude = abs(value)
    if magnitude == 0:
        return Markdown("0 s")
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
        if magnitude >= scale or unit == "ns":
            return Markdown(f"{number(value / scale)} {unit}")
    raise AssertionError("unreachable")


def ratio(value: object) -> Markdown:
    """A speed-up factor such as ``28.1x``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return escape(value)
    return Markdown(f"{number(value)}x")


def percent(value: object) -> Markdown:
    """A fraction (0.04) as ``4%``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return escape(value)
    return Markdown(f"{number(value * 100)}%")


def change(before: object, after: object) -> Markdown:
    """The relative change from ``before`` to ``after`` (``+0.6%``), or empty."""
    numeric = all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        for v in (before, after)
    )
    if not numeric or before == 0:
        return Markdown("")
    delta = (after - before) / abs(before) * 100
    sign = "+" if delta >= 0 else "−"
    return Markdown(f"{sign}{number(abs(delta), 2)}%")


def command(value: object, *, in_table: bool = False) -> Markdown:
    """A command (argument list or string) as a code span a reader can copy."""
    if isinstance(value, (list, tuple)):
        value = shlex.join(str(part) for part in value)
    if value is None or value == "":
        return Markdown("")
    return inline_code(value, in_table=in_table)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        finalize=_finalize,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, not HTML: `finalize` does the escaping
    )
    env.filters.update(
        code=inline_code,
        cell_code=lambda value: inline_code(value, in_table=True),
        fenced=fenced,
        num=number,
        seconds=seconds,
        ratio=ratio,
        percent=percent,
        command=command,
        cell_command=lambda value: command(value, in_table=True),
        trusted=Markdown,
    )
    env.globals["change"] = change
    return env


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)

"""Rule docs and the rule catalogue, rendered from plain dicts.

The dicts come from ``agent.catalogue.rule_entry``: the rule's own docstring
sections (our text, trusted Markdown), its identity and its recorded
benchmark figures.
"""

from __future__ import annotations

from reports.markdown import Markdown
from reports.render import render


def render_rule(entry: dict, *, level: int = 1) -> str:
    """One rule's doc; ``level`` is the Markdown level of its title."""
    return render("rule.md.j2", rule=entry, h="#" * level)


def render_figures(figures: dict | None, code: str) -> str:
    """The measured-figures paragraph of one rule (or how to measure it)."""
    return render("figures.md.j2", figures=figures, code=code)


def render_catalogue(entries: list[dict]) -> str:
    """The catalogue: a summary table, then every rule's doc."""
    docs = [Markdown(render_rule(entry, level=2)) for entry in entries]
    return render("catalogue.md.j2", rules=entries, docs=docs)

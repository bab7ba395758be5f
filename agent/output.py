"""Writing findings as text (ruff-like), JSON or SARIF 2.1.0.

Paths are shown relative to the current folder when the file lies under it,
so that editors and terminals can open them; JSON and SARIF carry the same
display path. Ruff advisories (``--with-ruff``) are listed after kaizen's
findings and marked as advisories: they never change the exit code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from agent import __version__
from agent.scan import FileError
from rules.framework import Finding, Rule, Safety

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/kaizen-ml/kaizen"


def fix_applies(finding: Finding, unsafe_fixes: bool) -> bool:
    """Whether ``kaizen fix`` with these settings would apply the finding's fix."""
    if not finding.fixable:
        return False
    return finding.safety is Safety.SAFE or (unsafe_fixes and finding.safety is Safety.UNSAFE)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_lines(findings: Sequence[Finding], files: int, unsafe_fixes: bool) -> list[str]:
    if not findings:
        return [f"No findings in {_plural(files, 'file')}."]
    lines = [f"Found {_plural(len(findings), 'finding')} in {_plural(files, 'file')}."]
    applicable = sum(fix_applies(f, unsafe_fixes) for f in findings)
    hidden = sum(f.fixable and f.safety is Safety.UNSAFE for f in findings) if not unsafe_fixes else 0
    flag = "`kaizen fix --unsafe-fixes`" if unsafe_fixes else "`kaizen fix`"
    if applicable:
        line = f"[*] {applicable} fixable with {flag}"
        if hidden:
            line += f" ({hidden} more with `kaizen fix --unsafe-fixes`)"
        lines.append(line + ".")
    elif hidden:
        lines.append(f"No safe fixes available ({hidden} fixable with `kaizen fix --unsafe-fixes`).")
    return lines


def finding_line(finding: Finding, shown_path: str, unsafe_fixes: bool) -> str:
    marker = " [*]" if fix_applies(finding, unsafe_fixes) else ""
    return f"{shown_path}:{finding.span.line}:{finding.span.column}: {finding.code}{marker} {finding.message}"


def advisory_line(advisory: dict, shown_path: str) -> str:
    return (
        f"{shown_path}:{advisory['line']}:{advisory.get('column', 1)}: "
        f"{advisory['code']} (ruff advisory) {advisory['message']}"
    )


def render_text(
    findings: Sequence[Finding],
    advisories: Sequence[dict],
    files: int,
    *,
    show: Callable[[str], str],
    unsafe_fixes: bool,
    errors: int = 0,
) -> str:
    lines = [finding_line(f, show(f.path), unsafe_fixes) for f in findings]
    lines += [advisory_line(a, show(a["path"])) for a in advisories]
    lines += summary_lines(findings, files, unsafe_fixes)
    if errors:
        lines.append(f"{_plural(errors, 'path')} could not be checked (messages on stderr).")
    if advisories:
        noun = "ruff advisory" if len(advisories) == 1 else "ruff advisories"
        lines.append(f"{len(advisories)} {noun} (not counted as findings).")
    return "\n".join(lines) + "\n"


def finding_record(finding: Finding, shown_path: str) -> dict:
    return {**finding.to_dict(), "path": shown_path, "source": "kaizen"}


def render_json(
    findings: Sequence[Finding], advisories: Sequence[dict], *, show: Callable[[str], str]
) -> str:
    """A JSON array: kaizen findings (``"source": "kaizen"``), then ruff
    advisories (``"source": "ruff"``, ``"advisory": true``)."""
    records = [finding_record(f, show(f.path)) for f in findings]
    for advisory in advisories:
        records.append({**advisory, "path": show(advisory["path"]), "advisory": True})
    return json.dumps(records, indent=2) + "\n"


def _sarif_level(finding: Finding) -> str:
    return "warning" if finding.safety is not Safety.DISPLAY_ONLY or finding.fixable else "note"


def _region(line: int, column: int, end_line: int | None = None, end_column: int | None = None) -> dict:
    region = {"startLine": line, "startColumn": column}
    if end_line is not None:
        region["endLine"] = end_line
    if end_column is not None:
        region["endColumn"] = end_column
    return region


def _location(uri: str, region: dict) -> dict:
    return {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}


def render_sarif(
    findings: Sequence[Finding],
    advisories: Sequence[dict],
    rules: Sequence[type[Rule]],
    errors: Sequence[FileError],
    *,
    show: Callable[[str], str],
) -> str:
    """SARIF 2.1.0: run 0 is kaizen (every selected rule described, one result
    per finding, unreadable files as tool notifications); ruff advisories, when
    asked for, are a second run whose tool is ruff."""
    rule_index = {rule.code: i for i, rule in enumerate(rules)}
    driver_rules = []
    for rule in rules:
        sections = rule.doc_sections()
        driver_rules.append(
            {
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": rule.message or rule.name},
                "fullDescription": {"text": sections.get("What it does", rule.message or rule.name)},
                "help": {"text": sections.get("Why is this bad?", "")},
                "properties": {"safety": rule.safety.value, "library": rule.library()},
            }
        )
    results = []
    for finding in findings:
        result = {
            "ruleId": finding.code,
            "level": _sarif_level(finding),
            "message": {"text": finding.message},
            "locations": [
                _location(
                    show(finding.path),
                    _region(finding.span.line, finding.span.column, finding.span.end_line, finding.span.end_column),
                )
            ],
            "properties": {"safety": finding.safety.value, "fixable": finding.fixable},
        }
        if finding.code in rule_index:
            result["ruleIndex"] = rule_index[finding.code]
        results.append(result)
    notifications = [
        {
            "level": "error",
            "message": {"text": error.message},
            "locations": [_location(show(error.path), {"startLine": 1})],
        }
        for error in errors
    ]
    kaizen_run = {
        "tool": {
            "driver": {
                "name": "kaizen",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": driver_rules,
            }
        },
        "results": results,
        "invocations": [
            {"executionSuccessful": not errors, "toolExecutionNotifications": notifications}
        ],
    }
    runs = [kaizen_run]
    if advisories:
        codes = sorted({a["code"] for a in advisories})
        runs.append(
            {
                "tool": {
                    "driver": {
                        "name": "ruff",
                        "informationUri": "https://docs.astral.sh/ruff/",
                        "rules": [{"id": code} for code in codes],
                    }
                },
                "results": [
                    {
                        "ruleId": a["code"],
                        "level": "note",
                        "message": {"text": a["message"]},
                        "locations": [
                            _location(
                                show(a["path"]),
                                _region(a["line"], a.get("column", 1), a.get("end_line"), a.get("end_column")),
                            )
                        ],
                    }
                    for a in advisories
                ],
            }
        )
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}
    return json.dumps(document, indent=2) + "\n"

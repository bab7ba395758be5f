"""Run rules over source text, and apply their fixes until the text is stable.

Applying fixes: each round parses the text, runs the rules, keeps the
fixable findings whose replaced spans do not overlap, swaps those nodes in
one transform, adds the imports the fixes asked for, and checks that the
result compiles. Overlapping fixes wait for the next round, which re-parses
the new text. A round that yields code that does not compile is retried one
fix at a time so that a single bad fix never blocks the others, and text that
does not compile is never returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import MetadataWrapper

from rules.framework import Finding, Fix, Rule, Safety
from rules.precheck import TreeFacts

MAX_ROUNDS = 8


class ParseFailure(Exception):
    """The text is not Python that LibCST (and so this tool) can parse."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: cannot parse: {reason}")
        self.path = path
        self.reason = reason


def applicable_rules(source: str, rules: Iterable[type[Rule]]) -> list[type[Rule]]:
    """The rules whose trigger words occur in ``source``: a substring search
    that lets most files skip parsing altogether."""
    return [rule for rule in rules if any(word in source for word in rule.TRIGGERS)]


def parse_module(source: str, path: str = "<string>") -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise ParseFailure(path, f"line {exc.raw_line}: {exc.message}") from None
    except (RecursionError, ValueError) as exc:
        raise ParseFailure(path, str(exc) or type(exc).__name__) from None


def _run_rules(
    wrapper: MetadataWrapper, rules: Sequence[type[Rule]], path: str
) -> list[Finding]:
    findings: list[Finding] = []
    for rule_cls in rules:
        rule = rule_cls(path)
        wrapper.visit(rule)
        findings.extend(rule.findings)
    findings.sort(key=lambda f: (f.span.line, f.span.column, f.code))
    return findings


def prechecked_rules(source: str, rules: Sequence[type[Rule]]) -> list[type[Rule]]:
    """The rules of ``rules`` whose ``precheck`` keeps ``source``. Text that
    ``ast`` cannot parse keeps them all, so LibCST reports the problem."""
    facts = TreeFacts.from_source(source)
    if facts is None:
        return list(rules)
    return [rule for rule in rules if rule.precheck(facts)]


def active_rules(source: str, rules: Sequence[type[Rule]], precheck: bool = True) -> list[type[Rule]]:
    """The rules worth a LibCST parse of ``source``: trigger words first, then
    (unless ``precheck`` is false) the ``ast`` prechecks."""
    active = applicable_rules(source, rules)
    if active and precheck:
        active = prechecked_rules(source, active)
    return active


def check_source(
    source: str, path: str, rules: Sequence[type[Rule]], *, precheck: bool = True
) -> list[Finding]:
    """Findings of ``rules`` in ``source`` (fixes attached, not applied).
    ``precheck=False`` skips the ``ast`` prefilter (tests compare both)."""
    active = active_rules(source, rules, precheck)
    if not active:
        return []
    wrapper = MetadataWrapper(parse_module(source, path), unsafe_skip_copy=True)
    return _run_rules(wrapper, active, path)


class _Replacer(cst.CSTTransformer):
    def __init__(self, fixes: Sequence[Fix]) -> None:
        super().__init__()
        self._by_node = {id(fix.target): fix for fix in fixes}

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        fix = self._by_node.get(id(original_node))
        if fix is not None and fix.target is original_node:
            return fix.replacement
        return updated_node


def _apply(module: cst.Module, fixes: Sequence[Fix]) -> str:
    new_module = module.visit(_Replacer(fixes))
    imports = {imp for fix in fixes for imp in fix.imports}
    if imports:
        context = CodemodContext()
        for imp in sorted(imports, key=lambda i: (i.module, i.obj or "")):
            AddImportsVisitor.add_needed_import(context, imp.module, imp.obj)
        new_module = AddImportsVisitor(context).transform_module(new_module)
    return new_module.code


def compiles(source: str, path: str = "<string>") -> bool:
    try:
        compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _allowed(finding: Finding, unsafe_fixes: bool) -> bool:
    if not finding.fixable:
        return False
    return finding.safety is Safety.SAFE or (unsafe_fixes and finding.safety is Safety.UNSAFE)


def _non_overlapping(findings: Sequence[Finding]) -> list[Finding]:
    chosen: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.fix.span.line, f.fix.span.column)):
        if all(not finding.fix.span.overlaps(other.fix.span) for other in chosen):
            chosen.append(finding)
    return chosen


@dataclass
class FixResult:
    source: str
    applied: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    rejected: list[Finding] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.applied)


def fix_source(
    source: str,
    path: str,
    rules: Sequence[type[Rule]],
    *,
    unsafe_fixes: bool = False,
) -> FixResult:
    """Apply every allowed fix of ``rules`` to ``source`` until nothing changes.

    ``applied`` are the findings whose fixes were applied (positions refer to
    the text they were found in), ``remaining`` the findings still present in
    the final text, ``rejected`` fixes dropped because their output did not
    compile.
    """
    result = FixResult(source)
    # Keyed by the replaced text rather than its position, which moves when
    # another fix adds an import above it.
    rejected_keys: set[tuple[str, str]] = set()
    for _ in range(MAX_ROUNDS):
        active = active_rules(result.source, rules)
        if not active:
            result.remaining = []
            break
        module = parse_module(result.source, path)
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        findings = _run_rules(wrapper, active, path)
        def key(finding: Finding) -> tuple[str, str]:
            return finding.code, wrapper.module.code_for_node(finding.fix.target)

        candidates = [f for f in findings if _allowed(f, unsafe_fixes) and key(f) not in rejected_keys]
        result.remaining = findings
        if not candidates:
            break
        chosen = _non_overlapping(candidates)
        new_source = _apply(wrapper.module, [f.fix for f in chosen])
        if not compiles(new_source, path):
            # Find the fixes that break compilation on their own; keep the rest.
            good = []
            for finding in chosen:
                if compiles(_apply(wrapper.module, [finding.fix]), path):
                    good.append(finding)
                else:
                    rejected_keys.add(key(finding))
                    result.rejected.append(finding)
            if not good:
                continue
            chosen = good
            new_source = _apply(wrapper.module, [f.fix for f in chosen])
            if not compiles(new_source, path):
                rejected_keys.update(key(f) for f in chosen)
                result.rejected.extend(chosen)
                continue
        if new_source == result.source:
            break
        result.source = new_source
        result.applied.extend(chosen)
    else:
        result.remaining = check_source(result.source, path, rules)
    return result

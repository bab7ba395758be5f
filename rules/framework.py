"""The rule contract: what a rule declares and how it reports findings.

A rule is one class in one file (``rules/<library>/<rule_name>.py``), built on
a LibCST visitor. It declares its identity (``code``, ``name``), its default
fix ``safety``, examples that double as tests (``VALID``, ``INVALID``), an
``EQUIVALENCE`` check when its fix is labelled safe, and a ``BENCH`` so that
speed-ups are measured rather than claimed.

While visiting a module the rule calls :meth:`Rule.report` for each flagged
node, optionally with a replacement node. The engine (``rules.engine``) turns
those reports into findings and applies the replacements.
"""

from __future__ import annotations

import enum
import inspect
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MethodType
from typing import ClassVar

import libcst as cst
from libcst import CSTVisitor
from libcst.matchers import MatcherDecoratableVisitor
from libcst.metadata import CodeRange, PositionProvider

from rules.precheck import TreeFacts


class Safety(str, enum.Enum):
    """How far a fix may be trusted.

    ``safe`` fixes keep behaviour (backed by an equivalence check) and are
    applied by ``kaizen fix``; ``unsafe`` fixes may change behaviour and need
    ``--unsafe-fixes``; ``display-only`` findings are reported, never fixed.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


def _dedent(code: str) -> str:
    return textwrap.dedent(code).lstrip("\n")


@dataclass(frozen=True)
class Valid:
    """Code the rule must not flag."""

    code: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", _dedent(self.code))


@dataclass(frozen=True)
class Invalid:
    """Code the rule must flag.

    ``expected`` is the exact source after fixing, or ``None`` when the rule
    reports without fixing. ``unsafe`` marks an example whose expected rewrite
    only happens with unsafe fixes enabled.
    """

    code: str
    expected: str | None = None
    unsafe: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", _dedent(self.code))
        if self.expected is not None:
            object.__setattr__(self, "expected", _dedent(self.expected))


@dataclass(frozen=True)
class Bench:
    """A pattern benchmark: ``before`` and ``after`` timed after ``setup``.

    ``after`` defaults to the rule's own fix applied to ``before``, so the
    figure measures the code the rule really writes. ``size`` states what was
    measured ("4,000 rows, 6 columns"): a pattern figure is about the pattern
    at that size, not about the user's code.
    """

    setup: str
    before: str
    size: str
    after: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "setup", _dedent(self.setup))
        object.__setattr__(self, "before", _dedent(self.before))
        if self.after is not None:
            object.__setattr__(self, "after", _dedent(self.after))


@dataclass(frozen=True)
class Equivalence:
    """Runs ``template`` before and after the rule's fix on generated inputs.

    ``inputs`` names a function ``"module:function"`` returning a hypothesis
    strategy of ``{name: value}`` dicts bound as globals for ``template``; the
    module must import only the standard library, hypothesis and the library
    the rule is about, because it runs in the target's interpreter.
    ``outputs`` names the variables compared exactly after both runs; the
    inputs themselves are compared too, so a fix that mutates differently is
    caught. ``setup`` is prepended to both versions (imports, helpers).
    """

    template: str
    inputs: str
    outputs: tuple[str, ...]
    setup: str = ""
    max_examples: int = 150
    unsafe: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "template", _dedent(self.template))
        object.__setattr__(self, "setup", _dedent(self.setup))


@dataclass(frozen=True)
class Span:
    """1-based lines and columns, end exclusive, as editors and ruff show them."""

    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def from_range(cls, rng: CodeRange) -> Span:
        return cls(rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1)

    def overlaps(self, other: Span) -> bool:
        return not (
            (self.end_line, self.end_column) <= (other.line, other.column)
            or (other.end_line, other.end_column) <= (self.line, self.column)
        )


@dataclass(frozen=True)
class Import:
    """An import a fix needs, added through LibCST's ``AddImportsVisitor``."""

    module: str
    obj: str | None = None


@dataclass
class Fix:
    """Replace ``target`` (an original node) with ``replacement``."""

    target: cst.CSTNode
    replacement: cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel
    span: Span
    imports: tuple[Import, ...] = ()


@dataclass
class Finding:
    """One flagged place. Plain data; ``fix`` is live CST and never serialised."""

    code: str
    name: str
    path: str
    span: Span
    message: str
    safety: Safety
    fixable: bool = False
    fix: Fix | None = field(default=None, repr=False, compare=False)

    @property
    def line(self) -> int:
        return self.span.line

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "path": self.path,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "message": self.message,
            "safety": self.safety.value,
            "fixable": self.fixable,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        """Rebuild a finding read from the cache (no fix attached)."""
        span = Span(data["line"], data["column"], data["end_line"], data["end_column"])
        return cls(
            data["code"],
            data["name"],
            data["path"],
            span,
            data["message"],
            Safety(data["safety"]),
            fixable=data["fixable"],
        )


DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety")
_CODE_RE = re.compile(r"^KZ[1-4]\d\d$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class Rule(MatcherDecoratableVisitor):
    """Base class of every rule. Subclasses visit a module and call ``report``.

    Class attributes a rule sets:

    ``code``, ``name``, ``safety``: identity and the default fix safety.
    ``message``: the default finding message.
    ``TRIGGERS``: substrings of which at least one must occur in a file's text
    for the rule to parse it at all; this keeps most files away from LibCST.
    ``VALID`` / ``INVALID``: examples that are also tests.
    ``EQUIVALENCE``: required when ``safety`` is safe.
    ``BENCH``: the pattern benchmark.
    """

    METADATA_DEPENDENCIES: ClassVar[Sequence] = (PositionProvider,)

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    message: ClassVar[str] = ""
    safety: ClassVar[Safety] = Safety.DISPLAY_ONLY
    TRIGGERS: ClassVar[tuple[str, ...]] = ()
    VALID: ClassVar[Sequence[Valid]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()
    EQUIVALENCE: ClassVar[Equivalence | None] = None
    BENCH: ClassVar[Bench | None] = None

    def __init__(self, path: str = "<string>") -> None:
        # MatcherDecoratableVisitor.__init__ walks dir(self) three times to find
        # decorated methods: about 16 ms per instance, paid per rule per file.
        # The result depends only on the class, so it is gathered once per class
        # and re-bound to each new instance.
        gathered = type(self).__dict__.get("_gathered_matcher_funcs")
        if gathered is None:
            super().__init__()
            unbind = lambda funcs: {k: tuple(f.__func__ for f in v) for k, v in funcs.items()}
            type(self)._gathered_matcher_funcs = (
                unbind(self._extra_visit_funcs),
                unbind(self._extra_leave_funcs),
                tuple(self._matchers),
            )
        else:
            CSTVisitor.__init__(self)
            visit_funcs, leave_funcs, matchers = gathered
            bind = lambda funcs: {k: tuple(MethodType(f, self) for f in v) for k, v in funcs.items()}
            self._extra_visit_funcs = bind(visit_funcs)
            self._extra_leave_funcs = bind(leave_funcs)
            self._matchers = dict.fromkeys(matchers)
        self.path = path
        self.findings: list[Finding] = []

    # -- reporting ---------------------------------------------------------
    def report(
        self,
        node: cst.CSTNode,
        message: str | None = None,
        *,
        replacement: cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel | None = None,
        replace: cst.CSTNode | None = None,
        safety: Safety | None = None,
        imports: Sequence[Import] = (),
    ) -> None:
        """Flag ``node``; with ``replacement``, offer a fix replacing ``replace``
        (default: ``node`` itself) by it. A rule that cannot prove its
        preconditions reports with ``replacement=None`` or ``safety=DISPLAY_ONLY``."""
        span = Span.from_range(self.get_metadata(PositionProvider, node))
        fix = None
        if replacement is not None:
            target = replace if replace is not None else node
            target_span = (
                span if target is node
                else Span.from_range(self.get_metadata(PositionProvider, target))
            )
            fix = Fix(target, replacement, target_span, tuple(imports))
        safety = safety or self.safety
        self.findings.append(
            Finding(
                code=self.code,
                name=self.name,
                path=self.path,
                span=span,
                message=message or self.message,
                safety=safety,
                fixable=fix is not None and safety is not Safety.DISPLAY_ONLY,
                fix=fix,
            )
        )

    @classmethod
    def precheck(cls, facts: TreeFacts) -> bool:
        """False when ``facts`` (read with ``ast``) show the pattern cannot
        occur, so the file is never parsed by LibCST for this rule. Must
        never be stricter than the rule itself; the default keeps every file."""
        return True

    # -- metadata for docs and the catalogue -------------------------------
    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        """The docstring split into its ``## Section`` parts."""
        # cleandoc, not dedent: a docstring whose first line follows the quotes
        # has an unindented first line, and dedent then removes nothing.
        doc = inspect.cleandoc(cls.__doc__ or "")
        sections: dict[str, str] = {}
        current = None
        lines: list[str] = []
        for raw in doc.splitlines():
            if raw.startswith("## "):
                if current is not None:
                    sections[current] = "\n".join(lines).strip()
                current, lines = raw[3:].strip(), []
            elif current is not None:
                lines.append(raw)
        if current is not None:
            sections[current] = "\n".join(lines).strip()
        return sections

    @classmethod
    def library(cls) -> str:
        return {"1": "python", "2": "pandas", "3": "polars", "4": "torch"}[cls.code[2]]

    @classmethod
    def has_fix(cls) -> bool:
        """Derived from the examples, never declared."""
        return any(example.expected is not None for example in cls.INVALID)

    @classmethod
    def contract_problems(cls) -> list[str]:
        """What this rule class gets wrong about the contract (empty when fine)."""
        problems = []
        if not _CODE_RE.match(cls.code):
            problems.append(f"code {cls.code!r} is not KZ1xx-KZ4xx")
        if not _NAME_RE.match(cls.name):
            problems.append(f"name {cls.name!r} is not kebab-case")
        missing = [s for s in DOC_SECTIONS if s not in cls.doc_sections()]
        if missing:
            problems.append(f"docstring lacks sections {missing}")
        if not cls.TRIGGERS:
            problems.append("TRIGGERS is empty")
        if not cls.VALID or not cls.INVALID:
            problems.append("needs VALID and INVALID examples")
        if cls.safety is Safety.SAFE and cls.EQUIVALENCE is None:
            problems.append("a safe rule needs an EQUIVALENCE check")
        if cls.has_fix() and cls.BENCH is None:
            problems.append("a fixing rule needs a BENCH")
        if cls.safety is not Safety.DISPLAY_ONLY and not cls.has_fix():
            problems.append("a fixing safety label needs an INVALID example with a fix")
        return problems

"""``kaizen check [PATHS]``: report slow patterns, like ``ruff check``.

Exit codes: 0 no findings; 1 findings, or a file that could not be read or
parsed (reported as ``path: cannot read: ...`` / ``path: cannot parse: ...``
on stderr, the other files still checked); 2 a usage or configuration error
(unknown rule code, unknown ``[tool.kaizen]`` key). Ruff advisories
(``--with-ruff``) are shown but never change the exit code: they are ruff's
findings, and ruff's own run is where they should fail a build.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent import output
from agent.config import ConfigError, Settings, load_settings
from agent.errors import UserError
from agent.scan import FileError, ScanResult, project_root, scan
from rules.framework import Rule
from rules.registry import UnknownRule, select

HELP = "Report slow patterns in Python files (exit 1 when there are findings)."


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or folders (default: .)")
    parser.add_argument(
        "--select", action="append", metavar="CODES",
        help="rule codes, prefixes or names to run, comma-separated (repeatable; overrides the config)",
    )
    parser.add_argument(
        "--ignore", action="append", metavar="CODES",
        help="rule codes, prefixes or names to skip, comma-separated (repeatable; overrides the config)",
    )
    parser.add_argument(
        "--unsafe-fixes", action=argparse.BooleanOptionalAction, default=None,
        help="also count (check) or apply (fix) fixes labelled unsafe",
    )
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write .kaizen_cache")
    parser.add_argument(
        "-j", "--jobs", type=_positive_int, default=None, metavar="N",
        help="worker processes for parsing (default: the number of CPUs)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--output-format", choices=("text", "json", "sarif"), default="text",
        help="text (default), a JSON array of findings, or SARIF 2.1.0",
    )
    parser.add_argument(
        "--with-ruff", action=argparse.BooleanOptionalAction, default=None,
        help="also show ruff's performance families (PERF, PD, NPY, FURB) as advisories",
    )


def split_selectors(values: Sequence[str] | None) -> tuple[str, ...] | None:
    """``["KZ2,KZ101", "KZ4"]`` -> ``("KZ2", "KZ101", "KZ4")``; None stays None."""
    if values is None:
        return None
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


@dataclass
class Context:
    paths: list[Path]
    root: Path
    settings: Settings
    rules: list[type[Rule]]
    show: Callable[[str], str]
    use_cache: bool
    jobs: int | None


def display_path_function(root: Path, cwd: Path) -> Callable[[str], str]:
    """Root-relative finding paths -> paths relative to ``cwd`` when under it."""
    cwd = cwd.resolve()

    def show(path: str) -> str:
        absolute = Path(path) if Path(path).is_absolute() else root / path
        try:
            return absolute.relative_to(cwd).as_posix()
        except ValueError:
            return str(absolute)

    return show


def prepare(args: argparse.Namespace) -> Context:
    """Paths, project root, settings (file, then flags) and the selected rules."""
    paths = list(args.paths) or [Path(".")]
    root = project_root(paths)
    settings, pyproject = load_settings(root)
    overrides = {
        "select": split_selectors(args.select),
        "ignore": split_selectors(args.ignore),
        "unsafe_fixes": args.unsafe_fixes,
        "with_ruff": getattr(args, "with_ruff", None),
    }
    settings = settings.replace(**overrides)
    try:
        rules = select(settings.select, settings.ignore)
    except UnknownRule as exc:
        if args.select is None and args.ignore is None and pyproject is not None:
            raise ConfigError(f"{exc} (in [tool.kaizen] of {pyproject})") from None
        raise UserError(str(exc), exit_code=2) from None
    return Context(
        paths=paths,
        root=root,
        settings=settings,
        rules=rules,
        show=display_path_function(root, Path.cwd()),
        use_cache=not args.no_cache,
        jobs=args.jobs,
    )


def print_errors(errors: Sequence[FileError], show: Callable[[str], str]) -> None:
    for error in errors:
        print(f"{show(error.path)}: {error.message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    context = prepare(args)
    result: ScanResult = scan(
        context.paths, context.rules, root=context.root, settings=context.settings,
        use_cache=context.use_cache, jobs=context.jobs,
    )
    advisories: list[dict] = []
    if context.settings.with_ruff:
        from agent import ruff

        ruff_result = ruff.collect(context.paths, context.root, context.settings.ruff_families)
        if ruff_result.problem:
            print(f"kaizen: {ruff_result.problem}", file=sys.stderr)
        advisories = ruff_result.advisories

    print_errors(result.errors, context.show)
    if args.output_format == "json":
        sys.stdout.write(output.render_json(result.findings, advisories, show=context.show))
    elif args.output_format == "sarif":
        sys.stdout.write(
            output.render_sarif(result.findings, advisories, context.rules, result.errors, show=context.show)
        )
    else:
        sys.stdout.write(
            output.render_text(
                result.findings, advisories, result.files,
                show=context.show, unsafe_fixes=context.settings.unsafe_fixes,
                errors=len(result.errors),
            )
        )
    return 1 if result.findings or result.errors else 0


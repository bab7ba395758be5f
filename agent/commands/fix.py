"""``kaizen fix [PATHS]``: apply the safe fixes in place (``--unsafe-fixes`` adds unsafe ones).

Exit codes: 0 nothing left to report; 1 findings remain after fixing (or,
with ``--diff``, there would be changes), or a file could not be read,
parsed or written; 2 a usage or configuration error. With ``--diff`` no file
is written: the unified diff goes to stdout and the summary to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from agent import output
from agent.commands.check import add_common_arguments, prepare, print_errors
from agent.fixing import fix_paths, render_diffs

HELP = "Apply safe fixes in place (--unsafe-fixes adds unsafe ones; --diff only shows them)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--diff", action="store_true", help="print the unified diff and write nothing")


def _codes(findings) -> str:
    counts = Counter(f.code for f in findings)
    return ", ".join(f"{code} x{count}" if count > 1 else code for code, count in sorted(counts.items()))


def _noun(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def run(args: argparse.Namespace) -> int:
    context = prepare(args)
    unsafe = context.settings.unsafe_fixes
    outcome = fix_paths(
        context.paths, context.rules, root=context.root, settings=context.settings,
        unsafe_fixes=unsafe, write=not args.diff, use_cache=context.use_cache, jobs=context.jobs,
    )
    print_errors(outcome.errors, context.show)
    fixed_count = len(outcome.applied)
    rejected = [f for fix in outcome.changed for f in fix.rejected]

    if args.diff:
        sys.stdout.write(render_diffs(outcome.changed, context.show))
        if outcome.changed:
            print(
                f"Would fix {_noun(fixed_count, 'finding')} in {_noun(len(outcome.changed), 'file')}.",
                file=sys.stderr,
            )
        else:
            print("No fixes available.", file=sys.stderr)
        return 1 if outcome.changed or outcome.errors else 0

    for fix in outcome.changed:
        print(f"Fixed {context.show(fix.path)}: {_codes(fix.applied)}")
    for finding in outcome.remaining:
        print(output.finding_line(finding, context.show(finding.path), unsafe))
    total = fixed_count + len(outcome.remaining)
    if total == 0:
        print(f"No findings in {_noun(outcome.files, 'file')}.")
    else:
        print(
            f"Found {_noun(total, 'finding')} ({fixed_count} fixed, {len(outcome.remaining)} remaining)."
        )
        hidden = sum(f.fixable and f.safety.value == "unsafe" for f in outcome.remaining) if not unsafe else 0
        if hidden:
            print(f"{_noun(hidden, 'more fix', 'more fixes')} available with `kaizen fix --unsafe-fixes`.")
    if rejected:
        print(
            f"{_noun(len(rejected), 'fix', 'fixes')} left out because the result did not compile: "
            f"{_codes(rejected)}."
        )
    return 1 if outcome.remaining or outcome.errors else 0

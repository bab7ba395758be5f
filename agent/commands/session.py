"""``kaizen session [REPO]``: the autonomous session (see ``agent.session``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agent.config import ConfigError, parse_duration
from agent.errors import UserError

HELP = ("Apply rules to a repository in a temporary worktree, verify and measure each "
        "change, and commit the survivors with a report to a new branch.")


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _selectors(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repo", nargs="?", default=".", type=Path,
                        help="the git repository to work on (default: the current folder)")
    parser.add_argument("--base", metavar="REF", help="start from this commit or ref (default: HEAD)")
    parser.add_argument("--branch", metavar="NAME",
                        help="name of the branch to create (default: <branch-prefix><UTC stamp>)")
    parser.add_argument("--select", metavar="CODES", type=_selectors, action="extend",
                        help="only these rule codes, prefixes or names (comma-separated)")
    parser.add_argument("--ignore", metavar="CODES", type=_selectors, action="extend",
                        help="never these rule codes, prefixes or names (comma-separated)")
    parser.add_argument("--unsafe-fixes", action="store_true", default=None,
                        help="also try fixes labelled unsafe (each still has to pass every gate)")
    parser.add_argument("--budget", metavar="TIME", type=_duration,
                        help="stop starting new changes after this long, e.g. 20m (default: 20m)")
    parser.add_argument("--max-commits", metavar="N", type=_count, help="most change commits (default: 10)")
    parser.add_argument("--dry-run", action="store_true",
                        help="verify and measure, but commit nothing and create no branch")
    parser.add_argument("--python", metavar="PATH",
                        help="the target's interpreter (default: REPO/.venv/bin/python, else this one)")
    parser.add_argument("--push", metavar="REMOTE", help="push the new branch to this remote")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object")


def _print_text(summary: dict) -> None:
    status = summary["status"]
    commits, reverted = summary["commits"], summary["reverted"]
    if status == "nothing-to-do":
        print(f"kaizen: nothing to do: {summary['stop_reason']}.")
    else:
        print(f"kaizen: {len(commits)} change(s) kept, {len(reverted)} reverted ({status}).")
        for commit in commits:
            speed = (commit["measured"].get("pattern") or {}).get("speedup")
            figure = f" (pattern {speed:.2f}x)" if speed else ""
            print(f"  kept     {commit['rule']} {', '.join(commit['files'])}{figure}")
        for item in reverted:
            print(f"  reverted {item['rule']} {', '.join(item['files'])}: {item['gate']}: {item['reason']}")
        if summary["stop_reason"] and status != "completed":
            print(f"kaizen: stopped early: {summary['stop_reason']}.")
    if summary["branch"]:
        print(f"kaizen: branch {summary['branch']}; report {summary['report']} on that branch.")
    elif summary["report"]:
        print(f"kaizen: no branch was created; the report is at {summary['report']}.")


def run(args: argparse.Namespace) -> int:
    from agent.session import SessionOptions, run_session

    options = SessionOptions(
        base=args.base, branch=args.branch, select=args.select, ignore=args.ignore,
        unsafe_fixes=args.unsafe_fixes, budget=args.budget, max_commits=args.max_commits,
        dry_run=args.dry_run, python=args.python, push=args.push, json=args.json,
    )
    try:
        summary = run_session(args.repo, options)
    except KeyboardInterrupt:
        print("kaizen: the session was interrupted; its worktree was removed and the "
              "repository is as it was.", file=sys.stderr)
        return 130
    except UserError:
        raise
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_text(summary)
    return 0

"""``kaizen demo [--path DIR] [--json]``: build the demo training project and
run a full session on it."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from agent.demo import BRANCH, run_demo
from agent.errors import UserError

HELP = "Build a small training project in a scratch git repository and run a session on it."

DEFAULT_BUDGET_S = 600.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--path", type=Path, default=None,
        help="build the project here (absent or empty folder; default: a new temporary folder)",
    )
    parser.add_argument("--json", action="store_true", help="print the session summary as JSON")
    # Off by default, following the rule labels. The host-sync family is still
    # represented by KZ406 (per-element .item() reads, a safe fix); KZ402's
    # per-step accumulation fix is unsafe, pays off only on a GPU, and turning
    # unsafe fixes on also swaps KZ201's verified positional rewrite for its
    # unsafe column-wise one.
    parser.add_argument(
        "--unsafe-fixes", action="store_true",
        help="also try fixes labelled unsafe (KZ402 per-step accumulation: worth it on a GPU)",
    )
    parser.add_argument(
        "--budget", type=float, default=DEFAULT_BUDGET_S,
        help=f"seconds the session may spend (default: {DEFAULT_BUDGET_S:.0f})",
    )


def _say(args: argparse.Namespace, message: str) -> None:
    # With --json, stdout carries only the summary; progress goes to stderr.
    print(message, file=sys.stderr if args.json else sys.stdout, flush=True)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.budget <= 0:
        raise UserError("--budget must be a positive number of seconds.", exit_code=2)
    path = args.path if args.path is not None else Path(tempfile.mkdtemp(prefix="kaizen-demo-")) / "marketlab"
    _say(args, f"demo project: {path} (a git repository on `{BRANCH}`)")
    _say(args, "running a session on it: baseline tests and smoke run, then each rule's "
               "changes applied, verified, measured and committed or reverted...")
    summary = run_demo(path, budget=args.budget, unsafe_fixes=args.unsafe_fixes, json=args.json)
    summary = dict(summary, demo_path=str(path), demo_wall_s=round(time.perf_counter() - started, 1))
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return 0 if summary.get("status") != "failed" else 1
    commits = summary.get("commits") or []
    print(f"status: {summary.get('status')}"
          + (f" ({summary['stop_reason']})" if summary.get("stop_reason") else ""))
    print(f"branch: {summary.get('branch')} with {len(commits)} verified commit(s)")
    for commit in commits:
        files = ", ".join(commit.get("files") or [])
        print(f"  {str(commit.get('sha'))[:10]}  {commit.get('rule')}  {files}")
    for reverted in summary.get("reverted") or []:
        print(f"  reverted {reverted.get('rule')} at gate {reverted.get('gate')}: {reverted.get('reason')}")
    print(f"report: {summary.get('report')} (committed on the branch)")
    if summary.get("branch") and summary.get("report"):
        print(f"read it: git -C {path} show {summary['branch']}:{summary['report']}")
    print(f"the demo took {summary['demo_wall_s']} s; `{BRANCH}` is unchanged")
    return 0 if summary.get("status") != "failed" else 1

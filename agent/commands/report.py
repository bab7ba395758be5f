"""``kaizen report RECORD.json [-o OUT.md]``: render a session report again."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agent.errors import UserError
from reports.session import RecordError, render_markdown

HELP = "Render a session's JSON record as its Markdown report."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("record", type=Path, help="the session record (kaizen-<stamp>.json)")
    parser.add_argument(
        "-o", "--output", type=Path, default=None, help="write the report here instead of stdout"
    )


def load_record(path: Path) -> dict:
    """The record at ``path``; every problem is one sentence (exit code 2)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path} does not exist.", exit_code=2) from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder, not a session record.", exit_code=2) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}.", exit_code=2) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}).", exit_code=2
        ) from None


def run(args: argparse.Namespace) -> int:
    record = load_record(args.record)
    try:
        markdown = render_markdown(record)
    except RecordError as exc:
        raise UserError(f"{args.record} is not a session record: {exc}.", exit_code=2) from None
    if args.output is None:
        sys.stdout.write(markdown)
        return 0
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(markdown, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {args.output}: {exc.strerror or exc}.", exit_code=2) from None
    print(f"wrote {args.output}", file=sys.stderr)
    return 0

"""The ``kaizen`` entry point: parses arguments and dispatches to a command.

Every error a user can cause ends here as one sentence on stderr and a
non-zero exit code: 2 for usage or configuration errors, 1 for a failed
operation. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from agent import __version__
from agent.config import ConfigError
from agent.errors import UserError

# Subcommand name -> module under agent.commands. Modules are imported lazily
# so that `kaizen check` never pays for importing torch or GitPython.
COMMANDS = {
    "check": "check",
    "fix": "fix",
    "rules": "rules_list",
    "rule": "rule_doc",
    "session": "session",
    "report": "report",
    "demo": "demo",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one sentence and exit 2, like the rest
        self.exit(2, f"kaizen: {message} (see `kaizen --help`)\n")


def _load(name: str):
    try:
        return importlib.import_module(f"agent.commands.{COMMANDS[name]}")
    except ModuleNotFoundError as exc:
        if exc.name == f"agent.commands.{COMMANDS[name]}":
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kaizen",
        description="Find and fix slow patterns in Python ML training code, with proof.",
    )
    parser.add_argument("--version", action="version", version=f"kaizen {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        module = _load(name)
        if module is None:
            continue
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    try:
        return args._run(args)
    except ConfigError as exc:
        print(f"kaizen: {exc}", file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"kaizen: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("kaizen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The `pmp-bot` command line: one subcommand per way of running the bot.

Each subcommand lives beside the code it runs and exposes ``register(subparsers)``;
this module only collects them, so adding a subcommand never touches the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from bot import __version__

# Modules that contribute a subcommand, in the order `--help` lists them.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "bot.run.shell",
    "bot.run.serve",
    "bot.run.socket",
    "bot.sandbox.cli",
    "bot.run.reencrypt",
    "bot.run.manifest",
)

Runner = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmp-bot",
        description="A Slack app for PMP: look up and change CRM records from Slack.",
    )
    parser.add_argument("--version", action="version", version=f"pmp-bot {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Runner | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

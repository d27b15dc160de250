"""The ``bmsgw`` argument parser: a top-level parser and one subcommand per ``cmd_*`` module.

Argparse errors are one line (``UsageError``, exit 2 in :func:`~vendor_plugins.cli.app.main`). The vendor groups
offer every registered plugin's own options, so the parser is built from the registry; a plugin option that would
clash with one of ``bmsgw``'s own flags (found by building the parser without plugins first) is left out.
"""

from __future__ import annotations

import argparse
from importlib import metadata
from typing import NoReturn

from ..registry import Registry
from . import cmd_capture, cmd_probe, cmd_read, cmd_scan, cmd_serve, cmd_set, cmd_simulate, cmd_vendors, common
from .vendor_options import Offer

#: The commands, in the order ``bmsgw --help`` lists them.
COMMANDS = (cmd_vendors, cmd_scan, cmd_read, cmd_probe, cmd_capture, cmd_set, cmd_simulate, cmd_serve)
#: The distribution whose version ``bmsgw --version`` prints (``pyproject.toml``'s ``name``).
DISTRIBUTION = "bms-gateway"


def installed_version() -> str:
    """The installed ``bms-gateway`` version (its metadata), or ``unknown`` when run from an uninstalled tree."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit with 2 (via ``main``)."""

    def error(self, message: str) -> NoReturn:
        """Report a usage error as one line."""
        raise common.UsageError(f"{message} (see '{self.prog} --help')")


def _build(offer: Offer) -> argparse.ArgumentParser:
    parser = Parser(prog=common.PROG, description="Read, probe, control and simulate battery-management systems.")
    parser.add_argument("--debug", action="store_true", help="debug logging and tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub, offer)
    return parser


def _option_strings(parser: argparse.ArgumentParser) -> frozenset[str]:
    """Every option string of ``parser`` and its subcommands."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                found |= _option_strings(subparser)
    return frozenset(found)


def build_parser(registry: Registry | None = None) -> argparse.ArgumentParser:
    """The ``bmsgw`` argument parser for the plugins of ``registry`` (default: :func:`.common.registry`)."""
    registry = registry if registry is not None else common.registry()
    reserved = _option_strings(_build(Offer.of(Registry())))
    return _build(Offer.of(registry, reserved))

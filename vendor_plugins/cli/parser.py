"""The ``bmsgw`` argument parser: a top-level parser and one subcommand per ``cmd_*`` module.

Argparse errors are one line (``UsageError``, exit 2 in :func:`~vendor_plugins.cli.app.main`). The vendor groups
offer every registered plugin's own options, so the parser is built from the registry; a plugin option that would
clash with one of ``bmsgw``'s own flags (found by building the parser without plugins first) is left out.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any, NoReturn

from ..registry import Registry
from . import (
    cmd_capture,
    cmd_probe,
    cmd_read,
    cmd_scan,
    cmd_serve,
    cmd_set,
    cmd_settings,
    cmd_simulate,
    cmd_vendors,
    common,
)
from .vendor_options import Offer

#: The commands, in the order ``bmsgw --help`` lists them.
COMMANDS = (cmd_vendors, cmd_scan, cmd_read, cmd_probe, cmd_capture, cmd_set, cmd_settings, cmd_simulate, cmd_serve)
#: The distribution whose version ``bmsgw --version`` prints (``pyproject.toml``'s ``name``).
DISTRIBUTION = "bms-gateway"


def installed_version() -> str:
    """The installed ``bms-gateway`` version (its metadata), or ``unknown`` when run from an uninstalled tree."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit with 2 (via ``main``).

    An option it does not know (``--vendr``) is named in the error with the closest known option, whatever
    argparse would have complained about first (a missing ``--vendor``).
    """

    _seen: Sequence[str] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """An ``argparse`` parser that suggests close matches for a mistyped command or choice."""
        kwargs.setdefault("suggest_on_error", True)
        super().__init__(*args, **kwargs)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Remember the arguments (for :meth:`error`), then parse as argparse does."""
        self._seen = list(args) if args is not None else sys.argv[1:]
        return super().parse_known_args(args, namespace)

    def _command(self) -> argparse.ArgumentParser:
        """The subcommand's parser named on the command line (``self`` when there is none)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                for arg in self._seen:
                    chosen = action.choices.get(arg)
                    if isinstance(chosen, argparse.ArgumentParser):
                        return chosen
        return self

    def unknown_option(self) -> str | None:
        """``unknown option --vendr (did you mean --vendor?)`` for the first option the command does not know."""
        known = [s for parser in {self, self._command()} for action in parser._actions for s in action.option_strings]
        for arg in self._seen:
            if arg == "--":
                break
            name = arg.split("=", 1)[0]
            if not name.startswith("-") or name in known or _is_number(name):
                continue
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]}?)" if close else ""
            return f"unknown option {name}{hint}"
        return None

    def error(self, message: str) -> NoReturn:
        """Report a usage error as one line (an unknown option first: it is usually why the rest failed)."""
        unknown = self.unknown_option()
        if unknown is not None:
            message = unknown if "unrecognized arguments" in message else f"{unknown}; {message}"
        raise common.UsageError(f"{message} (see '{self._command().prog} --help')")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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

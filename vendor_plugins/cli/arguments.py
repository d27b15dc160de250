"""Argument types and the option groups several ``bmsgw`` commands share: transport, vendor, ``--debug``.

Every setting is checked by :mod:`vendor_plugins.settings` while the command line is parsed: a bad one is a usage
error naming the option, the value and what is allowed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, Literal

from .. import settings
from ..registry import Registry
from . import vendor_options

type AddressSpec = int | Literal["all"] | None


def positive_int(text: str) -> int:
    """A whole number of at least 1 (decimal or ``0x`` hex)."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return value


def byte(text: str) -> int:
    """A number 0..255 (decimal or ``0x`` hex)."""
    try:
        return settings.byte_value(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def address(text: str) -> int | Literal["all"]:
    """A pack address, or ``all`` (every pack on the bus)."""
    if text.strip().lower() == "all":
        return "all"
    return byte(text)


#: The scheme ``bmsgw simulate`` and link descriptions print (``tcp://127.0.0.1:4196``); ``--tcp`` accepts it.
TCP_SCHEME = "tcp://"


def without_tcp_scheme(text: str) -> str:
    """``text`` without a leading ``tcp://`` (and a trailing ``/``): what ``bmsgw simulate`` prints is a target.

    Any other scheme is left in place, so the setting's validator refuses it by name.
    """
    stripped = text.strip()
    if stripped[: len(TCP_SCHEME)].lower() == TCP_SCHEME:
        return stripped[len(TCP_SCHEME) :].rstrip("/")
    return text


def _checked(validator: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    """An argparse ``type`` from a :mod:`~vendor_plugins.settings` validator."""

    def convert(text: str) -> Any:
        try:
            return validator(text)
        except settings.InvalidSetting as err:
            raise argparse.ArgumentTypeError(err.reason) from None

    convert.__name__ = name  # argparse names the type in some messages
    return convert


baud: Callable[[str], int] = _checked(settings.BAUD, "baud")
timeout: Callable[[str], float] = _checked(settings.TIMEOUT, "timeout")
watch: Callable[[str], float] = _checked(settings.WATCH, "watch")


def add_debug(parser: argparse.ArgumentParser) -> None:
    """``--debug`` on a subcommand (``bmsgw --debug read …`` works too)."""
    # SUPPRESS keeps a subcommand's default from overwriting a top-level ``bmsgw --debug read ...``.
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="debug logging and tracebacks on errors"
    )


#: ``--timeout`` help for commands that read (``probe`` states its own, shorter default).
TIMEOUT_HELP = "per-request timeout in seconds (default 2)"


def add_transport(parser: argparse.ArgumentParser, *, timeout_help: str = TIMEOUT_HELP) -> None:
    """The transport options: exactly one of ``--tcp``, ``--serial``, ``--ble``, ``--modbus-tcp``."""
    group = parser.add_argument_group("transport (exactly one)")
    choice = group.add_mutually_exclusive_group(required=True)
    choice.add_argument(
        "--tcp", metavar="HOST:PORT", help="raw bytes to an RS485/UART-to-TCP bridge (tcp://HOST:PORT too)"
    )
    choice.add_argument("--serial", metavar="DEV", help="serial port (UART, RS485, RS232), e.g. /dev/ttyUSB0")
    choice.add_argument("--ble", metavar="ADDR", help="Bluetooth LE address of the pack")
    choice.add_argument("--modbus-tcp", metavar="HOST[:PORT]", help="Modbus-TCP (port 502 by default)")
    group.add_argument("--baud", type=baud, metavar="N", help="serial baud rate (with --serial), e.g. 9600")
    group.add_argument("--timeout", type=timeout, metavar="S", help=timeout_help)


def family_help(registry: Registry) -> str:
    """``--family`` help listing the families of every registered vendor."""
    known = "; ".join(f"{p.name}: {'|'.join(p.families)}" for p in registry if p.families)
    return f"protocol family, or auto ({known})" if known else "protocol family, or auto"


def add_vendor(parser: argparse.ArgumentParser, offer: vendor_options.Offer, *, vendor_required: bool) -> None:
    """``--vendor``, ``--family``, every plugin's own options and ``--address``."""
    group = parser.add_argument_group("vendor")
    group.add_argument("--vendor", required=vendor_required, metavar="NAME", help="vendor plugin (see 'bmsgw vendors')")
    group.add_argument("--family", metavar="F", help=family_help(offer.registry))
    vendor_options.add_flags(group, offer)
    group.add_argument(
        "--address", type=address, metavar="N|all", help="pack address on a bus (default: the vendor's single pack)"
    )

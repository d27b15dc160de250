"""``bmsgw`` — the command-line tool: list vendors, scan BLE, read, probe, capture and switch packs, serve simulators.

Exit codes (INTERFACES.md §4): 0 ok · 2 usage error · 3 device error (unreachable, timeout, protocol error) ·
4 control refused or not confirmed. Every error is one line on stderr (``bmsgw: error: …``); ``--debug`` adds
the traceback and debug logging. Every setting (``HOST:PORT``, serial device, BLE address, baud rate, pack address
for the vendor and link, timeouts) is checked by :mod:`vendor_plugins.settings` before anything is opened: a bad one
is a usage error naming the option, the value and what is allowed.

Examples::

    bmsgw vendors
    bmsgw read --tcp 192.168.1.50:8899 --vendor jbd --json --watch 5
    bmsgw probe --serial /dev/ttyUSB0 --address 1
    bmsgw capture --ble C8:47:8C:12:34:56 --vendor hiximi --out hiximi.json
    bmsgw set --serial /dev/ttyUSB0 --vendor jbd --switch discharge --off --allow-control
    bmsgw simulate --vendor jbd --tcp 127.0.0.1:0 --profile static

Heavy imports (transports, bleak, simulator servers) happen inside the commands that need them, so
``bmsgw vendors`` and argument errors stay fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import json
import logging
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from . import cli_format
from .errors import BmsError, ConfigError, ControlError, ControlRefused, DeviceTimeout, TransportError, UnsupportedError
from .model import BmsSnapshot, DeviceInfo, Switch
from .plugin import Advertisement, LinkKind, ProbeResult, Session, SessionOptions, SimulatorOptions, VendorPlugin
from .registry import Registry, default_registry

if TYPE_CHECKING:
    from .detect import Addresses, Detection, LinkFactory
    from .poller import BusPoller
    from .sim.base import Simulator
    from .transports.base import Link

PROG = "bmsgw"

EXIT_OK = 0
EXIT_FAILURE = 1  # an unexpected internal error (a bug): not part of the contract
EXIT_USAGE = 2
EXIT_DEVICE = 3
EXIT_CONTROL = 4
EXIT_INTERRUPTED = 130

#: Addresses ``--address all`` polls on a multi-address bus (up to 15 packs behind one connection).
BUS_ADDRESSES: tuple[int, ...] = tuple(range(1, 16))
#: Addresses ``bmsgw read --address all`` scans first (a lone pack may sit at 0, PROTOCOLS.md §4.1a).
SCAN_ADDRESSES: tuple[int, ...] = tuple(range(16))

DEFAULT_SCAN_SECONDS = 5.0
DEFAULT_BAUD = 9600
MODBUS_TCP_PORT = 502

_LOGGER = logging.getLogger(__name__)
_LIBRARY_LOGGER = logging.getLogger("vendor_plugins")

AddressSpec = int | Literal["all"] | None


# --- errors and small helpers -------------------------------------------------------------------
def one_line(err: BaseException) -> str:
    """An error as a single line of text (the class name when the error carries no message)."""
    text = " ".join(str(err).split())
    return text or type(err).__name__


def exit_code_for(err: BaseException) -> int:
    """The documented exit code for a library error: 2 configuration, 4 control, 3 everything else."""
    if isinstance(err, ConfigError):
        return EXIT_USAGE
    if isinstance(err, ControlError):
        return EXIT_CONTROL
    return EXIT_DEVICE


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)


class _UsageError(Exception):
    """Raised by the argument parser instead of printing usage and exiting."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit with 2 (via :func:`main`)."""

    def error(self, message: str) -> NoReturn:
        """Report a usage error as one line."""
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _positive_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return value


def _byte(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer (decimal or 0x hex): {text!r}") from None
    if not 0 <= value <= 0xFF:
        raise argparse.ArgumentTypeError(f"must be 0..255, not {text!r}")
    return value


def _address(text: str) -> int | Literal["all"]:
    if text.strip().lower() == "all":
        return "all"
    return _byte(text)


def _checked(validator_name: str) -> Callable[[str], Any]:
    """An argparse ``type`` from a :mod:`~vendor_plugins.settings` validator (imported on first use)."""

    def convert(text: str) -> Any:
        from . import settings

        try:
            return getattr(settings, validator_name)(text)
        except settings.InvalidSetting as err:
            raise argparse.ArgumentTypeError(err.reason) from None

    convert.__name__ = validator_name.lower()  # argparse names the type in some messages
    return convert


def _baud(text: str) -> int:
    value: int = _checked("BAUD")(text)
    return value


def _timeout(text: str) -> float:
    value: float = _checked("TIMEOUT")(text)
    return value


def _watch(text: str) -> float:
    value: float = _checked("WATCH")(text)
    return value


# --- argument parser ------------------------------------------------------------------------------
def _add_debug(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS keeps a subcommand's default from overwriting a top-level ``bmsgw --debug read ...``.
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="debug logging and tracebacks on errors"
    )


def _add_transport(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("transport (exactly one)")
    choice = group.add_mutually_exclusive_group(required=True)
    choice.add_argument("--tcp", metavar="HOST:PORT", help="raw bytes to an RS485/UART-to-TCP bridge")
    choice.add_argument("--serial", metavar="DEV", help="serial port (UART, RS485, RS232), e.g. /dev/ttyUSB0")
    choice.add_argument("--ble", metavar="ADDR", help="Bluetooth LE address of the pack")
    choice.add_argument("--modbus-tcp", metavar="HOST[:PORT]", help="Modbus-TCP (port 502 by default)")
    group.add_argument("--baud", type=_baud, metavar="N", help="serial baud rate (with --serial), e.g. 9600")
    group.add_argument("--timeout", type=_timeout, metavar="S", help="per-request timeout in seconds (default 2)")


def _add_vendor_options(parser: argparse.ArgumentParser, *, vendor_required: bool) -> None:
    group = parser.add_argument_group("vendor")
    group.add_argument("--vendor", required=vendor_required, metavar="NAME", help="vendor plugin (see 'bmsgw vendors')")
    group.add_argument("--family", metavar="F", help="protocol family, e.g. a5|d2|p81|auto (daly)")
    group.add_argument("--host-address", type=_byte, metavar="0x40|0x80", help="host address (daly a5)")
    group.add_argument(
        "--protocol", metavar="ascii|modbus", help="protocol (pace); modbus with --tcp/--serial means Modbus RTU"
    )
    group.add_argument(
        "--address", type=_address, metavar="N|all", help="pack address on a bus (default: the vendor's single pack)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``bmsgw`` argument parser."""
    parser = _Parser(prog=PROG, description="Read, probe, control and simulate battery-management systems.")
    parser.add_argument("--debug", action="store_true", help="debug logging and tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("vendors", help="list the registered vendor plugins")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _add_debug(p)
    p.set_defaults(handler=_cmd_vendors)

    p = sub.add_parser("scan", help="scan for BLE devices and show which plugins match them")
    p.add_argument(
        "--timeout", type=_timeout, default=DEFAULT_SCAN_SECONDS, metavar="S", help="scan duration (default 5)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _add_debug(p)
    p.set_defaults(handler=_cmd_scan)

    p = sub.add_parser("read", help="read one or more packs")
    _add_transport(p)
    _add_vendor_options(p, vendor_required=True)
    p.add_argument("--json", action="store_true", help="one JSON document (per round with --watch)")
    p.add_argument("--watch", type=_watch, metavar="SECONDS", help="repeat every SECONDS until Ctrl-C")
    _add_debug(p)
    p.set_defaults(handler=_cmd_read)

    p = sub.add_parser(
        "probe",
        help="find which vendor answers on a link (read-only)",
        description="Run every plugin's read-only probe (or --vendor's) and read the winner (the first answer)."
        " While probing, each request waits --timeout seconds (default 0.5, BLE 1.5).",
    )
    _add_transport(p)
    _add_vendor_options(p, vendor_required=False)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _add_debug(p)
    p.set_defaults(handler=_cmd_probe)

    p = sub.add_parser(
        "capture",
        help="read and record every request/response to a file (vectors JSON shape)",
        description="Read like 'read' while recording the raw traffic (timestamps, direction, hex) and what was"
        " decoded; attach the file to a bug report. Byte links only (--tcp, --serial, --ble).",
    )
    _add_transport(p)
    _add_vendor_options(p, vendor_required=True)
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the capture (JSON)")
    p.add_argument("--watch", type=_watch, metavar="SECONDS", help="read every SECONDS (until Ctrl-C)")
    p.add_argument(
        "--count", type=_positive_int, metavar="N", help="number of reads (default 1; with --watch: until Ctrl-C)"
    )
    _add_debug(p)
    p.set_defaults(handler=_cmd_capture)

    p = sub.add_parser("set", help="switch a charge/discharge MOSFET (needs --allow-control)")
    _add_transport(p)
    _add_vendor_options(p, vendor_required=True)
    p.add_argument("--switch", required=True, choices=[s.value for s in Switch], help="which MOSFET")
    state = p.add_mutually_exclusive_group(required=True)
    state.add_argument("--on", dest="state", action="store_const", const=True, help="switch it on")
    state.add_argument("--off", dest="state", action="store_const", const=False, help="switch it off")
    p.add_argument(
        "--allow-control", action="store_true", help="required: confirm that switching a MOSFET may cut power"
    )
    _add_debug(p)
    p.set_defaults(handler=_cmd_set)

    p = sub.add_parser("simulate", help="serve a simulated pack over TCP or a pseudo-terminal")
    p.add_argument("--vendor", required=True, metavar="NAME", help="vendor plugin to simulate")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", metavar="HOST:PORT", help="listen on HOST:PORT (port 0 picks a free one)")
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal (/dev/pts/N)")
    p.add_argument("--family", metavar="F", help="protocol family to simulate")
    p.add_argument("--packs", type=_positive_int, default=1, metavar="N", help="packs on the bus (default 1)")
    p.add_argument("--address", type=_byte, metavar="N", help="address of the (first) simulated pack")
    p.add_argument("--seed", type=int, metavar="N", help="random seed (repeatable live data)")
    p.add_argument("--baud", type=_baud, metavar="N", help="pace the pty at this baud rate (with --pty)")
    p.add_argument("--profile", metavar="NAME", help="simulator profile, e.g. live (default) or static")
    _add_debug(p)
    p.set_defaults(handler=_cmd_simulate)
    return parser


# --- shared plumbing -------------------------------------------------------------------------------
def _registry() -> Registry:
    return default_registry()


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """The transport chosen on the command line (validated, not yet opened).

    ``kind`` is what the plugin must support; for Modbus, ``via`` says how registers travel: ``"modbus-tcp"``
    (``--modbus-tcp``), ``"tcp"`` (RTU through a raw TCP bridge) or ``"serial"`` (RTU on a serial port).
    """

    kind: LinkKind
    target: str
    baud: int | None = None
    timeout: float | None = None
    via: str | None = None

    @property
    def option(self) -> str:
        """The command-line option that chose this transport (for messages)."""
        if self.kind is LinkKind.MODBUS:
            return f"--{self.via}" if self.via != "modbus-tcp" else "--modbus-tcp"
        return f"--{self.kind}"


def link_spec(args: argparse.Namespace) -> LinkSpec:
    """Validate the transport options; nothing is opened here.

    ``--modbus-tcp`` is Modbus-TCP; ``--tcp``/``--serial`` with ``--protocol modbus`` are Modbus RTU through a
    bridge or on a serial port (INTERFACES.md §4). Either needs a plugin that supports Modbus links.
    """
    tcp: str | None = args.tcp
    serial: str | None = args.serial
    ble: str | None = args.ble
    modbus_tcp: str | None = args.modbus_tcp
    baud: int | None = args.baud
    timeout: float | None = args.timeout
    from . import settings

    modbus = getattr(args, "protocol", None) == "modbus"
    if baud is not None and serial is None:
        raise ConfigError("--baud applies to --serial only")
    if modbus_tcp is not None:
        settings.HostPort("--modbus-tcp", default_port=MODBUS_TCP_PORT)(modbus_tcp)
        return LinkSpec(LinkKind.MODBUS, modbus_tcp, timeout=timeout, via="modbus-tcp")
    if tcp is not None:
        settings.HostPort("--tcp")(tcp)
        if modbus:
            return LinkSpec(LinkKind.MODBUS, tcp, timeout=timeout, via="tcp")
        return LinkSpec(LinkKind.TCP, tcp, timeout=timeout)
    if serial is not None:
        serial = settings.SerialDevice("--serial")(serial)
        if modbus:
            return LinkSpec(LinkKind.MODBUS, serial, baud=baud, timeout=timeout, via="serial")
        return LinkSpec(LinkKind.SERIAL, serial, baud=baud, timeout=timeout)
    if ble is not None:
        ble = settings.BleAddress("--ble")(ble)
        if modbus:
            raise ConfigError("--protocol modbus needs --serial, --tcp or --modbus-tcp, not --ble")
        return LinkSpec(LinkKind.BLE, ble, timeout=timeout)
    raise ConfigError("no transport given (one of --tcp, --serial, --ble, --modbus-tcp)")  # argparse prevents this


def check_link_kind(plugin: VendorPlugin, spec: LinkSpec) -> None:
    """Refuse (usage error) a transport the plugin cannot run over."""
    if spec.kind not in plugin.link_kinds:
        kinds = ", ".join(sorted(str(k) for k in plugin.link_kinds)) or "none"
        what = "Modbus" if spec.kind is LinkKind.MODBUS else f"{spec.kind} links"
        raise ConfigError(f"vendor {plugin.name!r} does not support {what} ({spec.option}; supported: {kinds})")
    if spec.kind is LinkKind.BLE and plugin.ble_profile is None:
        raise ConfigError(f"vendor {plugin.name!r} declares no BLE profile")


def check_address(plugin: VendorPlugin, spec: LinkSpec, args: argparse.Namespace) -> None:
    """Refuse (usage error) an ``--address N`` the vendor cannot use on this link (``all`` is always fine)."""
    from . import settings

    address: AddressSpec = args.address
    if not isinstance(address, int):
        return
    family: str | None = getattr(args, "family", None)
    protocol: str | None = getattr(args, "protocol", None)
    if family == "modbus":
        protocol = "modbus"
    extra: dict[str, str | int] = {} if protocol is None else {"protocol": protocol}
    allowed = settings.allowed_addresses(plugin, spec.kind, SessionOptions(family=family, extra=extra))
    settings.BusAddress("--address", allowed=allowed, vendor=plugin.name)(address)


def open_link(spec: LinkSpec, plugin: VendorPlugin) -> Link:
    """Create (not connect) the link ``spec`` describes; links connect on their first exchange."""
    from . import settings, transports

    timeout = spec.timeout if spec.timeout is not None else transports.DEFAULT_TIMEOUT
    if spec.kind is LinkKind.TCP:
        host, port = settings.HostPort("--tcp")(spec.target)
        return transports.TcpLink(host, port, timeout=timeout)
    if spec.kind is LinkKind.SERIAL:
        baudrate = spec.baud if spec.baud is not None else DEFAULT_BAUD
        return transports.SerialLink(spec.target, baudrate=baudrate, timeout=timeout)
    if spec.kind is LinkKind.BLE:
        profile = plugin.ble_profile
        if profile is None:
            raise ConfigError(f"vendor {plugin.name!r} declares no BLE profile")
        return transports.BleLink(spec.target, profile, timeout=timeout)
    if spec.kind is LinkKind.MODBUS:
        return _open_modbus_link(spec, timeout)
    raise ConfigError(f"{spec.kind} links are not supported yet")


def _open_modbus_link(spec: LinkSpec, timeout: float) -> Link:
    from . import settings

    try:
        from .transports.modbus import ModbusLink
    except ImportError as err:
        raise ConfigError(f"{spec.option} with Modbus is not supported yet ({one_line(err)})") from err
    if spec.via == "modbus-tcp":
        host, port = settings.HostPort("--modbus-tcp", default_port=MODBUS_TCP_PORT)(spec.target)
        return ModbusLink.tcp(host, port, timeout=timeout)
    if spec.via == "tcp":
        host, port = settings.HostPort("--tcp")(spec.target)
        return ModbusLink.rtu_over_tcp(host, port, timeout=timeout)
    baudrate = spec.baud if spec.baud is not None else DEFAULT_BAUD
    return ModbusLink.rtu_serial(spec.target, baudrate, timeout=timeout)


async def _close_quietly(link: Link) -> None:
    try:
        await link.close()
    except (BmsError, OSError) as err:
        _LOGGER.debug("closing %s failed: %s", link.description, err)


def session_options(args: argparse.Namespace, plugin: VendorPlugin, *, control: bool = False) -> SessionOptions:
    """Session options from ``--family``, ``--host-address`` and ``--protocol``."""
    family: str | None = args.family
    host_address: int | None = args.host_address
    protocol: str | None = args.protocol
    if family is not None and plugin.families and family not in (*plugin.families, "auto"):
        raise ConfigError(
            f"unknown family {family!r} for vendor {plugin.name!r} (known: {', '.join(plugin.families)}, auto)"
        )
    extra: dict[str, str | int] = {}
    if host_address is not None:
        extra["host_address"] = host_address
    if protocol is not None:
        extra["protocol"] = protocol
    return SessionOptions(control_enabled=control, family=family, extra=extra)


def addresses_for(plugin: VendorPlugin, spec: AddressSpec, default: int | None) -> list[int | None]:
    """The pack addresses to talk to: ``all`` polls the bus on multi-address vendors, else the single pack."""
    if spec is None:
        return [default]
    if spec == "all":
        return list(BUS_ADDRESSES) if plugin.capabilities.multi_address else [default]
    return [spec]


def _run[T](coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


# --- bmsgw vendors --------------------------------------------------------------------------------
def vendor_summary(plugin: VendorPlugin) -> dict[str, Any]:
    """What ``bmsgw vendors --json`` says about one plugin."""
    return {
        "name": plugin.name,
        "title": plugin.title,
        "link_kinds": sorted(str(k) for k in plugin.link_kinds),
        "families": list(plugin.families),
        "switches": sorted(str(s) for s in plugin.capabilities.switches),
        "multi_address": plugin.capabilities.multi_address,
        "ble_matchers": len(plugin.ble_matchers),
    }


def _cmd_vendors(args: argparse.Namespace) -> int:
    summaries = [vendor_summary(p) for p in _registry()]
    if args.json:
        print(json.dumps(summaries))
        return EXIT_OK
    rows = [
        [
            s["name"],
            s["title"],
            ", ".join(s["link_kinds"]) or "-",
            ", ".join(s["families"]) or "-",
            ", ".join(s["switches"]) or "-",
            "yes" if s["multi_address"] else "no",
            str(s["ble_matchers"]),
        ]
        for s in summaries
    ]
    print(cli_format.table(rows, ["NAME", "TITLE", "LINKS", "FAMILIES", "SWITCHES", "BUS", "BLE MATCHERS"]))
    return EXIT_OK


# --- bmsgw scan -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ScanResult:
    """One device seen during a BLE scan."""

    advertisement: Advertisement
    rssi: int | None
    vendors: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        adv = self.advertisement
        return {
            "address": adv.address,
            "name": adv.local_name,
            "rssi": self.rssi,
            "service_uuids": list(adv.service_uuids),
            "manufacturer_ids": sorted(adv.manufacturer_data),
            "vendors": list(self.vendors),
        }


async def ble_scan(seconds: float, registry: Registry) -> list[ScanResult]:
    """Scan for ``seconds`` with bleak; :class:`TransportError` when there is no adapter or bleak fails."""
    try:
        from bleak import BleakScanner

        found = await BleakScanner.discover(timeout=seconds, return_adv=True)
    except Exception as err:  # bleak raises BleakError, D-Bus and OS errors for a missing adapter
        hint = " (no Bluetooth service: is BlueZ running, with D-Bus?)" if isinstance(err, FileNotFoundError) else ""
        raise TransportError(f"BLE scan failed: {one_line(err)}{hint}") from err
    results = []
    for device, data in found.values():
        adv = Advertisement(
            address=device.address,
            local_name=data.local_name or device.name,
            service_uuids=tuple(data.service_uuids),
            manufacturer_data=dict(data.manufacturer_data),
            service_data=dict(data.service_data),
        )
        vendors = tuple(p.name for p in registry.match_advertisement(adv))
        results.append(ScanResult(adv, data.rssi, vendors))
    results.sort(key=lambda r: (not r.vendors, -(r.rssi if r.rssi is not None else -999), r.advertisement.address))
    return results


def _cmd_scan(args: argparse.Namespace) -> int:
    seconds: float = args.timeout
    results = _run(ble_scan(seconds, _registry()))
    if args.json:
        print(json.dumps([r.to_dict() for r in results]))
        return EXIT_OK
    if not results:
        print(f"no BLE devices seen in {seconds:g} s")
        return EXIT_OK
    rows = [
        [
            r.advertisement.address,
            "-" if r.rssi is None else str(r.rssi),
            r.advertisement.local_name or "-",
            ", ".join(r.vendors) or "-",
        ]
        for r in results
    ]
    print(cli_format.table(rows, ["ADDRESS", "RSSI", "NAME", "VENDORS"]))
    return EXIT_OK


# --- bmsgw read -----------------------------------------------------------------------------------
@dataclass(slots=True)
class PackResult:
    """One pack's answer in one round."""

    address: int | None
    device: DeviceInfo | None
    snapshot: BmsSnapshot | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        """The ``packs[]`` element of the ``--json`` document."""
        return {
            "address": self.address,
            "device": None if self.device is None else self.device.to_dict(),
            "snapshot": None if self.snapshot is None else self.snapshot.to_dict(),
            "error": self.error,
        }


class PackReader:
    """Reads every requested pack once per round; device info is read once per pack (failures don't block)."""

    def __init__(self, plugin: VendorPlugin, session: Session, addresses: Sequence[int | None]) -> None:
        """Read ``addresses`` through ``session``."""
        self.plugin = plugin
        self.session = session
        self.addresses = list(addresses)
        self._devices: dict[int | None, DeviceInfo | None] = {}

    async def _read_one(self, address: int | None) -> PackResult:
        try:
            snapshot = await self.session.read(address)
        except (BmsError, OSError) as err:
            _LOGGER.debug("reading pack %s failed", address, exc_info=True)
            return PackResult(address, self._devices.get(address), None, one_line(err))
        if address not in self._devices:
            # Only once the pack answered: a pack without device info must not cost a timeout every round.
            try:
                self._devices[address] = await self.session.device_info(address)
            except (BmsError, OSError) as err:
                _LOGGER.debug("device info of pack %s failed: %s", address, err, exc_info=True)
                self._devices[address] = None
        return PackResult(address, self._devices[address], snapshot, None)

    async def read_round(self) -> list[PackResult]:
        """One reading of every pack, in address order (a bus is serialised anyway)."""
        return [await self._read_one(address) for address in self.addresses]

    @property
    def family(self) -> str | None:
        """The protocol family actually spoken (known after the first answer)."""
        return self.session.family or self.session.options.family


class BusPackReader(PackReader):
    """``--address all`` on a bus: scan once, then poll the packs that answered (absent ones backed off).

    The first round scans ``candidates`` (:func:`~vendor_plugins.poller.scan`); every round then reads the packs
    found through a :class:`~vendor_plugins.poller.BusPoller`, so a pack that stops answering costs one short
    timeout every 2^n rounds instead of a full timeout each round, and the others keep updating.
    """

    def __init__(self, plugin: VendorPlugin, session: Session, candidates: Sequence[int]) -> None:
        """Scan ``candidates`` on the first round."""
        super().__init__(plugin, session, [])
        self.candidates = list(candidates)
        self._found: list[int] = []
        self._poller: BusPoller | None = None

    async def read_round(self) -> list[PackResult]:
        """One reading of every pack found by the scan, in address order."""
        from .poller import BusPoller, scan

        if self._poller is None:
            found = await scan(self.session, self.candidates)
            if not found:
                first, last = self.candidates[0], self.candidates[-1]
                raise DeviceTimeout(f"no pack answered on the bus (addresses {first}-{last} scanned)")
            self._found = found
            self.addresses = list(found)
            self._poller = BusPoller(self.session, found)
        results = await self._poller.poll()
        packs = []
        for address in self._found:
            result = results[address]
            if not isinstance(result, BmsSnapshot):
                packs.append(PackResult(address, self._devices.get(address), None, one_line(result)))
                continue
            if address not in self._devices:
                try:
                    self._devices[address] = await self.session.device_info(address)
                except (BmsError, OSError) as err:
                    _LOGGER.debug("device info of pack %s failed: %s", address, err, exc_info=True)
                    self._devices[address] = None
            packs.append(PackResult(address, self._devices[address], result, None))
        return packs


def read_document(
    plugin: VendorPlugin, family: str | None, transport: str, packs: Sequence[PackResult]
) -> dict[str, Any]:
    """The ``bmsgw read --json`` document (INTERFACES.md §4)."""
    return {"vendor": plugin.name, "family": family, "transport": transport, "packs": [p.to_dict() for p in packs]}


def _report_failures(packs: Sequence[PackResult]) -> None:
    """One stderr line per failed pack; one line in all when every pack failed the same way (link down)."""
    errors = {pack.error for pack in packs if pack.error is not None}
    if len(errors) == 1:
        _error(errors.pop())
        return
    for pack in packs:
        if pack.error is not None:
            _error(f"pack {pack.address}: {pack.error}")


@contextlib.contextmanager
def _on_stop_signals(callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback`` on SIGINT or SIGTERM while the block runs (inside the running event loop)."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, callback)
        except NotImplementedError, RuntimeError, ValueError:  # not the main thread / no signal support
            continue
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _read_round(reader: PackReader, link: Link, *, as_json: bool, stamp: bool) -> bool:
    """Read every pack once and print the result; whether any pack answered."""
    packs = await reader.read_round()
    answered = any(p.snapshot is not None for p in packs)
    if as_json:
        print(json.dumps(read_document(reader.plugin, reader.family, link.description, packs)), flush=True)
    elif answered or stamp:
        _print_table(reader, link, packs, stamp=stamp)
    if not answered:
        _report_failures(packs)
    return answered


def _print_table(reader: PackReader, link: Link, packs: Sequence[PackResult], *, stamp: bool) -> None:
    header = f"{reader.plugin.title} ({reader.family or '-'}) via {link.description}"
    if stamp:
        header = f"=== {dt.datetime.now().astimezone().isoformat(timespec='seconds')}  {header}"
    blocks = [header] + [cli_format.render_pack(p.address, p.device, p.snapshot, p.error) for p in packs]
    print("\n\n".join(blocks) + ("\n" if stamp else ""), flush=True)


async def _read(args: argparse.Namespace, plugin: VendorPlugin, spec: LinkSpec) -> int:
    as_json: bool = args.json
    watch: float | None = args.watch
    options = session_options(args, plugin)
    link = open_link(spec, plugin)
    try:
        session = plugin.open_session(link, options)
        reader: PackReader
        if args.address == "all" and plugin.capabilities.multi_address:
            reader = BusPackReader(plugin, session, SCAN_ADDRESSES)
        else:
            reader = PackReader(plugin, session, addresses_for(plugin, args.address, session.default_address))
        if watch is None:
            return EXIT_OK if await _read_round(reader, link, as_json=as_json, stamp=False) else EXIT_DEVICE
        task = asyncio.current_task()
        assert task is not None
        stopped: list[bool] = []

        def stop() -> None:
            if not stopped:  # a second Ctrl-C must not cancel the clean-up
                stopped.append(True)
                task.cancel()

        loop = asyncio.get_running_loop()
        # Ctrl-C / SIGTERM end the watch cleanly (exit 0) even when SIGINT is ignored (a background job).
        with _on_stop_signals(stop):
            try:
                while True:
                    started = loop.time()
                    await _read_round(reader, link, as_json=as_json, stamp=True)
                    await asyncio.sleep(max(0.0, watch - (loop.time() - started)))
            except asyncio.CancelledError:
                if not stopped:
                    raise
                task.uncancel()
                return EXIT_OK
    finally:
        await _close_quietly(link)


def _cmd_read(args: argparse.Namespace) -> int:
    plugin = _registry().get(args.vendor)
    spec = link_spec(args)
    check_link_kind(plugin, spec)
    check_address(plugin, spec, args)
    session_options(args, plugin)  # validate before connecting
    try:
        return _run(_read(args, plugin, spec))
    except KeyboardInterrupt:
        return EXIT_OK if args.watch is not None else EXIT_INTERRUPTED


# --- bmsgw probe ----------------------------------------------------------------------------------
def probe_dict(result: ProbeResult) -> dict[str, Any]:
    """JSON form of one probe answer."""
    return {
        "vendor": result.plugin,
        "family": result.family,
        "address": result.address,
        "device": None if result.device is None else result.device.to_dict(),
    }


def probe_plugins(registry: Registry, spec: LinkSpec, vendor: str | None) -> list[VendorPlugin]:
    """The plugins ``probe`` tries: ``--vendor``'s, or every plugin that can run over the transport."""
    if vendor is not None:
        plugin = registry.get(vendor)
        check_link_kind(plugin, spec)
        return [plugin]
    plugins = [p for p in registry if spec.kind in p.link_kinds]
    if spec.kind is LinkKind.BLE:
        plugins = [p for p in plugins if p.ble_profile is not None]
    if not plugins:
        raise ConfigError(f"no vendor plugin supports {spec.option}")
    return plugins


def probe_options(args: argparse.Namespace, plugins: Sequence[VendorPlugin]) -> dict[str, SessionOptions] | None:
    """Probe options from ``--family``/``--host-address``/``--protocol`` (the first two need ``--vendor``)."""
    if args.vendor is None:
        if args.family is not None or args.host_address is not None:
            raise ConfigError("--family and --host-address need --vendor (families differ per vendor)")
        return None
    (plugin,) = plugins
    check_address(plugin, link_spec(args), args)
    options = session_options(args, plugin)
    return None if options == SessionOptions() else {plugin.name: options}


def _probe_address(plugins: Sequence[VendorPlugin], address: AddressSpec) -> Addresses:
    if address == "all":
        return BUS_ADDRESSES if any(p.capabilities.multi_address for p in plugins) else None
    return address


async def _probe(
    spec: LinkSpec, plugins: Sequence[VendorPlugin], address: AddressSpec, options: dict[str, SessionOptions] | None
) -> Detection:
    """Probe ``plugins`` (one shared link; BLE: one link per plugin, each with its GATT profile) and read the winner."""
    from .detect import detect
    from .transports.base import Link

    # --timeout applies to probing too; without it, the probe's own short timeouts (the winner reads at 2 s).
    # BLE: one link per plugin, each with its GATT profile; otherwise every plugin talks through one link.
    where: Link | LinkFactory = (
        functools.partial(open_link, spec) if spec.kind is LinkKind.BLE else open_link(spec, plugins[0])
    )
    try:
        addresses = _probe_address(plugins, address)
        return await detect(where, plugins, addresses, options=options, request_timeout=spec.timeout)
    finally:
        if isinstance(where, Link):
            await _close_quietly(where)


def _print_probe(found: Detection) -> None:
    rows = []
    for r in found.results:
        d = r.device
        rows.append(
            [
                r.plugin,
                r.family or "-",
                "-" if r.address is None else str(r.address),
                (d.model if d else None) or "-",
                (d.serial_number if d else None) or "-",
                (d.software_version if d else None) or "-",
            ]
        )
    print(cli_format.table(rows, ["VENDOR", "FAMILY", "ADDRESS", "MODEL", "SERIAL", "SOFTWARE"]))
    winner = found.winner
    print(f"\nwinner: {found.plugin.title} ({winner.family or '-'})")
    print(cli_format.render_pack(winner.address, winner.device, found.snapshot, found.error))


def _cmd_probe(args: argparse.Namespace) -> int:
    spec = link_spec(args)
    plugins = probe_plugins(_registry(), spec, args.vendor)
    options = probe_options(args, plugins)
    found = _run(_probe(spec, plugins, args.address, options))
    if args.json:
        docs = [probe_dict(r) | {"winner": False, "snapshot": None, "error": None} for r in found.results]
        docs[0] |= {
            "winner": True,
            "snapshot": None if found.snapshot is None else found.snapshot.to_dict(),
            "error": found.error,
        }
        print(json.dumps(docs))
    else:
        _print_probe(found)
    return EXIT_OK


# --- bmsgw capture --------------------------------------------------------------------------------
def capture_summary(entries: int, rounds: int, answered: int, family: str | None, where: str, out: Path) -> str:
    """The one line ``capture`` prints."""
    return (
        f"captured {entries} request(s) in {rounds} read(s), {answered} answered, from {where}"
        f" (family {family or 'unknown'}) to {out}"
    )


async def _capture(args: argparse.Namespace, plugin: VendorPlugin, spec: LinkSpec, out: Path) -> int:
    from .capture import CaptureRecorder
    from .transports.base import ByteLink

    options = session_options(args, plugin)
    link = open_link(spec, plugin)
    if not isinstance(link, ByteLink):
        raise ConfigError(f"capture records byte links only, not {link.description}")
    recorder = CaptureRecorder(vendor=plugin.name)
    recorder.attach(link)  # before the first byte: the probe of a detecting plugin is recorded too
    session = plugin.open_session(link, options)
    reader: PackReader
    if args.address == "all" and plugin.capabilities.multi_address:
        reader = BusPackReader(plugin, session, SCAN_ADDRESSES)
    else:
        reader = PackReader(plugin, session, addresses_for(plugin, args.address, session.default_address))
    watch: float | None = args.watch
    count: int | None = args.count if args.count is not None else (None if watch is not None else 1)
    rounds = answered = 0
    failure: tuple[str, int] | None = None  # the last error: its line and exit code
    task = asyncio.current_task()
    assert task is not None
    stopped: list[bool] = []

    def stop() -> None:
        if not stopped:  # a second Ctrl-C must not cancel the clean-up (which writes the file)
            stopped.append(True)
            task.cancel()

    loop = asyncio.get_running_loop()
    started = loop.time()
    with _on_stop_signals(stop):
        try:
            while count is None or rounds < count:
                if rounds:
                    await asyncio.sleep(max(0.0, (watch or 0.0) - (loop.time() - started)))
                started = loop.time()
                rounds += 1
                try:
                    packs = await reader.read_round()
                except (BmsError, OSError) as err:
                    failure = (one_line(err), exit_code_for(err))
                    continue
                recorder.note_decoded(read_document(plugin, reader.family, link.description, packs))
                if any(p.snapshot is not None for p in packs):
                    answered += 1
                else:
                    failure = ("; ".join(sorted({p.error or "no answer" for p in packs})), EXIT_DEVICE)
        except asyncio.CancelledError:
            if not stopped:
                raise
            task.uncancel()
        finally:
            await _close_quietly(link)
            entries = recorder.write(out, family=reader.family)
    print(capture_summary(entries, rounds, answered, reader.family, link.description, out), flush=True)
    if answered:
        return EXIT_OK
    if failure is None:  # stopped before the first read finished
        return EXIT_OK if stopped else EXIT_DEVICE
    _error(failure[0])
    return failure[1]


def _cmd_capture(args: argparse.Namespace) -> int:
    plugin = _registry().get(args.vendor)
    spec = link_spec(args)
    if spec.kind is LinkKind.MODBUS:
        raise ConfigError(
            "capture records the raw bytes of --tcp, --serial and --ble links;"
            " Modbus links (--modbus-tcp, --protocol modbus) are not supported"
        )
    check_link_kind(plugin, spec)
    check_address(plugin, spec, args)
    session_options(args, plugin)  # validate before connecting
    out = Path(args.out)
    if out.is_dir() or not out.parent.is_dir():
        raise ConfigError(f"--out {args.out}: not a file in an existing directory")
    try:
        return _run(_capture(args, plugin, spec, out))
    except KeyboardInterrupt:
        return EXIT_OK if args.watch is not None else EXIT_INTERRUPTED


# --- bmsgw set ------------------------------------------------------------------------------------
async def _set(args: argparse.Namespace, plugin: VendorPlugin, spec: LinkSpec, switch: Switch, on: bool) -> int:
    options = session_options(args, plugin, control=True)
    link = open_link(spec, plugin)
    try:
        session = plugin.open_session(link, options)
        address_spec: AddressSpec = args.address
        address = addresses_for(plugin, address_spec, session.default_address)[0]
        snapshot = await session.set_switch(address, switch, on)
    finally:
        await _close_quietly(link)
    state = snapshot.charge_mosfet if switch is Switch.CHARGE else snapshot.discharge_mosfet
    pack = "" if address is None else f" (pack {address})"
    print(
        f"{switch} MOSFET {'on' if state else 'off'}{pack}, confirmed by read-back"
        f" (charge {cli_format.on_off(snapshot.charge_mosfet)},"
        f" discharge {cli_format.on_off(snapshot.discharge_mosfet)})"
    )
    return EXIT_OK


def _cmd_set(args: argparse.Namespace) -> int:
    switch = Switch(args.switch)
    on: bool = args.state
    if not args.allow_control:
        # Refuse before resolving or opening anything: switching a MOSFET can cut the power of a whole system.
        raise ControlRefused(
            f"refusing to switch the {switch} MOSFET {'on' if on else 'off'} without --allow-control"
            " (switching a MOSFET can cut power)"
        )
    plugin = _registry().get(args.vendor)
    spec = link_spec(args)
    check_link_kind(plugin, spec)
    if switch not in plugin.capabilities.switches:
        raise ControlRefused(f"vendor {plugin.name!r} cannot switch the {switch} MOSFET")
    if args.address == "all" and plugin.capabilities.multi_address:
        raise ConfigError("set needs one pack address, not 'all'")
    check_address(plugin, spec, args)
    session_options(args, plugin, control=True)  # validate before connecting
    return _run(_set(args, plugin, spec, switch, on))


# --- bmsgw simulate -------------------------------------------------------------------------------
def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` to listen on; unlike a link target, port 0 (any free port) is allowed."""
    from . import settings

    return settings.HostPort("--tcp", listen=True)(text)


def build_simulators(args: argparse.Namespace, plugin: VendorPlugin) -> list[Simulator]:
    """The simulator(s) ``simulate`` serves: one pack, or ``--packs N`` consecutive addresses on one bus."""
    packs: int = args.packs
    family: str | None = args.family
    address: int | None = args.address
    seed: int | None = args.seed
    profile: str | None = args.profile
    if packs > 1 and not plugin.capabilities.multi_address:
        raise ConfigError(f"vendor {plugin.name!r} has one pack per link: --packs {packs} is not possible")
    if packs == 1:
        addresses: list[int | None] = [address]
    else:
        first = 1 if address is None else address
        if first + packs - 1 > 0xFF:
            raise ConfigError(f"--packs {packs} from address {first} goes past address 255")
        addresses = list(range(first, first + packs))
    simulators = []
    for i, addr in enumerate(addresses):
        options = SimulatorOptions(family=family, address=addr, seed=None if seed is None else seed + i)
        if profile is not None:
            options = dataclasses.replace(options, profile=profile)
        try:
            simulators.append(plugin.create_simulator(options))
        except UnsupportedError as err:  # a vendor without a simulator: nothing the user can run
            raise ConfigError(one_line(err)) from err
    return simulators


async def _serve(simulators: Sequence[Simulator], tcp: tuple[str, int] | None, baud: int | None) -> int:
    stop = asyncio.Event()
    # Handlers first: whoever reads the address line may signal us right away.
    with _on_stop_signals(stop.set):
        close: Callable[[], Awaitable[None]]
        if tcp is not None:
            from .sim.tcp import serve_tcp
            from .transports.tcp import format_host_port

            try:
                tcp_server = await serve_tcp(simulators, *tcp)
            except OSError as err:
                raise TransportError(f"cannot listen on {format_host_port(*tcp)}: {err.strerror or err}") from err
            where, close = tcp_server.url, tcp_server.close
        else:
            from .sim.pty import serve_pty

            try:
                pty_server = await serve_pty(simulators, baud=baud)
            except OSError as err:
                raise TransportError(f"cannot open a pseudo-terminal: {err.strerror or err}") from err
            where, close = pty_server.path, pty_server.close
        try:
            print(where, flush=True)
            _LOGGER.info("serving %d simulated pack(s) at %s", len(simulators), where)
            await stop.wait()
        finally:
            await close()
    return EXIT_OK


def _cmd_simulate(args: argparse.Namespace) -> int:
    plugin = _registry().get(args.vendor)
    baud: int | None = args.baud
    tcp_text: str | None = args.tcp
    if baud is not None and tcp_text is not None:
        raise ConfigError("--baud applies to --pty only")
    tcp = None if tcp_text is None else listen_address(tcp_text)
    simulators = build_simulators(args, plugin)
    try:
        return _run(_serve(simulators, tcp, baud))
    except KeyboardInterrupt:  # a Ctrl-C that arrived before the signal handlers were installed
        return EXIT_OK


# --- entry point ----------------------------------------------------------------------------------
@contextlib.contextmanager
def _logging_to_stderr(debug: bool) -> Iterator[None]:
    """Route log records to stderr while the command runs; undone afterwards (``main`` may run in-process).

    Normally only this library's warnings are shown: third-party libraries log their own view of failures the
    CLI already reports in one line (pymodbus even appends multi-line frame dumps), so they are muted — a
    ``NullHandler`` on the root logger also keeps Python's last-resort handler quiet. ``--debug`` shows all.
    """
    root = logging.getLogger()
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s %(name)s: %(message)s"))
    mute = logging.NullHandler()
    previous = root.level
    if debug:
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
    else:
        handler.setLevel(logging.WARNING)
        _LIBRARY_LOGGER.addHandler(handler)
        root.addHandler(mute)
    try:
        yield
    finally:
        root.removeHandler(handler)
        _LIBRARY_LOGGER.removeHandler(handler)
        root.removeHandler(mute)
        root.setLevel(previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``bmsgw`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as err:
        _error(str(err))
        return EXIT_USAGE
    except SystemExit as exc:  # --help / --version
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    debug: bool = getattr(args, "debug", False)
    command: Callable[[argparse.Namespace], int] = args.handler
    try:
        with _logging_to_stderr(debug):
            return command(args)
    except BmsError as err:
        if debug:
            traceback.print_exc()
        _error(one_line(err))
        return exit_code_for(err)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `bmsgw read --watch ... | head`: the reader went away
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as err:  # a transport let an OS error through: still a device error, still one line
        if debug:
            traceback.print_exc()
        _error(one_line(err))
        return EXIT_DEVICE
    except Exception as err:
        if debug:
            traceback.print_exc()
        _error(f"internal error: {type(err).__name__}: {one_line(err)} (run with --debug for a traceback)")
        return EXIT_FAILURE


if __name__ == "__main__":
    raise SystemExit(main())

"""Validation of every user-supplied setting: hosts, ports, serial devices, addresses, baud rates, intervals.

Each validator is a voluptuous validator (a callable that returns the normalised value or raises) and can be used
on its own or inside a :class:`voluptuous.Schema`. A refused value raises :class:`InvalidSetting` — both a
:class:`~vendor_plugins.errors.ConfigError` (the CLI exits 2 with one line) and a :class:`voluptuous.Invalid` — whose
message names the setting, the value and what is allowed, and whose ``key`` (``bad_host``, ``bad_port``…) is the
translation key Home Assistant's config flow shows next to the field.

* :class:`Host`, :class:`Port`, :class:`HostPort` — ``HOST``, ``1-65535`` (0 only when listening), ``HOST:PORT``
  with ``[v6]:PORT`` for IPv6 and an optional default port; no scheme (``tcp://``), no spaces, DNS label rules.
* :class:`SerialDevice` — an absolute path on POSIX, ``COMn`` on Windows; whether it exists is checked when the
  link opens (a :class:`~vendor_plugins.errors.TransportError` then), not here.
* :class:`BaudRate` — one of :data:`BAUD_RATES`.
* :class:`BusAddress`, :func:`parse_addresses`, :func:`allowed_addresses` — a pack address / Modbus unit the vendor
  can use on that kind of link.
* :class:`Seconds` — poll intervals (:data:`SCAN_INTERVAL`, 5-600 s as in the options flow), timeouts, watch periods.
* :class:`BleAddress` — a Bluetooth MAC (``AA:BB:CC:DD:EE:FF``) or a CoreBluetooth UUID (macOS).

The form schemas that combine them (and run them) are in :mod:`vendor_plugins.schemas`.
"""

from __future__ import annotations

import ipaddress
import math
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import voluptuous as vol

from .errors import ConfigError
from .plugin import LinkKind, SessionOptions, VendorPlugin

#: Baud rates accepted for serial links (the standard UART rates BMS adapters use).
BAUD_RATES: Final = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
#: The Modbus-TCP port.
MODBUS_TCP_PORT: Final = 502
#: Modbus unit ids a vendor's Modbus bus may use when the plugin declares none (``modbus_units``): up to 16 packs.
DEFAULT_MODBUS_UNITS: Final = tuple(range(1, 17))
#: Unit ids Modbus allows at all (0 is broadcast, 248-255 reserved).
MODBUS_UNIT_RANGE: Final = (1, 247)

#: Translation keys (Home Assistant's config flow shows these next to the field).
KEY_HOST: Final = "bad_host"
KEY_PORT: Final = "bad_port"
KEY_SERIAL_DEVICE: Final = "bad_serial_device"
KEY_BAUDRATE: Final = "bad_baudrate"
KEY_ADDRESS: Final = "bad_address"
KEY_SCAN_INTERVAL: Final = "bad_scan_interval"
KEY_TIMEOUT: Final = "bad_timeout"
KEY_BLE_ADDRESS: Final = "bad_ble_address"

_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
_MAC = re.compile(r"^[0-9A-Fa-f]{2}(?:([:-])[0-9A-Fa-f]{2})(?:\1[0-9A-Fa-f]{2}){4}$")
_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_COM = re.compile(r"^(?:\\\\\.\\)?COM([1-9][0-9]{0,2})$", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_MAX_HOST = 253


class InvalidSetting(ConfigError, vol.Invalid):
    """A user-supplied setting is invalid.

    ``setting`` names it (``port``, ``--baud``), ``value`` is what was given, ``reason`` says what is wrong and
    what is allowed, ``key`` is the machine-readable translation key.
    """

    def __init__(self, setting: str, value: object, reason: str, key: str) -> None:
        """Build the one-line message ``<setting>: <reason>``."""
        super().__init__(f"{setting}: {reason}")
        self.setting = setting
        self.value = value
        self.reason = reason
        self.key = key

    def __str__(self) -> str:
        """The message alone (voluptuous would append the path inside a schema)."""
        return str(self.args[0])


def _shown(value: object) -> str:
    """``value`` as a message shows it: short, one line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True, slots=True)
class _Validator:
    """Base of the validators: a setting name for messages and a translation key."""

    setting: str

    def invalid(self, value: object, reason: str, key: str) -> InvalidSetting:
        """The error for ``value``."""
        return InvalidSetting(self.setting, value, reason, key)


# --- network ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Host(_Validator):
    """A hostname, IPv4 or IPv6 address (``[v6]`` brackets allowed); returns it without brackets."""

    setting: str = "host"

    def __call__(self, value: Any) -> str:
        """The checked host."""
        if not isinstance(value, str):
            raise self.invalid(value, f"{_shown(value)} is not text; expected a hostname or an IP address", KEY_HOST)
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            return self._ipv6(value, text[1:-1])
        reason = host_problem(text)
        if reason is not None:
            raise self.invalid(value, f"{_shown(value)} {reason}", KEY_HOST)
        return text.rstrip(".") if not _is_ip(text) else text

    def _ipv6(self, value: object, inner: str) -> str:
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            raise self.invalid(value, f"{_shown(value)} has no IPv6 address in its brackets", KEY_HOST) from None
        return inner


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def host_problem(text: str) -> str | None:
    """What is wrong with ``text`` as a host (``None``: it is a valid hostname or IP address)."""
    if not text:
        return "is empty; expected a hostname or an IP address such as 192.168.1.50"
    if _SCHEME.match(text):
        scheme = text.split("://", 1)[0]
        return f"has a scheme ({scheme}://); give the host alone, without '{scheme}://'"
    if any(c.isspace() for c in text):
        return "contains spaces; expected a hostname or an IP address"
    if ":" in text:
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            return "is not a valid IPv6 address (a port goes in the port setting, or HOST:PORT)"
        return None
    if len(text.rstrip(".")) > _MAX_HOST:
        return f"is longer than {_MAX_HOST} characters"
    labels = text.rstrip(".").split(".")
    if all(label.isdigit() for label in labels):
        if _is_ip(text):
            return None
        return "is not a valid IPv4 address (four numbers 0-255)"
    for label in labels:
        if not label:
            return "has an empty part between dots"
        if len(label) > 63:
            return f"has a name part longer than 63 characters ({label[:12]}...)"
        if not _LABEL.match(label):
            return f"has an invalid name part {label!r} (letters, digits and '-', not at either end)"
    return None


@dataclass(frozen=True, slots=True)
class Port(_Validator):
    """A TCP port 1-65535 (``listen``: 0 too, meaning any free port)."""

    setting: str = "port"
    listen: bool = False

    def __call__(self, value: Any) -> int:
        """The checked port number."""
        low = 0 if self.listen else 1
        allowed = f"a whole number {low}-65535"
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            number = int(value.strip())
        if number is None:
            raise self.invalid(value, f"{_shown(value)} is not a port number; expected {allowed}", KEY_PORT)
        if number == 0 and not self.listen:
            raise self.invalid(
                value,
                "port 0 cannot be connected to (it only means 'any free port' when listening); expected 1-65535",
                KEY_PORT,
            )
        if not low <= number <= 65535:
            raise self.invalid(value, f"{number} is out of range; expected {allowed}", KEY_PORT)
        return number


@dataclass(frozen=True, slots=True)
class HostPort(_Validator):
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) → ``(host, port)``; ``default_port`` when the port is left out."""

    setting: str = "host"
    default_port: int | None = None
    listen: bool = False

    def __call__(self, value: Any) -> tuple[str, int]:
        """The checked pair."""
        example = "HOST:PORT such as 192.168.1.50:4196 or [fd00::5]:502"
        if self.default_port is not None:
            example = f"HOST or HOST:PORT (port {self.default_port} by default), e.g. 192.168.1.50"
        if not isinstance(value, str):
            raise self.invalid(value, f"{_shown(value)} is not text; expected {example}", KEY_HOST)
        text = value.strip()
        port_text: str | None
        if text.startswith("["):
            end = text.find("]")
            if end < 0:
                raise self.invalid(value, f"{_shown(value)} has no ']' after the IPv6 address", KEY_HOST)
            host = Host(self.setting)(text[: end + 1])
            after = text[end + 1 :]
            if after and not after.startswith(":"):
                raise self.invalid(value, f"{_shown(value)} has unexpected text after ']'", KEY_HOST)
            port_text = after[1:] if after else None
        else:
            if self.default_port is not None and text.count(":") > 1 and _is_ip(text):
                return text, self.default_port  # a bare IPv6 address: the default port
            scheme = _SCHEME.match(text)
            if scheme is not None:
                raise self.invalid(
                    value, f"{_shown(value)} has a scheme ({scheme[0]}); give {example} without it", KEY_HOST
                )
            if text.count(":") > 1:
                raise self.invalid(value, f"{_shown(value)}: put an IPv6 address in brackets, [addr]:port", KEY_HOST)
            host_text, sep, rest = text.partition(":")
            port_text = rest if sep else None
            problem = host_problem(host_text)
            if problem is not None:
                raise self.invalid(value, f"{_shown(value)}: host {_shown(host_text)} {problem}", KEY_HOST)
            host = host_text if _is_ip(host_text) else host_text.rstrip(".")
        if port_text is None:
            if self.default_port is None:
                raise self.invalid(value, f"{_shown(value)} has no port; expected {example}", KEY_PORT)
            return host, self.default_port
        try:
            port = Port(self.setting, listen=self.listen)(port_text)
        except InvalidSetting as err:
            raise self.invalid(value, f"{_shown(value)}: {err.reason}", KEY_PORT) from None
        return host, port


# --- serial ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SerialDevice(_Validator):
    """A serial port: an absolute path (``/dev/ttyUSB0``) on POSIX, ``COMn`` on Windows.

    Existence is not checked here (a port can come and go): opening a missing one is a clear
    :class:`~vendor_plugins.errors.TransportError`.
    """

    setting: str = "device"
    platform: str = sys.platform

    def __call__(self, value: Any) -> str:
        """The checked device path."""
        windows = self.platform.startswith("win")
        allowed = "a port name such as COM3" if windows else "an absolute path such as /dev/ttyUSB0"
        if not isinstance(value, str) or not value.strip():
            raise self.invalid(value, f"{_shown(value)} is empty; expected {allowed}", KEY_SERIAL_DEVICE)
        text = value.strip()
        if "\0" in text or "\n" in text:
            raise self.invalid(
                value, f"{_shown(value)} contains control characters; expected {allowed}", KEY_SERIAL_DEVICE
            )
        if windows:
            match = _COM.match(text)
            if match is None:
                raise self.invalid(value, f"{_shown(value)} is not a COM port; expected {allowed}", KEY_SERIAL_DEVICE)
            return f"COM{match[1]}"
        if not text.startswith("/"):
            raise self.invalid(value, f"{_shown(value)} is not an absolute path; expected {allowed}", KEY_SERIAL_DEVICE)
        if text.endswith("/"):
            raise self.invalid(value, f"{_shown(value)} is a directory; expected {allowed}", KEY_SERIAL_DEVICE)
        return text


@dataclass(frozen=True, slots=True)
class BaudRate(_Validator):
    """One of the standard :data:`BAUD_RATES`."""

    setting: str = "baudrate"

    def __call__(self, value: Any) -> int:
        """The checked baud rate."""
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            number = int(value.strip())
        allowed = ", ".join(str(b) for b in BAUD_RATES)
        if number is None or number not in BAUD_RATES:
            what = "is not a number" if number is None else "is not a standard baud rate"
            raise self.invalid(value, f"{_shown(value)} {what}; expected one of {allowed}", KEY_BAUDRATE)
        return number


# --- addresses -------------------------------------------------------------------------------------------------
def byte_value(text: str) -> int:
    """A number 0..255, decimal or ``0x`` hex (``ValueError`` with a clear message otherwise)."""
    try:
        value = int(text, 0)
    except ValueError:
        raise ValueError(f"not an integer (decimal or 0x hex): {text!r}") from None
    if not 0 <= value <= 0xFF:
        raise ValueError(f"must be 0..255, not {text!r}")
    return value


def allowed_addresses(plugin: VendorPlugin, kind: LinkKind, options: SessionOptions | None = None) -> tuple[int, ...]:
    """Pack addresses ``plugin`` can use on a link of ``kind`` (empty: one pack per link, no address).

    A Modbus link (or options with which the plugin reads registers) uses Modbus unit ids: the plugin's
    ``modbus_units`` when it declares them, else :data:`DEFAULT_MODBUS_UNITS`; other links use
    :attr:`VendorPlugin.bus_addresses`.
    """
    if not plugin.capabilities.multi_address:
        return ()
    if kind is LinkKind.MODBUS or (options is not None and plugin.needs_register_link(options)):
        return plugin.modbus_units or DEFAULT_MODBUS_UNITS
    return tuple(plugin.bus_addresses) or tuple(range(16))


def _ranges(values: Iterable[int]) -> str:
    """``0-15`` / ``1, 3, 5-7``: a compact list of numbers."""
    out: list[str] = []
    ordered = sorted(set(values))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(out)


@dataclass(frozen=True, slots=True)
class BusAddress(_Validator):
    """A pack address (or Modbus unit id) among ``allowed``; decimal or ``0x`` hex text is accepted."""

    setting: str = "address"
    allowed: tuple[int, ...] = tuple(range(256))
    vendor: str | None = None

    def __call__(self, value: Any) -> int:
        """The checked address."""
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str):
            try:
                number = int(value.strip(), 0)
            except ValueError:
                number = None
        who = f" for vendor {self.vendor!r}" if self.vendor else ""
        if not self.allowed:
            raise self.invalid(
                value, f"vendor {self.vendor!r} has one pack per link and no pack address; leave it out", KEY_ADDRESS
            )
        allowed = _ranges(self.allowed)
        if number is None:
            raise self.invalid(value, f"{_shown(value)} is not a number; expected {allowed}{who}", KEY_ADDRESS)
        if number not in self.allowed:
            raise self.invalid(value, f"{number} is not a valid address{who}; expected {allowed}", KEY_ADDRESS)
        return number


def parse_addresses(
    text: str, allowed: Sequence[int], *, setting: str = "units", vendor: str | None = None
) -> list[int]:
    """``"1-4, 7"`` → ``[1, 2, 3, 4, 7]`` (sorted, no duplicates); every number must be in ``allowed``.

    An empty text means every allowed address (scan them all).
    """
    if not isinstance(text, str):
        raise InvalidSetting(setting, text, f"{_shown(text)} is not text; expected e.g. 1-4, 7", KEY_ADDRESS)
    check = BusAddress(setting, allowed=tuple(allowed), vendor=vendor)
    found: set[int] = set()
    parts = [p.strip() for p in text.replace(";", ",").split(",")]
    if not any(parts):
        return sorted(allowed)
    for part in parts:
        if not part:
            raise InvalidSetting(setting, text, f"{_shown(text)} has an empty item; expected e.g. 1-4, 7", KEY_ADDRESS)
        first, dash, last = part.partition("-")
        if dash:
            low, high = check(first), check(last)
            if low > high:
                raise InvalidSetting(setting, text, f"range {part!r} runs backwards; write {high}-{low}", KEY_ADDRESS)
            found.update(range(low, high + 1))
            bad = sorted(found - set(allowed))
            if bad:
                check(bad[0])
        else:
            found.add(check(first))
    return sorted(found)


# --- times -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Seconds(_Validator):
    """A duration in seconds within ``[minimum, maximum]`` (``integer``: whole seconds only)."""

    setting: str = "timeout"
    minimum: float = 0.0
    maximum: float = 600.0
    integer: bool = False
    key: str = KEY_TIMEOUT
    exclusive_minimum: bool = False

    def __call__(self, value: Any) -> float:
        """The checked number of seconds."""
        number: float | None = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        unit = "whole seconds" if self.integer else "seconds"
        if self.exclusive_minimum:
            allowed = f"more than {self.minimum:g} and at most {self.maximum:g} {unit}"
        else:
            allowed = f"{self.minimum:g}-{self.maximum:g} {unit}"
        if number is None or not math.isfinite(number):
            raise self.invalid(value, f"{_shown(value)} is not a number; expected {allowed}", self.key)
        too_low = number <= self.minimum if self.exclusive_minimum else number < self.minimum
        if too_low or number > self.maximum:
            raise self.invalid(value, f"{number:g} s is out of range; expected {allowed}", self.key)
        if self.integer and not number.is_integer():
            raise self.invalid(value, f"{number:g} s is not a whole number; expected {allowed}", self.key)
        return number


#: A serial baud rate.
BAUD: Final = BaudRate("baudrate")

#: Poll interval bounds of the Home Assistant options flow, seconds.
MIN_SCAN_SECONDS: Final = 5
MAX_SCAN_SECONDS: Final = 600
#: Poll interval (Home Assistant options flow): whole seconds 5-600.
SCAN_INTERVAL: Final = Seconds("scan_interval", MIN_SCAN_SECONDS, MAX_SCAN_SECONDS, integer=True, key=KEY_SCAN_INTERVAL)
#: Per-request timeout: more than 0, at most 120 s.
TIMEOUT: Final = Seconds("timeout", 0.0, 120.0, exclusive_minimum=True)
#: ``bmsgw read --watch`` / ``capture --watch`` period: more than 0, at most a day.
WATCH: Final = Seconds("watch", 0.0, 86400.0, exclusive_minimum=True, key=KEY_SCAN_INTERVAL)


# --- Bluetooth -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BleAddress(_Validator):
    """A Bluetooth MAC (``AA:BB:CC:DD:EE:FF`` or with ``-``; returned upper case with ``:``) or a macOS UUID."""

    setting: str = "address"

    def __call__(self, value: Any) -> str:
        """The checked, normalised address."""
        text = value.strip() if isinstance(value, str) else None
        if text and _MAC.match(text):
            return text.replace("-", ":").upper()
        if text and _UUID.match(text):
            return text.upper()
        raise self.invalid(
            value,
            f"{_shown(value)} is not a Bluetooth address; expected AA:BB:CC:DD:EE:FF (or a device UUID on macOS)",
            KEY_BLE_ADDRESS,
        )

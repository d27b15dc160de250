"""Talking to devices before an entry exists: identify the vendor, scan a bus, test-read the chosen packs.

Every function takes the would-be entry's data (see :mod:`.connection`), opens its own short-lived links (each
exchange waits at most :data:`FLOW_TIMEOUT`; the link is closed before the function returns) and needs no flow.
Failures are :class:`ProbeError` subclasses whose text is one line for the user; the config flow turns them into
its form errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from homeassistant.components import bluetooth
from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.core import HomeAssistant

from vendor_plugins.detect import detect
from vendor_plugins.errors import BmsError, ConfigError, DeviceError, TransportError
from vendor_plugins.model import DeviceInfo
from vendor_plugins.plugin import Advertisement, LinkKind, Session, SessionOptions, VendorPlugin
from vendor_plugins.poller import scan
from vendor_plugins.settings import allowed_addresses
from vendor_plugins.transports import Link

from .connection import describe, open_entry_link, plugins_for, registry
from .const import CONF_LINK, FLOW_TIMEOUT, SCAN_TIMEOUT

_LOGGER = logging.getLogger(__name__)


class ProbeError(Exception):
    """Probing failed; the text is the reason in one line."""


class CannotConnect(ProbeError):
    """The connection itself failed (port missing, connection refused, device out of range)."""


class NoAnswer(ProbeError):
    """Connected, but ``vendor`` got no valid answer (at its default address, or from a chosen pack)."""

    def __init__(self, vendor: VendorPlugin, reason: str = "") -> None:
        """``reason``: what the read said (default: that nothing answered)."""
        super().__init__(reason or f"no {vendor.title} BMS answered")
        self.vendor = vendor


class WrongVendor(ProbeError):
    """``vendor`` got no answer, but ``detected`` did."""

    def __init__(self, vendor: VendorPlugin, detected: VendorPlugin) -> None:
        """The vendor the user chose and the one that answered instead."""
        super().__init__(f"not a {vendor.title} BMS: a {detected.title} BMS answered")
        self.vendor = vendor
        self.detected = detected


class NotDetected(ProbeError):
    """No plugin recognised the device."""


@dataclass(frozen=True, slots=True)
class Identified:
    """The plugin that reads the device and the protocol family it found."""

    plugin: VendorPlugin
    family: str | None


@dataclass(slots=True)
class BusScan:
    """The packs that answered a bus scan (address → what the pack said it is, if it said) and the family."""

    packs: dict[int, DeviceInfo | None] = field(default_factory=dict)
    family: str | None = None


def to_advertisement(info: BluetoothServiceInfoBleak) -> Advertisement:
    """Adapt Home Assistant's service info to the library's advertisement."""
    return Advertisement(
        address=info.address,
        local_name=info.name if info.name != info.address else None,
        service_uuids=tuple(info.service_uuids),
        manufacturer_data=dict(info.manufacturer_data),
        service_data=dict(info.service_data),
    )


def advertised_vendors(info: BluetoothServiceInfoBleak) -> list[VendorPlugin]:
    """The plugins whose advertisement matchers recognise a Bluetooth device (empty: none)."""
    return registry().match_advertisement(to_advertisement(info))


def recognised_ble_devices(
    hass: HomeAssistant, skip: Container[str | None] = ()
) -> dict[str, tuple[BluetoothServiceInfoBleak, list[VendorPlugin]]]:
    """The connectable Bluetooth devices Home Assistant sees that a plugin recognises, but those in ``skip``.

    Address (upper case) → the service info and the plugins that recognise it.
    """
    found: dict[str, tuple[BluetoothServiceInfoBleak, list[VendorPlugin]]] = {}
    for info in bluetooth.async_discovered_service_info(hass, connectable=True):
        address = info.address.upper()
        if address in skip or address in found:
            continue
        plugins = advertised_vendors(info)
        if plugins:
            found[address] = (info, plugins)
    return found


def _link(hass: HomeAssistant, data: Mapping[str, Any], plugin: VendorPlugin) -> Link:
    try:
        return open_entry_link(hass, data, plugin, timeout=FLOW_TIMEOUT)
    except (TransportError, ConfigError) as err:
        raise CannotConnect(str(err)) from err


async def read_default_pack(hass: HomeAssistant, data: Mapping[str, Any], plugin: VendorPlugin) -> Identified | None:
    """What ``plugin`` finds reading the pack at its default address; ``None``: it does not answer.

    Raises :class:`CannotConnect`.
    """
    link = _link(hass, data, plugin)
    try:
        session = plugin.open_session(link, SessionOptions())
        try:
            await session.device_info(None)
            await session.read(None)
        except TransportError as err:
            raise CannotConnect(str(err)) from err
        except BmsError as err:
            _LOGGER.debug("%s does not answer as %s: %s", link.description, plugin.name, err)
            return None
        return Identified(plugin, session.family)
    finally:
        await link.close()


async def confirm_vendor(hass: HomeAssistant, data: Mapping[str, Any], vendor: VendorPlugin) -> Identified:
    """``vendor`` reads the device at its default address; else :class:`WrongVendor` when a single-pack vendor does.

    Raises :class:`CannotConnect`, :class:`WrongVendor` or :class:`NoAnswer`.
    """
    found = await read_default_pack(hass, data, vendor)
    if found is not None:
        return found
    for other in plugins_for(LinkKind(data[CONF_LINK])):
        if other.name == vendor.name or other.capabilities.multi_address:
            continue
        try:
            answered = await read_default_pack(hass, data, other) is not None
        except CannotConnect:
            break
        if answered:
            raise WrongVendor(vendor, other)
    raise NoAnswer(vendor)


def detection_candidates(kind: LinkKind, matched: Sequence[VendorPlugin] = ()) -> list[VendorPlugin]:
    """What "detect automatically" probes: the plugins an advertisement matched, else every plugin for ``kind``.

    A bus vendor is chosen explicitly (its packs are scanned), except over Bluetooth (one pack per device).
    """
    plugins = list(matched) or plugins_for(kind)
    return [p for p in plugins if not (p.capabilities.multi_address and kind is not LinkKind.BLE)]


async def detect_vendor(
    hass: HomeAssistant, data: Mapping[str, Any], matched: Sequence[VendorPlugin] = ()
) -> Identified:
    """The library's read-only detection over :func:`detection_candidates`; the first plugin that reads wins.

    Raises :class:`CannotConnect` or :class:`NotDetected`.
    """
    candidates = detection_candidates(LinkKind(data[CONF_LINK]), matched)
    try:  # short probe timeouts, a protocol's owner before the plugins that only recognise it (probe_last)
        found = await detect(lambda plugin: _link(hass, data, plugin), candidates, stop_at_first=True)
    except TransportError as err:
        raise CannotConnect(str(err)) from err
    except BmsError as err:
        _LOGGER.debug("%s: no vendor detected: %s", describe(data), err)
        raise NotDetected(str(err)) from err
    if found.snapshot is None:
        _LOGGER.debug("%s answers as %s but cannot be read: %s", describe(data), found.plugin.name, found.error)
        raise NotDetected(f"{found.plugin.title} answers but cannot be read")
    return Identified(found.plugin, found.options.family)


async def scan_bus(
    hass: HomeAssistant, data: Mapping[str, Any], plugin: VendorPlugin, units: Sequence[int] | None = None
) -> BusScan:
    """Scan the bus with the library's :func:`~vendor_plugins.poller.scan`; ask the packs found what they are.

    Every address the plugin can use on this link (:func:`~vendor_plugins.settings.allowed_addresses`), or those of
    ``units`` among them. Raises :class:`CannotConnect` when nothing answered because the link is dead.
    """
    kind = LinkKind(data[CONF_LINK])
    allowed = allowed_addresses(plugin, kind)
    addresses = tuple(a for a in units if a in allowed) if units else allowed
    if not addresses:
        return BusScan()
    link = _link(hass, data, plugin)
    result = BusScan()
    try:
        session = plugin.open_session(link, SessionOptions())
        for address in await scan(session, addresses, absent_timeout=SCAN_TIMEOUT):
            if link.kind is LinkKind.MODBUS and not await _reads(session, address):
                continue
            try:
                result.packs[address] = await session.device_info(address)
            except BmsError:
                result.packs[address] = None
        if not result.packs:  # nothing answered: tell a dead link from an empty bus
            try:
                await session.device_info(addresses[0])
            except TransportError as err:
                raise CannotConnect(str(err)) from err
            except BmsError:
                pass
        result.family = session.family
    finally:
        await link.close()
    return result


async def _reads(session: Session, unit: int) -> bool:
    """Whether a Modbus unit the scan counted answers a read with registers, not an exception.

    :func:`~vendor_plugins.poller.scan` counts an exception answer as a present pack (right on a serial bus, where
    only a pack answers its address), but a Modbus-TCP gateway answers for absent units too: exception 10/11
    (gateway path / target), or 4 from pymodbus' simulator. Such a unit could not pass test-before-configure.
    """
    try:
        async with asyncio.timeout(SCAN_TIMEOUT * 4):
            await session.read(unit)
    except DeviceError as err:
        _LOGGER.debug("unit %s answers with an exception, not offered: %s", unit, err)
        return False
    except BmsError, TimeoutError:
        return True  # it answered the scan; the full read before the entry is created decides
    return True


async def read_packs(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    plugin: VendorPlugin,
    packs: Sequence[int | None],
    family: str | None,
) -> str | None:
    """Test before configure: every pack in ``packs`` answers a full read; returns the family the session settled on.

    Raises :class:`CannotConnect` or :class:`NoAnswer` (its text: what the failing read said).
    """
    link = _link(hass, data, plugin)
    try:
        session = plugin.open_session(link, SessionOptions(family=family))
        for pack in packs:
            await session.read(pack)
        return session.family or family
    except TransportError as err:
        raise CannotConnect(str(err)) from err
    except BmsError as err:
        raise NoAnswer(plugin, str(err)) from err
    finally:
        await link.close()

"""The BMS gateway integration: battery-management systems of every vendor in ``vendor_plugins``.

One config entry per physical connection (a Bluetooth device, a serial port, a TCP bridge). Its coordinator
(``entry.runtime_data``) owns the link, polls every pack on it and feeds one Home Assistant device per pack.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr

from vendor_plugins.errors import ConfigError
from vendor_plugins.plugin import LinkKind

from .connection import BleDeviceNotFound, create_link, describe, registry
from .const import CONF_LINK, CONF_PACKS, CONF_VENDOR, DOMAIN
from .coordinator import BmsCoordinator
from .entity import pack_device_info

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.SENSOR]

type BmsConfigEntry = ConfigEntry[BmsCoordinator]


async def async_setup_entry(hass: HomeAssistant, entry: BmsConfigEntry) -> bool:
    """Open the link, read every pack once (not ready if none answers), then create the entities."""
    vendor = str(entry.data[CONF_VENDOR])
    try:
        plugin = registry().get(vendor)
    except ConfigError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="unknown_vendor", translation_placeholders={"vendor": vendor}
        ) from err
    try:
        link = create_link(hass, entry.data, plugin)
    except BleDeviceNotFound as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="ble_device_not_found",
            translation_placeholders={"address": describe(entry.data)},
        ) from err
    coordinator = BmsCoordinator(hass, entry, plugin, link, entry.data.get(CONF_PACKS) or [None])
    try:
        await coordinator.async_config_entry_first_refresh()
    except BaseException:
        await link.close()
        raise
    entry.runtime_data = coordinator

    async def _close_on_stop(_event: Event) -> None:
        await coordinator.async_close()

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _close_on_stop))
    _async_create_devices(hass, entry, coordinator)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    coordinator.entities_created = True
    return True


def _async_create_devices(hass: HomeAssistant, entry: BmsConfigEntry, coordinator: BmsCoordinator) -> None:
    """One device per pack; on a serial/TCP connection the bus (bridge) device is every pack's parent."""
    devices = dr.async_get(hass)
    parent: str | None = None
    if entry.data[CONF_LINK] != LinkKind.BLE:
        parent = devices.async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={(DOMAIN, f"{entry.unique_id}_bus")},
            name=describe(entry.data),
            manufacturer=coordinator.plugin.title,
            model="RS485 bus" if entry.data[CONF_LINK] == LinkKind.SERIAL else "TCP bridge",
        ).id
    for pack in coordinator.packs:
        info = pack_device_info(coordinator, pack)
        devices.async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers=info["identifiers"],
            connections=info.get("connections") or set(),
            name=info.get("name"),
            manufacturer=info.get("manufacturer"),
            model=info.get("model"),
            hw_version=info.get("hw_version"),
            sw_version=info.get("sw_version"),
            serial_number=info.get("serial_number"),
            via_device_id=parent,
        )


async def async_unload_entry(hass: HomeAssistant, entry: BmsConfigEntry) -> bool:
    """Remove the entities and close the link."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_close()
    return unloaded

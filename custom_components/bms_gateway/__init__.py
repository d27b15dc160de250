"""The BMS gateway integration: battery-management systems of every vendor in ``vendor_plugins``.

One config entry per physical connection (a Bluetooth device, a serial port, a TCP bridge). Its coordinator
(``entry.runtime_data``) owns the link, polls every pack on it and feeds one Home Assistant device per pack.
Set-up failures whose cause is known and persistent become repair issues (:mod:`.repairs`): a serial port that
does not exist, a device answering another vendor's protocol. A pack device that left the bus can be deleted (and is
then never re-added); on a bus, packs plugged in later are found in the background (:mod:`.bus_growth`). When each
pack last answered survives a restart (:class:`.repair_watch.PackClock`), so the ``pack_missing`` clock does too.
"""

from __future__ import annotations

import time

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr

from vendor_plugins.errors import BmsError, ConfigError, TransportError
from vendor_plugins.plugin import LinkKind, VendorPlugin

from . import bus_growth, repairs
from .bank_config import is_bank
from .bank_hub import BankHub, hub_of, member_directory
from .connection import BleDeviceNotFound, open_entry_link, plugins_for, registry
from .const import CONF_LINK, CONF_PACKS, CONF_VENDOR, DOMAIN, FLOW_TIMEOUT
from .coordinator import BmsConfigEntry, BmsCoordinator
from .entity import async_create_devices, pack_of_device
from .repair_watch import async_remove_clock

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.NUMBER, Platform.SENSOR, Platform.SWITCH]


async def async_setup_entry(hass: HomeAssistant, entry: BmsConfigEntry) -> bool:
    """Open the link, read every pack once (not ready if none answers), then create the entities.

    A battery-bank entry (:mod:`.bank_hub`) opens nothing: it follows its members' entries.
    """
    if is_bank(entry):
        return await _async_setup_bank(hass, entry)
    vendor = str(entry.data[CONF_VENDOR])
    try:
        plugin = registry().get(vendor)
    except ConfigError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="unknown_vendor", translation_placeholders={"vendor": vendor}
        ) from err
    if repairs.serial_port_missing(entry.data):
        repairs.async_port_check(hass, entry)
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="serial_port_missing",
            translation_placeholders={"title": entry.title},  # the repair issue names the port
        )
    try:
        link = open_entry_link(hass, entry.data, plugin)
    except BleDeviceNotFound as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="ble_device_not_found",
            translation_placeholders={"title": entry.title},
        ) from err
    coordinator = BmsCoordinator(hass, entry, plugin, link, entry.data.get(CONF_PACKS) or [None])
    await coordinator.repairs.async_restore()  # the stored pack clocks, before the first poll
    try:
        await coordinator.async_config_entry_first_refresh()
    except ConfigEntryNotReady as err:
        await link.close()
        cause = _bms_error(err)
        if cause is not None and not isinstance(cause, TransportError):
            await _async_look_for_other_vendor(hass, entry, plugin)
        raise
    except BaseException:
        await link.close()
        raise
    entry.runtime_data = coordinator

    async def _close_on_stop(_event: Event) -> None:
        await coordinator.async_close()

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _close_on_stop))
    async_create_devices(hass, coordinator)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    coordinator.entities_created = True
    coordinator.repairs.async_start()
    if bus_growth.applies(entry, plugin):
        growth = bus_growth.BusGrowth(hass, entry, coordinator)
        entry.async_on_unload(coordinator.async_add_poll_listener(growth))
        growth.async_start()
    member_directory(hass).async_register(entry.entry_id, coordinator)  # banks with packs of this entry follow it
    return True


async def _async_setup_bank(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """A battery bank: its device, its entities (made once it first reports), following its members' entries."""
    hub = BankHub(hass, entry)
    entry.runtime_data = hub
    dr.async_get(hass).async_get_or_create(config_entry_id=entry.entry_id, **hub.device_info)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    hub.async_start()
    return True


def _bms_error(err: BaseException) -> BmsError | None:
    """The library error at the root of a set-up failure, if any."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, BmsError):
            return seen
        seen = seen.__cause__
    return None


#: Entry id -> monotonic time of its last wrong-vendor probe (probing costs a timeout per vendor and family).
_PROBED: dict[str, float] = {}
#: Probe an entry that keeps failing set-up at most this often (seconds).
PROBE_EVERY = 3600.0


async def _async_look_for_other_vendor(hass: HomeAssistant, entry: BmsConfigEntry, plugin: VendorPlugin) -> None:
    """The configured vendor gets no valid answer: probe the others (read-only); raise a repair if one answers.

    A pack that is merely switched off fails the same way, so this runs at most once per :data:`PROBE_EVERY`.
    """
    if repairs.has_issue(hass, repairs.issue_id(repairs.WRONG_VENDOR, entry.entry_id)):
        return
    now = time.monotonic()
    if now - _PROBED.get(entry.entry_id, -PROBE_EVERY) < PROBE_EVERY:
        return
    _PROBED[entry.entry_id] = now
    kind = LinkKind(entry.data[CONF_LINK])
    for other in plugins_for(kind):
        if other.name == plugin.name:
            continue
        try:
            link = open_entry_link(hass, entry.data, other, timeout=FLOW_TIMEOUT)
        except BmsError:
            return
        try:
            found = await other.probe(link, None)
        except BmsError:
            found = None
        finally:
            await link.close()
        if found is not None:
            repairs.async_wrong_vendor(hass, entry, other.name, other.title)
            return


async def async_unload_entry(hass: HomeAssistant, entry: BmsConfigEntry) -> bool:
    """Remove the entities and close the link (a bank: stop following its members)."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if is_bank(entry):
        hub_of(entry).async_stop()
    elif unloaded:
        member_directory(hass).async_unregister(entry.entry_id)  # its banks count its packs missing from now on
        await entry.runtime_data.async_close()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: BmsConfigEntry) -> None:
    """The entry is gone: so are its repair issues and its stored pack clock."""
    repairs.async_clear_all(hass, entry.entry_id)  # a bank: its bank_member_gone issue
    if is_bank(entry):
        return
    await async_remove_clock(hass, entry.entry_id)


async def async_remove_config_entry_device(hass: HomeAssistant, entry: BmsConfigEntry, device: dr.DeviceEntry) -> bool:
    """Let the user delete a pack that left the bus (not one that answers, not the bus, not the only pack).

    The pack leaves the entry's pack list, so it is no longer polled, and the entry reloads; its address is
    remembered as removed by the user, so the background bus check never adds it again.
    """
    packs = list(entry.data.get(CONF_PACKS) or [])
    pack = pack_of_device(entry, device)
    if pack is None or pack not in packs or len(packs) < 2:
        return False
    coordinator = entry.runtime_data if entry.state is ConfigEntryState.LOADED else None
    if coordinator is not None and coordinator.snapshot(pack) is not None:
        return False  # it answers: not stale
    hass.config_entries.async_update_entry(entry, data=bus_growth.without_pack(entry.data, pack))
    repairs.async_delete(hass, repairs.issue_id(repairs.PACK_MISSING, entry.entry_id, pack))
    hass.config_entries.async_schedule_reload(entry.entry_id)
    return True

"""The base of every pack entity: one Home Assistant device per pack, state written only when it changed."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.helpers.device_registry import CONNECTION_BLUETOOTH, DeviceEntry, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

from vendor_plugins.model import BmsSnapshot
from vendor_plugins.plugin import LinkKind

from .const import CONF_ADDRESS, CONF_LINK, DOMAIN
from .coordinator import BmsCoordinator, PackAddress


def pack_unique_id(coordinator: BmsCoordinator, pack: PackAddress) -> str:
    """Stable id of a pack: the connection's unique id, plus the bus address for addressed packs."""
    base = str(coordinator.config_entry.unique_id)
    return base if pack is None else f"{base}_{pack}"


def pack_of_device(entry: ConfigEntry, device: DeviceEntry) -> int | None:
    """The bus address of the pack ``device`` stands for (``None``: the bus device, or a single pack)."""
    prefix = f"{entry.unique_id}_"
    for domain, ident in device.identifiers:
        if domain == DOMAIN and ident.startswith(prefix) and ident[len(prefix) :].isdigit():
            return int(ident[len(prefix) :])
    return None


def pack_device_info(coordinator: BmsCoordinator, pack: PackAddress) -> DeviceInfo:
    """The Home Assistant device of one pack (its parent, the bus device, is linked when setup creates it)."""
    entry = coordinator.config_entry
    info = coordinator.device_infos.get(pack)
    device = DeviceInfo(
        identifiers={(DOMAIN, pack_unique_id(coordinator, pack))},
        name=entry.title if pack is None else f"{entry.title} {pack}",
        manufacturer=info.vendor if info else coordinator.plugin.title,
        model=info.model if info else None,
        hw_version=info.hardware_version if info else None,
        sw_version=info.software_version if info else None,
        serial_number=info.serial_number if info else None,
    )
    if entry.data[CONF_LINK] == LinkKind.BLE:
        device["connections"] = {(CONNECTION_BLUETOOTH, str(entry.data[CONF_ADDRESS]).upper())}
    return device


class BmsEntity(Entity):
    """A value of one pack; the coordinator hands it each changed snapshot."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _value: Any = None

    def __init__(self, coordinator: BmsCoordinator, pack: PackAddress, description: EntityDescription) -> None:
        """Describe the entity and take the pack's current value (nothing is written before it is added)."""
        self.coordinator = coordinator
        self.pack = pack
        self.entity_description = description
        self._value_fn = description.value_fn  # type: ignore[attr-defined]
        self.field: str = description.field  # type: ignore[attr-defined]
        self._attr_unique_id = f"{pack_unique_id(coordinator, pack)}_{description.key}"
        self._attr_device_info = pack_device_info(coordinator, pack)
        snapshot = coordinator.snapshot(pack)
        self._attr_available = snapshot is not None
        self._set_value(None if snapshot is None else self._value_fn(snapshot))

    def _set_value(self, value: Any) -> None:
        """Store ``value`` where the platform reads it (``_value``, which its state property returns)."""
        self._value = value

    async def async_added_to_hass(self) -> None:
        """Subscribe to the pack's snapshots."""
        self.async_on_remove(self.coordinator.async_add_pack_listener(self.pack, self))

    def handle_snapshot(self, snapshot: BmsSnapshot | None, force: bool) -> None:
        """Write state only when the value (or the availability) changed."""
        if snapshot is None:
            self._attr_available = False
            self.async_write_ha_state()
            return
        value = self._value_fn(snapshot)
        if force or value != self._value:
            if not self._attr_available:  # setting it anyway would cost Home Assistant's cache invalidation
                self._attr_available = True
            self._set_value(value)
            self.async_write_ha_state()

"""The base of every pack entity: one Home Assistant device per pack, state written only when it changed."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import callback
from homeassistant.helpers.device_registry import CONNECTION_BLUETOOTH, DeviceEntry, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from vendor_plugins.plugin import LinkKind

from .const import CONF_ADDRESS, CONF_LINK, DOMAIN
from .coordinator import BmsCoordinator, PackAddress
from .descriptions import PackValueDescription
from .device_text import plain_or_none
from .dispatch import PackFields


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
    """The Home Assistant device of one pack (its parent, the bus device, is linked when setup creates it).

    What the pack says about itself is device-supplied text: cleaned and bounded (:mod:`.device_text`).
    """
    entry = coordinator.config_entry
    info = coordinator.device_infos.get(pack)
    device = DeviceInfo(
        identifiers={(DOMAIN, pack_unique_id(coordinator, pack))},
        name=entry.title if pack is None else f"{entry.title} {pack}",
        manufacturer=plain_or_none(info.vendor) if info else coordinator.plugin.title,
        model=plain_or_none(info.model) if info else None,
        hw_version=plain_or_none(info.hardware_version) if info else None,
        sw_version=plain_or_none(info.software_version) if info else None,
        serial_number=plain_or_none(info.serial_number) if info else None,
    )
    if entry.data[CONF_LINK] == LinkKind.BLE and pack is None:
        # A single pack is the Bluetooth peer; packs reached at bus addresses through one Bluetooth connection are
        # separate devices under the connection's device (which carries the Bluetooth address: a device registry
        # merges every device that shares a connection into one).
        device["connections"] = {(CONNECTION_BLUETOOTH, str(entry.data[CONF_ADDRESS]).upper())}
    return device


class PackEntity(CoordinatorEntity[BmsCoordinator]):
    """An entity of one pack: its device and unique id, available while the pack answers.

    Registered with the coordinator as Home Assistant's coordinator entities are, with a context saying which snapshot
    fields of which pack it shows (:class:`~.dispatch.PackFields`; ``None``: it is told about every poll). The
    coordinator then calls :meth:`_handle_coordinator_update` only when one of those fields changed or the pack's
    availability did (:class:`~.dispatch.ChangedFieldDispatcher`); the entity writes its state only when what it
    shows changed.
    """

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: BmsCoordinator,
        pack: PackAddress,
        description: EntityDescription,
        fields: tuple[str, ...] | None,
    ) -> None:
        """An entity of ``pack`` showing ``fields`` of its snapshots (``None``: told about every poll)."""
        super().__init__(coordinator, None if fields is None else PackFields(pack, fields))
        self.pack = pack
        self.entity_description = description
        self._attr_unique_id = f"{pack_unique_id(coordinator, pack)}_{description.key}"
        self._attr_device_info = pack_device_info(coordinator, pack)
        #: Whether the pack answered the last poll: what :attr:`available` says (set only when it changes).
        self._pack_available = coordinator.snapshot(pack) is not None

    @property
    def available(self) -> bool:
        """Whether the pack answered the last poll (not whether the whole poll succeeded, as by default)."""
        return self._pack_available


class BmsEntity(PackEntity):
    """A value of one pack, derived from one snapshot field; writes its state only when the value changed."""

    entity_description: PackValueDescription
    _value: Any = None

    def __init__(self, coordinator: BmsCoordinator, pack: PackAddress, description: PackValueDescription) -> None:
        """Describe the entity and take the pack's current value (nothing is written before it is added)."""
        super().__init__(coordinator, pack, description, (description.field,))
        self._value_fn = description.value_fn
        snapshot = coordinator.snapshot(pack)
        self._value = None if snapshot is None else self._value_fn(snapshot)

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write state only when the value (or the availability) changed."""
        snapshot = self.coordinator.snapshot(self.pack)
        if snapshot is None:
            if self._pack_available:
                self._pack_available = False
                self.async_write_ha_state()
            return
        value = self._value_fn(snapshot)
        if value != self._value or not self._pack_available:
            self._pack_available = True
            self._value = value
            self.async_write_ha_state()

"""The base of every pack entity: one Home Assistant device per pack, state written only when it changed.

Devices are named the way owners think of their batteries, never by where the connection goes: the name the user
gave in the config flow, else vendor and model (``Acme SP16S020``); on a bus ``<name or vendor> pack <address>``
(``Acme pack 1``) under one bus device (``Acme bus``) that says where the bus is connected. A single pack has no
parent device. The model line falls back to what the pack's :class:`~vendor_plugins.model.DeviceInfo` does say
(cell count, protocol family) when the pack reports no model.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import CONNECTION_BLUETOOTH, DeviceEntry, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from vendor_plugins import model
from vendor_plugins.plugin import LinkKind

from .connection import describe
from .const import CONF_ADDRESS, CONF_LINK, CONF_PACKS, DOMAIN
from .coordinator import BmsCoordinator, PackAddress
from .descriptions import PackValueDescription
from .device_text import MAX_TEXT, plain, plain_or_none
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


def is_bus(entry: ConfigEntry) -> bool:
    """Whether ``entry`` is a bus: its packs have bus addresses (a bus device groups them)."""
    return any(pack is not None for pack in entry.data.get(CONF_PACKS) or [None])


def vendor_name(coordinator: BmsCoordinator, info: model.DeviceInfo | None) -> str:
    """The vendor as the pack names itself (``Acme``), else the plugin's short title."""
    return (plain_or_none(info.vendor) if info else None) or plain(coordinator.plugin.title.split(" (")[0])


def model_line(info: model.DeviceInfo | None) -> str | None:
    """The model a device page shows: the pack's own model, else what it does say (``16S BMS, protocol d2``)."""
    if info is None:
        return None
    if own := plain_or_none(info.model):
        return own
    parts = [f"{info.cell_count}S BMS" if info.cell_count else "BMS"]
    if info.family:
        parts.append(f"protocol {plain(info.family)}")
    return ", ".join(parts)


def _named(base: str, suffix: str = "") -> str:
    """``base`` + ``suffix`` within :data:`~.device_text.MAX_TEXT` (``base`` is shortened, never the suffix)."""
    return plain(base, MAX_TEXT - len(suffix)) + suffix


def pack_name(coordinator: BmsCoordinator, pack: PackAddress) -> str:
    """The name of a pack's device: the user's name or vendor + model; ``<name or vendor> pack N`` on a bus."""
    info = coordinator.device_infos.get(pack)
    given = plain_or_none(coordinator.config_entry.data.get(CONF_NAME))
    vendor = vendor_name(coordinator, info)
    if pack is not None:
        return _named(given or vendor, f" pack {pack}")
    if given:
        return given
    own = plain_or_none(info.model) if info else None
    if own and not own.casefold().startswith(vendor.casefold()):
        return _named(f"{vendor} {own}")
    return own or vendor


def bus_name(coordinator: BmsCoordinator) -> str:
    """The name of a bus device: the user's name, else ``<vendor> bus``."""
    entry = coordinator.config_entry
    given = plain_or_none(entry.data.get(CONF_NAME))
    first = next(iter(coordinator.device_infos.values()), None)
    return given or _named(vendor_name(coordinator, first), " bus")


#: What the bus device is, by link kind (its model line, followed by where it is connected).
_BUS_MODELS = {
    LinkKind.SERIAL: "RS485 bus",
    LinkKind.MODBUS: "Modbus bus",
    LinkKind.TCP: "RS485 bus via a network bridge",
    LinkKind.BLE: "Packs over one Bluetooth connection",
}


def bus_identifier(entry: ConfigEntry) -> tuple[str, str]:
    """The device-registry identifier of ``entry``'s bus device."""
    return (DOMAIN, f"{entry.unique_id}_bus")


def pack_device_info(coordinator: BmsCoordinator, pack: PackAddress) -> DeviceInfo:
    """The Home Assistant device of one pack (its parent, the bus device, is linked when setup creates it).

    What the pack says about itself is device-supplied text: cleaned and bounded (:mod:`.device_text`).
    """
    entry = coordinator.config_entry
    info = coordinator.device_infos.get(pack)
    device = DeviceInfo(
        identifiers={(DOMAIN, pack_unique_id(coordinator, pack))},
        name=pack_name(coordinator, pack),
        manufacturer=vendor_name(coordinator, info),
        model=model_line(info),
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


@callback
def async_create_devices(hass: HomeAssistant, coordinator: BmsCoordinator) -> None:
    """One device per pack; a bus entry's bus device (named, saying where it is connected) is every pack's parent.

    A single pack has no parent: a bus device left from an older version (an empty "TCP bridge") is removed.
    Names are (re)set on every set-up; a name the user gave a device in Home Assistant wins, and entity ids never
    change (Home Assistant keeps them in its entity registry).
    """
    entry = coordinator.config_entry
    devices = dr.async_get(hass)
    parent: str | None = None
    if is_bus(entry):
        kind = LinkKind(entry.data[CONF_LINK])
        first = next(iter(coordinator.device_infos.values()), None)
        parent = devices.async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={bus_identifier(entry)},
            # Packs reached at bus addresses through one Bluetooth connection: the bus device is the Bluetooth peer.
            connections={(CONNECTION_BLUETOOTH, str(entry.data[CONF_ADDRESS]).upper())}
            if kind == LinkKind.BLE
            else set(),
            name=bus_name(coordinator),
            manufacturer=vendor_name(coordinator, first),
            model=f"{_BUS_MODELS.get(kind, 'Bus')} at {describe(entry.data)}",
        ).id
    elif (stale := devices.async_get_device_by_identifier(bus_identifier(entry), entry.entry_id)) is not None:
        devices.async_remove_device(stale.id)  # its packs' "connected via" is cleared with it
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

    @property
    def device_name(self) -> str:
        """The pack's device name, for error messages."""
        info = self.device_info or {}
        return str(info.get("name") or self.coordinator.config_entry.title)


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

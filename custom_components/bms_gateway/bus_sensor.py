"""The bus device's own sensor: how many of the bus's packs answered the last poll.

A bus entry groups its packs under one bus device (:func:`.entity.async_create_devices`); this sensor is what the
bus itself can tell — "3" of 4 packs answering says at a glance that one pack (or its cable) dropped off the bus.
Told about every poll; writes its state only when the count changed.
"""

from __future__ import annotations

from homeassistant.components.sensor import SensorEntity, SensorEntityDescription, SensorStateClass
from homeassistant.const import EntityCategory
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import BmsCoordinator
from .entity import bus_identifier

PACKS_ANSWERING = SensorEntityDescription(
    key="packs_answering",
    translation_key="packs_answering",
    state_class=SensorStateClass.MEASUREMENT,
    entity_category=EntityCategory.DIAGNOSTIC,
)


class PacksAnsweringSensor(CoordinatorEntity[BmsCoordinator], SensorEntity):
    """The number of the bus's packs that answered the last poll (of ``packs`` in its attributes)."""

    _attr_has_entity_name = True
    entity_description = PACKS_ANSWERING

    def __init__(self, coordinator: BmsCoordinator) -> None:
        """The sensor of ``coordinator``'s bus device, with the current count."""
        super().__init__(coordinator, None)  # told about every poll
        entry = coordinator.config_entry
        self._attr_unique_id = f"{entry.unique_id}_bus_{PACKS_ANSWERING.key}"
        self._attr_device_info = DeviceInfo(identifiers={bus_identifier(entry)})
        self._attr_extra_state_attributes = {"packs": len(coordinator.packs)}
        self._attr_native_value = self._count()

    def _count(self) -> int:
        return sum(self.coordinator.snapshot(pack) is not None for pack in self.coordinator.packs)

    @property
    def available(self) -> bool:
        """Always: none answering is a count, not an unknown."""
        return True

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write state only when the count changed."""
        count = self._count()
        if count != self._attr_native_value:
            self._attr_native_value = count
            self.async_write_ha_state()

"""Sensors of every pack: electrical values, capacities, every cell voltage and temperature (from the model)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import BmsConfigEntry
from .descriptions import BmsSensorEntityDescription, sensor_descriptions
from .entity import BmsEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: BmsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Create the sensors of every pack that answered the first poll."""
    coordinator = entry.runtime_data
    entities: list[BmsSensor] = []
    for pack in coordinator.packs:
        snapshot = coordinator.first_snapshots.get(pack)
        if snapshot is not None:
            entities.extend(BmsSensor(coordinator, pack, d) for d in sensor_descriptions(snapshot))
    async_add_entities(entities)


class BmsSensor(BmsEntity, SensorEntity):
    """One value of a pack."""

    entity_description: BmsSensorEntityDescription

    def _set_value(self, value: Any) -> None:
        self._value = self._attr_native_value = value

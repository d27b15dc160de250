"""Sensors of every pack: electrical values, capacities, every cell voltage and temperature (from the model).

Besides the model's values: a battery power sensor in Home Assistant's battery convention (+ = discharging) and
two Energy-dashboard meters, ``energy_charged`` / ``energy_discharged`` (kWh, ``total_increasing``), integrated
from every reading and restored across restarts by the entry's :class:`~.energy_meters.EnergyMeters`.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import RestoreSensor, SensorEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import bank_sensor
from .bank_config import is_bank
from .bus_sensor import PacksAnsweringSensor
from .const import CELLS_DEFAULT, CONF_CELLS
from .coordinator import BmsConfigEntry, BmsCoordinator, PackAddress
from .descriptions import (
    ENERGY_SENSORS,
    BmsEnergyEntityDescription,
    BmsSensorEntityDescription,
    enabled_cell_count,
    sensor_descriptions,
)
from .entity import BmsEntity, PackEntity, is_bus

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: BmsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Create the sensors of every pack that answered the first poll."""
    if is_bank(entry):
        await bank_sensor.async_setup_entry(hass, entry, async_add_entities)
        return
    coordinator = entry.runtime_data
    cells = enabled_cell_count(str(entry.options.get(CONF_CELLS, CELLS_DEFAULT)))
    entities: list[SensorEntity] = []
    for pack in coordinator.packs:
        snapshot = coordinator.first_snapshots.get(pack)
        if snapshot is not None:
            entities.extend(BmsSensor(coordinator, pack, d) for d in sensor_descriptions(snapshot, cells))
            if snapshot.power is not None:
                entities.extend(BmsEnergySensor(coordinator, pack, d) for d in ENERGY_SENSORS)
    if is_bus(entry):
        entities.append(PacksAnsweringSensor(coordinator))  # the bus device's own sensor
    async_add_entities(entities)


class BmsSensor(BmsEntity, SensorEntity):
    """One value of a pack."""

    entity_description: BmsSensorEntityDescription

    @property
    def native_value(self) -> Any:
        """The value (a plain property: a write has no cached property of Home Assistant's to invalidate)."""
        return self._value


class BmsEnergySensor(PackEntity, RestoreSensor):
    """Charged or discharged energy of a pack (kWh), read from the entry's :class:`~.energy_meters.EnergyMeters`.

    Told about every poll (energy grows with time, not with one field): writes state only when the value rounded to
    1 Wh changed, or the availability did. What Home Assistant restored after a restart goes to the meters, which
    continue from it.
    """

    entity_description: BmsEnergyEntityDescription

    def __init__(self, coordinator: BmsCoordinator, pack: PackAddress, description: BmsEnergyEntityDescription) -> None:
        """Read the pack's meter; nothing is written before it is added."""
        super().__init__(coordinator, pack, description, None)
        self._meters = coordinator.energy
        self._direction = description.direction
        self._value = self._meters.kwh(pack, self._direction)

    @property
    def native_value(self) -> Any:
        """The total in kWh (a plain property, as for :class:`BmsSensor`)."""
        return self._value

    async def async_added_to_hass(self) -> None:
        """Hand the last total to the meters, then follow every poll."""
        last = await self.async_get_last_sensor_data()
        if last is not None:
            self._meters.restore(self.pack, self._direction, last.native_value)
            self._value = self._meters.kwh(self.pack, self._direction)
        await super().async_added_to_hass()

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write state when the rounded total (or the availability) changed."""
        available = self.coordinator.snapshot(self.pack) is not None
        value = self._meters.kwh(self.pack, self._direction)
        if value != self._value or available != self._pack_available:
            self._pack_available = available
            self._value = value
            self.async_write_ha_state()

"""Sensors of every pack: electrical values, capacities, every cell voltage and temperature (from the model).

Besides the model's values: a battery power sensor in Home Assistant's battery convention (+ = discharging) and
two Energy-dashboard meters, ``energy_charged`` / ``energy_discharged`` (kWh, ``total_increasing``), integrated
by the library's :class:`~vendor_plugins.energy.EnergyIntegrator` from every reading and restored across restarts.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from homeassistant.components.sensor import RestoreSensor, SensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from vendor_plugins.model import BmsSnapshot

from . import BmsConfigEntry
from .const import CELLS_DEFAULT, CONF_CELLS
from .coordinator import BmsCoordinator, PackAddress
from .descriptions import (
    ENERGY_SENSORS,
    BmsEnergyEntityDescription,
    BmsSensorEntityDescription,
    enabled_cell_count,
    sensor_descriptions,
)
from .entity import BmsEntity, pack_device_info, pack_unique_id

PARALLEL_UPDATES = 0

#: Energy meters publish kWh rounded to this many decimals (1 Wh) and write state only when that changes.
ENERGY_DECIMALS = 3


async def async_setup_entry(
    hass: HomeAssistant, entry: BmsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Create the sensors of every pack that answered the first poll."""
    coordinator = entry.runtime_data
    cells = enabled_cell_count(str(entry.options.get(CONF_CELLS, CELLS_DEFAULT)))
    entities: list[SensorEntity] = []
    for pack in coordinator.packs:
        snapshot = coordinator.first_snapshots.get(pack)
        if snapshot is not None:
            entities.extend(BmsSensor(coordinator, pack, d) for d in sensor_descriptions(snapshot, cells))
            if snapshot.power is not None:
                entities.extend(BmsEnergySensor(coordinator, pack, d) for d in ENERGY_SENSORS)
    async_add_entities(entities)


class BmsSensor(BmsEntity, SensorEntity):
    """One value of a pack."""

    entity_description: BmsSensorEntityDescription

    @property
    def native_value(self) -> Any:
        """The value (a plain property: a write has no cached property of Home Assistant's to invalidate)."""
        return self._value


class BmsEnergySensor(BmsEntity, RestoreSensor):
    """Charged or discharged energy of a pack (kWh), from the coordinator's integrator, restored on start.

    Told about every poll (energy grows with time, not with one field): writes state only when the value rounded to
    1 Wh changed, or the availability did. Restoring adds the last known total to what was integrated since start,
    so the meter continues and never goes backwards; the restart itself is a gap and is not integrated.
    """

    entity_description: BmsEnergyEntityDescription

    def __init__(self, coordinator: BmsCoordinator, pack: PackAddress, description: BmsEnergyEntityDescription) -> None:
        """Bind to the pack's integrator; nothing is written before it is added."""
        self.coordinator = coordinator
        self.pack = pack
        self.entity_description = description
        self.field = "power"
        self._charged = description.direction == "charged"
        self._meter = coordinator.energy[pack]
        self._attr_unique_id = f"{pack_unique_id(coordinator, pack)}_{description.key}"
        self._attr_device_info = pack_device_info(coordinator, pack)
        self._attr_available = coordinator.snapshot(pack) is not None
        self._value = self._total()

    def _total(self) -> float:
        wh = self._meter.charged_wh if self._charged else self._meter.discharged_wh
        return round(wh / 1000.0, ENERGY_DECIMALS)

    @property
    def native_value(self) -> Any:
        """The total in kWh (a plain property, as for :class:`BmsSensor`)."""
        return self._value

    async def async_added_to_hass(self) -> None:
        """Restore the last total, then follow every poll."""
        last = await self.async_get_last_sensor_data()
        value = None if last is None else last.native_value
        if isinstance(value, (int, float, Decimal, str)):
            try:
                restored_wh = float(value) * 1000.0
            except ValueError:
                restored_wh = 0.0
            if restored_wh > 0 and math.isfinite(restored_wh):
                if self._charged:
                    self._meter.charged_wh += restored_wh
                else:
                    self._meter.discharged_wh += restored_wh
                self._set_value(self._total())
        self.async_on_remove(self.coordinator.async_add_pack_listener(self.pack, self, every_poll=True))

    def handle_snapshot(self, snapshot: BmsSnapshot | None, force: bool) -> None:
        """Write state when the rounded total (or the availability) changed."""
        available = snapshot is not None
        value = self._total()
        if force or value != self._value or available != self._attr_available:
            self._attr_available = available
            self._set_value(value)
            self.async_write_ha_state()

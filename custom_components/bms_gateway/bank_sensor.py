"""A battery bank's sensors: its values (see :mod:`.bank_descriptions`) and its Energy-dashboard meters.

The meters, ``energy_charged`` / ``energy_discharged`` (kWh, ``total_increasing``), are the bank's
:class:`~.bank_energy.BankEnergy`, restored across restarts as a pack's are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import RestoreSensor, SensorEntity, SensorEntityDescription
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .bank_descriptions import sensor_descriptions
from .bank_entity import BankEntity, BankValueDescription, BankValueEntity, Shown
from .bank_hub import BankHub, hub_of
from .descriptions import ENERGY_SENSORS, BmsEnergyEntityDescription


@dataclass(frozen=True, kw_only=True)
class BankSensorEntityDescription(SensorEntityDescription, BankValueDescription):
    """A sensor showing one value of the bank's reading."""


async def async_setup_bank(hub: BankHub, async_add_entities: AddConfigEntryEntitiesCallback) -> None:
    """Create the bank's sensors once it first reports (from that reading)."""

    @callback
    def ready() -> None:
        assert hub.first is not None
        entities: list[SensorEntity] = [
            BankSensor(hub, BankSensorEntityDescription(**kwargs)) for kwargs in sensor_descriptions(hub.first)
        ]
        if hub.first.power is not None:
            entities.extend(BankEnergySensor(hub, description) for description in ENERGY_SENSORS)
        async_add_entities(entities)

    hub.async_when_ready(ready)


class BankSensor(BankValueEntity, SensorEntity):
    """One value of the bank."""

    entity_description: BankSensorEntityDescription

    @property
    def native_value(self) -> Any:
        """The value."""
        return self._shown[1]


class BankEnergySensor(BankEntity, RestoreSensor):
    """Charged or discharged energy of the bank (kWh); continues from the total restored after a restart."""

    entity_description: BmsEnergyEntityDescription

    def _compute(self) -> Shown:
        bank = self.hub.snapshot
        return bank is not None and bank.available, self.hub.energy.kwh(self.entity_description.direction), None

    @property
    def native_value(self) -> Any:
        """The total in kWh."""
        return self._shown[1]

    async def async_added_to_hass(self) -> None:
        """Hand the last total to the bank's meter, then follow the bank."""
        last = await self.async_get_last_sensor_data()
        if last is not None:
            self.hub.energy.restore(self.entity_description.direction, last.native_value)
        await super().async_added_to_hass()


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """The sensor platform's set-up of a bank entry."""
    await async_setup_bank(hub_of(entry), async_add_entities)

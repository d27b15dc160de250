"""Binary sensors of every pack: charge state, MOSFETs, balancing and one per alarm the plugin reports."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import bank_binary_sensor
from .bank_config import is_bank
from .const import CONF_CELL_BALANCING
from .coordinator import BmsConfigEntry
from .descriptions import BmsBinarySensorEntityDescription, binary_sensor_descriptions
from .entity import BmsEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: BmsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Create the binary sensors of every pack that answered the first poll."""
    if is_bank(entry):
        await bank_binary_sensor.async_setup_entry(hass, entry, async_add_entities)
        return
    coordinator = entry.runtime_data
    entities: list[BmsBinarySensor] = []
    for pack in coordinator.packs:
        snapshot = coordinator.first_snapshots.get(pack)
        if snapshot is not None:
            descriptions = binary_sensor_descriptions(
                snapshot, coordinator.plugin, cell_balancing=bool(entry.options.get(CONF_CELL_BALANCING, False))
            )
            entities.extend(BmsBinarySensor(coordinator, pack, d) for d in descriptions)
    async_add_entities(entities)


class BmsBinarySensor(BmsEntity, BinarySensorEntity):
    """One flag of a pack."""

    entity_description: BmsBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """The flag (a plain property: a write has no cached property of Home Assistant's to invalidate)."""
        value: bool | None = self._value
        return value

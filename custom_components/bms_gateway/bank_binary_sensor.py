"""A battery bank's binary sensors (see :mod:`.bank_descriptions`), alarms for every member vendor's alarms."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from vendor_plugins.errors import ConfigError
from vendor_plugins.model import Alarm

from .bank_descriptions import binary_sensor_descriptions
from .bank_entity import BankValueDescription, BankValueEntity
from .bank_hub import BankHub, hub_of
from .connection import registry
from .const import CONF_VENDOR
from .descriptions import reported_alarms


@dataclass(frozen=True, kw_only=True)
class BankBinarySensorEntityDescription(BinarySensorEntityDescription, BankValueDescription):
    """A binary sensor showing one flag of the bank's reading."""


def member_alarms(hub: BankHub) -> list[Alarm]:
    """The alarms any member's vendor can report, in model order."""
    found: set[Alarm] = set()
    for entry_id in hub.settings.entry_ids:
        entry = hub.hass.config_entries.async_get_entry(entry_id)
        if entry is None:
            continue
        try:
            found.update(reported_alarms(registry().get(str(entry.data.get(CONF_VENDOR)))))
        except ConfigError:
            continue
    return [alarm for alarm in Alarm if alarm in found]


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Create the bank's binary sensors once it first reports (from that reading)."""
    hub = hub_of(entry)

    @callback
    def ready() -> None:
        assert hub.first is not None
        descriptions = binary_sensor_descriptions(hub.first, member_alarms(hub))
        async_add_entities(BankBinarySensor(hub, BankBinarySensorEntityDescription(**d)) for d in descriptions)

    hub.async_when_ready(ready)


class BankBinarySensor(BankValueEntity, BinarySensorEntity):
    """One flag of the bank."""

    entity_description: BankBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """The flag."""
        value: bool | None = self._shown[1]
        return value

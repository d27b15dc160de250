"""Battery settings as number entities — only while the user enabled control, and disabled by default.

One entity per writable numeric setting of each pack whose protocol family has a settings table (on/off settings
are switches: :mod:`.settings_switch`; the SoC is set by :mod:`.settings_soc`, added here too). Entity category
*config*, disabled by default: a user enables the ones they want. An enabled entity reads its pack's settings at
most every few minutes (:mod:`.settings_cache`), so a change made outside Home Assistant shows up; a write goes
through the library's verified path (validated before a byte is sent, read back) and a refused or unconfirmed
write raises a translated error while the entity shows the value read back from the pack. Nothing here writes on
its own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from homeassistant.components.number import NumberDeviceClass, NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from vendor_plugins.battery_settings import BmsSettings, SettingSpec, format_value

from .bank_config import is_bank
from .coordinator import BmsConfigEntry, BmsCoordinator, PackAddress
from .settings_entity import SettingEntity, writable_settings
from .settings_soc import soc_numbers

PARALLEL_UPDATES = 1
#: How often Home Assistant asks an enabled entity to update (the cache reads at most every few minutes).
SCAN_INTERVAL = timedelta(minutes=5)

_DEVICE_CLASSES: Final = {
    "V": NumberDeviceClass.VOLTAGE,
    "A": NumberDeviceClass.CURRENT,
    "°C": NumberDeviceClass.TEMPERATURE,
    "s": NumberDeviceClass.DURATION,
}


def _description(spec: SettingSpec) -> NumberEntityDescription:
    unit = spec.word.unit or None
    return NumberEntityDescription(
        key=f"setting_{spec.name}",
        translation_key=spec.name,
        entity_category=EntityCategory.CONFIG,
        entity_registry_enabled_default=False,
        native_min_value=spec.minimum,
        native_max_value=spec.maximum,
        native_step=spec.step,
        native_unit_of_measurement=unit,
        device_class=_DEVICE_CLASSES.get(spec.word.unit),
        mode=NumberMode.BOX,
    )


async def async_setup_entry(
    hass: HomeAssistant, entry: BmsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Create the setting entities of each pack with a settings table, if control is enabled (no I/O here)."""
    if is_bank(entry):
        return  # a bank has no settings of its own
    coordinator = entry.runtime_data
    entities: list[NumberEntity] = []
    if coordinator.control_enabled:
        entities.extend(
            BmsSettingNumber(coordinator, pack, spec) for pack, spec in writable_settings(coordinator, on_off=False)
        )
        entities.extend(soc_numbers(coordinator))  # the SoC, where the protocol can set it (settings_soc.py)
    # Control turned off (or no table any more): the entities go away instead of lingering as unavailable.
    wanted = {entity.unique_id for entity in entities}
    registry = er.async_get(hass)
    for registered in er.async_entries_for_config_entry(registry, entry.entry_id):
        if registered.domain == "number" and registered.unique_id not in wanted:
            registry.async_remove(registered.entity_id)
    async_add_entities(entities)


class BmsSettingNumber(SettingEntity, NumberEntity):
    """One numeric setting of one pack."""

    def __init__(self, coordinator: BmsCoordinator, pack: PackAddress, spec: SettingSpec) -> None:
        """Describe the setting; its value comes from the pack's settings once read."""
        super().__init__(coordinator, pack, spec, _description(spec))

    def _value_of(self, settings: BmsSettings | None) -> float | None:
        if settings is None or self.spec.name not in settings.values:
            return None
        return float(settings.values[self.spec.name])

    def _show(self, value: float | None) -> None:
        self._attr_native_value = value

    def _shown(self) -> float | None:
        return self._attr_native_value

    async def async_set_native_value(self, value: float) -> None:
        """Write the setting through the verified path; the entity shows what the pack reads back."""
        await self._async_write(
            lambda: self.cache.async_write(self.pack, {self.spec.name: value}), format_value(value), None
        )

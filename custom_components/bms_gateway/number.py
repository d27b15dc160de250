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
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from vendor_plugins.battery_settings import BmsSettings, SettingSpec, format_value
from vendor_plugins.errors import BmsError, SettingsUnsupported

from .bank_config import is_bank
from .const import DOMAIN
from .coordinator import BmsConfigEntry, BmsCoordinator, PackAddress
from .entity import PackEntity
from .settings_cache import cache_for, error_key
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
        for pack in coordinator.packs:
            if coordinator.first_snapshots.get(pack) is None:
                continue
            try:
                table = coordinator.session.settings_table(pack)
            except SettingsUnsupported:
                continue
            entities.extend(
                BmsSettingNumber(coordinator, pack, spec)
                for spec in table.specs
                if spec.writable and spec.word.kind != "bool"
            )
        entities.extend(soc_numbers(coordinator))  # the SoC, where the protocol can set it (settings_soc.py)
    # Control turned off (or no table any more): the entities go away instead of lingering as unavailable.
    wanted = {entity.unique_id for entity in entities}
    registry = er.async_get(hass)
    for registered in er.async_entries_for_config_entry(registry, entry.entry_id):
        if registered.domain == "number" and registered.unique_id not in wanted:
            registry.async_remove(registered.entity_id)
    async_add_entities(entities)


class BmsSettingNumber(PackEntity, NumberEntity):
    """One setting of one pack."""

    @property
    def should_poll(self) -> bool:
        """Polled (every few minutes) to re-read the settings: they are not part of the coordinator's polls."""
        return True

    def __init__(self, coordinator: BmsCoordinator, pack: PackAddress, spec: SettingSpec) -> None:
        """Describe the setting; its value comes from the pack's settings once read."""
        super().__init__(coordinator, pack, _description(spec), ())
        self.spec = spec
        self.cache = cache_for(coordinator)
        known = self.cache.settings.get(pack)
        self._attr_native_value = self._value_of(known)

    def _value_of(self, settings: BmsSettings | None) -> float | None:
        if settings is None or self.spec.name not in settings.values:
            return None
        return float(settings.values[self.spec.name])

    async def async_added_to_hass(self) -> None:
        """Follow the pack's settings (read by any of its entities) and read them once now."""
        await super().async_added_to_hass()
        self.async_on_remove(self.cache.add_listener(self.pack, self._settings_read))
        self.async_schedule_update_ha_state(force_refresh=True)

    @callback
    def _settings_read(self, settings: BmsSettings) -> None:
        value = self._value_of(settings)
        if value != self._attr_native_value:
            self._attr_native_value = value
            if self.hass is not None and self.entity_id:
                self.async_write_ha_state()

    async def async_update(self) -> None:
        """Read the pack's settings if the shared copy is older than a few minutes (never every poll)."""
        try:
            settings = await self.cache.async_refresh(self.pack)
        except BmsError:
            return  # the pack's availability follows the polls; the value stays the last one read
        self._attr_native_value = self._value_of(settings)

    async def async_set_native_value(self, value: float) -> None:
        """Write the setting through the verified path; the entity shows what the pack reads back."""
        placeholders = {"setting": self.spec.name, "value": format_value(value), "pack": self.device_name}
        try:
            await self.cache.async_write(self.pack, {self.spec.name: value})
        except BmsError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key=error_key(err),
                translation_placeholders={**placeholders, "error": self.coordinator.for_log(err)},
            ) from err
        finally:
            self._attr_native_value = self._value_of(self.cache.settings.get(self.pack))
            self.async_write_ha_state()

    @property
    def device_name(self) -> str:
        """The pack's device name, for error messages."""
        info = self.device_info or {}
        return str(info.get("name") or self.coordinator.config_entry.title)

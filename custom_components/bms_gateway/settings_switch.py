"""On/off battery settings (the balancer, balancing only while charging) as switch entities.

Created by the switch platform, only while the user enabled control, for each writable on/off setting of a pack whose
protocol family has a settings table; entity category *config*, disabled by default. The balancer goes through
:meth:`~vendor_plugins.plugin.Session.set_balancer`, any other on/off setting through the verified settings write;
both are validated before a byte is sent and confirmed by reading back. A refused or unconfirmed write raises a
translated error and the switch shows the value read back from the pack. The value is the pack's settings as
:mod:`.settings_cache` last read them (at most every few minutes, and after each write), so a change made outside
Home Assistant shows up. Nothing here writes on its own.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError

from vendor_plugins.battery_settings import BmsSettings, SettingSpec
from vendor_plugins.errors import BmsError, SettingsUnsupported

from .const import DOMAIN
from .coordinator import BmsCoordinator, PackAddress
from .entity import PackEntity
from .settings_cache import cache_for, error_key

#: The setting :meth:`~vendor_plugins.plugin.Session.set_balancer` writes.
BALANCER = "balancer_enabled"


def settings_switches(coordinator: BmsCoordinator) -> list[BmsSettingSwitch]:
    """The on/off setting switches of every pack (none unless control is enabled; no I/O)."""
    if not coordinator.control_enabled:
        return []
    out: list[BmsSettingSwitch] = []
    for pack in coordinator.packs:
        if coordinator.first_snapshots.get(pack) is None:
            continue
        try:
            table = coordinator.session.settings_table(pack)
        except SettingsUnsupported:
            continue
        out.extend(
            BmsSettingSwitch(coordinator, pack, spec)
            for spec in table.specs
            if spec.writable and spec.word.kind == "bool"
        )
    return out


class BmsSettingSwitch(PackEntity, SwitchEntity):
    """One on/off setting of one pack."""

    @property
    def should_poll(self) -> bool:
        """Polled (at the switch platform's default interval; the cache reads at most every few minutes)."""
        return True

    def __init__(self, coordinator: BmsCoordinator, pack: PackAddress, spec: SettingSpec) -> None:
        """Describe the setting; its state comes from the pack's settings once read."""
        description = SwitchEntityDescription(
            key=f"setting_{spec.name}",
            translation_key=spec.name,
            entity_category=EntityCategory.CONFIG,
            entity_registry_enabled_default=False,
        )
        super().__init__(coordinator, pack, description, ())
        self.spec = spec
        self.cache = cache_for(coordinator)
        self._attr_is_on = self._value_of(self.cache.settings.get(pack))

    def _value_of(self, settings: BmsSettings | None) -> bool | None:
        if settings is None or self.spec.name not in settings.values:
            return None
        return bool(settings.values[self.spec.name])

    async def async_added_to_hass(self) -> None:
        """Follow the pack's settings (read by any of its entities) and read them once now."""
        await super().async_added_to_hass()
        self.async_on_remove(self.cache.add_listener(self.pack, self._settings_read))
        self.async_schedule_update_ha_state(force_refresh=True)

    @callback
    def _settings_read(self, settings: BmsSettings) -> None:
        value = self._value_of(settings)
        if value != self._attr_is_on:
            self._attr_is_on = value
            if self.hass is not None and self.entity_id:
                self.async_write_ha_state()

    async def async_update(self) -> None:
        """Read the pack's settings if the shared copy is older than a few minutes (never every poll)."""
        try:
            settings = await self.cache.async_refresh(self.pack)
        except BmsError:
            return  # the pack's availability follows the polls; the state stays the last one read
        self._attr_is_on = self._value_of(settings)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn the setting on, verified by read-back."""
        await self._async_set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn the setting off, verified by read-back."""
        await self._async_set(False)

    async def _async_set(self, on: bool) -> None:
        placeholders = {"setting": self.spec.name, "value": "on" if on else "off", "pack": self.device_name}
        confirmed: bool | None = None
        try:
            if self.spec.name == BALANCER:
                await self.cache.async_set_balancer(self.pack, on)
            else:
                await self.cache.async_write(self.pack, {self.spec.name: on})
            confirmed = on  # read back (a copy of the settings may not exist yet)
        except BmsError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key=error_key(err),
                translation_placeholders={**placeholders, "error": self.coordinator.for_log(err)},
            ) from err
        finally:
            known = self._value_of(self.cache.settings.get(self.pack))
            self._attr_is_on = known if known is not None else confirmed
            self.async_write_ha_state()

    @property
    def device_name(self) -> str:
        """The pack's device name, for error messages."""
        info = self.device_info or {}
        return str(info.get("name") or self.coordinator.config_entry.title)

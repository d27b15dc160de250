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

from vendor_plugins.battery_settings import BmsSettings, SettingSpec

from .coordinator import BmsCoordinator, PackAddress
from .settings_entity import SettingEntity, writable_settings

#: The setting :meth:`~vendor_plugins.plugin.Session.set_balancer` writes.
BALANCER = "balancer_enabled"


def settings_switches(coordinator: BmsCoordinator) -> list[BmsSettingSwitch]:
    """The on/off setting switches of every pack (none unless control is enabled; no I/O)."""
    return [BmsSettingSwitch(coordinator, pack, spec) for pack, spec in writable_settings(coordinator, on_off=True)]


class BmsSettingSwitch(SettingEntity, SwitchEntity):
    """One on/off setting of one pack."""

    def __init__(self, coordinator: BmsCoordinator, pack: PackAddress, spec: SettingSpec) -> None:
        """Describe the setting; its state comes from the pack's settings once read."""
        description = SwitchEntityDescription(
            key=f"setting_{spec.name}",
            translation_key=spec.name,
            entity_category=EntityCategory.CONFIG,
            entity_registry_enabled_default=False,
        )
        super().__init__(coordinator, pack, spec, description)

    def _value_of(self, settings: BmsSettings | None) -> bool | None:
        if settings is None or self.spec.name not in settings.values:
            return None
        return bool(settings.values[self.spec.name])

    def _show(self, value: bool | None) -> None:
        self._attr_is_on = value

    def _shown(self) -> bool | None:
        return self._attr_is_on

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn the setting on, verified by read-back."""
        await self._async_set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn the setting off, verified by read-back."""
        await self._async_set(False)

    async def _async_set(self, on: bool) -> None:
        if self.spec.name == BALANCER:
            await self._async_write(lambda: self.cache.async_set_balancer(self.pack, on), "on" if on else "off", on)
        else:
            await self._async_write(
                lambda: self.cache.async_write(self.pack, {self.spec.name: on}), "on" if on else "off", on
            )

"""What every battery-setting entity shares: its value is the pack's settings as last read, and writes are verified.

A setting entity (a number in :mod:`.number`, an on/off switch in :mod:`.settings_switch`) shows one value of the
pack's settings as :mod:`.settings_cache` last read them. It is polled (the settings are not part of the
coordinator's polls), but the cache reads the pack at most every few minutes and after each write, so a change made
outside Home Assistant shows up without a read per entity. Every entity of the pack follows every read. A write goes
through the library's verified path; a refused, unconfirmed or interrupted write raises a translated error, and the
entity then shows the value read back from the pack. Nothing here writes on its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity import EntityDescription

from vendor_plugins.battery_settings import BmsSettings, SettingSpec
from vendor_plugins.errors import BmsError, SettingsUnsupported

from .const import DOMAIN
from .coordinator import BmsCoordinator, PackAddress
from .entity import PackEntity
from .settings_cache import cache_for, error_key


def writable_settings(coordinator: BmsCoordinator, *, on_off: bool) -> Iterator[tuple[PackAddress, SettingSpec]]:
    """Each answering pack's writable settings, on/off ones or numeric ones (none unless control is enabled; no I/O)."""
    if not coordinator.control_enabled:
        return
    for pack in coordinator.packs:
        if coordinator.first_snapshots.get(pack) is None:
            continue
        try:
            table = coordinator.session.settings_table(pack)
        except SettingsUnsupported:
            continue
        for spec in table.specs:
            if spec.writable and (spec.word.kind == "bool") == on_off:
                yield pack, spec


class SettingEntity(PackEntity):
    """One setting of one pack; a platform says how its value is shown (``_value_of``, ``_show``, ``_shown``)."""

    def __init__(
        self, coordinator: BmsCoordinator, pack: PackAddress, spec: SettingSpec, description: EntityDescription
    ) -> None:
        """Describe the setting; its value comes from the pack's settings once read."""
        super().__init__(coordinator, pack, description, ())
        self.spec = spec
        self.cache = cache_for(coordinator)
        self._show(self._value_of(self.cache.settings.get(pack)))

    @property
    def should_poll(self) -> bool:
        """Polled, to re-read the settings (the cache reads the pack at most every few minutes)."""
        return True

    def _value_of(self, settings: BmsSettings | None) -> Any:
        """This setting's value in ``settings`` as the platform shows it (``None``: not read yet)."""
        raise NotImplementedError

    def _show(self, value: Any) -> None:
        """Make ``value`` the entity's state (not written yet)."""
        raise NotImplementedError

    def _shown(self) -> Any:
        """The value the entity shows."""
        raise NotImplementedError

    async def async_added_to_hass(self) -> None:
        """Follow the pack's settings (read by any of its entities) and read them once now."""
        await super().async_added_to_hass()
        self.async_on_remove(self.cache.add_listener(self.pack, self._settings_read))
        self.async_schedule_update_ha_state(force_refresh=True)

    @callback
    def _settings_read(self, settings: BmsSettings) -> None:
        value = self._value_of(settings)
        if value != self._shown():
            self._show(value)
            if self.hass is not None and self.entity_id:
                self.async_write_ha_state()

    async def async_update(self) -> None:
        """Read the pack's settings if the shared copy is older than a few minutes (never every poll)."""
        try:
            settings = await self.cache.async_refresh(self.pack)
        except BmsError:
            return  # the pack's availability follows the polls; the value stays the last one read
        self._show(self._value_of(settings))

    async def _async_write(self, write: Callable[[], Awaitable[object]], value_text: str, confirmed: Any) -> None:
        """Run ``write`` (a verified write of this setting); show what the pack reads back, or raise a translated error.

        ``confirmed`` is shown when the write succeeded but no copy of the settings exists yet to show.
        """
        placeholders = {"setting": self.spec.name, "value": value_text, "pack": self.device_name}
        succeeded = False
        try:
            await write()
            succeeded = True
        except BmsError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key=error_key(err),
                translation_placeholders={**placeholders, "error": self.coordinator.for_log(err)},
            ) from err
        finally:
            known = self._value_of(self.cache.settings.get(self.pack))
            self._show(known if known is not None or not succeeded else confirmed)
            self.async_write_ha_state()

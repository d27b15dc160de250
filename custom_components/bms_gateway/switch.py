"""Charge and discharge MOSFET switches — only where the plugin can switch them and the user enabled control.

Every write goes through the library's verified path (:meth:`vendor_plugins.plugin.Session.set_switch`: refused
unless control is enabled, confirmed by reading the state back). A write that is not confirmed raises a translated
:class:`~homeassistant.exceptions.HomeAssistantError` and the switch shows the state read back from the pack, never
the requested one. Nothing here writes on its own: no restore, no write at start-up; only a user's (or the user's
automation's) ``turn_on`` / ``turn_off``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.components.switch.const import SwitchDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from vendor_plugins.errors import BmsError, ControlNotConfirmed, ControlRefused
from vendor_plugins.model import BmsSnapshot, Switch

from . import bank_switch
from .bank_config import is_bank
from .const import DOMAIN
from .coordinator import BmsConfigEntry, BmsCoordinator, ControlInterrupted, PackAddress
from .descriptions import PackValueDescription
from .entity import BmsEntity
from .settings_switch import settings_switches

PARALLEL_UPDATES = 1  # one write at a time per platform (the coordinator serialises them with polling anyway)

#: The translated error of a failed write, by the library's error (the first class that matches).
_ERROR_KEYS: Final[tuple[tuple[type[BmsError], str], ...]] = (
    (ControlInterrupted, "control_interrupted"),
    (ControlNotConfirmed, "control_not_confirmed"),
    (ControlRefused, "control_refused"),
    (BmsError, "control_failed"),
)


def _error_key(err: BmsError) -> str:
    """The translation key of the error a failed write raises."""
    return next(key for kind, key in _ERROR_KEYS if isinstance(err, kind))


@dataclass(frozen=True, kw_only=True)
class BmsSwitchEntityDescription(SwitchEntityDescription, PackValueDescription):
    """A MOSFET switch: which one, and the snapshot field showing its state."""

    switch: Switch
    value_fn: Callable[[BmsSnapshot], bool | None]


def _description(switch: Switch) -> BmsSwitchEntityDescription:
    return BmsSwitchEntityDescription(
        key=f"{switch.value}_mosfet_switch",
        translation_key=f"{switch.value}_mosfet_switch",
        device_class=SwitchDeviceClass.SWITCH,
        switch=switch,
        value_fn=attrgetter(f"{switch.value}_mosfet"),
        field=f"{switch.value}_mosfet",
    )


async def async_setup_entry(
    hass: HomeAssistant, entry: BmsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Create the switches the plugin supports, for packs reporting the MOSFET state, if control is enabled."""
    if is_bank(entry):
        await bank_switch.async_setup_entry(hass, entry, async_add_entities)
        return
    coordinator = entry.runtime_data
    entities: list[SwitchEntity] = []
    if coordinator.control_enabled:
        for pack in coordinator.packs:
            snapshot = coordinator.first_snapshots.get(pack)
            if snapshot is None:
                continue
            for switch in (Switch.CHARGE, Switch.DISCHARGE):
                if (
                    switch in coordinator.plugin.capabilities.switches
                    and getattr(snapshot, f"{switch}_mosfet") is not None
                ):
                    entities.append(BmsMosfetSwitch(coordinator, pack, switch))
        entities.extend(settings_switches(coordinator))  # on/off battery settings (settings_switch.py)
    # Control turned off (or no longer supported): the switches go away instead of lingering as unavailable.
    wanted = {entity.unique_id for entity in entities}
    registry = er.async_get(hass)
    for registered in er.async_entries_for_config_entry(registry, entry.entry_id):
        if registered.domain == "switch" and registered.unique_id not in wanted:
            registry.async_remove(registered.entity_id)
    async_add_entities(entities)


class BmsMosfetSwitch(BmsEntity, SwitchEntity):
    """The charge or discharge MOSFET of one pack."""

    entity_description: BmsSwitchEntityDescription

    def __init__(self, coordinator: BmsCoordinator, pack: PackAddress, switch: Switch) -> None:
        """Show the MOSFET state the pack reports."""
        self.switch = switch
        super().__init__(coordinator, pack, _description(switch))

    @property
    def is_on(self) -> bool | None:
        """The MOSFET state the pack reports (a plain property, as for the sensors)."""
        value: bool | None = self._value
        return value

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch the MOSFET on (conducting), confirmed by read-back."""
        await self._async_set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch the MOSFET off, confirmed by read-back."""
        await self._async_set(False)

    async def _async_set(self, on: bool) -> None:
        placeholders = {"switch": self.switch.value, "state": "on" if on else "off", "pack": self.device_name}
        try:
            await self.coordinator.async_set_switch(self.pack, self.switch, on)
        except BmsError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key=_error_key(err),
                translation_placeholders={**placeholders, "error": self.coordinator.for_log(err)},
            ) from err
        finally:
            # The pack's reading (confirmed or read back after a failure) has been dispatched; make sure this
            # entity shows it even when its value did not change.
            snapshot = self.coordinator.snapshot(self.pack)
            if snapshot is not None:
                self._value = self._value_fn(snapshot)
            self.async_write_ha_state()

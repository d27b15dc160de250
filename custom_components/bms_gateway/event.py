"""One event entity per pack: ``alarm_raised`` / ``alarm_cleared`` and ``warning_raised`` / ``warning_cleared``.

The hook for automations: each transition of an alarm (protection, fault) or a warning fires exactly one event
whose ``alarm`` attribute is the :class:`~vendor_plugins.model.Alarm` value (``cell_overvoltage``...). The state
the pack is in when Home Assistant starts is the baseline (nothing fires for alarms already active then); while
the pack is unavailable nothing fires, and on its return the differences to the last known state fire.
"""

from __future__ import annotations

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from vendor_plugins.model import Alarm

from . import bank_event
from .bank_config import is_bank
from .coordinator import BmsConfigEntry, BmsCoordinator, PackAddress
from .entity import PackEntity

PARALLEL_UPDATES = 0

ALARM_RAISED = "alarm_raised"
ALARM_CLEARED = "alarm_cleared"
WARNING_RAISED = "warning_raised"
WARNING_CLEARED = "warning_cleared"
EVENT_TYPES = [ALARM_RAISED, ALARM_CLEARED, WARNING_RAISED, WARNING_CLEARED]

DESCRIPTION = EventEntityDescription(key="alarm_events", translation_key="alarm_events", event_types=EVENT_TYPES)


async def async_setup_entry(
    hass: HomeAssistant, entry: BmsConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """One alarm event entity per pack that answered the first poll."""
    if is_bank(entry):
        await bank_event.async_setup_entry(hass, entry, async_add_entities)
        return
    coordinator = entry.runtime_data
    async_add_entities(
        BmsAlarmEvent(coordinator, pack) for pack in coordinator.packs if pack in coordinator.first_snapshots
    )


class BmsAlarmEvent(PackEntity, EventEntity):
    """Fires on every alarm / warning transition of one pack."""

    entity_description = DESCRIPTION

    def __init__(self, coordinator: BmsCoordinator, pack: PackAddress) -> None:
        """Take the pack's current alarms as the baseline; told when its alarms or warnings change."""
        super().__init__(coordinator, pack, DESCRIPTION, ("alarms", "warnings"))
        snapshot = coordinator.snapshot(pack) or coordinator.first_snapshots.get(pack)
        self._alarms: frozenset[Alarm] = snapshot.alarms if snapshot else frozenset()
        self._warnings: frozenset[Alarm] = snapshot.warnings if snapshot else frozenset()

    @callback
    def _handle_coordinator_update(self) -> None:
        """Fire one event per transition; write state on availability changes."""
        snapshot = self.coordinator.snapshot(self.pack)
        if snapshot is None:
            if self._pack_available:
                self._pack_available = False
                self.async_write_ha_state()
            return
        write = not self._pack_available
        self._pack_available = True
        for old, new, raised, cleared in (
            (self._alarms, snapshot.alarms, ALARM_RAISED, ALARM_CLEARED),
            (self._warnings, snapshot.warnings, WARNING_RAISED, WARNING_CLEARED),
        ):
            if old == new:
                continue
            for alarm in sorted(new - old):
                self._trigger_event(raised, {"alarm": alarm.value})
                self.async_write_ha_state()
                write = False
            for alarm in sorted(old - new):
                self._trigger_event(cleared, {"alarm": alarm.value})
                self.async_write_ha_state()
                write = False
        self._alarms, self._warnings = snapshot.alarms, snapshot.warnings
        if write:
            self.async_write_ha_state()


__all__ = ["EVENT_TYPES", "BmsAlarmEvent"]

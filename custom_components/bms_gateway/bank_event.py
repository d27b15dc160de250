"""A battery bank's alarm event entity: one event per transition of the bank's alarms and warnings.

The event types are a pack's (``alarm_raised`` / ``alarm_cleared`` / ``warning_raised`` / ``warning_cleared``,
``alarm`` attribute: the :class:`~vendor_plugins.model.Alarm` value), plus ``packs``: the packs raising it (on a
raise) — the bank's alarms are the union of its members'. The bank's first reading is the baseline; while the bank
reports nothing, nothing fires, and on its return the differences fire.
"""

from __future__ import annotations

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from vendor_plugins.model import Alarm

from .bank_entity import BankEntity, Shown
from .bank_hub import BankHub, hub_of

#: A pack's event types and description (:mod:`.event`, which hooks this module in; a test checks they agree).
ALARM_RAISED = "alarm_raised"
ALARM_CLEARED = "alarm_cleared"
WARNING_RAISED = "warning_raised"
WARNING_CLEARED = "warning_cleared"
EVENT_TYPES = [ALARM_RAISED, ALARM_CLEARED, WARNING_RAISED, WARNING_CLEARED]
DESCRIPTION = EventEntityDescription(key="alarm_events", translation_key="alarm_events", event_types=EVENT_TYPES)


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """One alarm event entity for the bank, once it first reports."""
    hub = hub_of(entry)

    @callback
    def ready() -> None:
        async_add_entities([BankAlarmEvent(hub)])

    hub.async_when_ready(ready)


class BankAlarmEvent(BankEntity, EventEntity):
    """Fires on every alarm / warning transition of the bank."""

    def __init__(self, hub: BankHub) -> None:
        """The bank's first reading is the baseline."""
        first = hub.first
        self._alarms: frozenset[Alarm] = first.alarms if first else frozenset()
        self._warnings: frozenset[Alarm] = first.warnings if first else frozenset()
        super().__init__(hub, DESCRIPTION)

    def _compute(self) -> Shown:
        bank = self.hub.snapshot
        available = bank is not None and bank.available
        return available, None, None

    @callback
    def _bank_updated(self) -> None:
        """Fire one event per transition; write state on availability changes."""
        bank = self.hub.snapshot
        if bank is None or not bank.available:
            super()._bank_updated()
            return
        write = not self._shown[0]
        self._shown = (True, None, None)
        for old, new, raised, cleared, packs in (
            (self._alarms, bank.alarms, ALARM_RAISED, ALARM_CLEARED, bank.alarm_packs),
            (self._warnings, bank.warnings, WARNING_RAISED, WARNING_CLEARED, bank.warning_packs),
        ):
            if old == new:
                continue
            for alarm in sorted(new - old):
                self._trigger_event(raised, {"alarm": alarm.value, "packs": self.hub.names(packs.get(alarm, ()))})
                self.async_write_ha_state()
                write = False
            for alarm in sorted(old - new):
                self._trigger_event(cleared, {"alarm": alarm.value})
                self.async_write_ha_state()
                write = False
        self._alarms, self._warnings = bank.alarms, bank.warnings
        if write:
            self.async_write_ha_state()

"""Per-field dispatch against a running simulator: exactly the entities whose state changed write it.

A state write is either a ``state_changed`` event (the state or its attributes changed) or a ``state_reported``
event (written again unchanged). After each poll the entities that wrote must be exactly those whose state changed:
none on an unchanged poll, every changed one (not one fewer) on a poll with changes, whichever field changed.
"""

from __future__ import annotations

from typing import Any

from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bms_gateway.const import DOMAIN
from custom_components.bms_gateway.coordinator import BmsCoordinator
from custom_components.bms_gateway.dispatch import ChangedFieldDispatcher, PackFields
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.model import Alarm, BmsSnapshot

from .helpers import jbd_over_tcp, jbd_state


class _Writes:
    """Every entity of one entry that wrote its state since the last :meth:`take`."""

    def __init__(self, hass: HomeAssistant, entry: MockConfigEntry) -> None:
        self.hass = hass
        self.entry = entry
        self.seen: list[str] = []

        @callback
        def note(event: Event[Any]) -> None:
            self.seen.append(event.data["entity_id"])

        @callback
        def ours(event_data: Any) -> bool:  # Home Assistant wants a filter on state_reported
            return True

        self.unsubscribe = [
            hass.bus.async_listen(EVENT_STATE_CHANGED, note),
            hass.bus.async_listen(EVENT_STATE_REPORTED, note, event_filter=ours),
        ]

    def states(self) -> dict[str, tuple[str, dict[str, Any]]]:
        ids = [e.entity_id for e in er.async_entries_for_config_entry(er.async_get(self.hass), self.entry.entry_id)]
        return {i: (s.state, dict(s.attributes)) for i in ids if (s := self.hass.states.get(i)) is not None}

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


async def _poll_and_compare(hass: HomeAssistant, entry: MockConfigEntry, writes: _Writes) -> set[str]:
    """Poll once; assert the entities that wrote are exactly those whose state changed, each once; return them."""
    before = writes.states()
    writes.take()
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    after = writes.states()
    written = writes.take()
    changed = {i for i in after if after[i] != before.get(i)}
    assert sorted(written) == sorted(changed)  # no write without a change, no change without its write, no doubles
    return changed


#: Energy meters change with time, not with a field: one may tick over a watt-hour on any poll of a slow run.
_TIME_DEPENDENT = {"energy_charged", "energy_discharged"}


def _keys(entry: MockConfigEntry, entity_ids: set[str]) -> set[str]:
    """The description keys of ``entity_ids``, the energy meters left out."""
    registry = er.async_get(entry.runtime_data.hass)
    prefix = f"{entry.unique_id}_"
    out = set()
    for entity_id in entity_ids:
        registered = registry.async_get(entity_id)
        assert registered is not None
        out.add(registered.unique_id.removeprefix(prefix))
    return out - _TIME_DEPENDENT


async def test_only_entities_whose_state_changed_write(hass: HomeAssistant) -> None:
    """Unchanged poll: no write; then one change per register and kind of entity, each writing exactly its own."""
    sim = JbdSimulator(jbd_state())
    async with jbd_over_tcp(hass, sim) as (_, entry):
        writes = _Writes(hass, entry)
        state = sim.state

        for _ in range(3):
            assert _keys(entry, await _poll_and_compare(hass, entry, writes)) == set()

        state.current = -10.0  # still discharging: the current and what derives from it
        assert _keys(entry, await _poll_and_compare(hass, entry, writes)) == {"current", "power", "battery_power"}

        state.current = 3.0  # now charging: the charge-state binary sensors follow
        changed = _keys(entry, await _poll_and_compare(hass, entry, writes))
        assert {"current", "power", "battery_power", "charging", "discharging"} <= changed

        state.cell_voltages[4] = 3.456  # one cell: it, the pack voltage and the cell statistics
        changed = _keys(entry, await _poll_and_compare(hass, entry, writes))
        assert {"cell_5_voltage", "voltage", "cell_max", "cell_average", "cell_delta"} <= changed
        assert "cell_4_voltage" not in changed

        state.temperatures[1] = 30.5
        assert _keys(entry, await _poll_and_compare(hass, entry, writes)) == {"temperature_cell_2"}

        state.alarms = {Alarm.CELL_OVERVOLTAGE}  # the alarm's binary sensor and the event entity
        changed = _keys(entry, await _poll_and_compare(hass, entry, writes))
        assert {"alarm_cell_overvoltage", "alarm_events"} <= changed

        assert _keys(entry, await _poll_and_compare(hass, entry, writes)) == set()
        for unsubscribe in writes.unsubscribe:
            unsubscribe()
        assert await hass.config_entries.async_unload(entry.entry_id)


class _Probe:
    """A listener on one field of the default pack, recording the pack's snapshot each time it is told."""

    def __init__(self, coordinator: BmsCoordinator, field: str) -> None:
        self.coordinator = coordinator
        self.context = PackFields(None, (field,))
        self.calls: list[BmsSnapshot | None] = []

    @callback
    def update(self) -> None:
        self.calls.append(self.coordinator.snapshot(None))


async def test_dispatch_follows_listeners_added_and_removed(hass: HomeAssistant) -> None:
    """A listener registered after polling started gets its field's changes; once removed, it gets nothing."""
    sim = JbdSimulator(jbd_state())
    async with jbd_over_tcp(hass, sim) as (_, entry):
        coordinator = entry.runtime_data
        sim.state.current = -11.0
        await coordinator.async_refresh()  # the dispatch table of the pack's fields is built

        # A field entities already listen to, and one no entity listens to (the raw protocol values).
        cycles, raw = _Probe(coordinator, "cycles"), _Probe(coordinator, "raw")
        remove_cycles = coordinator.async_add_listener(cycles.update, cycles.context)
        remove_raw = coordinator.async_add_listener(raw.update, raw.context)
        sim.state.cycles = 322
        await coordinator.async_refresh()
        assert [s.cycles if s else None for s in cycles.calls] == [322]
        assert raw.calls == []  # the raw values did not change

        sim.state.alarms = {Alarm.SHORT_CIRCUIT}  # the protection word, part of the raw values
        await coordinator.async_refresh()
        assert [s.raw["protection_status"] if s else None for s in raw.calls] == [1 << 10]
        assert len(cycles.calls) == 1

        remove_cycles()
        remove_raw()
        sim.state.cycles = 323
        sim.state.alarms = set()
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        assert len(cycles.calls) == 1
        assert len(raw.calls) == 1
        cycles_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_cycles")
        assert cycles_id is not None
        cycles_state = hass.states.get(cycles_id)
        assert cycles_state is not None
        assert cycles_state.state == "323"  # the entities themselves still follow
        assert await hass.config_entries.async_unload(entry.entry_id)


class _Counted:
    """A field value that counts how often it is compared."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        _Counted.comparisons += 1
        return False

    __hash__ = object.__hash__


def test_dispatcher_routes_by_field_availability_and_every_poll() -> None:
    """The dispatcher alone: field changes, the identity shortcut, availability, every-poll listeners, removal."""
    current: dict[int | None, BmsSnapshot | None] = {None: BmsSnapshot(voltage=52.0, cycles=1)}
    dispatcher = ChangedFieldDispatcher(current.get)
    calls: list[str] = []
    remove_voltage = dispatcher.async_add(lambda: calls.append("voltage"), PackFields(None, ("voltage",)))
    dispatcher.async_add(lambda: calls.append("cycles"), PackFields(None, ("cycles",)))
    dispatcher.async_add(lambda: calls.append("both"), PackFields(None, ("voltage", "cycles")))
    dispatcher.async_add(lambda: calls.append("every"), None)

    dispatcher.async_dispatch()  # the same snapshot: only the every-poll listener
    assert calls == ["every"]
    calls.clear()
    current[None] = BmsSnapshot(voltage=52.0, cycles=1)  # a new, equal snapshot
    dispatcher.async_dispatch()
    assert calls == ["every"]
    calls.clear()
    current[None] = BmsSnapshot(voltage=52.5, cycles=1)
    dispatcher.async_dispatch()
    assert sorted(calls) == ["both", "every", "voltage"]
    calls.clear()
    current[None] = None  # unavailable: every listener of the pack looks (once per field it listens to)
    dispatcher.async_dispatch()
    assert sorted(calls) == ["both", "both", "cycles", "every", "voltage"]
    calls.clear()
    current[None] = BmsSnapshot(voltage=52.5, cycles=1)  # back
    dispatcher.async_dispatch()
    assert sorted(calls) == ["both", "both", "cycles", "every", "voltage"]
    calls.clear()
    remove_voltage()
    current[None] = BmsSnapshot(voltage=53.0, cycles=2)
    dispatcher.async_dispatch()
    assert sorted(calls) == ["both", "both", "cycles", "every"]


def test_dispatcher_compares_no_value_that_is_the_same_object() -> None:
    """A field value carried over as the same object (not decoded again) is not compared; a new one is."""
    value = _Counted()
    current: dict[int | None, BmsSnapshot | None] = {None: BmsSnapshot(raw=value)}  # type: ignore[arg-type]
    dispatcher = ChangedFieldDispatcher(current.get)
    calls: list[str] = []
    dispatcher.async_add(lambda: calls.append("raw"), PackFields(None, ("raw",)))
    _Counted.comparisons = 0
    current[None] = BmsSnapshot(raw=value)  # type: ignore[arg-type]
    dispatcher.async_dispatch()
    assert calls == [] and _Counted.comparisons == 0
    current[None] = BmsSnapshot(raw=_Counted())  # type: ignore[arg-type]
    dispatcher.async_dispatch()
    assert calls == ["raw"] and _Counted.comparisons == 1  # compared (and unequal: this one never equals)

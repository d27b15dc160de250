"""Event platform: the alarm event entity of a 16-cell pack of every vendor family, and the events it fires.

The entity (registry entry and state) right after set-up is snapshotted; then a cell-overvoltage alarm is raised in
the simulator and the next poll must fire exactly one ``alarm_raised`` event naming it, whose state (the poll's time,
frozen) and attributes are snapshotted too. A family whose session does not read alarms (DALY P81) fires nothing.
Against a JBD pack and a PACE bus: one event per alarm / warning transition, per pack, never at start-up.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from pytest_homeassistant_custom_component.common import async_fire_time_changed, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.bms_gateway.const import DEFAULT_SCAN_INTERVAL
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.model import Alarm
from vendor_plugins.sim import serve_tcp

from .helpers import bus_simulators, entity_id_of, jbd_over_tcp, jbd_state, pace_bus_over_tcp, tick
from .packs16 import PACK_IDS, PACKS, RAISED, START, Pack16, pack_on_platform


@pytest.mark.parametrize("pack", PACKS, ids=PACK_IDS)
async def test_alarm_event(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
    pack: Pack16,
) -> None:
    freezer.move_to(START)
    async with pack_on_platform(hass, pack, Platform.EVENT) as (sim, entry):
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
        (registered,) = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        fired: list[tuple[str, str]] = []

        @callback
        def changed(event: Event[EventStateChangedData]) -> None:
            new = event.data["new_state"]
            assert new is not None
            fired.append((new.attributes.get("event_type"), new.attributes.get("alarm")))

        stop = async_track_state_change_event(hass, [registered.entity_id], changed)

        pack.raise_alarm(sim)
        freezer.tick(DEFAULT_SCAN_INTERVAL + timedelta(seconds=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        stop()

        state = hass.states.get(registered.entity_id)
        assert state is not None
        if not pack.reads_alarms:
            assert fired == []
            assert state.state == "unknown"
            return
        assert fired == [("alarm_raised", RAISED.value)]
        assert state == snapshot(name=f"{registered.entity_id}-alarm_raised")


def _recorder(hass: HomeAssistant, entity_ids: list[str]) -> list[tuple[str, str, str]]:
    fired: list[tuple[str, str, str]] = []

    @callback
    def changed(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is None or new.state in (STATE_UNAVAILABLE, "unknown"):
            return
        fired.append((new.entity_id, new.attributes["event_type"], new.attributes["alarm"]))

    async_track_state_change_event(hass, entity_ids, changed)
    return fired


async def test_alarm_raised_and_cleared_fire_exactly_once(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=4))
    sim.state.alarms = {Alarm.CELL_UNDERVOLTAGE}  # active at start-up: the baseline, no event
    async with jbd_over_tcp(hass, sim) as (server, entry):
        events = entity_id_of(hass, entry.unique_id, "alarm_events", "event")
        state = hass.states.get(events)
        assert state.state == "unknown"
        assert state.attributes["event_types"] == ["alarm_raised", "alarm_cleared", "warning_raised", "warning_cleared"]
        fired = _recorder(hass, [events])

        sim.state.alarms = {Alarm.CELL_UNDERVOLTAGE, Alarm.CELL_OVERVOLTAGE}
        await tick(hass)
        await tick(hass)  # unchanged: nothing more
        assert fired == [(events, "alarm_raised", "cell_overvoltage")]

        sim.state.alarms = set()
        await tick(hass)
        await tick(hass)
        assert fired[1:] == [
            (events, "alarm_cleared", "cell_overvoltage"),
            (events, "alarm_cleared", "cell_undervoltage"),
        ]

        # Unavailable: nothing fires; back with an alarm raised meanwhile: it fires once.
        await server.close()
        await tick(hass)
        assert hass.states.get(events).state == STATE_UNAVAILABLE
        sim.state.alarms = {Alarm.SHORT_CIRCUIT}
        async with await serve_tcp(sim, port=server.port):
            await tick(hass)
            await tick(hass)
            assert fired[3:] == [(events, "alarm_raised", "short_circuit")]
            assert hass.states.get(events).attributes["alarm"] == "short_circuit"
            assert await hass.config_entries.async_unload(entry.entry_id)


async def test_warnings_fire_per_pack_on_a_bus(hass: HomeAssistant) -> None:
    sims = bus_simulators((1, 2))
    async with pace_bus_over_tcp(hass, sims, [1, 2]) as (_, entry):
        first = entity_id_of(hass, f"{entry.unique_id}_1", "alarm_events", "event")
        second = entity_id_of(hass, f"{entry.unique_id}_2", "alarm_events", "event")
        fired = _recorder(hass, [first, second])
        sims[1].state.warnings = {Alarm.CELL_OVERVOLTAGE}  # type: ignore[attr-defined]
        await tick(hass)
        await tick(hass)
        assert fired == [(second, "warning_raised", "cell_overvoltage")]
        sims[1].state.warnings = set()  # type: ignore[attr-defined]
        sims[0].state.alarms = {Alarm.CELL_OVERVOLTAGE}  # type: ignore[attr-defined]
        await tick(hass)
        assert sorted(fired[1:]) == sorted(
            [(second, "warning_cleared", "cell_overvoltage"), (first, "alarm_raised", "cell_overvoltage")]
        )
        assert await hass.config_entries.async_unload(entry.entry_id)

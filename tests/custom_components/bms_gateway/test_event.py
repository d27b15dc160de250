"""Event platform: the alarm event entity of a 16-cell pack of every vendor family, and an alarm it fires.

The entity (registry entry and state) right after set-up is snapshotted; then a cell-overvoltage alarm is raised in
the simulator and the next poll must fire exactly one ``alarm_raised`` event naming it, whose state (the poll's time,
frozen) and attributes are snapshotted too. A family whose session does not read alarms (DALY P81) fires nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from pytest_homeassistant_custom_component.common import async_fire_time_changed, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.bms_gateway.const import DEFAULT_SCAN_INTERVAL

from .packs16 import (  # noqa: F401 (ha_snapshot: a fixture)
    PACK_IDS,
    PACKS,
    RAISED,
    START,
    Pack16,
    ha_snapshot,
    pack_on_platform,
)


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

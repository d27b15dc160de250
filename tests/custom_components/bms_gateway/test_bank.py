"""Battery bank entities: packs of two vendors on two transports as one battery, silent members, member reloads.

A PACE bus (two packs, TCP bridge) and a JBD pack over Bluetooth (the fake proxy of the ``scanner`` / ``ble_sim``
fixtures) make one parallel bank; its values are the library's aggregation of the packs' readings (checked against
the packs' own entities), its cell extremes name pack and cell, battery power and energy meters exist for the Energy
dashboard. A member going silent: under policy ``all`` the bank reports nothing (and says which pack is missing),
under ``available`` it reports from the others, degraded. Bank entities are found by unique id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from syrupy.assertion import SnapshotAssertion

from custom_components.bms_gateway import bank_event
from custom_components.bms_gateway import event as pack_event
from custom_components.bms_gateway.bank_hub import hub_of
from custom_components.bms_gateway.const import DEFAULT_SCAN_INTERVAL, DOMAIN
from custom_components.bms_gateway.diagnostics import async_get_config_entry_diagnostics
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.model import Alarm
from vendor_plugins.sim import Simulator, serve_tcp

from .bank_helpers import (
    BANK_ID,
    bank_entity_id,
    bank_entry,
    bank_state,
    device_name,
    hub,
    jbd_ble_entry,
    jbd_tcp_entry,
    pace_tcp_entry,
    pack_state,
)
from .helpers import (
    BLE_ADDRESS,
    BLE_NAME,
    JBD_SERVICE,
    FakeRemoteScanner,
    answer_again,
    bus_simulators,
    jbd_state,
    refresh,
    setup_entry,
    silence,
)

START = "2026-12-03 12:00:00+00:00"


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """One poll interval passes (the clock moves): the entries due poll, the bank's timers run."""
    freezer.tick(DEFAULT_SCAN_INTERVAL)
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done(wait_background_tasks=True)


def _keyed(value: object, names: dict[str, str]) -> object:
    """``value`` with member device names replaced by ``<member key>`` (device names may change; keys do not)."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [_keyed(item, names) for item in value]
    if isinstance(value, dict):
        return {key: _keyed(item, names) for key, item in value.items()}
    return value


def bank_entities(hass: HomeAssistant) -> dict[str, dict[str, object]]:
    """Every bank entity by unique id: state, attributes (pack names as member keys) and registry options.

    No entity ids and no pack device names: both may change (another part of the integration names devices).
    """
    bank = hub_of(hass.config_entries.async_get_known_entry(BANK_ID))
    names = {bank.name(key): f"<{key}>" for key in bank.members}
    out: dict[str, dict[str, object]] = {}
    for registered in er.async_entries_for_config_entry(er.async_get(hass), BANK_ID):
        state = hass.states.get(registered.entity_id)
        out[registered.unique_id] = {
            "platform": registered.domain,
            "category": registered.entity_category,
            "disabled": registered.disabled_by,
            "translation_key": registered.translation_key,
            "state": None if state is None else state.state,
            "attributes": None if state is None else _keyed(dict(state.attributes), names),
        }
    return dict(sorted(out.items()))


@asynccontextmanager
async def pace_and_jbd_tcp(
    hass: HomeAssistant, policy: str, mode: str = "parallel"
) -> AsyncIterator[tuple[list[Simulator], JbdSimulator, MockConfigEntry, MockConfigEntry, MockConfigEntry]]:
    """A PACE bus (packs 1, 2) and a JBD pack, each behind its own TCP bridge, and a bank of all three."""
    pace_sims = bus_simulators([1, 2])
    jbd_sim = JbdSimulator(jbd_state())
    async with await serve_tcp(pace_sims) as pace_server, await serve_tcp(jbd_sim) as jbd_server:
        pace = await setup_entry(hass, pace_tcp_entry(pace_server, [1, 2], entry_id="pace0", title="Rack"))
        jbd = await setup_entry(hass, jbd_tcp_entry(jbd_server, entry_id="jbd0", title="Shed"))
        bank = await setup_entry(hass, bank_entry(["pace0:1", "pace0:2", "jbd0"], policy=policy, mode=mode))
        yield pace_sims, jbd_sim, pace, jbd, bank
        for entry in (bank, jbd, pace):
            if hass.config_entries.async_get_entry(entry.entry_id) is not None:  # a test may have deleted one
                await hass.config_entries.async_unload(entry.entry_id)


async def test_two_vendors_two_transports_one_bank(
    hass: HomeAssistant,
    scanner: FakeRemoteScanner,
    ble_sim: JbdSimulator,
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
) -> None:
    """PACE packs on a TCP bus and a JBD pack over Bluetooth: one bank, values of all three."""
    freezer.move_to(START)
    scanner.inject(BLE_ADDRESS, BLE_NAME, [JBD_SERVICE])
    await hass.async_block_till_done(wait_background_tasks=True)
    ble = jbd_ble_entry(BLE_ADDRESS, entry_id="ble0", title="Shed JBD")  # fixed: stable member keys and snapshots
    async with await serve_tcp(bus_simulators([1, 2])) as server:
        pace = await setup_entry(hass, pace_tcp_entry(server, [1, 2], entry_id="pace0", title="Rack"))
        await setup_entry(hass, ble)
        bank = await setup_entry(hass, bank_entry(["pace0:1", "pace0:2", "ble0"]))
        assert bank_entities(hass) == snapshot

        members = [(pace, 1), (pace, 2), (ble, None)]
        currents = [float(pack_state(hass, e, p, "current")) for e, p in members]
        voltages = [float(pack_state(hass, e, p, "voltage")) for e, p in members]
        assert float(bank_state(hass, "current").state) == pytest.approx(sum(currents), abs=1e-3)
        assert float(bank_state(hass, "voltage").state) == pytest.approx(sum(voltages) / 3, abs=1e-3)
        assert float(bank_state(hass, "battery_power").state) == -float(bank_state(hass, "power").state)
        lowest = min(float(pack_state(hass, e, p, "cell_min")) for e, p in members)
        cell_min = bank_state(hass, "cell_min")
        assert float(cell_min.state) == lowest
        assert set(cell_min.attributes) >= {"pack", "cell"}
        names = [device_name(hass, e, p) for e, p in members]
        assert cell_min.attributes["pack"] in names
        for key in ("energy_charged", "energy_discharged"):
            assert bank_state(hass, key).attributes["state_class"] == "total_increasing"
        degraded = bank_state(hass, "degraded", "binary_sensor")
        assert degraded.state == STATE_OFF
        assert degraded.attributes["members"] == names
        device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, f"bank_{BANK_ID}")})
        assert device is not None and device.name == "House battery"
        for entry in (bank, ble, pace):
            await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("policy", ["all", "available"])
async def test_member_goes_silent(hass: HomeAssistant, policy: str) -> None:
    """Policy ``all``: the bank reports nothing while a pack is silent; ``available``: from the others, degraded."""
    async with pace_and_jbd_tcp(hass, policy) as (pace_sims, _jbd_sim, pace, jbd, _bank):
        full = float(bank_state(hass, "current").state)
        silence(pace_sims[1])
        await refresh(hass, pace)
        await refresh(hass, jbd)  # the round is complete: the bank updates
        degraded = bank_state(hass, "degraded", "binary_sensor")
        assert degraded.state == STATE_ON
        assert degraded.attributes["missing"] == [device_name(hass, pace, 2)]
        if policy == "all":
            assert bank_state(hass, "current").state == STATE_UNAVAILABLE
            assert bank_state(hass, "energy_charged").state == STATE_UNAVAILABLE
        else:
            expected = float(pack_state(hass, pace, 1, "current")) + float(pack_state(hass, jbd, None, "current"))
            assert float(bank_state(hass, "current").state) == pytest.approx(expected, abs=1e-3)
        answer_again(pace_sims[1])
        for _ in range(4):  # the bus asks a pack that failed again after a back-off of a few polls
            await refresh(hass, pace)
            await refresh(hass, jbd)
        assert bank_state(hass, "degraded", "binary_sensor").state == STATE_OFF
        assert float(bank_state(hass, "current").state) == pytest.approx(full, abs=1e-3)


async def test_member_entry_unloads_and_reloads(hass: HomeAssistant) -> None:
    """A member entry unloading makes its pack missing at once; reloaded, the bank follows the new coordinator."""
    async with pace_and_jbd_tcp(hass, "available") as (_pace_sims, _jbd_sim, pace, jbd, bank):
        assert hub(bank).attached == {"pace0", "jbd0"}
        assert await hass.config_entries.async_unload(jbd.entry_id)
        await hass.async_block_till_done()
        assert bank_state(hass, "degraded", "binary_sensor").attributes["missing"] == [device_name(hass, jbd, None)]
        assert hub(bank).attached == {"pace0"}
        assert await hass.config_entries.async_setup(jbd.entry_id)
        await hass.async_block_till_done()
        assert hub(bank).attached == {"pace0", "jbd0"}
        assert bank_state(hass, "degraded", "binary_sensor").state == STATE_OFF
        await refresh(hass, jbd)
        await refresh(hass, pace)
        assert bank_state(hass, "degraded", "binary_sensor").state == STATE_OFF
        assert await hass.config_entries.async_reload(pace.entry_id)
        await hass.async_block_till_done()
        await refresh(hass, pace)
        assert bank_state(hass, "degraded", "binary_sensor").state == STATE_OFF


async def test_bank_updates_once_per_round(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """One update per poll of a bus; across two entries, one when both have polled (or when the round is late)."""
    async with pace_and_jbd_tcp(hass, "all") as (_pace_sims, _jbd_sim, pace, jbd, bank):
        stats = hub(bank).stats
        before = stats["updates"]
        await refresh(hass, pace)
        assert stats["updates"] == before  # the JBD entry has not polled in this round yet
        await refresh(hass, jbd)
        assert stats["updates"] == before + 1  # both polled: one update for three packs
        await refresh(hass, pace)
        freezer.tick(hub(bank).round_deadline + 1)
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        assert stats["updates"] == before + 2
        assert stats["deadline_updates"] == 1


def test_bank_events_are_a_packs() -> None:
    """The bank's alarm events have a pack's event types and description (kept as copies: no import circle)."""
    assert bank_event.EVENT_TYPES == pack_event.EVENT_TYPES
    assert bank_event.DESCRIPTION == pack_event.DESCRIPTION


async def test_bank_alarm_events_name_the_packs(hass: HomeAssistant) -> None:
    """A member raising an alarm: the bank's alarm sensor and event name that pack; clearing it fires once more."""
    async with pace_and_jbd_tcp(hass, "all") as (_pace_sims, jbd_sim, pace, jbd, _bank):
        event_id = bank_entity_id(hass, "alarm_events", "event")
        assert event_id is not None
        fired: list[dict[str, object]] = []

        @callback
        def changed(event: Event[EventStateChangedData]) -> None:
            new = event.data["new_state"]
            if new is not None and new.attributes.get("event_type"):
                fired.append(dict(new.attributes))

        stop = async_track_state_change_event(hass, [event_id], changed)
        jbd_sim.state.alarms.add(Alarm.CELL_OVERVOLTAGE)
        await refresh(hass, jbd)
        await refresh(hass, pace)
        alarm = bank_state(hass, "alarm_cell_overvoltage", "binary_sensor")
        assert alarm.state == STATE_ON
        shed = device_name(hass, jbd, None)
        assert alarm.attributes["packs"] == [shed]
        assert [(f["event_type"], f["alarm"], f.get("packs")) for f in fired] == [
            ("alarm_raised", "cell_overvoltage", [shed])
        ]
        jbd_sim.state.alarms.discard(Alarm.CELL_OVERVOLTAGE)
        await refresh(hass, jbd)
        await refresh(hass, pace)
        assert bank_state(hass, "alarm_cell_overvoltage", "binary_sensor").state == STATE_OFF
        assert [(f["event_type"], f["alarm"]) for f in fired][1:] == [("alarm_cleared", "cell_overvoltage")]
        stop()


async def test_series_bank(hass: HomeAssistant) -> None:
    """Series: voltages add up, the one current is the packs' mean and a disagreement is flagged; no voltage spread."""
    async with pace_and_jbd_tcp(hass, "all", mode="series") as (_pace_sims, _jbd_sim, pace, jbd, bank):
        members = [(pace, 1), (pace, 2), (jbd, None)]
        voltages = [float(pack_state(hass, e, p, "voltage")) for e, p in members]
        currents = [float(pack_state(hass, e, p, "current")) for e, p in members]
        assert float(bank_state(hass, "voltage").state) == pytest.approx(sum(voltages), abs=1e-3)
        assert float(bank_state(hass, "current").state) == pytest.approx(sum(currents) / 3, abs=1e-3)
        mismatch = max(currents) - min(currents) > 1.0
        assert bank_state(hass, "current_mismatch", "binary_sensor").state == (STATE_ON if mismatch else STATE_OFF)
        assert bank_entity_id(hass, "voltage_spread") is None
        diagnostics = await async_get_config_entry_diagnostics(hass, bank)
        assert diagnostics["bank"]["mode"] == "series"
        assert diagnostics["bank"]["bank"]["members"] == ["pace0:1", "pace0:2", "jbd0"]


async def test_bank_set_up_before_its_members(hass: HomeAssistant) -> None:
    """Start-up order does not matter: the bank's entities appear once its members' entries load."""
    jbd_sim = JbdSimulator(jbd_state())
    async with await serve_tcp(jbd_sim) as server:
        bank = await setup_entry(hass, bank_entry(["jbd0"]))
        assert bank_entity_id(hass, "current") is None
        assert hub(bank).snapshot is not None and not hub(bank).snapshot.available
        jbd = await setup_entry(hass, jbd_tcp_entry(server, entry_id="jbd0", title="Shed"))
        await hass.async_block_till_done()
        assert float(bank_state(hass, "current").state) == float(pack_state(hass, jbd, None, "current"))
        assert bank_state(hass, "degraded", "binary_sensor").state == STATE_OFF
        for entry in (bank, jbd):
            assert await hass.config_entries.async_unload(entry.entry_id)


async def test_stale_member_is_never_counted(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """A member entry that stops polling (without failing): once its reading is older than ``max_age`` it is missing."""
    freezer.move_to(START)
    async with pace_and_jbd_tcp(hass, "available") as (_pace_sims, _jbd_sim, pace, jbd, bank):
        bank_hub = hub(bank)
        jbd.runtime_data.update_interval = timedelta(hours=1)  # its next poll, after the one already due, is far off
        await _poll(hass, freezer)
        assert bank_state(hass, "degraded", "binary_sensor").state == STATE_OFF
        for _ in range(int(bank_hub.max_age // DEFAULT_SCAN_INTERVAL.total_seconds()) + 2):
            await _poll(hass, freezer)  # the bus entry polls; each round waits for the JBD entry until its deadline
        assert bank_hub.stats["deadline_updates"] >= 1
        degraded = bank_state(hass, "degraded", "binary_sensor")
        assert degraded.state == STATE_ON
        assert degraded.attributes["missing"] == [device_name(hass, jbd, None)]
        rack = sum(float(pack_state(hass, pace, p, "current")) for p in (1, 2))
        assert float(bank_state(hass, "current").state) == pytest.approx(rack, abs=1e-3)


async def test_removed_member_entry_raises_a_repair_issue(hass: HomeAssistant) -> None:
    """A member's entry deleted: a repair issue names the bank and the pack; choosing the packs again clears it."""
    async with pace_and_jbd_tcp(hass, "available") as (_pace_sims, _jbd_sim, _pace, jbd, bank):
        issues = ir.async_get(hass)
        ident = f"bank_member_gone_{bank.entry_id}"
        assert issues.async_get_issue(DOMAIN, ident) is None
        assert await hass.config_entries.async_remove(jbd.entry_id)
        await hass.async_block_till_done()
        issue = issues.async_get_issue(DOMAIN, ident)
        assert issue is not None
        assert issue.translation_placeholders == {"bank": "House battery", "packs": "jbd0 (deleted entry)"}
        assert bank_state(hass, "degraded", "binary_sensor").attributes["missing"] == ["jbd0"]
        hass.config_entries.async_update_entry(bank, options={**bank.options, "members": ["pace0:1", "pace0:2"]})
        assert await hass.config_entries.async_reload(bank.entry_id)
        await hass.async_block_till_done()
        assert issues.async_get_issue(DOMAIN, ident) is None
        assert bank_state(hass, "degraded", "binary_sensor").state == STATE_OFF

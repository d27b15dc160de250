"""Repair issues: created for persistent conditions, cleared when fixed; fix flows and stale pack removal."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

import custom_components.bms_gateway as integration
from custom_components.bms_gateway import connection
from custom_components.bms_gateway.const import DOMAIN, PACK_MISSING_AFTER, REPAIR_AFTER_FAILURES
from custom_components.bms_gateway.repair_watch import CLOCK_SAVE_EVERY
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.plugin import SimulatorOptions
from vendor_plugins.registry import default_registry
from vendor_plugins.sim import serve_pty, serve_tcp

from .helpers import (
    answer_again,
    bus_simulators,
    jbd_state,
    pace_bus_over_tcp,
    refresh,
    serial_entry,
    silence,
    tcp_entry,
    tick,
)


def _issue(hass: HomeAssistant, ident: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, ident)


async def _fix(hass: HomeAssistant, ident: str) -> None:
    assert await async_setup_component(hass, "repairs", {})
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_init(DOMAIN, data={"issue_id": ident})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "confirm"
    result = await manager.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_serial_port_missing_created_and_cleared(hass: HomeAssistant, tmp_path: Path) -> None:
    port = tmp_path / "ttyBMS"  # the adapter's stable name, e.g. /dev/serial/by-id/...
    entry = serial_entry(str(port))
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    ident = f"serial_port_missing_{entry.entry_id}"
    issue = _issue(hass, ident)
    assert issue is not None and not issue.is_fixable
    assert issue.translation_placeholders["device"] == str(port)

    sim = JbdSimulator(jbd_state(cells=4))
    async with await serve_pty(sim) as server:
        port.symlink_to(server.path)  # the adapter is plugged back in
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert _issue(hass, ident) is None
        port.unlink()  # unplugged while running: the port is gone, polls fail
    for _ in range(REPAIR_AFTER_FAILURES):
        assert _issue(hass, ident) is None
        await tick(hass)
    assert _issue(hass, ident) is not None
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.config_entries.async_remove(entry.entry_id)
    assert _issue(hass, ident) is None  # removing the entry removes its issues


async def test_wrong_vendor_detected_and_fixed(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """A JBD entry on a DALY pack: the other vendors' probes find DALY; the fix switches the entry to it."""
    monkeypatch.setattr(connection, "DEFAULT_TIMEOUT", 0.3)
    monkeypatch.setattr(integration, "FLOW_TIMEOUT", 0.3)
    daly = default_registry().get("daly").create_simulator(SimulatorOptions(profile="static"))
    async with await serve_tcp(daly) as server:
        entry = tcp_entry(server.host, server.port)
        entry.add_to_hass(hass)
        assert not await hass.config_entries.async_setup(entry.entry_id)
        ident = f"wrong_vendor_{entry.entry_id}"
        issue = _issue(hass, ident)
        assert issue is not None and issue.is_fixable
        assert issue.translation_placeholders["vendor"] == "jbd"
        detected = issue.data["vendor"]
        assert detected == "daly"
        await _fix(hass, ident)
        assert entry.data["vendor"] == "daly"
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.state is ConfigEntryState.LOADED
        assert _issue(hass, ident) is None
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_pack_missing_created_cleared_and_removed(hass: HomeAssistant) -> None:
    sims = bus_simulators((1, 2, 3))
    silence(sims[2])  # pack 3 left the bus
    async with pace_bus_over_tcp(hass, sims, [1, 2, 3]) as (_, entry):
        ident = f"pack_missing_{entry.entry_id}_3"
        await refresh(hass, entry)
        assert 3 in entry.runtime_data.errors
        assert _issue(hass, ident) is None  # silent, but not for long yet

        entry.runtime_data.repairs.last_seen[3] = dt_util.utcnow() - PACK_MISSING_AFTER - timedelta(minutes=1)
        await refresh(hass, entry)
        assert _issue(hass, ident) is not None

        answer_again(sims[2])  # back on the bus: the issue goes away by itself (and the entry reloads: new entities)
        for _ in range(8):  # the poller retries an absent pack with back-off
            await refresh(hass, entry)
            if 3 not in entry.runtime_data.errors:
                break
        assert 3 not in entry.runtime_data.errors
        assert _issue(hass, ident) is None

        silence(sims[2])  # gone again, for good
        await refresh(hass, entry)
        entry.runtime_data.repairs.last_seen[3] = dt_util.utcnow() - PACK_MISSING_AFTER - timedelta(minutes=1)
        await refresh(hass, entry)
        assert _issue(hass, ident) is not None
        await _fix(hass, ident)
        assert entry.data["packs"] == [1, 2]
        assert entry.data["ignored_packs"] == [3]  # removed by the user: the background bus check never re-adds it
        devices = dr.async_get(hass)
        assert devices.async_get_device(identifiers={(DOMAIN, f"{entry.unique_id}_3")}) is None
        assert _issue(hass, ident) is None
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data.packs == (1, 2)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_stale_pack_device_can_be_deleted_answering_ones_cannot(hass: HomeAssistant) -> None:
    sims = bus_simulators((1, 2))
    async with pace_bus_over_tcp(hass, sims, [1, 2]) as (_, entry):
        devices = dr.async_get(hass)

        def device(suffix: str) -> dr.DeviceEntry:
            found = devices.async_get_device(identifiers={(DOMAIN, f"{entry.unique_id}_{suffix}")})
            assert found is not None
            return found

        assert not await integration.async_remove_config_entry_device(hass, entry, device("1"))  # answers
        assert not await integration.async_remove_config_entry_device(hass, entry, device("bus"))
        silence(sims[1])
        await tick(hass)
        assert await integration.async_remove_config_entry_device(hass, entry, device("2"))
        assert entry.data["packs"] == [1]
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.runtime_data.packs == (1,)
        assert await hass.config_entries.async_unload(entry.entry_id)


#: Frozen wall clock (``freezer.tick`` moves it by hours); the event loop and the library keep real monotonic time,
#: so a silent pack's request still times out.
_FREEZE_WALL_CLOCK = pytest.mark.freeze_time(ignore=["asyncio", "vendor_plugins"])


async def _save_period(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """One period of the pack clock's saving passes (the coordinator polls too)."""
    freezer.tick(CLOCK_SAVE_EVERY)
    async_fire_time_changed(hass, dt_util.utcnow() + CLOCK_SAVE_EVERY)
    await hass.async_block_till_done(wait_background_tasks=True)


@_FREEZE_WALL_CLOCK
async def test_pack_missing_clock_survives_a_restart(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    """Silent 5 h, Home Assistant restarts (the entry reloads), 1 h more: the pack has been missing for 6 h."""
    sims = bus_simulators((1, 2, 3))
    silence(sims[2])  # pack 3 left the bus
    started = dt_util.utcnow()  # the wall clock is frozen: the time of the set-up
    async with pace_bus_over_tcp(hass, sims, [1, 2, 3]) as (_, entry):
        ident = f"pack_missing_{entry.entry_id}_3"
        freezer.tick(timedelta(hours=5))
        await refresh(hass, entry)
        assert 3 in entry.runtime_data.errors
        assert _issue(hass, ident) is None

        assert await hass.config_entries.async_reload(entry.entry_id)  # a restart: a new coordinator
        await hass.async_block_till_done()
        stored = hass_storage[f"{DOMAIN}.pack_clock.{entry.entry_id}"]["data"]
        assert dt_util.parse_datetime(stored["3"]) == started
        assert entry.runtime_data.repairs.last_seen[3] == started  # not the restart time
        assert entry.runtime_data.repairs.last_seen[1] == dt_util.utcnow()  # answering packs: seen now
        await refresh(hass, entry)
        assert _issue(hass, ident) is None

        freezer.tick(timedelta(hours=1, minutes=1))
        await refresh(hass, entry)
        assert _issue(hass, ident) is not None
        assert await hass.config_entries.async_unload(entry.entry_id)


@_FREEZE_WALL_CLOCK
async def test_pack_clock_is_saved_rarely_and_survives_a_crash(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    """Not written on every poll; a silent pack's time is saved within the save period, so a crash keeps it."""
    sims = bus_simulators((1, 2, 3))
    async with pace_bus_over_tcp(hass, sims, [1, 2, 3]) as (_, entry):
        key = f"{DOMAIN}.pack_clock.{entry.entry_id}"

        async def period() -> None:
            await _save_period(hass, freezer)

        for _ in range(3):  # every pack answers: nothing worth storing, however many polls
            await period()
        assert key not in hass_storage

        silence(sims[2])  # pack 3 leaves the bus
        await refresh(hass, entry)
        last_answer = entry.runtime_data.repairs.last_seen[3]
        await period()  # 1 of 4 periods (1 h) of silence
        saved = hass_storage[key]
        assert dt_util.parse_datetime(saved["data"]["3"]) == last_answer
        for _ in range(3):  # still silent, nothing new: no further writes
            await period()
        assert hass_storage[key] is saved

        crash_copy = copy.deepcopy(saved)
        assert await hass.config_entries.async_unload(entry.entry_id)
        hass_storage[key] = crash_copy  # as if Home Assistant had crashed instead of unloading
        freezer.tick(timedelta(hours=4))  # down for 4 h: pack 3 has now been silent for 5 h (4 periods before)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.runtime_data.repairs.last_seen[3] == last_answer
        ident = f"pack_missing_{entry.entry_id}_3"
        await refresh(hass, entry)
        assert _issue(hass, ident) is None
        freezer.tick(timedelta(hours=1))
        await refresh(hass, entry)
        assert _issue(hass, ident) is not None
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.config_entries.async_remove(entry.entry_id)
        await hass.async_block_till_done()
        assert key not in hass_storage  # removing the entry removes its stored clock


@_FREEZE_WALL_CLOCK
async def test_pack_that_came_back_leaves_no_stale_time_behind(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    """A pack silent for a while, then back: after a crash its clock must not restart from the old silence."""
    sims = bus_simulators((1, 2, 3))
    async with pace_bus_over_tcp(hass, sims, [1, 2, 3]) as (_, entry):
        key = f"{DOMAIN}.pack_clock.{entry.entry_id}"
        silence(sims[2])
        await refresh(hass, entry)
        old = entry.runtime_data.repairs.last_seen[3]
        await _save_period(hass, freezer)
        assert dt_util.parse_datetime(hass_storage[key]["data"]["3"]) == old

        answer_again(sims[2])  # back on the bus
        for _ in range(40):  # the bus poller retries a silent pack with back-off
            await refresh(hass, entry)
            if 3 not in entry.runtime_data.errors:
                break
        assert 3 not in entry.runtime_data.errors
        await _save_period(hass, freezer)
        assert hass_storage[key]["data"] == {}  # nothing silent: nothing a crash must keep

        crash_copy = copy.deepcopy(hass_storage[key])
        assert await hass.config_entries.async_unload(entry.entry_id)
        hass_storage[key] = crash_copy
        silence(sims[2])  # gone while Home Assistant was down
        freezer.tick(timedelta(hours=5))
        started = dt_util.utcnow()
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.runtime_data.repairs.last_seen[3] == started  # not the old silence's time
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_pack_clock_is_saved_when_home_assistant_stops(hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
    """A restart does not unload the entries: Home Assistant's stop is what stores every pack's time."""
    sims = bus_simulators((1, 2, 3))
    async with pace_bus_over_tcp(hass, sims, [1, 2, 3]) as (_, entry):
        key = f"{DOMAIN}.pack_clock.{entry.entry_id}"
        assert key not in hass_storage
        seen = dict(entry.runtime_data.repairs.last_seen)
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        await hass.async_block_till_done(wait_background_tasks=True)
        stored = hass_storage[key]["data"]
        assert {int(p): dt_util.parse_datetime(t) for p, t in stored.items()} == seen
        assert await hass.config_entries.async_unload(entry.entry_id)

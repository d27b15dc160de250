"""The coordinator: what the entities show through a faulty link, and the packs' availability.

The integration against a faulty simulator: no entity ever shows a value the pack did not report in that poll.
A live JBD simulator (state moving on every request, every reply recorded) behind a faulty TCP bridge
(:mod:`tests.support.faults`, single faults of every kind). After each poll, either the pack's entities are
unavailable, or the coordinator's snapshot is one a fresh session rebuilds from clean replies of that very poll and
the entities show exactly its values. Once the faults stop, the next poll brings every entity back.

Availability: a stopped simulator makes every entity unavailable (logged once) and a restarted one brings them back;
for every vendor that ships a simulator a silent pack goes unavailable alone and a stopped bridge takes every pack;
a bus pack silent at start-up gets its entities when it first answers; a Bluetooth pack that drops the connection.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.bms_gateway.connection import unique_id
from custom_components.bms_gateway.const import (
    CONF_FAMILY,
    CONF_PACKS,
    CONF_VENDOR,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_SCAN_SECONDS,
    DOMAIN,
)
from tests.support.faults import REPLY_FAULTS, FaultInjector, FaultPlan, serve_faulty_tcp
from tests.support.truth import TruthRecorder, is_allowed
from vendor_plugins.jbd.plugin import PLUGIN
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.plugin import VendorPlugin
from vendor_plugins.sim import serve_tcp
from vendor_plugins.transports import TcpLink

from .helpers import (
    BLE_ADDRESS,
    BLE_NAME,
    JBD_SERVICE,
    SIMULATED_PLUGINS,
    FakeRemoteScanner,
    assert_states_match,
    ble_entry,
    jbd_state,
    setup_entry,
    state_of,
    tcp_entry,
    tick,
    vendor_simulators,
)

KEYS = ("voltage", "current", "remaining_capacity", "cell_1_voltage", "cell_4_voltage", "temperature_cell_1")


def _expected(snapshot: object, key: str) -> float:
    if key.startswith("cell_"):
        return snapshot.cell_voltages[int(key.split("_")[1]) - 1]  # type: ignore[attr-defined]
    if key.startswith("temperature_cell_"):
        return snapshot.temperatures[int(key.rsplit("_", 1)[1]) - 1].celsius  # type: ignore[attr-defined]
    return getattr(snapshot, key)  # type: ignore[no-any-return]


async def test_entities_show_only_this_polls_truth_or_unavailable(hass: HomeAssistant) -> None:
    recorder = TruthRecorder()
    sim = recorder.wrap(JbdSimulator(live=True, seed=5), step=7.0)
    plan = FaultPlan.uniform(
        0.4, kinds=(*REPLY_FAULTS, "split"), delay_seconds=0.15, refuse_seconds=0.1, clean_after=10
    )
    injector = FaultInjector(plan, seed=9)
    injector.enabled = False  # a clean first refresh: set-up itself is not under test here
    server = await serve_faulty_tcp(sim, injector)
    entry = tcp_entry(server.host, server.port)
    entry.add_to_hass(hass)
    now = dt_util.utcnow()
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        coordinator = entry.runtime_data
        coordinator.link.timeout = 0.1
        uid = entry.unique_id
        injector.enabled = True
        shown = unavailable = 0
        for poll in range(1, 31):
            recorder.begin(poll)
            now += DEFAULT_SCAN_INTERVAL + timedelta(seconds=1)
            async_fire_time_changed(hass, now)
            await hass.async_block_till_done(wait_background_tasks=True)
            snapshot = coordinator.snapshot(None)
            if snapshot is None:
                unavailable += 1
                assert all(state_of(hass, uid, key) == STATE_UNAVAILABLE for key in KEYS)
                continue
            shown += 1
            assert await is_allowed(snapshot, PLUGIN.open_session, recorder.answers(poll)), poll
            for key in KEYS:
                assert float(state_of(hass, uid, key)) == _expected(snapshot, key), (poll, key)
        assert shown and unavailable, (shown, unavailable)
        injector.enabled = False
        recorder.begin(100)
        now += DEFAULT_SCAN_INTERVAL + timedelta(seconds=1)
        async_fire_time_changed(hass, now)
        await hass.async_block_till_done(wait_background_tasks=True)
        snapshot = coordinator.snapshot(None)
        assert snapshot is not None
        assert await is_allowed(snapshot, PLUGIN.open_session, recorder.answers(100))
        assert float(state_of(hass, uid, "voltage")) == snapshot.voltage
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await server.close()


async def test_unavailable_when_simulator_stops_and_back_when_restarted(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Stopping the simulator makes every entity unavailable (logged once); restarting brings them back."""
    sim = JbdSimulator(jbd_state())
    server = await serve_tcp(sim)
    port = server.port
    entry = tcp_entry(server.host, port)
    entry.add_to_hass(hass)
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        uid = entry.unique_id
        await server.close()
        await tick(hass)
        assert state_of(hass, uid, "voltage") == STATE_UNAVAILABLE
        assert state_of(hass, uid, "cell_1_voltage") == STATE_UNAVAILABLE
        assert state_of(hass, uid, "charging", "binary_sensor") == STATE_UNAVAILABLE
        await tick(hass)
        assert caplog.text.count("stopped answering") == 1
        assert f"No pack answered on {entry.title}" in caplog.text  # UpdateFailed carries a translated message
        sim.state.current = 7.25
        server = await serve_tcp(sim, port=port)
        await tick(hass)
        assert float(state_of(hass, uid, "current")) == 7.25
        assert state_of(hass, uid, "charging", "binary_sensor") == STATE_ON
        assert caplog.text.count("answers again") == 1
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await server.close()


def _pack_states(hass: HomeAssistant, entry_id: str, pack_uid: str) -> set[str]:
    """The states of the enabled entities of one pack (found through its device)."""
    devices = dr.async_get(hass)
    device = next(
        d for d in dr.async_entries_for_config_entry(devices, entry_id) if (DOMAIN, pack_uid) in d.identifiers
    )
    out = set()
    for entity in er.async_entries_for_device(er.async_get(hass), device.id):
        state = hass.states.get(entity.entity_id)
        out.add(state.state if state else "missing")
    return out


@pytest.mark.parametrize("plugin", SIMULATED_PLUGINS, ids=[p.name for p in SIMULATED_PLUGINS])
async def test_vendor_packs_go_unavailable_and_come_back(hass: HomeAssistant, plugin: VendorPlugin) -> None:
    """A silent pack goes unavailable alone; a stopped bridge takes every pack; restarting brings them back."""
    sims, packs = vendor_simulators(plugin)
    server = await serve_tcp(sims)
    port = server.port
    data = {"link": "tcp", "host": "127.0.0.1", "port": port, CONF_VENDOR: plugin.name, CONF_PACKS: packs}
    link = TcpLink("127.0.0.1", port, timeout=1.0)
    session = plugin.open_session(link)
    expected = {pack: await session.read(pack) for pack in packs}
    data[CONF_FAMILY] = session.family
    await link.close()
    entry = MockConfigEntry(domain=DOMAIN, data=data, unique_id=unique_id(data), title=plugin.title)
    entry.add_to_hass(hass)
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        entry.runtime_data.link.timeout = 0.2
        uids = {pack: entry.unique_id if pack is None else f"{entry.unique_id}_{pack}" for pack in packs}

        if len(packs) > 1:  # one pack of the bus falls silent
            silent = sims[1]
            handle = silent.handle
            silent.handle = lambda request: None  # type: ignore[method-assign]
            await tick(hass)
            assert _pack_states(hass, entry.entry_id, uids[packs[1]]) == {"unavailable"}
            assert _pack_states(hass, entry.entry_id, uids[packs[0]]) - {"unavailable"}
            assert "unavailable" not in _pack_states(hass, entry.entry_id, uids[packs[0]])
            silent.handle = handle  # type: ignore[method-assign]
            await tick(hass)  # the library's bus poller retries a silent pack after 2 cycles
            await tick(hass)
            back = _pack_states(hass, entry.entry_id, uids[packs[1]])
            assert back and "unavailable" not in back

        await server.close()
        await tick(hass)
        for pack in packs:
            assert _pack_states(hass, entry.entry_id, uids[pack]) == {"unavailable"}
        server = await serve_tcp(sims, port=port)
        await tick(hass)
        for pack in packs:
            assert "unavailable" not in _pack_states(hass, entry.entry_id, uids[pack])
            assert assert_states_match(hass, uids[pack], expected[pack]) > 10
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await server.close()


@pytest.mark.parametrize("plugin", [p for p in SIMULATED_PLUGINS if p.capabilities.multi_address], ids=lambda p: p.name)
async def test_bus_pack_absent_at_startup_gets_entities_when_it_answers(
    hass: HomeAssistant, plugin: VendorPlugin
) -> None:
    """A pack silent at start-up has no entities yet; when it first answers the entry reloads and creates them."""
    sims, packs = vendor_simulators(plugin)
    silent = sims[1]
    handle = silent.handle
    silent.handle = lambda request: None  # type: ignore[method-assign]
    async with await serve_tcp(sims) as server:
        data = {"link": "tcp", "host": "127.0.0.1", "port": server.port, CONF_VENDOR: plugin.name, CONF_PACKS: packs}
        entry = MockConfigEntry(domain=DOMAIN, data=data, unique_id=unique_id(data), title=plugin.title)
        with patch("custom_components.bms_gateway.connection.DEFAULT_TIMEOUT", 0.2):
            await setup_entry(hass, entry)
            absent_uid = f"{entry.unique_id}_{packs[1]}"
            registry = er.async_get(hass)
            assert not [
                e
                for e in er.async_entries_for_config_entry(registry, entry.entry_id)
                if e.unique_id.startswith(absent_uid + "_")
            ]
            silent.handle = handle  # type: ignore[method-assign]
            for _ in range(3):  # the bus poller retries the silent pack with back-off
                await tick(hass)
                await hass.async_block_till_done(wait_background_tasks=True)
            assert entry.state is ConfigEntryState.LOADED
            states = _pack_states(hass, entry.entry_id, absent_uid)
            assert states and "unavailable" not in states
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_ble_pack_goes_unavailable_and_back(
    hass: HomeAssistant, scanner: FakeRemoteScanner, ble_sim: JbdSimulator
) -> None:
    """The peripheral drops the connection and then refuses to answer: unavailable; answering again: back."""
    scanner.inject(BLE_ADDRESS, BLE_NAME, [JBD_SERVICE])
    await hass.async_block_till_done(wait_background_tasks=True)
    for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN):
        hass.config_entries.flow.async_abort(flow["flow_id"])
    entry = await setup_entry(hass, ble_entry(BLE_ADDRESS))
    entry.runtime_data.link.timeout = 0.2
    entity_id = hass.states.async_entity_ids("sensor")[0]

    ble_poll = timedelta(seconds=DEFAULT_SCAN_SECONDS["ble"])  # a tick: one poll at the Bluetooth default and 1 s

    handle: Callable[[bytes], bytes | None] = ble_sim.handle
    ble_sim.handle = lambda request: None  # type: ignore[method-assign]
    ble_sim.clients[-1].drop_connection()  # type: ignore[attr-defined]
    await tick(hass, ble_poll)
    assert hass.states.get(entity_id).state == "unavailable"
    ble_sim.handle = handle  # type: ignore[method-assign]
    await tick(hass, ble_poll)
    assert hass.states.get(entity_id).state != "unavailable"
    await hass.config_entries.async_unload(entry.entry_id)

"""Switch platform: the MOSFET switches of a 16-cell pack of every vendor family (snapshotted), and what they do.

Switches exist only when the user enabled control in the options; the snapshot test enables it, so each pack shows
its charge and discharge MOSFET switch with the state the simulator reports. Against a JBD pack behind a TCP bridge:
absent without opt-in, verified round trips, unconfirmed writes, a write waiting for an exclusive hold of the link,
translated errors, and never a write on their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.bms_gateway import switch as switch_platform
from custom_components.bms_gateway.const import CONF_CONTROL
from custom_components.bms_gateway.coordinator import ControlInterrupted
from vendor_plugins.errors import ControlNotConfirmed, ControlRefused, DeviceTimeout
from vendor_plugins.jbd import codec
from vendor_plugins.jbd import plugin as jbd_plugin
from vendor_plugins.jbd import session as jbd_session
from vendor_plugins.jbd import table as t
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.model import Switch
from vendor_plugins.sim import SimServer, serve_tcp

from .helpers import entity_id_of, jbd_over_tcp, jbd_state, setup_entry, state_of, tcp_entry
from .packs16 import PACK_IDS, PACKS, START, Pack16, pack_on_platform


@pytest.fixture(autouse=True)
def _fast_confirm(monkeypatch: pytest.MonkeyPatch) -> None:
    """The JBD session re-reads a few times before giving up; keep those waits short."""
    monkeypatch.setattr(jbd_session, "CONFIRM_INTERVAL", 0.01)


class StubbornSimulator(JbdSimulator):
    """Acknowledges MOSFET writes but never changes state (a protection holding the MOSFET)."""

    def handle(self, request: bytes) -> bytes | None:
        frame = codec.parse_frame(request, request=True)
        if frame.status == t.MODE_WRITE and frame.command == t.REG_MOS:
            self.requests.append(request)
            return codec.build_response(t.REG_MOS, b"")
        return super().handle(request)


def _writes(sim: JbdSimulator) -> list[bytes]:
    return [r for r in sim.requests if codec.parse_frame(r, request=True).status == t.MODE_WRITE]


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    """A JBD pack behind a TCP bridge."""
    async with await serve_tcp(JbdSimulator(jbd_state(cells=4))) as server:
        yield server


@pytest.mark.parametrize("pack", PACKS, ids=PACK_IDS)
async def test_switches(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
    pack: Pack16,
) -> None:
    freezer.move_to(START)
    async with pack_on_platform(hass, pack, Platform.SWITCH, options={CONF_CONTROL: True}) as (_, entry):
        for registered in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
            if "_setting_" in registered.unique_id:  # battery-settings switches: test_settings_switch.py
                entity_registry.async_remove(registered.entity_id)
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_no_switches_and_writes_refused_without_opt_in(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=4))
    async with jbd_over_tcp(hass, sim, options={CONF_CONTROL: False}) as (_, entry):
        entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        assert not [e for e in entities if e.domain == "switch"]
        with pytest.raises(ControlRefused):
            await entry.runtime_data.async_set_switch(None, Switch.DISCHARGE, False)
        assert not _writes(sim)
        assert sim.state.discharge_mosfet is True
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_switch_round_trip_changes_the_simulator_and_the_states(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=4))
    async with jbd_over_tcp(hass, sim, options={CONF_CONTROL: True}) as (_, entry):
        uid = entry.unique_id
        assert not _writes(sim), "setting up must never write"
        switch = entity_id_of(hass, uid, "discharge_mosfet_switch", "switch")
        assert hass.states.get(switch).state == STATE_ON
        await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
        assert sim.state.discharge_mosfet is False
        assert sim.state.charge_mosfet is True
        assert hass.states.get(switch).state == STATE_OFF
        assert state_of(hass, uid, "discharge_mosfet", "binary_sensor") == STATE_OFF
        assert state_of(hass, uid, "alarm_software_lock", "binary_sensor") == STATE_ON
        await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
        assert sim.state.discharge_mosfet is True
        assert hass.states.get(switch).state == STATE_ON

        charge = entity_id_of(hass, uid, "charge_mosfet_switch", "switch")
        await hass.services.async_call("switch", "turn_off", {"entity_id": charge}, blocking=True)
        assert sim.state.charge_mosfet is False
        assert hass.states.get(charge).state == STATE_OFF
        assert state_of(hass, uid, "charge_mosfet", "binary_sensor") == STATE_OFF
        writes = len(_writes(sim))

        # A reload (what a restart does) never writes: the switch shows what the pack reports.
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert len(_writes(sim)) == writes
        assert hass.states.get(charge).state == STATE_OFF
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unconfirmed_write_raises_and_shows_the_real_state(hass: HomeAssistant) -> None:
    """The pack acknowledges but does not switch: a translated error, and the switch shows the read-back state."""
    sim = StubbornSimulator(jbd_state(cells=4))
    async with jbd_over_tcp(hass, sim, options={CONF_CONTROL: True}) as (_, entry):
        switch = entity_id_of(hass, entry.unique_id, "discharge_mosfet_switch", "switch")
        assert hass.states.get(switch).state == STATE_ON
        with pytest.raises(HomeAssistantError) as caught:
            await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
        assert caught.value.translation_key == "control_not_confirmed"
        assert "reading it back shows it did not" in str(caught.value)
        assert _writes(sim), "the write was sent"
        assert hass.states.get(switch).state == STATE_ON  # what the pack really does

        # Meanwhile a protection turned the MOSFET off: asking for "on" fails, and the switch shows "off" (read back),
        # not the requested "on" and not the stale "on" from before.
        sim.state.discharge_mosfet = False
        with pytest.raises(HomeAssistantError):
            await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
        assert hass.states.get(switch).state == STATE_OFF
        assert entry.runtime_data.stats["write_errors"] == 2
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_write_waits_while_the_link_is_held_exclusively(hass: HomeAssistant) -> None:
    """Nothing is sent while someone holds the coordinator's ``exclusive()``; the write goes out right after."""
    sim = JbdSimulator(jbd_state(cells=4))
    async with jbd_over_tcp(hass, sim, options={CONF_CONTROL: True}) as (_, entry):
        coordinator = entry.runtime_data
        assert not coordinator.exclusive_held
        sent = len(sim.requests)
        async with coordinator.exclusive():
            assert coordinator.exclusive_held
            write = hass.async_create_task(coordinator.async_set_switch(None, Switch.DISCHARGE, False))
            await asyncio.sleep(0.2)  # ample time for a write that did not wait to reach the simulator
            assert not write.done()
            assert len(sim.requests) == sent
        await write
        assert not coordinator.exclusive_held
        assert _writes(sim), "the write went out once the link was free"
        assert sim.state.discharge_mosfet is False
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_failed_writes_raise_the_translated_error_of_their_kind(hass: HomeAssistant) -> None:
    """A link that is gone: ``control_failed``; each kind of library error has its own translated message."""
    sim = JbdSimulator(jbd_state(cells=4))
    async with jbd_over_tcp(hass, sim, options={CONF_CONTROL: True}) as (server, entry):
        switch = entity_id_of(hass, entry.unique_id, "discharge_mosfet_switch", "switch")
        await server.close()
        with pytest.raises(HomeAssistantError) as caught:
            await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
        assert caught.value.translation_key == "control_failed"
        assert not _writes(sim)
        assert sim.state.discharge_mosfet is True
        assert await hass.config_entries.async_unload(entry.entry_id)
    assert switch_platform._error_key(ControlNotConfirmed("x")) == "control_not_confirmed"
    assert switch_platform._error_key(ControlRefused("x")) == "control_refused"
    assert switch_platform._error_key(DeviceTimeout("x")) == "control_failed"


async def test_switches_only_where_the_plugin_supports_them(hass: HomeAssistant, server: SimServer) -> None:
    """A plugin without switch capability gets none even with control enabled."""
    from dataclasses import replace

    plugin = jbd_plugin.PLUGIN
    original = plugin.capabilities
    type(plugin).capabilities = replace(original, switches=frozenset({Switch.CHARGE}))
    try:
        entry = await setup_entry(hass, tcp_entry(server.host, server.port), options={CONF_CONTROL: True})
        entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        assert sorted(
            e.unique_id.removeprefix(f"{entry.unique_id}_")
            for e in entities
            if e.domain == "switch" and "_setting_" not in e.unique_id
        ) == ["charge_mosfet_switch"]
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        type(plugin).capabilities = original


class HeldReplySimulator(JbdSimulator):
    """Switches the MOSFET when told to, but holds its reply to the write back (it never comes)."""

    def __init__(self) -> None:
        super().__init__(jbd_state(cells=4))
        self.write_seen = asyncio.Event()

    def handle(self, request: bytes) -> bytes | None:
        reply = super().handle(request)
        frame = codec.parse_frame(request, request=True)
        if frame.status == t.MODE_WRITE and frame.command == t.REG_MOS:
            self.write_seen.set()
            return None
        return reply


@pytest.mark.parametrize("action", ["unload", "reload"])
async def test_unloading_during_a_write_closes_the_link_and_tells_the_truth(hass: HomeAssistant, action: str) -> None:
    """Unload (or reload) while a write waits for its reply: no new I/O, no socket left open, an honest message."""
    sim = HeldReplySimulator()
    async with jbd_over_tcp(hass, sim, options={CONF_CONTROL: True}) as (server, entry):
        coordinator = entry.runtime_data
        switch = entity_id_of(hass, entry.unique_id, "discharge_mosfet_switch", "switch")
        call = hass.async_create_task(
            hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
        )
        await asyncio.wait_for(sim.write_seen.wait(), 5)
        assert len(server.clients) == 1
        accepted, sent = server.connections, coordinator.link.bytes_sent
        if action == "unload":
            assert await hass.config_entries.async_unload(entry.entry_id)
        else:
            assert await hass.config_entries.async_reload(entry.entry_id)
        with pytest.raises(HomeAssistantError) as caught:
            await asyncio.wait_for(call, 5)
        await hass.async_block_till_done()
        await asyncio.sleep(0.05)  # the server sees the connection go
        assert coordinator.link.bytes_sent == sent, "nothing was sent after the entry started unloading"
        assert not coordinator.link.connected
        expected_open = 0 if action == "unload" else 1  # a reloaded entry has its own new connection
        assert len(server.clients) == expected_open
        assert server.connections == accepted + expected_open  # the closing coordinator never reconnected
        assert caught.value.translation_key == "control_interrupted"
        message = str(caught.value)
        assert "was sent" in message and "could not be confirmed" in message and "unload" in message
        assert not sim.state.discharge_mosfet  # the pack did switch: which is why "failed" would be a lie
        if action == "reload":
            assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_write_queued_behind_an_unload_sends_nothing_and_says_so(hass: HomeAssistant) -> None:
    """A write still waiting for the link when the entry unloads never goes out; the message says nothing changed."""
    sim = JbdSimulator(jbd_state(cells=4))
    async with jbd_over_tcp(hass, sim, options={CONF_CONTROL: True}) as (server, entry):
        coordinator = entry.runtime_data
        sent = len(sim.requests)
        async with coordinator.exclusive():
            write = hass.async_create_task(coordinator.async_set_switch(None, Switch.DISCHARGE, False))
            unload = hass.async_create_task(hass.config_entries.async_unload(entry.entry_id))
            await asyncio.sleep(0.05)
            assert not write.done() and not unload.done()
        with pytest.raises(ControlInterrupted) as caught:
            await write
        assert await unload
        assert not caught.value.sent
        assert "nothing was sent" in str(caught.value)
        assert len(sim.requests) == sent and sim.state.discharge_mosfet is True
        await asyncio.sleep(0.05)
        assert not server.clients

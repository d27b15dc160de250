"""Every vendor in the registry that ships a simulator, through the integration, over TCP and a pty.

No vendor code here: the expected values come from the vendor's own session reading the same simulator (the
library's tests prove that equals the simulator's state); the integration must show exactly that.
"""

from __future__ import annotations

from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bms_gateway.connection import unique_id
from custom_components.bms_gateway.const import CONF_FAMILY, CONF_PACKS, CONF_VENDOR, DOMAIN
from vendor_plugins.errors import UnsupportedError
from vendor_plugins.plugin import LinkKind, SimulatorOptions, VendorPlugin
from vendor_plugins.registry import load_registry
from vendor_plugins.sim import Simulator, serve_pty, serve_tcp
from vendor_plugins.transports import Link, SerialLink, TcpLink

from .helpers import assert_states_match, bus_simulators, setup_entry, tick

BUS_PACKS = (1, 2, 3)


def _simulated() -> list[VendorPlugin]:
    out = []
    for plugin in load_registry(include_third_party=False):
        try:
            plugin.create_simulator(SimulatorOptions(profile="static", seed=1))
        except UnsupportedError:
            continue
        out.append(plugin)
    return out


SIMULATED = _simulated()


def _simulators(plugin: VendorPlugin) -> tuple[list[Simulator], list[int | None]]:
    if plugin.capabilities.multi_address:
        return bus_simulators(BUS_PACKS, plugin), list(BUS_PACKS)
    return [plugin.create_simulator(SimulatorOptions(profile="static", seed=1))], [None]


@pytest.mark.parametrize("plugin", SIMULATED, ids=[p.name for p in SIMULATED])
@pytest.mark.parametrize("transport", ["tcp", "pty"])
async def test_vendor_states_equal_the_simulated_pack(
    hass: HomeAssistant, plugin: VendorPlugin, transport: str
) -> None:
    """Set up an entry against the running simulator; every entity equals what the vendor session reads."""
    sims, packs = _simulators(plugin)
    if transport == "tcp":
        server = await serve_tcp(sims)
        data = {"link": LinkKind.TCP.value, "host": server.host, "port": server.port}
    else:
        server = await serve_pty(sims)
        data = {"link": LinkKind.SERIAL.value, "device": server.path, "baudrate": 9600}
    try:
        link: Link = (
            TcpLink(data["host"], data["port"], timeout=1.0)
            if transport == "tcp"
            else SerialLink(data["device"], timeout=1.0)
        )
        session = plugin.open_session(link)
        expected = {pack: await session.read(pack) for pack in packs}
        family = session.family
        await link.close()

        data.update({CONF_VENDOR: plugin.name, CONF_FAMILY: family, CONF_PACKS: packs})
        entry = await setup_entry(
            hass, MockConfigEntry(domain=DOMAIN, data=data, unique_id=unique_id(data), title=plugin.title)
        )
        assert entry.state is ConfigEntryState.LOADED
        for pack in packs:
            pack_uid = entry.unique_id if pack is None else f"{entry.unique_id}_{pack}"
            assert assert_states_match(hass, pack_uid, expected[pack]) > 10
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
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


@pytest.mark.parametrize("plugin", SIMULATED, ids=[p.name for p in SIMULATED])
async def test_vendor_packs_go_unavailable_and_come_back(hass: HomeAssistant, plugin: VendorPlugin) -> None:
    """A silent pack goes unavailable alone; a stopped bridge takes every pack; restarting brings them back."""
    sims, packs = _simulators(plugin)
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


@pytest.mark.parametrize("plugin", [p for p in SIMULATED if p.capabilities.multi_address], ids=lambda p: p.name)
async def test_bus_pack_absent_at_startup_gets_entities_when_it_answers(
    hass: HomeAssistant, plugin: VendorPlugin
) -> None:
    """A pack silent at start-up has no entities yet; when it first answers the entry reloads and creates them."""
    sims, packs = _simulators(plugin)
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

"""Repair issues: created for persistent conditions, cleared when fixed; fix flows and stale pack removal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

import custom_components.bms_gateway as integration
from custom_components.bms_gateway import connection
from custom_components.bms_gateway.connection import unique_id
from custom_components.bms_gateway.const import DOMAIN, PACK_MISSING_AFTER, REPAIR_AFTER_FAILURES
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.plugin import SimulatorOptions
from vendor_plugins.registry import default_registry
from vendor_plugins.sim import serve_pty, serve_tcp

from .helpers import jbd_state, serial_entry, tcp_entry


async def _tick(hass: HomeAssistant, seconds: int = 16) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await hass.async_block_till_done(wait_background_tasks=True)


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
        await _tick(hass)
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
    plugin = default_registry().get("pace")
    sims = [plugin.create_simulator(SimulatorOptions(profile="static", seed=a, address=a)) for a in (1, 2, 3)]
    sims[2].handle = lambda request: None  # type: ignore[method-assign]  # pack 3 left the bus
    async with await serve_tcp(sims) as server:
        data = {
            "link": "tcp",
            "host": server.host,
            "port": server.port,
            "vendor": "pace",
            "family": "ascii-25",
            "packs": [1, 2, 3],
        }
        entry = MockConfigEntry(domain=DOMAIN, data=data, unique_id=unique_id(data), title="PACE bus")
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()

        async def poll() -> None:
            await entry.runtime_data.async_refresh()
            await hass.async_block_till_done(wait_background_tasks=True)

        ident = f"pack_missing_{entry.entry_id}_3"
        await poll()
        assert 3 in entry.runtime_data.errors
        assert _issue(hass, ident) is None  # silent, but not for long yet

        entry.runtime_data.last_seen[3] = dt_util.utcnow() - PACK_MISSING_AFTER - timedelta(minutes=1)
        await poll()
        assert _issue(hass, ident) is not None

        del sims[2].handle  # back on the bus: the issue goes away by itself (and the entry reloads: new entities)
        for _ in range(8):  # the poller retries an absent pack with back-off
            await poll()
            if 3 not in entry.runtime_data.errors:
                break
        assert 3 not in entry.runtime_data.errors
        assert _issue(hass, ident) is None

        sims[2].handle = lambda request: None  # type: ignore[method-assign]  # gone again, for good
        await poll()
        entry.runtime_data.last_seen[3] = dt_util.utcnow() - PACK_MISSING_AFTER - timedelta(minutes=1)
        await poll()
        assert _issue(hass, ident) is not None
        await _fix(hass, ident)
        assert entry.data["packs"] == [1, 2]
        devices = dr.async_get(hass)
        assert devices.async_get_device(identifiers={(DOMAIN, f"{entry.unique_id}_3")}) is None
        assert _issue(hass, ident) is None
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data.packs == (1, 2)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_stale_pack_device_can_be_deleted_answering_ones_cannot(hass: HomeAssistant) -> None:
    plugin = default_registry().get("pace")
    sims = [plugin.create_simulator(SimulatorOptions(profile="static", seed=a, address=a)) for a in (1, 2)]
    async with await serve_tcp(sims) as server:
        data = {
            "link": "tcp",
            "host": server.host,
            "port": server.port,
            "vendor": "pace",
            "family": "ascii-25",
            "packs": [1, 2],
        }
        entry = MockConfigEntry(domain=DOMAIN, data=data, unique_id=unique_id(data), title="PACE bus")
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        devices = dr.async_get(hass)

        def device(suffix: str) -> dr.DeviceEntry:
            found = devices.async_get_device(identifiers={(DOMAIN, f"{entry.unique_id}_{suffix}")})
            assert found is not None
            return found

        assert not await integration.async_remove_config_entry_device(hass, entry, device("1"))  # answers
        assert not await integration.async_remove_config_entry_device(hass, entry, device("bus"))
        sims[1].handle = lambda request: None  # type: ignore[method-assign]
        await _tick(hass)
        assert await integration.async_remove_config_entry_device(hass, entry, device("2"))
        assert entry.data["packs"] == [1]
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.runtime_data.packs == (1,)
        assert await hass.config_entries.async_unload(entry.entry_id)

"""Diagnostics download: useful (readings, link statistics, raw frames) and redacted (addresses, serial numbers)."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from vendor_plugins.sim import SimServer

from .helpers import bus_simulators, pace_bus_entry, pace_bus_over_tcp, served_entry


async def test_diagnostics_are_redacted(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> None:
    sims = bus_simulators((1, 2))
    serials = [sim.state.serial_number for sim in sims]  # type: ignore[attr-defined]

    def entry_for(server: SimServer) -> MockConfigEntry:
        return pace_bus_entry(server, [1, 2], title=f"PACE {server.host}:{server.port}")

    async with served_entry(hass, sims, entry_for) as (server, entry):
        assert entry.runtime_data.device_infos[1].serial_number == serials[0]
        await entry.runtime_data.session.device_info(2)  # the serial number is among the last raw frames

        result = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        text = json.dumps(result)
        for secret in [server.host, f"{server.host}:{server.port}", *serials]:
            assert secret not in text, secret
            assert secret.encode().hex() not in text.lower(), secret
            assert secret.encode().hex().encode().hex() not in text.lower(), secret  # hex text inside ASCII frames
        assert result["entry"]["data"]["host"] == "**REDACTED**"
        assert result["entry"]["data"]["vendor"] == "pace"
        assert result["packs"]["1"]["device"]["serial_number"] == "**REDACTED**"
        assert result["packs"]["2"]["snapshot"]["cell_voltages"]
        assert result["vendor"]["plugin"] == "pace"
        assert result["link"]["bytes_sent"] > 0 and result["link"]["bytes_received"] > 0
        assert result["link"]["bytes_dropped"] == 0  # nothing floods a simulator
        assert result["statistics"]["polls"] >= 1
        assert {f["direction"] for f in result["raw_frames"]} == {"tx", "rx"}
        assert any("**REDACTED**" in f["hex"] for f in result["raw_frames"] if f["direction"] == "rx")
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_diagnostics_keep_the_bus_address(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> None:
    """A pack's bus address says which pack is which; it is not a secret (the BLE address of the entry is)."""
    async with pace_bus_over_tcp(hass, bus_simulators((1, 2)), [1, 2]) as (_, entry):
        result = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        assert result["packs"]["1"]["device"]["address"] == 1
        assert result["packs"]["2"]["device"]["address"] == 2
        assert result["packs"]["1"]["device"]["serial_number"] == "**REDACTED**"
        assert await hass.config_entries.async_unload(entry.entry_id)

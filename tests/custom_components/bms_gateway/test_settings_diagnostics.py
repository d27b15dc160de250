"""Battery settings in the diagnostics download: as last read, without I/O, and nothing identifying in them.

Before any setting entity read them the section says the family has settings (and whether the SoC can be set) but
holds no values; once an entity read them (or a write read them back) the values are there with when they were
read; downloading the diagnostics sends nothing to the pack. A family without a settings table says so.
"""

from __future__ import annotations

import json

import pytest
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from custom_components.bms_gateway.const import CONF_CONTROL
from custom_components.bms_gateway.diagnostics import async_get_config_entry_diagnostics

from .packs16 import PACKS, pack_on_platform
from .settings_families import FAMILIES, enable

CONTROL = {CONF_CONTROL: True}
_BY_ID = {family.id: family for family in FAMILIES}

pytestmark = pytest.mark.freeze_time(ignore=["asyncio", "vendor_plugins"])


@pytest.mark.parametrize("family_id", ["jbd", "daly-d2"])
async def test_settings_in_diagnostics(hass: HomeAssistant, family_id: str) -> None:
    family = _BY_ID[family_id]
    sim = family.simulator()
    async with family.serve(hass, sim, CONTROL) as (server, entry):
        before = await async_get_config_entry_diagnostics(hass, entry)
        section = before["packs"]["None"]["settings"]
        assert section["supported"] is True and section["soc_settable"] is True
        assert family.name in section["writable"]
        assert section["read"] is None, "nothing read them yet"

        entity_id = await enable(hass, entry.entry_id, f"setting_{family.name}")
        value = float(hass.states.get(entity_id).state)
        sent = len(sim.requests)
        after = await async_get_config_entry_diagnostics(hass, entry)
        assert len(sim.requests) == sent, "downloading the diagnostics reads nothing"
        read = after["packs"]["None"]["settings"]["read"]
        assert read["values"][family.name] == value
        assert read["read_at"] is not None and read["family"]
        text = json.dumps(after)
        assert f"{server.port}" not in json.dumps(after["packs"]), "no address in the pack sections"
        assert "127.0.0.1" not in text
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_family_without_settings_says_so(hass: HomeAssistant) -> None:
    pack = next(p for p in PACKS if p.id == "hiximi-jbd")
    async with pack_on_platform(hass, pack, Platform.SENSOR, options=CONTROL) as (_, entry):
        result = await async_get_config_entry_diagnostics(hass, entry)
        assert result["packs"]["None"]["settings"] == {"supported": False}

"""Battery settings as number entities, against a JBD pack behind a TCP bridge.

Absent without the control opt-in; with it, one disabled-by-default config entity per writable numeric setting;
setting up never reads or writes settings; an enabled entity reads them, a write goes through the verified path and
changes the simulator, refused and unconfirmed writes raise translated errors and show the value read back, a value
changed outside Home Assistant appears at the next read, and turning control off removes the entities.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.bms_gateway.const import CONF_CONTROL
from custom_components.bms_gateway.settings_cache import error_key
from vendor_plugins.battery_settings import VOCABULARY
from vendor_plugins.errors import ControlNotConfirmed, SettingsRefused
from vendor_plugins.jbd import codec
from vendor_plugins.jbd import table as t
from vendor_plugins.jbd import table_settings as ts
from vendor_plugins.jbd.simulator import JbdSimulator

from .helpers import jbd_over_tcp, jbd_state
from .settings_families import enable

pytestmark = pytest.mark.freeze_time(ignore=["asyncio", "vendor_plugins"])

INTEGRATION = Path(__file__).resolve().parents[3] / "custom_components" / "bms_gateway"


def _writes(sim: JbdSimulator) -> list[bytes]:
    return [r for r in sim.requests if codec.parse_frame(r, request=True).status == t.MODE_WRITE]


def _number_entries(hass: HomeAssistant, entry_id: str) -> list[er.RegistryEntry]:
    return [e for e in er.async_entries_for_config_entry(er.async_get(hass), entry_id) if e.domain == "number"]


async def _enable(hass: HomeAssistant, entry_id: str, key: str) -> str:
    """Enable the setting entity ``key`` as a user does (Home Assistant reloads the entry); returns its entity id."""
    return await enable(hass, entry_id, f"setting_{key}")


def test_every_setting_name_is_translated() -> None:
    for lang in ("en", "es"):
        entity = json.loads((INTEGRATION / "translations" / f"{lang}.json").read_text())["entity"]
        for name, word in VOCABULARY.items():
            assert name in entity["switch" if word.kind == "bool" else "number"], (lang, name)
        assert "set_soc" in entity["number"]


def test_error_keys() -> None:
    assert error_key(SettingsRefused(["x"])) == "settings_refused"
    assert error_key(ControlNotConfirmed("x")) == "settings_not_confirmed"


async def test_no_entities_without_opt_in(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=4))
    async with jbd_over_tcp(hass, sim, options={CONF_CONTROL: False}) as (_, entry):
        assert _number_entries(hass, entry.entry_id) == []
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_entities_disabled_config_and_setup_sends_no_settings_frame(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=4))
    async with jbd_over_tcp(hass, sim, options={CONF_CONTROL: True}) as (_, entry):
        entries = [e for e in _number_entries(hass, entry.entry_id) if "_setting_" in e.unique_id]
        expected = [s.name for s in ts.SPECS if s.writable and s.word.kind != "bool"]
        assert sorted(e.unique_id.split("_setting_")[1] for e in entries) == sorted(expected)
        assert all(e.disabled_by is er.RegistryEntryDisabler.INTEGRATION for e in entries)
        assert all(e.entity_category is EntityCategory.CONFIG for e in entries)
        assert not _writes(sim), "setting up must not even enter factory mode"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_enabled_entity_reads_writes_and_follows_outside_changes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    sim = JbdSimulator(jbd_state(cells=4))
    async with jbd_over_tcp(hass, sim, options={CONF_CONTROL: True}) as (_, entry):
        entity_id = await _enable(hass, entry.entry_id, "charge_overcurrent_protect")
        state = hass.states.get(entity_id)
        assert state is not None and float(state.state) == 230.0
        assert state.attributes["unit_of_measurement"] == "A"

        await hass.services.async_call("number", "set_value", {"entity_id": entity_id, "value": 80}, blocking=True)
        assert sim.settings.values()["charge_overcurrent_protect"] == 80.0
        assert float(hass.states.get(entity_id).state) == 80.0

        # Changed outside Home Assistant: shown after the next read (at most every few minutes), not at a poll.
        sim.settings.words[0x28] = 5000
        for period, shown in ((timedelta(minutes=1), 80.0), (timedelta(minutes=5), 50.0)):
            freezer.tick(period)
            async_fire_time_changed(hass, dt_util.utcnow() + period)
            await hass.async_block_till_done(wait_background_tasks=True)
            assert float(hass.states.get(entity_id).state) == shown
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_refused_and_unconfirmed_writes_raise_and_show_the_pack_value(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=4))
    async with jbd_over_tcp(hass, sim, options={CONF_CONTROL: True}) as (_, entry):
        entity_id = await _enable(hass, entry.entry_id, "cell_overvoltage_release")
        before = len(_writes(sim))
        with pytest.raises(HomeAssistantError) as err:  # above the protection (3.65 V): refused before any byte
            await hass.services.async_call("number", "set_value", {"entity_id": entity_id, "value": 3.7}, blocking=True)
        assert err.value.translation_key == "settings_refused"
        assert [w for w in _writes(sim)[before:] if w[2] not in (0x00, 0x01)] == []
        assert float(hass.states.get(entity_id).state) == 3.55

        sim.settings.ignore_registers.add(0x25)
        with pytest.raises(HomeAssistantError) as err:
            await hass.services.async_call("number", "set_value", {"entity_id": entity_id, "value": 3.5}, blocking=True)
        assert err.value.translation_key == "settings_not_confirmed"
        assert float(hass.states.get(entity_id).state) == 3.55
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_turning_control_off_removes_the_entities(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=4))
    async with jbd_over_tcp(hass, sim, options={CONF_CONTROL: True}) as (_, entry):
        assert _number_entries(hass, entry.entry_id)
        hass.config_entries.async_update_entry(entry, options={CONF_CONTROL: False})
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert _number_entries(hass, entry.entry_id) == []
        assert await hass.config_entries.async_unload(entry.entry_id)

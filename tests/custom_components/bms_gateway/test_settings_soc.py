"""The "Set state of charge" number: where the protocol can set the SoC (JBD, DALY D2), not where it cannot (PACE).

Snapshotted for every 16-cell pack of every family (enabled for the snapshot). Config category, disabled by
default, only with control; it shows the SoC the pack reports; setting it changes the simulated pack and the entity
shows the SoC read back; a SoC the pack does not take raises the translated "not confirmed" error and the entity
shows the pack's SoC; setting up writes nothing.
"""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from syrupy.assertion import SnapshotAssertion

from custom_components.bms_gateway.const import CONF_CONTROL
from vendor_plugins.jbd import table_settings as jbd_settings

from .packs16 import PACK_IDS, PACKS, START, Pack16, pack_on_platform
from .settings_families import (  # noqa: F401 (a fixture)
    FAMILIES,
    Family,
    enable,
    entity_registry_enabled_by_default,
    setting_entries,
    snapshot_settings_entities,
)

CONTROL = {CONF_CONTROL: True}
_BY_ID = {family.id: family for family in FAMILIES}
SOC_FAMILIES = [_BY_ID["jbd"], _BY_ID["daly-d2"]]

pytestmark = pytest.mark.freeze_time(ignore=["asyncio", "vendor_plugins"])


def _soc_entries(hass: HomeAssistant, entry_id: str) -> list[er.RegistryEntry]:
    return [e for e in setting_entries(hass, entry_id, "number") if e.unique_id.endswith("_set_soc")]


def _soc(hass: HomeAssistant, entity_id: str) -> float:
    state = hass.states.get(entity_id)
    assert state is not None
    return float(state.state)


async def _set(hass: HomeAssistant, entity_id: str, value: float) -> None:
    await hass.services.async_call("number", "set_value", {"entity_id": entity_id, "value": value}, blocking=True)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("pack", PACKS, ids=PACK_IDS)
async def test_soc_numbers(
    hass: HomeAssistant, snapshot: SnapshotAssertion, freezer: FrozenDateTimeFactory, pack: Pack16
) -> None:
    freezer.move_to(START)
    async with pack_on_platform(hass, pack, Platform.NUMBER, options=CONTROL) as (_, entry):
        await hass.async_block_till_done(wait_background_tasks=True)
        entries = await snapshot_settings_entities(hass, snapshot, entry.entry_id, "number", "set_soc")
        assert bool(entries) == (pack.id in ("jbd", "daly-d2")), "only where the protocol can set the SoC"


async def test_no_soc_number_where_the_protocol_cannot_set_it(hass: HomeAssistant) -> None:
    family = _BY_ID["pace-modbus"]
    async with family.serve(hass, family.simulator(), CONTROL) as (_, entry):
        assert setting_entries(hass, entry.entry_id, "number")  # the thresholds are there
        assert _soc_entries(hass, entry.entry_id) == []
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("family", SOC_FAMILIES, ids=lambda f: f.id)
async def test_soc_number_is_config_disabled_and_control_only(hass: HomeAssistant, family: Family) -> None:
    async with family.serve(hass, family.simulator(), {CONF_CONTROL: False}) as (_, entry):
        assert _soc_entries(hass, entry.entry_id) == []
        hass.config_entries.async_update_entry(entry, options=CONTROL)
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        (soc,) = _soc_entries(hass, entry.entry_id)
        assert soc.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert soc.entity_category is EntityCategory.CONFIG
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("family", SOC_FAMILIES, ids=lambda f: f.id)
async def test_setting_the_soc_round_trips(hass: HomeAssistant, family: Family) -> None:
    sim = family.simulator()
    async with family.serve(hass, sim, CONTROL) as (_, entry):
        entity_id = await enable(hass, entry.entry_id, "set_soc")
        before = _soc(hass, entity_id)
        assert family.changes(sim) == [], "enabling it wrote nothing"
        target = 40.0 if before > 60 else 80.0
        await _set(hass, entity_id, target)
        assert family.changes(sim)
        assert _soc(hass, entity_id) == pytest.approx(target, abs=1.0)
        snapshot = entry.runtime_data.snapshot(None)  # the confirming reading is the pack's data (every SoC entity)
        assert snapshot is not None and snapshot.soc == pytest.approx(target, abs=1.0)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_soc_the_pack_does_not_take_raises_and_shows_the_pack_soc(hass: HomeAssistant) -> None:
    family = _BY_ID["jbd"]
    sim = family.simulator()
    async with family.serve(hass, sim, CONTROL) as (_, entry):
        entity_id = await enable(hass, entry.entry_id, "set_soc")
        before = _soc(hass, entity_id)
        sim.settings.ignore_registers.add(jbd_settings.REG_REMAINING_CAPACITY)
        with pytest.raises(HomeAssistantError) as err:
            await _set(hass, entity_id, 20.0 if before > 50 else 90.0)
        assert err.value.translation_key == "settings_not_confirmed"
        assert err.value.translation_placeholders["setting"] == "state_of_charge"
        assert _soc(hass, entity_id) == pytest.approx(before, abs=1.0)
        assert await hass.config_entries.async_unload(entry.entry_id)

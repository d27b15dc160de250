"""On/off battery settings as switches: the balancer (``Session.set_balancer``) and balancing only while charging.

Snapshotted for every 16-cell pack of every family (enabled for the snapshot; only families whose settings table
has on/off settings get any). Against JBD over TCP and DALY D2: config category, disabled by default, absent without
control; turning the balancer off and on changes the simulated pack and reads back; a change made outside Home
Assistant shows up at the next settings read; a value the pack does not keep raises the translated "not confirmed"
error and the switch shows the pack's value.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from syrupy.assertion import SnapshotAssertion

from custom_components.bms_gateway.const import CONF_CONTROL
from custom_components.bms_gateway.settings_cache import MAX_AGE
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
BALANCER_FAMILIES = [_BY_ID["jbd"], _BY_ID["daly-d2"]]

pytestmark = pytest.mark.freeze_time(ignore=["asyncio", "vendor_plugins"])


def _balancer_bit(sim: object) -> bool:
    spec = jbd_settings.BY_NAME["balancer_enabled"]
    return bool(sim.settings.words[spec.register] >> spec.bit & 1)  # type: ignore[attr-defined]


def _balancer_on(family: Family, sim: object) -> bool:
    if family.id == "jbd":
        return _balancer_bit(sim)
    return bool(sim.state.balancer_switch)  # type: ignore[attr-defined]


def _set_balancer_outside(family: Family, sim: object, on: bool) -> None:
    if family.id == "jbd":
        spec = jbd_settings.BY_NAME["balancer_enabled"]
        words = sim.settings.words  # type: ignore[attr-defined]
        words[spec.register] = words[spec.register] | (1 << spec.bit) if on else words[spec.register] & ~(1 << spec.bit)
    else:
        sim.state.balancer_switch = int(on)  # type: ignore[attr-defined]


async def _switch(hass: HomeAssistant, entity_id: str, on: bool) -> None:
    service = "turn_on" if on else "turn_off"
    await hass.services.async_call("switch", service, {"entity_id": entity_id}, blocking=True)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("pack", PACKS, ids=PACK_IDS)
async def test_setting_switches(
    hass: HomeAssistant, snapshot: SnapshotAssertion, freezer: FrozenDateTimeFactory, pack: Pack16
) -> None:
    freezer.move_to(START)
    async with pack_on_platform(hass, pack, Platform.SWITCH, options=CONTROL) as (_, entry):
        await hass.async_block_till_done(wait_background_tasks=True)
        entries = await snapshot_settings_entities(hass, snapshot, entry.entry_id, "switch")
        if pack.id in ("jbd", "daly-d2"):
            assert any(e.unique_id.endswith("_setting_balancer_enabled") for e in entries)


@pytest.mark.parametrize("family", BALANCER_FAMILIES, ids=lambda f: f.id)
async def test_balancer_switch_is_config_disabled_and_control_only(hass: HomeAssistant, family: Family) -> None:
    async with family.serve(hass, family.simulator(), {CONF_CONTROL: False}) as (_, entry):
        assert setting_entries(hass, entry.entry_id, "switch") == []
        hass.config_entries.async_update_entry(entry, options=CONTROL)
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        switches = setting_entries(hass, entry.entry_id, "switch")
        assert any(e.unique_id.endswith("_setting_balancer_enabled") for e in switches)
        assert all(e.disabled_by is er.RegistryEntryDisabler.INTEGRATION for e in switches)
        assert all(e.entity_category is EntityCategory.CONFIG for e in switches)
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("family", BALANCER_FAMILIES, ids=lambda f: f.id)
async def test_balancer_round_trip_and_outside_change(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, family: Family
) -> None:
    sim = family.simulator()
    async with family.serve(hass, sim, CONTROL) as (_, entry):
        entity_id = await enable(hass, entry.entry_id, "setting_balancer_enabled", "switch")
        assert hass.states.get(entity_id).state == STATE_ON
        assert family.changes(sim) == []

        await _switch(hass, entity_id, False)
        assert not _balancer_on(family, sim)
        assert hass.states.get(entity_id).state == STATE_OFF
        await _switch(hass, entity_id, True)
        assert _balancer_on(family, sim)
        assert hass.states.get(entity_id).state == STATE_ON

        _set_balancer_outside(family, sim, False)  # the vendor's app turns it off
        period = MAX_AGE + timedelta(minutes=2)
        freezer.tick(period)
        async_fire_time_changed(hass, dt_util.utcnow() + period)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert hass.states.get(entity_id).state == STATE_OFF
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_balancer_not_kept_raises_and_shows_the_pack_value(hass: HomeAssistant) -> None:
    family = _BY_ID["jbd"]
    sim = family.simulator()
    async with family.serve(hass, sim, CONTROL) as (_, entry):
        entity_id = await enable(hass, entry.entry_id, "setting_balancer_enabled", "switch")
        family.ignore(sim, "balancer_enabled")
        with pytest.raises(HomeAssistantError) as err:
            await _switch(hass, entity_id, False)
        assert err.value.translation_key == "settings_not_confirmed"
        assert err.value.translation_placeholders["setting"] == "balancer_enabled"
        assert _balancer_bit(sim)
        assert hass.states.get(entity_id).state == STATE_ON
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_another_on_off_setting_goes_through_the_verified_write(hass: HomeAssistant) -> None:
    family = _BY_ID["jbd"]
    sim = family.simulator()
    spec = jbd_settings.BY_NAME["balance_only_when_charging"]
    async with family.serve(hass, sim, CONTROL) as (_, entry):
        entity_id = await enable(hass, entry.entry_id, "setting_balance_only_when_charging", "switch")
        assert hass.states.get(entity_id).state == STATE_OFF
        await _switch(hass, entity_id, True)
        assert sim.settings.words[spec.register] >> spec.bit & 1
        assert _balancer_bit(sim), "the other bit of the same register is kept"
        assert hass.states.get(entity_id).state == STATE_ON
        assert await hass.config_entries.async_unload(entry.entry_id)

"""Battery-settings number entities against four families (JBD, DALY D2, PACE Modbus RTU and PACE ASCII, over TCP).

For each: setting up and hours of polling with every setting entity enabled send no write (the simulator's request
log); a write round-trips into the simulator and the entity shows the value read back; a value changed behind
Home Assistant's back shows up at the next settings read (a few minutes later, not at the next poll); a change the
family's rules refuse raises a translated error before a byte is written; a value the pack acknowledges but does
not keep raises the "not confirmed" error; a link that drops the write raises the "interrupted" error — and in every
failure the entity shows the value the pack holds.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.bms_gateway.const import CONF_CONTROL
from custom_components.bms_gateway.settings_cache import MAX_AGE, cache_for
from vendor_plugins.sim import Simulator

from .settings_families import (  # noqa: F401 (a fixture)
    FAMILIES,
    FAMILY_IDS,
    Family,
    enable,
    entity_registry_enabled_by_default,
    setting_entries,
)

CONTROL = {CONF_CONTROL: True}

#: Frozen wall clock (``freezer.tick`` moves it); the event loop and the library keep real monotonic time, so link
#: timeouts and a Modbus link's inter-frame gaps still pass.
pytestmark = pytest.mark.freeze_time(ignore=["asyncio", "vendor_plugins"])


def _value(hass: HomeAssistant, entity_id: str) -> float:
    state = hass.states.get(entity_id)
    assert state is not None
    return float(state.state)


async def _set(hass: HomeAssistant, entity_id: str, value: float) -> None:
    await hass.services.async_call("number", "set_value", {"entity_id": entity_id, "value": value}, blocking=True)


async def _later(hass: HomeAssistant, freezer: FrozenDateTimeFactory, period: timedelta) -> None:
    """``period`` passes: on the wall clock (the settings' age) and for the event loop's timers (polls, updates)."""
    freezer.tick(period)
    async_fire_time_changed(hass, dt_util.utcnow() + period)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
async def test_setup_and_hours_of_polling_write_nothing(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, family: Family
) -> None:
    sim = family.simulator()
    async with family.serve(hass, sim, CONTROL) as (_, entry):
        entities = setting_entries(hass, entry.entry_id)
        assert len(entities) > 5
        assert all(not e.disabled_by for e in entities)  # every one enabled: each reads, none writes
        states = [hass.states.get(e.entity_id) for e in entities]
        assert all(s is not None and s.state not in ("unknown", "unavailable") for s in states)
        start = dt_util.utcnow().timestamp()
        for _ in range(3 * 60 // 5):  # three hours, five minutes at a time: polls and settings re-reads
            await _later(hass, freezer, timedelta(minutes=5))
        cache = cache_for(entry.runtime_data)
        assert all(cache._read_at[pack] > start + 2.5 * 3600 for pack in entry.runtime_data.packs), "read again"
        assert family.changes(sim) == []
        assert len(sim.requests) > 2 * 36, "the pack was polled and its settings were read again and again"
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
async def test_write_round_trips_and_outside_changes_show_up(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, family: Family
) -> None:
    sim = family.simulator()
    async with family.serve(hass, sim, CONTROL) as (_, entry):
        entity_id = await enable(hass, entry.entry_id, f"setting_{family.name}")
        before = _value(hass, entity_id)
        await _set(hass, entity_id, before + 5)
        assert _value(hass, entity_id) == before + 5
        assert len(family.changes(sim)) >= 1

        family.outside(sim, family.name, before + 10)  # the vendor's app changes it
        await _later(hass, freezer, timedelta(minutes=1))  # polls: settings are not read on every poll
        assert _value(hass, entity_id) == before + 5
        await _later(hass, freezer, MAX_AGE + timedelta(minutes=2))
        assert _value(hass, entity_id) == before + 10
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
async def test_a_refused_change_raises_and_writes_nothing(hass: HomeAssistant, family: Family) -> None:
    sim = family.simulator()
    name, value = family.refused
    async with family.serve(hass, sim, CONTROL) as (_, entry):
        entity_id = await enable(hass, entry.entry_id, f"setting_{name}")
        before = _value(hass, entity_id)
        with pytest.raises(HomeAssistantError) as err:
            await _set(hass, entity_id, value)
        assert err.value.translation_key == "settings_refused"
        assert family.changes(sim) == []
        assert _value(hass, entity_id) == before
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
async def test_a_value_the_pack_does_not_keep_raises_not_confirmed(hass: HomeAssistant, family: Family) -> None:
    sim = family.simulator()
    async with family.serve(hass, sim, CONTROL) as (_, entry):
        entity_id = await enable(hass, entry.entry_id, f"setting_{family.name}")
        before = _value(hass, entity_id)
        family.ignore(sim, family.name)
        with pytest.raises(HomeAssistantError) as err:
            await _set(hass, entity_id, before + 5)
        assert err.value.translation_key == "settings_not_confirmed"
        assert family.name in str(err.value.translation_placeholders)
        assert _value(hass, entity_id) == before
        assert await hass.config_entries.async_unload(entry.entry_id)


def _drop_writes(sim: Simulator, family: Family) -> None:
    """The link loses every request that would change the pack (no answer; the pack never sees it)."""
    handle = sim.handle

    def lossy(request: bytes) -> bytes | None:
        if family.changes(type("Log", (), {"requests": [request]})()):
            return None
        return handle(request)

    sim.handle = lossy  # type: ignore[method-assign]


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
async def test_a_dropped_write_raises_interrupted_and_shows_the_pack_value(hass: HomeAssistant, family: Family) -> None:
    sim = family.simulator()
    async with family.serve(hass, sim, CONTROL) as (_, entry):
        entity_id = await enable(hass, entry.entry_id, f"setting_{family.name}")
        before = _value(hass, entity_id)
        _drop_writes(sim, family)
        with pytest.raises(HomeAssistantError) as err:
            await _set(hass, entity_id, before + 5)
        assert err.value.translation_key == "settings_interrupted"
        assert "nothing changed" in err.value.translation_placeholders["error"]
        assert _value(hass, entity_id) == before
        assert await hass.config_entries.async_unload(entry.entry_id)

"""Binary-sensor platform: the entities (registry entries and states) of a 16-cell pack of every vendor family.

Charging / discharging, the MOSFETs, balancing, one per cell balancing and one per alarm the plugin reports, as Home
Assistant shows them right after set-up. The per-cell balancing sensors are created disabled unless the user turns
them on in the options; the test turns them on the way a user does (the ``cell_balancing_entities`` option), so the
snapshot holds all 16 and any other entity that ever becomes disabled by default makes ``snapshot_platform`` fail.
"""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.bms_gateway.const import CONF_CELL_BALANCING

from .packs16 import PACK_IDS, PACKS, START, Pack16, ha_snapshot, pack_on_platform  # noqa: F401 (ha_snapshot: a fixture)


@pytest.mark.parametrize("pack", PACKS, ids=PACK_IDS)
async def test_binary_sensors(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
    pack: Pack16,
) -> None:
    freezer.move_to(START)
    options = {CONF_CELL_BALANCING: True}
    async with pack_on_platform(hass, pack, Platform.BINARY_SENSOR, options=options) as (_, entry):
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)

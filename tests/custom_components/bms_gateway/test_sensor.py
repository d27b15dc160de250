"""Sensor platform: the entities (registry entries and states) of a 16-cell pack of every vendor family, snapshotted.

Every cell voltage, the pack values and the temperatures each simulator reports, with their units, device classes
and state classes, as Home Assistant shows them right after set-up (time frozen: the energy meters start at 0).
"""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from .packs16 import PACK_IDS, PACKS, START, Pack16, ha_snapshot, pack_on_platform  # noqa: F401 (ha_snapshot: a fixture)


@pytest.mark.parametrize("pack", PACKS, ids=PACK_IDS)
async def test_sensors(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
    pack: Pack16,
) -> None:
    freezer.move_to(START)
    async with pack_on_platform(hass, pack, Platform.SENSOR) as (_, entry):
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)

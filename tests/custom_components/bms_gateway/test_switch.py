"""Switch platform: the MOSFET switches (registry entries and states) of a 16-cell pack of every vendor family.

Switches exist only when the user enabled control in the options; the test enables it, so each pack shows its
charge and discharge MOSFET switch with the state the simulator reports.
"""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.bms_gateway.const import CONF_CONTROL

from .packs16 import PACK_IDS, PACKS, START, Pack16, ha_snapshot, pack_on_platform  # noqa: F401 (ha_snapshot: a fixture)


@pytest.mark.parametrize("pack", PACKS, ids=PACK_IDS)
async def test_switches(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
    pack: Pack16,
) -> None:
    freezer.move_to(START)
    async with pack_on_platform(hass, pack, Platform.SWITCH, options={CONF_CONTROL: True}) as (_, entry):
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)

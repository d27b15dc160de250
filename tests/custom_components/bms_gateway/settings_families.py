"""The simulated packs the battery-settings entity tests run against, and what each test needs to know of them.

Four protocol families with settings tables, each served over TCP loopback: a JBD pack behind a TCP bridge, a
DALY D2 pack (Modbus RTU framing), a PACE pack on Modbus RTU through a transparent bridge and a PACE pack speaking
ASCII v0x25 at bus address 1. For each: the requests
in the simulator's log that would change the pack (a JBD pack's factory-mode enter and exit-without-save are how
settings are *read*: they change nothing and are not counted), how to change a setting behind Home Assistant's back
(the vendor's app), and how to make the pack acknowledge a value but silently keep the old one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from unittest.mock import PropertyMock, patch

import pytest
from homeassistant.config_entries import RELOAD_AFTER_UPDATE_DELAY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from vendor_plugins.daly import codec_settings as daly_codec
from vendor_plugins.daly import table as daly_table
from vendor_plugins.daly import table_settings as daly_settings
from vendor_plugins.jbd import codec as jbd_codec
from vendor_plugins.jbd import table as jbd_table
from vendor_plugins.jbd import table_settings as jbd_settings
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.pace import codec_settings as pace_settings_codec
from vendor_plugins.pace import table as pace_table
from vendor_plugins.sim import SimServer, Simulator

from .helpers import jbd_state, served_entry, tcp_entry
from .packs16 import PACKS

_PACK16 = {pack.id: pack for pack in PACKS}


def _jbd_changes(sim: Any) -> list[bytes]:
    out = []
    for request in sim.requests:
        frame = jbd_codec.parse_frame(request, request=True)
        if frame.status != jbd_table.MODE_WRITE:
            continue
        if (frame.command, frame.payload) in (
            (jbd_table.REG_FACTORY_ENTER, jbd_table.FACTORY_ENTER_KEY),
            (jbd_table.REG_FACTORY_EXIT, jbd_table.FACTORY_EXIT_NO_SAVE),
        ):
            continue
        out.append(request)
    return out


def _pace_ascii_changes(sim: Any) -> list[bytes]:
    """v0x25 requests (``~25 ADR 46 CID2 …``) whose CID2 writes a parameter group."""
    out = []
    for request in sim.requests:
        group = pace_settings_codec.group_of_cid2(int(request[7:9], 16))
        if group is not None and group[1]:
            out.append(request)
    return out


def _jbd_outside(sim: Any, name: str, value: float) -> None:
    spec = jbd_settings.BY_NAME[name]
    sim.settings.words[spec.register] = round(value / spec.scale)


def _daly_outside(sim: Any, name: str, value: float) -> None:
    spec = daly_settings.BY_NAME[name]
    sim.settings.registers[spec.register] = daly_codec.encode_raw(spec, value)


def _pace_outside(sim: Any, name: str, value: float) -> None:
    sim.settings.values[name] = value


def _ignore_by_name(sim: Any, name: str) -> None:
    sim.settings.ignored.add(name)


def _jbd_ignore(sim: Any, name: str) -> None:
    sim.settings.ignore_registers.add(jbd_settings.BY_NAME[name].register)


@dataclass(frozen=True)
class Family:
    """One simulated family and what the tests need of it."""

    id: str
    simulator: Callable[[], Simulator]
    entry: Callable[[SimServer], MockConfigEntry]
    #: Requests in the log that write (change) something in the pack.
    changes: Callable[[Any], list[bytes]]
    #: Change a setting in the pack as the vendor's app would.
    outside: Callable[[Any, str, float], None]
    #: Make the pack acknowledge writes of a setting but keep the old value.
    ignore: Callable[[Any, str], None]
    #: A numeric setting every test changes, and a change of it the family's rules refuse (to this value).
    name: str
    refused: tuple[str, float]

    def serve(
        self, hass: HomeAssistant, sim: Simulator, options: dict[str, Any]
    ) -> AbstractAsyncContextManager[tuple[SimServer, MockConfigEntry]]:
        """Serve ``sim`` and set up this family's entry with ``options``."""
        return served_entry(hass, sim, self.entry, options=options)


FAMILIES: tuple[Family, ...] = (
    Family(
        "jbd",
        lambda: JbdSimulator(jbd_state(cells=4)),
        lambda server: tcp_entry(server.host, server.port),
        _jbd_changes,
        _jbd_outside,
        _jbd_ignore,
        "charge_overcurrent_protect",
        ("cell_overvoltage_release", 3.7),  # above the protection (3.65 V)
    ),
    Family(
        "daly-d2",
        _PACK16["daly-d2"].simulator,
        lambda server: _PACK16["daly-d2"].entry(server.port),
        lambda sim: [r for r in sim.requests if r[1] in (daly_table.FC_WRITE, 0x10)],
        _daly_outside,
        _ignore_by_name,
        "charge_overcurrent_protect",
        ("cell_overvoltage_alarm", 3.7),  # above the protection (3.65 V)
    ),
    Family(
        "pace-modbus",
        _PACK16["pace-modbus"].simulator,
        lambda server: _PACK16["pace-modbus"].entry(server.port),
        lambda sim: [r for r in sim.requests if r[1] == pace_table.MODBUS_WRITE],
        _pace_outside,
        _ignore_by_name,
        "charge_overcurrent_protect",
        ("cell_overvoltage_release", 4.0),  # above the protection
    ),
    Family(
        "pace-ascii",
        _PACK16["pace-ascii"].simulator,
        lambda server: _PACK16["pace-ascii"].entry(server.port),
        _pace_ascii_changes,
        _pace_outside,
        _ignore_by_name,
        "charge_overcurrent_protect",
        ("cell_overvoltage_release", 4.0),  # above the protection
    ),
)

FAMILY_IDS = [family.id for family in FAMILIES]


def setting_entries(hass: HomeAssistant, entry_id: str, domain: str | None = None) -> list[er.RegistryEntry]:
    """The entry's battery-settings entities (numbers, switches and the SoC number), of ``domain`` if given."""
    return [
        e
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry_id)
        if ("_setting_" in e.unique_id or e.unique_id.endswith("_set_soc")) and domain in (None, e.domain)
    ]


async def enable(hass: HomeAssistant, entry_id: str, key: str, domain: str = "number") -> str:
    """Enable the entity whose unique id ends in ``_key``, as a user does; returns its entity id.

    Home Assistant reloads the entry (which adds the entity) a little later: that time passes here.
    """
    registry = er.async_get(hass)
    entity = next(e for e in setting_entries(hass, entry_id, domain) if e.unique_id.endswith(f"_{key}"))
    registry.async_update_entity(entity.entity_id, disabled_by=None)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=RELOAD_AFTER_UPDATE_DELAY + 1))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(entity.entity_id) is not None, "the reload added it"
    return entity.entity_id


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Every entity is created enabled (as Home Assistant's own test fixture of that name does)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


async def snapshot_settings_entities(
    hass: HomeAssistant, snapshot: Any, entry_id: str, domain: str, key: str | None = None
) -> list[er.RegistryEntry]:
    """Snapshot the entry's battery-settings entities of ``domain`` (only ``key`` if given): registry entry and
    state, as ``snapshot_platform`` does for a whole platform; returns them."""
    entries = [e for e in setting_entries(hass, entry_id, domain) if key is None or e.unique_id.endswith(f"_{key}")]
    for entity_entry in entries:
        assert entity_entry == snapshot(name=f"{entity_entry.entity_id}-entry")
        state = hass.states.get(entity_entry.entity_id)
        assert state, f"State not found for {entity_entry.entity_id}"
        assert state == snapshot(name=f"{entity_entry.entity_id}-state")
    return entries

"""16-cell simulated packs of every built-in vendor family, set up one platform at a time (the snapshot tests).

Each :class:`Pack16` builds a static simulator through its plugin's ``create_simulator`` (fixed seed), makes it a
16-cell pack where the simulator's default is smaller (JBD and HiXiMi boards are 4S by default) by setting the
simulator's own state, and knows how to raise a cell-overvoltage alarm in it. :func:`pack_on_platform` serves the
simulator on loopback and sets up a config entry for it with only one platform loaded (what
``snapshot_platform`` wants).

The entry's unique id — the prefix of every entity's unique id — is the one the integration gives a connection
at :data:`STAND_IN_PORT` on loopback, not the loopback port the simulator happens to get: the snapshots stay the
same from run to run (the entry's data, which the snapshots do not show, holds the real port).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.bms_gateway.connection import unique_id
from custom_components.bms_gateway.const import DOMAIN
from vendor_plugins.model import Alarm
from vendor_plugins.plugin import SimulatorOptions
from vendor_plugins.registry import default_registry
from vendor_plugins.sim import Simulator, serve_tcp

from .helpers import setup_entry

#: The port the entries' unique ids name (a common RS485-to-TCP bridge port), whatever port the simulator got.
STAND_IN_PORT = 8899

#: Sixteen distinct cell voltages (V) for the simulators that are smaller packs by default.
CELLS_16 = [round(3.300 + 0.001 * i, 3) for i in range(16)]

#: The alarm every pack raises in the event test, and the DALY failure bit (level 2: an alarm) that stands for it.
RAISED = Alarm.CELL_OVERVOLTAGE
_DALY_RAISED_BIT = "cell_overvoltage_l2"

#: When every snapshot test starts (frozen: the event entity's state is a time).
START = "2026-03-01T12:00:00+00:00"

#: A bus-addressed pack's address (the vendor's simulator default).
BUS_ADDRESS = 1


def _state(sim: Simulator) -> Any:
    """The battery state of ``sim`` (a HiXiMi unit keeps it in the JBD or DALY simulator it wraps)."""
    return getattr(sim, "inner", sim).state


def _sixteen_cells(sim: Simulator) -> Simulator:
    _state(sim).cell_voltages = list(CELLS_16)
    return sim


def _raise_alarm(sim: Simulator) -> None:
    _state(sim).alarms.add(RAISED)


def _raise_daly_fault(sim: Simulator) -> None:
    _state(sim).faults.add(_DALY_RAISED_BIT)


@dataclass(frozen=True)
class Pack16:
    """One vendor family's 16-cell simulated pack and the config entry Home Assistant gets for it."""

    id: str
    title: str
    vendor: str
    family: str
    #: Make the pack 16 cells (where the simulator's default is not) — through the simulator's own state.
    sixteen: Callable[[Simulator], Simulator] = lambda sim: sim
    #: Raise :data:`RAISED` in the simulator.
    raise_alarm: Callable[[Simulator], None] = _raise_alarm
    #: Where the pack sits: ``None`` (a single pack) or its bus address.
    pack: int | None = None
    #: Extra config-entry data (a Modbus entry's link and mode).
    data: dict[str, Any] = field(default_factory=dict)
    #: Whether the family's session reads alarms at all (DALY P81's alarm registers are undocumented: not read).
    reads_alarms: bool = True

    def simulator(self) -> Simulator:
        """The static 16-cell simulator (seed 1)."""
        plugin = default_registry().get(self.vendor)
        options = SimulatorOptions(family=self.family, address=self.pack, seed=1, profile="static")
        return self.sixteen(plugin.create_simulator(options))

    def entry(self, port: int) -> MockConfigEntry:
        """The config entry for this pack behind a loopback server at ``port``."""
        data: dict[str, Any] = {
            "link": "tcp",
            "host": "127.0.0.1",
            "port": port,
            "vendor": self.vendor,
            "family": self.family,
            "packs": [self.pack],
            **self.data,
        }
        stable = unique_id({**data, "port": STAND_IN_PORT})
        return MockConfigEntry(domain=DOMAIN, data=data, unique_id=stable, title=self.title)


PACKS: tuple[Pack16, ...] = (
    Pack16("jbd", "JBD", "jbd", "jbd", sixteen=_sixteen_cells),
    Pack16("daly-a5", "DALY A5", "daly", "a5", raise_alarm=_raise_daly_fault),
    Pack16("daly-d2", "DALY D2", "daly", "d2", raise_alarm=_raise_daly_fault),
    Pack16("daly-p81", "DALY P81", "daly", "p81", raise_alarm=_raise_daly_fault, reads_alarms=False),
    Pack16("pace-ascii", "PACE ASCII", "pace", "ascii-25", pack=BUS_ADDRESS),
    Pack16(
        "pace-modbus",
        "PACE Modbus",
        "pace",
        "modbus",
        pack=BUS_ADDRESS,
        data={"link": "modbus", "modbus_mode": "rtu-over-tcp"},
    ),
    Pack16("hiximi-jbd", "HiXiMi JBD", "hiximi", "jbd", sixteen=_sixteen_cells),
    *(
        Pack16(f"hiximi-daly-{f}", f"HiXiMi DALY {f.upper()}", "hiximi", f"daly-{f}", _sixteen_cells, _raise_daly_fault)
        for f in ("d2", "a5")
    ),
)

PACK_IDS = [pack.id for pack in PACKS]


@pytest.fixture(name="snapshot")
def ha_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Syrupy's ``snapshot`` with Home Assistant's extension (snapshots in ``snapshots/``, ids left out).

    pytest-homeassistant-custom-component defines this fixture too, but syrupy's plugin is registered after it and
    wins; a test module importing ``ha_snapshot`` gets Home Assistant's (as Home Assistant's own conftest does).
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@asynccontextmanager
async def pack_on_platform(
    hass: HomeAssistant, pack: Pack16, platform: Platform, *, options: dict[str, Any] | None = None
) -> AsyncIterator[tuple[Simulator, MockConfigEntry]]:
    """Serve ``pack``'s simulator on loopback and set up its entry with only ``platform`` loaded.

    Yields the simulator and the loaded entry; the entry is unloaded and the server closed on the way out.
    """
    sim = pack.simulator()
    with patch("custom_components.bms_gateway.PLATFORMS", [platform]):
        async with await serve_tcp(sim) as server:
            entry = await setup_entry(hass, pack.entry(server.port), options=options)
            try:
                yield sim, entry
            finally:
                assert await hass.config_entries.async_unload(entry.entry_id)

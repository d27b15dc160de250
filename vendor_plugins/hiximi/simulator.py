"""A simulated HiXiMi unit: a JBD or DALY simulator (the family is configurable) with a HiXiMi identity.

The wrapped simulator generates every answer, so a HiXiMi unit of family ``jbd`` answers exactly like a JBD
board and ignores DALY requests (and vice versa) — which is what detection must cope with. The simulated pack is a
4S LiFePO4 board (HiXiMi sells 12 V LiFePO4 boards). Real units' Bluetooth names are unknown; the simulator
advertises :attr:`HiximiSimulator.advertisement_name` (``HiXiMi-4S-XXXX``) with the family's GATT service, for
the Home Assistant tests and the demo. No BLE matcher claims that name.
"""

from __future__ import annotations

import zlib
from typing import Protocol

from ..daly.simulator import A5Simulator, ModbusSimulator
from ..daly.simulator_state import DEFAULT_CELLS, DalyState
from ..errors import ConfigError
from ..framing import FrameAssembler
from ..jbd.plugin import PLUGIN as JBD
from ..plugin import Advertisement, BleProfile, SimulatorOptions
from ..sim.base import Simulator
from .session_families import FAMILIES, family_option

DEFAULT_FAMILY = "jbd"
PROFILES = ("live", "static")
CELLS = 4
MODEL = f"HiXiMi-{CELLS}S-SIM"
#: The address :meth:`HiximiSimulator.advertisement` uses unless told otherwise.
DEFAULT_BLE_ADDRESS = "C8:47:8C:00:00:01"


class FamilySimulator(Protocol):
    """What a HiXiMi unit needs of the JBD or DALY simulator it wraps."""

    requests: list[bytes]

    def request_assembler(self) -> FrameAssembler:
        """The family's request framing."""
        ...

    def handle(self, request: bytes) -> bytes | None:
        """Answer one request frame."""
        ...

    def advance(self, seconds: float) -> None:
        """Move the simulated battery on."""
        ...


def _family_simulator(family: str, live: bool, seed: int | None) -> FamilySimulator:
    if family == "jbd":
        jbd = JBD.create_simulator(SimulatorOptions(profile="live" if live else "static", seed=seed))
        jbd.state.model = MODEL
        return jbd
    state = DalyState(
        cell_voltages=list(DEFAULT_CELLS[:CELLS]),
        remaining_capacity=80.0,
        rated_capacity=100.0,
        current=-2.5,
        hardware_version=MODEL,
    )
    if family == "daly-a5":
        return A5Simulator(state, live=live, seed=seed)
    return ModbusSimulator(state, family="d2", live=live, seed=seed)


class HiximiSimulator(Simulator):
    """A virtual HiXiMi pack speaking ``family`` (``jbd``, ``daly-d2`` or ``daly-a5``)."""

    vendor = "hiximi"

    def __init__(self, family: str | None = None, *, live: bool = False, seed: int | None = None) -> None:
        """Simulate a unit of ``family`` (default ``jbd``); ``live`` makes ``advance`` change it."""
        chosen = family_option(family)
        self.family = DEFAULT_FAMILY if chosen is None else chosen.name
        #: The JBD / DALY simulator that generates the answers (its ``state`` is the battery).
        self.inner = _family_simulator(self.family, live, seed)
        #: The GATT service, write and notify characteristics this unit's family uses.
        self.ble_profile: BleProfile = FAMILIES[self.family].ble_profile
        suffix = zlib.crc32(f"{self.family}/{seed}".encode()) & 0xFFFF
        #: The Bluetooth name it advertises.
        self.advertisement_name = f"HiXiMi-{CELLS}S-{suffix:04X}"

    @property
    def requests(self) -> list[bytes]:
        """Every request frame of its own family this unit received, in order."""
        return self.inner.requests

    def request_assembler(self) -> FrameAssembler:
        """The family's request framing (other families' requests are junk to it, as on a real board)."""
        return self.inner.request_assembler()

    def handle(self, request: bytes) -> bytes | None:
        """Answer one request as the wrapped family's simulator does."""
        return self.inner.handle(request)

    def advance(self, seconds: float) -> None:
        """Move the simulated battery on (live profile only)."""
        self.inner.advance(seconds)

    def advertisement(self, address: str = DEFAULT_BLE_ADDRESS) -> Advertisement:
        """The advertisement a real unit of this family would plausibly send: the name and the family's service."""
        return Advertisement(
            address=address, local_name=self.advertisement_name, service_uuids=(self.ble_profile.service_uuid,)
        )


def create_simulator(family: str | None, profile: str, seed: int | None) -> HiximiSimulator:
    """The simulator ``bmsgw simulate --vendor hiximi [--family F]`` serves (profiles "live", "static")."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown HiXiMi simulator profile {profile!r} (known: {', '.join(PROFILES)})")
    return HiximiSimulator(family, live=profile == "live", seed=seed)

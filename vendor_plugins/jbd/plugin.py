"""The JBD vendor plugin: what it declares (links, BLE matching, switches, alarms, rig and fuzz targets) and wiring.

The read and control sequences are :class:`~.session.JbdSession`, the simulator :class:`~.simulator.JbdSimulator`.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..model import Switch
from ..plugin import (
    Capabilities,
    FuzzTarget,
    LinkKind,
    RigTarget,
    SessionOptions,
    SimulatorOptions,
    VendorPlugin,
    alarms_in,
)
from ..transports.base import Link
from . import fuzz
from . import table as t
from .session import JbdSession
from .simulator import JbdSimulator, daren_state

__all__ = ["PLUGIN", "SIMULATOR_PROFILES", "JbdPlugin", "JbdSession"]

SIMULATOR_PROFILES = ("live", "static")


class JbdPlugin(VendorPlugin):
    """JBD / Jiabaida / Xiaoxiang smart BMS."""

    name = "jbd"
    title = "JBD (Jiabaida / Xiaoxiang)"
    link_kinds = frozenset({LinkKind.BLE, LinkKind.SERIAL, LinkKind.TCP})
    ble_matchers = t.BLE_MATCHERS
    ble_profile = t.BLE_PROFILE
    reliability_targets = (RigTarget("jbd", "jbd"),)
    capabilities = Capabilities(switches=frozenset({Switch.CHARGE, Switch.DISCHARGE}), multi_address=False)
    #: "daren": the Daren variant (``DWF…`` boards), recognised from the reply whatever the family asked.
    families = ("jbd", t.DAREN_FAMILY)
    reported_alarms = alarms_in(t.PROTECTION_BITS)

    def open_session(self, link: Link, options: SessionOptions | None = None) -> JbdSession:
        """A session over ``link``."""
        return JbdSession(link, options or SessionOptions())

    def create_simulator(self, options: SimulatorOptions) -> JbdSimulator:
        """A simulated 4S LiFePO4 pack, or family "daren" a 16S Daren pack ("live": a compressed cycle)."""
        if options.profile not in SIMULATOR_PROFILES:
            raise ConfigError(
                f"unknown JBD simulator profile {options.profile!r} (known: {', '.join(SIMULATOR_PROFILES)})"
            )
        state = daren_state() if options.family == t.DAREN_FAMILY else None
        return JbdSimulator(state, live=options.profile == "live", seed=options.seed)

    def fuzz_targets(self) -> tuple[FuzzTarget, ...]:
        """Frame parsing (responses and requests), the assembler and the register decoders."""
        return fuzz.fuzz_targets()

    def fuzz_seeds(self) -> tuple[bytes, ...]:
        """The simulator's answers to 0x03/0x04/0x05 (whole and payload only) and two requests."""
        return fuzz.fuzz_seeds()


PLUGIN = JbdPlugin()

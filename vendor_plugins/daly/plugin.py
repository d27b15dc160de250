"""The DALY vendor plugin: one plugin, three protocol families — ``a5`` (legacy), ``d2`` and ``p81`` (Modbus-style).

Declarations and wiring only: the session and family detection are in :mod:`.session`, the codecs in
``codec_*``, the tables in :mod:`.table`, the simulators in :mod:`.simulator`, the fuzz entry points in :mod:`.fuzz`.
Options: ``SessionOptions.family`` (``a5``/``d2``/``p81``; ``None`` or ``auto`` detects it) and
``SessionOptions.extra["host_address"]`` (``--host-address``: the A5 host address, 0x40 on RS485 or 0x80 on
UART/BLE; found by probing when not given). One pack per link; control (charge/discharge MOSFETs) is opt-in and
confirmed by reading the state back.
"""

from __future__ import annotations

from ..model import Switch
from ..plugin import (
    Capabilities,
    FuzzTarget,
    LinkKind,
    RigTarget,
    SessionOptions,
    SimulatorOptions,
    VendorOption,
    VendorPlugin,
    alarms_in,
)
from ..settings import byte_value
from ..transports.base import Link
from . import fuzz
from . import table as t
from .session import DalySession
from .simulator import A5Simulator, ModbusSimulator, create_simulator

#: ``--host-address``: the A5 host address to talk as (found by probing when not given).
HOST_ADDRESS_OPTION = VendorOption(
    key="host_address", flag="--host-address", help="host address (daly a5)", metavar="0x40|0x80", parse=byte_value
)


class DalyPlugin(VendorPlugin):
    """DALY smart BMS (legacy A5 UART/RS485, Modbus-style D2 and P81 over BLE and RS485)."""

    name = "daly"
    title = "DALY smart BMS"
    link_kinds = frozenset({LinkKind.BLE, LinkKind.SERIAL, LinkKind.TCP})
    ble_matchers = t.BLE_MATCHERS
    options = (HOST_ADDRESS_OPTION,)
    reliability_targets = (
        RigTarget("daly-a5", "a5", extra={"host_address": 0x80}),
        RigTarget("daly-d2", "d2"),
        RigTarget("daly-p81", "p81"),
    )
    ble_profile = t.BLE_PROFILE
    capabilities = Capabilities(switches=frozenset({Switch.CHARGE, Switch.DISCHARGE}), multi_address=False)
    families = t.FAMILIES
    reported_alarms = alarms_in(t.FAULT_BITS)

    def open_session(self, link: Link, options: SessionOptions | None = None) -> DalySession:
        """A session over a byte ``link`` (``ConfigError`` for an unknown family or a bad host address)."""
        return DalySession(link, options or SessionOptions())

    def create_simulator(self, options: SimulatorOptions) -> A5Simulator | ModbusSimulator:
        """A simulated 16S pack speaking ``options.family`` (default ``d2``); profiles "live" and "static"."""
        return create_simulator(options)

    def fuzz_targets(self) -> tuple[FuzzTarget, ...]:
        """The A5, failure-bit and D2/P81 codec entry points (:mod:`.fuzz`)."""
        return fuzz.targets()

    def fuzz_seeds(self) -> tuple[bytes, ...]:
        """Frames and payloads of the simulators (:mod:`.fuzz`)."""
        return fuzz.seeds()


PLUGIN = DalyPlugin()

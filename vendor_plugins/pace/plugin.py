"""The PACE vendor plugin: one plugin, three protocols (ASCII v0x25/v0x20, Modbus RTU V1.3, PACEEX Bluetooth).

Choosing the protocol: ``SessionOptions.extra["protocol"]`` ("ascii" | "modbus", the CLI's ``--protocol``) or
``SessionOptions.family`` ("ascii-25" | "ascii-20" | "modbus" | "paceex"); a Modbus link implies Modbus, a Bluetooth
link PACEEX (PACE's own BLE protocol, units advertising ``PC-xxxx``). Otherwise the session speaks ASCII v0x25, what
PACE packs speak on RS232/RS485. PACEEX packs are numbered 1-15 behind one connection (a bank's master answers for
its packs). Addresses: ASCII 0-15 (DIP switch; pack 1 is the master of a
multi-pack bus, a lone pack may sit at 0), Modbus units 1-16; the default is 1.

Simulators: :class:`~.simulator_ascii.PaceAsciiSimulator` (family ascii-25 / ascii-20), for family "modbus" the
sans-IO :class:`~.simulator_modbus.PaceRtuSimulator` (the pymodbus-based Modbus-TCP server is
:func:`~.simulator_modbus.serve_modbus_tcp`), and for family "paceex" :class:`~.simulator_paceex.PaceexSimulator`.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..model import Switch
from ..plugin import (
    BleMatcher,
    Capabilities,
    FuzzTarget,
    LinkKind,
    RigTarget,
    Session,
    SessionOptions,
    SimulatorOptions,
    VendorOption,
    VendorPlugin,
    alarms_in,
)
from ..sim.base import Simulator
from ..transports.base import Link
from . import codec_ascii, fuzz, table_paceex
from . import table as pace_table
from .session_ascii import PaceAsciiSession
from .session_modbus import PaceModbusSession
from .session_paceex import PaceexSession
from .simulator_ascii import PaceAsciiSimulator
from .simulator_state import initial_state

PROTOCOLS = ("ascii", "modbus")
FAMILIES = ("ascii-25", "ascii-20", "modbus", table_paceex.FAMILY)
SIMULATOR_PROFILES = ("live", "static")


def resolve_family(link: Link | None, options: SessionOptions) -> str:
    """The family a session speaks, from ``--family``, ``--protocol`` and the link kind."""
    protocol = options.extra.get("protocol")
    family = options.family if options.family not in (None, "auto") else None
    if protocol is not None and protocol not in PROTOCOLS:
        raise ConfigError(f"unknown PACE protocol {protocol!r} (known: {', '.join(PROTOCOLS)})")
    if family is not None and family not in FAMILIES:
        raise ConfigError(f"unknown PACE family {family!r} (known: {', '.join(FAMILIES)})")
    if family is not None:
        if protocol is not None and ((protocol == "modbus") != (family == "modbus") or family == table_paceex.FAMILY):
            raise ConfigError(f"PACE family {family!r} contradicts protocol {protocol!r}")
        return family
    if protocol == "modbus" or (protocol is None and link is not None and link.kind is LinkKind.MODBUS):
        return "modbus"
    if protocol is None and link is not None and link.kind is LinkKind.BLE:
        return table_paceex.FAMILY
    return "ascii-25"


class PacePlugin(VendorPlugin):
    """PACE BMS (household wall and rack LiFePO4 packs), up to 15 packs on one RS485 bus or Bluetooth connection."""

    name = "pace"
    title = "PACE (ASCII RS232/RS485, Modbus RTU, PACEEX Bluetooth)"
    link_kinds = frozenset({LinkKind.SERIAL, LinkKind.TCP, LinkKind.MODBUS, LinkKind.BLE})
    ble_profile = table_paceex.BLE_PROFILE
    capabilities = Capabilities(switches=frozenset({Switch.CHARGE, Switch.DISCHARGE}), multi_address=True)
    families = FAMILIES
    #: PACE Bluetooth modules (PACEEX protocol) advertise ``PC-`` and four characters, no service UUID (real advert
    #: ``PC-9662``: BMS_BLE-HA issue 521, tests/vendor_plugins/ble_corpus.py). LVTOPSUN packs (PACE P16S200A board,
    #: BMS_BLE-HA issue 800: ``LLM_UNAZAY_000EY4`` / ``LLM_UNAZAY_000CX0``) advertise their own name, again with no
    #: service UUID or manufacturer data, so only that name prefix identifies them.
    ble_matchers = (BleMatcher(local_name="PC-????"), BleMatcher(local_name="LLM_UNAZAY_*"))
    reported_alarms = alarms_in(pace_table)
    bus_addresses = tuple(range(pace_table.MAX_ADDRESS + 1))
    reliability_targets = (
        RigTarget("pace-ascii", "ascii-25", addresses=(1, 2, 3)),
        RigTarget("pace-modbus", "modbus", addresses=(1, 2, 3)),
        RigTarget("pace-modbus-1", "modbus", addresses=(1,)),
        RigTarget("pace-paceex", table_paceex.FAMILY, addresses=(1, 2, 3)),
    )
    options = (
        VendorOption(
            key="protocol",
            flag="--protocol",
            help="protocol (pace); modbus with --tcp/--serial means Modbus RTU",
            metavar="ascii|modbus",
            parse=str,
        ),
    )

    def needs_register_link(self, options: SessionOptions) -> bool:
        """Modbus (family ``modbus`` or protocol ``modbus``) reads registers; ASCII exchanges frames."""
        return options.family == "modbus" or options.extra.get("protocol") == "modbus"

    def open_session(self, link: Link, options: SessionOptions | None = None) -> Session:
        """An ASCII or Modbus session over ``link``."""
        options = options or SessionOptions()
        family = resolve_family(link, options)
        if family == "modbus":
            return PaceModbusSession(link, options)
        if family == table_paceex.FAMILY:
            if link.kind is LinkKind.MODBUS:
                raise ConfigError("PACEEX needs a byte link (--ble), not a Modbus link")
            return PaceexSession(link, options)
        if link.kind is LinkKind.MODBUS:
            raise ConfigError("the PACE ASCII protocol needs a byte link (--serial or --tcp), not a Modbus link")
        return PaceAsciiSession(link, options, codec_ascii.VARIANTS[family])

    def fuzz_targets(self) -> tuple[FuzzTarget, ...]:
        """ASCII framing, assembler and INFO layouts; Modbus register decoding and RTU read responses."""
        return fuzz.fuzz_targets()

    def fuzz_seeds(self) -> tuple[bytes, ...]:
        """The simulators' ASCII 0x42/0x44 answers and RTU register read answers (whole frames and payloads)."""
        return fuzz.fuzz_seeds()

    def create_simulator(self, options: SimulatorOptions) -> Simulator:
        """A simulated 16S pack at ``options.address`` (default 1) speaking ``options.family``."""
        if options.profile not in SIMULATOR_PROFILES:
            raise ConfigError(
                f"unknown PACE simulator profile {options.profile!r} (known: {', '.join(SIMULATOR_PROFILES)})"
            )
        family = options.family if options.family not in (None, "auto") else "ascii-25"
        if family not in FAMILIES:
            raise ConfigError(f"unknown PACE family {family!r} (known: {', '.join(FAMILIES)})")
        address = 1 if options.address is None else options.address
        state = initial_state(address, options.seed)
        if family == table_paceex.FAMILY:
            from .simulator_paceex import PaceexSimulator, image_of

            if not table_paceex.FIRST_PACK <= address <= table_paceex.MAX_PACKS:
                raise ConfigError(f"PACEEX packs are numbered 1-{table_paceex.MAX_PACKS}, not {address}")
            return PaceexSimulator(
                {address: image_of(state)},
                master=address == table_paceex.FIRST_PACK,
                live=options.profile == "live",
                seed=options.seed,
                serial_number=state.serial_number,
            )
        if family == "modbus":
            from .simulator_modbus import PaceRtuSimulator

            if not 1 <= address <= 16:
                raise ConfigError(f"PACE Modbus units are 1-16, not {address}")
            return PaceRtuSimulator(state, unit=address)
        if not 0 <= address <= 15:
            raise ConfigError(f"PACE ASCII addresses are 0-15, not {address}")
        return PaceAsciiSimulator(
            state,
            address=address,
            variant=codec_ascii.VARIANTS[family],
            live=options.profile == "live",
            seed=options.seed,
        )


PLUGIN = PacePlugin()

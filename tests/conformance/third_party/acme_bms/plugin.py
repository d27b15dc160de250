"""The ACME vendor plugin: what it declares, and the wiring of its session and simulator."""

from __future__ import annotations

from vendor_plugins.errors import ConfigError
from vendor_plugins.model import Switch
from vendor_plugins.plugin import (
    BleMatcher,
    BleProfile,
    Capabilities,
    FuzzTarget,
    LinkKind,
    RigTarget,
    SessionOptions,
    SimulatorOptions,
    VendorPlugin,
    uuid16,
)
from vendor_plugins.transports.base import Link

from . import codec, fuzz
from .session import AcmeSession
from .simulator import AcmeSimulator

BLE_SERVICE = uuid16(0xACE0)
PROFILES = ("live", "static")


class AcmePlugin(VendorPlugin):
    """ACME demo BMS (a made-up vendor with its own protocol)."""

    name = "acme"
    title = "ACME demo BMS"
    link_kinds = frozenset({LinkKind.TCP, LinkKind.SERIAL, LinkKind.BLE})
    ble_matchers = (BleMatcher(local_name="ACME-*", service_uuid=BLE_SERVICE),)
    ble_profile = BleProfile(service_uuid=BLE_SERVICE, notify_uuid=uuid16(0xACE1), write_uuid=uuid16(0xACE2))
    capabilities = Capabilities(switches=frozenset({Switch.CHARGE, Switch.DISCHARGE}))
    reported_alarms = frozenset(codec.ALARM_FLAGS.values())
    reliability_targets = (RigTarget("acme", None),)

    def open_session(self, link: Link, options: SessionOptions | None = None) -> AcmeSession:
        """A session over ``link``."""
        return AcmeSession(link, options or SessionOptions())

    def create_simulator(self, options: SimulatorOptions) -> AcmeSimulator:
        """A simulated 4-cell pack ("live": a slow charge/discharge cycle; a seed picks its state)."""
        if options.profile not in PROFILES:
            raise ConfigError(f"unknown ACME simulator profile {options.profile!r} (known: {', '.join(PROFILES)})")
        return AcmeSimulator(live=options.profile == "live", seed=options.seed)

    def fuzz_targets(self) -> tuple[FuzzTarget, ...]:
        """See :mod:`.fuzz`."""
        return fuzz.fuzz_targets()

    def fuzz_seeds(self) -> tuple[bytes, ...]:
        """See :mod:`.fuzz`."""
        return fuzz.fuzz_seeds()


PLUGIN = AcmePlugin()

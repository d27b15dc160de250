"""The vendor-plugin contract: what a vendor plugin declares and what its sessions do.

A :class:`VendorPlugin` binds a sans-IO codec to links: which link kinds it supports, how it is recognised over
Bluetooth (:class:`BleMatcher`), what it can do (:class:`Capabilities`), a read-only ``probe`` and
``open_session``. A :class:`Session` runs the vendor's read sequence over one link and returns one
:class:`~vendor_plugins.model.BmsSnapshot` per pack; writes are refused unless control was enabled for the
device and are confirmed by reading the state back.
"""

from __future__ import annotations

import abc
import dataclasses
import fnmatch
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .battery_settings import BmsSettings, Number, SettingsTable
from .battery_settings_write import precheck, verified_write
from .errors import (
    BmsError,
    ControlNotConfirmed,
    ControlRefused,
    SettingsRefused,
    SettingsUnsupported,
    UnsupportedError,
)
from .kinds import BleProfile as BleProfile
from .kinds import LinkKind as LinkKind
from .model import Alarm, BmsSnapshot, Chemistry, DeviceInfo, Switch

if TYPE_CHECKING:
    from .sim.base import Simulator
    from .transports.base import Link


@dataclass(frozen=True, slots=True)
class Advertisement:
    """A BLE advertisement as the library sees it (Home Assistant adapts its service info to this)."""

    address: str
    local_name: str | None = None
    service_uuids: tuple[str, ...] = ()
    manufacturer_data: Mapping[int, bytes] = field(default_factory=dict)
    service_data: Mapping[str, bytes] = field(default_factory=dict)


def uuid16(short: int) -> str:
    """Expand a 16-bit Bluetooth UUID to its 128-bit string form."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


@dataclass(frozen=True, slots=True)
class BleMatcher:
    """One way of recognising a plugin's device from an advertisement; all given criteria must hold.

    ``local_name`` is an fnmatch pattern (``"ACME-*"``); ``oui`` a MAC prefix (``"A4:C1:38"``).
    """

    local_name: str | None = None
    service_uuid: str | None = None
    manufacturer_id: int | None = None
    oui: str | None = None

    def matches(self, adv: Advertisement) -> bool:
        """Whether ``adv`` satisfies every criterion of this matcher."""
        if self.local_name is not None and not (
            adv.local_name and fnmatch.fnmatchcase(adv.local_name, self.local_name)
        ):
            return False
        if self.service_uuid is not None and self.service_uuid.lower() not in {u.lower() for u in adv.service_uuids}:
            return False
        if self.manufacturer_id is not None and self.manufacturer_id not in adv.manufacturer_data:
            return False
        return self.oui is None or adv.address.upper().startswith(self.oui.upper())


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a plugin can do beyond reading."""

    switches: frozenset[Switch] = frozenset()
    multi_address: bool = False


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Per-device options a user chose. ``control_enabled`` is off unless the user turned it on."""

    control_enabled: bool = False
    family: str | None = None
    extra: Mapping[str, str | int] = field(default_factory=dict)
    #: The cells' chemistry as the user knows it (``None``: unknown); used where the device does not say it.
    chemistry: Chemistry | None = None


@dataclass(frozen=True, slots=True)
class SimulatorOptions:
    """How to build a simulator: ``profile`` "live" (changes over time) or "static"; ``seed`` for repeatability."""

    family: str | None = None
    address: int | None = None
    seed: int | None = None
    profile: str = "live"


@dataclass(frozen=True, slots=True)
class VendorOption:
    """A vendor-specific session option a user may set (``bmsgw`` offers it as ``flag``).

    The parsed value lands in :attr:`SessionOptions.extra` under ``key``; ``parse`` turns the user's text into it
    and raises ``ValueError`` with a clear message for text it refuses. Several plugins may declare the same option
    (same ``flag`` and ``key``): the command line then offers it once.
    """

    key: str
    flag: str
    help: str
    metavar: str
    parse: Callable[[str], str | int]


@dataclass(frozen=True, slots=True)
class FuzzTarget:
    """A sans-IO entry point a fuzzer may feed arbitrary bytes: it must return or raise a ``BmsError``, nothing else."""

    name: str
    run: Callable[[bytes], object]


@dataclass(frozen=True, slots=True)
class RigTarget:
    """One protocol family the reliability rigs (tests, soak) put behind faulty transports.

    Simulators are created at ``addresses`` with ``family``; sessions are opened with ``family`` and ``extra``. The
    rigs take the transports from the plugin (its link kinds, and :meth:`VendorPlugin.needs_register_link`).
    """

    name: str
    family: str | None
    addresses: tuple[int | None, ...] = (None,)
    extra: Mapping[str, str | int] = field(default_factory=dict)

    def options(self) -> SessionOptions:
        """The session options of this target (the family is given: no detection)."""
        return SessionOptions(family=self.family, extra=dict(self.extra))


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What a read-only probe found."""

    plugin: str
    family: str | None
    address: int | None
    device: DeviceInfo | None = None


class Session(abc.ABC):
    """A vendor's read/control sequence over one link."""

    def __init__(self, link: Link, options: SessionOptions) -> None:
        """Bind the session to ``link``; the session does not own the link (the caller closes it)."""
        self.link = link
        self.options = options
        #: Addresses a read on this session has confirmed (a device that answered like this vendor's pack).
        self.confirmed: set[int | None] = set()

    #: The protocol family actually spoken (e.g. "a5", "d2", "ascii-25"); plugins with one family set it once.
    family: str | None = None

    #: Address used when the caller names none.
    default_address: int | None = None

    #: False for a session whose control path refuses every switch without any I/O (no read before the refusal).
    writes_control: bool = True

    @abc.abstractmethod
    async def read(self, address: int | None = None) -> BmsSnapshot:
        """Read one pack and return a complete snapshot (raises a :class:`~vendor_plugins.errors.BmsError`)."""

    @abc.abstractmethod
    async def device_info(self, address: int | None = None) -> DeviceInfo:
        """Read what the pack says about itself."""

    async def set_switch(self, address: int | None, switch: Switch, on: bool) -> BmsSnapshot:
        """Set a MOSFET switch and return the snapshot that confirms it.

        Refused with :class:`ControlRefused` unless control is enabled; raises
        :class:`~vendor_plugins.errors.ControlNotConfirmed` when the read-back disagrees. Nothing is written before
        the device is confirmed (:meth:`confirm_device`): a write never goes out blind to whatever is on the link.
        """
        self.require_control()
        if self.writes_control:
            await self.confirm_device(address)
        return await self._set_switch(address, switch, on)

    async def confirm_device(self, address: int | None) -> None:
        """Make sure the pack at ``address`` is there and speaks this protocol: one read that succeeded.

        Done once per session and address (the first write reads first, unless a read through
        :class:`~vendor_plugins.reader.PackReader` already confirmed it); a read that fails raises its
        :class:`~vendor_plugins.errors.BmsError` and nothing is written.
        """
        if address not in self.confirmed:
            await self.read(address)
            self.confirmed.add(address)

    def require_control(self) -> None:
        """Raise :class:`ControlRefused` unless the user enabled control for this device."""
        if not self.options.control_enabled:
            raise ControlRefused(
                "control is not enabled for this device (enable it explicitly; switching a MOSFET can cut power)"
            )

    async def _set_switch(self, address: int | None, switch: Switch, on: bool) -> BmsSnapshot:
        raise ControlRefused(f"{type(self).__name__} does not support switching {switch}")

    # --- battery settings (docs/settings.md) -------------------------------------------------------------------

    def settings_table(self, address: int | None = None) -> SettingsTable:
        """The settings table of the family spoken; :class:`SettingsUnsupported` (no I/O) when none is documented."""
        raise SettingsUnsupported(
            f"{type(self).__name__} (family {self.family or 'unknown'}): no documented settings map for this family"
        )

    async def read_settings(self, address: int | None = None) -> BmsSettings:
        """Read the pack's settings (protection thresholds, balancing, capacities) in the vocabulary's units."""
        self.settings_table(address)
        return await self._read_settings(address)

    async def write_settings(self, address: int | None, changes: Mapping[str, Number]) -> BmsSettings:
        """Change settings, verified: returns the settings read back after the write.

        Order: control opt-in (:class:`ControlRefused`) → the family has a table (:class:`SettingsUnsupported`) →
        each value on its own (:class:`SettingsRefused`) → confirm the device → read the current settings → the
        whole resulting set against the rules (:class:`SettingsRefused`) → the vendor's write sequence → read back
        (:class:`ControlNotConfirmed` naming what did not take). Nothing is sent before every check passed.
        """
        self.require_control()
        table = self.settings_table(address)
        precheck(table, changes)
        await self.confirm_device(address)
        return await verified_write(
            table,
            changes,
            read=lambda: self._read_settings(address),
            write=lambda current, target, names: self._write_settings(address, current, target, names),
        )

    async def set_soc(self, address: int | None, percent: float) -> BmsSnapshot:
        """Set (recalibrate) the state of charge; returns the snapshot that confirms it (within 1 %)."""
        self.require_control()
        reason = self.soc_unsupported_reason()
        if reason is not None:
            raise SettingsUnsupported(reason)
        if not isinstance(percent, (int, float)) or isinstance(percent, bool) or not 0 <= percent <= 100:
            raise SettingsRefused([f"soc {percent!r} must be a number from 0 to 100 %"])
        await self.confirm_device(address)
        await self._set_soc(address, float(percent))
        snapshot = await self.read(address)
        if snapshot.soc is None or abs(snapshot.soc - percent) > 1.0:
            raise ControlNotConfirmed(f"soc did not take: asked {percent:g} %, reads {snapshot.soc} %", names=("soc",))
        return snapshot

    async def set_balancer(self, address: int | None, on: bool) -> BmsSnapshot:
        """Turn the balancer on or off (the ``balancer_enabled`` setting, verified); returns a fresh snapshot."""
        self.require_control()
        if not self.settings_table(address).has("balancer_enabled"):
            raise SettingsUnsupported(f"{type(self).__name__} (family {self.family}): no documented balancer switch")
        await self.write_settings(address, {"balancer_enabled": bool(on)})
        return await self.read(address)

    def soc_unsupported_reason(self) -> str | None:
        """Why this session cannot set the SoC (``None`` when it can: the vendor implements :meth:`_set_soc`)."""
        return f"{type(self).__name__} (family {self.family or 'unknown'}): no documented way to set the SoC"

    async def _read_settings(self, address: int | None) -> BmsSettings:
        raise SettingsUnsupported(f"{type(self).__name__}: no documented settings map")

    async def _write_settings(
        self, address: int | None, current: BmsSettings, target: BmsSettings, names: tuple[str, ...]
    ) -> None:
        """The vendor's write sequence for ``names`` (values in ``target``); raises on a device refusal."""
        raise SettingsUnsupported(f"{type(self).__name__}: no documented settings write")

    async def _set_soc(self, address: int | None, percent: float) -> None:
        raise SettingsUnsupported(self.soc_unsupported_reason() or "no documented way to set the SoC")


def alarms_in(*tables: object) -> frozenset[Alarm]:
    """Every :class:`Alarm` member found in ``tables`` (modules, mappings, sequences, dataclasses, nested).

    Plugins declare ``reported_alarms = alarms_in(table_module)`` so the set is derived from their bit tables, the
    one place their mapping is written down.
    """
    found: set[Alarm] = set()
    seen: set[int] = set()

    def walk(obj: object) -> None:
        if isinstance(obj, Alarm):
            found.add(obj)
            return
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type)):
            return
        seen.add(id(obj))
        if isinstance(obj, types.ModuleType):
            for value in vars(obj).values():
                if not isinstance(value, types.ModuleType):
                    walk(value)
        elif isinstance(obj, Mapping):
            for key, value in obj.items():
                walk(key)
                walk(value)
        elif isinstance(obj, (list, tuple, set, frozenset)):
            for value in obj:
                walk(value)
        elif dataclasses.is_dataclass(obj):
            for f in dataclasses.fields(obj):
                walk(getattr(obj, f.name))

    for table in tables:
        walk(table)
    return frozenset(found)


class VendorPlugin(abc.ABC):
    """One vendor. Instances are what the entry-point group ``bms_gateway.vendors`` loads."""

    name: str
    title: str
    link_kinds: frozenset[LinkKind]
    ble_matchers: tuple[BleMatcher, ...] = ()
    ble_profile: BleProfile | None = None
    capabilities: Capabilities = Capabilities()
    families: tuple[str, ...] = ()
    #: Alarms and warnings this plugin can ever report (Home Assistant creates one binary sensor per member).
    reported_alarms: frozenset[Alarm] = frozenset(Alarm)
    #: Pack addresses a bus of this vendor can hold (empty for single-pack vendors).
    bus_addresses: tuple[int, ...] = ()
    #: Modbus unit ids a Modbus bus of this vendor may use (empty: the library's default, 1-16).
    modbus_units: tuple[int, ...] = ()
    #: Whether detection tries this plugin after the others: it speaks no protocol of its own but recognises another
    #: plugin's (a rebrand), so the protocol's owner wins.
    probe_last: bool = False
    #: Vendor-specific session options a user may set (``bmsgw`` flags; stored in ``SessionOptions.extra``).
    options: tuple[VendorOption, ...] = ()
    #: Protocol families the reliability rigs put behind faulty transports (empty: none).
    reliability_targets: tuple[RigTarget, ...] = ()

    @abc.abstractmethod
    def open_session(self, link: Link, options: SessionOptions | None = None) -> Session:
        """Create a session over ``link``."""

    async def probe(
        self, link: Link, address: int | None = None, options: SessionOptions | None = None
    ) -> ProbeResult | None:
        """Read-only check whether this vendor answers on ``link``; ``None`` when it does not.

        ``options`` (a family, a host address…) narrow what is tried; control is never enabled by a probe.
        Overrides must stay read-only; callers pass ``options`` only when there are any, so an override without
        the parameter keeps working.
        """
        session = self.open_session(link, dataclasses.replace(options or SessionOptions(), control_enabled=False))
        try:
            info = await session.device_info(address)
        except BmsError:
            return None
        return ProbeResult(plugin=self.name, family=session.family, address=info.address, device=info)

    def needs_register_link(self, options: SessionOptions) -> bool:
        """Whether a session with ``options`` reads registers (Modbus) rather than exchanging frames.

        ``True`` means the session needs a :class:`~.transports.base.RegisterLink`; plugins that speak Modbus say
        for which options.
        """
        return False

    def fuzz_targets(self) -> tuple[FuzzTarget, ...]:
        """The plugin's sans-IO entry points for the fuzzers (names without the plugin prefix)."""
        return ()

    def fuzz_seeds(self) -> tuple[bytes, ...]:
        """Valid inputs the fuzzers start from (typically frames the plugin's simulator generates)."""
        return ()

    def create_simulator(self, options: SimulatorOptions) -> Simulator:
        """A virtual device speaking this vendor's protocol (``bmsgw simulate``, tests, the demo)."""
        raise UnsupportedError(f"vendor {self.name!r} ships no simulator")

    def matches_advertisement(self, adv: Advertisement) -> bool:
        """Whether any of this plugin's BLE matchers accepts ``adv``."""
        return any(m.matches(adv) for m in self.ble_matchers)

    def __repr__(self) -> str:
        """Short form for logs."""
        return f"<VendorPlugin {self.name}>"

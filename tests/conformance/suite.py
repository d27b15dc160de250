"""The plugin conformance checks: what every vendor plugin must do, whatever its protocol.

Each check takes a plugin object (built-in or third-party, registered or not) and uses only what the plugin contract
declares (``vendor_plugins.plugin``): its link kinds, BLE profile, families, capabilities, simulator, fuzz entry
points and reliability targets. ``test_conformance.py`` runs them over every plugin in the registry;
``test_third_party.py`` over a plugin installed from a temp dir. Nothing here names a vendor. (The fuzz check is
in :mod:`.fuzzing`.)

The simulator's truth: a simulator that exposes its battery as ``state`` (or wraps one that does, as ``inner``) is
compared field by field with the snapshot read from it — the fields of the common model it has under the same name
(``cells`` is taken for ``cell_voltages``). A simulator without ``state`` is still checked for completeness,
consistency, physical bounds and repeatability.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import re
from collections.abc import Sequence
from typing import Any

import pytest

from vendor_plugins.errors import BmsError, ControlRefused
from vendor_plugins.framing import FrameAssembler
from vendor_plugins.model import Alarm, BmsSnapshot, DeviceInfo, Switch
from vendor_plugins.plugin import LinkKind, RigTarget, SessionOptions, SimulatorOptions, VendorPlugin
from vendor_plugins.reader import PackReader, PackResult
from vendor_plugins.settings import allowed_addresses
from vendor_plugins.sim.base import Simulator

from .rig import fault_plan, rig_for, transports_for
from .serving import routes_for, served

#: The seed of the "static" simulators every round trip reads.
STATIC_SEED = 1
#: Seeds of the random battery states (each: a live simulator run on for a seed-chosen time, then frozen).
RANDOM_SEEDS = (3, 17, 404, 9001)
#: How far (seconds) a random state's live simulator may run before it is frozen: several charge/discharge cycles.
RANDOM_SPAN = 6 * 3600.0
#: Coarsest resolution of a current or capacity in any protocol (0.1 A / 0.1 Ah): the truth tolerance.
COARSE = 0.05 + 1e-9
#: Cell voltages travel in millivolts.
FINE = 0.0005 + 1e-9
#: Fields of the common model compared with a simulator's state (state attribute names, first found wins).
TRUTH_FIELDS: dict[str, tuple[str, ...]] = {
    "cell_voltages": ("cell_voltages", "cells"),
    "voltage": ("voltage",),
    "current": ("current",),
    "soc": ("soc",),
    "remaining_capacity": ("remaining_capacity",),
    "full_capacity": ("full_capacity",),
    "design_capacity": ("design_capacity",),
    "cycles": ("cycles",),
    "charge_mosfet": ("charge_mosfet",),
    "discharge_mosfet": ("discharge_mosfet",),
}
#: Link timeout of the checks (seconds): generous for a loaded machine, short where silence is expected.
TIMEOUT = 1.0
SHORT_TIMEOUT = 0.4

_PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


# --- what a plugin offers -----------------------------------------------------------------------------------------
def families(plugin: VendorPlugin) -> tuple[str | None, ...]:
    """The protocol families to check (``None``: the plugin has one and names none)."""
    return tuple(plugin.families) or (None,)


def options_for(family: str | None, *, control: bool = False) -> SessionOptions:
    """Session options speaking ``family`` (control only when asked)."""
    return SessionOptions(family=family, control_enabled=control)


def round_trip_cases(plugin: VendorPlugin) -> list[tuple[str | None, str]]:
    """Every (family, route) the plugin declares it runs over."""
    return [(family, route) for family in families(plugin) for route in routes_for(plugin, options_for(family))]


def first_route(plugin: VendorPlugin, family: str | None) -> str:
    """The first route of ``family`` (a raw TCP bridge where it can, RTU through one for register families)."""
    routes = routes_for(plugin, options_for(family))
    assert routes, f"{plugin.name}: family {family!r} runs over none of the link kinds it declares"
    return routes[0]


def case_id(plugin: VendorPlugin, *parts: object) -> str:
    """A readable test id: ``plugin-family-route``."""
    return "-".join([plugin.name, *("default" if p is None else str(p) for p in parts)])


# --- simulators ---------------------------------------------------------------------------------------------------
def simulator(
    plugin: VendorPlugin, family: str | None, *, address: int | None = None, seed: int = STATIC_SEED
) -> Simulator:
    """A static simulated pack of ``family``."""
    return plugin.create_simulator(SimulatorOptions(family=family, address=address, seed=seed, profile="static"))


class Frozen(Simulator):
    """A simulator whose clock stands still: its state is exactly what its answers say (for truth comparisons).

    Everything else (its ``state``, its BLE profile…) is the wrapped simulator's.
    """

    def __init__(self, inner: Simulator) -> None:
        """Freeze ``inner``."""
        self.inner = inner
        self.vendor = inner.vendor

    def request_assembler(self) -> FrameAssembler:
        """The wrapped simulator's."""
        return self.inner.request_assembler()

    def handle(self, request: bytes) -> bytes | None:
        """The wrapped simulator's answer."""
        return self.inner.handle(request)

    def __getattr__(self, name: str) -> Any:
        """Anything else is the wrapped simulator's."""
        return getattr(self.inner, name)


def random_simulator(plugin: VendorPlugin, family: str | None, seed: int) -> Frozen:
    """A live simulator seeded ``seed``, run on for a seed-chosen time (up to :data:`RANDOM_SPAN`), then frozen."""
    live = plugin.create_simulator(SimulatorOptions(family=family, seed=seed, profile="live"))
    rng = random.Random(seed)
    for _ in range(rng.randint(1, 5)):  # in steps: a live model may integrate over each
        live.advance(rng.uniform(0.0, RANDOM_SPAN / 5))
    return Frozen(live)


def simulated_state(sim: object) -> object | None:
    """The battery state a simulator exposes (``state``, or that of the simulator it wraps as ``inner``)."""
    seen = 0
    while sim is not None and seen < 8:
        state: object = getattr(sim, "state", None)
        if state is not None:
            return state
        sim = getattr(sim, "inner", None)
        seen += 1
    return None


# --- what a snapshot must be -------------------------------------------------------------------------------------
def reported(snapshot: BmsSnapshot) -> frozenset[str]:
    """The fields of ``snapshot`` the device reported (not ``None``, not empty)."""
    return frozenset(
        f.name for f in dataclasses.fields(snapshot) if getattr(snapshot, f.name) not in (None, (), frozenset(), {})
    )


def assert_complete(plugin: VendorPlugin, result: PackResult) -> BmsSnapshot:
    """A pack answered with a whole snapshot: pack voltage, current, SoC and its cells (as many as it says it has)."""
    assert result.exception is None, f"{plugin.name}: {result.error}"
    snapshot = result.snapshot
    assert snapshot is not None
    for name in ("voltage", "current", "soc"):
        assert getattr(snapshot, name) is not None, f"{plugin.name}: no {name} in {snapshot}"
    assert snapshot.cell_voltages, f"{plugin.name}: no cell voltages"
    device = result.device
    if device is not None and device.cell_count is not None:
        assert device.cell_count == len(snapshot.cell_voltages), (device, snapshot.cell_voltages)
    return snapshot


def assert_physical(plugin: VendorPlugin, snapshot: BmsSnapshot) -> None:
    """Every value is within physical bounds and consistent with the others (and with what the plugin declares)."""

    def within(name: str, low: float, high: float) -> None:
        value = getattr(snapshot, name)
        assert value is None or (math.isfinite(value) and low <= value <= high), f"{name} = {value} is impossible"

    within("soc", 0.0, 100.0)
    within("soh", 0.0, 100.0)
    within("voltage", 0.0, 1000.0)
    within("current", -5000.0, 5000.0)
    for name in ("remaining_capacity", "full_capacity", "design_capacity"):
        within(name, 0.0, 100_000.0)
    assert snapshot.cycles is None or snapshot.cycles >= 0, snapshot.cycles
    assert all(0.0 <= v <= 5.0 for v in snapshot.cell_voltages), (
        f"cell voltages outside 0-5 V: {snapshot.cell_voltages}"
    )
    assert all(-60.0 <= t.celsius <= 150.0 for t in snapshot.temperatures), f"temperatures: {snapshot.temperatures}"
    names = [t.name for t in snapshot.temperatures]
    assert len(set(names)) == len(names), f"temperature names repeat (they name entities): {names}"
    if snapshot.balancing is not None:
        assert snapshot.balancing <= set(range(1, len(snapshot.cell_voltages) + 1)), snapshot.balancing
    if snapshot.voltage and snapshot.cell_voltages:
        cell_sum = sum(snapshot.cell_voltages)
        assert abs(snapshot.voltage - cell_sum) <= 0.05 * snapshot.voltage, (
            f"pack {snapshot.voltage} V, cells {cell_sum} V"
        )
    if snapshot.power is not None and snapshot.current is not None:
        assert snapshot.power * snapshot.current >= 0, f"power {snapshot.power} W, current {snapshot.current} A"
    flagged = snapshot.alarms | snapshot.warnings
    assert all(isinstance(a, Alarm) for a in flagged), flagged
    assert flagged <= plugin.reported_alarms, f"alarms beyond reported_alarms: {flagged - plugin.reported_alarms}"


def assert_matches_truth(snapshot: BmsSnapshot, sim: object) -> int:
    """``snapshot`` shows the simulator's state (where it exposes one); returns how many fields were compared."""
    state = simulated_state(sim)
    if state is None:
        return 0
    compared = 0
    for name, candidates in TRUTH_FIELDS.items():
        truth = next((v for c in candidates if (v := getattr(state, c, None)) is not None), None)
        shown = getattr(snapshot, name)
        if truth is None or shown is None:
            continue
        if name == "cell_voltages":
            assert len(shown) == len(truth), (shown, truth)
            assert shown == pytest.approx(tuple(truth), abs=FINE), name
        elif isinstance(truth, bool):
            assert shown is truth, name
        else:
            assert shown == pytest.approx(truth, abs=COARSE), name
        compared += 1
    assert compared >= 3, f"the simulator's state shares too few fields with the snapshot ({compared}): {state}"
    return compared


# --- reading ------------------------------------------------------------------------------------------------------
async def read_once(
    plugin: VendorPlugin,
    options: SessionOptions,
    sims: Simulator | Sequence[Simulator],
    route: str,
    addresses: Sequence[int | None] = (None,),
) -> list[PackResult]:
    """Serve ``sims`` over ``route`` and read them once through the product's pack reader."""
    async with served(plugin, options, sims, route, request_timeout=TIMEOUT) as wire:
        reader = PackReader(plugin.open_session(wire.link, options), addresses)
        return await reader.read_round()


async def check_round_trip(plugin: VendorPlugin, family: str | None, route: str) -> BmsSnapshot:
    """A static pack over ``route``: identified, read twice alike, complete, in bounds, equal to the simulator's state.

    The link is the one ``open_link`` gives for the route and honours the contract's ``tap``.
    """
    options = options_for(family)
    sim = simulator(plugin, family)
    async with served(plugin, options, sim, route, request_timeout=TIMEOUT) as wire:
        session = plugin.open_session(wire.link, options)
        reader = PackReader(session, [None], lazy_device_info=False)
        assert await reader.identify() == {}
        device = reader.devices[None]
        assert isinstance(device, DeviceInfo)
        first, second = await reader.read_round(), await reader.read_round()
        assert [r.address for r in first] == [None]
        snapshot = assert_complete(plugin, first[0])
        assert assert_complete(plugin, second[0]) == snapshot  # a static pack reads the same every time
        if family is not None:
            assert reader.family == family, f"asked for {family}, the session speaks {reader.family}"
        assert wire.traffic.sent and wire.traffic.received, "the link's tap saw no traffic"
    assert_physical(plugin, snapshot)
    assert_matches_truth(snapshot, sim)
    return snapshot


def bus_addresses(plugin: VendorPlugin, family: str | None) -> tuple[int, int]:
    """Two pack addresses of a bus of ``family`` (past the first: not only the default address works)."""
    kind = LinkKind.MODBUS if plugin.needs_register_link(options_for(family)) else LinkKind.TCP
    allowed = allowed_addresses(plugin, kind, options_for(family))
    assert len(allowed) >= 3, f"{plugin.name} is multi-address but allows {allowed}"
    return allowed[1], allowed[2]


async def check_bus_round_trip(plugin: VendorPlugin, family: str | None, route: str) -> None:
    """A bus of two packs at distinct addresses: each read through the bus poller shows its own simulator's state."""
    addresses = bus_addresses(plugin, family)
    sims = [simulator(plugin, family, address=a, seed=a) for a in addresses]
    results = await read_once(plugin, options_for(family), sims, route, addresses)
    assert [r.address for r in results] == list(addresses)
    for result, sim in zip(results, sims, strict=True):
        snapshot = assert_complete(plugin, result)
        assert_physical(plugin, snapshot)
        assert_matches_truth(snapshot, sim)


async def check_random_state(plugin: VendorPlugin, family: str | None, seed: int, reference: BmsSnapshot) -> None:
    """A random battery state reads as a complete, physical snapshot equal to that state.

    It reports the same fields as the static pack (``reference``): a field that comes and goes with the state is a
    decoding gap.
    """
    sim = random_simulator(plugin, family, seed)
    [result] = await read_once(plugin, options_for(family), sim, first_route(plugin, family))
    snapshot = assert_complete(plugin, result)
    assert_physical(plugin, snapshot)
    assert_matches_truth(snapshot, sim)
    assert reported(snapshot) - {"alarms", "warnings", "balancing"} == reported(reference) - {
        "alarms",
        "warnings",
        "balancing",
    }


# --- control ------------------------------------------------------------------------------------------------------
async def check_control_refused(plugin: VendorPlugin, family: str | None) -> None:
    """Without the opt-in every switch is refused with ``ControlRefused`` and not one byte goes over the wire."""
    sim = simulator(plugin, family)
    options = options_for(family)
    async with served(plugin, options, sim, first_route(plugin, family), request_timeout=TIMEOUT) as wire:
        session = plugin.open_session(wire.link, options)
        for switch in Switch:
            for on in (False, True):
                with pytest.raises(ControlRefused):
                    await session.set_switch(None, switch, on)
        assert wire.traffic.log == [], "bytes went over the wire for a refused switch"
        [result] = await PackReader(plugin.open_session(wire.link, options), [None]).read_round()
    assert_matches_truth(assert_complete(plugin, result), sim)


async def check_control_verified(plugin: VendorPlugin, family: str | None) -> int:
    """With the opt-in each declared switch goes off and on again, confirmed by the snapshot it returns.

    The returned snapshot shows the requested state and the other switch as it was; a fresh session reads the same,
    and so does the simulator's own state. A family that cannot switch (no documented switch command, or a snapshot
    that does not show the MOSFET, so nothing could confirm it) refuses with ``ControlRefused`` and changes nothing.
    Returns how many switches were made (0: the family refuses them all).
    """
    sim = simulator(plugin, family)
    options = options_for(family, control=True)
    made = 0
    async with served(plugin, options, sim, first_route(plugin, family), request_timeout=TIMEOUT) as wire:
        session = plugin.open_session(wire.link, options)
        before = await session.read()
        for switch in sorted(plugin.capabilities.switches):
            field, other = _switch_fields(switch)
            start = getattr(before, field)
            for on in (not start, bool(start)):
                kept = getattr(await session.read(), other)
                try:
                    confirmed = await session.set_switch(None, switch, on)
                except ControlRefused:
                    assert await plugin.open_session(wire.link, options_for(family)).read() == before
                    break
                assert start is not None, f"{switch} confirmed by a snapshot that does not show it"
                assert getattr(confirmed, field) is on, f"{switch} {on}: {confirmed}"
                assert getattr(confirmed, other) is kept, f"{switch} {on} moved the other switch"
                fresh = await plugin.open_session(wire.link, options_for(family)).read()
                assert getattr(fresh, field) is on
                assert_matches_truth(fresh, sim)
                made += 1
    return made


def _switch_fields(switch: Switch) -> tuple[str, str]:
    """The snapshot field showing ``switch``, and the one showing the other switch."""
    if switch is Switch.CHARGE:
        return "charge_mosfet", "discharge_mosfet"
    return "discharge_mosfet", "charge_mosfet"


# --- probing ------------------------------------------------------------------------------------------------------
async def check_probe_read_only(plugin: VendorPlugin, family: str | None) -> None:
    """``plugin.probe`` writes nothing: it sends only requests the plugin's own reads send, and changes no state.

    For the probe with no options and with the family given, on the family's simulator: every request the probe sent
    is one a plain ``device_info()`` or ``read()`` with the same options sends to the same device (the probe is no
    back door for other commands); the probe with the family finds the device; and afterwards the simulator reads
    exactly as a twin that was never probed.
    """
    route = first_route(plugin, family)  # byte frames or RTU: requests carry no transaction counter
    sim, twin = simulator(plugin, family), simulator(plugin, family)
    register = plugin.needs_register_link(options_for(family))
    async with served(plugin, options_for(family), sim, route, request_timeout=SHORT_TIMEOUT) as wire:
        for options in (None, options_for(family)):
            if options is None and register:
                continue  # the link was opened for registers: the options that say so are the only meaningful ones
            wire.traffic.clear()
            session = plugin.open_session(wire.link, options)
            for read in (session.device_info, session.read):
                with contextlib.suppress(BmsError):
                    await read()
            reads = set(wire.traffic.sent)
            wire.traffic.clear()
            found = await plugin.probe(wire.link, None, options)
            probed = wire.traffic.sent
            assert probed, "the probe sent nothing"
            extra = [request.hex() for request in probed if request not in reads]
            assert not extra, f"the probe sent requests no read sends: {extra}"
            if options is not None:
                assert found is not None, f"the probe did not find a {plugin.name} pack of family {family}"
                assert found.plugin == plugin.name
                assert family is None or found.family in (None, family), found
    after = await read_once(plugin, options_for(family), sim, route)
    untouched = await read_once(plugin, options_for(family), twin, route)
    assert [r.snapshot for r in after] == [r.snapshot for r in untouched], "probing changed the device"


# --- the reliability rig ------------------------------------------------------------------------------------------
def rig_cases(plugin: VendorPlugin) -> list[tuple[RigTarget, str]]:
    """Every (reliability target, transport) of ``plugin``: its declared targets over the routes it declares."""
    cases = []
    for spec in plugin.reliability_targets:
        transports = routes_for(plugin, spec.options())
        assert transports, f"{plugin.name} target {spec.name} runs over no transport"
        assert set(transports) == set(transports_for(plugin, spec)), "the suite's routes and the rig's disagree"
        cases += [(spec, transport) for transport in transports]
    return cases


async def check_reliability(
    plugin: VendorPlugin, spec: RigTarget, transport: str, *, polls: int = 4, request_timeout: float = 0.25
) -> None:
    """A short run of one reliability target behind one faulty transport.

    No snapshot may be wrong, no error other than ``BmsError`` may escape, no read may hang; once the faults stop the
    next poll succeeds.
    """
    seed = sum(map(ord, spec.name + transport))
    where = f"{plugin.name}/{spec.name}/{transport}"
    plan = fault_plan(request_timeout)
    async with rig_for(plugin, spec, transport, plan, seed=seed, timeout=request_timeout) as rig:
        for _ in range(polls):
            await rig.poll()
        tally = rig.tally
        assert tally.escaped == 0, (where, tally.escaped_details)
        assert tally.hangs == 0, where
        assert tally.wrong == 0, (where, tally.wrong_details)
        await rig.calm()
        recovered = await rig.poll()
        assert all(isinstance(r, BmsSnapshot) for r in recovered), (where, recovered)
        assert rig.tally.wrong == 0 and rig.tally.ok > 0, where


# --- declarations -------------------------------------------------------------------------------------------------
def check_declarations(plugin: VendorPlugin) -> None:
    """What the plugin declares is well-formed and consistent (the product builds its CLI and UI from it)."""
    assert _PLUGIN_NAME.match(plugin.name), plugin.name
    assert plugin.title.strip(), "no title"
    assert plugin.link_kinds and plugin.link_kinds <= set(LinkKind), plugin.link_kinds
    if LinkKind.BLE in plugin.link_kinds:
        assert plugin.ble_profile is not None, "BLE declared without a BLE profile"
    assert len(set(plugin.families)) == len(plugin.families), plugin.families
    assert plugin.capabilities.switches <= set(Switch)
    assert plugin.reported_alarms <= set(Alarm)
    keys, flags = [o.key for o in plugin.options], [o.flag for o in plugin.options]
    assert len(set(keys)) == len(keys) and len(set(flags)) == len(flags), plugin.options
    assert all(flag.startswith("--") for flag in flags), flags
    target_names = [t.name for t in plugin.reliability_targets]
    assert len(set(target_names)) == len(target_names), target_names
    for spec in plugin.reliability_targets:
        assert spec.family is None or spec.family in plugin.families, spec
    for family in families(plugin):
        assert isinstance(simulator(plugin, family), Simulator)
        first_route(plugin, family)
    if plugin.capabilities.multi_address:
        assert any(allowed_addresses(plugin, kind) for kind in plugin.link_kinds), "a bus without addresses"

"""Reliability rigs: any plugin's simulated pack(s) behind a faulty transport, polled and checked against the truth.

Used by ``tests/reliability`` (short, in the default run), ``benchmarks/soak.py`` (long, on demand) and the plugin
conformance suite. Nothing here knows a vendor: a rig is built from a plugin and one of its reliability targets
(:class:`~vendor_plugins.plugin.RigTarget`: name, family, addresses, extra session options), and the transports
come from the plugin (:func:`transports_for`).

Entry points:

* :data:`TARGETS` — every reliability target the registry's plugins declare (``VendorPlugin.reliability_targets``),
  by target name, each a :class:`PluginTarget` (plugin + :class:`~vendor_plugins.plugin.RigTarget`);
* :meth:`Rig.for_plugin` — a rig for **any** plugin instance, registered or not (a third-party test plugin)::

      for spec in plugin.reliability_targets:
          for transport in transports_for(plugin, spec):
              async with Rig.for_plugin(plugin, spec, transport, FaultPlan.uniform(0.3), seed=1) as rig:
                  for _ in range(20):
                      await rig.poll()
                  assert rig.tally.wrong == rig.tally.escaped == rig.tally.hangs == 0

* :func:`bus_targets` / :func:`full_bus` / :func:`frame_bus` — the targets of multi-address plugins that put several
  packs on one bus, and such a target filled up to a given number of packs (the soak's bus, the bus outage
  scenarios).

A :class:`Rig` builds the simulators (state moving on every request, every reply recorded: :mod:`.truth`), serves
them over TCP, a pty or fake BLE through a :class:`~.faults.FaultInjector`, opens the real link and session, and
:meth:`Rig.poll` reads every address once and classifies each outcome: a snapshot that a fresh session can rebuild
from clean replies served during that read (``ok``), a snapshot it cannot (``wrong`` — must never happen), a
:class:`~vendor_plugins.errors.BmsError` by class name, a read that hung, or any other exception (``escaped`` — must
never happen).

Targets whose sessions read registers (``plugin.needs_register_link(target.options())``) run over a
:class:`~vendor_plugins.transports.modbus.ModbusLink` instead, their simulators being Modbus RTU units: RTU frames
through the faulty TCP bridge (``modbus-rtu-tcp``), Modbus-TCP through it (``modbus-tcp``, the RTU simulators behind
:class:`~.mbap.MbapBridge`) and RTU on the faulty pty (``modbus-rtu``). Their truth check replays the recorded RTU
replies through :class:`~.modbus_replay.ReplayModbusLink`. The simulators' request lists are bounded
(:class:`~vendor_plugins.sim.base.RequestLog`), so a long run stays flat even without :meth:`Rig.trim`.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from vendor_plugins.errors import BmsError
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.plugin import LinkKind, RigTarget, Session, SessionOptions, SimulatorOptions, VendorPlugin
from vendor_plugins.registry import default_registry
from vendor_plugins.sim.base import RequestLog, Simulator
from vendor_plugins.sim.serving import SimEndpoint
from vendor_plugins.transports.base import Link
from vendor_plugins.transports.ble import BleLink
from vendor_plugins.transports.modbus import ModbusLink, ModbusMode
from vendor_plugins.transports.serial import SerialLink
from vendor_plugins.transports.tcp import TcpLink

from .faults import FaultInjector, FaultPlan, FaultyBleClient, quiesce, serve_faulty_pty, serve_faulty_tcp
from .mbap import MbapBridge
from .modbus_replay import ReplayModbusLink
from .truth import TruthRecorder, TruthReplayLink, is_allowed

#: Transports of byte-link targets.
BYTE_TRANSPORTS = ("tcp", "pty", "ble")
#: Transports of register (Modbus) targets: RTU through a TCP bridge, Modbus-TCP, RTU on a serial line (pty).
MODBUS_TRANSPORTS = ("modbus-rtu-tcp", "modbus-tcp", "modbus-rtu")
TRANSPORTS = (*BYTE_TRANSPORTS, *MODBUS_TRANSPORTS)
#: Faults that corrupt a reply's bytes: not injected on Modbus-TCP, whose frames carry no checksum (they rely on
#: TCP's own), so no client could tell a corrupted register value from a real one.
CORRUPTING_FAULTS = ("flip", "drop_byte", "insert_byte")  # keep in step with plan_for()


def plan_for(transport: str, plan: FaultPlan) -> FaultPlan:
    """``plan`` as injected on ``transport`` (Modbus-TCP: without the byte-corrupting faults)."""
    if transport != "modbus-tcp":
        return plan
    return dataclasses.replace(plan, flip=0.0, drop_byte=0.0, insert_byte=0.0)


def transports_for(plugin: VendorPlugin, spec: RigTarget) -> tuple[str, ...]:
    """The rig transports ``plugin`` runs ``spec`` over, from what the plugin declares.

    Register sessions: every Modbus transport when the plugin supports Modbus links. Frame sessions: ``tcp``,
    ``pty`` (a serial port) and ``ble`` (only with a BLE profile) as its link kinds allow.
    """
    kinds = plugin.link_kinds
    if plugin.needs_register_link(spec.options()):
        return MODBUS_TRANSPORTS if LinkKind.MODBUS in kinds else ()
    offered = {
        "tcp": LinkKind.TCP in kinds,
        "pty": LinkKind.SERIAL in kinds,
        "ble": LinkKind.BLE in kinds and plugin.ble_profile is not None,
    }
    return tuple(t for t in BYTE_TRANSPORTS if offered[t])


@dataclass(frozen=True, slots=True)
class PluginTarget:
    """One plugin's protocol family to torture: how to build its simulators, session and transports."""

    plugin: VendorPlugin
    spec: RigTarget

    @property
    def name(self) -> str:
        """The target's name (as the plugin declares it)."""
        return self.spec.name

    @property
    def family(self) -> str | None:
        """The protocol family simulators and sessions use."""
        return self.spec.family

    @property
    def addresses(self) -> tuple[int | None, ...]:
        """The pack addresses, one simulator each."""
        return self.spec.addresses

    def options(self) -> SessionOptions:
        """The session options (the family is given: no detection)."""
        return self.spec.options()

    @property
    def registers(self) -> bool:
        """Whether this target's session reads registers (a Modbus link) rather than exchanging frames."""
        return self.plugin.needs_register_link(self.options())

    @property
    def transports(self) -> tuple[str, ...]:
        """The transports this target runs over (:func:`transports_for`)."""
        return transports_for(self.plugin, self.spec)

    def simulators(self, seed: int, *, profile: str = "live") -> list[Simulator]:
        """Simulators, one per address (seeded ``seed``, ``seed + 1``, … in address order)."""
        return [
            self.plugin.create_simulator(
                SimulatorOptions(family=self.family, address=a, seed=seed + i, profile=profile)
            )
            for i, a in enumerate(self.addresses)
        ]

    def session(self, link: Link) -> Session:
        """A fresh session over ``link`` (a truth-check replay is given to a register session at register level)."""
        if self.registers and isinstance(link, TruthReplayLink):
            link = ReplayModbusLink(link)
        return self.plugin.open_session(link, self.options())


def targets_of(plugins: Iterable[VendorPlugin]) -> dict[str, PluginTarget]:
    """Every reliability target ``plugins`` declare, by name (``plugin.name``-prefixed where two plugins clash)."""
    out: dict[str, PluginTarget] = {}
    for plugin in plugins:
        for spec in plugin.reliability_targets:
            key = spec.name if spec.name not in out else f"{plugin.name}.{spec.name}"
            out[key] = PluginTarget(plugin, spec)
    return out


#: Every reliability target of the registry's plugins, by name.
TARGETS: Mapping[str, PluginTarget] = targets_of(default_registry())


def bus_targets(targets: Iterable[PluginTarget] | None = None) -> list[PluginTarget]:
    """Targets of multi-address plugins with several packs on one bus (default: from :data:`TARGETS`)."""
    return [
        t
        for t in (TARGETS.values() if targets is None else targets)
        if t.plugin.capabilities.multi_address and len(t.addresses) > 1
    ]


def full_bus(target: PluginTarget, packs: int, *, name: str | None = None) -> PluginTarget:
    """``target`` with ``packs`` packs: its plugin's bus addresses from the target's first address on.

    Named ``name`` (default ``<plugin>-bus``); :class:`ValueError` when the bus holds fewer addresses.
    """
    first = target.addresses[0] or 0
    addresses = tuple(a for a in target.plugin.bus_addresses if a >= first)[:packs]
    if len(addresses) < packs:
        raise ValueError(f"a {target.plugin.name} bus from address {first} holds fewer than {packs} packs")
    spec = dataclasses.replace(target.spec, name=name or f"{target.plugin.name}-bus", addresses=addresses)
    return PluginTarget(target.plugin, spec)


def frame_bus(packs: int, *, name: str | None = None) -> PluginTarget:
    """The first of :func:`bus_targets` whose session exchanges frames, with ``packs`` packs (:func:`full_bus`)."""
    target = next((t for t in bus_targets() if not t.registers), None)
    if target is None:
        raise LookupError("no registered plugin puts several packs on a bus it reads by exchanging frames")
    return full_bus(target, packs, name=name)


@dataclass(slots=True)
class Tally:
    """Outcome counts of a run."""

    polls: int = 0
    ok: int = 0
    #: Snapshots no clean reply of their own read explains — not even a stale one: must always be 0.
    wrong: int = 0
    #: Snapshots built (partly) from a clean reply served during an earlier read: the late-answer double fault.
    stale: int = 0
    hangs: int = 0
    escaped: int = 0
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    wrong_details: list[str] = field(default_factory=list)
    escaped_details: list[str] = field(default_factory=list)
    stale_details: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        """Accumulate ``other`` into this tally."""
        self.polls += other.polls
        self.ok += other.ok
        self.wrong += other.wrong
        self.stale += other.stale
        self.hangs += other.hangs
        self.escaped += other.escaped
        self.failures.update(other.failures)
        self.wrong_details.extend(other.wrong_details[:20])
        self.escaped_details.extend(other.escaped_details[:20])
        self.stale_details.extend(other.stale_details[:20])


class Rig:
    """One target behind one faulty transport, with the real link and session on top."""

    def __init__(
        self,
        target: PluginTarget,
        transport: str,
        plan: FaultPlan,
        *,
        seed: int = 0,
        timeout: float = 0.2,
        step: float = 7.0,
        max_log: int = 10_000,
    ) -> None:
        """Describe the rig; :meth:`start` builds it (``max_log``: injections kept in the injector's log)."""
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}")
        if transport not in target.transports:
            raise ValueError(
                f"{target.plugin.name} target {target.name!r} does not run over {transport!r}"
                f" (it runs over: {', '.join(target.transports) or 'nothing'})"
            )
        self.target = target
        self.transport = transport
        self.injector = FaultInjector(plan_for(transport, plan), seed=seed, max_log=max_log)
        self.recorder = TruthRecorder()
        self.sims = [self.recorder.wrap(s, step=step) for s in target.simulators(seed)]
        for sim in self.sims:
            requests = getattr(sim.inner, "requests", None)
            if isinstance(requests, list) and (not isinstance(requests, RequestLog) or requests.maxlen > max_log):
                sim.inner.requests = RequestLog(requests, maxlen=max(1, min(max_log, 1000)))  # type: ignore[attr-defined]
        self.timeout = timeout
        self.read_limit = 30 * timeout + plan.delay_seconds + plan.refuse_seconds + 5.0
        self.tally = Tally()
        self.poll_number = 0
        self.link: Link | None = None
        self.session: Session | None = None
        self._close: Callable[[], object] | None = None
        self.clients: list[FaultyBleClient] = []

    @classmethod
    def for_plugin(
        cls,
        plugin: VendorPlugin,
        target: RigTarget,
        transport: str,
        plan: FaultPlan | None = None,
        *,
        seed: int = 0,
        timeout: float = 0.2,
        step: float = 7.0,
        max_log: int = 10_000,
    ) -> Rig:
        """A rig for ``target`` of any ``plugin`` instance (registered or not) over ``transport``.

        ``transport`` is one of :func:`transports_for` ``(plugin, target)``; ``plan`` defaults to a clean wire.
        """
        return cls(
            PluginTarget(plugin, target),
            transport,
            plan if plan is not None else FaultPlan(),
            seed=seed,
            timeout=timeout,
            step=step,
            max_log=max_log,
        )

    async def _start_modbus(self) -> ModbusLink:
        if self.transport == "modbus-rtu":
            pty = await serve_faulty_pty(self.sims, self.injector)
            self._close = pty.close
            return ModbusLink(ModbusMode.RTU, pty.path, timeout=self.timeout, connect_timeout=1.0)
        tcp_mode = self.transport == "modbus-tcp"
        tcp = await serve_faulty_tcp([MbapBridge(self.sims)] if tcp_mode else self.sims, self.injector)
        self._close = tcp.close
        mode = ModbusMode.TCP if tcp_mode else ModbusMode.RTU_OVER_TCP
        return ModbusLink(mode, tcp.host, tcp.port, timeout=self.timeout, connect_timeout=1.0)

    async def _start_ble(self) -> BleLink:
        profile = self.target.plugin.ble_profile
        assert profile is not None  # transports_for offers BLE only with a profile
        endpoint = SimEndpoint(self.sims)

        def factory() -> FaultyBleClient:
            client = FaultyBleClient(endpoint, profile, self.injector)
            self.clients[:] = [client]
            return client

        return BleLink("00:11:22:33:44:55", profile, timeout=self.timeout, client_factory=factory)

    async def start(self) -> Rig:
        """Serve the simulators and open the link and session."""
        link: Link
        if self.transport in MODBUS_TRANSPORTS:
            link = await self._start_modbus()
        elif self.transport == "tcp":
            tcp = await serve_faulty_tcp(self.sims, self.injector)
            self._close = tcp.close
            link = TcpLink(tcp.host, tcp.port, timeout=self.timeout, connect_timeout=1.0)
        elif self.transport == "pty":
            pty = await serve_faulty_pty(self.sims, self.injector)
            self._close = pty.close
            link = SerialLink(pty.path, timeout=self.timeout, connect_timeout=1.0)
        else:
            link = await self._start_ble()
        self.link = link
        self.session = self.target.session(link)
        return self

    async def read_one(self, address: int | None) -> BmsSnapshot | BaseException:
        """Read ``address`` once and classify the outcome into :attr:`tally` (returns the snapshot or error)."""
        assert self.session is not None
        self.poll_number += 1
        poll = self.poll_number
        self.recorder.begin(poll)
        tally = self.tally
        tally.polls += 1
        try:
            async with asyncio.timeout(self.read_limit):
                snapshot = await self.session.read(address)
        except BmsError as err:
            tally.failures[type(err).__name__] += 1
            return err
        except TimeoutError as err:
            tally.hangs += 1
            return err
        except Exception as err:
            tally.escaped += 1
            tally.escaped_details.append(f"{self.target.name}/{self.transport} poll {poll}: {err!r}")
            return err
        answers = self.recorder.answers(poll)
        kind = self.link.kind if self.link is not None else LinkKind.TCP
        if await is_allowed(snapshot, self.target.session, answers, address=address, kind=kind):
            tally.ok += 1
        elif await self._stale(snapshot, poll, address, kind):
            tally.stale += 1
            if len(tally.stale_details) < 20:
                recent = [i for i in self.injector.log if i.reply >= self.injector.replies - 8]
                tally.stale_details.append(f"{self.target.name}/{self.transport} poll {poll}: recent faults {recent}")
        else:
            tally.wrong += 1
            if len(tally.wrong_details) < 20:
                recent = [i for i in self.injector.log if i.reply >= self.injector.replies - 8]
                tally.wrong_details.append(
                    f"{self.target.name}/{self.transport} poll {poll} addr {address}: {snapshot.to_dict()}"
                    f" recent faults {recent}"
                )
        return snapshot

    async def _stale(self, snapshot: BmsSnapshot, poll: int, address: int | None, kind: LinkKind) -> bool:
        """Whether clean replies of this and the previous reads of every pack explain ``snapshot`` (a late reply)."""
        merged: dict[bytes, list[bytes]] = {}
        for p in range(poll - 3 * len(self.target.addresses), poll + 1):
            for request, replies in self.recorder.answers(p).items():
                merged.setdefault(request, []).extend(replies)
        return await is_allowed(snapshot, self.target.session, merged, address=address, kind=kind, limit=4096)

    async def poll(self) -> list[BmsSnapshot | BaseException]:
        """Read every address of the target once."""
        return [await self.read_one(a) for a in self.target.addresses]

    def trim(self) -> None:
        """Forget the request lists simulators and fake clients keep for tests (a soak measures the library)."""
        for sim in self.sims:
            requests = getattr(sim.inner, "requests", None)
            if isinstance(requests, list):
                requests.clear()
        for client in self.clients:
            client.writes.clear()
            client.notifications.clear()

    async def calm(self) -> None:
        """End the faults and wait until nothing faulty is still in flight."""
        await quiesce(self.injector)

    async def close(self) -> None:
        """Close the link and the server."""
        if self.link is not None:
            await self.link.close()
        if self._close is not None:
            result = self._close()
            if asyncio.iscoroutine(result):
                await result

    async def __aenter__(self) -> Rig:
        """Start on entry."""
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        """Close on exit."""
        await self.close()

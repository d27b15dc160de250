"""A reliability rig: one vendor's simulated pack(s) behind a faulty transport, polled and checked against the truth.

Used by ``tests/reliability`` (short, in the default run) and ``benchmarks/soak.py`` (long, on demand). A
:class:`Rig` builds the simulators (state moving on every request, every reply recorded: :mod:`.truth`), serves
them over TCP, a pty or fake BLE through a :class:`~.faults.FaultInjector`, opens the real link and session,
and :meth:`Rig.poll` reads every address once and classifies each outcome: a snapshot that a fresh session can
rebuild from clean replies served during that read (``ok``), a snapshot it cannot (``wrong`` — must never
happen), a :class:`~vendor_plugins.errors.BmsError` by class name, a read that hung, or any other exception
(``escaped`` — must never happen).

Modbus targets (PACE Modbus) run over a :class:`~vendor_plugins.transports.modbus.ModbusLink` instead: RTU frames
through the faulty TCP bridge (``modbus-rtu-tcp``), Modbus-TCP through it (``modbus-tcp``, the RTU simulators
behind :class:`~.modbus.MbapBridge`) and RTU on the faulty pty (``modbus-rtu``). Their truth check replays the
recorded RTU replies through :class:`~.modbus.ReplayModbusLink`. The simulators' request lists are bounded
(:class:`~.base.RequestLog`), so a long run stays flat even without :meth:`Rig.trim`.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import BmsError
from ..model import BmsSnapshot
from ..plugin import LinkKind, Session, SessionOptions, SimulatorOptions, VendorPlugin
from ..transports.base import ByteLink, Link
from ..transports.ble import BleLink
from ..transports.modbus import ModbusLink, ModbusMode
from ..transports.serial import SerialLink
from ..transports.tcp import TcpLink
from .base import RequestLog, Simulator
from .faults import FaultInjector, FaultPlan, FaultyBleClient, quiesce, serve_faulty_pty, serve_faulty_tcp
from .modbus import MbapBridge, ReplayModbusLink
from .serving import SimEndpoint
from .truth import ReplayLink, TruthRecorder, is_allowed

#: Transports of byte-link targets.
BYTE_TRANSPORTS = ("tcp", "pty", "ble")
#: Transports of Modbus targets: RTU through a TCP bridge, Modbus-TCP, RTU on a serial line (pty).
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


@dataclass(frozen=True, slots=True)
class Target:
    """One vendor family to torture: how to build its simulators and session."""

    name: str
    plugin_name: str
    family: str | None
    addresses: tuple[int | None, ...] = (None,)
    extra: tuple[tuple[str, str | int], ...] = ()

    def plugin(self) -> VendorPlugin:
        """The vendor plugin (imported lazily)."""
        if self.plugin_name == "jbd":
            from ..jbd.plugin import PLUGIN as JBD

            return JBD
        if self.plugin_name == "daly":
            from ..daly.plugin import PLUGIN as DALY

            return DALY
        from ..pace.plugin import PLUGIN as PACE

        return PACE

    def simulators(self, seed: int) -> list[Simulator]:
        """Live simulators, one per address."""
        plugin = self.plugin()
        return [
            plugin.create_simulator(SimulatorOptions(family=self.family, address=a, seed=seed + i, profile="live"))
            for i, a in enumerate(self.addresses)
        ]

    def options(self) -> SessionOptions:
        """The session options (the family is given: no detection)."""
        return SessionOptions(family=self.family, extra=dict(self.extra))

    @property
    def modbus(self) -> bool:
        """Whether this target's session needs a Modbus link (PACE Modbus)."""
        return self.plugin_name == "pace" and self.family == "modbus"

    def session(self, link: Link) -> Session:
        """A fresh session over ``link`` (a truth-check replay is given to a Modbus session at register level)."""
        if self.modbus and isinstance(link, ReplayLink):
            link = ReplayModbusLink(link)
        return self.plugin().open_session(link, self.options())

    @property
    def transports(self) -> tuple[str, ...]:
        """The transports this vendor runs over (BLE only with a BLE profile)."""
        if self.modbus:
            return MODBUS_TRANSPORTS
        kinds = self.plugin().link_kinds
        return tuple(
            t
            for t in TRANSPORTS
            if (t == "tcp" and LinkKind.TCP in kinds)
            or (t == "pty" and LinkKind.SERIAL in kinds)
            or (t == "ble" and LinkKind.BLE in kinds and self.plugin().ble_profile is not None)
        )


TARGETS: dict[str, Target] = {
    "jbd": Target("jbd", "jbd", "jbd"),
    "daly-a5": Target("daly-a5", "daly", "a5", extra=(("host_address", 0x80),)),
    "daly-d2": Target("daly-d2", "daly", "d2"),
    "daly-p81": Target("daly-p81", "daly", "p81"),
    "pace-ascii": Target("pace-ascii", "pace", "ascii-25", addresses=(1, 2, 3)),
    "pace-modbus": Target("pace-modbus", "pace", "modbus", addresses=(1, 2, 3)),
    "pace-modbus-1": Target("pace-modbus-1", "pace", "modbus", addresses=(1,)),
}


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
        target: Target,
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
        self.link: ByteLink | ModbusLink | None = None
        self.session: Session | None = None
        self._close: Callable[[], object] | None = None
        self.clients: list[FaultyBleClient] = []

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

    async def start(self) -> Rig:
        """Serve the simulators and open the link and session."""
        link: ByteLink | ModbusLink
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
            profile = self.target.plugin().ble_profile
            assert profile is not None
            endpoint = SimEndpoint(self.sims)

            def factory() -> FaultyBleClient:
                client = FaultyBleClient(endpoint, profile, self.injector)
                self.clients[:] = [client]
                return client

            link = BleLink("00:11:22:33:44:55", profile, timeout=self.timeout, client_factory=factory)
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

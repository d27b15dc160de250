"""Fault injection for simulators: a seeded, logged misbehaving wire between a link and a simulated BMS.

A :class:`FaultInjector` decides, reply by reply, what goes wrong (:class:`FaultPlan` holds the probabilities):

* ``drop`` — the whole reply is lost;
* ``flip`` / ``drop_byte`` / ``insert_byte`` — one bit flipped, one byte lost, one random byte inserted;
* ``split`` — the reply arrives in several pieces at random cut points, a little apart (combines with the others);
* ``delay`` — the reply arrives ``delay_seconds`` later (set it past the link's timeout);
* ``late`` — the reply is held back and delivered just after the *next* request arrived, before that request's own
  answer (the hardest case: a late reply to the same command is byte-for-byte a plausible answer);
* ``disconnect`` — part of the reply, then the connection drops (TCP: closed; BLE: dropped; pty: the line goes
  dead mid-frame);
* ``outage`` — like ``disconnect``, then new connections are refused for ``refuse_seconds`` (a bridge rebooting;
  BLE: ``connect`` fails);
* ``ble_drop`` (BLE only) — after a reply was delivered, the peripheral drops the connection (between polls).

The servers here wrap any :class:`~vendor_plugins.sim.base.Simulator` (or bus of them) like the clean ones in
:mod:`vendor_plugins.sim.tcp`, :mod:`~vendor_plugins.sim.pty` and :mod:`~vendor_plugins.sim.ble`:
:func:`serve_faulty_tcp`, :func:`serve_faulty_pty` and :class:`FaultyBleClient`.
Every injected fault is appended to :attr:`FaultInjector.log`; :attr:`FaultInjector.enabled` turns injection off
(held-back replies are then discarded, so the wire is clean from the next request on).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from bleak.exc import BleakError

from vendor_plugins.plugin import BleProfile
from vendor_plugins.sim.ble import FakeBleClient
from vendor_plugins.sim.pty import PtyServer
from vendor_plugins.sim.serving import SimEndpoint, Simulators
from vendor_plugins.sim.tcp import TcpServerBase

_LOGGER = logging.getLogger(__name__)

#: Fault kinds that decide a reply's fate (at most one per reply); ``split`` is drawn independently.
REPLY_FAULTS = ("drop", "flip", "drop_byte", "insert_byte", "delay", "late", "disconnect", "outage", "ble_drop")


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultPlan:
    """Per-reply probabilities of each fault, and the timings they use."""

    drop: float = 0.0
    flip: float = 0.0
    drop_byte: float = 0.0
    insert_byte: float = 0.0
    delay: float = 0.0
    late: float = 0.0
    disconnect: float = 0.0
    outage: float = 0.0
    ble_drop: float = 0.0
    split: float = 0.0
    #: How late a ``delay``-ed reply arrives (seconds; choose more than the link's timeout).
    delay_seconds: float = 0.5
    #: How long connections are refused after an ``outage``.
    refuse_seconds: float = 0.3
    #: Gap between the pieces of a ``split`` reply (seconds).
    split_gap: float = 0.002
    #: After a faulty reply, this many replies are delivered cleanly (0: faults are independent). More than the
    #: requests of one read keeps the repeat of the faulted request clean too: single faults only.
    clean_after: int = 0

    def __post_init__(self) -> None:
        """Probabilities must be in [0, 1] and the reply faults must not add up to more than 1."""
        for name in (*REPLY_FAULTS, "split"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault probability {name}={value} is not within [0, 1]")
        if sum(getattr(self, name) for name in REPLY_FAULTS) > 1.0 + 1e-9:
            raise ValueError("the reply fault probabilities add up to more than 1")

    @classmethod
    def uniform(cls, rate: float, *, kinds: tuple[str, ...] = REPLY_FAULTS, **timings: Any) -> FaultPlan:
        """``rate`` spread evenly over ``kinds`` (``split`` gets ``rate`` on its own when listed)."""
        reply_kinds = [k for k in kinds if k in REPLY_FAULTS]
        unknown = set(kinds) - {*REPLY_FAULTS, "split"}
        if unknown:
            raise ValueError(f"unknown fault kinds: {', '.join(sorted(unknown))}")
        probs: dict[str, Any] = {k: rate / len(reply_kinds) for k in reply_kinds}
        if "split" in kinds:
            probs["split"] = rate
        return cls(**probs, **timings)

    def as_dict(self) -> dict[str, float | bool]:
        """Every setting by name (for reports)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Injection:
    """One injected fault: which, on the how-many-th reply, and details (cut points, offsets)."""

    kind: str
    reply: int
    detail: str = ""


@dataclass(slots=True)
class Delivery:
    """What becomes of one reply: pieces to send (each after its own delay) and what happens afterwards."""

    pieces: list[tuple[float, bytes]] = field(default_factory=list)
    hold: bytes | None = None
    disconnect: bool = False
    refuse: bool = False
    drop_after: bool = False


class FaultInjector:
    """Seeded fault decisions shared by every connection to one simulated device (or bus)."""

    def __init__(self, plan: FaultPlan, *, seed: int | None = None, max_log: int = 10_000) -> None:
        """Inject according to ``plan``; the same ``seed`` and traffic give the same faults."""
        self.plan = plan
        self.rng = random.Random(seed)
        self.enabled = True
        #: The most recent injections (bounded: a soak run must not grow memory).
        self.log: collections.deque[Injection] = collections.deque(maxlen=max_log)
        #: How many of each kind were injected in total.
        self.counts: collections.Counter[str] = collections.Counter()
        self.replies = 0
        self._refusing_until = 0.0
        self._clean_left = 0

    def _note(self, kind: str, detail: str = "") -> None:
        self.counts[kind] += 1
        self.log.append(Injection(kind, self.replies, detail))

    # --- connections ---------------------------------------------------------------------------------------------
    def refuse_for(self, seconds: float) -> None:
        """Refuse new connections for ``seconds`` from now."""
        now = asyncio.get_running_loop().time()
        self._refusing_until = max(self._refusing_until, now + seconds)

    @property
    def refusing(self) -> bool:
        """Whether a connection attempt now is refused."""
        return self.enabled and asyncio.get_running_loop().time() < self._refusing_until

    def note_refused(self) -> None:
        """Log a refused connection attempt."""
        self._note("refused")

    # --- replies -------------------------------------------------------------------------------------------------
    def _choose(self) -> str | None:
        roll = self.rng.random()
        for kind in REPLY_FAULTS:
            p = getattr(self.plan, kind)
            if roll < p:
                return kind
            roll -= p
        return None

    def _split(self, data: bytes, delay: float) -> list[tuple[float, bytes]]:
        if len(data) < 2:
            return [(delay, data)]
        cuts = sorted(self.rng.sample(range(1, len(data)), min(len(data) - 1, self.rng.randint(1, 4))))
        self._note("split", f"at {cuts}")
        bounds = [0, *cuts, len(data)]
        gap = self.plan.split_gap
        return [(delay + i * gap, data[a:b]) for i, (a, b) in enumerate(itertools.pairwise(bounds))]

    def plan_reply(self, reply: bytes, *, ble: bool = False) -> Delivery:
        """Decide the fate of ``reply`` (``ble``: whether ``ble_drop`` applies)."""
        self.replies += 1
        if not self.enabled or not reply:
            return Delivery([(0.0, reply)] if reply else [])
        kind = self._choose()
        if kind == "ble_drop" and not ble:
            kind = None
        clean = self._clean_left > 0
        if clean:
            kind = None
            self._clean_left -= 1
        elif kind is not None:
            self._clean_left = self.plan.clean_after
        data, delay, out = bytearray(reply), 0.0, Delivery()
        rng = self.rng
        match kind:
            case "drop":
                self._note("drop")
                return out
            case "flip":
                i, bit = rng.randrange(len(data)), rng.randrange(8)
                data[i] ^= 1 << bit
                self._note("flip", f"byte {i} bit {bit}")
            case "drop_byte":
                i = rng.randrange(len(data))
                del data[i]
                self._note("drop_byte", f"byte {i}")
            case "insert_byte":
                i, value = rng.randrange(len(data) + 1), rng.randrange(256)
                data.insert(i, value)
                self._note("insert_byte", f"0x{value:02X} at {i}")
            case "delay":
                delay = self.plan.delay_seconds
                self._note("delay", f"{delay:g} s")
            case "late":
                self._note("late")
                out.hold = bytes(data)
                return out
            case "disconnect" | "outage":
                cut = rng.randrange(len(data))
                self._note(kind, f"after {cut} of {len(data)} bytes")
                out.pieces = [(0.0, bytes(data[:cut]))] if cut else []
                out.disconnect = True
                out.refuse = kind == "outage"
                return out
            case "ble_drop":
                self._note("ble_drop")
                out.drop_after = True
        if data and not clean and rng.random() < self.plan.split:
            out.pieces = self._split(bytes(data), delay)
        elif data:
            out.pieces = [(delay, bytes(data))]
        return out


class FaultyConnection:
    """One connection's view of a faulty device: requests in, (mis)delivered replies out.

    ``write(data)`` sends bytes to the client, ``disconnect()`` drops the connection; both are the transport's.
    """

    def __init__(
        self,
        endpoint: SimEndpoint,
        injector: FaultInjector,
        write: Callable[[bytes], None],
        disconnect: Callable[[], None],
        *,
        ble: bool = False,
        on_refuse: Callable[[float], None] | None = None,
    ) -> None:
        """Answer through ``endpoint``; misbehave as ``injector`` decides."""
        self.endpoint = endpoint
        self.injector = injector
        self._write = write
        self._disconnect = disconnect
        self._ble = ble
        self._on_refuse = on_refuse
        self._held: bytes | None = None
        self._handles: set[asyncio.TimerHandle] = set()
        self.closed = False

    def feed(self, chunk: bytes) -> None:
        """Take request bytes from the client; answer every request they complete."""
        if self.closed:
            return
        before = self.endpoint.requests
        reply = self.endpoint.feed(chunk)
        if self.endpoint.requests == before:
            return
        held, self._held = self._held, None
        if held is not None and self.injector.enabled:
            self._send(held)  # the late answer to the previous request, after this request went out
        delivery = self.injector.plan_reply(reply, ble=self._ble)
        self._held = delivery.hold
        for delay, piece in delivery.pieces:
            if delay <= 0:
                self._send(piece)
            else:
                self._later(delay, self._send, piece)
        if delivery.disconnect:
            if delivery.refuse:
                seconds = self.injector.plan.refuse_seconds
                self.injector.refuse_for(seconds)
                if self._on_refuse is not None:
                    self._on_refuse(seconds)
            self.close()
            self._disconnect()
        elif delivery.drop_after:
            last = max((d for d, _ in delivery.pieces), default=0.0)
            self._later(last + 0.001, self._drop)

    def _send(self, data: bytes) -> None:
        if not self.closed and data:
            self._write(data)

    def _drop(self) -> None:
        if not self.closed:
            self.close()
            self._disconnect()

    def _later(self, delay: float, callback: Callable[..., None], *args: Any) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def run() -> None:
            self._handles.discard(handle)
            callback(*args)

        handle = loop.call_later(delay, run)
        self._handles.add(handle)

    def close(self) -> None:
        """Stop delivering (pending delayed pieces are cancelled, a held reply is forgotten)."""
        self.closed = True
        self._held = None
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()


# --- TCP ---------------------------------------------------------------------------------------------------------
class _FaultyTcpProtocol(asyncio.Protocol):
    def __init__(self, server: FaultyTcpServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._conn: FaultyConnection | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        server = self._server
        if server.injector.refusing:  # a listener that was just reopened: refuse like a rebooting bridge
            server.injector.note_refused()
            transport.abort()
            return
        self._transport = transport
        self._conn = FaultyConnection(
            server.endpoint.fork(), server.injector, transport.write, transport.abort, on_refuse=server.refuse_for
        )
        server.clients[transport] = self._conn
        server.connections += 1

    def data_received(self, data: bytes) -> None:
        if self._conn is not None:
            self._conn.feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._transport is not None:
            self._server.clients.pop(self._transport, None)
        self._transport = None
        self._conn = None


class FaultyTcpServer(TcpServerBase):
    """A simulator behind a misbehaving TCP bridge (an ``outage`` closes the listener for a while)."""

    def __init__(self, endpoint: SimEndpoint, injector: FaultInjector) -> None:
        """Create an unstarted server (use :func:`serve_faulty_tcp`)."""
        super().__init__(endpoint, host="127.0.0.1")
        self.injector = injector
        self.clients: dict[asyncio.Transport, FaultyConnection] = {}
        self._reopen: asyncio.TimerHandle | None = None
        self._relisten_task: asyncio.Task[None] | None = None
        self._closed = False
        self._down = False

    def _protocol(self) -> asyncio.Protocol:
        return _FaultyTcpProtocol(self)

    def _cancel_reopen(self) -> None:
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None

    def refuse_for(self, seconds: float) -> None:
        """Stop listening (connections are refused) and listen again on the same port after ``seconds``."""
        self._stop_listening()
        self._cancel_reopen()
        self._reopen = asyncio.get_running_loop().call_later(seconds, self._start_relisten)

    def _start_relisten(self) -> None:
        self._relisten_task = asyncio.get_running_loop().create_task(self._relisten())

    async def _relisten(self) -> None:
        self._reopen = None
        if self._closed or self._down or self._server is not None:
            return
        try:
            await self._listen()
        except OSError as exc:  # the port is still in TIME_WAIT or taken: try again shortly
            _LOGGER.debug("faulty TCP server: cannot listen again yet (%s)", exc)
            self._reopen = asyncio.get_running_loop().call_later(0.05, self._start_relisten)

    def go_down(self) -> None:
        """The bridge goes away until :meth:`come_back`: clients dropped, connections refused (test hook)."""
        self._down = True
        self._cancel_reopen()
        self._stop_listening()
        self.drop_clients()

    async def come_back(self) -> None:
        """End an outage started by :meth:`go_down`: listen again on the same port."""
        self._down = False
        if self._server is None and not self._closed:
            await self._listen()

    def drop_clients(self) -> None:
        """Abort every client connection."""
        for transport, conn in list(self.clients.items()):
            conn.close()
            transport.abort()
        self.clients.clear()

    async def close(self) -> None:
        """Stop listening and drop every client; no reopening after this (idempotent)."""
        self._closed = True
        self._cancel_reopen()
        if self._relisten_task is not None:
            await asyncio.gather(self._relisten_task, return_exceptions=True)
        await super().close()


async def serve_faulty_tcp(simulators: Simulators, injector: FaultInjector, host: str = "127.0.0.1") -> FaultyTcpServer:
    """Serve ``simulators`` on a free TCP port of ``host`` through ``injector``."""
    server = FaultyTcpServer(SimEndpoint(simulators), injector)
    server.host = host
    await server._listen()
    return server


# --- pty ---------------------------------------------------------------------------------------------------------
class FaultyPtyServer(PtyServer):
    """A simulator behind a misbehaving serial line (a pty): ``disconnect``/``outage`` leave the line dead mid-frame."""

    def __init__(self, endpoint: SimEndpoint, injector: FaultInjector, *, baud: int | None = None) -> None:
        """Open the pty (use :func:`serve_faulty_pty`)."""
        super().__init__(endpoint, baud=baud)
        self.injector = injector
        self.connection = self._new_connection()

    def _new_connection(self) -> FaultyConnection:
        return FaultyConnection(self.endpoint, self.injector, self._outbox.put_nowait, self._line_dead)

    def _line_dead(self) -> None:
        """The line went dead mid-frame: the request parser starts afresh (a serial port has no connection)."""
        self.endpoint.reset()
        self.connection = self._new_connection()

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError, InterruptedError:
            return
        except OSError as exc:
            _LOGGER.warning("%s: read failed (%s); no longer serving", self.path, exc)
            if self._loop is not None:
                self._loop.remove_reader(self._master)
            return
        self.connection.feed(data)

    async def close(self) -> None:
        """Stop serving (pending delayed replies are cancelled)."""
        self.connection.close()
        await super().close()


async def serve_faulty_pty(
    simulators: Simulators, injector: FaultInjector, *, baud: int | None = None
) -> FaultyPtyServer:
    """Serve ``simulators`` on a new pty through ``injector``; open the returned ``.path``."""
    server = FaultyPtyServer(SimEndpoint(simulators), injector, baud=baud)
    server._start()
    return server


# --- BLE ---------------------------------------------------------------------------------------------------------
class FaultyBleClient(FakeBleClient):
    """A :class:`~vendor_plugins.sim.ble.FakeBleClient` whose peripheral misbehaves.

    Share one injector between the clients a ``client_factory`` creates (``outage`` makes ``connect`` fail for
    ``refuse_seconds``).
    """

    def __init__(
        self,
        simulator: Simulators | SimEndpoint,
        profile: BleProfile,
        injector: FaultInjector,
        *,
        mtu_payload: int = 20,
    ) -> None:
        """Wrap ``simulator`` (or a shared endpoint, to keep its clock) behind ``profile`` with faults."""
        super().__init__(simulator, profile, mtu_payload=mtu_payload)
        self.injector = injector
        self._conn: FaultyConnection | None = None

    async def connect(self) -> None:
        """Connect, unless the peripheral is refusing connections right now."""
        if self.injector.refusing:
            self.injector.note_refused()
            raise BleakError("simulated peripheral not reachable (outage)")
        await super().connect()
        session = self._session

        def write(data: bytes) -> None:
            if session == self._session:
                self._notify(data)

        self._conn = FaultyConnection(self._endpoint, self.injector, write, self.drop_connection, ble=True)

    async def disconnect(self) -> None:
        """Disconnect on our own initiative; pending deliveries are cancelled."""
        if self._conn is not None:
            self._conn.close()
        await super().disconnect()

    def drop_connection(self) -> None:
        """The peripheral goes away (pending deliveries are cancelled)."""
        if self._conn is not None:
            self._conn.close()
        super().drop_connection()

    async def write_gatt_char(self, char_specifier: str, data: bytes, /, response: bool = False) -> None:
        """A request; the answer is (mis)delivered as notifications."""
        self._accept_write(char_specifier, data)
        assert self._conn is not None
        self._conn.feed(bytes(data))


async def quiesce(injector: FaultInjector, *, extra: float = 0.05) -> None:
    """Turn injection off and wait until every delayed reply and refusal period is over."""
    injector.enabled = False
    with contextlib.suppress(RuntimeError):
        await asyncio.sleep(max(injector.plan.delay_seconds, injector.plan.refuse_seconds) + extra)

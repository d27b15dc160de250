r"""The link contract and the request/response mechanism shared by every byte link (TCP, serial, BLE).

Two kinds of link, as separate types so a session asks for what it needs: a :class:`ByteLink` moves frames
(``exchange``), a :class:`RegisterLink` moves Modbus registers (``read_registers`` / ``write_registers``). Both are
:class:`Link`\ s (``kind``, ``description``, ``close`` and the raw-traffic ``tap``). :class:`BufferedByteLink` is the
mechanism every byte transport shares.

A link moves bytes and knows nothing about vendors. ``exchange(request, expect)`` sends one request and collects
the frames that answer it: before sending it discards unread bytes (so a late reply to an earlier request is
never taken as this answer), feeds what arrives to the framing family's assembler, keeps the frames
``expect`` accepts and returns once ``expect`` is complete — or raises :class:`DeviceTimeout`. One request at a
time per link: a bus shared by several packs is serialised by a lock. What arrives while no exchange reads is
kept only up to ``receive_limit`` bytes (the oldest go first, counted in ``bytes_dropped``): a flooding bridge
cannot grow memory between polls.

Late replies: draining only removes what arrived *before* the request. A device that answers a timed-out request
late enough for its reply to arrive *after* the next request went out would have that stale reply taken for the
new answer when the command is the same (nothing in the frames of most BMS protocols tells the two apart). So the
link remembers the requests whose exchange did not complete (timeout, lost connection, cancelled) and when each
was sent. Sending such a request again (policy ``flush``, the default):

1. waits until ``late_reply_horizon`` (twice the timeout) has passed since the unanswered one went out, so a reply
   that is merely slow arrives before the drain and is dropped — waiting at most ``late_reply_guard`` (0.25 s), and
   not at all when polls are further apart than the horizon or when the caller cancelled the exchange (a poller with
   a short budget for a pack it believes absent would be cancelled again);
2. sends the request once as a *flush* and throws away whatever answers it (up to the first complete answer and a
   short guard): a reply the device or a bridge held back until the next request comes out here;
3. sends it again and returns that answer.

A late reply then needs a third fault in a row to be taken for an answer (or a reply later than the horizon that
also beats a fresh answer); the price is one extra round trip, paid only after a failed exchange.
Other requests are not delayed (a late reply to another command or pack is rejected by ``expect.match``), except
those that share the unanswered one's ``expect.answer_key``: requests whose replies cannot be told apart (the same
record type asked for different packs, when the reply does not name the pack) are one request here. What remains out
of reach are protocols whose replies do not say which command they answer (some ASCII protocols carry no command code
in their replies: only the address and the decoder's length checks guard there).
"""

from __future__ import annotations

import abc
import asyncio
import collections
import logging
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Literal

from ..closing import AsyncClosing
from ..errors import DeviceTimeout, TransportError, UnsupportedError
from ..framing import Expect, Frame, FrameAssembler
from ..kinds import LinkKind
from ._inbox import DEFAULT_RECEIVE_LIMIT, Inbox

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0

#: How long an exchange repeating an unfinished request listens for a second answer (capped at the link's timeout).
DEFAULT_LATE_REPLY_GUARD = 0.25
#: Shortest guard, whatever the measured latency.
_MIN_GUARD = 0.02
#: How many unfinished requests a link remembers.
_UNSETTLED_KEPT = 8

LateReplyPolicy = Literal["flush", "off"]


class Link(AsyncClosing):
    """A connection to one device or bus: what every link offers, whatever it moves.

    ``tap``, when set, sees the raw traffic: ``tap("tx" | "rx", data)`` for every piece of bytes sent or received
    (``bmsgw capture`` and Home Assistant's diagnostics record through it). Every link honours it, and keeps the
    statistics ``connected``, ``timeout``, ``bytes_sent``, ``bytes_received`` and ``bytes_dropped``.
    """

    kind: LinkKind
    #: Optional observer of raw traffic (``None``: nobody listens).
    tap: Callable[[str, bytes], None] | None = None
    #: Default per-request timeout (seconds).
    timeout: float = DEFAULT_TIMEOUT
    #: Bytes written to and received from the device so far (statistics for diagnostics).
    bytes_sent: int = 0
    bytes_received: int = 0

    @property
    def connected(self) -> bool:
        """Whether the underlying connection is open now (links that connect say so; a wrapper asks its link)."""
        return False

    @property
    def bytes_dropped(self) -> int:
        """Received bytes thrown away unread because too many waited (0 for links that never drop any)."""
        return 0

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """Where this link goes, as a URL-like string (``tcp://host:port``, ``serial:///dev/ttyUSB0``)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the connection; the next request reconnects."""


class ByteLink(Link):
    """A link that moves frames: the contract of TCP, serial and BLE links (and of wrappers around them)."""

    @abc.abstractmethod
    async def exchange(self, request: bytes, expect: Expect) -> list[Frame]:
        """Send ``request`` and return the frames that answer it."""


class RegisterLink(Link):
    """A link that moves registers (Modbus): holding-register reads and writes addressed to a unit."""

    @abc.abstractmethod
    async def read_registers(
        self, unit: int, address: int, count: int, *, reply_timeout: float | None = None
    ) -> list[int]:
        """Read ``count`` holding registers from ``address`` of ``unit``."""

    @abc.abstractmethod
    async def write_registers(
        self, unit: int, address: int, values: Sequence[int], *, reply_timeout: float | None = None
    ) -> None:
        """Write ``values`` to consecutive holding registers from ``address`` of ``unit``."""


def as_byte_link(link: Link) -> ByteLink:
    """``link`` as a byte link, for a session that exchanges frames; :class:`UnsupportedError` for any other link."""
    if isinstance(link, ByteLink):
        return link
    raise UnsupportedError(f"{link.description} is a {link.kind} link: this protocol exchanges frames, not registers")


def as_register_link(link: Link) -> RegisterLink:
    """``link`` as a register link, for a session that reads registers; :class:`UnsupportedError` otherwise."""
    if isinstance(link, RegisterLink):
        return link
    raise UnsupportedError(f"{link.description} is not a Modbus link: this protocol reads registers")


class BufferedByteLink(ByteLink):
    """Shared exchange logic for links that receive a byte stream (TCP, serial, BLE notifications).

    Subclasses implement ``_connect``, ``_write``, ``_disconnect`` and ``connected``, and call
    :meth:`_on_data` with every received chunk and :meth:`_on_lost` when the connection drops.
    """

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Set the default per-exchange timeout (seconds)."""
        self.timeout = timeout
        #: Longest wait for a stale answer's successor (seconds); 0 turns the late-reply protection off.
        self.late_reply_guard = DEFAULT_LATE_REPLY_GUARD
        #: ``flush`` (default) or ``off`` (no late-reply protection: only for measuring what it prevents).
        self.late_reply_policy: LateReplyPolicy = "flush"
        #: Seconds after an unanswered request before it is sent again (``None``: twice the timeout).
        self.late_reply_horizon: float | None = None
        #: What the protection cost so far: flush exchanges sent, seconds waited for the horizon.
        self.late_reply_flushes = 0
        self.late_reply_waited = 0.0
        #: Recent requests whose exchange ended without an answer (a reply may be late), each with the time until
        #: which a slow reply may still arrive (0: the caller cancelled; no wait, the flush only).
        self._unsettled: collections.OrderedDict[Hashable, float] = collections.OrderedDict()
        self._sent_at: float | None = None
        #: Smoothed time from request to complete answer (seconds; ``None`` until one was measured).
        self._latency: float | None = None
        self._lock = asyncio.Lock()
        self._chunks = Inbox(DEFAULT_RECEIVE_LIMIT)
        self.bytes_sent = 0
        self.bytes_received = 0

    @property
    def receive_limit(self) -> int:
        """Most received bytes kept while no exchange reads them; older bytes beyond it are dropped."""
        return self._chunks.limit

    @receive_limit.setter
    def receive_limit(self, limit: int) -> None:
        self._chunks.limit = limit

    @property
    def bytes_dropped(self) -> int:
        """Received bytes dropped because more than ``receive_limit`` waited unread (a flooding bridge)."""
        return self._chunks.dropped

    # --- subclass hooks ------------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def connected(self) -> bool:
        """Whether the underlying connection is open."""

    @abc.abstractmethod
    async def _connect(self) -> None:
        """Open the underlying connection (raise :class:`TransportError` on failure)."""

    @abc.abstractmethod
    async def _write(self, data: bytes) -> None:
        """Write ``data`` to the device."""

    @abc.abstractmethod
    async def _disconnect(self) -> None:
        """Close the underlying connection (must not raise)."""

    def _on_data(self, data: bytes) -> None:
        """Receive a chunk from the transport (call from the transport's callback)."""
        if data:
            self.bytes_received += len(data)
            if self.tap is not None:
                self.tap("rx", bytes(data))
            self._chunks.put(bytes(data))

    def _on_lost(self, exc: BaseException | None) -> None:
        """Note that the connection dropped (call from the transport's callback).

        ``connected`` must already be False when this is called: a connect drains queued items, including this one.
        """
        self._chunks.put(TransportError(f"{self.description}: connection lost{f': {exc}' if exc else ''}"))

    # --- the mechanism -------------------------------------------------------------------------
    def _drain(self) -> int:
        """Discard everything received but not read; return how many bytes were dropped."""
        return self._chunks.drain()

    async def exchange(self, request: bytes, expect: Expect) -> list[Frame]:
        """Send ``request``; collect the frames ``expect`` accepts until it is complete."""
        async with self._lock:
            quiet_at = self._unsettled.get(expect.settle_key(request))
            if quiet_at is None or self.late_reply_guard <= 0 or self.late_reply_policy == "off":
                return await self._settling(request, expect)
            await self._outwait(quiet_at)
            await self._flush(request, expect)
            return await self._settling(request, expect)

    async def _settling(self, request: bytes, expect: Expect) -> list[Frame]:
        """One exchange: an answer settles ``request``, no answer marks it unsettled (its reply may come late)."""
        self._sent_at = None
        try:
            frames, _, _ = await self._exchange(request, expect)
        except BaseException as err:
            self._unanswered(expect.settle_key(request), err)
            raise
        self._unsettled.pop(expect.settle_key(request), None)
        return frames

    def _unanswered(self, request: Hashable, err: BaseException) -> None:
        """Remember that ``request`` went out and got no answer, and until when a slow reply may arrive.

        A caller that cancelled the exchange (a poller's short budget for a pack it believes absent) will come back
        with the same budget: waiting out the horizon then would cancel every attempt, so only the flush applies.
        """
        if self._sent_at is None:  # never sent (no connection): nothing can come back
            return
        horizon = self.late_reply_horizon if self.late_reply_horizon is not None else 2 * self.timeout
        quiet_at = 0.0 if isinstance(err, asyncio.CancelledError) else self._sent_at + horizon
        self._unsettled[request] = quiet_at
        self._unsettled.move_to_end(request)
        while len(self._unsettled) > _UNSETTLED_KEPT:
            self._unsettled.popitem(last=False)

    async def _outwait(self, quiet_at: float) -> None:
        """Let a slow reply to the unanswered request arrive (it is drained before sending) — the horizon.

        At most ``late_reply_guard`` seconds: a caller with a short budget (a poller retrying a pack it believes
        absent) must still get its answer. A repeat sent right after a timeout thus waits for replies up to the timeout
        plus the guard after the unanswered request; polls further apart than the horizon never wait.
        """
        remaining = min(quiet_at - time.monotonic(), self.late_reply_guard)
        if remaining > 0:
            self.late_reply_waited += remaining
            await asyncio.sleep(remaining)

    async def _flush(self, request: bytes, expect: Expect) -> None:
        """Send ``request`` once and throw its answer(s) away.

        A reply a device (or bridge) holds back until the next request comes out here, before this request's own
        answer, and is never taken for the answer of the exchange that follows.
        """
        self.late_reply_flushes += 1
        self._sent_at = None
        try:
            _, assembler, _ = await self._exchange(request, expect)
        except BaseException as err:
            self._unanswered(expect.settle_key(request), err)
            raise
        await self._linger(assembler, self._guard_seconds())

    def _guard_seconds(self) -> float:
        """How long to listen for a second answer: about three usual answer latencies, within the limits."""
        guard = min(self.late_reply_guard, self.timeout)
        if self._latency is not None:  # a genuine answer follows a stale one after about the usual latency
            guard = min(guard, max(_MIN_GUARD, 3 * self._latency))
        return guard

    async def _linger(self, assembler: FrameAssembler, seconds: float) -> None:
        """Read (and discard) whatever arrives during ``seconds``; a lost connection ends it."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                item = await asyncio.wait_for(self._chunks.get(), remaining)
            except TimeoutError:
                return
            if isinstance(item, BaseException):
                await self._disconnect()
                return
            assembler.feed(item)

    async def _exchange(self, request: bytes, expect: Expect) -> tuple[list[Frame], FrameAssembler, list[Frame]]:
        """One exchange, the lock held: the answer, its assembler, and accepted frames that came after it."""
        if not self.connected:
            self._drain()
            await self._connect()
            await asyncio.sleep(0)  # let bytes a bridge sends on connect arrive, so the drain below drops them
        stale = self._drain()
        if stale:
            _LOGGER.debug("%s: discarded %d stale bytes before sending", self.description, stale)
        assembler = expect.assembler()
        if self.tap is not None:
            self.tap("tx", request)
        try:
            await self._write(request)
        except TransportError:
            await self._disconnect()
            raise
        except Exception as err:
            await self._disconnect()
            raise TransportError(f"{self.description}: write failed: {err}") from err
        self.bytes_sent += len(request)
        self._sent_at = time.monotonic()
        timeout = expect.timeout if expect.timeout is not None else self.timeout
        sent = time.monotonic()
        deadline = sent + timeout
        frames: list[Frame] = []
        overflow: list[Frame] = []
        while not expect.complete(frames):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout(
                    f"{self.description}: no complete answer to {request[:8].hex()}… within {timeout:g} s"
                    f" ({len(frames)} frame(s) received)"
                )
            try:
                item = await asyncio.wait_for(self._chunks.get(), remaining)
            except TimeoutError:
                continue
            if isinstance(item, BaseException):
                await self._disconnect()
                if isinstance(item, TransportError):
                    raise item
                raise TransportError(f"{self.description}: {item}") from item
            for frame in assembler.feed(item):
                if expect.accepts(frame):
                    (overflow if expect.complete(frames) else frames).append(frame)
        took = time.monotonic() - sent
        self._latency = took if self._latency is None else 0.8 * self._latency + 0.2 * took
        return frames, assembler, overflow

    async def close(self) -> None:
        """Close the connection (idempotent); a pending exchange ends at once with :class:`TransportError`."""
        if self._lock.locked():
            self._chunks.put(TransportError(f"{self.description}: link closed"))
        async with self._lock:
            await self._disconnect()
            self._drain()

"""The link contract and the request/response mechanism shared by every byte link (TCP, serial, BLE).

A link moves bytes and knows nothing about vendors. ``exchange(request, expect)`` sends one request and collects
the frames that answer it: before sending it discards unread bytes (so a late reply to an earlier request is
never taken as this answer), feeds what arrives to the framing family's assembler, keeps the frames
``expect`` accepts and returns once ``expect`` is complete — or raises :class:`DeviceTimeout`. One request at a
time per link: a bus shared by several packs is serialised by a lock.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Callable
from typing import Self

from ..errors import DeviceTimeout, TransportError
from ..framing import Expect, Frame
from ..plugin import LinkKind

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0


class Link(abc.ABC):
    """A connection to one device or bus."""

    kind: LinkKind

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """Where this link goes, as a URL-like string (``tcp://host:port``, ``serial:///dev/ttyUSB0``)."""

    @abc.abstractmethod
    async def exchange(self, request: bytes, expect: Expect) -> list[Frame]:
        """Send ``request`` and return the frames that answer it."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the connection; the next exchange reconnects."""

    async def __aenter__(self) -> Self:
        """Use the link as an async context manager (closed on exit)."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close on exit."""
        await self.close()


class ByteLink(Link):
    """Shared exchange logic for links that receive a byte stream (TCP, serial, BLE notifications).

    Subclasses implement ``_connect``, ``_write``, ``_disconnect`` and ``connected``, and call
    :meth:`_on_data` with every received chunk and :meth:`_on_lost` when the connection drops.
    """

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Set the default per-exchange timeout (seconds)."""
        self.timeout = timeout
        self._lock = asyncio.Lock()
        self._chunks: asyncio.Queue[bytes | BaseException] = asyncio.Queue()
        self.bytes_sent = 0
        self.bytes_received = 0
        #: Optional observer of raw traffic: ``tap("tx" | "rx", data)`` (``bmsgw capture`` records through it).
        self.tap: Callable[[str, bytes], None] | None = None

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
            self._chunks.put_nowait(bytes(data))

    def _on_lost(self, exc: BaseException | None) -> None:
        """Note that the connection dropped (call from the transport's callback).

        ``connected`` must already be False when this is called: a connect drains queued items, including this one.
        """
        self._chunks.put_nowait(TransportError(f"{self.description}: connection lost{f': {exc}' if exc else ''}"))

    # --- the mechanism -------------------------------------------------------------------------
    def _drain(self) -> int:
        """Discard everything received but not read; return how many bytes were dropped."""
        dropped = 0
        while not self._chunks.empty():
            item = self._chunks.get_nowait()
            if isinstance(item, bytes):
                dropped += len(item)
        return dropped

    async def exchange(self, request: bytes, expect: Expect) -> list[Frame]:
        """Send ``request``; collect the frames ``expect`` accepts until it is complete."""
        async with self._lock:
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
            timeout = expect.timeout if expect.timeout is not None else self.timeout
            deadline = time.monotonic() + timeout
            frames: list[Frame] = []
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
                    if expect.accepts(frame) and not expect.complete(frames):
                        frames.append(frame)
            return frames

    async def close(self) -> None:
        """Close the connection (idempotent); a pending exchange ends at once with :class:`TransportError`."""
        if self._lock.locked():
            self._chunks.put_nowait(TransportError(f"{self.description}: link closed"))
        async with self._lock:
            await self._disconnect()
            self._drain()

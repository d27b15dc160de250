"""The receive buffer of a byte link: chunks waiting for an exchange, bounded in bytes.

A bridge or device may keep sending while nobody asks (a flood, a chatty bus, a stuck bridge). Whatever arrives
while no exchange reads is only kept up to ``limit`` bytes: beyond it the *oldest* bytes are dropped (and counted),
so the most recent bytes — a late reply the next exchange's flush must see — are still there. Putting never blocks
and costs at most one slice of ``limit`` bytes, so a flood cannot grow memory or stall the event loop. Markers
(an exception for a lost or closed connection) are never dropped.
"""

from __future__ import annotations

import asyncio
import collections

#: Default bound on received bytes kept for the next read (far above any answer a BMS sends).
DEFAULT_RECEIVE_LIMIT = 64 * 1024


class Inbox:
    """A FIFO of received chunks and connection markers, at most ``limit`` bytes of chunks."""

    def __init__(self, limit: int = DEFAULT_RECEIVE_LIMIT) -> None:
        """Start empty."""
        self.limit = limit
        #: Bytes dropped because more than ``limit`` waited.
        self.dropped = 0
        self._items: collections.deque[bytes | BaseException] = collections.deque()
        self._bytes = 0
        self._ready = asyncio.Event()

    def put(self, item: bytes | BaseException) -> None:
        """Queue a chunk or a marker; drop the oldest bytes beyond the limit. Never blocks."""
        self._items.append(item)
        if isinstance(item, bytes):
            self._bytes += len(item)
            if self._bytes > self.limit:
                self._trim(self._bytes - max(self.limit, 0))
        self._ready.set()

    def _trim(self, excess: int) -> None:
        """Drop ``excess`` bytes from the oldest chunks (markers stay in place)."""
        index = 0
        while excess > 0 and index < len(self._items):
            item = self._items[index]
            if not isinstance(item, bytes):
                index += 1
            elif len(item) <= excess:
                del self._items[index]
                excess -= len(item)
                self._bytes -= len(item)
                self.dropped += len(item)
            else:
                self._items[index] = item[excess:]
                self._bytes -= excess
                self.dropped += excess
                excess = 0

    def empty(self) -> bool:
        """Whether nothing waits."""
        return not self._items

    def get_nowait(self) -> bytes | BaseException:
        """The oldest item (``IndexError`` when empty)."""
        item = self._items.popleft()
        if isinstance(item, bytes):
            self._bytes -= len(item)
        if not self._items:
            self._ready.clear()
        return item

    async def get(self) -> bytes | BaseException:
        """The oldest item, waiting for one (cancellable without losing anything)."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self.get_nowait()

    def drain(self) -> int:
        """Discard everything waiting; return how many bytes were discarded (markers go too)."""
        dropped = self._bytes
        self._items.clear()
        self._bytes = 0
        self._ready.clear()
        return dropped

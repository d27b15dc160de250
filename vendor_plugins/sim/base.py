"""The simulator contract shared by every vendor.

A simulator is sans-IO like a codec: ``handle(request) -> response | None`` over a battery state. It generates
every response from that state (no table of canned replies). ``request_assembler()`` tells a server how to cut
the incoming byte stream into requests. ``advance(seconds)`` moves the simulated battery on in time (current
flowing, SoC changing) so a watched simulator looks alive; it is a no-op unless the simulator is "live".

:class:`RequestLog` is the bounded list simulators and fake clients keep of what they saw (tests read it like a
list; a long run keeps only the most recent entries).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import SupportsIndex

from ..framing import FrameAssembler

#: Entries a :class:`RequestLog` keeps by default.
DEFAULT_LOG_SIZE = 1000


class RequestLog(list[bytes]):
    """A list of the most recent ``maxlen`` entries: older ones are dropped (in batches, so appending stays O(1)).

    It stays a real ``list`` (``==``, slicing, ``len`` as tests expect); :attr:`total` counts every entry ever
    added. Between trims it may hold up to twice ``maxlen`` entries.
    """

    def __init__(self, items: Iterable[bytes] = (), *, maxlen: int = DEFAULT_LOG_SIZE) -> None:
        """Start with ``items`` (trimmed to the most recent ``maxlen``)."""
        if maxlen < 1:
            raise ValueError(f"maxlen must be positive, got {maxlen}")
        super().__init__(items)
        self.maxlen = maxlen
        self.total = len(self)
        self._trim()

    def _trim(self) -> None:
        if len(self) > 2 * self.maxlen:
            del self[: len(self) - self.maxlen]

    def append(self, item: bytes) -> None:
        """Add one entry (the oldest are dropped once there are too many)."""
        super().append(item)
        self.total += 1
        self._trim()

    def extend(self, items: Iterable[bytes]) -> None:
        """Add several entries."""
        before = len(self)
        super().extend(items)
        self.total += len(self) - before
        self._trim()

    def insert(self, index: SupportsIndex, item: bytes) -> None:
        """Insert one entry (counted like an append)."""
        super().insert(index, item)
        self.total += 1
        self._trim()


class Simulator(abc.ABC):
    """A virtual BMS."""

    #: Plugin name this simulator impersonates.
    vendor: str

    @abc.abstractmethod
    def request_assembler(self) -> FrameAssembler:
        """An assembler that yields complete, valid request frames from a byte stream."""

    @abc.abstractmethod
    def handle(self, request: bytes) -> bytes | None:
        """Answer one complete request frame; ``None`` when the device would stay silent."""

    def advance(self, seconds: float) -> None:  # noqa: B027 - optional hook
        """Move the simulated battery ``seconds`` forward in time (default: a static battery)."""

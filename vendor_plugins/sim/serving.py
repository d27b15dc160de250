"""The part every simulator server shares: turning received chunks into reply bytes.

A :class:`SimEndpoint` cuts the incoming byte stream into request frames with the simulator's own
``request_assembler()``, moves the simulated batteries forward by the time since the previous request
(``advance``), hands each request's raw bytes to every simulator on the bus and concatenates the answers of those
that speak, in bus order. TCP, pty and fake-BLE servers only move bytes in and out of it.

Several simulators form a multi-address RS485 bus: all of them see every request and only the addressed one(s)
answer. They must share one framing (the first simulator's assembler cuts the stream).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from ..framing import FrameAssembler
from .base import Simulator

_LOGGER = logging.getLogger(__name__)

#: One simulator, or the simulators of a multi-address bus in bus order.
Simulators = Simulator | Sequence[Simulator]


def as_bus(simulators: Simulators) -> tuple[Simulator, ...]:
    """Normalise one simulator or a sequence of them into a non-empty tuple."""
    bus = (simulators,) if isinstance(simulators, Simulator) else tuple(simulators)
    if not bus:
        raise ValueError("at least one simulator is needed")
    return bus


class _Timeline:
    """When the bus last saw a request; shared by every connection to the same simulators."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.last = clock()

    def elapsed(self) -> float:
        """Seconds since the previous request (or since the server started); restarts the count."""
        now = self.clock()
        elapsed, self.last = max(0.0, now - self.last), now
        return elapsed


class SimEndpoint:
    """Request assembly and answering for one connection to a simulator (or a bus of them)."""

    def __init__(
        self,
        simulators: Simulators,
        *,
        clock: Callable[[], float] = time.monotonic,
        _timeline: _Timeline | None = None,
    ) -> None:
        """Serve ``simulators``; ``clock`` (monotonic seconds) drives ``advance``."""
        self.simulators = as_bus(simulators)
        self._timeline = _timeline if _timeline is not None else _Timeline(clock)
        self._assembler: FrameAssembler = self.simulators[0].request_assembler()
        self.requests = 0

    def fork(self) -> SimEndpoint:
        """A new endpoint for another connection: same simulators and clock, its own request assembler."""
        return SimEndpoint(self.simulators, _timeline=self._timeline)

    def reset(self) -> None:
        """Forget a partly received request (a new connection on the same endpoint)."""
        self._assembler = self.simulators[0].request_assembler()

    def answer(self, request: bytes) -> bytes:
        """Answer one complete request frame: advance time, then collect every simulator's answer in order."""
        self.requests += 1
        elapsed = self._timeline.elapsed()
        out = bytearray()
        for sim in self.simulators:
            try:
                sim.advance(elapsed)
                reply = sim.handle(request)
            except Exception:
                _LOGGER.exception("simulator %r failed on request %s; staying silent", sim, request.hex())
                continue
            if reply:
                out += reply
        return bytes(out)

    def feed(self, chunk: bytes) -> bytes:
        """Take a received chunk; return the reply bytes for every request it completed (maybe ``b""``)."""
        out = bytearray()
        for frame in self._assembler.feed(chunk):
            out += self.answer(frame.raw)
        return bytes(out)

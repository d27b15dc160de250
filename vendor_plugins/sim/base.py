"""The simulator contract shared by every vendor.

A simulator is sans-IO like a codec: ``handle(request) -> response | None`` over a battery state. It generates
every response from that state (no table of canned replies). ``request_assembler()`` tells a server how to cut
the incoming byte stream into requests. ``advance(seconds)`` moves the simulated battery on in time (current
flowing, SoC changing) so a watched simulator looks alive; it is a no-op unless the simulator is "live".
"""

from __future__ import annotations

import abc

from ..framing import FrameAssembler


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

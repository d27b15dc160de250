"""A tiny test-only line protocol, its assemblers and simulator, so link tests do not depend on any vendor.

Request: ``b"Q" + id + b"\\n"`` (3 bytes). Answer: ``b"A" + id + len + payload + b"\\n"`` (``len`` bytes of
payload, 0 by default), so replies of any size can be produced (BLE chunking, baud pacing).
"""

from __future__ import annotations

from collections.abc import Iterable

from vendor_plugins.errors import FrameError
from vendor_plugins.framing import Expect, Frame, FrameAssembler
from vendor_plugins.plugin import BleProfile, uuid16
from vendor_plugins.sim.base import Simulator


class LineAssembler(FrameAssembler):
    """Cuts ``Q`` requests (``lead=b"Q"``) or ``A`` answers (``lead=b"A"``) out of a byte stream."""

    def __init__(self, lead: bytes) -> None:
        """Assemble frames starting with ``lead``."""
        super().__init__()
        self.lead = lead

    def next_start(self, buf: bytearray, pos: int) -> int:
        """Next lead byte."""
        return buf.find(self.lead, pos)

    def frame_length(self, buf: bytearray, start: int) -> int | None:
        """3 for requests; 4 + payload length for answers."""
        if self.lead == b"Q":
            return 3
        if len(buf) - start < 3:
            return None
        return 4 + buf[start + 2]

    def parse(self, raw: bytes) -> Frame:
        """Check the terminator and split id and payload."""
        if raw[-1:] != b"\n":
            raise FrameError(f"no terminator in {raw.hex()}")
        payload = raw[3:-1] if self.lead == b"A" else b""
        return Frame(command=raw[0], payload=payload, raw=raw, address=raw[1])


def request(ident: int) -> bytes:
    """The request for ``ident``."""
    return bytes([0x51, ident, 0x0A])


def answer(ident: int, payload: bytes = b"") -> bytes:
    """The answer for ``ident``."""
    return bytes([0x41, ident, len(payload)]) + payload + b"\n"


def expect(ident: int | None = None, *, timeout: float | None = 0.3, count: int = 1) -> Expect:
    """Wait for answers (to ``ident`` when given; any answer otherwise)."""
    match = None if ident is None else (lambda f: f.address == ident)
    return Expect(assembler=lambda: LineAssembler(b"A"), count=count, match=match, timeout=timeout)


class LineSim(Simulator):
    """Answers every request with ``A id``; silent for ids in ``silent`` or not its own ``address``."""

    vendor = "line-test"

    def __init__(self, *, address: int | None = None, silent: Iterable[int] = (), reply_size: int = 0) -> None:
        """``address`` makes it one pack on a bus; ``reply_size`` pads every answer with payload bytes."""
        self.address = address
        self.silent = set(silent)
        self.reply_size = reply_size
        self.handled: list[bytes] = []
        self.advanced: list[float] = []

    def request_assembler(self) -> FrameAssembler:
        """Requests are ``Q`` frames."""
        return LineAssembler(b"Q")

    def handle(self, request: bytes) -> bytes | None:
        """Answer unless silenced or addressed to another pack."""
        self.handled.append(request)
        ident = request[1]
        if ident in self.silent or (self.address is not None and ident != self.address):
            return None
        return answer(ident, bytes((ident + i) & 0xFF for i in range(self.reply_size)))

    def advance(self, seconds: float) -> None:
        """Record the time steps."""
        self.advanced.append(seconds)


PROFILE = BleProfile(service_uuid=uuid16(0xFF00), notify_uuid=uuid16(0xFF01), write_uuid=uuid16(0xFF02))

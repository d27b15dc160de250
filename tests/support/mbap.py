"""A Modbus-TCP face for Modbus RTU simulators, and the RTU frames the rigs and their tests build.

:class:`MbapBridge` puts a bus of sans-IO Modbus RTU simulators (any plugin's, one per unit) behind Modbus-TCP
framing (MBAP header): each request is translated to RTU, answered by the unit it addresses, and the answer sent back
with the request's transaction id. Served by the faulty TCP server (:mod:`.faults`) it is a misbehaving Modbus-TCP
device; the simulators inside still see (and a :class:`~.truth.TruthRecorder` still records) plain RTU frames.
:func:`read_request` is the RTU request :mod:`.modbus_replay` looks recorded replies up by.
"""

from __future__ import annotations

from collections.abc import Sequence

from vendor_plugins.crc import crc16_modbus
from vendor_plugins.errors import FrameError
from vendor_plugins.framing import Frame, FrameAssembler
from vendor_plugins.sim.base import Simulator

_MBAP_HEADER = 7
#: Function code of a holding-register read.
READ_HOLDING = 0x03


def rtu(unit: int, pdu: bytes) -> bytes:
    """An RTU frame: unit, PDU, CRC (little-endian)."""
    body = bytes((unit,)) + pdu
    return body + crc16_modbus(body).to_bytes(2, "little")


def read_request(unit: int, first: int, count: int) -> bytes:
    """The RTU bytes of an FC 0x03 read (what pymodbus sends for ``read_holding_registers``)."""
    return rtu(unit, bytes((READ_HOLDING,)) + first.to_bytes(2, "big") + count.to_bytes(2, "big"))


class MbapAssembler(FrameAssembler):
    """Cuts Modbus-TCP (MBAP) frames out of a byte stream."""

    def next_start(self, buf: bytearray, pos: int) -> int:
        """Any byte may start a frame (MBAP has no start marker)."""
        return pos if pos < len(buf) else -1

    def frame_length(self, buf: bytearray, start: int) -> int | None:
        """6 header bytes plus the length field."""
        if len(buf) - start < 6:
            return None
        if buf[start + 2 : start + 4] != b"\x00\x00":
            raise FrameError("MBAP protocol id is not 0")
        length = int.from_bytes(buf[start + 4 : start + 6], "big")
        if not 2 <= length <= 254:
            raise FrameError(f"MBAP length {length} out of range")
        return 6 + length

    def parse(self, raw: bytes) -> Frame:
        """``address`` = unit, ``command`` = function code."""
        return Frame(command=raw[7], payload=bytes(raw[7:]), raw=bytes(raw), address=raw[6])


class MbapBridge(Simulator):
    """RTU simulators (one per unit) answering Modbus-TCP requests."""

    def __init__(self, simulators: Sequence[Simulator]) -> None:
        """Serve ``simulators`` (each answers its own unit and stays silent for others)."""
        if not simulators:
            raise ValueError("at least one simulator is needed")
        self.simulators = list(simulators)
        self.vendor = self.simulators[0].vendor

    def request_assembler(self) -> FrameAssembler:
        """MBAP frames."""
        return MbapAssembler()

    def advance(self, seconds: float) -> None:
        """Move every simulator on."""
        for sim in self.simulators:
            sim.advance(seconds)

    def handle(self, request: bytes) -> bytes | None:
        """Translate to RTU, let the bus answer, translate back (silence stays silence)."""
        if len(request) < _MBAP_HEADER + 1:
            return None
        transaction, unit, pdu = request[:2], request[6], request[_MBAP_HEADER:]
        frame = rtu(unit, pdu)
        for sim in self.simulators:
            reply = sim.handle(frame)
            if reply and len(reply) >= 4:
                body = reply[:-2]
                return transaction + b"\x00\x00" + len(body).to_bytes(2, "big") + body
        return None

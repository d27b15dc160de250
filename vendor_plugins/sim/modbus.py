"""Modbus pieces for the reliability rigs: a Modbus-TCP face for RTU simulators, and a register-level replay link.

* :class:`MbapBridge` puts a bus of sans-IO Modbus RTU simulators (e.g.
  :class:`~vendor_plugins.pace.simulator_modbus.PaceRtuSimulator`) behind Modbus-TCP framing (MBAP header): each request
  is translated to RTU, answered by the unit it addresses, and the answer sent back with the request's transaction
  id. Served by the faulty TCP server it is a misbehaving Modbus-TCP device; the simulators inside still see (and a
  :class:`~.truth.TruthRecorder` still records) plain RTU frames.
* :class:`ReplayModbusLink` answers ``read_registers`` from recorded RTU ``(request, reply)`` pairs, like
  :class:`~.truth.ReplayLink` does for byte links, so the truth check can rebuild a Modbus session's snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..crc import crc16_modbus
from ..errors import AddressError, ChecksumError, DeviceError, DeviceTimeout, FrameError, UnsupportedError
from ..framing import Frame, FrameAssembler
from ..transports.modbus import EXCEPTION_TEXT, ModbusLink, ModbusMode
from .base import Simulator
from .truth import ReplayLink

_MBAP_HEADER = 7
_READ = 0x03


def rtu(unit: int, pdu: bytes) -> bytes:
    """An RTU frame: unit, PDU, CRC (little-endian)."""
    body = bytes((unit,)) + pdu
    return body + crc16_modbus(body).to_bytes(2, "little")


def read_request(unit: int, first: int, count: int) -> bytes:
    """The RTU bytes of an FC 0x03 read (what pymodbus sends for ``read_holding_registers``)."""
    return rtu(unit, bytes((_READ,)) + first.to_bytes(2, "big") + count.to_bytes(2, "big"))


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


class ReplayModbusLink(ModbusLink):
    """A Modbus link whose units answer from recorded RTU replies chosen by a :class:`~.truth.ReplayLink`."""

    def __init__(self, replay: ReplayLink) -> None:
        """Answer ``read_registers`` with ``replay``'s chosen recorded replies."""
        super().__init__(ModbusMode.RTU, "replay")
        self.replay = replay

    @property
    def description(self) -> str:
        """``replay://``."""
        return "replay://"

    async def read_registers(
        self, unit: int, address: int, count: int, *, reply_timeout: float | None = None
    ) -> list[int]:
        """The registers of the chosen recorded reply to this read (errors as the real link raises them)."""
        request = read_request(unit, address, count)
        options = self.replay.answers.get(request)
        index = self.replay.choice.get(request, 0)
        if not options or index >= len(options):
            raise DeviceTimeout(f"replay: no answer from unit {unit}")
        reply = options[index]
        if len(reply) < 5 or int.from_bytes(reply[-2:], "little") != crc16_modbus(reply[:-2]):
            raise ChecksumError("replay: bad CRC")
        if reply[0] != unit:
            raise AddressError(f"replay: answer from unit {reply[0]}")
        what = f"read {count} register(s) at {address}"
        if reply[1] == _READ | 0x80:
            code = reply[2]
            raise DeviceError(
                f"{self.description}: unit {unit} answered {what} with exception {code}"
                f" ({EXCEPTION_TEXT.get(code, 'unknown')})"
            )
        data = reply[3:-2]
        if reply[1] != _READ or len(data) != 2 * count:
            raise FrameError(f"replay: {what}: unexpected answer")
        return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]

    async def write_registers(
        self, unit: int, address: int, values: Sequence[int], *, reply_timeout: float | None = None
    ) -> None:
        """Writes are never replayed."""
        raise UnsupportedError("replay: writes are not recorded")

    async def close(self) -> None:
        """Nothing to close."""

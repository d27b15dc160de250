"""The ACME wire protocol, sans-IO: a framed request/response with an 8-bit checksum.

Every frame, request or answer: ``0xA7 | command | length | payload (length bytes) | checksum`` where the checksum
is the sum of every byte before it, modulo 256. An answer carries the request's command with bit 7 set.

* ``0x01`` status (no payload) → voltage (u16, 10 mV), current (s16, 10 mA, + charging), SoC (u8, %), cycles
  (u16), flags (u8: bit 0 charge MOSFET on, bit 1 discharge MOSFET on, bit 2 cell overvoltage), cell count (u8) and
  that many cell voltages (u16, mV), temperature count (u8) and that many temperatures (s16, 0.1 °C).
* ``0x02`` info (no payload) → the model name (ASCII).
* ``0x10`` set MOSFETs (payload: the flags byte, bits 0-1) → the same flags, echoed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vendor_plugins.errors import AddressError, ChecksumError, FrameError
from vendor_plugins.framing import Frame, FrameAssembler
from vendor_plugins.model import Alarm, BmsSnapshot, Temperature, TemperatureKind

START = 0xA7
CMD_STATUS = 0x01
CMD_INFO = 0x02
CMD_SET_FETS = 0x10
ANSWER = 0x80

FLAG_CHARGE = 0x01
FLAG_DISCHARGE = 0x02
FLAG_CELL_OVERVOLTAGE = 0x04
#: What the flags byte can say about alarms.
ALARM_FLAGS = {FLAG_CELL_OVERVOLTAGE: Alarm.CELL_OVERVOLTAGE}
#: Most cells a pack may report.
MAX_CELLS = 32

_HEADER = 3  # start, command, length


def checksum(data: bytes) -> int:
    """The 8-bit sum of ``data``."""
    return sum(data) & 0xFF


def build(command: int, payload: bytes = b"") -> bytes:
    """One frame."""
    if len(payload) > 0xFF:
        raise FrameError(f"payload of {len(payload)} bytes does not fit one frame")
    body = bytes((START, command, len(payload))) + payload
    return body + bytes((checksum(body),))


def parse_frame(raw: bytes) -> Frame:
    """Strictly parse one complete frame (:class:`ChecksumError` / :class:`FrameError` otherwise)."""
    if len(raw) < _HEADER + 1 or raw[0] != START:
        raise FrameError("not an ACME frame")
    if len(raw) != _HEADER + raw[2] + 1:
        raise FrameError(f"frame of {len(raw)} bytes, length byte says {raw[2]}")
    if checksum(raw[:-1]) != raw[-1]:
        raise ChecksumError("ACME checksum mismatch")
    return Frame(command=raw[1], payload=bytes(raw[_HEADER:-1]), raw=bytes(raw))


class AcmeAssembler(FrameAssembler):
    """Cuts ACME frames out of a byte stream."""

    def next_start(self, buf: bytearray, pos: int) -> int:
        """The next start byte."""
        return buf.find(START, pos)

    def frame_length(self, buf: bytearray, start: int) -> int | None:
        """Header, payload and checksum (the length byte says)."""
        if len(buf) - start < _HEADER:
            return None
        return _HEADER + buf[start + 2] + 1

    def parse(self, raw: bytes) -> Frame:
        """:func:`parse_frame`."""
        return parse_frame(raw)


@dataclass(frozen=True, slots=True)
class Status:
    """The decoded status answer."""

    voltage: float
    current: float
    soc: int
    cycles: int
    flags: int
    cells: tuple[float, ...]
    temperatures: tuple[float, ...]


def encode_status(status: Status) -> bytes:
    """The status answer's payload."""
    head = struct.pack(
        ">HhBHBB",
        round(status.voltage * 100),
        round(status.current * 100),
        status.soc,
        status.cycles,
        status.flags,
        len(status.cells),
    )
    cells = b"".join(struct.pack(">H", round(v * 1000)) for v in status.cells)
    temps = bytes((len(status.temperatures),)) + b"".join(struct.pack(">h", round(t * 10)) for t in status.temperatures)
    return head + cells + temps


def decode_status(payload: bytes) -> Status:
    """The status answer (:class:`FrameError` for a payload that does not hold one)."""
    try:
        voltage, current, soc, cycles, flags, count = struct.unpack_from(">HhBHBB", payload)
        if count > MAX_CELLS or soc > 100:
            raise FrameError(f"implausible status: {count} cells, SoC {soc} %")
        cells = struct.unpack_from(f">{count}H", payload, 9)
        at = 9 + 2 * count
        (temp_count,) = struct.unpack_from(">B", payload, at)
        temps = struct.unpack_from(f">{temp_count}h", payload, at + 1)
    except struct.error as err:
        raise FrameError(f"short status payload: {err}") from err
    if len(payload) != at + 1 + 2 * temp_count:
        raise FrameError("status payload has trailing bytes")
    return Status(
        voltage=voltage / 100,
        current=current / 100,
        soc=soc,
        cycles=cycles,
        flags=flags,
        cells=tuple(mv / 1000 for mv in cells),
        temperatures=tuple(t / 10 for t in temps),
    )


def to_snapshot(status: Status) -> BmsSnapshot:
    """The common model of one status answer."""
    return BmsSnapshot(
        voltage=status.voltage,
        current=status.current,
        soc=float(status.soc),
        cycles=status.cycles,
        cell_voltages=status.cells,
        temperatures=tuple(
            Temperature(f"cell_{i}", TemperatureKind.CELL, t) for i, t in enumerate(status.temperatures, 1)
        ),
        charge_mosfet=bool(status.flags & FLAG_CHARGE),
        discharge_mosfet=bool(status.flags & FLAG_DISCHARGE),
        alarms=frozenset(alarm for bit, alarm in ALARM_FLAGS.items() if status.flags & bit),
        raw={"flags": status.flags},
    )


def check_answer(frame: Frame, command: int) -> bytes:
    """The payload of ``frame`` if it answers ``command`` (:class:`AddressError` otherwise)."""
    if frame.command != command | ANSWER:
        raise AddressError(f"answer 0x{frame.command:02X} to command 0x{command:02X}")
    return frame.payload

"""DALY failure bits ↔ alarms: the A5 0x98 answer and the D2 fault registers share one bit table.

Bytes 0-6 of the legacy failure status hold 56 bits (:data:`~.table.FAULT_BITS`; a few reserved); byte 7 is a fault
code. Level-1 bits become ``warnings``, level-2 bits and the unlevelled faults become ``alarms``; a set bit without
an alarm is kept in ``raw`` by name (``raw[name] = 1``), as is a non-zero fault code. Several bits may map to one
alarm (charge- and discharge-MOSFET over-temperature are both ``MOSFET_OVERTEMP``), so the exact bits travel as
names: :func:`decode` returns them and :func:`encode` takes them back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from ..errors import FrameError
from ..model import Alarm
from . import table as t

_BITS_BYTES: Final = 7  # bytes 0-6 carry bits; byte 7 is the fault code


def _bit_name(byte: int, bit: int) -> str:
    known = _BY_POSITION.get((byte, bit))
    return known.name if known is not None else f"failure_byte{byte}_bit{bit}"


_BY_POSITION: Final = {(b.byte, b.bit): b for b in t.FAULT_BITS}
#: Every bit position's name (documented or reserved), in wire order.
BIT_NAMES: Final = tuple(_bit_name(byte, bit) for byte in range(_BITS_BYTES) for bit in range(8))
_POSITION_BY_NAME: Final = {name: divmod(index, 8) for index, name in enumerate(BIT_NAMES)}


@dataclass(frozen=True, slots=True)
class FaultReport:
    """The failure status in model terms."""

    names: frozenset[str] = frozenset()
    alarms: frozenset[Alarm] = frozenset()
    warnings: frozenset[Alarm] = frozenset()
    fault_code: int = 0
    raw: dict[str, int] = field(default_factory=dict)


def decode(status: bytes) -> FaultReport:
    """Decode 7 or 8 bytes of legacy failure status (byte 7, when present, is the fault code)."""
    if len(status) not in (_BITS_BYTES, _BITS_BYTES + 1):
        raise FrameError(f"DALY failure status has {len(status)} bytes, expected 7 or 8")
    names: set[str] = set()
    alarms: set[Alarm] = set()
    warnings: set[Alarm] = set()
    raw: dict[str, int] = {}
    for byte in range(_BITS_BYTES):
        value = status[byte]
        for bit in range(8):
            if not value >> bit & 1:
                continue
            name = _bit_name(byte, bit)
            names.add(name)
            known = _BY_POSITION.get((byte, bit))
            if known is None or known.alarm is None:
                raw[name] = 1
            elif known.is_warning:
                warnings.add(known.alarm)
            else:
                alarms.add(known.alarm)
    code = status[t.FAULT_CODE_BYTE] if len(status) > t.FAULT_CODE_BYTE else 0
    if code:
        raw["fault_code"] = code
    return FaultReport(frozenset(names), frozenset(alarms), frozenset(warnings), code, raw)


def encode(names: Iterable[str], fault_code: int = 0) -> bytes:
    """Legacy 8-byte failure status with the named bits set (exact inverse of :func:`decode`)."""
    out = bytearray(_BITS_BYTES + 1)
    for name in names:
        try:
            byte, bit = _POSITION_BY_NAME[name]
        except KeyError:
            raise ValueError(f"unknown DALY failure bit {name!r}") from None
        out[byte] |= 1 << bit
    if not 0 <= fault_code <= 0xFF:
        raise ValueError(f"fault code {fault_code} does not fit in a byte")
    out[t.FAULT_CODE_BYTE] = fault_code
    return bytes(out)


# --- D2 fault registers 0x3A-0x3C ---------------------------------------------------------------------------
def legacy_from_registers(registers: Iterable[int]) -> bytes:
    """Legacy bytes 0-5 from the three D2 fault registers (each register's low byte is the lower legacy byte)."""
    out = bytearray()
    for value in registers:
        out += bytes((value & 0xFF, value >> 8))
    return bytes(out) + bytes(_BITS_BYTES - len(out))


def registers_from_legacy(status: bytes) -> tuple[int, int, int]:
    """The three D2 fault registers for legacy bytes 0-5 (inverse of :func:`legacy_from_registers`)."""
    if any(status[6:_BITS_BYTES]):
        raise ValueError("legacy failure byte 6 has no place in the D2 fault registers")
    regs = tuple(status[i] | status[i + 1] << 8 for i in range(0, 6, 2))
    return regs[0], regs[1], regs[2]


#: Bit names the D2 fault registers can carry (legacy bytes 0-5).
D2_BIT_NAMES: Final = BIT_NAMES[: 6 * 8]

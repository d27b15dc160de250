"""JBD codec, sans-IO: builds request frames and parses response frames into model values.

Wire format (PROTOCOLS.md §3.1)::

    request   DD | A5 (read) / 5A (write) | register | len | data… | CRC_H CRC_L | 77
    response  DD | register | status (00 ok, 80 error) | len | data… | CRC_H CRC_L | 77

The checksum is ``0x10000 - Σ(bytes from offset 2 to the end of data)``, big-endian, so it covers
register+len+data in a request and status+len+data in a response. The same frames run over UART, RS485 and BLE.
The encoders here are the exact inverse of the decoders; the simulator answers with them.
"""

from __future__ import annotations

import datetime as dt
import functools
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..errors import ChecksumError, DeviceError, FrameError
from ..fields import Field, pack
from ..framing import Frame, FrameAssembler
from ..model import Alarm, BmsSnapshot, DeviceInfo, Temperature, TemperatureKind
from . import codec_daren
from . import table as t
from .codec_daren import DarenExtension, DarenInfo

_OVERHEAD = 7  # DD + 2 header bytes + len + 2 CRC + 77


def checksum(body: bytes) -> int:
    """JBD checksum of ``body`` (the bytes from frame offset 2 up to the end of the data)."""
    return (0x10000 - sum(body)) & 0xFFFF


def _frame(first: int, second: int, data: bytes) -> bytes:
    if len(data) > 0xFF:
        raise ValueError(f"JBD data is at most 255 bytes, got {len(data)}")
    body = bytes((second, len(data))) + data
    return bytes((t.START, first)) + body + checksum(body).to_bytes(2, "big") + bytes((t.END,))


def build_read(register: int) -> bytes:
    """Request frame reading ``register`` (e.g. ``build_read(0x03) == bytes.fromhex("dda50300fffd77")``)."""
    return _frame(t.MODE_READ, register, b"")


def build_write(register: int, data: bytes) -> bytes:
    """Request frame writing ``data`` to ``register``."""
    return _frame(t.MODE_WRITE, register, data)


def build_response(register: int, data: bytes, status: int = t.STATUS_OK) -> bytes:
    """Response frame (used by the simulator)."""
    return _frame(register, status, data)


def parse_frame(raw: bytes, *, request: bool = False) -> Frame:
    """Strictly parse one complete frame; :class:`FrameError`/:class:`ChecksumError` when it is not valid.

    For a response ``Frame.command`` is the register and ``Frame.status`` the status byte; for a request
    (``request=True``) ``command`` is the register and ``status`` the mode (0xA5 read / 0x5A write).
    """
    if len(raw) < _OVERHEAD:
        raise FrameError(f"JBD frame truncated: {len(raw)} bytes, at least {_OVERHEAD} needed")
    if raw[0] != t.START:
        raise FrameError(f"JBD frame must start with DD, got {raw[0]:02X}")
    length = raw[3]
    if len(raw) != _OVERHEAD + length:
        raise FrameError(f"JBD frame declares {length} data bytes but is {len(raw)} bytes long")
    if raw[-1] != t.END:
        raise FrameError(f"JBD frame must end with 77, got {raw[-1]:02X}")
    expected = checksum(raw[2 : 4 + length])
    received = int.from_bytes(raw[4 + length : 6 + length], "big")
    if received != expected:
        raise ChecksumError(f"JBD checksum {received:04X}, expected {expected:04X}")
    payload = bytes(raw[4 : 4 + length])
    if request:
        if raw[1] not in (t.MODE_READ, t.MODE_WRITE):
            raise FrameError(f"JBD request mode must be A5 or 5A, got {raw[1]:02X}")
        return Frame(command=raw[2], payload=payload, raw=bytes(raw), status=raw[1])
    if raw[2] not in (t.STATUS_OK, t.STATUS_ERROR):
        raise FrameError(f"JBD status must be 00 or 80, got {raw[2]:02X}")
    return Frame(command=raw[1], payload=payload, raw=bytes(raw), status=raw[2])


class JbdAssembler(FrameAssembler):
    """Reassembles JBD frames from chunks (responses by default; ``request=True`` for a simulator)."""

    def __init__(self, *, request: bool = False) -> None:
        """Choose the direction to assemble."""
        super().__init__()
        self.request = request

    def next_start(self, buf: bytearray, pos: int) -> int:
        """Next DD byte."""
        return buf.find(t.START, pos)

    def frame_length(self, buf: bytearray, start: int) -> int | None:
        """7 + the length byte, once the header is buffered."""
        if len(buf) - start < 4:
            return None
        kind = buf[start + 1] if self.request else buf[start + 2]
        allowed = (t.MODE_READ, t.MODE_WRITE) if self.request else (t.STATUS_OK, t.STATUS_ERROR)
        if kind not in allowed:
            raise FrameError(f"not a JBD header: {bytes(buf[start : start + 4]).hex()}")
        return _OVERHEAD + buf[start + 3]

    def parse(self, raw: bytes) -> Frame:
        """Strict parse in this assembler's direction."""
        return parse_frame(raw, request=self.request)


def check_response(frame: Frame, register: int) -> bytes:
    """Payload of ``frame`` if it is an OK answer for ``register``; otherwise a specific error."""
    if frame.command != register:
        raise FrameError(f"JBD answer is for register 0x{frame.command:02X}, asked 0x{register:02X}")
    if frame.status != t.STATUS_OK:
        raise DeviceError(f"JBD device answered error status 0x{frame.status:02X} for register 0x{register:02X}")
    return frame.payload


# --- register 0x03: basic info ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class BasicInfo:
    """Register 0x03 in model units (the JBD-level view, before it becomes a snapshot)."""

    voltage: float
    current: float
    remaining_capacity: float
    design_capacity: float
    cycles: int
    production_date: int
    balancing: frozenset[int]
    protection: int
    software_version: int
    soc: int
    fet: int
    cell_count: int
    temperatures: tuple[float, ...]
    coarse_units: bool = False
    extension: bytes = field(default=b"")
    #: The Daren variant's values (current and capacities above come from it; ``extension`` is what follows it).
    daren: DarenExtension | None = None

    @property
    def family(self) -> str:
        """``daren`` for the Daren variant, else ``jbd``."""
        return t.DAREN_FAMILY if self.daren is not None else "jbd"

    @property
    def charge_mosfet(self) -> bool:
        """Charge MOSFET conducting."""
        return bool(self.fet & t.FET_CHARGE)

    @property
    def discharge_mosfet(self) -> bool:
        """Discharge MOSFET conducting."""
        return bool(self.fet & t.FET_DISCHARGE)

    @property
    def manufacture_date(self) -> dt.date | None:
        """Production date, or None when the packed value is not a real date."""
        return decode_date(self.production_date)

    @property
    def software_version_text(self) -> str:
        """Software version as printed by the vendor app (0x80 → "8.0")."""
        return f"{self.software_version >> 4}.{self.software_version & 0x0F}"


def decode_date(raw: int) -> dt.date | None:
    """JBD packed date: day = bits 0-4, month = bits 5-8, year = 2000 + bits 9-15."""
    try:
        return dt.date(2000 + (raw >> 9), (raw >> 5) & 0x0F, raw & 0x1F)
    except ValueError:
        return None


def encode_date(day: dt.date) -> int:
    """Inverse of :func:`decode_date`."""
    return ((day.year - 2000) << 9) | (day.month << 5) | day.day


def _bits(value: int, first: int = 1) -> Iterable[int]:
    return (first + n for n in range(value.bit_length()) if value >> n & 1)


# Decoding runs on every poll: the field tables are compiled once into ``struct`` layouts and divisors here, and
# checked against the tables (which stay the single source of offsets and scales; the encoders use them as is).
def _layout(table: Sequence[Field]) -> struct.Struct:
    """One ``struct`` reading every field of ``table`` at once (the fields must be adjacent, big-endian)."""
    fmt, offset = ">", 0
    for f in table:
        if f.offset != offset or f.byteorder != ">":
            raise ValueError(f"JBD field {f.name} is not adjacent big-endian (offset {f.offset}, expected {offset})")
        fmt += f.fmt[1:]
        offset = f.end
    return struct.Struct(fmt)


def _divisor(f: Field, scale: float | None = None) -> float:
    """The power of ten ``f.to_value(raw, scale)`` divides by (checked to give the very same floats)."""
    divisor = float(round(1 / (f.scale if scale is None else scale)))
    if any(f.to_value(raw, scale) != raw / divisor for raw in (1, 3, 7, 1234, 3309, 32767, 65535)):
        raise ValueError(f"JBD field {f.name} does not scale by a power of ten")
    return divisor


_BASIC_ORDER = (
    "voltage",
    "current",
    "remaining_capacity",
    "design_capacity",
    "cycles",
    "production_date",
    "balance_low",
    "balance_high",
    "protection",
    "software_version",
    "soc",
    "fet",
    "cell_count",
    "ntc_count",
)
if tuple(f.name for f in t.BASIC_FIELDS) != _BASIC_ORDER:
    raise ValueError("JBD basic-info table and decoder disagree on the field order")
_BASIC = _layout(t.BASIC_FIELDS)
if _BASIC.size != t.BASIC_FIXED_SIZE:
    raise ValueError(f"JBD basic-info fields take {_BASIC.size} bytes, the fixed part is {t.BASIC_FIXED_SIZE}")
_FIELDS = {f.name: f for f in t.BASIC_FIELDS}
#: (voltage, current, remaining, design) divisors for the fine (10 mA) and coarse (100 mA) units.
_SCALES = {
    coarse: tuple(
        _divisor(_FIELDS[name], t.COARSE_SCALE if coarse and name in t.COARSE_FIELDS else None)
        for name in _BASIC_ORDER[:4]
    )
    for coarse in (False, True)
}
_CELL_DIVISOR = _divisor(t.CELL_MV)


@functools.cache
def _words(count: int) -> struct.Struct:
    """``count`` big-endian u16."""
    return struct.Struct(f">{count}H")


@functools.lru_cache(maxsize=256)
def _balancing(low: int, high: int) -> frozenset[int]:
    """Cells (1-based) whose balancing bit is set in the two balance words."""
    return frozenset(_bits(low)) | frozenset(_bits(high, 17))


def decode_basic(payload: bytes) -> BasicInfo:
    """Decode a register 0x03 payload; :class:`FrameError` if it is shorter than its own counts say."""
    if len(payload) < t.BASIC_FIXED_SIZE:
        raise FrameError(f"payload has {len(payload)} bytes, the layout needs {t.BASIC_FIXED_SIZE}")
    (
        voltage,
        current,
        remaining,
        design,
        cycles,
        production_date,
        balance_low,
        balance_high,
        protection,
        software_version,
        soc,
        fet,
        cell_count,
        ntc_count,
    ) = _BASIC.unpack_from(payload)
    ntc_end = t.BASIC_FIXED_SIZE + 2 * ntc_count
    if len(payload) < ntc_end:
        raise FrameError(f"JBD basic info declares {ntc_count} NTCs but has {len(payload)} bytes")
    if soc > 100:
        raise FrameError(f"JBD state of charge {soc} % is out of range")
    extension = bytes(payload[ntc_end:])
    daren = None
    if codec_daren.marks_daren(current & 0xFFFF, remaining, design):  # current is signed: 0xFFFF reads -1
        daren = codec_daren.decode_extension(extension)
        extension = extension[t.DAREN_EXTENSION_SIZE :]
    coarse = daren is None and bool(extension) and bool(extension[0] & t.UNIT_FLAG_BIT)
    v_div, c_div, r_div, d_div = _SCALES[coarse]
    offset = t.NTC_OFFSET_DECIKELVIN
    temps = tuple([round((raw - offset) / 10, 1) for raw in _words(ntc_count).unpack_from(payload, t.BASIC_FIXED_SIZE)])
    return BasicInfo(
        voltage=voltage / v_div,
        current=daren.current if daren else current / c_div,
        remaining_capacity=daren.remaining_capacity if daren else remaining / r_div,
        design_capacity=daren.design_capacity if daren else design / d_div,
        cycles=cycles,
        production_date=production_date,
        balancing=_balancing(balance_low, balance_high),
        protection=protection,
        software_version=software_version,
        soc=soc,
        fet=fet,
        cell_count=cell_count,
        temperatures=temps,
        coarse_units=coarse,
        extension=extension,
        daren=daren,
    )


def encode_basic(info: BasicInfo) -> bytes:
    """Register 0x03 payload for ``info`` (exact inverse of :func:`decode_basic`)."""
    fields = {f.name: f for f in t.BASIC_FIELDS}

    def raw(name: str, value: float) -> int:
        scale = t.COARSE_SCALE if info.coarse_units and name in t.COARSE_FIELDS else None
        return fields[name].to_raw(value, scale)

    balance = sum(1 << (cell - 1) for cell in info.balancing)
    daren = info.daren
    values = {
        "voltage": raw("voltage", info.voltage),
        "current": t.NOT_AVAILABLE - 0x10000 if daren else raw("current", info.current),
        "remaining_capacity": t.NOT_AVAILABLE if daren else raw("remaining_capacity", info.remaining_capacity),
        "design_capacity": t.NOT_AVAILABLE if daren else raw("design_capacity", info.design_capacity),
        "cycles": info.cycles,
        "production_date": info.production_date,
        "balance_low": balance & 0xFFFF,
        "balance_high": balance >> 16,
        "protection": info.protection,
        "software_version": info.software_version,
        "soc": info.soc,
        "fet": info.fet,
        "cell_count": info.cell_count,
        "ntc_count": len(info.temperatures),
    }
    out = pack(t.BASIC_FIELDS, values, t.BASIC_FIXED_SIZE)
    for celsius in info.temperatures:
        out += (round(celsius * 10) + t.NTC_OFFSET_DECIKELVIN).to_bytes(2, "big")
    extension = info.extension
    if info.coarse_units and not extension:
        extension = bytes((t.UNIT_FLAG_BIT,))
    if daren is not None:
        extension = codec_daren.encode_extension(daren) + extension
    return bytes(out + extension)


# --- registers 0x04 and 0x05 ------------------------------------------------------------------------------
def decode_cells(payload: bytes) -> tuple[float, ...]:
    """Register 0x04: one big-endian u16 mV per cell."""
    if len(payload) % 2:
        raise FrameError(f"JBD cell block has an odd length ({len(payload)} bytes)")
    divisor = _CELL_DIVISOR
    return tuple([mv / divisor for mv in _words(len(payload) // 2).unpack(payload)])


def encode_cells(cells: Iterable[float]) -> bytes:
    """Inverse of :func:`decode_cells`."""
    return b"".join(t.CELL_MV.to_raw(v).to_bytes(2, "big") for v in cells)


def decode_hardware(payload: bytes) -> str:
    """Register 0x05: ASCII model/hardware string (NULs and padding stripped)."""
    return payload.decode("ascii", errors="replace").strip("\x00 ").strip()


# --- the model ------------------------------------------------------------------------------------------
def alarms_of(protection: int) -> tuple[frozenset[Alarm], dict[str, int]]:
    """Protection bits → alarms, plus the reserved bits that are set, by name (for ``raw``)."""
    alarms, unmapped = _protection(protection)
    return alarms, dict(unmapped)


@functools.lru_cache(maxsize=256)
def _protection(protection: int) -> tuple[frozenset[Alarm], tuple[tuple[str, int], ...]]:
    """:func:`alarms_of`, cached (a pack's protection word rarely changes), the reserved bits as immutable pairs."""
    alarms = frozenset(alarm for bit, alarm in t.PROTECTION_BITS.items() if protection >> bit & 1)
    unmapped = tuple(
        (f"protection_bit{bit}", 1) for bit in range(16) if protection >> bit & 1 and bit not in t.PROTECTION_BITS
    )
    return alarms, unmapped


@functools.lru_cache(maxsize=256)
def _temperatures(celsius: tuple[float, ...]) -> tuple[Temperature, ...]:
    """The model's readings for the NTC values (shared: a pack's temperatures repeat from poll to poll)."""
    return tuple(Temperature(f"cell_{i}", TemperatureKind.CELL, c) for i, c in enumerate(celsius, 1))


def to_snapshot(basic: BasicInfo, cells: tuple[float, ...]) -> BmsSnapshot:
    """Combine registers 0x03 and 0x04 into one snapshot (they must agree on the cell count)."""
    if len(cells) != basic.cell_count:
        raise FrameError(f"JBD basic info says {basic.cell_count} cells, the cell block has {len(cells)}")
    alarms, unmapped = _protection(basic.protection)
    raw: dict[str, int | str] = {
        "protection_status": basic.protection,
        "fet_status": basic.fet,
        "software_version": basic.software_version_text,
        "capacity_unit": "100mAh" if basic.coarse_units else "10mAh",
    }
    raw.update(unmapped)
    temperatures = _temperatures(basic.temperatures)
    soh = None
    if basic.daren is not None:
        raw["variant"] = t.DAREN_FAMILY
        soh = float(basic.daren.soh)
        temperatures += (
            Temperature("mosfet", TemperatureKind.MOSFET, basic.daren.mosfet_temp),
            Temperature("ambient", TemperatureKind.AMBIENT, basic.daren.ambient_temp),
        )
    return BmsSnapshot(
        voltage=basic.voltage,
        current=basic.current,
        soc=float(basic.soc),
        soh=soh,
        remaining_capacity=basic.remaining_capacity,
        design_capacity=basic.design_capacity,
        cycles=basic.cycles,
        cell_voltages=cells,
        temperatures=temperatures,
        charge_mosfet=basic.charge_mosfet,
        discharge_mosfet=basic.discharge_mosfet,
        balancing=basic.balancing,
        alarms=alarms,
        raw=raw,
    )


def to_device_info(basic: BasicInfo | None, hardware: str | None, daren: DarenInfo | None = None) -> DeviceInfo:
    """DeviceInfo from register 0x05 (model) and, when read, register 0x03 (version, date, cells).

    A Daren board answers 0x05 with an error and describes itself in register 0x08 (``daren``) instead.
    """
    if daren is not None:
        texts = daren.texts
        return DeviceInfo(
            vendor="Daren",
            family=basic.family if basic else t.DAREN_FAMILY,
            model=texts["software"].split("_V", 1)[0] or None,
            hardware_version=texts["hardware"] or None,
            software_version=texts["software"] or None,
            serial_number=texts["production_code"] or None,
            manufacture_date=daren.manufacture_date,
            cell_count=basic.cell_count if basic else None,
        )
    return DeviceInfo(
        vendor="JBD",
        family=basic.family if basic else "jbd",
        model=hardware or None,
        hardware_version=hardware or None,
        software_version=basic.software_version_text if basic else None,
        manufacture_date=basic.manufacture_date if basic else None,
        cell_count=basic.cell_count if basic else None,
    )


def mos_value(charge_on: bool, discharge_on: bool) -> bytes:
    """Register 0xE1 payload: a bit set switches that MOSFET off (bit0 charge, bit1 discharge)."""
    value = (0 if charge_on else t.FET_CHARGE) | (0 if discharge_on else t.FET_DISCHARGE)
    return value.to_bytes(2, "big")

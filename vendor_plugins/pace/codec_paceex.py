"""PACEEX codec, sans-IO: frames, requests, the per-pack records and their snapshot; the encoders the simulator uses.

Layouts come from :mod:`.table_paceex` (read there what is settled by a real frame and what is inferred). Decoding is
strict: a frame with a bad head, tail, length or CRC raises, a record too short for its layout raises, and a record
whose values are all zero — what a pack that is not there (or a slave asked for the bank) sends — raises
:class:`~vendor_plugins.errors.AddressError`, so it never becomes a pack of zeros.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..crc import crc16_modbus
from ..errors import AddressError, ChecksumError, FrameError
from ..fields import pack, table_size, unpack
from ..framing import Frame, FrameAssembler
from ..model import Alarm, BmsSnapshot, Temperature, TemperatureKind
from . import table_paceex as t
from .codec_bits import Flags, bit_numbers, encode_flags
from .table import CFET_BIT, DFET_BIT, Severity


# --- frames -----------------------------------------------------------------------------------------------------
def build_frame(frame_type: int, data: bytes = b"") -> bytes:
    """``9A | type | len | data | CRC (big-endian) | 9D``."""
    if len(data) > t.MAX_DATA:
        raise ValueError(f"PACEEX data holds at most {t.MAX_DATA} bytes, not {len(data)}")
    body = bytes((t.HEAD,)) + frame_type.to_bytes(t.TYPE_SIZE, "big") + bytes((len(data),)) + data
    return body + crc16_modbus(body).to_bytes(2, "big") + bytes((t.TAIL,))


def build_request(frame_type: t.FrameType, pack: int | None = None) -> bytes:
    """A request: per-pack types name ``pack`` (``[pack, 0x01]``), the others carry no data."""
    if frame_type in t.PER_PACK:
        if pack is None or not t.FIRST_PACK <= pack <= t.MAX_PACKS:
            raise ValueError(f"PACEEX pack numbers are {t.FIRST_PACK}-{t.MAX_PACKS}, not {pack}")
        return build_frame(frame_type, bytes((pack, t.PACK_REQUEST_COUNT)))
    return build_frame(frame_type)


def parse_frame(raw: bytes) -> Frame:
    """Strictly parse one frame: ``command`` is the type, ``payload`` the data (``FrameError``/``ChecksumError``)."""
    if len(raw) < t.OVERHEAD:
        raise FrameError(f"PACEEX frame of {len(raw)} bytes is shorter than the {t.OVERHEAD}-byte minimum")
    if raw[0] != t.HEAD or raw[-1] != t.TAIL:
        raise FrameError(f"PACEEX frame must start with 9A and end with 9D ({raw[:1].hex()}…{raw[-1:].hex()})")
    length = raw[t.HEADER_SIZE - 1]
    if len(raw) != t.OVERHEAD + length:
        raise FrameError(f"PACEEX frame says {length} data bytes but is {len(raw)} bytes long")
    body = raw[: t.HEADER_SIZE + length]
    sent = int.from_bytes(raw[-3:-1], "big")
    if crc16_modbus(body) != sent:
        raise ChecksumError(f"PACEEX CRC {sent:04X} does not match {crc16_modbus(body):04X}")
    frame_type = int.from_bytes(raw[1 : 1 + t.TYPE_SIZE], "big")
    return Frame(command=frame_type, payload=bytes(raw[t.HEADER_SIZE : t.HEADER_SIZE + length]), raw=bytes(raw))


class PaceexAssembler(FrameAssembler):
    """Cuts PACEEX frames (requests and replies share the framing) out of a stream of notifications."""

    def next_start(self, buf: bytearray, pos: int) -> int:
        """The next 9A."""
        return buf.find(t.HEAD, pos)

    def frame_length(self, buf: bytearray, start: int) -> int | None:
        """From the length byte."""
        if len(buf) - start < t.HEADER_SIZE:
            return None
        return t.OVERHEAD + buf[start + t.HEADER_SIZE - 1]

    def parse(self, raw: bytes) -> Frame:
        """:func:`parse_frame`."""
        return parse_frame(raw)


# --- records ----------------------------------------------------------------------------------------------------
def _celsius(raw: int) -> float:
    return (raw - t.TEMP_OFFSET) / 10


def _kelvin(celsius: float) -> int:
    return round(celsius * 10) + t.TEMP_OFFSET


def _record(data: bytes, size: int, what: str, pack_no: int | None, *, exact: bool = False) -> None:
    if len(data) < size or (exact and len(data) != size):
        raise FrameError(f"PACEEX {what} record has {len(data)} bytes, the layout has {size}")
    if not any(data):
        where = "" if pack_no is None else f" for pack {pack_no}"
        raise AddressError(f"PACEEX {what} record{where} is all zeros: no such pack answers here")


@dataclass(frozen=True, slots=True)
class PackRecord:
    """0x0A01: one pack's values (raw integers by field name)."""

    raw: Mapping[str, int]

    def value(self, name: str) -> float:
        """A field in model units."""
        f = next(f for f in t.PACK_RECORD if f.name == name)
        return f.to_value(self.raw[name])


@dataclass(frozen=True, slots=True)
class CellsRecord:
    """0x0A02: pack voltage, cell voltages and the temperature word of each cell's sensor (0: none)."""

    lead: int
    voltage: float
    cells: tuple[float, ...]
    cell_temps: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """0x0A03: the status bytes by name."""

    raw: Mapping[str, int]


def decode_pack(data: bytes, pack_no: int | None = None) -> PackRecord:
    """The 0x0A01 data (exactly the layout's size, as in the real capture: another length is not this record)."""
    _record(data, t.PACK_RECORD_SIZE, "pack", pack_no, exact=True)
    return PackRecord(unpack(t.PACK_RECORD, data))


def decode_cells(data: bytes, pack_no: int | None = None) -> CellsRecord:
    """The 0x0A02 data (its length must match the cell count it states)."""
    _record(data, t.CELLS_HEAD_SIZE, "cell", pack_no)
    head = unpack(t.CELLS_HEAD, data)
    count = head["cell_count"]
    if not 1 <= count <= t.MAX_CELLS:
        raise FrameError(f"PACEEX cell record states {count} cells")
    need = t.CELLS_HEAD_SIZE + count * t.CELL_ENTRY_SIZE
    if len(data) != need:
        raise FrameError(f"PACEEX cell record for {count} cells must be {need} bytes, not {len(data)}")
    cell_f, temp_f = t.CELL_ENTRY
    cells, temps = [], []
    for n in range(count):
        entry = unpack(t.CELL_ENTRY, data[t.CELLS_HEAD_SIZE + n * t.CELL_ENTRY_SIZE :])
        cells.append(cell_f.to_value(entry["cell"]))
        temps.append(entry[temp_f.name])
    voltage = next(f for f in t.CELLS_HEAD if f.name == "voltage").to_value(head["voltage"])
    return CellsRecord(head["lead"], voltage, tuple(cells), tuple(temps))


def decode_status(data: bytes, pack_no: int | None = None) -> StatusRecord:
    """The 0x0A03 data, exactly the layout's size (all zeros, lead byte included: no such pack)."""
    _record(data, t.STATUS_RECORD_SIZE, "status", pack_no, exact=True)
    return StatusRecord(unpack(t.STATUS_RECORD, data))


def decode_system(data: bytes) -> Mapping[str, int]:
    """The 0x0A00 data as raw integers (all zeros: the pack one is connected to is not the bank's master)."""
    if len(data) < t.SYSTEM_RECORD_SIZE:
        raise FrameError(f"PACEEX system record has {len(data)} bytes, the layout needs {t.SYSTEM_RECORD_SIZE}")
    return unpack(t.SYSTEM_RECORD, data)


def decode_texts(data: bytes, count: int, skip: int = 0) -> tuple[str | None, ...]:
    """``count`` length-prefixed texts after ``skip`` lead bytes (NULs and padding removed; empty → ``None``)."""
    out: list[str | None] = []
    pos = skip
    for _ in range(count):
        if pos >= len(data):
            raise FrameError("PACEEX text record ends before its texts")
        length = data[pos]
        text = data[pos + 1 : pos + 1 + length]
        if len(text) != length:
            raise FrameError(f"PACEEX text of {length} bytes runs past the record")
        out.append(text.replace(b"\0", b" ").decode("ascii", errors="replace").strip() or None)
        pos += 1 + length
    return tuple(out)


# --- snapshot ---------------------------------------------------------------------------------------------------
def temperatures_of(pack_rec: PackRecord, cells: CellsRecord) -> tuple[Temperature, ...]:
    """Cell sensors (by the cell they sit on), then MOSFET and ambient; a word of 0 is no sensor."""
    temps = [
        Temperature(f"cell_{n}", TemperatureKind.CELL, _celsius(raw))
        for n, raw in enumerate(cells.cell_temps, 1)
        if raw != t.NO_SENSOR
    ]
    for name, kind in (("mosfet", TemperatureKind.MOSFET), ("ambient", TemperatureKind.AMBIENT)):
        raw = pack_rec.raw[f"{name}_temp"]
        if raw != t.NO_SENSOR:
            temps.append(Temperature(name, kind, _celsius(raw)))
    return tuple(temps)


def status_flags(status: StatusRecord) -> Flags:
    """Alarms, warnings and named status bits of a 0x0A03 record, through PACE ASCII's bit tables."""
    flags = Flags()
    for name, table, severity in t.STATE_BYTES:
        flags.add(status.raw[name], table, severity)
    for name in t.STATUS_RAW:
        if status.raw[name]:
            flags.raw[name] = status.raw[name]
    return flags


def to_snapshot(pack_rec: PackRecord, cells: CellsRecord, status: StatusRecord) -> BmsSnapshot:
    """One pack's snapshot from its three records (read in one go for the same pack)."""
    cell_max = pack_rec.raw["cell_max_number"]
    if cell_max > len(cells.cells) or pack_rec.raw["cell_min_number"] > len(cells.cells):
        raise FrameError(
            f"PACEEX pack record names cell {max(cell_max, pack_rec.raw['cell_min_number'])} of a"
            f" {len(cells.cells)}-cell record: not records of the same pack"
        )
    flags = status_flags(status)
    raw: dict[str, int | str] = {"record_lead": pack_rec.raw["lead"], "cell_count": len(cells.cells), **flags.raw}
    for name in t.PACK_UNKNOWN:
        if pack_rec.raw[name]:
            raw[name] = pack_rec.raw[name]
    instruction = status.raw["instruction_state"]
    return BmsSnapshot(
        voltage=pack_rec.value("voltage"),
        current=pack_rec.value("current"),
        soc=float(pack_rec.raw["soc"]),
        soh=float(pack_rec.raw["soh"]),
        remaining_capacity=pack_rec.value("remaining_capacity"),
        full_capacity=pack_rec.value("full_capacity"),
        design_capacity=pack_rec.value("design_capacity"),
        cycles=pack_rec.raw["cycles"],
        cell_voltages=cells.cells,
        temperatures=temperatures_of(pack_rec, cells),
        charge_mosfet=bool(instruction >> CFET_BIT & 1),
        discharge_mosfet=bool(instruction >> DFET_BIT & 1),
        balancing=bit_numbers(status.raw["balance_state_1"]) | bit_numbers(status.raw["balance_state_2"], 9),
        alarms=frozenset(flags.alarms),
        warnings=frozenset(flags.warnings),
        raw=raw,
    )


# --- encoders (the simulator's side) ----------------------------------------------------------------------------
@dataclass(slots=True, kw_only=True)
class PackImage:
    """Everything one pack's three records say, in model units: what the simulator encodes."""

    cells: list[float]
    #: Temperature of the sensor on each cell (°C; ``None``: no sensor on that cell).
    cell_temps: list[float | None]
    mosfet_temp: float | None
    ambient_temp: float | None
    current: float
    voltage: float
    remaining_capacity: float
    full_capacity: float
    design_capacity: float
    soc: int
    soh: int
    cycles: int
    charge_mosfet: bool
    discharge_mosfet: bool
    balancing: set[int] = field(default_factory=set)
    alarms: set[Alarm] = field(default_factory=set)
    warnings: set[Alarm] = field(default_factory=set)
    #: Named status bits (e.g. "discharging", "fully_charged") and raw bytes the protocol carries.
    named_bits: set[str] = field(default_factory=set)
    control_state: int = 0
    lead: int = t.RECORD_LEAD
    unknown: dict[str, int] = field(default_factory=dict)


def _extreme(values: Sequence[tuple[int, int]], pick: str) -> tuple[int, int]:
    """(number, raw) of the highest or lowest value; on a tie the last one (as the capture shows for the lowest)."""
    if not values:
        return 0, 0
    best = max(v for _, v in values) if pick == "max" else min(v for _, v in values)
    return next((n, v) for n, v in reversed(values) if v == best)


def encode_pack(img: PackImage) -> bytes:
    """The 0x0A01 data of ``img``."""
    f = {x.name: x for x in t.PACK_RECORD}
    cells = [(n, round(v * 1000)) for n, v in enumerate(img.cells, 1)]
    temps = [(n, _kelvin(v)) for n, v in enumerate(img.cell_temps, 1) if v is not None]
    temp_max, temp_min = _extreme(temps, "max"), _extreme(temps, "min")
    cell_max, cell_min = _extreme(cells, "max"), _extreme(cells, "min")
    raw = {
        "lead": img.lead,
        "current": f["current"].to_raw(img.current),
        "voltage": f["voltage"].to_raw(img.voltage),
        "remaining_capacity": f["remaining_capacity"].to_raw(img.remaining_capacity),
        "full_capacity": f["full_capacity"].to_raw(img.full_capacity),
        "design_capacity": f["design_capacity"].to_raw(img.design_capacity),
        "soc": img.soc,
        "soh": img.soh,
        "cycles": img.cycles,
        "temp_max_sensor": temp_max[0],
        "temp_max": temp_max[1],
        "temp_min_sensor": temp_min[0],
        "temp_min": temp_min[1],
        "mosfet_temp": t.NO_SENSOR if img.mosfet_temp is None else _kelvin(img.mosfet_temp),
        "ambient_temp": t.NO_SENSOR if img.ambient_temp is None else _kelvin(img.ambient_temp),
        "cell_max_number": cell_max[0],
        "cell_max": cell_max[1],
        "cell_min_number": cell_min[0],
        "cell_min": cell_min[1],
    }
    raw.update({name: img.unknown.get(name, 0) for name in t.PACK_UNKNOWN})
    return bytes(pack(t.PACK_RECORD, raw, t.PACK_RECORD_SIZE))


def encode_cells(img: PackImage) -> bytes:
    """The 0x0A02 data of ``img``."""
    head = {"lead": img.lead, "voltage": round(img.voltage * 100), "cell_count": len(img.cells)}
    out = bytearray(pack(t.CELLS_HEAD, head, t.CELLS_HEAD_SIZE))
    for volts, temp in zip(img.cells, img.cell_temps, strict=True):
        entry = {"cell": round(volts * 1000), "temperature": t.NO_SENSOR if temp is None else _kelvin(temp)}
        out += pack(t.CELL_ENTRY, entry, t.CELL_ENTRY_SIZE)
    return bytes(out)


def encode_status(img: PackImage) -> bytes:
    """The 0x0A03 data of ``img`` (InstructionState from the MOSFETs and the named bits)."""
    raw: dict[str, int] = {name: 0 for name in (f.name for f in t.STATUS_RECORD)}
    raw["lead"] = img.lead
    for name, table, severity in t.STATE_BYTES:
        wanted = {Severity.ALARM: img.alarms, Severity.WARNING: img.warnings}.get(severity, set())
        raw[name] = encode_flags(wanted, table, img.named_bits)
    raw["instruction_state"] |= int(img.charge_mosfet) << CFET_BIT | int(img.discharge_mosfet) << DFET_BIT
    raw["control_state"] = img.control_state
    raw["balance_state_1"] = sum(1 << (n - 1) for n in img.balancing if 1 <= n <= 8)
    raw["balance_state_2"] = sum(1 << (n - 9) for n in img.balancing if 9 <= n <= 16)
    for name in ("reserved_10", "reserved_12"):
        raw[name] = img.unknown.get(name, 0)
    return bytes(pack(t.STATUS_RECORD, raw, t.STATUS_RECORD_SIZE))


def encode_system(images: Mapping[int, PackImage]) -> bytes:
    """The master's 0x0A00 data for the packs of its bank (the aggregation rule is this simulator's own)."""
    f = {x.name: x for x in t.SYSTEM_RECORD}
    if not images:
        return bytes(table_size(t.SYSTEM_RECORD))
    packs = list(images.items())
    full = sum(i.full_capacity for _, i in packs)
    remaining = sum(i.remaining_capacity for _, i in packs)
    design = sum(i.design_capacity for _, i in packs)
    cells = [(p, n, round(v * 1000)) for p, i in packs for n, v in enumerate(i.cells, 1)]
    temps = [(p, n, _kelvin(v)) for p, i in packs for n, v in enumerate(i.cell_temps, 1) if v is not None]
    raw: dict[str, int] = {
        "pack_count": len(packs),
        "current": f["current"].to_raw(sum(i.current for _, i in packs)),
        "voltage": f["voltage"].to_raw(sum(i.voltage for _, i in packs) / len(packs)),
        "remaining_capacity": f["remaining_capacity"].to_raw(remaining),
        "full_capacity": f["full_capacity"].to_raw(full),
        "design_capacity": f["design_capacity"].to_raw(design),
        "soc": round(100 * remaining / full) if full else 0,
        "soh": min(100, round(100 * full / design)) if design else 0,
        "cycles": max(i.cycles for _, i in packs),
        "reserved_27": 0,
        "reserved_31": 0,
    }
    for prefix, values, number in (("cell", cells, "number"), ("temp", temps, "sensor")):
        for pick in ("max", "min"):
            chosen = (max if pick == "max" else min)(values, key=lambda x: x[2]) if values else (0, 0, 0)
            raw[f"{prefix}_{pick}_pack"], raw[f"{prefix}_{pick}_{number}"], raw[f"{prefix}_{pick}"] = chosen
    return bytes(pack(t.SYSTEM_RECORD, raw, t.SYSTEM_RECORD_SIZE))


def encode_texts(texts: Sequence[tuple[str, int]], lead: bytes = b"") -> bytes:
    """Length-prefixed texts, each NUL-padded to its given length."""
    out = bytearray(lead)
    for text, width in texts:
        data = text.encode("ascii")[:width].ljust(width, b"\0")
        out += bytes((len(data),)) + data
    return bytes(out)

"""DALY Modbus-style codec — the "D2" protocol and its "P81" variant (BLE and RS485), sans-IO.

Wire format (PROTOCOLS.md §2.2), CRC-16/MODBUS over every byte before it, sent low byte first::

    read      dev 03 | start (2) | count (2) | CRC        reply  dev' 03 | 2·count | registers… | CRC
    write     dev 06 | register (2) | value (2) | CRC      reply  the request echoed (dev' for P81)
    exception                                               reply  dev' 80|fc | code | CRC

``dev`` is 0xD2 (reply 0xD2) for D2 and 0x81 (reply 0x51) for P81. Registers are big-endian u16.

The status block is decoded from a **register image** — the registers of one or more replies laid out from
register 0 — with the field tables in :mod:`.table`. Current is ``(raw - 30000) / 10`` A with **+ = charging**:
every real capture shows it (status 0x2F = 2 "discharging" with raw < 30000, e.g. ``esphome_status80_frame2``
and ``p81_rt2_status``/``p81_rt1_cells``), against the vendor spreadsheet's wording (PROTOCOLS.md §2.4).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final

from ..crc import crc16_modbus, crc16_modbus_bytes
from ..errors import ChecksumError, DeviceError, FrameError
from ..fields import Field, pack, unpack
from ..framing import Frame, FrameAssembler
from ..model import Alarm, BmsSnapshot, Chemistry, DeviceInfo, Temperature, TemperatureKind
from ..plausibility import sensor_plausible
from . import codec_faults as faults
from . import table as t

MAX_READ_REGS: Final = 125
_EXCEPTIONS: Final = {1: "illegal function", 2: "illegal data address", 3: "illegal data value", 4: "device failure"}


@dataclass(frozen=True, slots=True)
class Variant:
    """One Modbus-style family: the device byte of requests and of replies."""

    family: str
    request_device: int
    response_device: int


D2: Final = Variant("d2", t.D2_DEVICE, t.D2_DEVICE)
P81: Final = Variant("p81", t.P81_REQUEST_DEVICE, t.P81_RESPONSE_DEVICE)
VARIANTS: Final = {v.family: v for v in (D2, P81)}


# --- frames -----------------------------------------------------------------------------------------------
def _with_crc(body: bytes) -> bytes:
    return body + crc16_modbus_bytes(body)


def build_read(device: int, start: int, count: int) -> bytes:
    """Read ``count`` registers from ``start`` (``build_read(0xD2, 0, 62).hex() == "d2030000003ed7b9"``)."""
    if not 1 <= count <= MAX_READ_REGS:
        raise ValueError(f"a Modbus read covers 1..{MAX_READ_REGS} registers, not {count}")
    return _with_crc(bytes((device, t.FC_READ)) + start.to_bytes(2, "big") + count.to_bytes(2, "big"))


def build_write(device: int, register: int, value: int) -> bytes:
    """Write one register (function 06); the device answers with the same bytes."""
    return _with_crc(bytes((device, t.FC_WRITE)) + register.to_bytes(2, "big") + value.to_bytes(2, "big"))


def build_read_reply(device: int, payload: bytes) -> bytes:
    """Reply to a read (used by the simulator)."""
    if len(payload) % 2 or not 0 < len(payload) <= 2 * MAX_READ_REGS:
        raise ValueError(f"a read reply carries 2..{2 * MAX_READ_REGS} bytes in pairs, not {len(payload)}")
    return _with_crc(bytes((device, t.FC_READ, len(payload))) + payload)


def build_exception(device: int, function: int, code: int) -> bytes:
    """Exception reply (used by the simulator)."""
    return _with_crc(bytes((device, function | t.EXCEPTION_FLAG, code)))


def _request_length(buf: bytes | bytearray, start: int) -> int | None:
    function = buf[start + 1]
    if function in (t.FC_READ, t.FC_WRITE):
        return 8
    if function == t.FC_WRITE_MULTI:  # DALY's FC16 has no byte-count field: dev 10 reg count data… CRC
        if len(buf) - start < 6:
            return None
        count = int.from_bytes(buf[start + 4 : start + 6], "big")
        if not 1 <= count <= 123:
            raise FrameError(f"implausible register count {count} in a write")
        return 8 + 2 * count
    raise FrameError(f"unknown Modbus function 0x{function:02X}")


def _response_length(buf: bytes | bytearray, start: int) -> int | None:
    function = buf[start + 1]
    if function & t.EXCEPTION_FLAG and function & ~t.EXCEPTION_FLAG in (t.FC_READ, t.FC_WRITE, t.FC_WRITE_MULTI):
        return 5
    if function == t.FC_READ:
        if len(buf) - start < 3:
            return None
        count = buf[start + 2]
        if count == 0 or count % 2:
            raise FrameError(f"implausible byte count {count} in a read reply")
        return 5 + count
    if function in (t.FC_WRITE, t.FC_WRITE_MULTI):
        return 8
    raise FrameError(f"unknown Modbus function 0x{function:02X}")


def parse_frame(raw: bytes, *, request: bool = False) -> Frame:
    """Strictly parse one complete frame; :class:`FrameError`/:class:`ChecksumError` when it is not valid.

    ``Frame.address`` is the device byte, ``Frame.command`` the function (with bit 7 set for an exception, whose
    code is ``Frame.status``). The payload is: a read reply's register bytes; a read request's or a write's
    ``register|value`` (4 bytes); an FC16 request's ``register|count|data``; empty for an exception.
    """
    if len(raw) < 5:
        raise FrameError(f"DALY Modbus frame truncated: {len(raw)} bytes")
    length = _request_length(raw, 0) if request else _response_length(raw, 0)
    if length != len(raw):
        raise FrameError(f"DALY Modbus frame is {len(raw)} bytes, its header says {length}")
    expected = crc16_modbus(raw[:-2])
    received = int.from_bytes(raw[-2:], "little")
    if received != expected:
        raise ChecksumError(f"DALY Modbus CRC {received:04X}, expected {expected:04X}")
    function = raw[1]
    if not request and function & t.EXCEPTION_FLAG:
        return Frame(command=function, payload=b"", raw=bytes(raw), address=raw[0], status=raw[2])
    payload = raw[3:-2] if not request and function == t.FC_READ else raw[2:-2]
    return Frame(command=function, payload=bytes(payload), raw=bytes(raw), address=raw[0])


_REQUEST_FUNCTIONS: Final = bytes((t.FC_READ, t.FC_WRITE, t.FC_WRITE_MULTI))
_RESPONSE_FUNCTIONS: Final = _REQUEST_FUNCTIONS + bytes(f | t.EXCEPTION_FLAG for f in _REQUEST_FUNCTIONS)


class ModbusAssembler(FrameAssembler):
    """Reassembles frames whose first byte is one of ``devices`` (replies by default, requests for a simulator)."""

    def __init__(self, devices: Collection[int] = (t.D2_DEVICE, t.P81_RESPONSE_DEVICE), *, request: bool = False):
        """Assemble frames of ``devices`` in one direction."""
        super().__init__()
        self.devices = bytes(sorted(set(devices)))
        self.request = request
        functions = _REQUEST_FUNCTIONS if request else _RESPONSE_FUNCTIONS
        # A device byte followed by a function this direction can carry (or by the end of the buffer so far):
        # the many device-valued bytes inside register data (0x0CD2 = 3282 mV) are skipped in one C call.
        self._start = re.compile(b"[" + re.escape(self.devices) + b"](?:[" + re.escape(functions) + rb"]|\Z)")

    def next_start(self, buf: bytearray, pos: int) -> int:
        """The next device byte followed by a plausible function byte."""
        found = self._start.search(buf, pos)
        return -1 if found is None else found.start()

    def frame_length(self, buf: bytearray, start: int) -> int | None:
        """From the function byte (and byte count / register count where needed)."""
        if len(buf) - start < 2:
            return None
        return _request_length(buf, start) if self.request else _response_length(buf, start)

    def parse(self, raw: bytes) -> Frame:
        """Strict parse in this assembler's direction."""
        return parse_frame(raw, request=self.request)


def raise_for_exception(frame: Frame, what: str) -> None:
    """:class:`DeviceError` when ``frame`` is an exception reply."""
    if frame.command & t.EXCEPTION_FLAG:
        reason = _EXCEPTIONS.get(frame.status, "unknown code")
        raise DeviceError(f"DALY device refused {what}: exception {frame.status} ({reason})")


def check_read(frame: Frame, count: int, what: str = "the read") -> bytes:
    """Register bytes of a reply to a read of ``count`` registers."""
    raise_for_exception(frame, what)
    if frame.command != t.FC_READ or len(frame.payload) != 2 * count:
        raise FrameError(f"DALY reply to {what} carries {len(frame.payload)} bytes, expected {2 * count}")
    return frame.payload


def check_echo(frame: Frame, request: bytes, what: str = "the write") -> None:
    """A write is acknowledged by echoing register and value."""
    raise_for_exception(frame, what)
    if frame.command != request[1] or frame.payload != request[2:-2]:
        raise FrameError(f"DALY device did not echo {what}: got {frame.raw.hex()}, sent {request.hex()}")


# --- the status block ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    """Where a family keeps cells, temperatures and the other status fields in its register image."""

    cell_base: int
    cell_slots: int
    temp_base: int
    temp_slots: int
    fields: tuple[Field, ...]

    @functools.cached_property
    def by_name(self) -> dict[str, Field]:
        """The fields by name."""
        return {f.name: f for f in self.fields}


D2_LAYOUT: Final = Layout(t.D2_CELL_BASE, t.D2_CELL_SLOTS, t.D2_TEMP_BASE, t.D2_TEMP_SLOTS, t.D2_STATUS_FIELDS)
D2_EXTENDED_LAYOUT: Final = Layout(
    t.D2_CELL_BASE, t.D2_CELL_SLOTS, t.D2_TEMP_BASE, t.D2_TEMP_SLOTS, t.D2_STATUS_FIELDS + t.D2_EXTENDED_FIELDS
)
P81_LAYOUT: Final = Layout(t.P81_CELL_BASE, t.P81_CELL_SLOTS, t.P81_TEMP_BASE, t.P81_TEMP_SLOTS, t.P81_STATUS_FIELDS)
#: Registers a P81 status image spans (RT1 0x00-0x3F, the unread 0x40, RT2 0x41-0x7E).
P81_IMAGE_REGS: Final = t.P81_RT2_START + t.P81_RT2_REGS


def layout_for(family: str, registers: int) -> Layout:
    """The layout of a ``family`` status image of ``registers`` registers."""
    if family == "p81":
        return P81_LAYOUT
    return D2_EXTENDED_LAYOUT if registers >= t.D2_STATUS_REGS_EXTENDED else D2_LAYOUT


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusBlock:
    """A decoded status image, as raw integers (the protocol-level view, before it becomes a snapshot)."""

    family: str
    registers: int  # registers in the image (D2: 62 or 80; P81: 0x7F)
    values: Mapping[str, int]
    cells_mv: tuple[int, ...]
    temps_raw: tuple[int, ...]


def _u16(image: bytes | bytearray, register: int) -> int:
    return int.from_bytes(image[2 * register : 2 * register + 2], "big")


def decode_status(family: str, image: bytes) -> StatusBlock:
    """Decode a status image (register 0 first); :class:`FrameError` when its counts are impossible."""
    registers = len(image) // 2
    layout = layout_for(family, registers)
    values = unpack(layout.fields, image)
    cell_count, temp_count = values["cell_count"], values["temp_count"]
    if cell_count > layout.cell_slots:
        raise FrameError(f"DALY {family} cell count {cell_count} exceeds the {layout.cell_slots} cell registers")
    if temp_count > layout.temp_slots:
        raise FrameError(f"DALY {family} sensor count {temp_count} exceeds the {layout.temp_slots} registers")
    return StatusBlock(
        family=family,
        registers=registers,
        values=values,
        cells_mv=tuple(_u16(image, layout.cell_base + i) for i in range(cell_count)),
        temps_raw=tuple(_u16(image, layout.temp_base + i) for i in range(temp_count)),
    )


def encode_status(block: StatusBlock) -> bytearray:
    """Status image for ``block`` (exact inverse of :func:`decode_status`; unused slots are zero)."""
    layout = layout_for(block.family, block.registers)
    values = {**block.values, "cell_count": len(block.cells_mv), "temp_count": len(block.temps_raw)}
    image = pack(layout.fields, values, 2 * block.registers)
    for base, items, slots in (
        (layout.cell_base, block.cells_mv, layout.cell_slots),
        (layout.temp_base, block.temps_raw, layout.temp_slots),
    ):
        if len(items) > slots:
            raise ValueError(f"{len(items)} values do not fit {slots} registers")
        for i, value in enumerate(items):
            image[2 * (base + i) : 2 * (base + i) + 2] = value.to_bytes(2, "big")
    return image


def p81_image(rt1: bytes, rt2: bytes) -> bytes:
    """Join the two P81 replies into one image (register 0x40 is not read: zero)."""
    gap = 2 * (t.P81_RT2_START - t.P81_RT1_START - t.P81_RT1_REGS)
    return bytes(rt1) + bytes(gap) + bytes(rt2)


def decoded_registers(block: StatusBlock) -> frozenset[int]:
    """Registers whose value this codec turns into a snapshot or ``raw`` value (for checking replays)."""
    layout = layout_for(block.family, block.registers)
    regs = {f.offset // 2 for f in layout.fields}
    regs |= {layout.cell_base + i for i in range(len(block.cells_mv))}
    regs |= {layout.temp_base + i for i in range(len(block.temps_raw))}
    return frozenset(regs)


# --- conversions ----------------------------------------------------------------------------------------
def current_from_raw(raw: int) -> float:
    """Model current (A, + = charging), as the real captures show it."""
    return (raw - t.CURRENT_OFFSET) / 10


def current_to_raw(amps: float) -> int:
    """Inverse of :func:`current_from_raw`."""
    raw = t.CURRENT_OFFSET + round(amps * 10)
    if not 0 <= raw <= 0xFFFF:
        raise ValueError(f"current {amps} A does not fit the D2 current register")
    return raw


def _optional_temp(raw: int) -> float | None:
    return None if raw in t.NO_SENSOR else float(raw - t.TEMP_OFFSET)


def _balancing(values: Mapping[str, int]) -> frozenset[int] | None:
    masks = [values[name] for name in ("balance_mask_1", "balance_mask_2", "balance_mask_3") if name in values]
    if not masks:
        return None  # a 62-register read carries no per-cell balancing
    return frozenset(
        16 * index + bit + 1 for index, mask in enumerate(masks) if mask for bit in range(16) if mask >> bit & 1
    )


#: Statistics the unit reports, kept in ``raw`` under these names (the model derives its own from the cells).
_REPORTED_STATS: Final = {
    "cell_max": "cell_max_mv",
    "cell_max_no": "cell_max_no",
    "cell_min": "cell_min_mv",
    "cell_average": "cell_average_mv",
    "cell_delta": "cell_delta_mv",
    "temp_max": "temp_max_c",
    "temp_max_no": "temp_max_no",
    "temp_min": "temp_min_c",
    "temp_min_no": "temp_min_no",
}


def to_snapshot(block: StatusBlock) -> BmsSnapshot:
    """The model view of a status block."""
    v = block.values
    fields = layout_for(block.family, block.registers).by_name
    temperatures = [
        Temperature(f"cell_{i}", TemperatureKind.CELL, float(r - t.TEMP_OFFSET))
        for i, r in enumerate(block.temps_raw, 1)
        if r not in t.CELL_TEMP_ABSENT
    ]
    absent = [f"cell_{i}" for i, r in enumerate(block.temps_raw, 1) if r in t.CELL_TEMP_ABSENT]
    for name, kind in (("mosfet_temp", TemperatureKind.MOSFET), ("board_temp", TemperatureKind.BOARD)):
        celsius = _optional_temp(v[name]) if name in v else None
        if celsius is not None:
            temperatures.append(Temperature(name.removesuffix("_temp"), kind, celsius))
    raw: dict[str, int | str] = {
        "charge_state": t.CHARGE_STATES.get(v["charge_state"], str(v["charge_state"])),
        "balancer_state": v["balancer"],
        "power_w": v["power"],
        "registers": block.registers,
    }
    # The unit's own statistics (the model derives cell_min/max/average/delta from the cell list instead).
    for name, key in _REPORTED_STATS.items():
        if name in v:
            if not key.endswith("_c"):
                raw[key] = v[name]
            elif v[name] not in t.CELL_TEMP_ABSENT and sensor_plausible(v[name] - t.TEMP_OFFSET):
                raw[key] = v[name] - t.TEMP_OFFSET  # no sensor (or a broken one): no statistic, never 215 °C
    if absent:
        raw["temperature_sensors_absent"] = ",".join(absent)
    if "balance_current" in v:
        raw["balance_current_ma"] = v["balance_current"] - t.CURRENT_OFFSET
    alarms: frozenset[Alarm] = frozenset()
    warnings: frozenset[Alarm] = frozenset()
    if block.family == "d2":
        registers = [v[name] for name in t.D2_FAULT_FIELDS]
        report = faults.decode(faults.legacy_from_registers(registers))
        alarms, warnings = report.alarms, report.warnings
        raw["fault_registers"] = b"".join(r.to_bytes(2, "big") for r in [*registers, v[t.D2_FAULT_RESERVED]]).hex()
        raw.update(report.raw)
        if report.names:
            raw["fault_bits"] = ",".join(sorted(report.names))
        if v[t.D2_FAULT_RESERVED]:
            raw["fault_status_4"] = v[t.D2_FAULT_RESERVED]
    else:
        raw["alarm_status"] = "not decoded (P81 alarm registers are undocumented)"
        for name in ("heartbeat", "energy", "precharge_mosfet", "heating_mosfet"):
            raw[name] = v[name]
    return BmsSnapshot(
        voltage=fields["voltage"].to_value(v["voltage"]),
        current=current_from_raw(v["current"]),
        soc=fields["soc"].to_value(v["soc"]),
        remaining_capacity=fields["remaining_capacity"].to_value(v["remaining_capacity"]),
        cycles=v["cycles"],
        cell_voltages=tuple(mv / 1000 for mv in block.cells_mv),
        temperatures=tuple(temperatures),
        charge_mosfet=bool(v["charge_mosfet"]),
        discharge_mosfet=bool(v["discharge_mosfet"]),
        balancing=_balancing(v),
        alarms=alarms,
        warnings=warnings,
        raw=raw,
    )


# --- version block ---------------------------------------------------------------------------------------
def version_slots(family: str) -> Mapping[str, tuple[int, int]]:
    """Byte slices of the version reply by name."""
    return t.P81_VERSION_SLOTS if family == "p81" else t.D2_VERSION_SLOTS


def _text(data: bytes) -> str | None:
    text = data.decode("ascii", errors="replace").replace("\x00", " ").strip()
    return text or None


def decode_version(family: str, payload: bytes) -> dict[str, str | None]:
    """Software / hardware version (and the D2 machine code) from the version reply."""
    return {name: _text(payload[a:b]) for name, (a, b) in version_slots(family).items()}


def encode_version(family: str, texts: Mapping[str, str], registers: int) -> bytes:
    """Version reply payload of ``registers`` registers holding ``texts`` (inverse of :func:`decode_version`)."""
    out = bytearray(2 * registers)
    for name, (a, b) in version_slots(family).items():
        data = texts.get(name, "").encode("ascii")
        if len(data) > b - a:
            raise ValueError(f"{name} {texts[name]!r} is longer than its {b - a} bytes")
        out[a : a + len(data)] = data
    return bytes(out)


def _production_date(text: str | None) -> dt.date | None:
    """A ``YYYYMMDD`` text as a date (``None`` when absent or not a date)."""
    if text is None or len(text) != 8 or not text.isdigit():
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def decode_chemistry(block: bytes, start: int) -> Chemistry | None:
    """The battery type register 0x89 in ``block`` (registers from ``start``) as a chemistry.

    ``None`` for a value the vendor sheet does not name.
    """
    at = 2 * (t.D2_REG_BATTERY_TYPE - start)
    if not 0 <= at <= len(block) - 2:
        raise FrameError(f"battery type register 0x{t.D2_REG_BATTERY_TYPE:02X} is not in the {len(block)}-byte block")
    name = t.D2_BATTERY_TYPES.get(int.from_bytes(block[at : at + 2], "big"))
    return None if name is None else Chemistry(name)


def to_device_info(
    family: str, version: Mapping[str, str | None], cell_count: int | None, chemistry: Chemistry | None = None
) -> DeviceInfo:
    """DeviceInfo from the version block, the status cell count and (D2) the battery type register.

    The version block's machine code is the serial number.
    """
    return DeviceInfo(
        vendor="DALY",
        family=family,
        software_version=version.get("software"),
        hardware_version=version.get("hardware"),
        serial_number=version.get("machine_code"),
        manufacture_date=_production_date(version.get("production_date")),
        cell_count=cell_count,
        chemistry=chemistry,
    )

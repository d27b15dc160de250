"""PACE Modbus RTU (register map V1.3), sans-IO: registers ⇄ snapshot, and RTU frames for tests and tools.

The session reads holding registers 0-7, 9-12 and 15-36 (register 8 and 13-14 are reserved; a real unit rejected a
block read of 0-7 with exception 2, so the session can fall back to single registers) and, for device info,
150-179 (ASCII, two characters per register). Decoding works on a register image: register ``n`` at bytes
``2n..2n+1`` of the big-endian image, so the fields of :data:`~.table.MODBUS_FIELDS` are declared once as byte
offsets and shared with the simulator's encoder. The link itself is pymodbus (``transports.modbus``); the RTU
helpers here exist to check real captures byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..crc import crc16_modbus, crc16_modbus_bytes
from ..errors import AddressError, ChecksumError, DeviceError, FrameError
from ..fields import pack, unpack
from ..model import Alarm, BmsSnapshot, DeviceInfo
from . import table as t
from .codec_ascii_layout import temperatures_of
from .codec_bits import Flags, bit_numbers, encode_flags

IMAGE_REGISTERS = t.MODBUS_LAST_READ + 1


def image_of(blocks: Mapping[int, Sequence[int]], size: int = IMAGE_REGISTERS) -> bytes:
    """Big-endian image of registers ``0..size-1`` from ``{first register: values}`` (unread registers are 0)."""
    regs = [0] * size
    for first, values in blocks.items():
        for offset, value in enumerate(values):
            if 0 <= first + offset < size:
                regs[first + offset] = value & 0xFFFF
    return b"".join(r.to_bytes(2, "big") for r in regs)


def registers_of(image: bytes) -> list[int]:
    """Inverse of :func:`image_of`."""
    return [int.from_bytes(image[i : i + 2], "big") for i in range(0, len(image) - 1, 2)]


@dataclass(frozen=True, slots=True, kw_only=True)
class PackRegisters:
    """Registers 0-36 in model units."""

    current: float
    voltage: float
    soc: int
    soh: int
    remaining_capacity: float
    full_capacity: float
    design_capacity: float
    cycles: int
    warning_flag: int = 0
    protection_flag: int = 0
    status_flag: int = 0
    balance_status: int = 0
    cells: tuple[float, ...] = ()
    temperatures: tuple[float, ...] = ()
    names: dict[str, int] = field(default_factory=dict)


def decode_registers(image: bytes) -> PackRegisters:
    """Decode the register image (at least registers 0-36). Cells reading 0 mV are absent cells (fewer than 16)."""
    if len(image) < 2 * IMAGE_REGISTERS:
        raise FrameError(f"PACE Modbus image has {len(image) // 2} registers, {IMAGE_REGISTERS} needed")
    raw = unpack(t.MODBUS_FIELDS, image)
    fields = {f.name: f for f in t.MODBUS_FIELDS}
    regs = registers_of(image[: 2 * IMAGE_REGISTERS])
    cells = [t.CELL_MV.to_value(mv) for mv in regs[t.MODBUS_FIRST_CELL : t.MODBUS_FIRST_CELL + t.MODBUS_CELLS]]
    while cells and cells[-1] == 0:
        cells.pop()
    temps = tuple(
        t.MODBUS_TEMP.to_value(value - 0x10000 if value & 0x8000 else value)
        for value in regs[t.MODBUS_FIRST_TEMP : t.MODBUS_FIRST_TEMP + t.MODBUS_TEMPS]
    )

    def value(name: str) -> float:
        return fields[name].to_value(raw[name])

    return PackRegisters(
        current=value("current"),
        voltage=value("voltage"),
        soc=raw["soc"],
        soh=raw["soh"],
        remaining_capacity=value("remaining_capacity"),
        full_capacity=value("full_capacity"),
        design_capacity=value("design_capacity"),
        cycles=raw["cycles"],
        warning_flag=raw["warning_flag"],
        protection_flag=raw["protection_flag"],
        status_flag=raw["status_flag"],
        balance_status=raw["balance_status"],
        cells=tuple(cells),
        temperatures=temps,
    )


def encode_registers(pack_regs: PackRegisters) -> bytes:
    """Inverse of :func:`decode_registers` (the simulator's datastore content)."""
    fields = {f.name: f for f in t.MODBUS_FIELDS}
    scaled = ("current", "voltage", "remaining_capacity", "full_capacity", "design_capacity")
    raw = {name: fields[name].to_raw(getattr(pack_regs, name)) for name in scaled}
    for name in ("soc", "soh", "cycles", "warning_flag", "protection_flag", "status_flag", "balance_status"):
        raw[name] = getattr(pack_regs, name)
    image = pack(t.MODBUS_FIELDS, raw, 2 * IMAGE_REGISTERS)
    if len(pack_regs.cells) > t.MODBUS_CELLS or len(pack_regs.temperatures) > t.MODBUS_TEMPS:
        raise ValueError("PACE Modbus carries at most 16 cells and 6 temperatures")
    for n, volts in enumerate(pack_regs.cells):
        at = 2 * (t.MODBUS_FIRST_CELL + n)
        image[at : at + 2] = t.CELL_MV.to_raw(volts).to_bytes(2, "big")
    for n, celsius in enumerate(pack_regs.temperatures):
        at = 2 * (t.MODBUS_FIRST_TEMP + n)
        image[at : at + 2] = (t.MODBUS_TEMP.to_raw(celsius) & 0xFFFF).to_bytes(2, "big")
    return bytes(image)


def flags_of(regs: PackRegisters) -> Flags:
    """Alarms, warnings and named raw flags of registers 9-11."""
    flags = Flags()
    for name, table, severity in t.MODBUS_FLAGS:
        value = getattr(regs, name)
        flags.raw[name] = value
        flags.add(value, table, severity)
    return flags


def status_flag(
    alarms: set[Alarm] | frozenset[Alarm], charge_on: bool, discharge_on: bool, names: Sequence[str] = ()
) -> int:
    """Register 11 from fault alarms, the MOSFET state and named status bits (for the simulator)."""
    value = encode_flags(alarms, t.MODBUS_FAULT_BITS, names) | encode_flags((), t.MODBUS_STATUS_BITS, names)
    return value | charge_on << t.MODBUS_CFET_BIT | discharge_on << t.MODBUS_DFET_BIT


def to_snapshot(regs: PackRegisters) -> BmsSnapshot:
    """The common model from registers 0-36."""
    flags = flags_of(regs)
    flags.raw["balance_status"] = regs.balance_status
    return BmsSnapshot(
        voltage=regs.voltage,
        current=regs.current,
        soc=float(regs.soc),
        soh=float(regs.soh),
        remaining_capacity=regs.remaining_capacity,
        full_capacity=regs.full_capacity,
        design_capacity=regs.design_capacity,
        cycles=regs.cycles,
        cell_voltages=regs.cells,
        temperatures=temperatures_of(regs.temperatures),
        charge_mosfet=bool(regs.status_flag >> t.MODBUS_CFET_BIT & 1),
        discharge_mosfet=bool(regs.status_flag >> t.MODBUS_DFET_BIT & 1),
        balancing=bit_numbers(regs.balance_status),
        alarms=frozenset(flags.alarms),
        warnings=frozenset(flags.warnings),
        raw=flags.raw,
    )


# --- device information (registers 150-179) -------------------------------------------------------------------
def decode_text(registers: Sequence[int]) -> str:
    """ASCII text, two characters per register (high byte first); NULs and padding stripped."""
    data = b"".join((r & 0xFFFF).to_bytes(2, "big") for r in registers)
    return data.decode("ascii", errors="replace").replace("\x00", " ").strip()


def encode_text(text: str, count: int) -> list[int]:
    """Inverse of :func:`decode_text` into ``count`` registers (NUL padded)."""
    data = text.encode("ascii")[: 2 * count].ljust(2 * count, b"\x00")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def to_device_info(registers: Sequence[int], unit: int, cell_count: int | None = None) -> DeviceInfo:
    """DeviceInfo from registers 150-179: version, model serial, pack serial."""
    texts = {
        name: decode_text(registers[first - t.MODBUS_INFO_BLOCK[0] : first - t.MODBUS_INFO_BLOCK[0] + count])
        for name, first, count in t.MODBUS_INFO_TEXTS
    }
    return DeviceInfo(
        vendor="PACE",
        family="modbus",
        model=texts["model_serial"] or None,
        software_version=texts["software_version"] or None,
        serial_number=texts["pack_serial"] or None,
        cell_count=cell_count,
        address=unit,
    )


# --- RTU frames (sans-IO; the product's link is pymodbus) --------------------------------------------------------
def build_read_request(unit: int, first: int, count: int) -> bytes:
    """FC 0x03 request (``build_read_request(1, 9, 4) == bytes.fromhex("010300090004940b")``)."""
    body = bytes((unit, t.MODBUS_READ)) + first.to_bytes(2, "big") + count.to_bytes(2, "big")
    return body + crc16_modbus_bytes(body)


def build_read_response(unit: int, registers: Sequence[int]) -> bytes:
    """FC 0x03 answer."""
    data = b"".join((r & 0xFFFF).to_bytes(2, "big") for r in registers)
    body = bytes((unit, t.MODBUS_READ, len(data))) + data
    return body + crc16_modbus_bytes(body)


def build_exception(unit: int, function: int, code: int) -> bytes:
    """Exception answer (function | 0x80, code)."""
    body = bytes((unit, function | 0x80, code))
    return body + crc16_modbus_bytes(body)


def parse_read_response(raw: bytes, unit: int, count: int | None = None) -> list[int]:
    """Registers of an FC 0x03 answer from ``unit``.

    :class:`ChecksumError` on a CRC mismatch, :class:`AddressError` for another unit, :class:`DeviceError` for an
    exception answer.
    """
    if len(raw) < 5:
        raise FrameError(f"Modbus RTU frame truncated: {len(raw)} bytes")
    received = int.from_bytes(raw[-2:], "little")
    if received != crc16_modbus(raw[:-2]):
        raise ChecksumError(f"Modbus CRC {received:04X}, expected {crc16_modbus(raw[:-2]):04X}")
    if raw[0] != unit:
        raise AddressError(f"Modbus answer from unit {raw[0]}, asked unit {unit}")
    if raw[1] == t.MODBUS_READ | 0x80:
        code = raw[2]
        raise DeviceError(f"Modbus exception {code} ({t.MODBUS_EXCEPTIONS.get(code, 'unknown')}) from unit {unit}")
    if raw[1] != t.MODBUS_READ:
        raise FrameError(f"Modbus answer has function 0x{raw[1]:02X}, expected 0x03")
    size = raw[2]
    if len(raw) != 5 + size or size % 2:
        raise FrameError(f"Modbus answer declares {size} data bytes but is {len(raw)} bytes long")
    registers = registers_of(raw[3 : 3 + size])
    if count is not None and len(registers) != count:
        raise FrameError(f"Modbus answer holds {len(registers)} registers, asked {count}")
    return registers

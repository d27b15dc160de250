"""Sans-IO PACE settings codec: Modbus registers 60-114 and the ASCII v0x25 parameter frames, from the tables.

Modbus: :func:`decode_registers` / :func:`encode_register` per :mod:`.table_settings_modbus` row; a write is one
FC 0x10 request spanning the changed registers (unchanged ones between them are sent as read), so the unit takes the
whole change at once. ASCII: :func:`decode_group` / :func:`encode_group` per :mod:`.table_settings_ascii` group;
the write INFO is the read INFO with the new values (undecoded bytes kept), cut to what PbmsTools sends back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..battery_settings import Number
from ..crc import crc16_modbus_bytes
from ..errors import FrameError
from . import codec_ascii as ascii_codec
from . import table_settings_ascii as ta
from . import table_settings_modbus as tm


# --- Modbus ---------------------------------------------------------------------------------------------------------
def decode_register(spec: tm.ModbusSettingSpec, raw: int) -> float:
    """One register in vocabulary units."""
    if spec.signed and raw >= 0x8000:
        raw -= 0x10000
    return round(raw * spec.scale, 9)


def encode_register(spec: tm.ModbusSettingSpec, value: Number) -> int:
    """The register value for ``value`` (already validated)."""
    raw = round(float(value) / spec.scale)
    if spec.signed:
        return raw & 0xFFFF
    if not 0 <= raw <= 0xFFFF:
        raise ValueError(f"{spec.name} {value} does not fit register {spec.register}")
    return raw


def decode_registers(registers: Sequence[int]) -> dict[str, Number]:
    """Registers 60-114 (55 values) in vocabulary units."""
    if len(registers) != tm.COUNT:
        raise FrameError(f"PACE settings: {len(registers)} registers, expected {tm.COUNT}")
    return {spec.name: decode_register(spec, registers[spec.register - tm.FIRST]) for spec in tm.MODBUS_SETTINGS}


def write_span(registers: Sequence[int], values: Mapping[str, Number], names: Sequence[str]) -> tuple[int, list[int]]:
    """``(first register, values)`` of the one FC 0x10 write that sets ``names`` (``registers``: 60-114 as read)."""
    changed = {tm.BY_NAME[name].register: encode_register(tm.BY_NAME[name], values[name]) for name in names}
    first, last = min(changed), max(changed)
    return first, [changed.get(reg, registers[reg - tm.FIRST]) for reg in range(first, last + 1)]


def build_write_response(unit: int, first: int, count: int) -> bytes:
    """FC 0x10 answer: unit, 0x10, first register, register count, CRC (the simulator's answer)."""
    body = bytes((unit, 0x10)) + first.to_bytes(2, "big") + count.to_bytes(2, "big")
    return body + crc16_modbus_bytes(body)


# --- ASCII v0x25 ----------------------------------------------------------------------------------------------------
def _field(info: bytes, spec: ta.AsciiSettingSpec) -> int:
    if spec.at + spec.width > len(info):
        raise FrameError(f"PACE {spec.group} INFO has {len(info)} bytes, no room for {spec.name}")
    raw = int.from_bytes(info[spec.at : spec.at + spec.width], "big")
    if spec.negative_read and raw >= 0x8000:
        raw = 0x10000 - raw  # read as negative int16: the magnitude
    return raw


def decode_group(group: ta.AsciiGroup, info: bytes, *, write: bool = False) -> dict[str, Number]:
    """The values of one group's read reply (``write``: of a write request's INFO)."""
    length = group.write_length if write else group.length
    if len(info) != length:
        raise FrameError(f"PACE {group.label}: {len(info)} INFO bytes, expected {length}")
    return {
        spec.name: round((_field(info, spec) - spec.offset) * spec.scale, 9)
        for spec in ta.specs_of(group)
        if spec.at + spec.width <= length
    }


def encode_read_info(group: ta.AsciiGroup, template: bytes, values: Mapping[str, Number]) -> bytes:
    """A read reply's INFO (the simulator's answer): ``template`` with the values, negative where the unit reads so."""
    out = bytearray(template)
    for spec in ta.specs_of(group):
        raw = round(float(values[spec.name]) / spec.scale) + spec.offset
        if spec.negative_read:
            raw = -raw & 0xFFFF
        out[spec.at : spec.at + spec.width] = raw.to_bytes(spec.width, "big")
    return bytes(out)


def encode_group(group: ta.AsciiGroup, read_info: bytes, values: Mapping[str, Number]) -> bytes:
    """The write INFO: ``read_info`` with every value of the group from ``values``, cut to the write length."""
    out = bytearray(read_info[: group.write_length])
    for spec in ta.specs_of(group):
        if spec.at + spec.width > group.write_length:
            continue
        raw = round(float(values[spec.name]) / spec.scale) + spec.offset
        out[spec.at : spec.at + spec.width] = raw.to_bytes(spec.width, "big")
    return bytes(out)


def read_request(address: int, group: ta.AsciiGroup) -> bytes:
    """``~25 ADR 46 <read CID2> 0000 CHKSUM`` + CR."""
    return ascii_codec.build_request(ascii_codec.V25, address, group.read_cid2)


def write_request(address: int, group: ta.AsciiGroup, info: bytes) -> bytes:
    """``~25 ADR 46 <write CID2> LENGTH INFO CHKSUM`` + CR."""
    return ascii_codec.build_request(ascii_codec.V25, address, group.write_cid2, info)


def group_of_cid2(cid2: int) -> tuple[ta.AsciiGroup, bool] | None:
    """``(group, is_write)`` for a settings CID2, else ``None``."""
    for group in ta.GROUPS:
        if cid2 == group.read_cid2:
            return group, False
        if cid2 == group.write_cid2:
            return group, True
    return None

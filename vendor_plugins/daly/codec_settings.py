"""Sans-IO DALY D2 settings codec: the 0x80-0xA8 block (+ 0xCF) to vocabulary values and back, from the table.

Every conversion goes through :mod:`.table_settings` (one source of truth for decode, encode and the simulator).
A write is function 06 per register (the vendor sheet: "supports modbus 3, 6, 16"; esphome-daly-bms writes its
numbers with 06; the real Daly-app capture writes 0xCF with 06 and the device echoes the request).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..battery_settings import Number
from ..errors import FrameError
from . import codec_d2 as d2
from . import table as t
from . import table_settings as ts


def word(block: bytes, register: int) -> int:
    """One register of the settings block (``block`` starts at 0x80)."""
    at = 2 * (register - ts.SETTINGS_START)
    if not 0 <= at <= len(block) - 2:
        raise FrameError(f"DALY settings block has no register 0x{register:02X}")
    return int.from_bytes(block[at : at + 2], "big")


def decode_raw(spec: ts.D2SettingSpec, raw: int) -> Number:
    """One register value in vocabulary units."""
    if spec.name == "balancer_enabled":
        return raw != 0
    value = (raw - spec.offset) * spec.scale
    if spec.signed_current:
        value = abs(value)
    return round(value, 6)


def encode_raw(spec: ts.D2SettingSpec, value: Number, previous_raw: int | None = None) -> int:
    """The register value for ``value`` (already validated); current limits keep the sign ``previous_raw`` has."""
    if spec.name == "balancer_enabled":
        return int(bool(value))
    counts = round(float(value) / spec.scale)
    if spec.signed_current:
        negative = spec.negative_by_default if previous_raw in (None, spec.offset) else previous_raw < spec.offset
        counts = -counts if negative else counts
    raw = counts + spec.offset
    if not 0 <= raw <= 0xFFFF:
        raise ValueError(f"{spec.name} {value} does not fit register 0x{spec.register:02X}")
    return raw


def decode_block(block: bytes, balancer: int | None = None) -> tuple[dict[str, Number], dict[int, int]]:
    """The values of the 41-register block (and of 0xCF when read): ``(values, raw registers)``."""
    if len(block) != 2 * ts.SETTINGS_REGS:
        raise FrameError(f"DALY settings block has {len(block)} bytes, expected {2 * ts.SETTINGS_REGS}")
    raws = {spec.register: word(block, spec.register) for spec in ts.BLOCK_SPECS}
    if balancer is not None:
        raws[ts.REG_BALANCER] = balancer
    values = {spec.name: decode_raw(spec, raws[spec.register]) for spec in ts.D2_SETTINGS if spec.register in raws}
    return values, raws


def cell_count(block: bytes) -> int | None:
    """Cells on acquisition boards 1-3 (0x83-0x85); ``None`` when the block says 0."""
    total = sum(word(block, register) for register in ts.REG_BOARD_CELLS)
    return total or None


def soc_raw(percent: float) -> int:
    """Register 0xA7 for ``percent`` (0.1 %)."""
    return round(percent / ts.SOC_STEP)


def build_writes(
    device: int, values: Mapping[str, Number], names: tuple[str, ...], previous: Mapping[int, int]
) -> list[tuple[str, bytes]]:
    """One function-06 request per name, in table order: ``[(name, request), ...]``."""
    out = []
    for spec in ts.D2_SETTINGS:
        if spec.name in names:
            raw = encode_raw(spec, values[spec.name], previous.get(spec.register))
            out.append((spec.name, d2.build_write(device, spec.register, raw)))
    return out


def read_request(device: int = t.D2_DEVICE) -> bytes:
    """``D2 03 00 80 00 29 96 5F`` — the settings read (golden request of esphome-daly-bms issue #9)."""
    return d2.build_read(device, ts.SETTINGS_START, ts.SETTINGS_REGS)

"""JBD settings codec, sans-IO: EEPROM register words ↔ settings in vocabulary units, and their frames.

Every settings register is one 16-bit big-endian word (PROTOCOLS.md §3.4-3.5). Several settings can share a word
(two one-byte delays, bits of the function register 0x2D): encoding a change starts from the word the device
holds, so the bits and bytes this library does not model are written back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..battery_settings import Number
from ..errors import FrameError
from . import codec
from . import table_settings as ts
from .table_settings import JbdSettingSpec


def build_read(register: int) -> bytes:
    """Request reading one settings register (e.g. ``0x10`` → ``dd a5 10 00 ff f0 77``)."""
    return codec.build_read(register)


def build_write(register: int, word: int) -> bytes:
    """Request writing one 16-bit word (e.g. 0x2D = 0x0006 → ``dd 5a 2d 02 00 06 ff cb 77``)."""
    return codec.build_write(register, (word & 0xFFFF).to_bytes(2, "big"))


def decode_word(payload: bytes, register: int) -> int:
    """The word a register read answered; :class:`FrameError` unless it is exactly two bytes."""
    if len(payload) != 2:
        raise FrameError(f"JBD register 0x{register:02X} answered {len(payload)} bytes, expected 2")
    return int.from_bytes(payload, "big")


def decode_value(spec: JbdSettingSpec, word: int) -> Number:
    """One setting from its register's word, in vocabulary units."""
    kind = spec.word.kind
    match spec.encoding:
        case "bit":
            return bool(word >> spec.bit & 1)
        case "hi":
            raw = word >> 8
        case "lo":
            raw = word & 0xFF
        case "s16":
            raw = word - 0x10000 if word & 0x8000 else word
        case "neg16":
            raw = -(word - 0x10000 if word & 0x8000 else word)
        case "kelvin":
            raw = word - ts.KELVIN_OFFSET
        case _:
            raw = word
    if kind == "int":
        return int(raw)
    return round(raw * spec.scale, 6)


def encode_value(spec: JbdSettingSpec, value: Number, word: int) -> int:
    """The register word holding ``value``, starting from the device's current ``word``."""
    if spec.encoding == "bit":
        mask = 1 << spec.bit
        return (word | mask) if value else (word & ~mask & 0xFFFF)
    raw = round(float(value) / spec.scale)
    match spec.encoding:
        case "hi":
            return (raw & 0xFF) << 8 | (word & 0xFF)
        case "lo":
            return (word & 0xFF00) | (raw & 0xFF)
        case "neg16":
            return -raw & 0xFFFF
        case "kelvin":
            return (raw + ts.KELVIN_OFFSET) & 0xFFFF
        case _:
            return raw & 0xFFFF


def decode_settings(words: Mapping[int, int]) -> dict[str, Number]:
    """Every setting whose register is in ``words``."""
    return {spec.name: decode_value(spec, words[spec.register]) for spec in ts.SPECS if spec.register in words}


def encode_changes(values: Mapping[str, Number], names: Iterable[str], words: Mapping[int, int]) -> dict[int, int]:
    """The registers to write for ``names`` (values from ``values``), in ascending register order.

    Settings sharing a register are merged into one word, starting from the device's ``words``.
    """
    out: dict[int, int] = {}
    for name in names:
        spec = ts.BY_NAME[name]
        current = out.get(spec.register, words[spec.register])
        out[spec.register] = encode_value(spec, values[name], current)
    return dict(sorted(out.items()))

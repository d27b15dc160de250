"""PACE ASCII INFO layouts, sans-IO: 0x42 analog and 0x44 warn information decoded and encoded, and the snapshot.

0x42 per pack (PROTOCOLS.md §4.3): ``INFOFLAG PACK M cell[M] N temp[N]`` then, in v0x25, ``current voltage(1 mV)
remaining P full cycles design`` (P = 0x09 variants append 14 bytes); in v0x20 (EG4) ``current voltage(10 mV)
remaining full cycles`` then an extension holding SoC and SoH. With COMMAND = 0xFF the PACK byte is the number of
pack blocks that follow. 0x44 (§4.4): ``INFOFLAG PACK M cellWarn[M] N tempWarn[N]`` then the three current/voltage
warn values and, in v0x25, ProtectState1/2, InstructionState, ControlState, FaultState, BalanceState1/2 and
WarnState1/2. Trailing bytes some firmware adds (an Easun pack sends one more byte) are kept, never lost.

Every encoder is the exact inverse of its decoder; the simulator answers with them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..errors import FrameError
from ..fields import pack, table_size, unpack
from ..model import Alarm, BmsSnapshot, Temperature, TemperatureKind
from . import table as t
from .codec_bits import Flags, bit_numbers

ANALOG_TAIL_SIZE = {t.VER_25: table_size(t.ANALOG_TAIL_25), t.VER_20: table_size(t.ANALOG_TAIL_20)}
_EXT_20_SIZE = table_size(t.ANALOG_EXT_20)


class _Reader:
    """Sequential reader over INFO bytes; running out is a :class:`FrameError`."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def take(self, size: int) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise FrameError(f"PACE {self.what} truncated: needs {end} bytes, has {len(self.data)}")
        chunk, self.pos = self.data[self.pos : end], end
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def words(self, count: int) -> tuple[int, ...]:
        return struct.unpack(f">{count}H", self.take(2 * count))

    def rest(self) -> bytes:
        chunk, self.pos = self.data[self.pos :], len(self.data)
        return chunk


def _temp_count(declared: int, version: int) -> int:
    return t.EG4_SENT_TEMPS if version == t.VER_20 and declared == t.EG4_DECLARED_TEMPS else declared


def _declared_temp_count(sent: int, version: int) -> int:
    return t.EG4_DECLARED_TEMPS if version == t.VER_20 and sent == t.EG4_SENT_TEMPS else sent


# --- 0x42 analog ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class AnalogBlock:
    """One pack's analog information in model units (V, A, Ah, °C)."""

    cells: tuple[float, ...]
    temperatures: tuple[float, ...]
    current: float
    voltage: float
    remaining_capacity: float
    full_capacity: float
    cycles: int
    design_capacity: float | None = None  # v0x20 EG4 sends none
    user_defined: int | None = t.USER_DEFINED_STANDARD  # v0x25 "P"
    extension: bytes = b""

    @property
    def reported_soc_soh(self) -> tuple[int, int] | None:
        """(SoC, SoH) % the v0x20 EG4 extension reports (constant 0x0F first), else None."""
        if len(self.extension) < _EXT_20_SIZE:
            return None
        ext = unpack(t.ANALOG_EXT_20, self.extension)
        if ext["ud_constant"] != 0x0F:
            return None
        return ext["soc"], ext["soh"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalogInfo:
    """A 0x42 answer: INFOFLAG, the PACK byte (pack number, or block count for COMMAND 0xFF) and the blocks."""

    infoflag: int
    pack: int
    blocks: tuple[AnalogBlock, ...]


def _decode_block(r: _Reader, version: int, last: bool) -> AnalogBlock:
    cells = tuple(t.CELL_MV.to_value(mv) for mv in r.words(r.byte()))
    temps = tuple(round((raw - t.TEMP_OFFSET) / 10, 1) for raw in r.words(_temp_count(r.byte(), version)))
    layout = t.ANALOG_TAIL_25 if version == t.VER_25 else t.ANALOG_TAIL_20
    raw = unpack(layout, r.take(ANALOG_TAIL_SIZE[version]))
    fields = {f.name: f for f in layout}

    def value(name: str) -> float:
        return fields[name].to_value(raw[name])

    if version == t.VER_25:
        user_defined: int | None = raw["user_defined"]
        design: float | None = value("design_capacity")
        extra = t.P9_EXTRA_BYTES if user_defined == t.USER_DEFINED_EXTENDED else 0
        extension = r.rest() if last else r.take(extra)
    else:
        user_defined, design, extension = None, None, r.rest()
    return AnalogBlock(
        cells=cells,
        temperatures=temps,
        current=value("current"),
        voltage=value("voltage"),
        remaining_capacity=value("remaining_capacity"),
        full_capacity=value("full_capacity"),
        cycles=raw["cycles"],
        design_capacity=design,
        user_defined=user_defined,
        extension=extension,
    )


def decode_analog(info: bytes, version: int = t.VER_25, *, all_packs: bool = False) -> AnalogInfo:
    """Decode a 0x42 INFO (``all_packs``: the answer to COMMAND 0xFF, PACK = number of blocks)."""
    r = _Reader(info, "analog information")
    infoflag, pack_byte = r.byte(), r.byte()
    count = pack_byte if all_packs else 1
    if count < 1:
        raise FrameError("PACE analog answer holds no pack block")
    blocks = tuple(_decode_block(r, version, last=n == count - 1) for n in range(count))
    return AnalogInfo(infoflag=infoflag, pack=pack_byte, blocks=blocks)


def _encode_block(block: AnalogBlock, version: int) -> bytes:
    out = bytearray((len(block.cells),))
    out += b"".join(t.CELL_MV.to_raw(v).to_bytes(2, "big") for v in block.cells)
    out.append(_declared_temp_count(len(block.temperatures), version))
    for celsius in block.temperatures:
        out += t.TEMP_DECIKELVIN.to_raw(celsius * 10 + t.TEMP_OFFSET).to_bytes(2, "big")
    layout = t.ANALOG_TAIL_25 if version == t.VER_25 else t.ANALOG_TAIL_20
    fields = {f.name: f for f in layout}
    values = {
        "current": block.current,
        "voltage": block.voltage,
        "remaining_capacity": block.remaining_capacity,
        "full_capacity": block.full_capacity,
        "design_capacity": block.design_capacity or 0.0,
    }
    raw = {name: fields[name].to_raw(v) for name, v in values.items() if name in fields}
    raw["cycles"] = block.cycles
    if version == t.VER_25:
        raw["user_defined"] = t.USER_DEFINED_STANDARD if block.user_defined is None else block.user_defined
    out += pack(layout, raw)
    return bytes(out + block.extension)


def encode_analog(info: AnalogInfo, version: int = t.VER_25) -> bytes:
    """Inverse of :func:`decode_analog`."""
    return bytes((info.infoflag, info.pack)) + b"".join(_encode_block(b, version) for b in info.blocks)


# --- 0x44 warn ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class WarnInfo:
    """A 0x44 answer for one pack: warn values and (v0x25) the state bytes by their table names."""

    infoflag: int
    pack: int
    cell_warn: tuple[int, ...]
    temp_warn: tuple[int, ...]
    states: dict[str, int] = field(default_factory=dict)
    extension: bytes = b""

    def state(self, name: str) -> int:
        """One state byte (0 when this variant does not carry it)."""
        return self.states.get(name, 0)


def decode_warn(info: bytes, version: int = t.VER_25) -> WarnInfo:
    """Decode a 0x44 INFO (v0x20: after the per-sensor warn values, variant-specific bytes kept as ``extension``)."""
    r = _Reader(info, "warn information")
    infoflag, pack_byte = r.byte(), r.byte()
    cell_warn = tuple(r.take(r.byte()))
    temp_warn = tuple(r.take(_temp_count(r.byte(), version)))
    layout = t.WARN_TAIL if version == t.VER_25 else t.WARN_TAIL_20
    states = unpack(layout, r.take(table_size(layout))) if layout else {}
    return WarnInfo(
        infoflag=infoflag,
        pack=pack_byte,
        cell_warn=cell_warn,
        temp_warn=temp_warn,
        states=states,
        extension=r.rest(),
    )


def encode_warn(info: WarnInfo, version: int = t.VER_25) -> bytes:
    """Inverse of :func:`decode_warn`."""
    layout = t.WARN_TAIL if version == t.VER_25 else t.WARN_TAIL_20
    out = bytearray((info.infoflag, info.pack, len(info.cell_warn), *info.cell_warn))
    out += bytes((_declared_temp_count(len(info.temp_warn), version), *info.temp_warn))
    if layout:
        out += pack(layout, {f.name: info.state(f.name) for f in layout})
    return bytes(out + info.extension)


# --- the model ---------------------------------------------------------------------------------------------------
def temperatures_of(values: tuple[float, ...]) -> tuple[Temperature, ...]:
    """Named readings: T1-T4 cells, T5 MOSFET, T6 environment."""
    out = []
    for i, celsius in enumerate(values):
        name, kind = t.temperature_sensor(i, len(values))
        out.append(Temperature(name, kind, celsius))
    return tuple(out)


def _warn_values(warn: WarnInfo, kinds: list[TemperatureKind], flags: Flags) -> None:
    fault_value, fault_alarm = t.CELL_FAULT_VALUE
    for n, value in enumerate(warn.cell_warn, 1):
        if value:
            flags.raw[f"cell_{n}_warn"] = value
            if value == fault_value:
                flags.alarms.add(fault_alarm)
            elif value in t.CELL_WARN:
                flags.warnings.add(t.CELL_WARN[value])
    temp_fault, temp_alarm = t.TEMP_FAULT_VALUE
    for n, value in enumerate(warn.temp_warn):
        if value:
            flags.raw[f"temp_{n + 1}_warn"] = value
            kind = kinds[n] if n < len(kinds) else TemperatureKind.OTHER
            if value == temp_fault:
                flags.alarms.add(temp_alarm)
            elif value in t.TEMP_WARN.get(kind, {}):
                flags.warnings.add(t.TEMP_WARN[kind][value])
    for name, mapping in t.CURRENT_VOLTAGE_WARN.items():
        value = warn.state(name)
        if value:
            flags.raw[name] = value
            if value in mapping:
                flags.warnings.add(mapping[value])


def warn_flags(warn: WarnInfo, temp_count: int, version: int = t.VER_25) -> Flags:
    """Alarms, warnings and named raw flags of a 0x44 answer."""
    flags = Flags()
    kinds = [t.temperature_sensor(i, temp_count)[1] for i in range(temp_count)]
    _warn_values(warn, kinds, flags)
    if version == t.VER_25:
        for name, table, severity in t.STATE_BYTES:
            flags.raw[name] = warn.state(name)
            flags.add(warn.state(name), table, severity)
    if warn.extension:
        flags.raw["warn_extension"] = warn.extension.hex().upper()
    return flags


def soh_of(block: AnalogBlock) -> float | None:
    """SoH %: what v0x20 reports, else full / design * 100 clamped to 100 (as nkinnan does)."""
    reported = block.reported_soc_soh
    if reported is not None:
        return float(reported[1])
    if not block.design_capacity:
        return None
    return min(100.0, round(100.0 * block.full_capacity / block.design_capacity, 1))


#: Trailing bytes a v0x25 0x44 answer may carry beyond the documented layout (an Easun variant adds one).
MAX_WARN_EXTENSION = 2


def to_snapshot(
    block: AnalogBlock, warn: WarnInfo | None, *, version: int = t.VER_25, infoflag: int = 0
) -> BmsSnapshot:
    """One pack's snapshot from its 0x42 block and (when read) its 0x44 answer."""
    reported = block.reported_soc_soh
    raw: dict[str, int | str] = {"infoflag": infoflag, "cell_count": len(block.cells)}
    if block.user_defined is not None:
        raw["user_defined"] = block.user_defined
    if block.extension:
        raw["analog_extension"] = block.extension.hex().upper()
    alarms: frozenset[Alarm] = frozenset()
    warnings: frozenset[Alarm] = frozenset()
    charge = discharge = None
    balancing = None
    if warn is not None:
        # PACE answers do not say which command they answer: a late 0x42 reply taken as the 0x44 answer (or the
        # reverse) shows up as a pack shape that disagrees. Never combine two answers that describe different packs.
        if len(warn.cell_warn) != len(block.cells) or len(warn.temp_warn) != len(block.temperatures):
            raise FrameError(
                f"PACE warn answer describes {len(warn.cell_warn)} cells / {len(warn.temp_warn)} sensors, the analog"
                f" answer {len(block.cells)} / {len(block.temperatures)}: not answers for the same pack"
            )
        if version == t.VER_25 and len(warn.extension) > MAX_WARN_EXTENSION:
            raise FrameError(f"PACE warn answer has {len(warn.extension)} unexpected trailing bytes")
        flags = warn_flags(warn, len(block.temperatures), version)
        alarms, warnings = frozenset(flags.alarms), frozenset(flags.warnings)
        raw.update(flags.raw)
        if version == t.VER_25:
            instruction = warn.state("instruction_state")
            charge = bool(instruction >> t.CFET_BIT & 1)
            discharge = bool(instruction >> t.DFET_BIT & 1)
            balancing = bit_numbers(warn.state("balance_state_1")) | bit_numbers(warn.state("balance_state_2"), 9)
    return BmsSnapshot(
        voltage=block.voltage,
        current=block.current,
        soc=None if reported is None else float(reported[0]),
        soh=soh_of(block),
        remaining_capacity=block.remaining_capacity,
        full_capacity=block.full_capacity,
        design_capacity=block.design_capacity,
        cycles=block.cycles,
        cell_voltages=block.cells,
        temperatures=temperatures_of(block.temperatures),
        charge_mosfet=charge,
        discharge_mosfet=discharge,
        balancing=balancing,
        alarms=alarms,
        warnings=warnings,
        raw=raw,
    )

"""The JBD simulator's settings: EEPROM words, factory-mode staging, the device's own checks, and protections.

Behaviour (the real board's, where public sources show it; the simulator's choice where they do not, marked *):

* settings registers are read and written only inside factory mode (0x00 = 5678), as the phone app does; outside
  it they answer the error status*;
* writes are staged and take effect on "exit and save" (0x01 = 2828); "exit without saving" (0x0000), a new
  factory-mode entry or a dropped link discard them*; reads inside factory mode show the staged words*;
* a write whose value lies outside the table's range (:mod:`.table_settings`), or that changes a read-only
  setting, is answered with the error status 0x80 and not staged (JBD documents no limits: the simulator enforces
  the library's table, so the two agree by construction)*;
* saved thresholds act on the simulated pack at once (no delays), from the first save on*: a cell, pack or
  temperature beyond a protection raises that protection and opens the MOSFET it guards; below the release value it
  clears again;
* design capacity (0x10) is the pack's full capacity in 0x03, cell count (0x2F) its number of cells, and the
  remaining capacity (0xE0) its charge counter.

Tests may set ``ignore_registers`` to make the device acknowledge a write and silently keep the old value, and
``refuse_registers`` to make it refuse a write the table allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..framing import Frame
from ..model import Alarm
from . import codec, codec_settings
from . import table as t
from . import table_settings as ts


class JbdState(Protocol):
    """What the settings act on: the simulated pack (``simulator.JbdState``; a protocol, so no import circle)."""

    cell_voltages: list[float]
    temperatures: list[float]
    voltage: float | None
    alarms: set[Alarm]
    charge_mosfet: bool
    discharge_mosfet: bool
    design_capacity: float
    remaining_capacity: float
    soc: int | None


#: The settings words of the real 4S LiFePO4 capture (see tests/vendor_plugins/jbd/test_settings_codec.py), with
#: capacities matching the simulator's default 100 Ah pack.
DEFAULT_WORDS: dict[int, int] = {
    0x10: 10000, 0x11: 8000, 0x12: 0x0DAC, 0x13: 0x0AF0, 0x14: 0x0002,
    0x18: 0x0D99, 0x19: 0x0CD1, 0x1A: 0x0A47, 0x1B: 0x0AAB, 0x1C: 0x0D99, 0x1D: 0x0CD1, 0x1E: 0x0A47, 0x1F: 0x0AAB,
    0x20: 0x05B4, 0x21: 0x058C, 0x22: 0x03E8, 0x23: 0x0438, 0x24: 0x0E42, 0x25: 0x0DDE, 0x26: 0x09C4, 0x27: 0x0A8C,
    0x28: 0x59D8, 0x29: 0xA628, 0x2A: 0x0C80, 0x2B: 0x001E, 0x2D: 0x0006, 0x2F: 4,
    0x32: 0x0D48, 0x33: 0x0D16, 0x34: 0x0CE4, 0x35: 0x0C1C, 0x36: 0x0F3C, 0x37: 0x07D0,
    0x3A: 0x0202, 0x3B: 0x0202, 0x3C: 0x0202, 0x3D: 0x0202, 0x3E: 0x0A1E, 0x3F: 0x0A1E,
}  # fmt: skip

_WRITABLE_REGISTERS = frozenset(ts.REGISTERS) | {ts.REG_REMAINING_CAPACITY}

#: Protection → (setting prefix, what it measures, the MOSFET it opens: "charge" / "discharge").
_PROTECTIONS: tuple[tuple[Alarm, str, str, bool, str], ...] = (
    (Alarm.CELL_OVERVOLTAGE, "cell_overvoltage", "cell_max", True, "charge"),
    (Alarm.CELL_UNDERVOLTAGE, "cell_undervoltage", "cell_min", False, "discharge"),
    (Alarm.PACK_OVERVOLTAGE, "pack_overvoltage", "pack", True, "charge"),
    (Alarm.PACK_UNDERVOLTAGE, "pack_undervoltage", "pack", False, "discharge"),
    (Alarm.CHARGE_OVERTEMP, "charge_overtemp", "temp_max", True, "charge"),
    (Alarm.CHARGE_UNDERTEMP, "charge_undertemp", "temp_min", False, "charge"),
    (Alarm.DISCHARGE_OVERTEMP, "discharge_overtemp", "temp_max", True, "discharge"),
    (Alarm.DISCHARGE_UNDERTEMP, "discharge_undertemp", "temp_min", False, "discharge"),
)


def _measure(state: JbdState, what: str) -> float | None:
    cells, temps = state.cell_voltages, state.temperatures
    match what:
        case "cell_max":
            return max(cells) if cells else None
        case "cell_min":
            return min(cells) if cells else None
        case "pack":
            return state.voltage if state.voltage is not None else sum(cells)
        case "temp_max":
            return max(temps) if temps else None
        case _:
            return min(temps) if temps else None


@dataclass(slots=True)
class JbdSimSettings:
    """Settings kept by a simulated JBD pack."""

    words: dict[int, int] = field(default_factory=lambda: dict(DEFAULT_WORDS))
    #: Words written in the open factory-mode session (``None``: not in factory mode).
    staged: dict[int, int] | None = None
    #: Registers whose writes are acknowledged but never applied (a misbehaving device, for tests).
    ignore_registers: set[int] = field(default_factory=set)
    #: Registers whose writes are answered with the error status whatever the value (a stricter device, for tests).
    refuse_registers: set[int] = field(default_factory=set)
    #: Protections this store raised (it clears only these; other alarms belong to the simulator).
    tripped: set[Alarm] = field(default_factory=set)
    #: MOSFETs this store opened, to close again when their protections clear.
    opened: set[str] = field(default_factory=set)
    #: Whether the thresholds act on the pack: from the first save on (a pack given a state, such as a replayed
    #: capture, keeps it until someone changes a setting).
    active: bool = False
    _sized: bool = False

    def values(self) -> dict[str, float | int | bool]:
        """The saved settings in vocabulary units."""
        return codec_settings.decode_settings(self.words)

    def handle(self, frame: Frame, state: JbdState) -> bytes | None:
        """Answer a settings request, or ``None`` for the simulator's own handling (factory enter/exit included)."""
        self._sync(state)
        self.protect(state)
        register, read = frame.command, frame.status == t.MODE_READ
        if read:
            if register not in ts.REGISTERS:
                return None
            if self.staged is None:
                return codec.build_response(register, b"", t.STATUS_ERROR)
            word = self.staged.get(register, self.words[register])
            return codec.build_response(register, word.to_bytes(2, "big"))
        if register == t.REG_FACTORY_ENTER:
            self.staged = {} if frame.payload == t.FACTORY_ENTER_KEY else self.staged
            return None
        if register == t.REG_FACTORY_EXIT:
            if frame.payload == ts.FACTORY_EXIT_SAVE and self.staged is not None:
                self._save(state)
            self.staged = None
            return None
        if register not in _WRITABLE_REGISTERS:
            return None
        if self.staged is None or len(frame.payload) != 2 or not self._accepts(register, frame.payload, state):
            return codec.build_response(register, b"", t.STATUS_ERROR)
        self.staged[register] = int.from_bytes(frame.payload, "big")
        return codec.build_response(register, b"")

    def dropped(self) -> None:
        """The link went away: an unsaved factory-mode session is discarded."""
        self.staged = None

    def _accepts(self, register: int, data: bytes, state: JbdState) -> bool:
        word = int.from_bytes(data, "big")
        if register in self.refuse_registers:
            return False
        if register == ts.REG_REMAINING_CAPACITY:
            return word * 0.01 <= state.design_capacity + 1e-9
        old = self.staged.get(register, self.words[register]) if self.staged is not None else self.words[register]
        for spec in ts.SPECS:
            if spec.register != register:
                continue
            value, before = codec_settings.decode_value(spec, word), codec_settings.decode_value(spec, old)
            if not spec.writable and value != before:
                return False
            if not spec.minimum - 1e-9 <= float(value) <= spec.maximum + 1e-9:
                return False
        return True

    def _sync(self, state: JbdState) -> None:
        if not self._sized:  # the default pack thresholds are for 4 cells: scale them to the pack
            self._sized = True
            cells = len(state.cell_voltages)
            for register in (0x20, 0x21, 0x22, 0x23):
                self.words[register] = round(self.words[register] * cells / 4) & 0xFFFF
        self.words[0x10] = round(state.design_capacity / 0.01) & 0xFFFF
        self.words[0x2F] = len(state.cell_voltages)

    def _save(self, state: JbdState) -> None:
        staged = {reg: word for reg, word in (self.staged or {}).items() if reg not in self.ignore_registers}
        remaining = staged.pop(ts.REG_REMAINING_CAPACITY, None)
        self.words.update(staged)
        if remaining is not None:
            state.remaining_capacity = round(remaining * 0.01, 2)
            state.soc = None
        if 0x10 in staged:
            state.design_capacity = round(staged[0x10] * 0.01, 2)
        self.active = True
        self.protect(state)

    def protect(self, state: JbdState) -> None:
        """Raise or clear the protections the saved thresholds call for, opening or closing their MOSFETs."""
        if not self.active:
            return
        values = self.values()
        for alarm, prefix, what, high, _fet in _PROTECTIONS:
            measured = _measure(state, what)
            protect, release = values.get(f"{prefix}_protect"), values.get(f"{prefix}_release")
            if measured is None or protect is None or release is None:
                continue
            beyond = measured >= protect if high else measured <= protect
            back = measured <= release if high else measured >= release
            if beyond and alarm not in self.tripped:
                self.tripped.add(alarm)
                state.alarms.add(alarm)
            elif back and alarm in self.tripped:
                self.tripped.discard(alarm)
                state.alarms.discard(alarm)
        for fet in ("charge", "discharge"):
            blocked = any(alarm in self.tripped and side == fet for alarm, _, _, _, side in _PROTECTIONS)
            attr = f"{fet}_mosfet"
            if blocked and getattr(state, attr):
                setattr(state, attr, False)
                self.opened.add(fet)
            elif not blocked and fet in self.opened:
                self.opened.discard(fet)
                if Alarm.SOFTWARE_LOCK not in state.alarms:
                    setattr(state, attr, True)

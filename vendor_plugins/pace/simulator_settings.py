"""The settings a simulated PACE pack keeps, answered over Modbus (60-114) and ASCII v0x25, and their effect.

One :class:`PaceSettingsSim` holds the values in vocabulary units (starting as the real pack of the PbmsTools
capture, :data:`~.table_settings.DEFAULTS`) and the undecoded bytes of each ASCII reply (the capture's own, so a
read answers exactly the captured INFO). A write with any value outside the vendor tool's range is refused as a
whole, changing nothing: Modbus exception 3 (illegal data value; the V1.3 PDF lists code 3 "illegal operation"),
ASCII RTN 0x09 ("operation or write error"). How a real pack answers such a write is not documented publicly:
both answers are the protocols' own error replies and our assumption. :meth:`PaceSettingsSim.apply` makes the
voltage thresholds act: a cell at or above the over-voltage protection raises that protection and opens the charge
MOSFET until the cells fall below the release value; under-voltage likewise opens the discharge MOSFET; the
warnings follow the alarm values. It acts in a live pack, and in a static one once a setting was written.
``ignored`` names settings the pack acknowledges but silently does not store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from ..errors import FrameError
from ..model import Alarm
from . import codec_settings as codec
from . import table_settings_ascii as ta
from . import table_settings_modbus as tm
from .simulator_state import PaceState
from .table_settings import DEFAULTS

MODBUS_ILLEGAL_VALUE: Final = 3
RTN_WRITE_ERROR: Final = 0x09

#: The read replies' INFO in the PbmsTools capture (nkinnan v25.h / syssi pbmstools-communication.md): the bytes
#: nobody decoded (leading 01/00, the sleep group's third byte, E3's trailing three) come from here.
TEMPLATES: Final[dict[int, str]] = {
    0xD1: "010E100E740D340A",
    0xD5: "01E100E740D2F00A",
    0xD3: "010AF009C40B540A",
    0xD7: "01AF009C40B5400A",
    0xD9: "010068006E0A",
    0xDB: "01FF97FF920A",
    0xE3: "009604009604",
    0xE5: "0C",
    0xB6: "0D48001E",
    0xA0: "0C1C0005",
    0xAF: "DAC007D005",
    0xDD: "010CA80CD00C9E0CDA0D020CD0",
    0xDF: "010AAA0A780AAA0A1409E20A14",
    0xE1: "010E2E0EF60DFC",
    0xE7: "0109E209B009E20D340D660D34",
}


@dataclass(slots=True)
class PaceSettingsSim:
    """One pack's settings."""

    values: dict[str, float] = field(default_factory=lambda: dict(DEFAULTS))
    templates: dict[int, bytes] = field(default_factory=lambda: {k: bytes.fromhex(v) for k, v in TEMPLATES.items()})
    ignored: set[str] = field(default_factory=set)
    acting: bool = False
    raised: set[tuple[str, Alarm]] = field(default_factory=set)
    opened: set[str] = field(default_factory=set)

    # --- checks ---------------------------------------------------------------------------------------------------
    def _store(self, new: dict[str, float], state: PaceState) -> bool:
        """Store ``new`` if every value is within the pack's range (all or nothing)."""
        for name, value in new.items():
            spec = tm.BY_NAME.get(name) or ta.BY_NAME[name]
            if not spec.minimum - spec.step / 2 <= value <= spec.maximum + spec.step / 2:
                return False
        self.values.update({k: v for k, v in new.items() if k not in self.ignored})
        self.acting = True
        self.apply(state)
        return True

    # --- Modbus ---------------------------------------------------------------------------------------------------
    def registers(self) -> list[int]:
        """Registers 60-114."""
        return [codec.encode_register(spec, self.values[spec.name]) for spec in tm.MODBUS_SETTINGS]

    def write_registers(self, first: int, raws: Sequence[int], state: PaceState) -> int | None:
        """An FC 0x10 write: the exception code a pack would answer, or ``None`` (accepted)."""
        if first < tm.FIRST or first + len(raws) > tm.FIRST + tm.COUNT:
            return 2
        new = {
            tm.BY_REGISTER[first + n].name: codec.decode_register(tm.BY_REGISTER[first + n], raw)
            for n, raw in enumerate(raws)
        }
        return None if self._store(new, state) else MODBUS_ILLEGAL_VALUE

    # --- ASCII ----------------------------------------------------------------------------------------------------
    def read_info(self, group: ta.AsciiGroup) -> bytes:
        """The INFO of ``group``'s read reply."""
        return codec.encode_read_info(group, self.templates[group.read_cid2], self.values)

    def write_info(self, group: ta.AsciiGroup, info: bytes, state: PaceState) -> int:
        """A parameter write: the RTN a pack would answer."""
        try:
            new = codec.decode_group(group, info, write=True)
        except FrameError:
            return RTN_WRITE_ERROR
        if not self._store({k: float(v) for k, v in new.items()}, state):
            return RTN_WRITE_ERROR
        template = bytearray(self.templates[group.read_cid2])
        template[: len(info)] = info  # undecoded bytes as written (DB: the values are rewritten on reads anyway)
        self.templates[group.read_cid2] = bytes(template)
        return 0

    # --- effect on the pack ---------------------------------------------------------------------------------------
    def apply(self, state: PaceState) -> None:
        """Raise or release the cell voltage protections and warnings, opening or closing MOSFETs."""
        if not state.cells:
            return
        v = self.values
        high, low = max(state.cells), min(state.cells)
        over_on = high >= v["cell_overvoltage_protect"] - 1e-9
        over_keep = ("p", Alarm.CELL_OVERVOLTAGE) in self.raised and high >= v["cell_overvoltage_release"]
        under_on = low <= v["cell_undervoltage_protect"] + 1e-9
        under_keep = ("p", Alarm.CELL_UNDERVOLTAGE) in self.raised and low <= v["cell_undervoltage_release"]
        self._flag(state.alarms, ("p", Alarm.CELL_OVERVOLTAGE), over_on or over_keep)
        self._flag(state.alarms, ("p", Alarm.CELL_UNDERVOLTAGE), under_on or under_keep)
        self._flag(state.warnings, ("w", Alarm.CELL_OVERVOLTAGE), high >= v["cell_overvoltage_alarm"] - 1e-9)
        self._flag(state.warnings, ("w", Alarm.CELL_UNDERVOLTAGE), low <= v["cell_undervoltage_alarm"] + 1e-9)
        self._mosfet(state, "charge", over_on or over_keep)
        self._mosfet(state, "discharge", under_on or under_keep)

    def _flag(self, target: set[Alarm], key: tuple[str, Alarm], active: bool) -> None:
        if active and key[1] not in target:
            target.add(key[1])
            self.raised.add(key)
        elif not active and key in self.raised:
            target.discard(key[1])
            self.raised.discard(key)

    def _mosfet(self, state: PaceState, which: str, protect: bool) -> None:
        attr = f"{which}_mosfet"
        if protect and getattr(state, attr):
            setattr(state, attr, False)
            self.opened.add(which)
        elif not protect and which in self.opened:
            setattr(state, attr, True)
            self.opened.discard(which)

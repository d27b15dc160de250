"""The settings a simulated DALY D2 pack keeps (registers 0x80-0xA8), its limits, and their effect on the pack.

Writes go through :meth:`D2SettingsSim.write`: a table row whose decoded value is outside the table's range, a SoC
above 100 %, or a switch value other than 0/1 gets Modbus exception 3 (illegal data value). How a real unit answers
an out-of-range write is not documented anywhere public: exception 3 is the protocol's own answer and our
assumption. :meth:`D2SettingsSim.apply` makes the thresholds act on the simulated pack: a cell at or above the cell
over-voltage protection (level 2) raises that fault and opens the charge MOSFET, at or above the warning (level 1)
raises the warning; under-voltage likewise opens the discharge MOSFET. A MOSFET the settings opened closes again
once the cause is gone. This acts in a live pack, and in a static one once a setting was written (a static pack
replaying a capture is never changed by thresholds nobody set). ``ignored`` names settings the unit echoes but
silently does not store (for tests of :class:`~vendor_plugins.errors.ControlNotConfirmed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from . import codec_settings as codec
from . import table as t
from . import table_settings as ts
from .simulator_state import DalyState

ILLEGAL_ADDRESS: Final = 2
ILLEGAL_VALUE: Final = 3

#: A 16S LiFePO4 configuration (values a Daly unit ships with are not public; these are plausible ones).
DEFAULTS: Final[dict[str, float]] = {
    "sleep_delay": 3600,
    "cell_overvoltage_alarm": 3.55,
    "cell_overvoltage_protect": 3.65,
    "cell_undervoltage_alarm": 2.9,
    "cell_undervoltage_protect": 2.7,
    "pack_overvoltage_alarm": 56.8,
    "pack_overvoltage_protect": 58.4,
    "pack_undervoltage_alarm": 46.4,
    "pack_undervoltage_protect": 43.2,
    "charge_overcurrent_alarm": 100.0,
    "charge_overcurrent_protect": 110.0,
    "discharge_overcurrent_alarm": 140.0,
    "discharge_overcurrent_protect": 150.0,
    "charge_overtemp_alarm": 50,
    "charge_overtemp_protect": 55,
    "charge_undertemp_alarm": 5,
    "charge_undertemp_protect": 0,
    "discharge_overtemp_alarm": 55,
    "discharge_overtemp_protect": 60,
    "discharge_undertemp_alarm": -10,
    "discharge_undertemp_protect": -20,
    "cell_delta_alarm": 0.2,
    "cell_delta_protect": 0.3,
    "temp_delta_alarm": 10,
    "temp_delta_protect": 15,
    "balance_start_voltage": 3.4,
    "balance_delta_voltage": 0.03,
    "mosfet_overtemp_protect": 90,
}
_BOARD_DEFAULTS: Final = {0x81: 3200, 0x82: 1, 0x83: 16, 0x86: 2, 0x89: 0}


def default_registers() -> dict[int, int]:
    """The raw block 0x81-0xA8 of :data:`DEFAULTS` (0x80 and 0xA5-0xA7 come from the pack state)."""
    raws = dict(_BOARD_DEFAULTS)
    for spec in ts.BLOCK_SPECS:
        if spec.name in DEFAULTS:
            raws[spec.register] = codec.encode_raw(spec, DEFAULTS[spec.name])
    return raws


@dataclass(slots=True)
class D2SettingsSim:
    """Registers 0x81-0xA8 of one simulated unit (0x80 is the state's rated capacity, 0xCF its balancer switch)."""

    registers: dict[int, int] = field(default_factory=default_registers)
    ignored: set[str] = field(default_factory=set)
    #: Faults this object raised and MOSFETs it opened (so that it only ever undoes its own doing).
    raised: set[str] = field(default_factory=set)
    opened: set[str] = field(default_factory=set)
    #: Set by the first settings write: from then on (and always in a live pack) the thresholds act on the pack.
    #: A static pack replaying a capture is never changed by thresholds nobody set.
    acting: bool = False

    def words(self, state: DalyState) -> dict[int, int]:
        """Every settings register as the unit answers it (0xA7 reads back the current SoC, as a unit shows it)."""
        out = {register: self.registers.get(register, 0) for register in range(0x81, 0xA9)}
        out[ts.SETTINGS_START] = round(state.rated_capacity * 10)
        out[t.D2_REG_CHARGE_SWITCH] = int(state.charge_mosfet)
        out[t.D2_REG_DISCHARGE_SWITCH] = int(state.discharge_mosfet)
        out[ts.REG_SOC] = codec.soc_raw(state.state_of_charge)
        return out

    def handles(self, register: int) -> bool:
        """Whether ``register`` is a settings register this object takes writes for."""
        return ts.SETTINGS_START <= register <= 0xA8 and register not in (
            t.D2_REG_CHARGE_SWITCH,
            t.D2_REG_DISCHARGE_SWITCH,
        )

    def write(self, register: int, value: int, state: DalyState) -> int | None:
        """Apply one function-06 write; the exception code a unit would answer, or ``None`` (echo)."""
        if register == ts.REG_SOC:
            if value > 1000:
                return ILLEGAL_VALUE
            state.soc = value / 10
            state.remaining_capacity = round(state.rated_capacity * value / 1000, 1)
            return None
        spec = next((s for s in ts.D2_SETTINGS if s.register == register), None)
        if spec is None:  # board layout registers: stored as given (R/W in the vendor sheet)
            self.registers[register] = value
            return None
        decoded = codec.decode_raw(spec, value)  # current limits: the magnitude, whichever sign is stored
        if not spec.minimum - spec.step / 2 <= float(decoded) <= spec.maximum + spec.step / 2:
            return ILLEGAL_VALUE
        if spec.name in self.ignored:
            return None
        self.acting = True
        if register == ts.SETTINGS_START:
            state.rated_capacity = float(decoded)
        else:
            self.registers[register] = value
        self.apply(state)
        return None

    def value(self, name: str, state: DalyState) -> float:
        """One setting in vocabulary units."""
        spec = ts.BY_NAME[name]
        return float(codec.decode_raw(spec, self.words(state)[spec.register]))

    def apply(self, state: DalyState) -> None:
        """Raise or clear the voltage warnings/protections the thresholds imply, opening or closing MOSFETs."""
        if not state.cell_voltages:
            return
        high, low = max(state.cell_voltages), min(state.cell_voltages)
        checks = (
            ("cell_overvoltage", high >= self.value("cell_overvoltage_alarm", state) - 1e-9,
             high >= self.value("cell_overvoltage_protect", state) - 1e-9, "charge"),
            ("cell_undervoltage", low <= self.value("cell_undervoltage_alarm", state) + 1e-9,
             low <= self.value("cell_undervoltage_protect", state) + 1e-9, "discharge"),
        )  # fmt: skip
        for name, warn, protect, mosfet in checks:
            for level, active in (("_l1", warn), ("_l2", protect)):
                fault = name + level
                if active and fault not in state.faults:
                    state.faults.add(fault)
                    self.raised.add(fault)
                elif not active and fault in self.raised:
                    state.faults.discard(fault)
                    self.raised.discard(fault)
            self._mosfet(state, mosfet, protect)

    def _mosfet(self, state: DalyState, which: str, protect: bool) -> None:
        attr = f"{which}_mosfet"
        if protect and getattr(state, attr):
            setattr(state, attr, False)
            self.opened.add(which)
        elif not protect and which in self.opened:
            setattr(state, attr, True)
            self.opened.discard(which)

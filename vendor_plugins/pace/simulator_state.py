"""The state of a simulated PACE pack, and how each protocol's answer is generated from it.

One :class:`PaceState` feeds both simulators: the ASCII one (0x42 / 0x44 / device info / control) and the Modbus
one (registers 0-36 and 150-179). :meth:`PaceState.from_ascii` builds the state that reproduces a real capture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Alarm
from . import table as t
from .codec_ascii_layout import AnalogBlock, AnalogInfo, WarnInfo, soh_of
from .codec_bits import encode_flags
from .codec_modbus import PackRegisters, status_flag


@dataclass(slots=True, kw_only=True)
class PaceState:
    """Everything a PACE pack reports, in model units at the protocols' resolution."""

    cells: list[float] = field(default_factory=lambda: [3.301 + 0.001 * (i % 3) for i in range(16)])
    voltage: float | None = None  # None: the sum of the cells
    current: float = 0.0
    remaining_capacity: float = 80.0
    full_capacity: float = 100.0
    design_capacity: float = 100.0
    cycles: int = 42
    temperatures: list[float] = field(default_factory=lambda: [24.5, 24.3, 24.4, 24.6, 26.1, 23.8])
    charge_mosfet: bool = True
    discharge_mosfet: bool = True
    balancing: set[int] = field(default_factory=set)
    #: Protections and faults (ProtectState1/2, FaultState) and warnings (WarnState1/2).
    alarms: set[Alarm] = field(default_factory=set)
    warnings: set[Alarm] = field(default_factory=set)
    #: Per-cell / per-sensor warn values (1-based cell / sensor number → value) and the pack-level ones by name.
    cell_warn: dict[int, int] = field(default_factory=dict)
    temp_warn: dict[int, int] = field(default_factory=dict)
    pack_warn: dict[str, int] = field(default_factory=dict)
    #: Named status bits of the tables that map to no alarm (e.g. "fully_charged", "buzzer_warning_enabled").
    named_bits: set[str] = field(default_factory=set)
    #: None: InstructionState's charging/discharging bits follow the current; else these exact extra bits.
    instruction_extra: int | None = None
    control_state: int = 0
    infoflag: int = 0
    user_defined: int = t.USER_DEFINED_STANDARD
    analog_extension: bytes = b""
    warn_extension: bytes = b""
    soc: int | None = None  # None: remaining / full (v0x20 and Modbus report it)
    soh: int | None = None  # None: full / design clamped to 100
    software_version: str = "P16S100A-SIM-1.00"
    serial_number: str = "SIM0000000001"
    model_serial: str = "PACE-SIM-16S"
    pack_count: int = 1

    # --- shared derived values -------------------------------------------------------------------------------
    @property
    def pack_voltage(self) -> float:
        """The reported pack voltage (the cell sum at 1 mV when not set)."""
        return self.voltage if self.voltage is not None else round(sum(self.cells), 3)

    @property
    def soc_percent(self) -> int:
        """Reported SoC %."""
        if self.soc is not None:
            return self.soc
        if not self.full_capacity:
            return 0
        return max(0, min(100, round(100 * self.remaining_capacity / self.full_capacity)))

    @property
    def soh_percent(self) -> int:
        """Reported SoH %."""
        if self.soh is not None:
            return self.soh
        return round(min(100.0, 100 * self.full_capacity / self.design_capacity)) if self.design_capacity else 100

    # --- ASCII ----------------------------------------------------------------------------------------------------
    def analog_block(self, version: int = t.VER_25) -> AnalogBlock:
        """The 0x42 block of this pack."""
        extension = self.analog_extension
        if version == t.VER_20 and not extension:
            extension = bytes((0x0F,)) + self.soc_percent.to_bytes(2, "big") + self.soh_percent.to_bytes(2, "big")
        voltage = round(self.pack_voltage, 2) if version == t.VER_20 else self.pack_voltage
        return AnalogBlock(
            cells=tuple(self.cells),
            temperatures=tuple(self.temperatures),
            current=self.current,
            voltage=voltage,
            remaining_capacity=self.remaining_capacity,
            full_capacity=self.full_capacity,
            cycles=self.cycles,
            design_capacity=self.design_capacity if version == t.VER_25 else None,
            user_defined=self.user_defined if version == t.VER_25 else None,
            extension=extension,
        )

    def analog_info(self, address: int, version: int = t.VER_25) -> AnalogInfo:
        """The 0x42 INFO this pack sends for COMMAND = ``address``."""
        return AnalogInfo(infoflag=self.infoflag, pack=address, blocks=(self.analog_block(version),))

    def instruction_state(self) -> int:
        """InstructionState: CFET/DFET from the MOSFETs, charging/discharging from the current (or as set)."""
        value = self.charge_mosfet << t.CFET_BIT | self.discharge_mosfet << t.DFET_BIT
        if self.instruction_extra is not None:
            return value | self.instruction_extra
        named = encode_flags((), t.INSTRUCTION_STATE, self.named_bits)
        return value | named | (self.current > 0) << t.CHARGING_BIT | (self.current < 0) << t.DISCHARGING_BIT

    def warn_info(self, address: int, version: int = t.VER_25) -> WarnInfo:
        """The 0x44 INFO this pack sends."""
        states: dict[str, int] = {}
        if version == t.VER_25:
            balance = sum(1 << (cell - 1) for cell in self.balancing)
            states = {
                "charge_current_warn": self.pack_warn.get("charge_current_warn", 0),
                "total_voltage_warn": self.pack_warn.get("total_voltage_warn", 0),
                "discharge_current_warn": self.pack_warn.get("discharge_current_warn", 0),
                "protect_state_1": encode_flags(self.alarms, t.PROTECT_STATE_1, self.named_bits),
                "protect_state_2": encode_flags(self.alarms, t.PROTECT_STATE_2, self.named_bits),
                "instruction_state": self.instruction_state(),
                "control_state": self.control_state,
                "fault_state": encode_flags(self.alarms, t.FAULT_STATE, self.named_bits),
                "balance_state_1": balance & 0xFF,
                "balance_state_2": balance >> 8 & 0xFF,
                "warn_state_1": encode_flags(self.warnings, t.WARN_STATE_1, self.named_bits),
                "warn_state_2": encode_flags(self.warnings, t.WARN_STATE_2, self.named_bits),
            }
        return WarnInfo(
            infoflag=self.infoflag,
            pack=address,
            cell_warn=tuple(self.cell_warn.get(n, 0) for n in range(1, len(self.cells) + 1)),
            temp_warn=tuple(self.temp_warn.get(n, 0) for n in range(1, len(self.temperatures) + 1)),
            states=states,
            extension=self.warn_extension,
        )

    @classmethod
    def from_ascii(cls, analog: AnalogBlock, warn: WarnInfo | None = None, *, infoflag: int = 0) -> PaceState:
        """A state that reproduces a real pack's 0x42 (and 0x44) answer byte for byte."""
        state = cls(
            cells=list(analog.cells),
            voltage=analog.voltage,
            current=analog.current,
            remaining_capacity=analog.remaining_capacity,
            full_capacity=analog.full_capacity,
            design_capacity=analog.design_capacity or 0.0,
            cycles=analog.cycles,
            temperatures=list(analog.temperatures),
            infoflag=infoflag,
            user_defined=analog.user_defined if analog.user_defined is not None else t.USER_DEFINED_STANDARD,
            analog_extension=analog.extension,
        )
        if warn is not None:
            state.apply_warn(warn)
        return state

    def apply_warn(self, warn: WarnInfo) -> None:
        """Take over every bit of a 0x44 answer (for replaying captures)."""
        self.cell_warn = {n: v for n, v in enumerate(warn.cell_warn, 1) if v}
        self.temp_warn = {n: v for n, v in enumerate(warn.temp_warn, 1) if v}
        self.pack_warn = {name: warn.state(name) for name in t.CURRENT_VOLTAGE_WARN if warn.state(name)}
        self.warn_extension = warn.extension
        self.infoflag = warn.infoflag
        if not warn.states:
            return
        instruction = warn.state("instruction_state")
        self.charge_mosfet = bool(instruction >> t.CFET_BIT & 1)
        self.discharge_mosfet = bool(instruction >> t.DFET_BIT & 1)
        self.instruction_extra = instruction & ~(1 << t.CFET_BIT | 1 << t.DFET_BIT)
        self.control_state = warn.state("control_state")
        balance = warn.state("balance_state_1") | warn.state("balance_state_2") << 8
        self.balancing = {n + 1 for n in range(16) if balance >> n & 1}
        for name, table, _severity in t.STATE_BYTES:
            value = warn.state(name)
            for bit, meaning in table.items():
                if not value >> bit & 1 or name in ("instruction_state", "control_state"):
                    continue
                if meaning.alarm is None:
                    self.named_bits.add(meaning.name)
                elif name.startswith("warn_state"):
                    self.warnings.add(meaning.alarm)
                else:
                    self.alarms.add(meaning.alarm)

    # --- Modbus ---------------------------------------------------------------------------------------------------
    def modbus_registers(self) -> PackRegisters:
        """Registers 0-36 of this pack."""
        balance = sum(1 << (cell - 1) for cell in self.balancing)
        return PackRegisters(
            current=self.current,
            voltage=round(self.pack_voltage, 2),
            soc=self.soc_percent,
            soh=self.soh_percent,
            remaining_capacity=self.remaining_capacity,
            full_capacity=self.full_capacity,
            design_capacity=self.design_capacity,
            cycles=self.cycles,
            warning_flag=encode_flags(self.warnings, t.MODBUS_WARNING_FLAG, self.named_bits),
            protection_flag=encode_flags(self.alarms, t.MODBUS_PROTECTION_FLAG, self.named_bits),
            status_flag=status_flag(self.alarms, self.charge_mosfet, self.discharge_mosfet, sorted(self.named_bits))
            | (self.current > 0) << 8
            | (self.current < 0) << 9,
            balance_status=balance,
            cells=tuple(self.cells),
            temperatures=tuple(self.temperatures),
        )

    def snapshot_soh(self) -> float | None:
        """SoH the ASCII codec derives for this state (for tests)."""
        return soh_of(self.analog_block())


def initial_state(address: int, seed: int | None) -> PaceState:
    """A plausible pack that differs a little per address (so a bus of them is easy to tell apart)."""
    state = PaceState()
    state.remaining_capacity = round(55.0 + 2.5 * address, 2)
    state.cycles = 100 + 7 * address + (seed or 0) % 5
    state.serial_number = f"SIM{address:02d}{(seed or 0) % 10000:04d}"
    return state

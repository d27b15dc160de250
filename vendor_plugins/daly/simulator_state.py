"""The state of a simulated DALY pack, and how each protocol family's raw values are derived from it.

One :class:`DalyState` (model units: V, A, Ah, °C; current + = charging) feeds both the A5 and the D2/P81
simulators. Values a real unit reports but also derives — highest/lowest cell, averages, power, the charge state —
are derived here unless the state overrides them (real captures were taken at slightly different instants, so
their statistics can disagree with their own cell lists by a millivolt). Bytes and registers no codec decodes
(stale reserved bytes, unused slots, undocumented registers) can be given per family so that a simulator set to a
capture's state answers with exactly the captured bytes. :class:`LiveModel` moves a state over time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final

from ..fields import Field
from ..sim.physics import PackPhysics
from . import codec_a5 as a5
from . import codec_d2 as d2
from . import codec_faults as faults
from . import table as t

_A5 = {cmd: {f.name: f for f in layout} for cmd, layout in t.A5_LAYOUTS.items()}
_D2 = {f.name: f for f in t.D2_STATUS_FIELDS + t.D2_EXTENDED_FIELDS}
_P81 = {f.name: f for f in t.P81_STATUS_FIELDS}

DEFAULT_CELLS: Final = (
    3.301, 3.305, 3.298, 3.302, 3.300, 3.304, 3.299, 3.303, 3.306, 3.297, 3.301, 3.302, 3.300, 3.303, 3.299, 3.304,
)  # fmt: skip


def _mv(volts: float) -> int:
    return round(volts * 1000)


def _t_raw(celsius: float) -> int:
    return round(celsius) + t.TEMP_OFFSET


def _opt_t_raw(celsius: float | None) -> int:
    return 0 if celsius is None else _t_raw(celsius)


def _raw(fields: dict[str, Field], name: str, value: float) -> int:
    return fields[name].to_raw(value)


@dataclass(slots=True, kw_only=True)
class DalyState:
    """Everything a DALY pack reports, in model units at the protocol's resolution."""

    cell_voltages: list[float] = field(default_factory=lambda: list(DEFAULT_CELLS))
    temperatures: list[float] = field(default_factory=lambda: [24.0, 25.0])
    voltage: float | None = None  # None: the cell sum, as the board measures it
    current: float = -5.2  # + = charging
    soc: float | None = None  # None: remaining / rated
    remaining_capacity: float = 180.0
    rated_capacity: float = 280.0
    cycles: int = 42
    charge_mosfet: bool = True
    discharge_mosfet: bool = True
    balancing: set[int] = field(default_factory=set)
    balancer: int | None = None  # D2 0x34 / P81 0x4D; None: 1 while any cell balances
    balancer_switch: int = 1  # register 0xCF
    faults: set[str] = field(default_factory=set)  # names of codec_faults.BIT_NAMES
    fault_code: int = 0
    fault_status_4: int = 0  # D2 register 0x3D (reserved)
    mosfet_temperature: float | None = 27.0
    board_temperature: float | None = None
    charge_state: int | None = None  # None: from the current's sign
    life: int = 0  # A5 0x93 "BMS life" / P81 heartbeat
    charger: int = 0
    load: int = 0
    dio: int = 0
    gather_voltage: float = 0.0
    power: int | None = None  # None: floor(V x |I|), as the captures show
    energy: int = 0
    precharge_mosfet: bool = False
    heating_mosfet: bool = False
    balance_current: float = 0.0
    # Statistics the unit reports itself (None: derived from the cells / temperatures).
    cell_max: float | None = None
    cell_min: float | None = None
    cell_max_no: int | None = None
    cell_min_no: int | None = None
    cell_average: float | None = None
    cell_delta: float | None = None
    temp_max: float | None = None
    temp_min: float | None = None
    temp_max_no: int | None = None
    temp_min_no: int | None = None
    software_version: str = "SIM-1.0"
    hardware_version: str = "DALY-SIM-16S"
    machine_code: str = ""
    production_date: str = ""  # P81 version block: YYYYMMDD (the real unit pads it with 4 leading spaces)
    # How captures are replayed exactly.
    cell_frames: int | None = None  # 0x95 frames sent (None: as many as the cells need)
    temp_frames: int | None = None  # 0x96 frames sent
    a5_reserved: dict[int, bytes] = field(default_factory=dict)  # command -> reserved bytes (0x95: per frame)
    d2_extra: dict[int, int] = field(default_factory=dict)  # register -> value no codec decodes
    p81_extra: dict[int, int] = field(default_factory=dict)

    # --- derived values -------------------------------------------------------------------------------
    @property
    def pack_voltage(self) -> float:
        """The reported pack voltage."""
        return self.voltage if self.voltage is not None else round(sum(self.cell_voltages), 1)

    @property
    def state_of_charge(self) -> float:
        """The reported SoC (%)."""
        if self.soc is not None:
            return self.soc
        if not self.rated_capacity:
            return 0.0
        return round(min(100.0, 100 * self.remaining_capacity / self.rated_capacity), 1)

    @property
    def charge_state_code(self) -> int:
        """0 idle, 1 charging, 2 discharging."""
        if self.charge_state is not None:
            return self.charge_state
        return 1 if self.current > 0 else 2 if self.current < 0 else 0

    @property
    def power_watts(self) -> int:
        """The unsigned 16-bit power register (saturating, like any 16-bit register)."""
        return self.power if self.power is not None else min(0xFFFF, int(self.pack_voltage * abs(self.current)))

    @property
    def balancer_code(self) -> int:
        """The balancer state register."""
        return self.balancer if self.balancer is not None else int(bool(self.balancing))

    def cell_stats(self) -> dict[str, int]:
        """Highest/lowest cell (mV and 1-based number), floor of the average and the spread, in mV."""
        mv = [_mv(v) for v in self.cell_voltages] or [0]
        hi, lo = max(mv), min(mv)
        return {
            "cell_max": _mv(self.cell_max) if self.cell_max is not None else hi,
            "cell_min": _mv(self.cell_min) if self.cell_min is not None else lo,
            "cell_max_no": self.cell_max_no if self.cell_max_no is not None else mv.index(hi) + 1,
            "cell_min_no": self.cell_min_no if self.cell_min_no is not None else mv.index(lo) + 1,
            "cell_average": _mv(self.cell_average) if self.cell_average is not None else sum(mv) // len(mv),
            "cell_delta": _mv(self.cell_delta) if self.cell_delta is not None else hi - lo,
        }

    def temp_stats(self) -> dict[str, int]:
        """Highest/lowest temperature (raw, °C + 40) and their 1-based sensor numbers."""
        raw = [_t_raw(c) for c in self.temperatures]
        hi, lo = (max(raw), min(raw)) if raw else (0, 0)
        return {
            "temp_max": _t_raw(self.temp_max) if self.temp_max is not None else hi,
            "temp_min": _t_raw(self.temp_min) if self.temp_min is not None else lo,
            "temp_max_no": self.temp_max_no if self.temp_max_no is not None else (raw.index(hi) + 1 if raw else 0),
            "temp_min_no": self.temp_min_no if self.temp_min_no is not None else (raw.index(lo) + 1 if raw else 0),
        }

    # --- A5 -------------------------------------------------------------------------------------------
    def a5_values(self, command: int) -> dict[str, int]:
        """Raw integers of one single-frame A5 answer (0x90-0x94)."""
        if command == t.CMD_PACK:
            f = _A5[command]
            return {
                "voltage": _raw(f, "voltage", self.pack_voltage),
                "gather_voltage": _raw(f, "gather_voltage", self.gather_voltage),
                "current": a5.current_to_raw(self.current),
                "soc": _raw(f, "soc", self.state_of_charge),
            }
        if command == t.CMD_CELL_RANGE:
            s = self.cell_stats()
            return {k: s[k] for k in ("cell_max", "cell_max_no", "cell_min", "cell_min_no")}
        if command == t.CMD_TEMP_RANGE:
            return self.temp_stats()
        if command == t.CMD_MOSFET:
            return {
                "charge_state": self.charge_state_code,
                "charge_mosfet": int(self.charge_mosfet),
                "discharge_mosfet": int(self.discharge_mosfet),
                "life": self.life & 0xFF,
                "remaining_capacity": _raw(_A5[command], "remaining_capacity", self.remaining_capacity),
            }
        if command == t.CMD_STATUS:
            return {
                "cell_count": len(self.cell_voltages),
                "temp_count": len(self.temperatures),
                "charger": self.charger,
                "load": self.load,
                "dio": self.dio,
                "cycles": self.cycles,
            }
        raise KeyError(f"0x{command:02X} is not a single-frame A5 answer")

    def a5_failure(self) -> bytes:
        """0x98 payload."""
        return faults.encode(self.faults, self.fault_code)

    # --- D2 / P81 -------------------------------------------------------------------------------------
    def _common_values(self, fields: dict[str, Field]) -> dict[str, int]:
        cells, temps = self.cell_stats(), self.temp_stats()
        return {
            "voltage": _raw(fields, "voltage", self.pack_voltage),
            "current": d2.current_to_raw(self.current),
            "soc": _raw(fields, "soc", self.state_of_charge),
            "cell_max": cells["cell_max"],
            "temp_max": temps["temp_max"],
            "temp_min": temps["temp_min"],
            "charge_state": self.charge_state_code,
            "remaining_capacity": _raw(fields, "remaining_capacity", self.remaining_capacity),
            "cycles": self.cycles,
            "balancer": self.balancer_code,
            "charge_mosfet": int(self.charge_mosfet),
            "discharge_mosfet": int(self.discharge_mosfet),
            "cell_average": cells["cell_average"],
            "power": self.power_watts,
            "balance_current": t.CURRENT_OFFSET + round(self.balance_current * 1000),
            "mosfet_temp": _opt_t_raw(self.mosfet_temperature),
            "board_temp": _opt_t_raw(self.board_temperature),
        }

    def _masks(self, count: int) -> dict[str, int]:
        masks = [0] * count
        for cell in self.balancing:
            if not 1 <= cell <= 16 * count:
                raise ValueError(f"cell {cell} has no balance bit in {count} mask registers")
            masks[(cell - 1) // 16] |= 1 << ((cell - 1) % 16)
        return {f"balance_mask_{i + 1}": m for i, m in enumerate(masks)}

    def status_block(self, family: str) -> d2.StatusBlock:
        """The D2 (80-register) or P81 status block of this state."""
        cells_mv = tuple(_mv(v) for v in self.cell_voltages)
        temps_raw = tuple(_t_raw(c) for c in self.temperatures)
        if family == "p81":
            values = self._common_values(_P81)
            stats = self.temp_stats()
            values |= self._masks(3) | {
                "heartbeat": self.life,
                "cell_max_no": self.cell_stats()["cell_max_no"],
                "temp_max_no": stats["temp_max_no"],
                "temp_min_no": stats["temp_min_no"],
                "precharge_mosfet": int(self.precharge_mosfet),
                "heating_mosfet": int(self.heating_mosfet),
                "energy": self.energy,
            }
            registers = d2.P81_IMAGE_REGS
        else:
            values = self._common_values(_D2)
            cell_min = self.cell_stats()
            legacy = faults.encode(self.faults)
            r1, r2, r3 = faults.registers_from_legacy(legacy)
            values |= self._masks(2) | {
                "cell_min": cell_min["cell_min"],
                "cell_delta": cell_min["cell_delta"],
                "fault_1": r1,
                "fault_2": r2,
                "fault_3": r3,
                "fault_4": self.fault_status_4,
            }
            registers = t.D2_STATUS_REGS_EXTENDED
        return d2.StatusBlock(family=family, registers=registers, values=values, cells_mv=cells_mv, temps_raw=temps_raw)

    def version_texts(self) -> dict[str, str]:
        """The version block's strings."""
        return {
            "software": self.software_version,
            "hardware": self.hardware_version,
            "machine_code": self.machine_code,
            "production_date": self.production_date,
        }


class LiveModel:
    """A compressed day with the shared pack physics (:mod:`vendor_plugins.sim.physics`); temperatures follow it."""

    def __init__(self, seed: int | None = None) -> None:
        """Start the clock at 0 (``seed`` makes the noise repeatable)."""
        self._rng = random.Random(seed)
        self._physics: PackPhysics | None = None

    def advance(self, state: DalyState, seconds: float) -> None:
        """Move ``state`` ``seconds`` forward."""
        if seconds <= 0:
            return
        rng = self._rng
        if self._physics is None:
            capacity = state.rated_capacity or 100.0
            self._physics = PackPhysics(
                cells=len(state.cell_voltages),
                capacity=capacity,
                soc=state.remaining_capacity / capacity,
                seed=rng.randrange(1 << 32),
                charge_current=25.0,
                discharge_current=15.0,
            )
        physics = self._physics
        physics.advance(seconds, charge=state.charge_mosfet, discharge=state.discharge_mosfet)
        amps = round(physics.measured_current, 1)
        state.current = amps
        state.remaining_capacity = round(physics.remaining, 1)
        state.soc = None
        state.cell_voltages = list(physics.cell_voltages)
        state.temperatures = [round(24.0 + abs(amps) * 0.1 + rng.uniform(-0.5, 0.5)) for _ in state.temperatures]
        if state.mosfet_temperature is not None:
            state.mosfet_temperature = round(26.0 + abs(amps) * 0.2)
        state.balancing = set(physics.balancing)
        state.life = (state.life + 1) & 0xFF

"""The common BMS entity model every vendor plugin decodes into.

Units: V, A, W, Ah, Wh, °C, %. Current and power are **positive while charging**. A value the device does
not report is ``None`` — never a made-up 0. Derived values (power, stored energy, SoC from capacities, cell
statistics) are computed here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import plausibility


class TemperatureKind(enum.StrEnum):
    """Where a temperature sensor sits."""

    CELL = "cell"
    MOSFET = "mosfet"
    AMBIENT = "ambient"
    BOARD = "board"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Temperature:
    """One named temperature reading."""

    name: str
    kind: TemperatureKind
    celsius: float


class Alarm(enum.StrEnum):
    """Normalised protection, alarm and fault conditions (names fixed: add members, never rename).

    The value is the lower-case name, which is also the JSON spelling and the translation key.
    """

    CELL_OVERVOLTAGE = "cell_overvoltage"
    CELL_UNDERVOLTAGE = "cell_undervoltage"
    PACK_OVERVOLTAGE = "pack_overvoltage"
    PACK_UNDERVOLTAGE = "pack_undervoltage"
    CHARGE_OVERCURRENT = "charge_overcurrent"
    DISCHARGE_OVERCURRENT = "discharge_overcurrent"
    SHORT_CIRCUIT = "short_circuit"
    CHARGE_OVERTEMP = "charge_overtemp"
    CHARGE_UNDERTEMP = "charge_undertemp"
    DISCHARGE_OVERTEMP = "discharge_overtemp"
    DISCHARGE_UNDERTEMP = "discharge_undertemp"
    MOSFET_OVERTEMP = "mosfet_overtemp"
    AMBIENT_OVERTEMP = "ambient_overtemp"
    AMBIENT_UNDERTEMP = "ambient_undertemp"
    CELL_IMBALANCE = "cell_imbalance"
    LOW_SOC = "low_soc"
    FRONTEND_ERROR = "frontend_error"
    CHARGE_MOSFET_FAULT = "charge_mosfet_fault"
    DISCHARGE_MOSFET_FAULT = "discharge_mosfet_fault"
    TEMP_SENSOR_FAULT = "temp_sensor_fault"
    CELL_FAULT = "cell_fault"
    SOFTWARE_LOCK = "software_lock"
    HIGH_SOC = "high_soc"
    TEMP_DIFFERENCE = "temp_difference"
    PRECHARGE_FAULT = "precharge_fault"
    COMMUNICATION_FAULT = "communication_fault"
    CELL_OVERTEMP = "cell_overtemp"
    CELL_UNDERTEMP = "cell_undertemp"


class Chemistry(enum.StrEnum):
    """A pack's cell chemistry (names fixed: add members, never rename).

    ``None`` where a chemistry is expected means unknown. The value is the JSON spelling and the translation key.
    Where it comes from: the device, where its protocol says it (a register the installer sets, so it can be wrong),
    else the user's option. It never refuses a reading: see ``docs/model.md`` ("Chemistry").
    """

    LFP = "lfp"  # LiFePO4 (lithium iron phosphate), 3.2 V nominal
    NMC = "nmc"  # Li-ion with a nickel-manganese-cobalt / "ternary" (or NCA, LCO) cathode, 3.6-3.7 V nominal
    LTO = "lto"  # lithium titanate anode, 2.3-2.4 V nominal


class Switch(enum.StrEnum):
    """Switches a session may be able to set."""

    CHARGE = "charge"
    DISCHARGE = "discharge"


@dataclass(frozen=True, slots=True, kw_only=True)
class BmsSnapshot:
    """One consistent reading of one pack. Construct with what the device reported; derive the rest here."""

    voltage: float | None = None
    current: float | None = None
    power: float | None = None
    soc: float | None = None
    soh: float | None = None
    remaining_capacity: float | None = None
    full_capacity: float | None = None
    design_capacity: float | None = None
    stored_energy: float | None = None
    cycles: int | None = None
    cell_voltages: tuple[float, ...] = ()
    temperatures: tuple[Temperature, ...] = ()
    charge_mosfet: bool | None = None
    discharge_mosfet: bool | None = None
    balancing: frozenset[int] | None = None
    alarms: frozenset[Alarm] = frozenset()
    warnings: frozenset[Alarm] = frozenset()
    raw: Mapping[str, int | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse impossible values; fill the derived fields the device did not report (power, energy, SoC).

        A value outside its physical range (a state of charge over 100 %, a cell at 65.535 V, a pack voltage far
        from its cells' sum, ...) can only come from a corrupted frame that slipped through a weak checksum (an
        8-bit sum) or a hostile device: :func:`~vendor_plugins.plausibility.check` raises
        :class:`~vendor_plugins.errors.ImplausibleValueError` so no such snapshot exists (derived values follow
        from checked ones).
        """
        self._drop_broken_sensors()
        plausibility.check(self)
        if self.power is None and self.voltage is not None and self.current is not None:
            object.__setattr__(self, "power", round(self.voltage * self.current, 3))
        if self.stored_energy is None and self.remaining_capacity is not None and self.voltage is not None:
            object.__setattr__(self, "stored_energy", round(self.remaining_capacity * self.voltage, 3))
        if self.soc is None and self.remaining_capacity is not None and self.full_capacity:
            # Remaining can exceed full on a pack whose capacity estimate drifted: the derived SoC tops out at 100 %.
            derived = round(100.0 * self.remaining_capacity / self.full_capacity, 1)
            object.__setattr__(self, "soc", max(0.0, min(100.0, derived)))

    def _drop_broken_sensors(self) -> None:
        """Leave out temperature readings no sensor can give (a disconnected NTC): named in ``raw``, never shown."""
        broken = [t for t in self.temperatures if not plausibility.sensor_plausible(t.celsius)]
        if not broken:
            return
        object.__setattr__(self, "temperatures", tuple(t for t in self.temperatures if t not in broken))
        noted = {f"temperature_{t.name}_implausible": f"{t.celsius:g}" for t in broken}
        object.__setattr__(self, "raw", {**self.raw, **noted})

    # --- derived cell statistics -------------------------------------------------------------------
    @property
    def cell_min(self) -> float | None:
        """Lowest cell voltage (V)."""
        return min(self.cell_voltages) if self.cell_voltages else None

    @property
    def cell_max(self) -> float | None:
        """Highest cell voltage (V)."""
        return max(self.cell_voltages) if self.cell_voltages else None

    @property
    def cell_average(self) -> float | None:
        """Mean cell voltage (V)."""
        if not self.cell_voltages:
            return None
        return round(sum(self.cell_voltages) / len(self.cell_voltages), 4)

    @property
    def cell_delta(self) -> float | None:
        """Spread between highest and lowest cell (V)."""
        if not self.cell_voltages:
            return None
        return round(max(self.cell_voltages) - min(self.cell_voltages), 4)

    @property
    def charging(self) -> bool | None:
        """True while current flows into the pack."""
        return None if self.current is None else self.current > 0

    @property
    def discharging(self) -> bool | None:
        """True while current flows out of the pack."""
        return None if self.current is None else self.current < 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in the fixed ``--json`` shape: every field, ``None`` when unknown."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "temperatures":
                value = [{"name": t.name, "kind": str(t.kind), "celsius": t.celsius} for t in value]
            elif f.name == "cell_voltages":
                value = list(value)
            elif f.name == "balancing":
                value = None if value is None else sorted(value)
            elif f.name in ("alarms", "warnings"):
                value = sorted(str(a) for a in value)
            elif f.name == "raw":
                value = dict(value)
            out[f.name] = value
        for name in ("cell_min", "cell_max", "cell_average", "cell_delta"):
            out[name] = getattr(self, name)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BmsSnapshot:
        """Inverse of :meth:`to_dict` (derived-only keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {k: v for k, v in data.items() if k in names}
        kwargs["cell_voltages"] = tuple(data.get("cell_voltages") or ())
        kwargs["temperatures"] = tuple(
            Temperature(t["name"], TemperatureKind(t["kind"]), t["celsius"]) for t in data.get("temperatures") or ()
        )
        balancing = data.get("balancing")
        kwargs["balancing"] = None if balancing is None else frozenset(balancing)
        kwargs["alarms"] = frozenset(Alarm(a) for a in data.get("alarms") or ())
        kwargs["warnings"] = frozenset(Alarm(a) for a in data.get("warnings") or ())
        kwargs["raw"] = dict(data.get("raw") or {})
        return cls(**kwargs)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo:
    """What a pack says about itself."""

    vendor: str
    family: str | None = None
    model: str | None = None
    hardware_version: str | None = None
    software_version: str | None = None
    serial_number: str | None = None
    manufacture_date: dt.date | None = None
    cell_count: int | None = None
    address: int | None = None
    #: The cells' chemistry: the device's own word where its protocol carries one, else the user's option; ``None``
    #: when neither says (unknown).
    chemistry: Chemistry | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (dates as ISO strings, the chemistry as its value)."""
        out = dataclasses.asdict(self)
        if self.manufacture_date is not None:
            out["manufacture_date"] = self.manufacture_date.isoformat()
        out["chemistry"] = None if self.chemistry is None else str(self.chemistry)
        return out

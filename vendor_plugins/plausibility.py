"""Plausibility ranges of the snapshot fields: the one table, and the check every snapshot passes.

A value outside its physical range can only come from a corrupt frame that slipped through a weak checksum (an
8-bit sum passes one corrupt frame in 256), a byte-shifted or half-updated answer, or a hostile device. Such a
reading must never reach a consumer — above all never the energy meters, whose totals never go back down — so
:func:`check` raises :class:`~vendor_plugins.errors.ImplausibleValueError` (a ``BmsError``: pollers treat it as a
failed read) and no such :class:`~vendor_plugins.model.BmsSnapshot` exists. The ranges are generous on purpose: they
refuse what cannot be, never an odd but real pack. ``docs/model.md`` ("Plausibility ranges") documents them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from .errors import ImplausibleValueError


@dataclass(frozen=True, slots=True)
class Range:
    """An inclusive range ``low..high`` of one quantity, in the model's unit."""

    low: float
    high: float
    unit: str

    def holds(self, value: float) -> bool:
        """True when ``value`` is a finite number inside the range."""
        return math.isfinite(value) and self.low <= value <= self.high


#: Absolute ranges, one per field with a physical range (units as in the model).
RANGES: Final[dict[str, Range]] = {
    # No chemistry exceeds 5 V per cell (LCO/NMC charge to 4.2-4.4 V, LFP 3.65 V, LTO 2.8 V); 0 V is a real reading of
    # a dead cell or an open sense wire.
    "cell_voltage": Range(0.0, 5.0, "V"),
    # 0-1000 V: up to ~200 cells in series (high-voltage racks); a pack-only reading may be 0 V with its MOSFETs open.
    "voltage": Range(0.0, 1000.0, "V"),
    # -40..120 °C: the span BMS temperature sensors report (a common +40 offset encoding starts at -40 °C), beyond any
    # cell's operating and storage range; a disconnected NTC decodes to values like -273.1 °C (0 K), 215 °C or
    # thousands of °C and says nothing about the pack: such a reading is dropped from the snapshot
    # (``sensor_plausible``; named in ``raw``), not the whole pack refused. Sentinels: docs/model.md.
    "temperature": Range(-40.0, 120.0, "°C"),
    "current": Range(-5000.0, 5000.0, "A"),
    "power": Range(-5_000_000.0, 5_000_000.0, "W"),  # the voltage and current ranges' product
    "soc": Range(0.0, 100.0, "%"),
    "soh": Range(0.0, 100.0, "%"),
    "remaining_capacity": Range(0.0, 10_000.0, "Ah"),
    "full_capacity": Range(0.0, 10_000.0, "Ah"),
    "design_capacity": Range(0.0, 10_000.0, "Ah"),
    "stored_energy": Range(0.0, 10_000_000.0, "Wh"),
    "cycles": Range(0.0, 100_000.0, "cycles"),
}

#: Each chemistry's operating window per cell (V): its cells' datasheet discharge and charge cut-offs (sources:
#: docs/model.md, "Chemistry"). **Never a refusal**: a cell outside its window is a real over-charge or over-discharge
#: a user must see (an LFP cell at 3.9 V, even 5 V, is a cell being overcharged, not a corrupt frame), so the reading
#: keeps it and its alarms, and :func:`chemistry_notes` names such cells in ``raw``. The refusal range of a cell
#: (``RANGES["cell_voltage"]``, :func:`cell_range`) is the same for every chemistry.
CELL_WINDOWS: Final[dict[str, Range]] = {
    "lfp": Range(2.5, 3.65, "V"),
    "nmc": Range(2.5, 4.2, "V"),
    "lto": Range(1.5, 2.8, "V"),
}

#: Pack voltage against the sum of its cells: at most (1 + share) x the sum + volts. Only an upper bound: real packs
#: report 0 V (output side, MOSFETs open) or less than the sum (a 4-cell capture reads 14.0 V against 16.57 V), and
#: captures combine one frame's pack voltage with another's cells; a pack voltage from a corrupt or shifted byte
#: (hundreds of volts on a 16-cell pack) is refused, and it is the value power and energy are computed from.
PACK_VS_CELLS: Final = (0.5, 2.0)
#: Current against capacity: |I| <= C_RATE x capacity + CURRENT_SLACK amps. 20 C is far above any continuous or
#: surge rating of a storage pack; the slack keeps a tiny or mis-set capacity from refusing a small real current.
C_RATE: Final = 20.0
CURRENT_SLACK: Final = 50.0
#: Remaining against capacity: remaining <= REMAINING_MARGIN x max(full, design) + REMAINING_SLACK Ah (learned and
#: coulomb-counted estimates drift; a pack may read 103 Ah of a learned 100 Ah).
REMAINING_MARGIN: Final = 1.5
REMAINING_SLACK: Final = 1.0
#: Reported power against voltage x current: |P - V*I| <= (share of |V*I|, watts), the larger wins.
POWER_VS_VI: Final = (0.20, 100.0)


class _Temperature(Protocol):
    """A named temperature (a :class:`~vendor_plugins.model.Temperature`)."""

    @property
    def name(self) -> str: ...
    @property
    def celsius(self) -> float: ...


class _Reading(Protocol):
    """The snapshot fields the check reads (a :class:`~vendor_plugins.model.BmsSnapshot`)."""

    @property
    def voltage(self) -> float | None: ...
    @property
    def current(self) -> float | None: ...
    @property
    def power(self) -> float | None: ...
    @property
    def soc(self) -> float | None: ...
    @property
    def soh(self) -> float | None: ...
    @property
    def remaining_capacity(self) -> float | None: ...
    @property
    def full_capacity(self) -> float | None: ...
    @property
    def design_capacity(self) -> float | None: ...
    @property
    def stored_energy(self) -> float | None: ...
    @property
    def cycles(self) -> int | None: ...
    @property
    def cell_voltages(self) -> tuple[float, ...]: ...
    @property
    def temperatures(self) -> Sequence[_Temperature]: ...


def _refuse(what: str) -> ImplausibleValueError:
    return ImplausibleValueError(f"{what} is impossible (corrupt frame?)")


def _in_range(name: str, value: float | None, label: str | None = None) -> None:
    if value is None:
        return
    span = RANGES[name]
    if not span.holds(value):
        raise _refuse(f"{label or name.replace('_', ' ')} {value} {span.unit} (outside {span.low}..{span.high})")


def capacity(reading: _Reading) -> float | None:
    """The pack's capacity for the relative checks (Ah): the larger of full and design; ``None`` when unknown or 0."""
    known = [c for c in (reading.full_capacity, reading.design_capacity) if c]
    return max(known) if known else None


def current_limit(reading: _Reading) -> float:
    """The largest plausible |current| of this pack (A)."""
    cap = capacity(reading)
    limit = RANGES["current"].high
    return limit if cap is None else min(limit, C_RATE * cap + CURRENT_SLACK)


def power_limit(reading: _Reading) -> float:
    """The largest plausible |power| of this pack (W): its voltage (or the range's top) times its current limit."""
    volts = reading.voltage if reading.voltage is not None else RANGES["voltage"].high
    return min(RANGES["power"].high, max(volts, 1.0) * current_limit(reading) * (1 + POWER_VS_VI[0]) + POWER_VS_VI[1])


def cell_range(chemistry: str | None) -> Range:
    """The range outside which a cell voltage of a pack of ``chemistry`` (``None``: unknown) is refused.

    The same for every chemistry, on purpose: an overcharged cell of any chemistry climbs far past its charge
    cut-off (LFP cells held at 4.05-5.0 V in float studies, driven to 20 V in overcharge-to-failure tests), so a
    per-chemistry ceiling below the common one would turn a real, dangerous overcharge into a failed read.
    """
    return RANGES["cell_voltage"]


def cells_outside_window(cells: Sequence[float], chemistry: str | None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The 1-based numbers of the cells above and of those below ``chemistry``'s window (none when unknown)."""
    window = CELL_WINDOWS.get(str(chemistry)) if chemistry is not None else None
    if window is None:
        return (), ()
    above = tuple(n for n, volts in enumerate(cells, 1) if volts > window.high)
    below = tuple(n for n, volts in enumerate(cells, 1) if volts < window.low)
    return above, below


def chemistry_notes(cells: Sequence[float], chemistry: str | None) -> dict[str, str]:
    """``raw`` entries naming the cells outside ``chemistry``'s window (e.g. ``cells_above_chemistry_window: "3,5"``).

    A note, not a verdict: the BMS's own alarms say whether it protects; a cell outside the window is never refused.
    """
    above, below = cells_outside_window(cells, chemistry)
    notes = {}
    if above:
        notes["cells_above_chemistry_window"] = ",".join(map(str, above))
    if below:
        notes["cells_below_chemistry_window"] = ",".join(map(str, below))
    if notes:
        window = CELL_WINDOWS[str(chemistry)]
        notes["chemistry_window"] = f"{chemistry} {window.low:g}-{window.high:g} V"
    return notes


def sensor_plausible(celsius: float) -> bool:
    """Whether a temperature reading can be real.

    One outside the range is a disconnected or broken sensor (an open NTC decodes to 0 K or thousands of degrees):
    the model drops that one reading and keeps the pack readable.
    """
    return RANGES["temperature"].holds(celsius)


def check(reading: _Reading) -> None:
    """Raise :class:`ImplausibleValueError` when any value is outside its range or contradicts another."""
    for n, volts in enumerate(reading.cell_voltages, 1):  # the same range for every chemistry: cell_range()
        _in_range("cell_voltage", volts, f"cell {n} at")
    for name in ("voltage", "current", "power", "soc", "soh", "remaining_capacity", "full_capacity",
                 "design_capacity", "stored_energy"):  # fmt: skip
        _in_range(name, getattr(reading, name))
    if reading.cycles is not None:
        _in_range("cycles", float(reading.cycles))
    _check_relations(reading)


def _check_relations(reading: _Reading) -> None:
    voltage, current, power = reading.voltage, reading.current, reading.power
    if voltage is not None and reading.cell_voltages:
        cells = sum(reading.cell_voltages)
        share, volts = PACK_VS_CELLS
        if voltage > (1 + share) * cells + volts:
            raise _refuse(f"pack voltage {voltage} V against its cells' sum {cells:.3f} V")
    if current is not None and abs(current) > current_limit(reading):
        raise _refuse(f"current {current} A for a {capacity(reading)} Ah pack")
    cap = capacity(reading)
    remaining = reading.remaining_capacity
    if remaining is not None and cap is not None and remaining > REMAINING_MARGIN * cap + REMAINING_SLACK:
        raise _refuse(f"remaining {remaining} Ah of a {cap} Ah pack")
    if power is not None and voltage is not None and current is not None:
        expected = voltage * current
        share, watts = POWER_VS_VI
        if abs(power - expected) > max(watts, share * abs(expected)):
            raise _refuse(f"power {power} W at {voltage} V x {current} A")


__all__ = [
    "CELL_WINDOWS",
    "RANGES",
    "Range",
    "capacity",
    "cell_range",
    "cells_outside_window",
    "check",
    "chemistry_notes",
    "current_limit",
    "power_limit",
]

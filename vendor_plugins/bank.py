"""A battery bank: many packs seen as one battery — the members' snapshots aggregated into a :class:`BankSnapshot`.

Pure and sans-IO: :func:`build_bank` takes the members' latest readings (:class:`~.bank_freshness.MemberReading`),
a :class:`BankConfig` and the time now; whoever reads the packs (``bmsgw read --bank``, Home Assistant) calls it.
Freshness (which members count, policies ``all`` / ``available``) is :mod:`vendor_plugins.bank_freshness`; the
rules per field are below and in ``docs/architecture.md`` ("Battery banks").

Two kinds of aggregate, with one rule for a member that does not report a field:

* **whole-bank values** (sums, weighted means, the series minimum) need every counted member's value — a sum or a
  minimum over part of the bank would be wrong (a bank "capacity" without one pack's Ah), so it is ``None``;
* **facts about members** (the lowest / highest cell and temperature, alarms, a switched-off MOSFET, balancing
  cells, the parallel voltage, the series current) are taken over the members that report them.

A field no counted member reports is ``None`` (never a made-up 0).

Parallel (packs side by side on one DC bus):

* ``voltage`` — mean of the reporting members (they share the bus voltage); ``voltage_spread`` = max - min.
* ``current``, ``power``, ``remaining_capacity``, ``full_capacity``, ``design_capacity``, ``stored_energy`` — sums.
* ``soc`` and ``cycles`` — weighted by each member's full capacity (else its design capacity); ``soh`` — weighted by
  design (else full) capacity, so that it equals Σ full / Σ design when every pack reports both (weighting SoH by
  full capacity would over-count the healthy packs). When no member reports a capacity the packs count equally
  (identical packs in a rack); when only some do, ``None``. Cycles are rounded to a whole number.

Series (packs stacked for a higher voltage, e.g. two 24 V packs as 48 V):

* ``voltage``, ``power``, ``stored_energy`` — sums (energy adds up in series, as voltage does).
* ``current`` — the one current through the string: the mean of the reporting members; ``current_mismatch`` is True
  when they disagree by more than :attr:`BankConfig.current_tolerance` (a sensor offset, or not really in series).
* ``soc``, ``soh``, ``remaining_capacity``, ``full_capacity``, ``design_capacity`` — the **minimum**: the same charge
  flows through every pack, so the string stops discharging when its emptiest pack reaches its cut-off and can hold
  no more Ah than its smallest pack; the weakest pack is what the user can use. ``cycles`` — as in parallel.

Both modes:

* cells — bank-wide ``cell_min`` / ``cell_max`` (with ``cell_min_at`` / ``cell_max_at`` = which pack and 1-based
  cell; on a tie the first member, lowest cell), ``cell_average`` over every cell of every member (each cell
  counts once), ``cell_delta`` = max - min. The list of cells itself is not part of a bank.
* ``temperatures`` — every member's sensors, each with its pack; ``temperature_min`` / ``temperature_max`` with the
  sensor (``…_at`` = pack and sensor name).
* ``alarms`` / ``warnings`` — the union; ``alarm_packs`` / ``warning_packs`` name the packs raising each.
* ``charge_mosfet`` / ``discharge_mosfet`` — True when every member reports it on, False when some member reports
  it off (``charge_mosfet_off`` / ``discharge_mosfet_off`` name them), ``None`` otherwise.
* ``balancing`` — the balancing cells of the reporting members as (pack, cell); ``None`` when no member reports it.

A pack's vendor ``raw`` codes stay with the pack; a bank has none.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .bank_freshness import FreshnessPolicy, MemberId, MemberReading, Selection, select
from .bank_parts import CellRef, MemberTemperature, SensorRef, cells, mosfet, temperatures
from .model import Alarm, BmsSnapshot

__all__ = [
    "BankConfig",
    "BankMode",
    "BankSnapshot",
    "CellRef",
    "FreshnessPolicy",
    "MemberId",
    "MemberReading",
    "MemberTemperature",
    "SensorRef",
    "build_bank",
    "combine",
]

type Members = Sequence[tuple[MemberId, BmsSnapshot]]


class BankMode(enum.StrEnum):
    """How the packs of a bank are wired."""

    PARALLEL = "parallel"
    SERIES = "series"


@dataclass(frozen=True, slots=True, kw_only=True)
class BankConfig:
    """How a bank aggregates: wiring, freshness policy, the oldest reading counted (s), series current tolerance (A)."""

    mode: BankMode = BankMode.PARALLEL
    policy: FreshnessPolicy = FreshnessPolicy.ALL
    max_age: float = 60.0
    current_tolerance: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class BankSnapshot:
    """One reading of a bank. ``available`` is False when the policy lets it report nothing (all values ``None``)."""

    mode: BankMode
    members: tuple[MemberId, ...]
    missing: tuple[MemberId, ...] = ()
    degraded: bool = False
    available: bool = True
    voltage: float | None = None
    voltage_spread: float | None = None
    current: float | None = None
    current_mismatch: bool | None = None
    power: float | None = None
    soc: float | None = None
    soh: float | None = None
    remaining_capacity: float | None = None
    full_capacity: float | None = None
    design_capacity: float | None = None
    stored_energy: float | None = None
    cycles: int | None = None
    cell_min: float | None = None
    cell_max: float | None = None
    cell_average: float | None = None
    cell_delta: float | None = None
    cell_min_at: CellRef | None = None
    cell_max_at: CellRef | None = None
    temperatures: tuple[MemberTemperature, ...] = ()
    temperature_min: float | None = None
    temperature_max: float | None = None
    temperature_min_at: SensorRef | None = None
    temperature_max_at: SensorRef | None = None
    charge_mosfet: bool | None = None
    discharge_mosfet: bool | None = None
    charge_mosfet_off: tuple[MemberId, ...] = ()
    discharge_mosfet_off: tuple[MemberId, ...] = ()
    balancing: frozenset[CellRef] | None = None
    alarms: frozenset[Alarm] = frozenset()
    warnings: frozenset[Alarm] = frozenset()
    alarm_packs: Mapping[Alarm, tuple[MemberId, ...]] = field(default_factory=dict)
    warning_packs: Mapping[Alarm, tuple[MemberId, ...]] = field(default_factory=dict)

    @property
    def charging(self) -> bool | None:
        """True while current flows into the bank."""
        return None if self.current is None else self.current > 0

    @property
    def discharging(self) -> bool | None:
        """True while current flows out of the bank."""
        return None if self.current is None else self.current < 0

    def snapshot_dict(self) -> dict[str, Any]:
        """The bank's values as the ``snapshot`` object of INTERFACES.md §5 (pack fields, cells as statistics)."""
        return {
            "voltage": self.voltage,
            "current": self.current,
            "power": self.power,
            "soc": self.soc,
            "soh": self.soh,
            "remaining_capacity": self.remaining_capacity,
            "full_capacity": self.full_capacity,
            "design_capacity": self.design_capacity,
            "stored_energy": self.stored_energy,
            "cycles": self.cycles,
            "temperatures": [t.to_dict() for t in self.temperatures],
            "charge_mosfet": self.charge_mosfet,
            "discharge_mosfet": self.discharge_mosfet,
            "balancing": None if self.balancing is None else [c.to_dict() for c in sorted(self.balancing)],
            "alarms": sorted(str(a) for a in self.alarms),
            "warnings": sorted(str(a) for a in self.warnings),
            "cell_min": self.cell_min,
            "cell_max": self.cell_max,
            "cell_average": self.cell_average,
            "cell_delta": self.cell_delta,
            "cell_min_at": None if self.cell_min_at is None else self.cell_min_at.to_dict(),
            "cell_max_at": None if self.cell_max_at is None else self.cell_max_at.to_dict(),
            "voltage_spread": self.voltage_spread,
            "current_mismatch": self.current_mismatch,
            "temperature_min": self.temperature_min,
            "temperature_max": self.temperature_max,
            "temperature_min_at": None if self.temperature_min_at is None else self.temperature_min_at.to_dict(),
            "temperature_max_at": None if self.temperature_max_at is None else self.temperature_max_at.to_dict(),
            "charge_mosfet_off": list(self.charge_mosfet_off),
            "discharge_mosfet_off": list(self.discharge_mosfet_off),
            "alarm_packs": {str(a): list(p) for a, p in sorted(self.alarm_packs.items())},
            "warning_packs": {str(a): list(p) for a, p in sorted(self.warning_packs.items())},
        }

    def to_dict(self) -> dict[str, Any]:
        """The ``bank`` object of the ``bmsgw read --json`` document (INTERFACES.md §5).

        ``snapshot`` is null when the bank reports nothing (policy ``all`` with a member missing).
        """
        return {
            "mode": str(self.mode),
            "members": list(self.members),
            "missing": list(self.missing),
            "degraded": self.degraded,
            "snapshot": self.snapshot_dict() if self.available else None,
        }


# --- rules ----------------------------------------------------------------------------------------------------------
def _values[T](members: Members, get: Callable[[BmsSnapshot], T | None]) -> list[T]:
    """The values the members report (``None`` left out)."""
    return [v for _, s in members if (v := get(s)) is not None]


def _every[T](members: Members, get: Callable[[BmsSnapshot], T | None]) -> list[T] | None:
    """Every member's value, or ``None`` when some member does not report it (a whole-bank value needs all)."""
    values = _values(members, get)
    return values if members and len(values) == len(members) else None


def _sum(values: Sequence[float] | None) -> float | None:
    return None if values is None else round(math.fsum(values), 3)


def _min(values: Sequence[float] | None) -> float | None:
    return None if values is None else min(values)


def _mean(values: Sequence[float], digits: int) -> float | None:
    """The mean, rounded, kept within the values' range (rounding never leaves it)."""
    if not values:
        return None
    return min(max(round(math.fsum(values) / len(values), digits), min(values)), max(values))


def _spread(values: Sequence[float]) -> float | None:
    return round(max(values) - min(values), 3) if values else None


def _capacity(primary: float | None, fallback: float | None) -> float | None:
    """A member's weight: ``primary`` capacity if positive, else ``fallback`` if positive."""
    for value in (primary, fallback):
        if value is not None and value > 0:
            return value
    return None


def _weighted(
    members: Members,
    get: Callable[[BmsSnapshot], float | None],
    weight: Callable[[BmsSnapshot], float | None],
    digits: int,
) -> float | None:
    """Capacity-weighted mean of a value every member reports; equal weights when no member has a capacity."""
    values = _every(members, get)
    if values is None:
        return None
    weights = [weight(s) for _, s in members]
    if all(w is None for w in weights):
        return _mean(values, digits)
    known = [w for w in weights if w is not None]
    if len(known) != len(weights):
        return None
    mean = math.fsum(v * w for v, w in zip(values, known, strict=True)) / math.fsum(known)
    return min(max(round(mean, digits), min(values)), max(values))


def _full_else_design(s: BmsSnapshot) -> float | None:
    return _capacity(s.full_capacity, s.design_capacity)


def _design_else_full(s: BmsSnapshot) -> float | None:
    return _capacity(s.design_capacity, s.full_capacity)


def _cycles(members: Members) -> int | None:
    mean = _weighted(members, lambda s: None if s.cycles is None else float(s.cycles), _full_else_design, 3)
    return None if mean is None else round(mean)


def _alarm_packs(members: Members, get: Callable[[BmsSnapshot], frozenset[Alarm]]) -> dict[Alarm, tuple[MemberId, ...]]:
    raised: dict[Alarm, list[MemberId]] = {}
    for member, snapshot in members:
        for alarm in sorted(get(snapshot)):
            raised.setdefault(alarm, []).append(member)
    return {alarm: tuple(packs) for alarm, packs in raised.items()}


def _balancing(members: Members) -> frozenset[CellRef] | None:
    reporting = [(m, s.balancing) for m, s in members if s.balancing is not None]
    if not reporting:
        return None
    return frozenset(CellRef(m, cell) for m, cells_on in reporting for cell in cells_on)


def combine(mode: BankMode, members: Members, *, current_tolerance: float = 1.0) -> dict[str, Any]:
    """The bank's values from the counted members' snapshots (keyword arguments of :class:`BankSnapshot`)."""
    voltages = _values(members, lambda s: s.voltage)
    currents = _values(members, lambda s: s.current)
    series = mode is BankMode.SERIES
    values: dict[str, Any] = {
        "voltage_spread": _spread(voltages),
        "power": _sum(_every(members, lambda s: s.power)),
        "stored_energy": _sum(_every(members, lambda s: s.stored_energy)),
        "cycles": _cycles(members),
        "balancing": _balancing(members),
        "alarms": frozenset().union(*(s.alarms for _, s in members)),
        "warnings": frozenset().union(*(s.warnings for _, s in members)),
        "alarm_packs": _alarm_packs(members, lambda s: s.alarms),
        "warning_packs": _alarm_packs(members, lambda s: s.warnings),
    }
    capacities = ("remaining_capacity", "full_capacity", "design_capacity")
    if series:
        values["voltage"] = _sum(_every(members, lambda s: s.voltage))
        values["current"] = _mean(currents, 3)
        values["current_mismatch"] = None if not currents else max(currents) - min(currents) > current_tolerance
        values["soc"] = _min(_every(members, lambda s: s.soc))
        values["soh"] = _min(_every(members, lambda s: s.soh))
        for name in capacities:
            values[name] = _min(_every(members, _field(name)))
    else:
        values["voltage"] = _mean(voltages, 3)
        values["current"] = _sum(_every(members, lambda s: s.current))
        values["soc"] = _weighted(members, lambda s: s.soc, _full_else_design, 2)
        values["soh"] = _weighted(members, lambda s: s.soh, _design_else_full, 2)
        for name in capacities:
            values[name] = _sum(_every(members, _field(name)))
    values.update(cells(members))
    values.update(temperatures(members))
    values.update(mosfet(members, "charge_mosfet"))
    values.update(mosfet(members, "discharge_mosfet"))
    return values


def _field(name: str) -> Callable[[BmsSnapshot], float | None]:
    def get(snapshot: BmsSnapshot) -> float | None:
        value: float | None = getattr(snapshot, name)
        return value

    return get


def build_bank(readings: Iterable[MemberReading], config: BankConfig, *, now: float) -> BankSnapshot:
    """The bank from its members' latest readings at time ``now`` (same clock as the readings' ``at``)."""
    chosen: Selection = select(list(readings), config.policy, now=now, max_age=config.max_age)
    head: dict[str, Any] = {
        "mode": config.mode,
        "members": chosen.members,
        "missing": chosen.missing,
        "degraded": chosen.degraded,
        "available": chosen.reports,
    }
    if not chosen.reports:
        return BankSnapshot(**head)
    return BankSnapshot(**head, **combine(config.mode, chosen.fresh, current_tolerance=config.current_tolerance))

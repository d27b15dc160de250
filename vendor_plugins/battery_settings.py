"""Battery settings (protection thresholds, balancing, capacities): one vendor-neutral vocabulary and its rules.

A vendor declares a :class:`SettingsTable` per protocol family: one :class:`SettingSpec` row per setting (the
vendor's own accepted range and wire resolution; vendor subclasses add the register or command), plus the
:class:`OrderRule` s between related values. :meth:`SettingsTable.validate` checks every requested value and the
whole resulting set *before* anything is sent; it is pure (no I/O). :class:`BmsSettings` is what a session reads.

Units are the model's: V, A, °C, s, %, Ah; ``""`` for switches (bool) and counts. Currents are magnitudes: a
discharge over-current limit of 100 A is ``100``, never ``-100``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .errors import SettingsRefused

Number = float | int | bool

Kind = Literal["float", "int", "bool"]


@dataclass(frozen=True, slots=True)
class SettingName:
    """One word of the vendor-neutral settings vocabulary."""

    name: str
    unit: str
    description: str
    #: How values are typed: "float" (a measurement), "int" (a count), "bool" (a switch).
    kind: Kind = "float"


def _names(*rows: tuple[str, str, str] | tuple[str, str, str, Kind]) -> dict[str, SettingName]:
    out: dict[str, SettingName] = {}
    for row in rows:
        entry = SettingName(*row)
        if entry.name in out:
            raise ValueError(f"duplicate setting name {entry.name!r}")
        out[entry.name] = entry
    return out


def _threshold_family(prefix: str, unit: str, what: str, alarm: bool = True) -> list[tuple[str, str, str]]:
    rows = [
        (f"{prefix}_protect", unit, f"{what}: protection trips at"),
        (f"{prefix}_release", unit, f"{what}: protection releases at"),
        (f"{prefix}_delay", "s", f"{what}: delay before the protection trips"),
    ]
    if alarm:
        rows.append((f"{prefix}_alarm", unit, f"{what}: warning at"))
    return rows


_ROWS: list[tuple[str, str, str] | tuple[str, str, str, Kind]] = [
    *_threshold_family("cell_overvoltage", "V", "Cell over-voltage"),
    *_threshold_family("cell_undervoltage", "V", "Cell under-voltage"),
    *_threshold_family("pack_overvoltage", "V", "Pack over-voltage"),
    *_threshold_family("pack_undervoltage", "V", "Pack under-voltage"),
    ("cell_overvoltage_hard_protect", "V", "Cell over-voltage: secondary (hardware) protection"),
    ("cell_undervoltage_hard_protect", "V", "Cell under-voltage: secondary (hardware) protection"),
    ("cell_overvoltage_hard_delay", "s", "Cell over-voltage: secondary protection delay"),
    ("cell_undervoltage_hard_delay", "s", "Cell under-voltage: secondary protection delay"),
    ("charge_overcurrent_protect", "A", "Charge over-current: protection trips at"),
    ("charge_overcurrent_alarm", "A", "Charge over-current: warning at"),
    ("charge_overcurrent_delay", "s", "Charge over-current: delay before the protection trips"),
    ("charge_overcurrent_release_delay", "s", "Charge over-current: time before the protection releases"),
    ("discharge_overcurrent_protect", "A", "Discharge over-current: protection trips at (magnitude)"),
    ("discharge_overcurrent_alarm", "A", "Discharge over-current: warning at (magnitude)"),
    ("discharge_overcurrent_delay", "s", "Discharge over-current: delay before the protection trips"),
    ("discharge_overcurrent_release_delay", "s", "Discharge over-current: time before the protection releases"),
    ("discharge_overcurrent2_protect", "A", "Discharge over-current level 2: protection trips at (magnitude)"),
    ("discharge_overcurrent2_delay", "s", "Discharge over-current level 2: delay before the protection trips"),
    ("charge_overcurrent2_protect", "A", "Charge over-current level 2: protection trips at"),
    ("charge_overcurrent2_delay", "s", "Charge over-current level 2: delay before the protection trips"),
    ("short_circuit_delay", "s", "Short circuit: delay before the protection trips"),
    *_threshold_family("charge_overtemp", "°C", "Charge over-temperature"),
    *_threshold_family("charge_undertemp", "°C", "Charge under-temperature"),
    *_threshold_family("discharge_overtemp", "°C", "Discharge over-temperature"),
    *_threshold_family("discharge_undertemp", "°C", "Discharge under-temperature"),
    *_threshold_family("mosfet_overtemp", "°C", "MOSFET over-temperature"),
    *_threshold_family("ambient_overtemp", "°C", "Ambient over-temperature"),
    *_threshold_family("ambient_undertemp", "°C", "Ambient under-temperature"),
    ("balance_start_voltage", "V", "Balancing starts above this cell voltage"),
    ("balance_delta_voltage", "V", "Balancing starts when the cell difference exceeds this"),
    ("balancer_enabled", "", "Balancer on", "bool"),
    ("balance_only_when_charging", "", "Balance only while charging", "bool"),
    ("design_capacity", "Ah", "Design (nominal) capacity"),
    ("cycle_capacity", "Ah", "Capacity counted as one cycle"),
    ("cell_full_voltage", "V", "Cell voltage counted as full (100 % SoC)"),
    ("cell_empty_voltage", "V", "Cell voltage counted as empty (0 % SoC)"),
    *[(f"cell_voltage_soc_{p}", "V", f"Cell voltage at {p} % SoC (SoC table)") for p in range(10, 100, 10)],
    ("self_discharge_rate", "%", "Self-discharge rate per month"),
    ("cell_count", "", "Cells in series", "int"),
    ("charge_full_voltage", "V", "Charge counted as complete at this pack voltage"),
    ("charge_full_current", "A", "Charge counted as complete below this current"),
    ("soc_low_alarm", "%", "Low SoC warning at"),
    ("cell_delta_alarm", "V", "Cell voltage difference warning at"),
    ("cell_delta_protect", "V", "Cell voltage difference protection at"),
    ("sleep_delay", "s", "Sleep after this long idle"),
    ("sleep_cell_voltage", "V", "Sleep (when idle) once every cell is below this"),
    ("temp_delta_alarm", "°C", "Temperature difference between sensors: warning at"),
    ("temp_delta_protect", "°C", "Temperature difference between sensors: protection at"),
]

#: Every setting name any vendor may use. Vendors add rows above (this file is shared by every vendor).
VOCABULARY: Mapping[str, SettingName] = _names(*_ROWS)


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One row of a vendor's settings table: the vendor's own accepted range and wire resolution.

    ``minimum``/``maximum``/``step`` are in the vocabulary unit. Vendor subclasses add the wire location.
    """

    name: str
    minimum: float
    maximum: float
    step: float
    writable: bool = True

    @property
    def word(self) -> SettingName:
        """The vocabulary entry of this row."""
        return VOCABULARY[self.name]

    def coerce(self, value: object) -> Number:
        """``value`` as this setting's type, rounded to the wire resolution; ``ValueError`` explains a refusal.

        The range is checked after rounding and never clamped: an out-of-range value is refused.
        """
        kind = self.word.kind
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            raise ValueError(f"{self.name} is on/off (true/false), not {value!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{self.name} needs a number, not {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{self.name} needs a finite number, not {value!r}")
        tolerance = self.step * 1e-6
        number: Number = value
        if self.minimum - self.step <= value <= self.maximum + self.step:  # far outside: refused as given
            rounded = round(round(value / self.step) * self.step, 9)
            number = int(rounded) if kind == "int" else float(rounded)
        if number < self.minimum - tolerance or number > self.maximum + tolerance:
            unit = f" {self.word.unit}" if self.word.unit else ""
            raise ValueError(
                f"{self.name} {format_value(number)}{unit} is outside the device's range "
                f"{format_value(self.minimum)}..{format_value(self.maximum)}{unit}"
            )
        return number

    def same(self, a: Number, b: Number) -> bool:
        """Whether two values of this setting are equal at the wire resolution."""
        if self.word.kind == "bool":
            return bool(a) == bool(b)
        return abs(float(a) - float(b)) < self.step / 2


@dataclass(frozen=True, slots=True)
class OrderRule:
    """An ordering between two related settings: ``lower < upper`` (strict) or ``lower <= upper``."""

    lower: str
    upper: str
    strict: bool
    reason: str

    def holds(self, values: Mapping[str, Number]) -> bool:
        """Whether the rule holds in ``values`` (a rule naming a value not present holds)."""
        if self.lower not in values or self.upper not in values:
            return True
        low, high = float(values[self.lower]), float(values[self.upper])
        return low < high if self.strict else low <= high


def _threshold_rules(prefix: str, high: bool, what: str) -> list[OrderRule]:
    """Release on the safe side of protect; the warning comes before the protection."""
    protect, release, alarm = f"{prefix}_protect", f"{prefix}_release", f"{prefix}_alarm"
    if high:
        return [
            OrderRule(release, protect, True, f"the {what} release must be below its protection"),
            OrderRule(alarm, protect, False, f"the {what} warning must not be above its protection"),
        ]
    return [
        OrderRule(protect, release, True, f"the {what} release must be above its protection"),
        OrderRule(protect, alarm, False, f"the {what} warning must not be below its protection"),
    ]


def _increasing(names: list[str], reason: str) -> list[OrderRule]:
    """Every pair in order (not only neighbours), so a table holding only part of the chain is still ordered."""
    return [OrderRule(a, b, True, reason) for a, b in itertools.combinations(names, 2)]


#: The physics every vendor shares. A rule whose two names are not both in a table is skipped for that table.
STANDARD_RULES: tuple[OrderRule, ...] = (
    *_threshold_rules("cell_overvoltage", True, "cell over-voltage"),
    *_threshold_rules("cell_undervoltage", False, "cell under-voltage"),
    *_threshold_rules("pack_overvoltage", True, "pack over-voltage"),
    *_threshold_rules("pack_undervoltage", False, "pack under-voltage"),
    OrderRule(
        "cell_undervoltage_protect", "cell_overvoltage_protect", True, "cell under-voltage must be below over-voltage"
    ),
    OrderRule(
        "cell_undervoltage_release",
        "cell_overvoltage_release",
        True,
        "cell under-voltage release must be below over-voltage release",
    ),
    OrderRule(
        "pack_undervoltage_protect", "pack_overvoltage_protect", True, "pack under-voltage must be below over-voltage"
    ),
    OrderRule(
        "pack_undervoltage_release",
        "pack_overvoltage_release",
        True,
        "pack under-voltage release must be below over-voltage release",
    ),
    OrderRule(
        "cell_overvoltage_protect",
        "cell_overvoltage_hard_protect",
        False,
        "the secondary cell over-voltage protection must not trip before the primary one",
    ),
    OrderRule(
        "cell_undervoltage_hard_protect",
        "cell_undervoltage_protect",
        False,
        "the secondary cell under-voltage protection must not trip before the primary one",
    ),
    OrderRule(
        "cell_undervoltage_hard_protect",
        "cell_overvoltage_hard_protect",
        True,
        "secondary cell under-voltage must be below secondary over-voltage",
    ),
    OrderRule(
        "cell_undervoltage_protect",
        "balance_start_voltage",
        False,
        "balancing must start within the cell's allowed range (not below under-voltage)",
    ),
    OrderRule(
        "balance_start_voltage",
        "cell_overvoltage_protect",
        False,
        "balancing must start within the cell's allowed range (not above over-voltage)",
    ),
    OrderRule("cell_empty_voltage", "cell_full_voltage", True, "the empty cell voltage must be below the full one"),
    *_increasing(
        ["cell_empty_voltage", *[f"cell_voltage_soc_{p}" for p in range(10, 100, 10)], "cell_full_voltage"],
        "the SoC voltage table must rise with SoC",
    ),
    OrderRule(
        "charge_overcurrent_alarm",
        "charge_overcurrent_protect",
        False,
        "the charge over-current warning must not be above its protection",
    ),
    OrderRule(
        "discharge_overcurrent_alarm",
        "discharge_overcurrent_protect",
        False,
        "the discharge over-current warning must not be above its protection",
    ),
    OrderRule(
        "discharge_overcurrent_protect",
        "discharge_overcurrent2_protect",
        True,
        "discharge over-current level 2 must be above level 1",
    ),
    OrderRule(
        "charge_overcurrent_protect",
        "charge_overcurrent2_protect",
        True,
        "charge over-current level 2 must be above level 1",
    ),
    *[
        rule
        for prefix, what in (("charge", "charge"), ("discharge", "discharge"))
        for rule in (
            *_threshold_rules(f"{prefix}_overtemp", True, f"{what} over-temperature"),
            *_threshold_rules(f"{prefix}_undertemp", False, f"{what} under-temperature"),
            OrderRule(
                f"{prefix}_undertemp_protect",
                f"{prefix}_overtemp_protect",
                True,
                f"{what} under-temperature must be below over-temperature",
            ),
            OrderRule(
                f"{prefix}_undertemp_release",
                f"{prefix}_overtemp_release",
                True,
                f"{what} under-temperature release must be below over-temperature release",
            ),
        )
    ],
    *_threshold_rules("mosfet_overtemp", True, "MOSFET over-temperature"),
    *_threshold_rules("ambient_overtemp", True, "ambient over-temperature"),
    *_threshold_rules("ambient_undertemp", False, "ambient under-temperature"),
    OrderRule(
        "ambient_undertemp_protect",
        "ambient_overtemp_protect",
        True,
        "ambient under-temperature must be below over-temperature",
    ),
    OrderRule(
        "cell_delta_alarm", "cell_delta_protect", False, "the cell difference warning must not be above its protection"
    ),
)


#: A pack voltage threshold divided by the cell count must be a plausible cell voltage (catches 146 typed for 14.6).
PACK_VOLTS_PER_CELL: tuple[float, float] = (1.0, 4.5)


def _per_cell_problems(values: Mapping[str, Number], cell_count: int | None) -> list[str]:
    """Pack voltage settings that are no plausible voltage per cell for a pack of ``cell_count`` cells."""
    if not cell_count:
        return []
    low, high = PACK_VOLTS_PER_CELL
    return [
        f"{describe(name, value)} is {float(value) / cell_count:.3f} V per cell on a {cell_count}-cell pack "
        f"(plausible: {low:g}..{high:g} V per cell)"
        for name, value in values.items()
        if name.startswith("pack_") and VOCABULARY[name].unit == "V" and not low <= float(value) / cell_count <= high
    ]


def format_value(value: Number) -> str:
    """A setting value as users read it: ``on``/``off``, integers bare, floats without trailing zeros."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return str(value)
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def describe(name: str, value: Number) -> str:
    """``name value unit`` for messages."""
    unit = VOCABULARY[name].unit if name in VOCABULARY else ""
    return f"{name} {format_value(value)}{' ' + unit if unit and not isinstance(value, bool) else ''}"


@dataclass(frozen=True, slots=True)
class BmsSettings:
    """The settings a pack reported: ``values`` maps vocabulary names to values in vocabulary units."""

    vendor: str
    family: str
    cell_count: int | None
    values: Mapping[str, Number] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Number]:
        """A flat object of name → value, sorted by name (the ``bmsgw settings get --json`` object)."""
        return {name: self.values[name] for name in sorted(self.values)}

    def with_values(self, changes: Mapping[str, Number]) -> BmsSettings:
        """A copy with ``changes`` applied (no validation: see :meth:`SettingsTable.validate`)."""
        return BmsSettings(self.vendor, self.family, self.cell_count, {**self.values, **changes})


@dataclass(frozen=True, slots=True)
class SettingsTable:
    """A vendor family's settings: one row per setting plus the ordering rules between them."""

    family: str
    specs: tuple[SettingSpec, ...]
    rules: tuple[OrderRule, ...] = STANDARD_RULES

    def __post_init__(self) -> None:
        """Refuse a table naming a word outside the vocabulary or naming one twice (a programming error)."""
        seen: set[str] = set()
        for spec in self.specs:
            if spec.name not in VOCABULARY:
                raise ValueError(f"{self.family}: {spec.name!r} is not in the settings vocabulary")
            if spec.name in seen:
                raise ValueError(f"{self.family}: {spec.name!r} declared twice")
            if not spec.minimum <= spec.maximum or spec.step <= 0:
                raise ValueError(f"{self.family}: {spec.name!r} has an empty range or a bad step")
            seen.add(spec.name)

    @property
    def names(self) -> tuple[str, ...]:
        """The setting names of this table, in table order."""
        return tuple(spec.name for spec in self.specs)

    def spec(self, name: str) -> SettingSpec:
        """The row for ``name``; :class:`SettingsRefused` for a name this family does not have."""
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise SettingsRefused([f"{name!r} is not a setting of {self.family} (known: {', '.join(sorted(self.names))})"])

    def has(self, name: str) -> bool:
        """Whether this family has the setting ``name``."""
        return any(spec.name == name for spec in self.specs)

    def validate(self, current: BmsSettings, changes: Mapping[str, object]) -> BmsSettings:
        """Check every value (known name, writable, type, range, step) and the whole resulting set against the rules.

        Returns the resulting settings (values rounded to the wire resolution); raises :class:`SettingsRefused`
        listing every problem. Pure: no I/O. Rules are checked on the result only where a changed value takes
        part, so a device whose stored values already break a rule can still be corrected.
        """
        problems: list[str] = []
        accepted: dict[str, Number] = {}
        for name, value in changes.items():
            if not self.has(name):
                problems.append(f"{name!r} is not a setting of {self.family} (known: {', '.join(sorted(self.names))})")
                continue
            spec = self.spec(name)
            if not spec.writable:
                problems.append(f"{name} is read-only on {self.family}")
                continue
            try:
                accepted[name] = spec.coerce(value)
            except ValueError as err:
                problems.append(str(err))
        if problems:
            raise SettingsRefused(problems)
        result = {**current.values, **accepted}
        problems.extend(_per_cell_problems(accepted, current.cell_count))
        for rule in self.rules:
            if rule.lower not in accepted and rule.upper not in accepted:
                continue
            if not rule.holds(result):
                relation = "<" if rule.strict else "<="
                problems.append(
                    f"{describe(rule.lower, result[rule.lower])} {relation} {describe(rule.upper, result[rule.upper])} "
                    f"is false: {rule.reason}"
                )
        if problems:
            raise SettingsRefused(problems)
        return current.with_values(accepted)

    def changed(self, before: BmsSettings, after: BmsSettings) -> tuple[str, ...]:
        """Names of this table whose value differs between ``before`` and ``after`` (at the wire resolution)."""
        out = []
        for spec in self.specs:
            a, b = before.values.get(spec.name), after.values.get(spec.name)
            if a is None or b is None:
                if a is not b:
                    out.append(spec.name)
            elif not spec.same(a, b):
                out.append(spec.name)
        return tuple(out)

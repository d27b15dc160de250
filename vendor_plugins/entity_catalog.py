"""The entity catalog: which entities a pack gets, generated from the common model — one table for every consumer.

Home Assistant's integration (``custom_components/bms_gateway/descriptions.py``) and the MQTT gateway's discovery
(:mod:`vendor_plugins.gateway.discovery`) both build their entities from the :class:`EntitySpec` lists made here, so
the two never drift: same keys (the unique-id suffixes), names, device classes, units, state classes, categories,
precisions and enabled-by-default flags. Everything is plain strings (Home Assistant's own enums are built from them
on the integration's side).

* :data:`SCALAR_SENSORS` — scalar model fields (and derived properties) → presentation; a new model field needs one
  line here (a test fails otherwise); a new vendor needs nothing.
* :func:`sensor_specs` / :func:`binary_sensor_specs` — per-pack lists expanded from the pack's first snapshot (one
  sensor per cell and per temperature reading, one binary sensor per alarm the plugin reports).
* :data:`ENERGY_SPECS`, :func:`switch_specs`, :data:`EVENT_SPEC` — energy meters, MOSFET switches, the alarm event.
* :data:`~.entity_names.NAMES` — the English name of every translation key (the integration's
  ``translations/en.json`` must agree; a test compares them).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final

from .entity_names import BINARY_SENSOR, EVENT, NAMES, SENSOR, SWITCH
from .model import Alarm, BmsSnapshot, Switch, TemperatureKind

type ValueFn = Callable[[BmsSnapshot], Any]

#: Entity category of diagnostic entities.
DIAGNOSTIC: Final = "diagnostic"
MEASUREMENT: Final = "measurement"
TOTAL_INCREASING: Final = "total_increasing"

VOLT: Final = "V"
AMPERE: Final = "A"
WATT: Final = "W"
WATT_HOUR: Final = "Wh"
KILO_WATT_HOUR: Final = "kWh"
AMPERE_HOURS: Final = "Ah"
PERCENT: Final = "%"
CELSIUS: Final = "°C"

#: Cell voltage sensors enabled by default (the rest are created disabled).
ENABLED_CELLS: Final = 16


@dataclass(frozen=True, slots=True)
class EntitySpec:
    """One entity of a pack, vendor- and consumer-neutral.

    ``key`` is the unique-id suffix; ``translation_key`` (+ ``placeholders``) names it; ``field`` is the snapshot field
    its value derives from; ``value_fn`` reads it from a snapshot (``None``: not from a snapshot — energy meters,
    events).
    """

    platform: str
    key: str
    translation_key: str
    field: str
    value_fn: ValueFn | None = None
    device_class: str | None = None
    unit: str | None = None
    state_class: str | None = None
    precision: int | None = None
    category: str | None = None
    enabled: bool = True
    placeholders: Mapping[str, str] | None = None

    @property
    def name(self) -> str:
        """The English name (the translation with its placeholders filled in)."""
        template = NAMES[self.platform][self.translation_key]
        return template.format(**self.placeholders) if self.placeholders else template


@dataclass(frozen=True, slots=True)
class Scalar:
    """How one scalar model field appears."""

    device_class: str | None
    unit: str | None
    state_class: str | None = MEASUREMENT
    precision: int | None = None
    category: str | None = None
    enabled: bool = True


#: Model field (or derived property) -> presentation. Order is the order entities are created in.
SCALAR_SENSORS: Final[dict[str, Scalar]] = {
    "voltage": Scalar("voltage", VOLT, precision=2),
    "current": Scalar("current", AMPERE, precision=2),
    "power": Scalar("power", WATT, precision=0),
    "soc": Scalar("battery", PERCENT, precision=0),
    "soh": Scalar(None, PERCENT, precision=0, category=DIAGNOSTIC),
    "remaining_capacity": Scalar(None, AMPERE_HOURS, precision=1),
    "full_capacity": Scalar(None, AMPERE_HOURS, precision=1, category=DIAGNOSTIC),
    "design_capacity": Scalar(None, AMPERE_HOURS, None, precision=1, category=DIAGNOSTIC),
    "stored_energy": Scalar("energy_storage", WATT_HOUR, precision=0),
    "cycles": Scalar(None, None, TOTAL_INCREASING, category=DIAGNOSTIC),
    "cell_min": Scalar("voltage", VOLT, precision=3),
    "cell_max": Scalar("voltage", VOLT, precision=3),
    "cell_average": Scalar("voltage", VOLT, precision=3),
    "cell_delta": Scalar("voltage", VOLT, precision=3),
}

#: Derived properties -> the snapshot field they are computed from.
DERIVED_FROM: Final[dict[str, str]] = {
    "cell_min": "cell_voltages",
    "cell_max": "cell_voltages",
    "cell_average": "cell_voltages",
    "cell_delta": "cell_voltages",
    "charging": "current",
    "discharging": "current",
}

#: Snapshot fields that are not single scalar sensors (expanded per item, or binary sensors, or diagnostics only).
NON_SCALAR_FIELDS: Final = frozenset(
    {"cell_voltages", "temperatures", "charge_mosfet", "discharge_mosfet", "balancing", "alarms", "warnings", "raw"}
)

#: Alarms that are about a dangerous condition get device class ``safety``; the rest (faults, locks) ``problem``.
SAFETY_ALARMS: Final = frozenset(
    {
        Alarm.CELL_OVERVOLTAGE,
        Alarm.CELL_UNDERVOLTAGE,
        Alarm.PACK_OVERVOLTAGE,
        Alarm.PACK_UNDERVOLTAGE,
        Alarm.CHARGE_OVERCURRENT,
        Alarm.DISCHARGE_OVERCURRENT,
        Alarm.SHORT_CIRCUIT,
        Alarm.CHARGE_OVERTEMP,
        Alarm.CHARGE_UNDERTEMP,
        Alarm.DISCHARGE_OVERTEMP,
        Alarm.DISCHARGE_UNDERTEMP,
        Alarm.MOSFET_OVERTEMP,
        Alarm.AMBIENT_OVERTEMP,
        Alarm.AMBIENT_UNDERTEMP,
        Alarm.CELL_OVERTEMP,
        Alarm.CELL_UNDERTEMP,
        Alarm.HIGH_SOC,
    }
)


# --- value functions -------------------------------------------------------------------------------------------
def _cell(index: int) -> Callable[[BmsSnapshot], float | None]:
    def value(snapshot: BmsSnapshot) -> float | None:
        cells = snapshot.cell_voltages
        return cells[index] if index < len(cells) else None

    return value


def _temperature(index: int, name: str) -> Callable[[BmsSnapshot], float | None]:
    def value(snapshot: BmsSnapshot) -> float | None:
        temps = snapshot.temperatures
        if index < len(temps) and temps[index].name == name:
            return temps[index].celsius
        for reading in temps:  # the device reordered or dropped a sensor
            if reading.name == name:
                return reading.celsius
        return None

    return value


def _balancing_cell(cell: int) -> Callable[[BmsSnapshot], bool | None]:
    def value(snapshot: BmsSnapshot) -> bool | None:
        return None if snapshot.balancing is None else cell in snapshot.balancing

    return value


def _alarm(alarm: Alarm) -> Callable[[BmsSnapshot], bool]:
    def value(snapshot: BmsSnapshot) -> bool:
        return alarm in snapshot.alarms

    return value


def _any_balancing(snapshot: BmsSnapshot) -> bool | None:
    return None if snapshot.balancing is None else bool(snapshot.balancing)


def _warning_count(snapshot: BmsSnapshot) -> int:
    return len(snapshot.warnings)


def battery_power(snapshot: BmsSnapshot) -> float | None:
    """Power in Home Assistant's battery convention (+ = discharging), the model's power negated."""
    power = snapshot.power
    return None if power is None else (-power or 0.0)  # no "-0 W" at rest


def reported_alarms(declared: Collection[Alarm]) -> tuple[Alarm, ...]:
    """The alarms a plugin ``declared`` it can report, in model order (every member when it declares none)."""
    if declared:
        return tuple(a for a in Alarm if a in declared)
    return tuple(Alarm)


# --- the specs -------------------------------------------------------------------------------------------------
#: Home Assistant's battery power convention (the Energy dashboard): + = discharging. The model's ``power`` is
#: + = charging (fixed); this sensor is its negation, created next to it.
BATTERY_POWER: Final = EntitySpec(
    SENSOR,
    "battery_power",
    "battery_power",
    "power",
    battery_power,
    device_class="power",
    unit=WATT,
    state_class=MEASUREMENT,
    precision=0,
)

#: The Energy-dashboard meters of a pack (values from the library's integrator, not from a snapshot).
ENERGY_SPECS: Final = tuple(
    EntitySpec(
        SENSOR,
        f"energy_{direction}",
        f"energy_{direction}",
        "power",
        device_class="energy",
        unit=KILO_WATT_HOUR,
        state_class=TOTAL_INCREASING,
        precision=2,
    )
    for direction in ("charged", "discharged")
)

#: Event types of the alarm event entity.
ALARM_RAISED: Final = "alarm_raised"
ALARM_CLEARED: Final = "alarm_cleared"
WARNING_RAISED: Final = "warning_raised"
WARNING_CLEARED: Final = "warning_cleared"
EVENT_TYPES: Final = (ALARM_RAISED, ALARM_CLEARED, WARNING_RAISED, WARNING_CLEARED)
#: One alarm event entity per pack.
EVENT_SPEC: Final = EntitySpec(EVENT, "alarm_events", "alarm_events", "alarms")


def sensor_specs(snapshot: BmsSnapshot, enabled_cells: int = ENABLED_CELLS) -> list[EntitySpec]:
    """Every sensor a pack whose first reading is ``snapshot`` gets (values it does not report are left out)."""
    out: list[EntitySpec] = []
    for name, spec in SCALAR_SENSORS.items():
        getter = attrgetter(name)
        if getter(snapshot) is None:
            continue
        out.append(
            EntitySpec(
                SENSOR,
                name,
                name,
                DERIVED_FROM.get(name, name),
                getter,
                device_class=spec.device_class,
                unit=spec.unit,
                state_class=spec.state_class,
                precision=spec.precision,
                category=spec.category,
                enabled=spec.enabled,
            )
        )
        if name == "power":
            out.append(BATTERY_POWER)
    for index in range(len(snapshot.cell_voltages)):
        cell = index + 1
        out.append(
            EntitySpec(
                SENSOR,
                f"cell_{cell}_voltage",
                "cell_voltage",
                "cell_voltages",
                _cell(index),
                device_class="voltage",
                unit=VOLT,
                state_class=MEASUREMENT,
                precision=3,
                enabled=cell <= enabled_cells,
                placeholders={"cell": str(cell)},
            )
        )
    kinds = [reading.kind for reading in snapshot.temperatures]
    numbers: dict[TemperatureKind, int] = {}
    for index, reading in enumerate(snapshot.temperatures):
        numbers[reading.kind] = numbers.get(reading.kind, 0) + 1
        several = kinds.count(reading.kind) > 1
        out.append(
            EntitySpec(
                SENSOR,
                f"temperature_{reading.name}",
                f"temperature_{reading.kind}{'_n' if several else ''}",
                "temperatures",
                _temperature(index, reading.name),
                device_class="temperature",
                unit=CELSIUS,
                state_class=MEASUREMENT,
                precision=1,
                placeholders={"index": str(numbers[reading.kind])} if several else None,
            )
        )
    out.append(
        EntitySpec(
            SENSOR, "warnings", "warnings", "warnings", _warning_count, state_class=MEASUREMENT, category=DIAGNOSTIC
        )
    )
    return out


def binary_sensor_specs(
    snapshot: BmsSnapshot, alarms: Collection[Alarm], *, cell_balancing: bool = False
) -> list[EntitySpec]:
    """Every binary sensor a pack gets: charge state, MOSFETs, balancing, one per alarm in ``alarms``.

    ``alarms``: what the plugin reports (:func:`reported_alarms`). Per-cell balancing sensors are created disabled
    unless ``cell_balancing`` says otherwise.
    """
    out: list[EntitySpec] = []
    flags: list[tuple[str, str | None, str | None, ValueFn]] = [
        ("charging", "battery_charging", None, attrgetter("charging")),
        ("discharging", None, None, attrgetter("discharging")),
        ("charge_mosfet", "power", DIAGNOSTIC, attrgetter("charge_mosfet")),
        ("discharge_mosfet", "power", DIAGNOSTIC, attrgetter("discharge_mosfet")),
        ("balancing", None, DIAGNOSTIC, _any_balancing),
    ]
    for key, device_class, category, value_fn in flags:
        if value_fn(snapshot) is None:
            continue
        out.append(
            EntitySpec(
                BINARY_SENSOR,
                key,
                key,
                DERIVED_FROM.get(key, key),
                value_fn,
                device_class=device_class,
                category=category,
            )
        )
    if snapshot.balancing is not None:
        for index in range(len(snapshot.cell_voltages)):
            cell = index + 1
            out.append(
                EntitySpec(
                    BINARY_SENSOR,
                    f"cell_{cell}_balancing",
                    "cell_balancing",
                    "balancing",
                    _balancing_cell(cell),
                    category=DIAGNOSTIC,
                    enabled=cell_balancing,
                    placeholders={"cell": str(cell)},
                )
            )
    for alarm in alarms:
        out.append(
            EntitySpec(
                BINARY_SENSOR,
                f"alarm_{alarm.value}",
                f"alarm_{alarm.value}",
                "alarms",
                _alarm(alarm),
                device_class="safety" if alarm in SAFETY_ALARMS else "problem",
                category=DIAGNOSTIC,
            )
        )
    return out


def switch_spec(switch: Switch) -> EntitySpec:
    """The control switch of one MOSFET (state: the MOSFET state the pack reports)."""
    return EntitySpec(
        SWITCH,
        f"{switch.value}_mosfet_switch",
        f"{switch.value}_mosfet_switch",
        f"{switch.value}_mosfet",
        attrgetter(f"{switch.value}_mosfet"),
        device_class="switch",
    )


def switch_specs(snapshot: BmsSnapshot, switches: Collection[Switch]) -> list[EntitySpec]:
    """The switches of a pack: the plugin can switch them (``switches``) and the pack reports their state."""
    return [
        switch_spec(switch)
        for switch in (Switch.CHARGE, Switch.DISCHARGE)
        if switch in switches and getattr(snapshot, f"{switch.value}_mosfet") is not None
    ]


__all__ = [
    "BATTERY_POWER",
    "DERIVED_FROM",
    "ENERGY_SPECS",
    "EVENT_SPEC",
    "EVENT_TYPES",
    "NON_SCALAR_FIELDS",
    "SAFETY_ALARMS",
    "SCALAR_SENSORS",
    "EntitySpec",
    "Scalar",
    "binary_sensor_specs",
    "reported_alarms",
    "sensor_specs",
    "switch_spec",
    "switch_specs",
]

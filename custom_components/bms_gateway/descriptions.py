"""Entity descriptions generated from the common model (``vendor_plugins.model``), never from a vendor.

Scalar fields of :class:`~vendor_plugins.model.BmsSnapshot` (and its derived properties) map to sensors through
:data:`SCALAR_SENSORS`, a table keyed by model field name: a new model field needs one line here (a test fails
otherwise); a new vendor needs nothing. Per-pack collections are expanded from the pack's first snapshot: one
sensor per cell voltage and per temperature reading, one binary sensor per :class:`~vendor_plugins.model.Alarm`
the plugin can report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntityDescription
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorEntityDescription, SensorStateClass
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
)
from homeassistant.helpers.entity import EntityDescription

from vendor_plugins.model import Alarm, BmsSnapshot, TemperatureKind
from vendor_plugins.plugin import VendorPlugin

from .const import ENABLED_CELLS
from .energy_meters import Direction

AMPERE_HOURS = "Ah"

type SensorValue = float | int | str | None
type ValueFn = Callable[[BmsSnapshot], Any]


@dataclass(frozen=True, kw_only=True)
class PackValueDescription(EntityDescription):
    """An entity showing one value out of a pack's snapshot (what every platform's value descriptions share)."""

    value_fn: Callable[[BmsSnapshot], Any]
    #: The snapshot field the value derives from: the coordinator only re-evaluates entities whose field changed.
    field: str


@dataclass(frozen=True, kw_only=True)
class BmsSensorEntityDescription(SensorEntityDescription, PackValueDescription):
    """A sensor reading one value out of a snapshot."""

    value_fn: Callable[[BmsSnapshot], SensorValue]


@dataclass(frozen=True, kw_only=True)
class BmsBinarySensorEntityDescription(BinarySensorEntityDescription, PackValueDescription):
    """A binary sensor reading one flag out of a snapshot."""

    value_fn: Callable[[BmsSnapshot], bool | None]


@dataclass(frozen=True, slots=True)
class _Scalar:
    """How one scalar model field appears in Home Assistant."""

    device_class: SensorDeviceClass | None
    unit: str | None
    state_class: SensorStateClass | None = SensorStateClass.MEASUREMENT
    precision: int | None = None
    category: EntityCategory | None = None
    enabled: bool = True


_VOLT = UnitOfElectricPotential.VOLT

#: Model field (or derived property) -> presentation. Order is the order entities are created in.
SCALAR_SENSORS: dict[str, _Scalar] = {
    "voltage": _Scalar(SensorDeviceClass.VOLTAGE, _VOLT, precision=2),
    "current": _Scalar(SensorDeviceClass.CURRENT, UnitOfElectricCurrent.AMPERE, precision=2),
    "power": _Scalar(SensorDeviceClass.POWER, UnitOfPower.WATT, precision=0),
    "soc": _Scalar(SensorDeviceClass.BATTERY, PERCENTAGE, precision=0),
    "soh": _Scalar(None, PERCENTAGE, precision=0, category=EntityCategory.DIAGNOSTIC),
    "remaining_capacity": _Scalar(None, AMPERE_HOURS, precision=1),
    "full_capacity": _Scalar(None, AMPERE_HOURS, precision=1, category=EntityCategory.DIAGNOSTIC),
    "design_capacity": _Scalar(None, AMPERE_HOURS, None, precision=1, category=EntityCategory.DIAGNOSTIC),
    "stored_energy": _Scalar(SensorDeviceClass.ENERGY_STORAGE, UnitOfEnergy.WATT_HOUR, precision=0),
    "cycles": _Scalar(None, None, SensorStateClass.TOTAL_INCREASING, category=EntityCategory.DIAGNOSTIC),
    "cell_min": _Scalar(SensorDeviceClass.VOLTAGE, _VOLT, precision=3),
    "cell_max": _Scalar(SensorDeviceClass.VOLTAGE, _VOLT, precision=3),
    "cell_average": _Scalar(SensorDeviceClass.VOLTAGE, _VOLT, precision=3),
    "cell_delta": _Scalar(SensorDeviceClass.VOLTAGE, _VOLT, precision=3),
}

#: Derived properties -> the snapshot field they are computed from.
DERIVED_FROM: dict[str, str] = {
    "cell_min": "cell_voltages",
    "cell_max": "cell_voltages",
    "cell_average": "cell_voltages",
    "cell_delta": "cell_voltages",
    "charging": "current",
    "discharging": "current",
}

#: Snapshot fields that are not single scalar sensors (expanded per item, or binary sensors, or diagnostics only).
NON_SCALAR_FIELDS = frozenset(
    {
        "cell_voltages",
        "temperatures",
        "charge_mosfet",
        "discharge_mosfet",
        "balancing",
        "alarms",
        "warnings",
        "raw",
    }
)

#: Alarms that are about a dangerous condition get device class ``safety``; the rest (faults, locks) ``problem``.
SAFETY_ALARMS = frozenset(
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


def reported_alarms(plugin: VendorPlugin) -> tuple[Alarm, ...]:
    """The alarms ``plugin`` declares it can report, in model order (every member when it declares none)."""
    declared = plugin.reported_alarms
    if declared:
        return tuple(a for a in Alarm if a in declared)
    return tuple(Alarm)


def _battery_power(snapshot: BmsSnapshot) -> float | None:
    """Power in Home Assistant's battery convention (+ = discharging), the model's power negated."""
    power = snapshot.power
    return None if power is None else (-power or 0.0)  # no "-0 W" at rest


#: Home Assistant's battery power convention (the Energy dashboard): + = discharging. The model's ``power`` is
#: + = charging (fixed); this sensor is its negation, created next to it.
BATTERY_POWER = BmsSensorEntityDescription(
    key="battery_power",
    translation_key="battery_power",
    device_class=SensorDeviceClass.POWER,
    native_unit_of_measurement=UnitOfPower.WATT,
    state_class=SensorStateClass.MEASUREMENT,
    suggested_display_precision=0,
    value_fn=_battery_power,
    field="power",
)


@dataclass(frozen=True, kw_only=True)
class BmsEnergyEntityDescription(SensorEntityDescription):
    """An Energy-dashboard meter of a pack: charged or discharged kWh (:class:`~.energy_meters.EnergyMeters`)."""

    direction: Direction


_DIRECTIONS: tuple[Direction, ...] = ("charged", "discharged")

ENERGY_SENSORS = tuple(
    BmsEnergyEntityDescription(
        key=f"energy_{direction}",
        translation_key=f"energy_{direction}",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        direction=direction,
    )
    for direction in _DIRECTIONS
)


def enabled_cell_count(choice: str, default: int = ENABLED_CELLS) -> int:
    """How many cell entities are enabled for the options flow's ``choice`` (default / all / none)."""
    if choice == "all":
        return 10**6
    if choice == "none":
        return 0
    return default


def sensor_descriptions(snapshot: BmsSnapshot, enabled_cells: int = ENABLED_CELLS) -> list[BmsSensorEntityDescription]:
    """Every sensor a pack whose first reading is ``snapshot`` gets (values it does not report are left out)."""
    out: list[BmsSensorEntityDescription] = []
    for name, spec in SCALAR_SENSORS.items():
        getter = attrgetter(name)
        if getter(snapshot) is None:
            continue
        out.append(
            BmsSensorEntityDescription(
                key=name,
                translation_key=name,
                device_class=spec.device_class,
                native_unit_of_measurement=spec.unit,
                state_class=spec.state_class,
                suggested_display_precision=spec.precision,
                entity_category=spec.category,
                entity_registry_enabled_default=spec.enabled,
                value_fn=getter,
                field=DERIVED_FROM.get(name, name),
            )
        )
        if name == "power":
            out.append(BATTERY_POWER)
    for index in range(len(snapshot.cell_voltages)):
        cell = index + 1
        out.append(
            BmsSensorEntityDescription(
                key=f"cell_{cell}_voltage",
                translation_key="cell_voltage",
                translation_placeholders={"cell": str(cell)},
                device_class=SensorDeviceClass.VOLTAGE,
                native_unit_of_measurement=_VOLT,
                state_class=SensorStateClass.MEASUREMENT,
                suggested_display_precision=3,
                entity_registry_enabled_default=cell <= enabled_cells,
                value_fn=_cell(index),
                field="cell_voltages",
            )
        )
    kinds = [reading.kind for reading in snapshot.temperatures]
    numbers: dict[TemperatureKind, int] = {}
    for index, reading in enumerate(snapshot.temperatures):
        numbers[reading.kind] = numbers.get(reading.kind, 0) + 1
        several = kinds.count(reading.kind) > 1
        out.append(
            BmsSensorEntityDescription(
                key=f"temperature_{reading.name}",
                translation_key=f"temperature_{reading.kind}{'_n' if several else ''}",
                translation_placeholders={"index": str(numbers[reading.kind])} if several else None,
                device_class=SensorDeviceClass.TEMPERATURE,
                native_unit_of_measurement=UnitOfTemperature.CELSIUS,
                state_class=SensorStateClass.MEASUREMENT,
                suggested_display_precision=1,
                value_fn=_temperature(index, reading.name),
                field="temperatures",
            )
        )
    out.append(
        BmsSensorEntityDescription(
            key="warnings",
            translation_key="warnings",
            state_class=SensorStateClass.MEASUREMENT,
            entity_category=EntityCategory.DIAGNOSTIC,
            value_fn=_warning_count,
            field="warnings",
        )
    )
    return out


def binary_sensor_descriptions(
    snapshot: BmsSnapshot, plugin: VendorPlugin, *, cell_balancing: bool = False
) -> list[BmsBinarySensorEntityDescription]:
    """Every binary sensor a pack gets: charge state, MOSFETs, balancing, one per alarm the plugin reports.

    Per-cell balancing sensors are created disabled unless ``cell_balancing`` (an option) says otherwise.
    """
    out: list[BmsBinarySensorEntityDescription] = []
    flags: list[tuple[str, BinarySensorDeviceClass | None, EntityCategory | None, Callable[[BmsSnapshot], Any]]] = [
        ("charging", BinarySensorDeviceClass.BATTERY_CHARGING, None, attrgetter("charging")),
        ("discharging", None, None, attrgetter("discharging")),
        ("charge_mosfet", BinarySensorDeviceClass.POWER, EntityCategory.DIAGNOSTIC, attrgetter("charge_mosfet")),
        ("discharge_mosfet", BinarySensorDeviceClass.POWER, EntityCategory.DIAGNOSTIC, attrgetter("discharge_mosfet")),
        ("balancing", None, EntityCategory.DIAGNOSTIC, _any_balancing),
    ]
    for key, device_class, category, value_fn in flags:
        if value_fn(snapshot) is None:
            continue
        out.append(
            BmsBinarySensorEntityDescription(
                key=key,
                translation_key=key,
                device_class=device_class,
                entity_category=category,
                value_fn=value_fn,
                field=DERIVED_FROM.get(key, key),
            )
        )
    if snapshot.balancing is not None:
        for index in range(len(snapshot.cell_voltages)):
            cell = index + 1
            out.append(
                BmsBinarySensorEntityDescription(
                    key=f"cell_{cell}_balancing",
                    translation_key="cell_balancing",
                    translation_placeholders={"cell": str(cell)},
                    entity_category=EntityCategory.DIAGNOSTIC,
                    entity_registry_enabled_default=cell_balancing,
                    value_fn=_balancing_cell(cell),
                    field="balancing",
                )
            )
    for alarm in reported_alarms(plugin):
        out.append(
            BmsBinarySensorEntityDescription(
                key=f"alarm_{alarm.value}",
                translation_key=f"alarm_{alarm.value}",
                device_class=(
                    BinarySensorDeviceClass.SAFETY if alarm in SAFETY_ALARMS else BinarySensorDeviceClass.PROBLEM
                ),
                entity_category=EntityCategory.DIAGNOSTIC,
                value_fn=_alarm(alarm),
                field="alarms",
            )
        )
    return out

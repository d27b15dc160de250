"""Entity descriptions generated from the common model (``vendor_plugins.model``), never from a vendor.

The facts — which entities a pack gets, their keys, translation keys, device classes, units, state classes,
categories, precisions — are the library's one table, :mod:`vendor_plugins.entity_catalog` (the MQTT gateway's
discovery uses the same, so the two never drift). This module only turns those plain-string
:class:`~vendor_plugins.entity_catalog.EntitySpec` lists into Home Assistant's typed entity descriptions: a new
model field needs one line in the catalog (a test fails otherwise); a new vendor needs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntityDescription
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorEntityDescription, SensorStateClass
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
)
from homeassistant.helpers.entity import EntityDescription

from vendor_plugins import entity_catalog as catalog
from vendor_plugins.entity_catalog import (
    AMPERE_HOURS,
    DERIVED_FROM,
    NON_SCALAR_FIELDS,
    SAFETY_ALARMS,
    SCALAR_SENSORS,
    EntitySpec,
    Scalar,
)
from vendor_plugins.model import Alarm, BmsSnapshot
from vendor_plugins.plugin import VendorPlugin

from .const import ENABLED_CELLS
from .energy_meters import Direction

type SensorValue = float | int | str | None
type ValueFn = Callable[[BmsSnapshot], Any]

#: Unit text -> Home Assistant's unit enum member (units without one, ``%`` and ``Ah``, stay text).
_UNITS: dict[str, str] = {
    unit.value: unit
    for kind in (UnitOfElectricPotential, UnitOfElectricCurrent, UnitOfPower, UnitOfEnergy, UnitOfTemperature)
    for unit in kind
}


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


def _unit(spec: EntitySpec) -> str | None:
    return None if spec.unit is None else _UNITS.get(spec.unit, spec.unit)


def _category(spec: EntitySpec) -> EntityCategory | None:
    return None if spec.category is None else EntityCategory(spec.category)


def _placeholders(spec: EntitySpec) -> dict[str, str] | None:
    return None if spec.placeholders is None else dict(spec.placeholders)


def ha_presentation(scalar: Scalar) -> dict[str, Any]:
    """How a catalog scalar appears, in Home Assistant's types (keyword arguments of a sensor description)."""
    return {
        "device_class": None if scalar.device_class is None else SensorDeviceClass(scalar.device_class),
        "native_unit_of_measurement": None if scalar.unit is None else _UNITS.get(scalar.unit, scalar.unit),
        "state_class": None if scalar.state_class is None else SensorStateClass(scalar.state_class),
        "suggested_display_precision": scalar.precision,
        "entity_category": None if scalar.category is None else EntityCategory(scalar.category),
    }


def sensor_description(spec: EntitySpec) -> BmsSensorEntityDescription:
    """Home Assistant's description of a catalog sensor that reads a snapshot."""
    assert spec.value_fn is not None
    return BmsSensorEntityDescription(
        key=spec.key,
        translation_key=spec.translation_key,
        translation_placeholders=_placeholders(spec),
        device_class=None if spec.device_class is None else SensorDeviceClass(spec.device_class),
        native_unit_of_measurement=_unit(spec),
        state_class=None if spec.state_class is None else SensorStateClass(spec.state_class),
        suggested_display_precision=spec.precision,
        entity_category=_category(spec),
        entity_registry_enabled_default=spec.enabled,
        value_fn=spec.value_fn,
        field=spec.field,
    )


def binary_sensor_description(spec: EntitySpec) -> BmsBinarySensorEntityDescription:
    """Home Assistant's description of a catalog binary sensor."""
    assert spec.value_fn is not None
    return BmsBinarySensorEntityDescription(
        key=spec.key,
        translation_key=spec.translation_key,
        translation_placeholders=_placeholders(spec),
        device_class=None if spec.device_class is None else BinarySensorDeviceClass(spec.device_class),
        entity_category=_category(spec),
        entity_registry_enabled_default=spec.enabled,
        value_fn=spec.value_fn,
        field=spec.field,
    )


def reported_alarms(plugin: VendorPlugin) -> tuple[Alarm, ...]:
    """The alarms ``plugin`` declares it can report, in model order (every member when it declares none)."""
    return catalog.reported_alarms(plugin.reported_alarms)


#: Home Assistant's battery power convention (the Energy dashboard): + = discharging. The model's ``power`` is
#: + = charging (fixed); this sensor is its negation, created next to it.
BATTERY_POWER = sensor_description(catalog.BATTERY_POWER)


@dataclass(frozen=True, kw_only=True)
class BmsEnergyEntityDescription(SensorEntityDescription):
    """An Energy-dashboard meter of a pack: charged or discharged kWh (:class:`~.energy_meters.EnergyMeters`)."""

    direction: Direction


_DIRECTIONS: tuple[Direction, ...] = ("charged", "discharged")

ENERGY_SENSORS = tuple(
    BmsEnergyEntityDescription(
        key=spec.key,
        translation_key=spec.translation_key,
        device_class=SensorDeviceClass(str(spec.device_class)),
        native_unit_of_measurement=_unit(spec),
        state_class=SensorStateClass(str(spec.state_class)),
        suggested_display_precision=spec.precision,
        direction=direction,
    )
    for spec, direction in zip(catalog.ENERGY_SPECS, _DIRECTIONS, strict=True)
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
    return [sensor_description(spec) for spec in catalog.sensor_specs(snapshot, enabled_cells)]


def binary_sensor_descriptions(
    snapshot: BmsSnapshot, plugin: VendorPlugin, *, cell_balancing: bool = False
) -> list[BmsBinarySensorEntityDescription]:
    """Every binary sensor a pack gets: charge state, MOSFETs, balancing, one per alarm the plugin reports.

    Per-cell balancing sensors are created disabled unless ``cell_balancing`` (an option) says otherwise.
    """
    specs = catalog.binary_sensor_specs(snapshot, reported_alarms(plugin), cell_balancing=cell_balancing)
    return [binary_sensor_description(spec) for spec in specs]


__all__ = [
    "AMPERE_HOURS",
    "BATTERY_POWER",
    "DERIVED_FROM",
    "ENERGY_SENSORS",
    "NON_SCALAR_FIELDS",
    "SAFETY_ALARMS",
    "SCALAR_SENSORS",
    "BmsBinarySensorEntityDescription",
    "BmsEnergyEntityDescription",
    "BmsSensorEntityDescription",
    "PackValueDescription",
    "binary_sensor_descriptions",
    "enabled_cell_count",
    "reported_alarms",
    "sensor_descriptions",
]

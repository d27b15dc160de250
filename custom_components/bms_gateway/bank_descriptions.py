"""What a battery bank's entities are: the pack's kinds of entities, from the bank's reading (no per-cell entities).

Sensors: the pack's scalar values (presented as a pack's, from :data:`.descriptions.SCALAR_SENSORS`) with the
bank-wide lowest / highest cell naming its pack and cell, battery power (+ = discharging, for the Energy
dashboard), the voltage spread between parallel packs, the lowest / highest temperature naming pack and sensor, and
the active warnings naming their packs. A value the bank's first reading does not have is left out, as for a pack.
Binary sensors: charging / discharging, both MOSFETs (naming the packs whose MOSFET is off), balancing, the series
current mismatch, one per alarm any member's vendor can report (naming the packs raising it), and **degraded** —
some member missing, naming them; it stays available while the bank itself reports nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import EntityCategory, UnitOfElectricPotential, UnitOfPower, UnitOfTemperature

from vendor_plugins.bank import BankMode, BankSnapshot
from vendor_plugins.model import Alarm

from .bank_entity import AttrsFn, cell_attrs, sensor_attrs
from .bank_hub import BankHub
from .descriptions import SAFETY_ALARMS, SCALAR_SENSORS, ha_presentation


def _getter(name: str) -> Callable[[BankSnapshot], Any]:
    def value(bank: BankSnapshot) -> Any:
        return getattr(bank, name)

    return value


def _battery_power(bank: BankSnapshot) -> float | None:
    """Home Assistant's battery convention (+ = discharging): the bank's power negated."""
    return None if bank.power is None else (-bank.power or 0.0)


def _warnings_attrs(hub: BankHub, bank: BankSnapshot) -> dict[str, Any] | None:
    return {"packs": {str(alarm): hub.names(packs) for alarm, packs in sorted(bank.warning_packs.items())}}


def _missing_attrs(hub: BankHub, bank: BankSnapshot) -> dict[str, Any] | None:
    return {"missing": hub.names(bank.missing), "members": hub.names(bank.members)}


def _off_attrs(name: str) -> AttrsFn:
    def attrs(hub: BankHub, bank: BankSnapshot) -> dict[str, Any] | None:
        return {"off": hub.names(getattr(bank, f"{name}_off"))}

    return attrs


def _balancing_attrs(hub: BankHub, bank: BankSnapshot) -> dict[str, Any] | None:
    if bank.balancing is None:
        return None
    return {"cells": [{"pack": hub.name(ref.pack), "cell": ref.cell} for ref in sorted(bank.balancing)]}


def _alarm_attrs(alarm: Alarm) -> AttrsFn:
    def attrs(hub: BankHub, bank: BankSnapshot) -> dict[str, Any] | None:
        return {"packs": hub.names(bank.alarm_packs.get(alarm, ()))}

    return attrs


def _alarm(alarm: Alarm) -> Callable[[BankSnapshot], bool]:
    def value(bank: BankSnapshot) -> bool:
        return alarm in bank.alarms

    return value


_EXTRA_ATTRS: dict[str, AttrsFn] = {
    "cell_min": cell_attrs(lambda b: b.cell_min_at),
    "cell_max": cell_attrs(lambda b: b.cell_max_at),
}


def sensor_descriptions(first: BankSnapshot) -> list[dict[str, Any]]:
    """The bank's sensors, as keyword arguments of the sensor platform's bank description class.

    Keyword dicts, so that each platform builds its own description class (its entity description and the value
    fields in one frozen dataclass) without this module importing every platform.
    """
    out: list[dict[str, Any]] = []
    for name, spec in SCALAR_SENSORS.items():
        if not hasattr(first, name) or getattr(first, name) is None:
            continue
        out.append(
            {
                "key": name,
                "translation_key": name,
                **ha_presentation(spec),
                # A bank's cycles are a weighted mean: they can go down when a member drops out.
                **({"state_class": SensorStateClass.MEASUREMENT} if name == "cycles" else {}),
                "value_fn": _getter(name),
                "attrs_fn": _EXTRA_ATTRS.get(name),
            }
        )
        if name == "power":
            out.append(
                {
                    "key": "battery_power",
                    "translation_key": "battery_power",
                    "device_class": SensorDeviceClass.POWER,
                    "native_unit_of_measurement": UnitOfPower.WATT,
                    "state_class": SensorStateClass.MEASUREMENT,
                    "suggested_display_precision": 0,
                    "value_fn": _battery_power,
                }
            )
    if first.voltage_spread is not None and first.mode is BankMode.PARALLEL:
        out.append(
            {
                "key": "voltage_spread",
                "translation_key": "voltage_spread",
                "device_class": SensorDeviceClass.VOLTAGE,
                "native_unit_of_measurement": UnitOfElectricPotential.VOLT,
                "state_class": SensorStateClass.MEASUREMENT,
                "suggested_display_precision": 3,
                "entity_category": EntityCategory.DIAGNOSTIC,
                "value_fn": _getter("voltage_spread"),
            }
        )
    for end in ("min", "max"):
        if getattr(first, f"temperature_{end}") is None:
            continue
        out.append(
            {
                "key": f"temperature_{end}",
                "translation_key": f"temperature_{end}",
                "device_class": SensorDeviceClass.TEMPERATURE,
                "native_unit_of_measurement": UnitOfTemperature.CELSIUS,
                "state_class": SensorStateClass.MEASUREMENT,
                "suggested_display_precision": 1,
                "value_fn": _getter(f"temperature_{end}"),
                "attrs_fn": sensor_attrs(_getter(f"temperature_{end}_at")),
            }
        )
    out.append(
        {
            "key": "warnings",
            "translation_key": "warnings",
            "state_class": SensorStateClass.MEASUREMENT,
            "entity_category": EntityCategory.DIAGNOSTIC,
            "value_fn": lambda bank: len(bank.warnings),
            "attrs_fn": _warnings_attrs,
        }
    )
    return out


def binary_sensor_descriptions(first: BankSnapshot, alarms: Iterable[Alarm]) -> list[dict[str, Any]]:
    """The bank's binary sensors as keyword dicts (see :func:`sensor_descriptions`); ``alarms``: the members'."""
    out: list[dict[str, Any]] = [
        {
            "key": "degraded",
            "translation_key": "degraded",
            "device_class": BinarySensorDeviceClass.PROBLEM,
            "value_fn": lambda bank: bank.degraded,
            "attrs_fn": _missing_attrs,
            "always_available": True,
        }
    ]
    flags: list[tuple[str, BinarySensorDeviceClass | None, EntityCategory | None, AttrsFn | None]] = [
        ("charging", BinarySensorDeviceClass.BATTERY_CHARGING, None, None),
        ("discharging", None, None, None),
        ("charge_mosfet", BinarySensorDeviceClass.POWER, EntityCategory.DIAGNOSTIC, _off_attrs("charge_mosfet")),
        ("discharge_mosfet", BinarySensorDeviceClass.POWER, EntityCategory.DIAGNOSTIC, _off_attrs("discharge_mosfet")),
    ]
    for key, device_class, category, attrs_fn in flags:
        if getattr(first, key) is None:
            continue
        out.append(
            {
                "key": key,
                "translation_key": key,
                "device_class": device_class,
                "entity_category": category,
                "value_fn": _getter(key),
                "attrs_fn": attrs_fn,
            }
        )
    if first.balancing is not None:
        out.append(
            {
                "key": "balancing",
                "translation_key": "balancing",
                "entity_category": EntityCategory.DIAGNOSTIC,
                "value_fn": lambda bank: None if bank.balancing is None else bool(bank.balancing),
                "attrs_fn": _balancing_attrs,
            }
        )
    if first.mode is BankMode.SERIES and first.current_mismatch is not None:
        out.append(
            {
                "key": "current_mismatch",
                "translation_key": "current_mismatch",
                "device_class": BinarySensorDeviceClass.PROBLEM,
                "entity_category": EntityCategory.DIAGNOSTIC,
                "value_fn": _getter("current_mismatch"),
            }
        )
    for alarm in alarms:
        out.append(
            {
                "key": f"alarm_{alarm.value}",
                "translation_key": f"alarm_{alarm.value}",
                "device_class": (
                    BinarySensorDeviceClass.SAFETY if alarm in SAFETY_ALARMS else BinarySensorDeviceClass.PROBLEM
                ),
                "entity_category": EntityCategory.DIAGNOSTIC,
                "value_fn": _alarm(alarm),
                "attrs_fn": _alarm_attrs(alarm),
            }
        )
    return out


__all__ = ["binary_sensor_descriptions", "sensor_descriptions"]

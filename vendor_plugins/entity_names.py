"""English names of the entities of :mod:`vendor_plugins.entity_catalog`, by platform and translation key.

Home Assistant's ``translations/en.json`` of the integration carries the same names (a test compares them); the MQTT
gateway's discovery payloads use these, so a pack reads the same whichever way it reaches Home Assistant. The battery
settings' names live in :mod:`.setting_names`.
"""

from __future__ import annotations

from typing import Final

from .model import Alarm
from .setting_names import NUMBER_SETTING_NAMES, SET_SOC, SET_SOC_NAME, SWITCH_SETTING_NAMES

SENSOR: Final = "sensor"
BINARY_SENSOR: Final = "binary_sensor"
SWITCH: Final = "switch"
EVENT: Final = "event"
NUMBER: Final = "number"

_ALARM_NAMES: Final[dict[Alarm, str]] = {
    Alarm.CELL_OVERVOLTAGE: "Cell overvoltage",
    Alarm.CELL_UNDERVOLTAGE: "Cell undervoltage",
    Alarm.PACK_OVERVOLTAGE: "Pack overvoltage",
    Alarm.PACK_UNDERVOLTAGE: "Pack undervoltage",
    Alarm.CHARGE_OVERCURRENT: "Charge overcurrent",
    Alarm.DISCHARGE_OVERCURRENT: "Discharge overcurrent",
    Alarm.SHORT_CIRCUIT: "Short circuit",
    Alarm.CHARGE_OVERTEMP: "Charge overtemperature",
    Alarm.CHARGE_UNDERTEMP: "Charge undertemperature",
    Alarm.DISCHARGE_OVERTEMP: "Discharge overtemperature",
    Alarm.DISCHARGE_UNDERTEMP: "Discharge undertemperature",
    Alarm.MOSFET_OVERTEMP: "MOSFET overtemperature",
    Alarm.AMBIENT_OVERTEMP: "Ambient overtemperature",
    Alarm.AMBIENT_UNDERTEMP: "Ambient undertemperature",
    Alarm.CELL_IMBALANCE: "Cell imbalance",
    Alarm.LOW_SOC: "Low state of charge",
    Alarm.FRONTEND_ERROR: "Front-end chip error",
    Alarm.CHARGE_MOSFET_FAULT: "Charge MOSFET fault",
    Alarm.DISCHARGE_MOSFET_FAULT: "Discharge MOSFET fault",
    Alarm.TEMP_SENSOR_FAULT: "Temperature sensor fault",
    Alarm.CELL_FAULT: "Cell fault",
    Alarm.SOFTWARE_LOCK: "Software lock",
    Alarm.HIGH_SOC: "High state of charge",
    Alarm.TEMP_DIFFERENCE: "Temperature difference",
    Alarm.PRECHARGE_FAULT: "Precharge fault",
    Alarm.COMMUNICATION_FAULT: "Communication fault",
    Alarm.CELL_OVERTEMP: "Cell overtemperature",
    Alarm.CELL_UNDERTEMP: "Cell undertemperature",
}

_TEMPERATURE_NAMES: Final[dict[str, str]] = {
    "cell": "Cell temperature",
    "mosfet": "MOSFET temperature",
    "ambient": "Ambient temperature",
    "board": "Board temperature",
    "other": "Temperature",
}

#: English name of every translation key, by platform (``translations/en.json`` of the integration agrees).
NAMES: Final[dict[str, dict[str, str]]] = {
    SENSOR: {
        "voltage": "Voltage",
        "current": "Current",
        "power": "Power",
        "soc": "State of charge",
        "soh": "State of health",
        "remaining_capacity": "Remaining capacity",
        "full_capacity": "Full-charge capacity",
        "design_capacity": "Design capacity",
        "stored_energy": "Stored energy",
        "cycles": "Charge cycles",
        "cell_min": "Lowest cell voltage",
        "cell_max": "Highest cell voltage",
        "cell_average": "Average cell voltage",
        "cell_delta": "Cell voltage difference",
        "cell_voltage": "Cell {cell} voltage",
        "warnings": "Active warnings",
        **{f"temperature_{kind}": name for kind, name in _TEMPERATURE_NAMES.items()},
        **{f"temperature_{kind}_n": f"{name} {{index}}" for kind, name in _TEMPERATURE_NAMES.items()},
        "battery_power": "Battery power",
        "energy_charged": "Energy charged",
        "energy_discharged": "Energy discharged",
    },
    BINARY_SENSOR: {
        "charging": "Charging",
        "discharging": "Discharging",
        "charge_mosfet": "Charge MOSFET",
        "discharge_mosfet": "Discharge MOSFET",
        "balancing": "Balancing",
        "cell_balancing": "Cell {cell} balancing",
        **{f"alarm_{alarm.value}": name for alarm, name in _ALARM_NAMES.items()},
    },
    SWITCH: {
        "charge_mosfet_switch": "Charge MOSFET control",
        "discharge_mosfet_switch": "Discharge MOSFET control",
        **SWITCH_SETTING_NAMES,
    },
    EVENT: {"alarm_events": "Alarms"},
    NUMBER: {**NUMBER_SETTING_NAMES, SET_SOC: SET_SOC_NAME},
}

__all__ = ["BINARY_SENSOR", "EVENT", "NAMES", "NUMBER", "SENSOR", "SWITCH"]

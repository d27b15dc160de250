"""English names of the battery settings (:data:`vendor_plugins.battery_settings.VOCABULARY`) as entities.

Home Assistant's ``translations/en.json`` of the integration carries the same names under the same translation keys
(the setting's vocabulary name; a test compares them); the MQTT gateway's discovery payloads use these, so a setting
reads the same whichever way it reaches Home Assistant.
"""

from __future__ import annotations

from typing import Final

#: Numeric settings (number entities), by vocabulary name.
NUMBER_SETTING_NAMES: Final[dict[str, str]] = {
    "cell_overvoltage_protect": "Cell over-voltage protection",
    "cell_overvoltage_release": "Cell over-voltage release",
    "cell_overvoltage_delay": "Cell over-voltage delay",
    "cell_overvoltage_alarm": "Cell over-voltage warning",
    "cell_undervoltage_protect": "Cell under-voltage protection",
    "cell_undervoltage_release": "Cell under-voltage release",
    "cell_undervoltage_delay": "Cell under-voltage delay",
    "cell_undervoltage_alarm": "Cell under-voltage warning",
    "pack_overvoltage_protect": "Pack over-voltage protection",
    "pack_overvoltage_release": "Pack over-voltage release",
    "pack_overvoltage_delay": "Pack over-voltage delay",
    "pack_overvoltage_alarm": "Pack over-voltage warning",
    "pack_undervoltage_protect": "Pack under-voltage protection",
    "pack_undervoltage_release": "Pack under-voltage release",
    "pack_undervoltage_delay": "Pack under-voltage delay",
    "pack_undervoltage_alarm": "Pack under-voltage warning",
    "cell_overvoltage_hard_protect": "Cell over-voltage secondary protection",
    "cell_undervoltage_hard_protect": "Cell under-voltage secondary protection",
    "cell_overvoltage_hard_delay": "Cell over-voltage secondary delay",
    "cell_undervoltage_hard_delay": "Cell under-voltage secondary delay",
    "charge_overcurrent_protect": "Charge over-current protection",
    "charge_overcurrent_alarm": "Charge over-current warning",
    "charge_overcurrent_delay": "Charge over-current delay",
    "charge_overcurrent_release_delay": "Charge over-current release delay",
    "discharge_overcurrent_protect": "Discharge over-current protection",
    "discharge_overcurrent_alarm": "Discharge over-current warning",
    "discharge_overcurrent_delay": "Discharge over-current delay",
    "discharge_overcurrent_release_delay": "Discharge over-current release delay",
    "discharge_overcurrent2_protect": "Discharge over-current level 2 protection",
    "discharge_overcurrent2_delay": "Discharge over-current level 2 delay",
    "charge_overcurrent2_protect": "Charge over-current level 2 protection",
    "charge_overcurrent2_delay": "Charge over-current level 2 delay",
    "short_circuit_delay": "Short-circuit delay",
    "charge_overtemp_protect": "Charge over-temperature protection",
    "charge_overtemp_release": "Charge over-temperature release",
    "charge_overtemp_delay": "Charge over-temperature delay",
    "charge_overtemp_alarm": "Charge over-temperature warning",
    "charge_undertemp_protect": "Charge under-temperature protection",
    "charge_undertemp_release": "Charge under-temperature release",
    "charge_undertemp_delay": "Charge under-temperature delay",
    "charge_undertemp_alarm": "Charge under-temperature warning",
    "discharge_overtemp_protect": "Discharge over-temperature protection",
    "discharge_overtemp_release": "Discharge over-temperature release",
    "discharge_overtemp_delay": "Discharge over-temperature delay",
    "discharge_overtemp_alarm": "Discharge over-temperature warning",
    "discharge_undertemp_protect": "Discharge under-temperature protection",
    "discharge_undertemp_release": "Discharge under-temperature release",
    "discharge_undertemp_delay": "Discharge under-temperature delay",
    "discharge_undertemp_alarm": "Discharge under-temperature warning",
    "mosfet_overtemp_protect": "MOSFET over-temperature protection",
    "mosfet_overtemp_release": "MOSFET over-temperature release",
    "mosfet_overtemp_delay": "MOSFET over-temperature delay",
    "mosfet_overtemp_alarm": "MOSFET over-temperature warning",
    "ambient_overtemp_protect": "Ambient over-temperature protection",
    "ambient_overtemp_release": "Ambient over-temperature release",
    "ambient_overtemp_delay": "Ambient over-temperature delay",
    "ambient_overtemp_alarm": "Ambient over-temperature warning",
    "ambient_undertemp_protect": "Ambient under-temperature protection",
    "ambient_undertemp_release": "Ambient under-temperature release",
    "ambient_undertemp_delay": "Ambient under-temperature delay",
    "ambient_undertemp_alarm": "Ambient under-temperature warning",
    "balance_start_voltage": "Balancing start voltage",
    "balance_delta_voltage": "Balancing voltage difference",
    "design_capacity": "Design capacity",
    "cycle_capacity": "Cycle capacity",
    "cell_full_voltage": "Cell full voltage",
    "cell_empty_voltage": "Cell empty voltage",
    "cell_voltage_soc_10": "Cell voltage at 10 % SoC",
    "cell_voltage_soc_20": "Cell voltage at 20 % SoC",
    "cell_voltage_soc_30": "Cell voltage at 30 % SoC",
    "cell_voltage_soc_40": "Cell voltage at 40 % SoC",
    "cell_voltage_soc_50": "Cell voltage at 50 % SoC",
    "cell_voltage_soc_60": "Cell voltage at 60 % SoC",
    "cell_voltage_soc_70": "Cell voltage at 70 % SoC",
    "cell_voltage_soc_80": "Cell voltage at 80 % SoC",
    "cell_voltage_soc_90": "Cell voltage at 90 % SoC",
    "self_discharge_rate": "Self-discharge rate",
    "cell_count": "Cell count",
    "charge_full_voltage": "Charge complete voltage",
    "charge_full_current": "Charge complete current",
    "soc_low_alarm": "Low SoC warning",
    "cell_delta_alarm": "Cell difference warning",
    "cell_delta_protect": "Cell difference protection",
    "sleep_delay": "Sleep delay",
    "sleep_cell_voltage": "Sleep cell voltage",
    "temp_delta_alarm": "Temperature difference warning",
    "temp_delta_protect": "Temperature difference protection",
}

#: On/off settings (switch entities), by vocabulary name.
SWITCH_SETTING_NAMES: Final[dict[str, str]] = {
    "balancer_enabled": "Balancer",
    "balance_only_when_charging": "Balance only while charging",
}

#: The "set the state of charge" number (its translation key).
SET_SOC: Final = "set_soc"
SET_SOC_NAME: Final = "Set state of charge"

__all__ = ["NUMBER_SETTING_NAMES", "SET_SOC", "SET_SOC_NAME", "SWITCH_SETTING_NAMES"]

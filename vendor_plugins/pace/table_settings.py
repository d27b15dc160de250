"""PACE battery settings shared by both protocols: the vendor tool's own ranges and the simulator's starting values.

Ranges are those PACE's own Windows tool PbmsTools 2.4 reports for its "Parameter Setting" tab, as recorded with
the real traffic in nkinnan/esphome-pace-bms@2ba4bc65 ``components/pace_bms/pace_bms_protocol_v25.h`` and
syssi/esphome-pace-bms@db83caac ``docs/pbmstools-communication.md`` (where the two differ, the later, wider
nkinnan ranges: delays 1-20 s, currents 1-220 A), with the tool's steps. The Modbus map V1.3 (vendor PDF,
register comments copied into syssi's ``esp32-example.yaml``) states only "1~255" for delays, "Max 500uS" for
the short-circuit delay and "0~100%" for the SoC alarm; these agree with the tool. The charge over-current 2
(Modbus 113/114) has no tool range: the discharge over-current 2 range is assumed for it.

:data:`DEFAULTS` are the values of the real pack in that PbmsTools capture (ADR 00, 16S LiFePO4, 100 Ah), so a
simulated pack starts as that one was configured.
"""

from __future__ import annotations

from typing import Final

#: name → (minimum, maximum, step) in vocabulary units (V, A, s, °C, %): the values PbmsTools offers and sends.
#: Steps are the tool's ("in steps of 0.01", "in steps of 500" ms, …; temperatures in whole degrees, as nkinnan
#: keeps them), coarser than either wire encoding: a value is rounded to what the vendor's tool would have sent.
LIMITS: Final[dict[str, tuple[float, float, float]]] = {
    **{f"cell_overvoltage_{k}": (2.5, 4.5, 0.01) for k in ("alarm", "protect", "release")},
    **{f"pack_overvoltage_{k}": (20.0, 65.0, 0.01) for k in ("alarm", "protect", "release")},
    **{f"cell_undervoltage_{k}": (2.0, 3.5, 0.01) for k in ("alarm", "protect", "release")},
    **{f"pack_undervoltage_{k}": (15.0, 50.0, 0.01) for k in ("alarm", "protect", "release")},
    **{
        f"{p}_delay": (1.0, 20.0, 0.5)
        for p in ("cell_overvoltage", "pack_overvoltage", "cell_undervoltage", "pack_undervoltage")
    },
    "charge_overcurrent_alarm": (1.0, 220.0, 1.0),
    "charge_overcurrent_protect": (1.0, 220.0, 1.0),
    "charge_overcurrent_delay": (0.5, 25.0, 0.5),
    "discharge_overcurrent_alarm": (1.0, 220.0, 1.0),
    "discharge_overcurrent_protect": (1.0, 220.0, 1.0),
    "discharge_overcurrent_delay": (0.5, 25.0, 0.5),
    "discharge_overcurrent2_protect": (5.0, 300.0, 5.0),
    "discharge_overcurrent2_delay": (0.1, 2.0, 0.1),
    "charge_overcurrent2_protect": (5.0, 300.0, 5.0),  # assumed (no tool range): as discharge level 2
    "charge_overcurrent2_delay": (0.1, 2.0, 0.1),
    "short_circuit_delay": (0.0001, 0.0005, 0.00005),
    "balance_start_voltage": (3.3, 4.5, 0.01),
    "balance_delta_voltage": (0.020, 0.500, 0.005),
    "sleep_cell_voltage": (2.0, 4.0, 0.01),
    "sleep_delay": (60.0, 7200.0, 60.0),  # 1-120 minutes
    "charge_full_voltage": (20.0, 65.0, 0.01),
    "charge_full_current": (0.5, 5.0, 0.5),
    "soc_low_alarm": (0.0, 100.0, 1.0),
    **{
        f"{p}_overtemp_{k}": (20.0, 100.0, 1.0)
        for p in ("charge", "discharge", "ambient")
        for k in ("alarm", "protect", "release")
    },
    **{
        f"{p}_undertemp_{k}": (-35.0, 30.0, 1.0)
        for p in ("charge", "discharge", "ambient")
        for k in ("alarm", "protect", "release")
    },
    **{f"mosfet_overtemp_{k}": (30.0, 120.0, 1.0) for k in ("alarm", "protect", "release")},
}

#: The real pack's configuration in the PbmsTools capture (read replies D1, D5, D3, D7, D9, DB, E3, E5, B6, A0, AF,
#: DD, DF, E1, E7). Charge over-current 2 is Modbus-only and not in that capture: a plausible value.
DEFAULTS: Final[dict[str, float]] = {
    "cell_overvoltage_alarm": 3.6,
    "cell_overvoltage_protect": 3.7,
    "cell_overvoltage_release": 3.38,
    "cell_overvoltage_delay": 1.0,
    "pack_overvoltage_alarm": 57.6,
    "pack_overvoltage_protect": 59.2,
    "pack_overvoltage_release": 54.0,
    "pack_overvoltage_delay": 1.0,
    "cell_undervoltage_alarm": 2.8,
    "cell_undervoltage_protect": 2.5,
    "cell_undervoltage_release": 2.9,
    "cell_undervoltage_delay": 1.0,
    "pack_undervoltage_alarm": 44.8,
    "pack_undervoltage_protect": 40.0,
    "pack_undervoltage_release": 46.4,
    "pack_undervoltage_delay": 1.0,
    "charge_overcurrent_alarm": 104.0,
    "charge_overcurrent_protect": 110.0,
    "charge_overcurrent_delay": 1.0,
    "discharge_overcurrent_alarm": 105.0,
    "discharge_overcurrent_protect": 110.0,
    "discharge_overcurrent_delay": 1.0,
    "discharge_overcurrent2_protect": 150.0,
    "discharge_overcurrent2_delay": 0.1,
    "charge_overcurrent2_protect": 150.0,
    "charge_overcurrent2_delay": 0.1,
    "short_circuit_delay": 0.0003,
    "balance_start_voltage": 3.4,
    "balance_delta_voltage": 0.03,
    "sleep_cell_voltage": 3.1,
    "sleep_delay": 300.0,
    "charge_full_voltage": 56.0,
    "charge_full_current": 2.0,
    "soc_low_alarm": 5.0,
    "charge_overtemp_alarm": 51.0,
    "charge_overtemp_protect": 55.0,
    "charge_overtemp_release": 50.0,
    "discharge_overtemp_alarm": 56.0,
    "discharge_overtemp_protect": 60.0,
    "discharge_overtemp_release": 55.0,
    "charge_undertemp_alarm": 0.0,
    "charge_undertemp_protect": -5.0,
    "charge_undertemp_release": 0.0,
    "discharge_undertemp_alarm": -15.0,
    "discharge_undertemp_protect": -20.0,
    "discharge_undertemp_release": -15.0,
    "mosfet_overtemp_alarm": 90.0,
    "mosfet_overtemp_protect": 110.0,
    "mosfet_overtemp_release": 85.0,
    "ambient_undertemp_alarm": -20.0,
    "ambient_undertemp_protect": -25.0,
    "ambient_undertemp_release": -20.0,
    "ambient_overtemp_alarm": 65.0,
    "ambient_overtemp_protect": 70.0,
    "ambient_overtemp_release": 65.0,
}

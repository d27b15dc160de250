"""PACE protocol facts, declared once: ASCII commands and layouts, every status bit, and the Modbus V1.3 map.

Sources (../shared/protocols/PROTOCOLS.md §4): the vendor PDF "PACE RS232 Communication Protocal (PACE-RS232-TY16S)
2018-07-05", real PbmsTools and bus captures (nkinnan/esphome-pace-bms, syssi/esphome-pace-bms issues), and the
vendor PDF "PACE BMS Modbus Protocol for RS485 V1.3 2017-06-27". The codecs decode with these tables and the
simulators encode with them, so the two cannot drift apart. Each bit table *is* the mapping documentation: a bit
with an :class:`~vendor_plugins.model.Alarm` becomes an alarm (protections, faults) or a warning (warn bits); every
other set bit is kept in ``raw`` under its name.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from ..fields import Field
from ..model import Alarm, TemperatureKind

# --- ASCII framing (§4.1) ---------------------------------------------------------------------------------
SOI: Final = 0x7E  # "~", sent raw
EOI: Final = 0x0D  # CR, sent raw
VER_25: Final = 0x25
VER_20: Final = 0x20
CID1_LFP: Final = 0x46  # LiFePO4 (the doc says also used for ternary packs)
CID1_EG4: Final = 0x4A  # v0x20 EG4 variant (nkinnan; the only v0x20 capture)
#: COMMAND byte asking the master for every pack on the bus.
ALL_PACKS: Final = 0xFF
#: Highest DIP-switch address.
MAX_ADDRESS: Final = 15


class Cid2(enum.IntEnum):
    """ASCII command codes (CID2 of a request, §4.2)."""

    ANALOG = 0x42
    WARN = 0x44
    PACK_NUMBER = 0x90
    CONTROL = 0x99
    CHARGE_MOSFET = 0x9A
    DISCHARGE_MOSFET = 0x9B
    SHUTDOWN = 0x9C
    HISTORY = 0xA1
    CAPACITY = 0xA6
    GET_TIME = 0xB1
    SET_TIME = 0xB2
    SOFTWARE_VERSION = 0xC1
    PRODUCT_INFO = 0xC2


#: RTN (CID2 of a response): 00 normal, the rest errors, as the vendor PDF names them.
RTN_OK: Final = 0x00
RTN_OPERATION_ERROR: Final = 0x09
RTN_CID2_UNDEFINED: Final = 0x04
RTN_TEXT: Final[dict[int, str]] = {
    0x01: "undefined error",
    0x02: "CHKSUM error",
    0x03: "LCHKSUM error",
    0x04: "CID2 undefined (command not supported)",
    0x05: "undefined error",
    0x06: "undefined error",
    0x09: "operation or write error",
}

#: 0x9A / 0x9B data byte: 00 switches the MOSFET on, 01 off (§4.6: the replies' state byte confirms it).
MOSFET_ON: Final = 0x00
MOSFET_OFF: Final = 0x01

# --- 0x42 analog information (§4.3) -------------------------------------------------------------------------
CELL_MV: Final = Field("cell", 0, 2, scale=0.001)
TEMP_DECIKELVIN: Final = Field("temperature", 0, 2)
#: "25.5 °C = 25.5*10+2730" (the PACE doc; JBD and PACEEX use 2731).
TEMP_OFFSET: Final = 2730

#: v0x25: what follows the temperatures of one pack block (offsets from the end of the temperatures).
ANALOG_TAIL_25: Final = (
    Field("current", 0, 2, signed=True, scale=0.01),
    Field("voltage", 2, 2, scale=0.001),
    Field("remaining_capacity", 4, 2, scale=0.01),
    Field("user_defined", 6, 1),
    Field("full_capacity", 7, 2, scale=0.01),
    Field("cycles", 9, 2),
    Field("design_capacity", 11, 2, scale=0.01),
)
#: P (user-defined count) of the standard layout; P = 0x09 variants append ``P9_EXTRA_BYTES`` more bytes.
USER_DEFINED_STANDARD: Final = 0x03
USER_DEFINED_EXTENDED: Final = 0x09
P9_EXTRA_BYTES: Final = 14

#: v0x20 (EG4 variant, nkinnan): 10 mV total voltage, no P byte and no design capacity.
ANALOG_TAIL_20: Final = (
    Field("current", 0, 2, signed=True, scale=0.01),
    Field("voltage", 2, 2, scale=0.01),
    Field("remaining_capacity", 4, 2, scale=0.01),
    Field("full_capacity", 6, 2, scale=0.01),
    Field("cycles", 8, 2),
)
#: v0x20 EG4 extension after the cycle count: a constant 0x0F, then SoC and SoH in % (the rest is not decoded).
ANALOG_EXT_20: Final = (
    Field("ud_constant", 0, 1),
    Field("soc", 1, 2),
    Field("soh", 3, 2),
)
#: EG4 reports a temperature count of 4 but sends 4 cell sensors + MOSFET + environment (nkinnan).
EG4_DECLARED_TEMPS: Final = 4
EG4_SENT_TEMPS: Final = 6


def temperature_sensor(index: int, count: int) -> tuple[str, TemperatureKind]:
    """Name and kind of temperature ``index`` (0-based) of ``count``: T1-T4 cells, T5 MOSFET, T6 environment."""
    if count >= 6 and index == 4:
        return "mosfet", TemperatureKind.MOSFET
    if count >= 6 and index == 5:
        return "ambient", TemperatureKind.AMBIENT
    if index < 4 or count < 6:
        return f"cell_{index + 1}", TemperatureKind.CELL
    return f"sensor_{index + 1}", TemperatureKind.OTHER


# --- 0x44 warn information (§4.4) ---------------------------------------------------------------------------
class WarnValue(enum.IntEnum):
    """Per-cell / per-sensor warn values (80-EF are user-defined)."""

    NORMAL = 0x00
    BELOW_LOWER_LIMIT = 0x01
    ABOVE_UPPER_LIMIT = 0x02
    OTHER_FAULT = 0xF0


#: The fixed bytes after the per-cell and per-sensor warn values, in wire order.
WARN_TAIL: Final = tuple(
    Field(name, offset, 1)
    for offset, name in enumerate(
        (
            "charge_current_warn",
            "total_voltage_warn",
            "discharge_current_warn",
            "protect_state_1",
            "protect_state_2",
            "instruction_state",
            "control_state",
            "fault_state",
            "balance_state_1",
            "balance_state_2",
            "warn_state_1",
            "warn_state_2",
        )
    )
)
#: v0x20: what follows the per-sensor warn values is variant-specific (PYLON / SEPLOS / EG4 differ, and the one
#: EG4 capture does not settle where the warn values end), so it is not decoded but kept as hex in ``raw``.
WARN_TAIL_20: Final[tuple[Field, ...]] = ()


@dataclass(frozen=True, slots=True)
class Bit:
    """One status bit: its raw name, and the alarm it raises (None: kept in ``raw`` by name)."""

    name: str
    alarm: Alarm | None = None


class Severity(enum.StrEnum):
    """Where the alarms of a state byte go."""

    ALARM = "alarms"
    WARNING = "warnings"
    STATUS = "status"


BitTable = dict[int, Bit]

PROTECT_STATE_1: Final[BitTable] = {
    0: Bit("cell_overvoltage_protect", Alarm.CELL_OVERVOLTAGE),
    1: Bit("cell_undervoltage_protect", Alarm.CELL_UNDERVOLTAGE),
    2: Bit("pack_overvoltage_protect", Alarm.PACK_OVERVOLTAGE),
    3: Bit("pack_undervoltage_protect", Alarm.PACK_UNDERVOLTAGE),
    4: Bit("charge_overcurrent_protect", Alarm.CHARGE_OVERCURRENT),
    5: Bit("discharge_overcurrent_protect", Alarm.DISCHARGE_OVERCURRENT),
    6: Bit("short_circuit_protect", Alarm.SHORT_CIRCUIT),
    7: Bit("protect_state_1_bit7"),
}
PROTECT_STATE_2: Final[BitTable] = {
    0: Bit("charge_overtemp_protect", Alarm.CHARGE_OVERTEMP),
    1: Bit("discharge_overtemp_protect", Alarm.DISCHARGE_OVERTEMP),
    2: Bit("charge_undertemp_protect", Alarm.CHARGE_UNDERTEMP),
    3: Bit("discharge_undertemp_protect", Alarm.DISCHARGE_UNDERTEMP),
    4: Bit("mosfet_overtemp_protect", Alarm.MOSFET_OVERTEMP),
    5: Bit("ambient_overtemp_protect", Alarm.AMBIENT_OVERTEMP),
    6: Bit("ambient_undertemp_protect", Alarm.AMBIENT_UNDERTEMP),
    7: Bit("fully_charged"),  # doc "Fully"; nkinnan: full-charge/relearn flag, not a fault
}
#: InstructionState: bit 1 CFET on and bit 2 DFET on give the MOSFET state; bits 3/5 are "pack indicate"/"ACin" in
#: the PDF and discharging/charging in nkinnan's reading of real traffic (batmon agrees): kept in ``raw``.
INSTRUCTION_STATE: Final[BitTable] = {
    0: Bit("current_limit"),  # doc: current-limit on; nkinnan: limiter turned off
    1: Bit("charge_mosfet_on"),
    2: Bit("discharge_mosfet_on"),
    3: Bit("discharging"),
    4: Bit("reverse_indicate"),
    5: Bit("charging"),
    6: Bit("instruction_state_bit6"),
    7: Bit("heartbeat"),
}
CFET_BIT: Final = 1
DFET_BIT: Final = 2
DISCHARGING_BIT: Final = 3
CHARGING_BIT: Final = 5
CONTROL_STATE: Final[BitTable] = {
    0: Bit("buzzer_warning_enabled"),
    1: Bit("charge_mosfet_turned_off"),  # doc: undefined; nkinnan: charge MOSFET switched off by command
    2: Bit("discharge_mosfet_turned_off"),  # doc: undefined; nkinnan: discharge MOSFET switched off by command
    3: Bit("limiter_low_gear"),
    4: Bit("limiter_disabled"),
    5: Bit("led_warning_disabled"),
    6: Bit("control_state_bit6"),
    7: Bit("control_state_bit7"),
}
FAULT_STATE: Final[BitTable] = {
    0: Bit("charge_mosfet_fault", Alarm.CHARGE_MOSFET_FAULT),
    1: Bit("discharge_mosfet_fault", Alarm.DISCHARGE_MOSFET_FAULT),
    2: Bit("ntc_fault", Alarm.TEMP_SENSOR_FAULT),
    3: Bit("fault_state_bit3"),
    4: Bit("cell_fault", Alarm.CELL_FAULT),
    5: Bit("sample_fault", Alarm.FRONTEND_ERROR),
    6: Bit("fault_state_bit6"),
    7: Bit("fault_state_bit7"),
}
WARN_STATE_1: Final[BitTable] = {
    0: Bit("cell_overvoltage_warn", Alarm.CELL_OVERVOLTAGE),
    1: Bit("cell_undervoltage_warn", Alarm.CELL_UNDERVOLTAGE),
    2: Bit("pack_overvoltage_warn", Alarm.PACK_OVERVOLTAGE),
    3: Bit("pack_undervoltage_warn", Alarm.PACK_UNDERVOLTAGE),
    4: Bit("charge_overcurrent_warn", Alarm.CHARGE_OVERCURRENT),
    5: Bit("discharge_overcurrent_warn", Alarm.DISCHARGE_OVERCURRENT),
    6: Bit("warn_state_1_bit6"),
    7: Bit("warn_state_1_bit7"),
}
WARN_STATE_2: Final[BitTable] = {
    0: Bit("charge_overtemp_warn", Alarm.CHARGE_OVERTEMP),
    1: Bit("discharge_overtemp_warn", Alarm.DISCHARGE_OVERTEMP),
    2: Bit("charge_undertemp_warn", Alarm.CHARGE_UNDERTEMP),
    3: Bit("discharge_undertemp_warn", Alarm.DISCHARGE_UNDERTEMP),
    4: Bit("ambient_overtemp_warn", Alarm.AMBIENT_OVERTEMP),
    5: Bit("ambient_undertemp_warn", Alarm.AMBIENT_UNDERTEMP),
    6: Bit("mosfet_overtemp_warn", Alarm.MOSFET_OVERTEMP),
    7: Bit("low_soc_warn", Alarm.LOW_SOC),
}

#: Every state byte of 0x44 with its bit table and where its mapped bits go.
STATE_BYTES: Final[tuple[tuple[str, BitTable, Severity], ...]] = (
    ("protect_state_1", PROTECT_STATE_1, Severity.ALARM),
    ("protect_state_2", PROTECT_STATE_2, Severity.ALARM),
    ("instruction_state", INSTRUCTION_STATE, Severity.STATUS),
    ("control_state", CONTROL_STATE, Severity.STATUS),
    ("fault_state", FAULT_STATE, Severity.ALARM),
    ("warn_state_1", WARN_STATE_1, Severity.WARNING),
    ("warn_state_2", WARN_STATE_2, Severity.WARNING),
)

#: Per-cell warn value → warning (F0 "other fault" is a cell fault → alarm).
CELL_WARN: Final[dict[int, Alarm]] = {
    WarnValue.BELOW_LOWER_LIMIT: Alarm.CELL_UNDERVOLTAGE,
    WarnValue.ABOVE_UPPER_LIMIT: Alarm.CELL_OVERVOLTAGE,
}
CELL_FAULT_VALUE: Final = (WarnValue.OTHER_FAULT, Alarm.CELL_FAULT)
#: Per-sensor warn values by sensor kind (F0 on any sensor: a temperature-sensor fault → alarm).
TEMP_WARN: Final[dict[TemperatureKind, dict[int, Alarm]]] = {
    TemperatureKind.CELL: {
        WarnValue.BELOW_LOWER_LIMIT: Alarm.CELL_UNDERTEMP,
        WarnValue.ABOVE_UPPER_LIMIT: Alarm.CELL_OVERTEMP,
    },
    TemperatureKind.MOSFET: {WarnValue.ABOVE_UPPER_LIMIT: Alarm.MOSFET_OVERTEMP},
    TemperatureKind.AMBIENT: {
        WarnValue.BELOW_LOWER_LIMIT: Alarm.AMBIENT_UNDERTEMP,
        WarnValue.ABOVE_UPPER_LIMIT: Alarm.AMBIENT_OVERTEMP,
    },
}
TEMP_FAULT_VALUE: Final = (WarnValue.OTHER_FAULT, Alarm.TEMP_SENSOR_FAULT)
#: Pack-level warn values.
CURRENT_VOLTAGE_WARN: Final[dict[str, dict[int, Alarm]]] = {
    "charge_current_warn": {WarnValue.ABOVE_UPPER_LIMIT: Alarm.CHARGE_OVERCURRENT},
    "discharge_current_warn": {WarnValue.ABOVE_UPPER_LIMIT: Alarm.DISCHARGE_OVERCURRENT},
    "total_voltage_warn": {
        WarnValue.BELOW_LOWER_LIMIT: Alarm.PACK_UNDERVOLTAGE,
        WarnValue.ABOVE_UPPER_LIMIT: Alarm.PACK_OVERVOLTAGE,
    },
}

# --- device information (§4.2) --------------------------------------------------------------------------------
#: 0xC1 answers 20 ASCII characters (nkinnan's capture: "P16S100A-1812-1.00 "), 0xC2 a space-padded serial.
VERSION_TEXT_BYTES: Final = 20

# --- Modbus RTU, register map V1.3 (§4.7; register numbers are decimal) -----------------------------------
MODBUS_READ: Final = 0x03
MODBUS_WRITE: Final = 0x10
MODBUS_MAX_UNIT: Final = 16
MODBUS_EXCEPTIONS: Final[dict[int, str]] = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal operation / data value",
    4: "device failure",
}

#: Blocks a read issues: (first register, count). Register 8 and 13-14 are reserved and not read.
MODBUS_PACK_BLOCK: Final = (0, 8)
MODBUS_FLAGS_BLOCK: Final = (9, 4)
MODBUS_CELLS_BLOCK: Final = (15, 22)
MODBUS_READ_BLOCKS: Final = (MODBUS_PACK_BLOCK, MODBUS_FLAGS_BLOCK, MODBUS_CELLS_BLOCK)

#: Register fields, as byte offsets into the big-endian image of registers 0..36 (register n at 2n).
MODBUS_FIELDS: Final = (
    Field("current", 0, 2, signed=True, scale=0.01),
    Field("voltage", 2, 2, scale=0.01),
    Field("soc", 4, 2),
    Field("soh", 6, 2),
    Field("remaining_capacity", 8, 2, scale=0.01),
    Field("full_capacity", 10, 2, scale=0.01),
    Field("design_capacity", 12, 2, scale=0.01),
    Field("cycles", 14, 2),
    Field("warning_flag", 18, 2),
    Field("protection_flag", 20, 2),
    Field("status_flag", 22, 2),
    Field("balance_status", 24, 2),
)
MODBUS_FIRST_CELL: Final = 15
MODBUS_CELLS: Final = 16
MODBUS_FIRST_TEMP: Final = 31
#: 31-34 cells 1-4, 35 MOSFET, 36 environment; signed 0.1 °C (not Kelvin).
MODBUS_TEMPS: Final = 6
MODBUS_TEMP: Final = Field("temperature", 0, 2, signed=True, scale=0.1)
MODBUS_LAST_READ: Final = 36
#: 150-159 version, 160-169 model SN, 170-179 pack SN: ASCII, two characters per register.
MODBUS_INFO_BLOCK: Final = (150, 30)
MODBUS_INFO_TEXTS: Final = (("software_version", 150, 10), ("model_serial", 160, 10), ("pack_serial", 170, 10))

MODBUS_WARNING_FLAG: Final[BitTable] = {
    0: Bit("cell_overvoltage_warn", Alarm.CELL_OVERVOLTAGE),
    1: Bit("cell_undervoltage_warn", Alarm.CELL_UNDERVOLTAGE),
    2: Bit("pack_overvoltage_warn", Alarm.PACK_OVERVOLTAGE),
    3: Bit("pack_undervoltage_warn", Alarm.PACK_UNDERVOLTAGE),
    4: Bit("charge_overcurrent_warn", Alarm.CHARGE_OVERCURRENT),
    5: Bit("discharge_overcurrent_warn", Alarm.DISCHARGE_OVERCURRENT),
    6: Bit("warning_flag_bit6"),
    7: Bit("warning_flag_bit7"),
    8: Bit("charge_overtemp_warn", Alarm.CHARGE_OVERTEMP),
    9: Bit("discharge_overtemp_warn", Alarm.DISCHARGE_OVERTEMP),
    10: Bit("charge_undertemp_warn", Alarm.CHARGE_UNDERTEMP),
    11: Bit("discharge_undertemp_warn", Alarm.DISCHARGE_UNDERTEMP),
    12: Bit("ambient_overtemp_warn", Alarm.AMBIENT_OVERTEMP),
    13: Bit("ambient_undertemp_warn", Alarm.AMBIENT_UNDERTEMP),
    14: Bit("mosfet_overtemp_warn", Alarm.MOSFET_OVERTEMP),
    15: Bit("low_soc_warn", Alarm.LOW_SOC),
}
MODBUS_PROTECTION_FLAG: Final[BitTable] = {
    0: Bit("cell_overvoltage_protect", Alarm.CELL_OVERVOLTAGE),
    1: Bit("cell_undervoltage_protect", Alarm.CELL_UNDERVOLTAGE),
    2: Bit("pack_overvoltage_protect", Alarm.PACK_OVERVOLTAGE),
    3: Bit("pack_undervoltage_protect", Alarm.PACK_UNDERVOLTAGE),
    4: Bit("charge_overcurrent_protect", Alarm.CHARGE_OVERCURRENT),
    5: Bit("discharge_overcurrent_protect", Alarm.DISCHARGE_OVERCURRENT),
    6: Bit("short_circuit_protect", Alarm.SHORT_CIRCUIT),
    7: Bit("charger_overvoltage_protect"),  # no matching Alarm member: kept in raw
    8: Bit("charge_overtemp_protect", Alarm.CHARGE_OVERTEMP),
    9: Bit("discharge_overtemp_protect", Alarm.DISCHARGE_OVERTEMP),
    10: Bit("charge_undertemp_protect", Alarm.CHARGE_UNDERTEMP),
    11: Bit("discharge_undertemp_protect", Alarm.DISCHARGE_UNDERTEMP),
    12: Bit("mosfet_overtemp_protect", Alarm.MOSFET_OVERTEMP),
    13: Bit("ambient_overtemp_protect", Alarm.AMBIENT_OVERTEMP),
    14: Bit("ambient_undertemp_protect", Alarm.AMBIENT_UNDERTEMP),
    15: Bit("protection_flag_bit15"),
}
#: Status/fault flag: faults in the low byte (→ alarms), status in the high byte (→ MOSFET state and ``raw``).
MODBUS_FAULT_BITS: Final[BitTable] = {
    0: Bit("charge_mosfet_fault", Alarm.CHARGE_MOSFET_FAULT),
    1: Bit("discharge_mosfet_fault", Alarm.DISCHARGE_MOSFET_FAULT),
    2: Bit("temp_sensor_fault", Alarm.TEMP_SENSOR_FAULT),
    3: Bit("status_flag_bit3"),
    4: Bit("cell_fault", Alarm.CELL_FAULT),
    5: Bit("frontend_sampling_fault", Alarm.FRONTEND_ERROR),
    6: Bit("status_flag_bit6"),
    7: Bit("status_flag_bit7"),
}
MODBUS_STATUS_BITS: Final[BitTable] = {
    8: Bit("charging"),
    9: Bit("discharging"),
    10: Bit("charge_mosfet_on"),
    11: Bit("discharge_mosfet_on"),
    12: Bit("charge_limiter_on"),
    13: Bit("status_flag_bit13"),
    14: Bit("charger_reversed"),
    15: Bit("heater_on"),
}
MODBUS_CFET_BIT: Final = 10
MODBUS_DFET_BIT: Final = 11
MODBUS_FLAGS: Final[tuple[tuple[str, BitTable, Severity], ...]] = (
    ("warning_flag", MODBUS_WARNING_FLAG, Severity.WARNING),
    ("protection_flag", MODBUS_PROTECTION_FLAG, Severity.ALARM),
    ("status_flag", MODBUS_FAULT_BITS, Severity.ALARM),
    ("status_flag", MODBUS_STATUS_BITS, Severity.STATUS),
)

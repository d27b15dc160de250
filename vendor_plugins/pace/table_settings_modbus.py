"""The declared PACE Modbus settings table: holding registers 60-114 of the V1.3 map (PROTOCOLS.md §4.7).

Source: vendor PDF "PACE BMS Modbus Protocol for RS485 V1.3 2017-06-27" (in nkinnan/esphome-pace-bms and
syssi/esphome-pace-bms ``docs/``), its register comments in syssi's ``esp32-example.yaml`` (type, unit, "RW",
FC 0x10 writes ``use_write_multiple: true``). Voltages mV, currents A (unsigned: magnitudes), delays 0.1 s (83 and
114: 0.025 s; 111: 25 µs), temperatures int16 0.1 °C, full-charge current mA, sleep delay minutes. The real
request ``01 03 00 3C 00 37 C4 10`` (esphome-pace-bms issue #17) reads the block in one go. Ranges: PbmsTools'
(:mod:`.table_settings`). The map has no SoC register and no balancer switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..battery_settings import SettingSpec, SettingsTable
from .table_settings import LIMITS

FAMILY: Final = "modbus"
FIRST: Final = 60
COUNT: Final = 55  # 60-114


@dataclass(frozen=True, slots=True)
class ModbusSettingSpec(SettingSpec):
    """One holding register: ``value = raw * scale`` (``signed``: int16); ``step`` is PbmsTools' (never finer)."""

    register: int = 0
    scale: float = 1.0
    signed: bool = False


def _row(name: str, register: int, scale: float, signed: bool = False) -> ModbusSettingSpec:
    low, high, step = LIMITS[name]
    return ModbusSettingSpec(name, low, high, max(step, scale), register=register, scale=scale, signed=signed)


def _threshold(
    prefix: str, first: int, scale: float, *, delay: bool = True, signed: bool = False
) -> list[ModbusSettingSpec]:
    rows = [
        _row(f"{prefix}_alarm", first, scale, signed),
        _row(f"{prefix}_protect", first + 1, scale, signed),
        _row(f"{prefix}_release", first + 2, scale, signed),
    ]
    if delay:
        rows.append(_row(f"{prefix}_delay", first + 3, 0.1))
    return rows


MODBUS_SETTINGS: Final[tuple[ModbusSettingSpec, ...]] = (
    *_threshold("pack_overvoltage", 60, 0.001),
    *_threshold("cell_overvoltage", 64, 0.001),
    *_threshold("pack_undervoltage", 68, 0.001),
    *_threshold("cell_undervoltage", 72, 0.001),
    _row("charge_overcurrent_alarm", 76, 1.0),
    _row("charge_overcurrent_protect", 77, 1.0),
    _row("charge_overcurrent_delay", 78, 0.1),
    _row("discharge_overcurrent_alarm", 79, 1.0),
    _row("discharge_overcurrent_protect", 80, 1.0),
    _row("discharge_overcurrent_delay", 81, 0.1),
    _row("discharge_overcurrent2_protect", 82, 1.0),
    _row("discharge_overcurrent2_delay", 83, 0.025),
    *_threshold("charge_overtemp", 84, 0.1, delay=False, signed=True),
    *_threshold("discharge_overtemp", 87, 0.1, delay=False, signed=True),
    *_threshold("charge_undertemp", 90, 0.1, delay=False, signed=True),
    *_threshold("discharge_undertemp", 93, 0.1, delay=False, signed=True),
    *_threshold("mosfet_overtemp", 96, 0.1, delay=False, signed=True),
    *_threshold("ambient_overtemp", 99, 0.1, delay=False, signed=True),
    *_threshold("ambient_undertemp", 102, 0.1, delay=False, signed=True),
    _row("balance_start_voltage", 105, 0.001),
    _row("balance_delta_voltage", 106, 0.001),
    _row("charge_full_voltage", 107, 0.001),
    _row("charge_full_current", 108, 0.001),
    _row("sleep_cell_voltage", 109, 0.001),
    _row("sleep_delay", 110, 60.0),
    _row("short_circuit_delay", 111, 0.000025),
    _row("soc_low_alarm", 112, 1.0),
    _row("charge_overcurrent2_protect", 113, 1.0),
    _row("charge_overcurrent2_delay", 114, 0.025),
)

TABLE: Final = SettingsTable(family=FAMILY, specs=MODBUS_SETTINGS)
BY_NAME: Final = {spec.name: spec for spec in MODBUS_SETTINGS}
BY_REGISTER: Final = {spec.register: spec for spec in MODBUS_SETTINGS}

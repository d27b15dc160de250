"""The declared DALY D2 settings table: registers 0x80-0xA8 (and the balancer switch 0xCF), one row per setting.

Sources (PROTOCOLS.md §2.3): the vendor sheet ``docs/dalyModbusProtocol.xlsx`` / ``docs/Modbus protocol.xlsx`` in
syssi/esphome-daly-bms (register, R/W, unit, offset: "0.1A, 30000 Offset", "1°C, 40 Offset"), its
``docs/protocol-register-map.md`` and ``components/daly_bms_ble/number/__init__.py`` (factor, offset, the 0x06
write). "Level 1 alarm" is the warning (``*_alarm``) and "level 2 alarm" the protection (``*_protect``): level 2 is
the one that opens the MOSFETs. DALY has no release values or delays in this block.

Ranges: the vendor sheet gives only the register range 0-65535 for every row. The rows below narrow that to
physically meaningful bounds (our assumption, named per row group) so a typo can never become 65 V per cell;
temperatures keep esphome-daly-bms' -40..100 °C (the +40 offset). Not in the table: the board layout 0x81-0x89
(cell reference voltage, board/cell/sensor counts, battery type — hardware configuration, never changed from here;
the cell count is read from it), the MOSFET switches 0xA5/0xA6 (``set_switch``) and the SoC 0xA7, write-only in
the vendor sheet (``set_soc``, confirmed through status register 0x2A).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..battery_settings import STANDARD_RULES, OrderRule, SettingSpec, SettingsTable

FAMILY: Final = "d2"

SETTINGS_START: Final = 0x80
SETTINGS_REGS: Final = 41  # 0x80-0xA8, the read esphome-daly-bms and the Daly app send (d2 03 00 80 00 29)
REG_BOARD_CELLS: Final = (0x83, 0x84, 0x85)  # cells on acquisition boards 1-3: their sum is the cell count
REG_SOC: Final = 0xA7  # write-only (vendor sheet "W"), 0.1 %
REG_BALANCER: Final = 0xCF  # 0 off / 1 on; real Daly-app captures write it with function 06 and read it back
CURRENT_OFFSET: Final = 30000
TEMP_OFFSET: Final = 40
SOC_STEP: Final = 0.1


@dataclass(frozen=True, slots=True)
class D2SettingSpec(SettingSpec):
    """A D2 setting: ``raw = round(value / scale) + offset`` in one holding register.

    ``signed_current``: a 30000-offset current limit. Its sign on the wire is not settled (the vendor sheet calls
    charge current negative, real status frames show it positive, the esphome faker frame mixes both); the value is
    the magnitude and a write keeps the sign the device already stores.
    """

    register: int = 0
    scale: float = 1.0
    offset: int = 0
    signed_current: bool = False
    #: Sign a 30000-offset limit gets when the device stores exactly 0 A (vendor sheet: charge negative).
    negative_by_default: bool = False


def _cell_v(name: str, register: int) -> D2SettingSpec:
    # Assumption: 1.5-4.5 V covers LTO, LiFePO4 and NMC cells; the sheet says only "mV, 0-65535".
    return D2SettingSpec(name, 1.5, 4.5, 0.001, register=register, scale=0.001)


def _pack_v(name: str, register: int) -> D2SettingSpec:
    # Assumption: 1-250 V covers 48 cells of any chemistry; the sheet says only "0.1V, 0-65535".
    return D2SettingSpec(name, 1.0, 250.0, 0.1, register=register, scale=0.1)


def _current(name: str, register: int, *, charge: bool) -> D2SettingSpec:
    # Assumption: 0.1-3000 A (esphome-daly-bms allows -3000..3553.5 around the 30000 offset).
    return D2SettingSpec(
        name,
        0.1,
        3000.0,
        0.1,
        register=register,
        scale=0.1,
        offset=CURRENT_OFFSET,
        signed_current=True,
        negative_by_default=charge,
    )


def _temp(name: str, register: int, high: float = 100.0) -> D2SettingSpec:
    # esphome-daly-bms number ranges: -40..100 °C (the 40 offset keeps the raw value positive).
    return D2SettingSpec(name, -40.0, high, 1.0, register=register, offset=TEMP_OFFSET)


D2_SETTINGS: Final[tuple[D2SettingSpec, ...]] = (
    # Assumption: 1-6553.5 Ah (the register's own range in 0.1 Ah, without 0 Ah).
    D2SettingSpec("design_capacity", 1.0, 6553.5, 0.1, register=0x80, scale=0.1),
    D2SettingSpec("sleep_delay", 0.0, 65535.0, 1.0, register=0x8A),
    _cell_v("cell_overvoltage_alarm", 0x8B),
    _cell_v("cell_overvoltage_protect", 0x8C),
    _cell_v("cell_undervoltage_alarm", 0x8D),
    _cell_v("cell_undervoltage_protect", 0x8E),
    _pack_v("pack_overvoltage_alarm", 0x8F),
    _pack_v("pack_overvoltage_protect", 0x90),
    _pack_v("pack_undervoltage_alarm", 0x91),
    _pack_v("pack_undervoltage_protect", 0x92),
    _current("charge_overcurrent_alarm", 0x93, charge=True),
    _current("charge_overcurrent_protect", 0x94, charge=True),
    _current("discharge_overcurrent_alarm", 0x95, charge=False),
    _current("discharge_overcurrent_protect", 0x96, charge=False),
    _temp("charge_overtemp_alarm", 0x97),
    _temp("charge_overtemp_protect", 0x98),
    _temp("charge_undertemp_alarm", 0x99),
    _temp("charge_undertemp_protect", 0x9A),
    _temp("discharge_overtemp_alarm", 0x9B),
    _temp("discharge_overtemp_protect", 0x9C),
    _temp("discharge_undertemp_alarm", 0x9D),
    _temp("discharge_undertemp_protect", 0x9E),
    # Assumption: 1 mV-1 V of cell difference; 1-255 °C of temperature difference (the faker frame of
    # esphome-daly-bms stores 255, i.e. one byte full: likely "off").
    D2SettingSpec("cell_delta_alarm", 0.001, 1.0, 0.001, register=0x9F, scale=0.001),
    D2SettingSpec("cell_delta_protect", 0.001, 1.0, 0.001, register=0xA0, scale=0.001),
    D2SettingSpec("temp_delta_alarm", 1.0, 255.0, 1.0, register=0xA1),
    D2SettingSpec("temp_delta_protect", 1.0, 255.0, 1.0, register=0xA2),
    _cell_v("balance_start_voltage", 0xA3),
    D2SettingSpec("balance_delta_voltage", 0.001, 1.0, 0.001, register=0xA4, scale=0.001),
    _temp("mosfet_overtemp_protect", 0xA8, high=120.0),
    D2SettingSpec("balancer_enabled", 0.0, 1.0, 1.0, register=REG_BALANCER),
)

#: The DALY-only rule on top of the shared physics.
D2_RULES: Final = (
    *STANDARD_RULES,
    OrderRule(
        "temp_delta_alarm",
        "temp_delta_protect",
        False,
        "the temperature difference warning must not be above its protection",
    ),
)

TABLE: Final = SettingsTable(family=FAMILY, specs=D2_SETTINGS, rules=D2_RULES)
BY_NAME: Final = {spec.name: spec for spec in D2_SETTINGS}
BLOCK_SPECS: Final = tuple(s for s in D2_SETTINGS if SETTINGS_START <= s.register < SETTINGS_START + SETTINGS_REGS)

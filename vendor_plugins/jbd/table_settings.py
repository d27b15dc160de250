"""JBD settings: the EEPROM registers a pack exposes in factory mode, declared once.

Used by the settings codec (decode/encode of register words), the session (which registers to read and write) and
the simulator (what it stores and which writes it refuses).

Sources (public):

* the register list and factory-mode keys: dbus-serialbattery ``bms/lltjbd.py`` (0x00 = 0x5678 enter, 0x01 = 0x2828
  exit and save, 0x0000 exit without saving; 0x10-0x3F, 0xE0 remaining capacity, 0x2D function bits);
* the units, signs and byte order of shared registers: the bms-tools "JBD register map" (Eric Poulsen; copy in
  FurTrader/OverkillSolarBMS ``Comm_Protocol_Documentation/JBD_REGISTER_MAP.md``): cell thresholds 1 mV, pack
  10 mV, temperatures 0.1 K, charge over-current s16 10 mA (positive), discharge over-current s16 10 mA
  (negative), delay registers 0x3A-0x3F as two bytes (first byte: the under-/trip delay, second byte: the over-/
  release delay), 0x2D bit 2 balancer enable, bit 3 balance only while charging;
* a real capture: the phone app reading every register below in factory mode from a JBD-SP04S034 4S 280 Ah pack
  (syssi/esphome-jbd-bms ``docs/btsnoop_hci_jbd-sp04s034-l4s-200a-b-u.log``; the values are in the tests).

JBD documents no device-side limits. Each range below is the register's encoding intersected with what any cell
chemistry these boards serve could need (a cell threshold of 1.0-4.5 V, a pack of at most 32 such cells,
temperatures -40..120 °C, delays one byte of seconds). The SoC-voltage points 0x42-0x46 (90/70/50/30/10 %) are
left out: the real capture never reads them, so firmware support is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from ..battery_settings import SettingSpec, SettingsTable

#: How a setting sits in its register: the whole word (unsigned, signed, or negated), a 0.1 K temperature, one
#: byte of the word (``hi`` = first on the wire), or one bit.
Encoding = Literal["u16", "s16", "neg16", "kelvin", "hi", "lo", "bit"]

REG_FUNCTION: Final = 0x2D
REG_REMAINING_CAPACITY: Final = 0xE0
FACTORY_EXIT_SAVE: Final = b"\x28\x28"
KELVIN_OFFSET: Final = 2731


@dataclass(frozen=True, slots=True)
class JbdSettingSpec(SettingSpec):
    """A JBD setting: its register, how it is encoded, and the vocabulary units per raw unit (``scale``)."""

    register: int = 0
    encoding: Encoding = "u16"
    scale: float = 1.0
    bit: int = 0


def _row(
    name: str,
    register: int,
    minimum: float,
    maximum: float,
    scale: float,
    encoding: Encoding = "u16",
    *,
    bit: int = 0,
    writable: bool = True,
) -> JbdSettingSpec:
    step = 1.0 if encoding in {"bit"} else scale
    return JbdSettingSpec(
        name, minimum, maximum, step, writable, register=register, encoding=encoding, scale=scale, bit=bit
    )


_CELL = (1.0, 4.5, 0.001)
_PACK = (1.0, 150.0, 0.01)
_TEMP = (-40.0, 120.0, 0.1)
_DELAY = (0.0, 255.0, 1.0)

SPECS: Final[tuple[JbdSettingSpec, ...]] = (
    _row("design_capacity", 0x10, 0.01, 655.35, 0.01),
    _row("cycle_capacity", 0x11, 0.01, 655.35, 0.01),
    _row("cell_full_voltage", 0x12, *_CELL),
    _row("cell_empty_voltage", 0x13, *_CELL),
    _row("self_discharge_rate", 0x14, 0.0, 100.0, 0.1),
    _row("charge_overtemp_protect", 0x18, *_TEMP, "kelvin"),
    _row("charge_overtemp_release", 0x19, *_TEMP, "kelvin"),
    _row("charge_undertemp_protect", 0x1A, *_TEMP, "kelvin"),
    _row("charge_undertemp_release", 0x1B, *_TEMP, "kelvin"),
    _row("discharge_overtemp_protect", 0x1C, *_TEMP, "kelvin"),
    _row("discharge_overtemp_release", 0x1D, *_TEMP, "kelvin"),
    _row("discharge_undertemp_protect", 0x1E, *_TEMP, "kelvin"),
    _row("discharge_undertemp_release", 0x1F, *_TEMP, "kelvin"),
    _row("pack_overvoltage_protect", 0x20, *_PACK),
    _row("pack_overvoltage_release", 0x21, *_PACK),
    _row("pack_undervoltage_protect", 0x22, *_PACK),
    _row("pack_undervoltage_release", 0x23, *_PACK),
    _row("cell_overvoltage_protect", 0x24, *_CELL),
    _row("cell_overvoltage_release", 0x25, *_CELL),
    _row("cell_undervoltage_protect", 0x26, *_CELL),
    _row("cell_undervoltage_release", 0x27, *_CELL),
    _row("charge_overcurrent_protect", 0x28, 0.01, 327.67, 0.01, "s16"),
    _row("discharge_overcurrent_protect", 0x29, 0.01, 327.68, 0.01, "neg16"),
    _row("balance_start_voltage", 0x2A, *_CELL),
    _row("balance_delta_voltage", 0x2B, 0.001, 0.5, 0.001),
    _row("balancer_enabled", REG_FUNCTION, 0, 1, 1, "bit", bit=2),
    _row("balance_only_when_charging", REG_FUNCTION, 0, 1, 1, "bit", bit=3),
    _row("cell_count", 0x2F, 1, 32, 1, writable=False),
    _row("cell_voltage_soc_80", 0x32, *_CELL),
    _row("cell_voltage_soc_60", 0x33, *_CELL),
    _row("cell_voltage_soc_40", 0x34, *_CELL),
    _row("cell_voltage_soc_20", 0x35, *_CELL),
    _row("cell_overvoltage_hard_protect", 0x36, *_CELL),
    _row("cell_undervoltage_hard_protect", 0x37, *_CELL),
    _row("charge_undertemp_delay", 0x3A, *_DELAY, "hi"),
    _row("charge_overtemp_delay", 0x3A, *_DELAY, "lo"),
    _row("discharge_undertemp_delay", 0x3B, *_DELAY, "hi"),
    _row("discharge_overtemp_delay", 0x3B, *_DELAY, "lo"),
    _row("pack_undervoltage_delay", 0x3C, *_DELAY, "hi"),
    _row("pack_overvoltage_delay", 0x3C, *_DELAY, "lo"),
    _row("cell_undervoltage_delay", 0x3D, *_DELAY, "hi"),
    _row("cell_overvoltage_delay", 0x3D, *_DELAY, "lo"),
    _row("charge_overcurrent_delay", 0x3E, *_DELAY, "hi"),
    _row("charge_overcurrent_release_delay", 0x3E, *_DELAY, "lo"),
    _row("discharge_overcurrent_delay", 0x3F, *_DELAY, "hi"),
    _row("discharge_overcurrent_release_delay", 0x3F, *_DELAY, "lo"),
)

TABLE: Final = SettingsTable(family="jbd", specs=SPECS)

#: The registers a settings read fetches, in ascending order (each once).
REGISTERS: Final[tuple[int, ...]] = tuple(sorted({spec.register for spec in SPECS}))

BY_NAME: Final[dict[str, JbdSettingSpec]] = {spec.name: spec for spec in SPECS}

"""JBD (Jiabaida, "Xiaoxiang", Overkill, many rebrands) protocol facts, declared once.

Source: the JBD "General Protocol V4" and real captures (../shared/protocols/PROTOCOLS.md §3). The codec decodes
with these tables and the simulator encodes with them, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Final

from ..fields import Field
from ..model import Alarm
from ..plugin import BleMatcher, BleProfile, uuid16

START: Final = 0xDD
END: Final = 0x77
MODE_READ: Final = 0xA5
MODE_WRITE: Final = 0x5A
STATUS_OK: Final = 0x00
STATUS_ERROR: Final = 0x80

# Registers
REG_FACTORY_ENTER: Final = 0x00
REG_FACTORY_EXIT: Final = 0x01
REG_BASIC: Final = 0x03
REG_CELLS: Final = 0x04
REG_HARDWARE: Final = 0x05
REG_MOS: Final = 0xE1

FACTORY_ENTER_KEY: Final = b"\x56\x78"
FACTORY_EXIT_NO_SAVE: Final = b"\x00\x00"

#: Register 0x03 "basic info", fixed part (data offsets). Current/capacities are 10 mA / 10 mAh units unless the
#: 100 mA flag is set (see ``UNIT_FLAG_BIT``), in which case their scale is ``COARSE_SCALE``.
BASIC_FIELDS: Final = (
    Field("voltage", 0, 2, scale=0.01),
    Field("current", 2, 2, signed=True, scale=0.01),
    Field("remaining_capacity", 4, 2, scale=0.01),
    Field("design_capacity", 6, 2, scale=0.01),
    Field("cycles", 8, 2),
    Field("production_date", 10, 2),
    Field("balance_low", 12, 2),
    Field("balance_high", 14, 2),
    Field("protection", 16, 2),
    Field("software_version", 18, 1),
    Field("soc", 19, 1),
    Field("fet", 20, 1),
    Field("cell_count", 21, 1),
    Field("ntc_count", 22, 1),
)
BASIC_FIXED_SIZE: Final = 23
#: Fields whose unit becomes 100 mA / 100 mAh when the unit flag is set.
COARSE_FIELDS: Final = frozenset({"current", "remaining_capacity", "design_capacity"})
COARSE_SCALE: Final = 0.1
#: The flag: bit 7 of the first byte after the NTC words (data offset 23 + 2N), when that byte exists.
UNIT_FLAG_BIT: Final = 0x80

NTC: Final = Field("ntc", 0, 2)
NTC_OFFSET_DECIKELVIN: Final = 2731
CELL_MV: Final = Field("cell", 0, 2, scale=0.001)

FET_CHARGE: Final = 0x01
FET_DISCHARGE: Final = 0x02

#: Protection status (data offset 16) bit → normalised alarm. Bits 13-15 are reserved in the vendor document and
#: are kept in ``raw`` by name when set.
PROTECTION_BITS: Final[dict[int, Alarm]] = {
    0: Alarm.CELL_OVERVOLTAGE,
    1: Alarm.CELL_UNDERVOLTAGE,
    2: Alarm.PACK_OVERVOLTAGE,
    3: Alarm.PACK_UNDERVOLTAGE,
    4: Alarm.CHARGE_OVERTEMP,
    5: Alarm.CHARGE_UNDERTEMP,
    6: Alarm.DISCHARGE_OVERTEMP,
    7: Alarm.DISCHARGE_UNDERTEMP,
    8: Alarm.CHARGE_OVERCURRENT,
    9: Alarm.DISCHARGE_OVERCURRENT,
    10: Alarm.SHORT_CIRCUIT,
    11: Alarm.FRONTEND_ERROR,
    12: Alarm.SOFTWARE_LOCK,
}
SOFTWARE_LOCK_BIT: Final = 12

BLE_PROFILE: Final = BleProfile(service_uuid=uuid16(0xFF00), notify_uuid=uuid16(0xFF01), write_uuid=uuid16(0xFF02))

#: Advertisement matchers (PROTOCOLS.md §3.6): name patterns or MAC OUIs, each together with service ff00.
BLE_NAME_PATTERNS: Final = (
    "JBD-*",
    "DWF*",
    "LSG-*",
    "N-?????BL*",
    "SX1*",
    "SX60*",
    "SBL-*",
    "OGR-*",
    "TZ-H*",
    "TITAN-*",  # TITAN Lithium (BMS_BLE-HA issue 825: TITAN-12V-230AHUS-0005, service ff00)
)
BLE_OUIS: Final = (
    "10:A5:62",
    "A4:C1:37",
    "A4:C1:38",
    "A5:C2:37",
    "A5:C2:39",
    "A5:C2:3A",
    "AA:C2:37",
    "70:3E:97",
)
BLE_MATCHERS: Final = tuple(
    BleMatcher(local_name=name, service_uuid=BLE_PROFILE.service_uuid) for name in BLE_NAME_PATTERNS
) + tuple(BleMatcher(oui=oui, service_uuid=BLE_PROFILE.service_uuid) for oui in BLE_OUIS)

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

#: A basic-info word the board leaves unset ("not available"): the real value is elsewhere or absent.
NOT_AVAILABLE: Final = 0xFFFF

# --- Daren (``DWF…`` Bluetooth names): a JBD-derived board -------------------------------------------------------
#: Its register 0x03 sets current, remaining and design capacity all to :data:`NOT_AVAILABLE` and sends them after
#: the NTC words instead, in this layout (offsets from the end of the NTC words; temperatures in 0.1 K like the
#: NTCs). Source: two real replies published with aiobmsble's Daren support (tests/vendor_plugins/jbd/
#: test_daren.py names them); the three bytes after the state of health were zero in both.
DAREN_FAMILY: Final = "daren"
DAREN_FIELDS: Final = (
    Field("mosfet_temp", 0, 2),
    Field("ambient_temp", 2, 2),
    Field("soh", 4, 1),
    Field("reserved_byte", 5, 1),
    Field("reserved_word", 6, 2),
    Field("remaining_capacity", 8, 2, scale=0.1),
    Field("design_capacity", 10, 2, scale=0.1),
    Field("current", 12, 4, signed=True, scale=0.1),
)
DAREN_EXTENSION_SIZE: Final = 16
#: Daren register 0x08: fixed-width NUL-padded ASCII texts and a date (byte slices of the payload, 193 bytes).
#: The same production code (``DJM`` + yymmdd + 4 digits) appears three times; the module is the Wi-Fi/BLE board.
REG_DAREN_INFO: Final = 0x08
DAREN_INFO_TEXTS: Final = {
    "production_code": (0, 30),
    "production_code_2": (30, 60),
    "production_code_3": (60, 90),
    "manufacturer": (93, 113),
    "hardware": (113, 123),
    "software": (123, 173),
    "module": (173, 193),
}
#: Year - 2000, month, day.
DAREN_INFO_DATE: Final = (90, 93)
DAREN_INFO_SIZE: Final = 193

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
    # SBL Connect (2021), 12 V + capacity + "BL" + model/serial, on a random-looking address (BMS_BLE-HA issue 771:
    # 12150BLH1805 on 04:7F:0E, service ff00 + a NUS-like 6e40ff00 service; fixed by aiobmsble PR 275). The newer
    # SBL/N- packs (SBL-12330BLH1-…, N-12100BL…) are caught by their own patterns above.
    "12???BL*",
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

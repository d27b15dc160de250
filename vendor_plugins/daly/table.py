"""DALY protocol facts, declared once: A5 command layouts, the failure-bit table, D2/P81 register maps, BLE.

Sources: the DALY UART/485 protocol PDFs V1.0/V1.2, the vendor Modbus spreadsheets, esphome-daly-bms'
register map, and real captures (../shared/protocols/PROTOCOLS.md §1-2). The codecs decode with these tables and
the simulators encode with them, so the two cannot drift apart.

Field offsets of the Modbus-style maps are **byte offsets in a register image that starts at register 0**
(offset = 2 x register), so a table reads the same whether a reply covered 62, 80 or 64+62 registers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..fields import Field
from ..model import Alarm
from ..plugin import Advertisement, BleMatcher, BleProfile, uuid16

FAMILIES: Final = ("a5", "d2", "p81")

#: Current is sent as ``raw = 30000 + 10 x amps`` (A5: discharge-positive; D2/P81: charge-positive, see the codecs).
CURRENT_OFFSET: Final = 30000
#: Temperatures are sent as ``°C + 40``.
TEMP_OFFSET: Final = 40

CHARGE_STATES: Final = {0: "idle", 1: "charging", 2: "discharging"}

# --- legacy "A5" protocol (UART / RS485), PROTOCOLS.md §1 -------------------------------------------------
A5_START: Final = 0xA5
A5_DATA_LEN: Final = 8
A5_FRAME_LEN: Final = 13
A5_BMS_ADDRESS: Final = 0x01
#: Host addresses: 0x40 on RS485 (V1.2 "upper computer"), 0x80 on UART/Bluetooth (V1.2 "Bluetooth APP").
HOST_RS485: Final = 0x40
HOST_UART_BLE: Final = 0x80
#: The order in which protocol detection tries host addresses.
HOST_PROBE_ORDER: Final = (HOST_UART_BLE, HOST_RS485)

CMD_PACK: Final = 0x90  # voltage, current, SoC
CMD_CELL_RANGE: Final = 0x91  # highest / lowest cell
CMD_TEMP_RANGE: Final = 0x92  # highest / lowest temperature
CMD_MOSFET: Final = 0x93  # charge state, MOSFETs, life counter, remaining capacity
CMD_STATUS: Final = 0x94  # cell and sensor counts, charger, load, DIO, cycles
CMD_CELLS: Final = 0x95  # cell voltages, multi-frame
CMD_TEMPS: Final = 0x96  # temperatures, multi-frame
CMD_BALANCE: Final = 0x97  # balancing bits
CMD_FAILURE: Final = 0x98  # failure bits
CMD_DISCHARGE_SWITCH: Final = 0xD9  # write: B0 = 1 on / 0 off
CMD_CHARGE_SWITCH: Final = 0xDA  # write: B0 = 1 on / 0 off

#: The read sequence of one A5 snapshot (0x91/0x92 repeat what the cell and sensor lists already say).
A5_READ_SEQUENCE: Final = (CMD_PACK, CMD_MOSFET, CMD_STATUS, CMD_CELLS, CMD_TEMPS, CMD_BALANCE, CMD_FAILURE)

CELLS_PER_FRAME: Final = 3
MAX_CELL_FRAMES: Final = 16
MAX_CELLS: Final = CELLS_PER_FRAME * MAX_CELL_FRAMES  # 48
TEMPS_PER_FRAME: Final = 7
MAX_TEMP_FRAMES: Final = 3
MAX_TEMPS: Final = TEMPS_PER_FRAME * MAX_TEMP_FRAMES  # 21

#: Fixed 8-byte payload layouts of the single-frame A5 answers. Bytes not covered are "reserved"; real units fill
#: them with stale bytes of earlier answers (a codec ignores them, a simulator may replay them).
A5_LAYOUTS: Final[dict[int, tuple[Field, ...]]] = {
    CMD_PACK: (
        Field("voltage", 0, 2, scale=0.1),
        Field("gather_voltage", 2, 2, scale=0.1),
        Field("current", 4, 2),  # CURRENT_OFFSET, 0.1 A, discharge-positive
        Field("soc", 6, 2, scale=0.1),
    ),
    CMD_CELL_RANGE: (
        Field("cell_max", 0, 2, scale=0.001),
        Field("cell_max_no", 2, 1),
        Field("cell_min", 3, 2, scale=0.001),
        Field("cell_min_no", 5, 1),
    ),
    CMD_TEMP_RANGE: (
        Field("temp_max", 0, 1),  # TEMP_OFFSET
        Field("temp_max_no", 1, 1),
        Field("temp_min", 2, 1),  # TEMP_OFFSET
        Field("temp_min_no", 3, 1),
    ),
    CMD_MOSFET: (
        Field("charge_state", 0, 1),
        Field("charge_mosfet", 1, 1),
        Field("discharge_mosfet", 2, 1),
        Field("life", 3, 1),
        Field("remaining_capacity", 4, 4, scale=0.001),  # mAh -> Ah
    ),
    CMD_STATUS: (
        Field("cell_count", 0, 1),
        Field("temp_count", 1, 1),
        Field("charger", 2, 1),
        Field("load", 3, 1),
        Field("dio", 4, 1),
        Field("cycles", 5, 2),  # V1.0: cycles; V1.2 says "reserved" but captures carry cycles here
    ),
}
#: One 0x95 frame: a 1-based frame number (PDFs say 0-based, every capture is 1-based), three cells, a reserved byte.
A5_CELL_FRAME: Final = (
    Field("frame", 0, 1),
    *(Field(f"cell_{i}", 1 + 2 * i, 2, scale=0.001) for i in range(CELLS_PER_FRAME)),
)
#: One 0x96 frame: a 1-based frame number and seven temperatures (TEMP_OFFSET; unused slots are 0x00).
A5_TEMP_FRAME: Final = (Field("frame", 0, 1), *(Field(f"temp_{i}", 1 + i, 1) for i in range(TEMPS_PER_FRAME)))
#: 0x97: "Bit0: cell 1 … Bit47: cell 48, Bit48-63 reserved". Read here as bit n = byte n // 8, bit n % 8 (the same
#: byte/bit numbering as the 0x98 table). No capture with balancing active exists: medium confidence.
A5_BALANCE_BITS: Final = 48
#: No cell chemistry a DALY board supports reaches 5 V; a higher 0x95 value is a corrupt frame.
A5_MAX_CELL_MV: Final = 5000
#: How far the 0x90 pack voltage may be from the sum of the 0x95 cells: (share of the sum, volts), the larger wins.
#: The real 16-frame capture (mpp-solar) differs by 0.01 V; 5 % / 1 V leaves room for the sense-wire drop under load
#: and for the seconds between the two requests, and still refuses a byte-shifted voltage or cell.
A5_PACK_VS_CELLS_TOLERANCE: Final = (0.05, 1.0)


# --- failure bits: A5 0x98 bytes 0-6, and the D2 fault registers 0x3A-0x3C (PROTOCOLS.md §1.3, §2.5) ------------
@dataclass(frozen=True, slots=True)
class FaultBit:
    """One failure bit: where it is, its name (kept in ``raw`` when it has no alarm), its alarm and level.

    ``level`` 1 (a warning) or 2 (an alarm) for the levelled bits of bytes 0-3; ``None`` for faults (alarms).
    """

    byte: int
    bit: int
    name: str
    alarm: Alarm | None
    level: int | None = None

    @property
    def is_warning(self) -> bool:
        """Level-1 bits are warnings; level-2 bits and faults are alarms."""
        return self.level == 1


def _levelled(byte: int, pairs: tuple[tuple[str, Alarm], ...]) -> tuple[FaultBit, ...]:
    bits: list[FaultBit] = []
    for index, (name, alarm) in enumerate(pairs):
        bits.append(FaultBit(byte, 2 * index, f"{name}_l1", alarm, 1))
        bits.append(FaultBit(byte, 2 * index + 1, f"{name}_l2", alarm, 2))
    return tuple(bits)


#: Every documented bit of the failure status. Reserved bits (byte 3 and 6, bits 4-7) are kept in ``raw`` as
#: ``failure_byte{B}_bit{N}`` when set; byte 7 is a fault code (``raw["fault_code"]``).
FAULT_BITS: Final[tuple[FaultBit, ...]] = (
    *_levelled(
        0,
        (
            ("cell_overvoltage", Alarm.CELL_OVERVOLTAGE),
            ("cell_undervoltage", Alarm.CELL_UNDERVOLTAGE),
            ("pack_overvoltage", Alarm.PACK_OVERVOLTAGE),
            ("pack_undervoltage", Alarm.PACK_UNDERVOLTAGE),
        ),
    ),
    *_levelled(
        1,
        (
            ("charge_overtemp", Alarm.CHARGE_OVERTEMP),
            ("charge_undertemp", Alarm.CHARGE_UNDERTEMP),
            ("discharge_overtemp", Alarm.DISCHARGE_OVERTEMP),
            ("discharge_undertemp", Alarm.DISCHARGE_UNDERTEMP),
        ),
    ),
    *_levelled(
        2,
        (
            ("charge_overcurrent", Alarm.CHARGE_OVERCURRENT),
            ("discharge_overcurrent", Alarm.DISCHARGE_OVERCURRENT),
            ("soc_high", Alarm.HIGH_SOC),
            ("soc_low", Alarm.LOW_SOC),
        ),
    ),
    *_levelled(
        3,
        (
            ("cell_voltage_difference", Alarm.CELL_IMBALANCE),
            ("temp_difference", Alarm.TEMP_DIFFERENCE),
        ),
    ),
    FaultBit(4, 0, "charge_mosfet_overtemp", Alarm.MOSFET_OVERTEMP),
    FaultBit(4, 1, "discharge_mosfet_overtemp", Alarm.MOSFET_OVERTEMP),
    FaultBit(4, 2, "charge_mosfet_temp_sensor_fault", Alarm.TEMP_SENSOR_FAULT),
    FaultBit(4, 3, "discharge_mosfet_temp_sensor_fault", Alarm.TEMP_SENSOR_FAULT),
    FaultBit(4, 4, "charge_mosfet_stuck", Alarm.CHARGE_MOSFET_FAULT),  # "adhesion": welded closed
    FaultBit(4, 5, "discharge_mosfet_stuck", Alarm.DISCHARGE_MOSFET_FAULT),
    FaultBit(4, 6, "charge_mosfet_open_circuit", Alarm.CHARGE_MOSFET_FAULT),
    FaultBit(4, 7, "discharge_mosfet_open_circuit", Alarm.DISCHARGE_MOSFET_FAULT),
    FaultBit(5, 0, "frontend_chip_fault", Alarm.FRONTEND_ERROR),  # AFE acquisition chip
    FaultBit(5, 1, "cell_voltage_sense_lost", Alarm.CELL_FAULT),  # a cell's sense wire dropped
    FaultBit(5, 2, "cell_temp_sensor_fault", Alarm.TEMP_SENSOR_FAULT),
    FaultBit(5, 3, "eeprom_fault", None),
    FaultBit(5, 4, "rtc_fault", None),
    FaultBit(5, 5, "precharge_failure", Alarm.PRECHARGE_FAULT),
    FaultBit(5, 6, "vehicle_communication_fault", Alarm.COMMUNICATION_FAULT),
    FaultBit(5, 7, "internal_communication_fault", Alarm.COMMUNICATION_FAULT),
    FaultBit(6, 0, "current_module_fault", None),
    FaultBit(6, 1, "pack_voltage_sense_fault", None),
    FaultBit(6, 2, "short_circuit_protection", Alarm.SHORT_CIRCUIT),
    FaultBit(6, 3, "low_voltage_charge_forbidden", None),
)
FAULT_BITS_BY_NAME: Final = {b.name: b for b in FAULT_BITS}
FAULT_CODE_BYTE: Final = 7

# --- Modbus-style protocol "D2" and its "P81" variant (BLE and RS485), PROTOCOLS.md §2 ---------------------------
FC_READ: Final = 0x03
FC_WRITE: Final = 0x06
FC_WRITE_MULTI: Final = 0x10
EXCEPTION_FLAG: Final = 0x80

D2_DEVICE: Final = 0xD2  # request and response
P81_REQUEST_DEVICE: Final = 0x81
P81_RESPONSE_DEVICE: Final = 0x51


def _reg(name: str, register: int, scale: float = 1.0) -> Field:
    """A one-register field at byte offset 2 x ``register`` of a register image starting at 0."""
    return Field(name, 2 * register, 2, scale=scale)


# D2 status block: 62 registers (0x00-0x3D), or 80 (0x00-0x4F) with the extension below.
D2_STATUS_START: Final = 0x00
D2_STATUS_REGS: Final = 62
D2_STATUS_REGS_EXTENDED: Final = 80
D2_CELL_BASE: Final = 0x00
D2_CELL_SLOTS: Final = 32
D2_TEMP_BASE: Final = 0x20
D2_TEMP_SLOTS: Final = 8
D2_STATUS_FIELDS: Final = (
    _reg("voltage", 0x28, 0.1),
    _reg("current", 0x29),  # CURRENT_OFFSET, 0.1 A, charge-positive (real captures; the xlsx says otherwise)
    _reg("soc", 0x2A, 0.1),
    _reg("cell_max", 0x2B, 0.001),
    _reg("cell_min", 0x2C, 0.001),
    _reg("temp_max", 0x2D),  # TEMP_OFFSET
    _reg("temp_min", 0x2E),  # TEMP_OFFSET
    _reg("charge_state", 0x2F),
    _reg("remaining_capacity", 0x30, 0.1),
    _reg("cell_count", 0x31),
    _reg("temp_count", 0x32),
    _reg("cycles", 0x33),
    _reg("balancer", 0x34),  # 0 off, 1 on (passive), 2 active
    _reg("charge_mosfet", 0x35),
    _reg("discharge_mosfet", 0x36),
    _reg("cell_average", 0x37, 0.001),
    _reg("cell_delta", 0x38, 0.001),
    _reg("power", 0x39),  # W, unsigned (no sign): kept in raw, the model derives V x I
    _reg("fault_1", 0x3A),
    _reg("fault_2", 0x3B),
    _reg("fault_3", 0x3C),
    _reg("fault_4", 0x3D),
)
#: Registers 0x3E-0x43 of the 80-register read (esphome-daly-bms; vehicle firmware uses them differently).
D2_EXTENDED_FIELDS: Final = (
    _reg("balance_mask_1", 0x3E),  # cells 1-16, bit 0 = cell 1
    _reg("balance_mask_2", 0x3F),  # cells 17-32
    _reg("balance_current", 0x40),  # CURRENT_OFFSET, 0.001 A
    _reg("mosfet_temp", 0x42),  # TEMP_OFFSET; 0x0000 / 0xFFFF = no sensor
    _reg("board_temp", 0x43),  # TEMP_OFFSET; 0x0000 / 0xFFFF = no sensor
)
#: Fault registers: each register's **low** byte is the lower-numbered legacy 0x98 byte (§2.5), so the wire bytes
#: ``w0..w5`` of 0x3A-0x3C are legacy bytes 1, 0, 3, 2, 5, 4. 0x3D ("fault status 4") is reserved.
D2_FAULT_FIELDS: Final = ("fault_1", "fault_2", "fault_3")
D2_FAULT_RESERVED: Final = "fault_4"

D2_VERSION_START: Final = 0xA9
D2_VERSION_REGS: Final = 32
#: Byte slices of the version reply (vendor map: 0xA9-0xB0 software, 0xB1-0xB8 hardware, 0xB9-0xC8 machine code).
D2_VERSION_SLOTS: Final = {"software": (0, 16), "hardware": (16, 32), "machine_code": (32, 64)}

D2_REG_RATED_CAPACITY: Final = 0x80
D2_REG_CHARGE_SWITCH: Final = 0xA5  # write 1 on / 0 off; the device echoes the request
D2_REG_DISCHARGE_SWITCH: Final = 0xA6
D2_REG_BALANCER_SWITCH: Final = 0xCF
#: Battery type in the settings block (vendor sheet, PROTOCOLS.md §2.3: 0 LiFePO4, 1 ternary, 2 LTO); set by the
#: installer in the vendor's app. Any other value says nothing (unknown chemistry).
D2_REG_BATTERY_TYPE: Final = 0x89
D2_BATTERY_TYPES: Final = {0: "lfp", 1: "nmc", 2: "lto"}

# P81: RT1 = 64 registers from 0x00 (48 cell slots), RT2 = 62 registers from 0x41.
P81_RT1_START: Final = 0x00
P81_RT1_REGS: Final = 64
P81_RT2_START: Final = 0x41
P81_RT2_REGS: Final = 62
P81_CELL_BASE: Final = 0x00
P81_CELL_SLOTS: Final = 48
P81_TEMP_BASE: Final = 0x30
P81_TEMP_SLOTS: Final = 8
P81_STATUS_FIELDS: Final = (
    _reg("voltage", 0x38, 0.1),
    _reg("current", 0x39),  # CURRENT_OFFSET, 0.1 A, charge-positive
    _reg("soc", 0x3A, 0.1),
    _reg("heartbeat", 0x3B),
    _reg("cell_count", 0x3C),
    _reg("temp_count", 0x3D),
    _reg("cell_max", 0x3E, 0.001),
    _reg("cell_max_no", 0x3F),
    _reg("temp_max", 0x43),  # TEMP_OFFSET
    _reg("temp_max_no", 0x44),
    _reg("temp_min", 0x45),  # TEMP_OFFSET
    _reg("temp_min_no", 0x46),
    _reg("charge_state", 0x48),
    _reg("remaining_capacity", 0x4B, 0.1),
    _reg("cycles", 0x4C),
    _reg("balancer", 0x4D),
    _reg("balance_current", 0x4E),  # CURRENT_OFFSET, 0.001 A
    _reg("balance_mask_1", 0x4F),  # cells 1-16 (esphome-daly-bms register map)
    _reg("balance_mask_2", 0x50),  # cells 17-32
    _reg("balance_mask_3", 0x51),  # cells 33-48
    _reg("charge_mosfet", 0x52),
    _reg("discharge_mosfet", 0x53),
    _reg("precharge_mosfet", 0x54),
    _reg("heating_mosfet", 0x55),
    _reg("cell_average", 0x57, 0.001),
    _reg("power", 0x58),  # W, unsigned
    _reg("energy", 0x59),  # Wh
    _reg("mosfet_temp", 0x5A),  # TEMP_OFFSET; 0x0000 / 0xFFFF = no sensor
    _reg("board_temp", 0x5B),  # TEMP_OFFSET; 0x0000 / 0xFFFF = no sensor
)
#: P81 alarm registers (10 from 0xA4): read by the Daly app, decoded by no source. Not read by this plugin.
P81_ALARM_START: Final = 0xA4
P81_ALARM_REGS: Final = 10
P81_VERSION_START: Final = 0x178
P81_VERSION_REGS: Final = 74
#: Byte slices of the P81 version reply (the real reply of an ESS-DL-BMS, esphome-daly-bms docs/pdus): software at
#: 0, hardware at 28, then an ASCII code (``210LC210900005``) and a date (``    20260326``). The vendor map of D2
#: orders the same block software, hardware, machine code (0xB9-0xC8), ..., production date: the code is the unit's
#: machine code (its serial number) and the date its production date (YYYYMMDD, after the firmware build 260321).
P81_VERSION_SLOTS: Final = {
    "software": (0, 28),
    "hardware": (28, 42),
    "machine_code": (42, 66),
    "production_date": (66, 78),
}

#: MOSFET / board temperature registers that mean "no sensor fitted": 0x0000 and 0xFFFF (aiobmsble, esphome), and
#: 0x00FF, which a real P81 unit sends for its absent board sensor and in its max/min temperature registers
#: (BMS_BLE-HA issue 806; it would read 215 °C).
NO_SENSOR: Final = frozenset({0x0000, 0x00FF, 0xFFFF})
#: Cell temperature registers that mean "no sensor": the same P81 unit declares 2 sensors and sends 0x00FF in every
#: temperature register. 0x0000 stays a reading there (-40 °C, the bottom of the +40 encoding).
CELL_TEMP_ABSENT: Final = frozenset({0x00FF, 0xFFFF})

# --- Bluetooth (both protocol families use the same GATT service) -----------------------------------------------
BLE_PROFILE: Final = BleProfile(service_uuid=uuid16(0xFFF0), notify_uuid=uuid16(0xFFF1), write_uuid=uuid16(0xFFF2))
#: The tag DALY Bluetooth modules put in their manufacturer data after a type byte and the 6-byte module id (the
#: hex digits of the ``DL-…``/``JHB-…`` default name): b"DL" (DALY modules) or b"JHB" (active-balance JHB boards).
#: Every DALY advert of the public corpus carries it (tests/vendor_plugins/ble_corpus.py).
BLE_TAG_OFFSET: Final = 7
BLE_TAGS: Final = (b"DL", b"JHB")


@dataclass(frozen=True, slots=True)
class TaggedManufacturerMatcher(BleMatcher):
    """A manufacturer id whose data also carries the DALY tag at :data:`BLE_TAG_OFFSET`.

    The manufacturer ids DALY modules send (their first two bytes, not a Bluetooth SIG company id of DALY's) are
    assigned by the SIG to other companies (0x0104 PLUS Location Systems, 0x0302 Loop Devices, 0x0303 IACA
    electronique, 0x0402 Sears Holdings), so the id alone could be another product: the tag makes it DALY's.
    Home Assistant's manifest cannot express the tag and keeps the id as a pre-filter; the config flow then runs
    this precise check.
    """

    def matches(self, adv: Advertisement) -> bool:
        """The id matches and its data carries the DALY tag."""
        if not BleMatcher.matches(self, adv) or self.manufacturer_id is None:
            return False
        tail = adv.manufacturer_data[self.manufacturer_id][BLE_TAG_OFFSET:]
        return any(tail.startswith(tag) for tag in BLE_TAGS)


#: Manufacturer ids of renamed units (a user-set name, so no ``DL-`` prefix): the tag must be present too.
BLE_TAGGED_MANUFACTURER_IDS: Final = (0x0104, 0x0302, 0x0303, 0x0402)
#: 0x0102 (SIG: Keiser Corporation, fitness equipment) comes with the bare type byte and no tag: only together with
#: the default ``DL-`` name (such units advertise no service UUID).
BLE_NAMED_MANUFACTURER_ID: Final = 0x0102
BLE_MATCHERS: Final = (
    BleMatcher(local_name="DL-*", service_uuid=BLE_PROFILE.service_uuid),
    BleMatcher(local_name="DL-*", manufacturer_id=BLE_NAMED_MANUFACTURER_ID),
    *(TaggedManufacturerMatcher(manufacturer_id=mid) for mid in BLE_TAGGED_MANUFACTURER_IDS),
)

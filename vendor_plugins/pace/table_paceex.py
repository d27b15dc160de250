"""PACEEX (PACE's own Bluetooth protocol, units advertising ``PC-xxxx``) facts, declared once.

The codec decodes with these layouts, builds its requests from them, and the simulator encodes with them, so the three
cannot drift apart. Sources (../shared/protocols/PROTOCOLS.md §4.8): aiobmsble's ``pace_bms`` plugin and the real
frames of its test (patman15/aiobmsble ``tests/bms/test_pace_bms.py``), its pull request #259 (in a parallel bank only
the master answers the system query 0x0A00; the other packs send a valid frame whose payload is all zeros, while the
pack query 0x0A01 is answered by every pack), and BMS_BLE-HA issue #470 (a ``PC-892E`` advertisement).

Frame (both directions): ``9A | type (6 bytes) | length (1) | data | CRC-16/MODBUS over 9A..data, big-endian | 9D``.
Per-pack requests carry two data bytes ``[pack, 0x01]`` (the captures ask pack 1 with ``01 01``).

What is settled by a real frame, and what is inferred (docs/hardware-pace-ble.md lists it):

* 0x0A01 pack record: current, voltage, capacities, SoC, SoH, cycles, the hottest/coldest sensor and the highest/lowest
  cell with their numbers (each agrees with the 0x0A02 record of the same capture). The two temperatures after the
  extremes (23.2 and 24.1 °C in the capture, warmer than every cell sensor) are taken as MOSFET and ambient, PACE's
  T5/T6 convention: inferred.
* 0x0A02 cell record: pack voltage, cell count, then per cell its voltage and the temperature of the sensor on it
  (0 = no sensor there: the capture has sensors on cells 1-4 only).
* 0x0A03 status record: taken to carry PACE ASCII's 0x44 status bytes in their ASCII order (ProtectState1/2,
  InstructionState, ControlState, FaultState, BalanceState1/2, WarnState1/2). Inferred from one frame: its
  InstructionState 0x0E (both MOSFETs on, discharging) matches the pack discharging at 3.84 A in the same capture and
  PACE ASCII's real status capture. The bit tables are PACE ASCII's (:mod:`.table`), so alarms carry the same names.
* The first data byte of the per-pack records (0x02 in every capture) has no known meaning: kept in ``raw``.
* Temperatures are 0.1 K with an offset of 2731 (aiobmsble; 0x0B89 = 22.2 °C as its test states).
* No public source documents a PACEEX write (MOSFET switching): control is refused.
"""

from __future__ import annotations

import enum
from typing import Final

from ..fields import Field
from ..plugin import BleProfile, uuid16
from .table import (
    FAULT_STATE,
    INSTRUCTION_STATE,
    PROTECT_STATE_1,
    PROTECT_STATE_2,
    WARN_STATE_1,
    WARN_STATE_2,
    BitTable,
    Severity,
)

FAMILY: Final = "paceex"

# --- framing ----------------------------------------------------------------------------------------------------
HEAD: Final = 0x9A
TAIL: Final = 0x9D
TYPE_SIZE: Final = 6
#: Head, type and the length byte.
HEADER_SIZE: Final = 1 + TYPE_SIZE + 1
#: Header, CRC (2) and tail: a frame is ``OVERHEAD + length`` bytes.
OVERHEAD: Final = HEADER_SIZE + 3
MAX_DATA: Final = 0xFF

BLE_PROFILE: Final = BleProfile(service_uuid=uuid16(0xFFF0), notify_uuid=uuid16(0xFFF1), write_uuid=uuid16(0xFFF2))


class FrameType(enum.IntEnum):
    """The 6-byte type field of a request (its reply repeats it), as an integer."""

    SYSTEM = 0x00000A000000  # every pack of a parallel bank, answered by the master (zeros from the others)
    PACK = 0x00000A010000  # one pack's values
    CELLS = 0x00000A020000  # one pack's cells and cell temperatures
    STATUS = 0x00000A030000  # one pack's protection / status / warning bytes
    VERSION = 0x000000010000  # software and hardware version texts of the connected pack
    SERIAL = 0x000000020000  # serial number of the connected pack


#: Types whose request names a pack: data ``[pack, PACK_REQUEST_COUNT]``.
PER_PACK: Final = frozenset({FrameType.PACK, FrameType.CELLS, FrameType.STATUS})
PACK_REQUEST_COUNT: Final = 0x01
#: Packs of a parallel bank are numbered from 1 (the pack one is connected to answers as 1); at most 15.
FIRST_PACK: Final = 1
MAX_PACKS: Final = 15
#: The first byte of every per-pack record in the captures (meaning unknown).
RECORD_LEAD: Final = 0x02

TEMP_OFFSET: Final = 2731
#: A temperature word of 0 means "no sensor" (cells without a sensor in 0x0A02; an unfitted MOSFET/ambient sensor).
NO_SENSOR: Final = 0

# --- 0x0A01 pack record (43 bytes) ------------------------------------------------------------------------------
PACK_RECORD: Final = (
    Field("lead", 0, 1),
    Field("current", 1, 2, signed=True, scale=0.01),
    Field("voltage", 3, 2, scale=0.01),
    Field("remaining_capacity", 5, 2, scale=0.01),
    Field("full_capacity", 7, 2, scale=0.01),
    Field("design_capacity", 9, 2, scale=0.01),
    Field("soc", 11, 1),
    Field("soh", 12, 1),
    Field("cycles", 13, 2),
    Field("reserved_15", 15, 4),
    Field("reserved_19", 19, 4),
    Field("unknown_23", 23, 2),
    Field("unknown_25", 25, 2),
    Field("temp_max_sensor", 27, 1),
    Field("temp_max", 28, 2),
    Field("temp_min_sensor", 30, 1),
    Field("temp_min", 31, 2),
    Field("mosfet_temp", 33, 2),
    Field("ambient_temp", 35, 2),
    Field("cell_max_number", 37, 1),
    Field("cell_max", 38, 2),
    Field("cell_min_number", 40, 1),
    Field("cell_min", 41, 2),
)
PACK_RECORD_SIZE: Final = 43
#: Fields kept in ``raw`` as they came (their meaning is not known).
PACK_UNKNOWN: Final = ("reserved_15", "reserved_19", "unknown_23", "unknown_25")

# --- 0x0A02 cell record (4 + 4 per cell) ------------------------------------------------------------------------
CELLS_HEAD: Final = (
    Field("lead", 0, 1),
    Field("voltage", 1, 2, scale=0.01),
    Field("cell_count", 3, 1),
)
CELLS_HEAD_SIZE: Final = 4
#: Per cell, from ``CELLS_HEAD_SIZE + 4 * (n - 1)``: its voltage and the temperature of its sensor (0: none).
CELL_ENTRY: Final = (Field("cell", 0, 2, scale=0.001), Field("temperature", 2, 2))
CELL_ENTRY_SIZE: Final = 4
MAX_CELLS: Final = 32

# --- 0x0A03 status record (13 bytes) ----------------------------------------------------------------------------
STATUS_RECORD: Final = (
    Field("lead", 0, 1),
    Field("protect_state_1", 1, 1),
    Field("protect_state_2", 2, 1),
    Field("instruction_state", 3, 1),
    Field("control_state", 4, 1),
    Field("fault_state", 5, 1),
    Field("balance_state_1", 6, 1),
    Field("balance_state_2", 7, 1),
    Field("warn_state_1", 8, 1),
    Field("warn_state_2", 9, 1),
    Field("reserved_10", 10, 2),
    Field("reserved_12", 12, 1),
)
STATUS_RECORD_SIZE: Final = 13
#: The status bytes decoded through PACE ASCII's bit tables (ControlState is kept as a number: its bits are not
#: established for PACEEX).
STATE_BYTES: Final[tuple[tuple[str, BitTable, Severity], ...]] = (
    ("protect_state_1", PROTECT_STATE_1, Severity.ALARM),
    ("protect_state_2", PROTECT_STATE_2, Severity.ALARM),
    ("instruction_state", INSTRUCTION_STATE, Severity.STATUS),
    ("fault_state", FAULT_STATE, Severity.ALARM),
    ("warn_state_1", WARN_STATE_1, Severity.WARNING),
    ("warn_state_2", WARN_STATE_2, Severity.WARNING),
)
STATUS_RAW: Final = ("control_state", "reserved_10", "reserved_12")

# --- 0x0A00 system record (51 bytes; the master's view of the bank) ---------------------------------------------
SYSTEM_RECORD: Final = (
    Field("pack_count", 0, 1),
    Field("current", 1, 4, signed=True, scale=0.01),
    Field("voltage", 5, 4, scale=0.01),
    Field("remaining_capacity", 9, 4, scale=0.01),
    Field("full_capacity", 13, 4, scale=0.01),
    Field("design_capacity", 17, 4, scale=0.01),
    Field("soc", 21, 1),
    Field("soh", 22, 1),
    Field("cycles", 23, 4),
    Field("reserved_27", 27, 4),
    Field("reserved_31", 31, 4),
    Field("cell_max_pack", 35, 1),
    Field("cell_max_number", 36, 1),
    Field("cell_max", 37, 2),
    Field("cell_min_pack", 39, 1),
    Field("cell_min_number", 40, 1),
    Field("cell_min", 41, 2),
    Field("temp_max_pack", 43, 1),
    Field("temp_max_sensor", 44, 1),
    Field("temp_max", 45, 2),
    Field("temp_min_pack", 47, 1),
    Field("temp_min_sensor", 48, 1),
    Field("temp_min", 49, 2),
)
SYSTEM_RECORD_SIZE: Final = 51

# --- device information -----------------------------------------------------------------------------------------
#: 0x000001 (version): a lead byte, then length-prefixed texts: software version, the long version text, hardware
#: version ("P16S100A-31916-1.06", "P16S100A-31916-1.06-001", "21939V140" in aiobmsble's test).
VERSION_TEXTS: Final = ("software_version", "version_text", "hardware_version")
VERSION_LEAD: Final = 1
#: 0x000002 (serial): one length-prefixed text.

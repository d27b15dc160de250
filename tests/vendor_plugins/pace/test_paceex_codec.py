"""PACEEX (PACE Bluetooth) codec against real frames.

Ground truth: the frames of aiobmsble's PACEEX test (patman15/aiobmsble, ``tests/bms/test_pace_bms.py``, the mock's
request → reply table, captured from a P16S100A pack) — written here as facts with that source — and the shared vector
``paceex_ble.json`` (read in place through ``tests/vectors.py``). The values asserted are the ones that test states
(53.01 V, -4.23 A, 74 %, 239 cycles, sixteen cells 3.310…3.308 V, temperatures 22.2/22.4/22.7/22.4 °C, serial
"123456789012Z", versions "P16S100A-31916-1.06" / "21939V140") and what the bytes of the same capture say where that
test does not decode them (the per-pack 0x0A01 record: -3.84 A, 53.02 V, 74.23 Ah; its extremes agree with the cell
record). The simulator must reproduce the captured replies byte for byte.
"""

from __future__ import annotations

import pytest

from tests.vectors import load_vectors
from vendor_plugins.errors import AddressError, BmsError, ChecksumError, FrameError
from vendor_plugins.framing import frames_from
from vendor_plugins.model import Alarm, BmsSnapshot, TemperatureKind
from vendor_plugins.pace import codec_paceex as codec
from vendor_plugins.pace import table as ascii_table
from vendor_plugins.pace import table_paceex as t
from vendor_plugins.pace.codec_bits import Flags
from vendor_plugins.pace.simulator_paceex import PaceexSimulator

#: aiobmsble tests/bms/test_pace_bms.py (MockPaceBleakClient._RESP): real replies of one P16S100A pack, and the
#: requests that asked for them ("REQ not in traces!" there for the version request: built, not captured).
REAL = {
    "version": "9a00000001000043001550313653313030412d33313931362d312e303600002050313653313030412d33313931362d"
    "312e30362d3030310000000000000000000a323139333956313430006ca79d",
    "system": "9a00000a0000003301fffffe59000014b500001ce800002710000027104a64000000ef000000000000000001080cef"
    "01100cec01030b8e01010b8999169d",
    "status": "9a00000a0300000d0200000e06000000000000000018ae9d",
    "serial": "9a0000000200000e0d3132333435363738393031325a7d7d9d",
    "pack": "9a00000a0100002b02fe8014b61cff271027104a6400ef000000000000000014d70000030b8e010b890b930b9c0a0cf0"
    "100ceca4b49d",
    "cells": "9a00000a020000440214b6100cee0b890cec0b8b0cee0b8e0cef0b8b0cef00000cee00000cef00000cef00000cef0000"
    "0cf000000cef00000cee00000cee00000cef00000cee00000cec000032a19d",
}
REAL_REQUESTS = {
    t.FrameType.SYSTEM: "9a00000a0000000019519d",
    t.FrameType.PACK: "9a00000a0100000201011b9c9d",
    t.FrameType.CELLS: "9a00000a020000020101289c9d",
    t.FrameType.STATUS: "9a00000a030000020101f99d9d",
    t.FrameType.VERSION: "9a00000001000000e4c89d",
    t.FrameType.SERIAL: "9a00000002000000a0c89d",
}
#: aiobmsble's invalid replies to the system request (its test_invalid_response): wrong SOF, CRC, length, type.
BROKEN_SYSTEM = {
    "wrong_SOF": "9000000a0000003301fffffe59000014b500001ce800002710000027104a64000000ef000000000000000001080cef"
    "01100cec01030b8e01010b8991369d",
    "wrong_CRC": "9a00000a0000003301fffffe59000014b500001ce800002710000027104a64000000ef000000000000000001080cef"
    "01100cec01030b8e01010b8999999d",
    "wrong_len": "9a00000a0000003301fffffe59000014b500001ce800002710000027104a64000000ef000000000000000001080cef"
    "01100cec01030b8e01010b890016119d",
}
CELLS_MV = (3310, 3308, 3310, 3311, 3311, 3310, 3311, 3311, 3311, 3312, 3311, 3310, 3310, 3311, 3310, 3308)


def data(name: str) -> bytes:
    return codec.parse_frame(bytes.fromhex(REAL[name])).payload


def real_snapshot() -> BmsSnapshot:
    return codec.to_snapshot(
        codec.decode_pack(data("pack")), codec.decode_cells(data("cells")), codec.decode_status(data("status"))
    )


@pytest.mark.parametrize("frame_type", list(REAL_REQUESTS))
def test_requests_are_the_captured_bytes(frame_type: t.FrameType) -> None:
    assert codec.build_request(frame_type, 1).hex() == REAL_REQUESTS[frame_type]


@pytest.mark.parametrize("name", list(REAL))
def test_every_real_reply_parses_with_its_type(name: str) -> None:
    frame = codec.parse_frame(bytes.fromhex(REAL[name]))
    expected = {"system": "SYSTEM", "pack": "PACK", "cells": "CELLS", "status": "STATUS"}.get(name, name.upper())
    assert frame.command == t.FrameType[expected]


def test_pack_cells_and_status_records_decode_the_capture() -> None:
    snap = real_snapshot()
    assert snap.voltage == 53.02
    assert snap.current == -3.84
    assert (snap.remaining_capacity, snap.full_capacity, snap.design_capacity) == (74.23, 100.0, 100.0)
    assert (snap.soc, snap.soh, snap.cycles) == (74.0, 100.0, 239)
    assert snap.cell_voltages == tuple(mv / 1000 for mv in CELLS_MV)
    temps = {x.name: (x.kind, x.celsius) for x in snap.temperatures}
    assert temps == {
        "cell_1": (TemperatureKind.CELL, 22.2),
        "cell_2": (TemperatureKind.CELL, 22.4),
        "cell_3": (TemperatureKind.CELL, 22.7),
        "cell_4": (TemperatureKind.CELL, 22.4),
        "mosfet": (TemperatureKind.MOSFET, 23.2),
        "ambient": (TemperatureKind.AMBIENT, 24.1),
    }
    # Cells 5-16 carry a temperature word of 0: no sensor there, never a -273.1 °C reading.
    assert (snap.charge_mosfet, snap.discharge_mosfet) == (True, True)
    assert snap.alarms == snap.warnings == frozenset()
    assert snap.balancing == frozenset()
    assert snap.raw["discharging"] == 1 and snap.raw["control_state"] == 6


def test_the_pack_record_extremes_agree_with_the_cell_record() -> None:
    pack, cells = codec.decode_pack(data("pack")), codec.decode_cells(data("cells"))
    assert (pack.raw["cell_max_number"], pack.raw["cell_max"]) == (10, 3312)
    assert cells.cells[10 - 1] == max(cells.cells) == 3.312
    assert (pack.raw["cell_min_number"], pack.raw["cell_min"]) == (16, 3308)
    assert cells.cells[16 - 1] == min(cells.cells) == 3.308
    assert (pack.raw["temp_max_sensor"], pack.raw["temp_max"]) == (3, cells.cell_temps[2])
    assert (pack.raw["temp_min_sensor"], pack.raw["temp_min"]) == (1, cells.cell_temps[0])
    assert cells.voltage == pack.value("voltage") == 53.02


def test_system_record_decodes_as_aiobmsble_states() -> None:
    system = codec.decode_system(data("system"))
    assert system["pack_count"] == 1
    assert system["current"] / 100 == -4.23 and system["voltage"] / 100 == 53.01
    assert (system["soc"], system["soh"], system["cycles"]) == (74, 100, 239)
    assert system["remaining_capacity"] / 100 == 74.0 and system["design_capacity"] / 100 == 100.0
    assert (system["cell_max_pack"], system["cell_max_number"], system["cell_max"]) == (1, 8, 3311)
    assert (system["temp_min_pack"], system["temp_min_sensor"], system["temp_min"]) == (1, 1, 2953)


def test_device_texts() -> None:
    assert codec.decode_texts(data("version"), 3, t.VERSION_LEAD) == (
        "P16S100A-31916-1.06",
        "P16S100A-31916-1.06-001",
        "21939V140",
    )
    assert codec.decode_texts(data("serial"), 1) == ("123456789012Z",)


@pytest.mark.parametrize("name", list(BROKEN_SYSTEM))
def test_aiobmsble_broken_replies_never_decode(name: str) -> None:
    raw = bytes.fromhex(BROKEN_SYSTEM[name])
    with pytest.raises((FrameError, ChecksumError)):
        codec.parse_frame(raw)
    assert frames_from(codec.PaceexAssembler(), raw) == []


def test_a_reply_of_another_type_is_not_the_answer() -> None:
    """aiobmsble's "wrong_response": a valid frame of type 0x000000 in reply to the system request."""
    raw = bytes.fromhex(
        "9a0000000000003301fffffe59000014b500001ce800002710000027104a64000000ef000000000000000001080cef"
        "01100cec01030b8e01010b89593d9d"
    )
    assert codec.parse_frame(raw).command != t.FrameType.SYSTEM


def test_all_zero_records_are_no_pack() -> None:
    """A pack that is not the master answers the bank query with a valid frame of zeros (aiobmsble PR #259)."""
    assert codec.decode_system(bytes(t.SYSTEM_RECORD_SIZE))["pack_count"] == 0
    for decode, size in (
        (codec.decode_pack, t.PACK_RECORD_SIZE),
        (codec.decode_cells, t.CELLS_HEAD_SIZE),
        (codec.decode_status, t.STATUS_RECORD_SIZE),
    ):
        with pytest.raises(AddressError):
            decode(bytes(size), 2)


def test_records_of_another_length_are_not_these_records() -> None:
    # The captured 0A01 and 0A03 records are exactly their layouts (43 and 13 bytes): a longer one is something else.
    assert (len(data("pack")), len(data("status"))) == (t.PACK_RECORD_SIZE, t.STATUS_RECORD_SIZE)
    with pytest.raises(FrameError):
        codec.decode_pack(data("pack") + b"\x00")
    with pytest.raises(FrameError):
        codec.decode_status(data("status") + b"\x00")
    with pytest.raises(FrameError):
        codec.decode_status(data("status")[:-1])


def test_short_and_inconsistent_records_raise() -> None:
    with pytest.raises(FrameError):
        codec.decode_pack(data("pack")[:-1])
    with pytest.raises(FrameError):
        codec.decode_cells(data("cells")[:-4])  # 15 entries for 16 cells
    with pytest.raises(FrameError):
        codec.to_snapshot(  # a 16-cell pack record next to a 4-cell record: not the same pack
            codec.decode_pack(data("pack")),
            codec.decode_cells(data("cells")[: t.CELLS_HEAD_SIZE - 1] + b"\x04" + data("cells")[4:20]),
            codec.decode_status(data("status")),
        )


def test_status_bits_use_the_pace_ascii_names() -> None:
    status = bytearray(data("status"))
    status[1] = 0x01  # ProtectState1 bit 0: cell overvoltage protection
    status[5] = 0x04  # FaultState bit 2: NTC fault
    status[8] = 0x20  # WarnState1 bit 5: discharge overcurrent warning
    status[6], status[7] = 0x81, 0x01  # balancing cells 1, 8 and 9
    snap = codec.to_snapshot(
        codec.decode_pack(data("pack")), codec.decode_cells(data("cells")), codec.decode_status(bytes(status))
    )
    assert snap.alarms == {Alarm.CELL_OVERVOLTAGE, Alarm.TEMP_SENSOR_FAULT}
    assert snap.warnings == {Alarm.DISCHARGE_OVERCURRENT}
    assert snap.balancing == {1, 8, 9}


def test_simulator_reproduces_the_captured_replies_byte_for_byte() -> None:
    sim = PaceexSimulator.from_frames(*(bytes.fromhex(REAL[n]) for n in ("pack", "cells", "status")))
    for frame_type, name in ((t.FrameType.PACK, "pack"), (t.FrameType.CELLS, "cells"), (t.FrameType.STATUS, "status")):
        assert (sim.handle(codec.build_request(frame_type, 1)) or b"").hex() == REAL[name]
    sim.software_version, sim.version_text, sim.hardware_version = (
        "P16S100A-31916-1.06",
        "P16S100A-31916-1.06-001",
        "21939V140",
    )
    sim.serial_number = "123456789012Z"
    assert (sim.handle(codec.build_request(t.FrameType.VERSION)) or b"").hex() == REAL["version"]
    assert (sim.handle(codec.build_request(t.FrameType.SERIAL)) or b"").hex() == REAL["serial"]


def test_shared_vectors() -> None:
    """Every entry of ../shared/protocols/vectors/paceex_ble.json: request rebuilt, response decoded as stated."""
    checked = 0
    for entry in load_vectors("paceex_ble"):
        request = bytes.fromhex(entry["request_hex"])
        frame_type = t.FrameType(codec.parse_frame(request).command)
        assert codec.build_request(frame_type, 1) == request
        reply = codec.parse_frame(bytes.fromhex(entry["response_hex"]))
        assert reply.command == frame_type == t.FrameType.SYSTEM
        system = codec.decode_system(reply.payload)
        expected = entry["expected"]
        assert system["voltage"] / 100 == expected["voltage"]
        assert system["current"] / 100 == expected["current"]  # + = charging in the source too: no flip
        assert system["soc"] == expected["battery_level"]
        assert system["cycles"] == expected["cycles"]
        checked += 1
    assert checked >= 1


def test_every_truncated_real_frame_is_refused() -> None:
    refused = 0
    for raw_hex in REAL.values():
        raw = bytes.fromhex(raw_hex)
        for cut in range(len(raw)):
            with pytest.raises(BmsError):
                codec.parse_frame(raw[:cut])
            refused += 1
    assert refused == sum(len(x) // 2 for x in REAL.values())


@pytest.mark.parametrize(("name", "bit"), [(name, bit) for name, _, _ in t.STATE_BYTES for bit in range(8)])
def test_every_status_bit_means_what_it_means_in_pace_ascii(name: str, bit: int) -> None:
    """A PACEEX status bit raises the same alarm / warning / raw name as the same bit of PACE ASCII's 0x44 answer."""
    ascii_tables = {n: (table, severity) for n, table, severity in ascii_table.STATE_BYTES}
    status = bytearray(t.STATUS_RECORD_SIZE)
    status[0] = t.RECORD_LEAD
    status[next(f.offset for f in t.STATUS_RECORD if f.name == name)] = 1 << bit
    got = codec.status_flags(codec.decode_status(bytes(status)))
    expected = Flags()
    expected.add(1 << bit, *ascii_tables[name])
    assert (got.alarms, got.warnings, got.raw) == (expected.alarms, expected.warnings, expected.raw)

"""The Daren variant of JBD (``DWF…`` boards) against real replies, and the simulator reproducing them byte for byte.

Source of the frames: two real Daren boards' replies published with aiobmsble's Daren support (pull request
https://github.com/patman15/aiobmsble/pull/278, file tests/bms/test_daren_bms.py at commit
018dd319b8f83194d2aca585cf4b966410135cca), with the values the vendor app showed (52.42 V, -13.2 A, 301 cycles).
Board A fills the basic-info words; board B leaves current and capacities at 0xFFFF and sends them after the NTCs.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vendor_plugins.errors import FrameError
from vendor_plugins.jbd import codec, codec_daren
from vendor_plugins.jbd import table as t
from vendor_plugins.jbd.plugin import PLUGIN
from vendor_plugins.jbd.simulator import JbdSimulator, JbdState, daren_state
from vendor_plugins.model import TemperatureKind
from vendor_plugins.plugin import SessionOptions, SimulatorOptions
from vendor_plugins.sim.ble import FakeBleClient
from vendor_plugins.transports import BleLink

_TEXT_A = (
    ("444a4d32353032323631333431" + "00" * 17) * 3
    + "190304"
    + "4452"
    + "00" * 18
    + "56322e3231"
    + "00" * 5
    + ("44525f53544430355f3136533230304a4332365f56312e352e345f5432" + "00" * 21)
    + "44522d5749464930325f56312e322e37"
    + "00" * 4
)
_TEXT_B = (
    ("444a4d32343132323530323939" + "00" * 17) * 3
    + "180c1f"
    + "4452"
    + "00" * 18
    + "56322e3231"
    + "00" * 5
    + ("44525f595030315f3136533230304a4332365f56312e302e325f5431" + "00" * 22)
    + "44522d5749464930325f56312e342e3131"
    + "00" * 3
)

#: Board A (basic-info words filled, 8 bytes after the NTCs).
A_BASIC = bytes.fromhex("dd0300271485000041017eb900d6000000000000000000330310040bc90bcd0bcb0bce0baf0bca63000000f75a77")
A_CELLS = bytes.fromhex("dd0400200ccb0cca0cca0ccb0cca0cca0cca0ccb0ccc0ccc0ccb0cca0ccb0ccb0ccc0ccaf27477")
A_INFO = bytes.fromhex("dd0800c1" + _TEXT_A + "e97d77")
#: Board B (current and capacities 0xFFFF, 16 bytes after the NTCs), discharging at 13.2 A.
B_BASIC = bytes.fromhex(
    "dd03002f147affffffffffff012d0000000000000000002f0b10040bb60bb70bb90bbb0bab0bc26300000005900bb8ffffff7cef0977"
)
B_CELLS = bytes.fromhex("dd0400200ccc0ccc0ccd0ccd0ccd0ccd0ccd0cca0ccc0ccc0ccb0ccd0ccc0ccd0ccc0cccf25c77")
B_INFO = bytes.fromhex("dd0800c1" + _TEXT_B + "e95d77")
#: Both boards answer register 0x05 with the error status.
HARDWARE_REFUSED = bytes.fromhex("dd058000ff8077")


def _payload(frame: bytes) -> bytes:
    return codec.parse_frame(frame).payload


def test_the_frames_are_intact() -> None:
    """Checksums and lengths of every captured frame hold."""
    for frame in (A_BASIC, A_CELLS, A_INFO, B_BASIC, B_CELLS, B_INFO, HARDWARE_REFUSED):
        codec.parse_frame(frame)


def test_board_b_decodes_the_extension_not_the_unset_words() -> None:
    """-13.2 A, 142.4 of 300 Ah, SoH 99 %, MOSFET 25.6 °C and ambient 27.9 °C; never -0.01 A or 655.35 Ah."""
    basic = codec.decode_basic(_payload(B_BASIC))
    assert basic.family == "daren"
    snap = codec.to_snapshot(basic, codec.decode_cells(_payload(B_CELLS)))
    assert snap.voltage == 52.42
    assert snap.current == -13.2
    assert snap.remaining_capacity == 142.4
    assert snap.design_capacity == 300.0
    assert snap.soh == 99.0
    assert snap.soc == 47.0
    assert snap.cycles == 301
    assert snap.power == pytest.approx(-691.944)
    assert [(x.kind, x.celsius) for x in snap.temperatures] == [
        *((TemperatureKind.CELL, c) for c in (26.7, 26.8, 27.0, 27.2)),
        (TemperatureKind.MOSFET, 25.6),
        (TemperatureKind.AMBIENT, 27.9),
    ]
    assert len(snap.cell_voltages) == 16 and min(snap.cell_voltages) == 3.274 and max(snap.cell_voltages) == 3.277
    assert snap.raw["variant"] == "daren"
    assert snap.current != -0.01 and 655.35 not in (snap.remaining_capacity, snap.design_capacity)


def test_board_a_is_plain_jbd() -> None:
    """Board A's words are real values: read as JBD (its 8 trailing bytes stay undecoded)."""
    basic = codec.decode_basic(_payload(A_BASIC))
    assert basic.family == "jbd" and basic.daren is None
    snap = codec.to_snapshot(basic, codec.decode_cells(_payload(A_CELLS)))
    assert (snap.voltage, snap.current, snap.remaining_capacity, snap.design_capacity) == (52.53, 0.0, 166.41, 324.41)
    assert (snap.cycles, snap.soc) == (214, 51.0)
    assert [x.celsius for x in snap.temperatures] == [28.6, 29.0, 28.8, 29.1]
    assert basic.extension == bytes.fromhex("0baf0bca63000000")


def test_the_marker_without_the_extension_is_refused() -> None:
    """Unset words and no extension: no current or capacity exists, so the reply is refused, not shown as 0xFFFF."""
    truncated = _payload(B_BASIC)[: t.BASIC_FIXED_SIZE + 8]
    with pytest.raises(FrameError, match="0xFFFF"):
        codec.decode_basic(truncated)
    with pytest.raises(FrameError, match="Daren extension"):
        codec.decode_basic(truncated + bytes(5))


def test_register_08_describes_the_board() -> None:
    """Production code, date, hardware and software versions."""
    info = codec_daren.decode_info(_payload(A_INFO))
    assert info.texts["production_code"] == "DJM2502261341"
    assert info.manufacture_date == dt.date(2025, 3, 4)
    assert info.texts["hardware"] == "V2.21"
    assert info.texts["software"] == "DR_STD05_16S200JC26_V1.5.4_T2"
    assert info.texts["module"] == "DR-WIFI02_V1.2.7"
    device = codec.to_device_info(codec.decode_basic(_payload(A_BASIC)), None, info)
    assert (device.vendor, device.serial_number, device.model) == ("Daren", "DJM2502261341", "DR_STD05_16S200JC26")


@pytest.mark.parametrize(
    ("basic", "cells", "info"), [(A_BASIC, A_CELLS, A_INFO), (B_BASIC, B_CELLS, B_INFO)], ids=["board-a", "board-b"]
)
def test_simulator_replays_the_real_replies_byte_for_byte(basic: bytes, cells: bytes, info: bytes) -> None:
    """A state built from a capture answers every request with the very bytes the board sent."""
    state = JbdState.from_frames(
        codec.decode_basic(_payload(basic)),
        codec.decode_cells(_payload(cells)),
        model=None,
        daren_info=codec_daren.decode_info(_payload(info)),
    )
    sim = JbdSimulator(state)
    assert sim.handle(codec.build_read(t.REG_BASIC)) == basic
    assert sim.handle(codec.build_read(t.REG_CELLS)) == cells
    assert sim.handle(codec.build_read(t.REG_HARDWARE)) == HARDWARE_REFUSED
    assert sim.handle(codec.build_read(t.REG_DAREN_INFO)) == info


def test_the_daren_family_simulator_is_board_b() -> None:
    """``--family daren`` simulates board B exactly as captured."""
    sim = PLUGIN.create_simulator(SimulatorOptions(family="daren", profile="static"))
    assert sim.handle(codec.build_read(t.REG_BASIC)) == B_BASIC
    assert sim.handle(codec.build_read(t.REG_CELLS)) == B_CELLS
    assert sim.handle(codec.build_read(t.REG_HARDWARE)) == HARDWARE_REFUSED
    assert sim.handle(codec.build_read(t.REG_DAREN_INFO)) == B_INFO


async def test_session_over_fake_ble_reads_a_daren_pack() -> None:
    """Over 20-byte notifications: the snapshot from the extension, the family and device info from 0x08."""
    sim = JbdSimulator(daren_state())
    link = BleLink("3C:8A:1F:00:00:01", t.BLE_PROFILE, client_factory=lambda: FakeBleClient(sim, t.BLE_PROFILE))
    try:
        session = PLUGIN.open_session(link, SessionOptions())
        snap = await session.read()
        assert (snap.current, snap.remaining_capacity, snap.soh) == (-13.2, 142.4, 99.0)
        assert session.family == "daren"
        info = await session.device_info()
    finally:
        await link.close()
    assert (info.vendor, info.family, info.serial_number) == ("Daren", "daren", "DJM2412250299")
    assert info.manufacture_date == dt.date(2024, 12, 31)
    assert info.hardware_version == "V2.21" and info.cell_count == 16


@given(
    current=st.integers(-(2**31), 2**31 - 1),
    remaining=st.integers(0, 0xFFFF),
    design=st.integers(0, 0xFFFF),
    soh=st.integers(0, 255),
    temps=st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)),
    reserved=st.binary(min_size=3, max_size=3),
)
def test_extension_round_trips(
    current: int, remaining: int, design: int, soh: int, temps: tuple[int, int], reserved: bytes
) -> None:
    """Decode then encode gives the same 16 bytes for every raw content."""
    raw = (
        temps[0].to_bytes(2, "big")
        + temps[1].to_bytes(2, "big")
        + bytes((soh,))
        + reserved
        + remaining.to_bytes(2, "big")
        + design.to_bytes(2, "big")
        + current.to_bytes(4, "big", signed=True)
    )
    assert codec_daren.encode_extension(codec_daren.decode_extension(raw)) == raw


async def test_board_a_reads_as_jbd_and_describes_itself_in_register_08() -> None:
    """Board A refuses 0x05 like every Daren board: device info comes from 0x08, the protocol family stays jbd."""
    state = JbdState.from_frames(
        codec.decode_basic(_payload(A_BASIC)),
        codec.decode_cells(_payload(A_CELLS)),
        model=None,
        daren_info=codec_daren.decode_info(_payload(A_INFO)),
    )
    sim = JbdSimulator(state)
    link = BleLink("3C:8A:1F:00:00:02", t.BLE_PROFILE, client_factory=lambda: FakeBleClient(sim, t.BLE_PROFILE))
    try:
        session = PLUGIN.open_session(link, SessionOptions())
        snap = await session.read()
        info = await session.device_info()
    finally:
        await link.close()
    assert (snap.current, snap.remaining_capacity, snap.soh) == (0.0, 166.41, None)
    assert (info.vendor, info.family, info.serial_number) == ("Daren", "jbd", "DJM2502261341")
    assert info.manufacture_date == dt.date(2025, 3, 4) and info.software_version == "DR_STD05_16S200JC26_V1.5.4_T2"

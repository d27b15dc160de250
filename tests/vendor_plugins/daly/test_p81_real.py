"""DALY P81 against real replies: absent sensors (0x00FF) never surface as 215 °C; the serial number and date.

Sources (facts, frames re-typed from the published hex; each checksum verifies):

* ``RT1``/``RT2``: a "Daly 100 balance" P81 unit in https://github.com/patman15/BMS_BLE-HA/issues/806 (nRF log,
  fff1 notifications): 4 cells, 12.9 V, -3.7 A; its temperature registers, board temperature and max/min
  temperature registers all read 0x00FF while it declares 2 sensors.
* ``VERSION``: the version block (74 registers from 0x178) of an ESS-DL-BMS, syssi/esphome-daly-bms @ ba082a19,
  docs/pdus/ess-dl-bms-41_260321_0323.txt (a real capture; the shared vector of it is zero-padded).
"""

from __future__ import annotations

import datetime as dt

from vendor_plugins.daly import codec_d2 as d2
from vendor_plugins.daly import table as t
from vendor_plugins.daly.plugin import PLUGIN
from vendor_plugins.daly.simulator import ModbusSimulator
from vendor_plugins.daly.simulator_state import DalyState
from vendor_plugins.model import TemperatureKind
from vendor_plugins.plugin import SessionOptions
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import TcpLink

RT1 = bytes.fromhex(
    "510380" + "0cb80c790c890cbe" + "0000" * 44 + "00ff" * 8 + "0081750b00590076000400020cbe0004" + "6588"
)
RT2 = bytes.fromhex(
    "51037c0002004500ff000000ff0000000000020000000000a0000000007530000000000000000100010000000000000ca000"
    "2b0000004500ff000000000000000075301a0604083a13bf1c00000000000000000000753000300059000000000000000200"
    "008000000075300b7dfffefff500007ff9ffffffffffffffff000225dc"
)
VERSION = bytes.fromhex(
    "51039434315f3236303332315f303332334553532d444c2d424d530000000045535334315f30333233000000003231304c43"
    "3231303930303030350000000000000000000020202020323032363033323600000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000000000000000ffffffffffffffffffffffffff"
    "ffd815"
)


def _payload(frame: bytes) -> bytes:
    return d2.parse_frame(frame).payload


def test_absent_sensors_are_absent_not_215_degrees() -> None:
    """Every 0x00FF temperature is left out: only the MOSFET sensor (29 °C) is a reading."""
    block = d2.decode_status("p81", d2.p81_image(_payload(RT1), _payload(RT2)))
    assert block.values["temp_count"] == 2 and block.temps_raw == (0x00FF, 0x00FF)
    assert block.values["board_temp"] == 0x00FF and block.values["temp_max"] == 0x00FF
    snap = d2.to_snapshot(block)
    assert [(x.name, x.kind, x.celsius) for x in snap.temperatures] == [("mosfet", TemperatureKind.MOSFET, 29.0)]
    assert "temp_max_c" not in snap.raw and "temp_min_c" not in snap.raw
    assert snap.raw["temperature_sensors_absent"] == "cell_1,cell_2"
    assert 215 not in snap.raw.values()
    assert (snap.voltage, snap.current, snap.soc) == (12.9, -3.7, 8.9)
    assert snap.cell_voltages == (3.256, 3.193, 3.209, 3.262)


def test_version_block_carries_the_serial_number_and_production_date() -> None:
    """Software, hardware, machine code (the serial number) and production date."""
    version = d2.decode_version("p81", _payload(VERSION))
    assert version == {
        "software": "41_260321_0323ESS-DL-BMS",
        "hardware": "ESS41_0323",
        "machine_code": "210LC210900005",
        "production_date": "20260326",
    }
    info = d2.to_device_info("p81", version, 16)
    assert info.serial_number == "210LC210900005"
    assert info.manufacture_date == dt.date(2026, 3, 26)


def _version_state() -> DalyState:
    """A state whose P81 version block is the captured one, byte for byte (its 0xFFFF tail included)."""
    tail = t.P81_VERSION_START + t.P81_VERSION_REGS - 7
    return DalyState(
        software_version="41_260321_0323ESS-DL-BMS",
        hardware_version="ESS41_0323",
        machine_code="210LC210900005",
        production_date="    20260326",
        p81_extra={tail + i: 0xFFFF for i in range(7)},
    )


def test_simulator_answers_the_captured_version_block() -> None:
    sim = ModbusSimulator(_version_state(), family="p81")
    request = d2.build_read(t.P81_REQUEST_DEVICE, t.P81_VERSION_START, t.P81_VERSION_REGS)
    assert request == bytes.fromhex("81030178004a5a18")  # the request of the capture
    assert sim.handle(request) == VERSION


async def test_session_device_info_has_the_serial_number() -> None:
    """Over a real socket: the P81 session's device info carries the serial number and the production date."""
    sim = ModbusSimulator(_version_state(), family="p81")
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=1.0) as link:
        info = await PLUGIN.open_session(link, SessionOptions(family="p81")).device_info()
    assert (info.family, info.serial_number) == ("p81", "210LC210900005")
    assert info.manufacture_date == dt.date(2026, 3, 26)
    assert info.software_version == "41_260321_0323ESS-DL-BMS"

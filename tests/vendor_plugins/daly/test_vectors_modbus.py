"""Every vector of ../shared/protocols/vectors/daly_ble_modbus.json (D2 and P81), checked against its source.

Each vector is classified once (``kind_of``) so none is silently skipped. Status frames are decoded into a snapshot
and every stated value (``expected`` and ``decoded_here``) is compared through ``KEY_MAP``; requests the product
sends are rebuilt byte for byte; the one corrupted real notification is rejected and never decoded.

Conventions: these sources state current with **+ = charging**, as the model does (no flip) — the real captures
prove it (``test_current_sign_is_charge_positive_as_the_real_captures_show``). Where a source reports a value the
unit computes (highest/lowest cell, delta, average), it is compared with the unit's own register, kept in ``raw``;
the model derives ``cell_min``/``cell_max``/``cell_delta`` from the cell list itself. esphome's "charging" /
"discharging" binary sensors are the MOSFET states. A stated -40 °C for an unpopulated sensor register (raw 0)
means "no sensor": the snapshot has no such temperature.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.vectors import load_vectors, vector, vector_ids
from vendor_plugins.daly import codec_d2 as d2
from vendor_plugins.daly import codec_faults as faults
from vendor_plugins.daly import table as t
from vendor_plugins.errors import ChecksumError
from vendor_plugins.fields import unpack
from vendor_plugins.framing import Frame
from vendor_plugins.model import Alarm

FILE = "daly_ble_modbus"
IDS = vector_ids(FILE)

#: Requests the product sends: hex -> what for.
PRODUCT_REQUESTS = {
    d2.build_read(t.D2_DEVICE, t.D2_STATUS_START, t.D2_STATUS_REGS).hex(): "D2 status, 62 registers (probe)",
    d2.build_read(t.D2_DEVICE, t.D2_STATUS_START, t.D2_STATUS_REGS_EXTENDED).hex(): "D2 status, 80 registers",
    d2.build_read(t.D2_DEVICE, t.D2_VERSION_START, t.D2_VERSION_REGS).hex(): "D2 version",
    d2.build_read(t.P81_REQUEST_DEVICE, t.P81_RT1_START, t.P81_RT1_REGS).hex(): "P81 RT1 (also the probe)",
    d2.build_read(t.P81_REQUEST_DEVICE, t.P81_RT2_START, t.P81_RT2_REGS).hex(): "P81 RT2",
    d2.build_read(t.P81_REQUEST_DEVICE, t.P81_VERSION_START, t.P81_VERSION_REGS).hex(): "P81 version",
}

#: esphome-daly-bms' alarm texts -> (which set, alarm). Its "MOS over-temperature warning" is an unlevelled fault
#: bit (legacy byte 4), which the model reports as an alarm.
ESPHOME_ALARM_TEXTS = {
    "Warning: Charging temperature too high": ("warnings", Alarm.CHARGE_OVERTEMP),
    "Warning: Cell voltage too high": ("warnings", Alarm.CELL_OVERVOLTAGE),
    "Warning: Voltage difference too high": ("warnings", Alarm.CELL_IMBALANCE),
    "Warning: Charging current too high": ("warnings", Alarm.CHARGE_OVERCURRENT),
    "AFE acquisition chip failure": ("alarms", Alarm.FRONTEND_ERROR),
    "Charging MOS over-temperature warning": ("alarms", Alarm.MOSFET_OVERTEMP),
    "Critical: Temperature difference too high": ("alarms", Alarm.TEMP_DIFFERENCE),
    "Warning: Temperature difference too high": ("warnings", Alarm.TEMP_DIFFERENCE),
}
#: decoded_here's flag spellings -> this codec's bit names.
FLAG_NAMES = {
    "chg_temp_high_l1": "charge_overtemp_l1",
    "cell_volt_high_l1": "cell_overvoltage_l1",
    "diff_volt_l1": "cell_voltage_difference_l1",
    "chg_overcurrent_l1": "charge_overcurrent_l1",
    "afe_collect_chip_err": "frontend_chip_fault",
    "chg_mos_temp_high": "charge_mosfet_overtemp",
    "diff_temp_l1": "temp_difference_l1",
    "diff_temp_l2": "temp_difference_l2",
}


@dataclass
class Decoded:
    """A status image decoded: the block, the register image, and the snapshot as JSON."""

    block: d2.StatusBlock
    image: bytes
    snap: dict[str, Any]

    def temp(self, kind: str) -> float | None:
        found = [x["celsius"] for x in self.snap["temperatures"] if x["kind"] == kind]
        return found[0] if found else None

    def cell_temps(self) -> list[float]:
        return [x["celsius"] for x in self.snap["temperatures"] if x["kind"] == "cell"]


def _sensor(stated: float) -> float | None:
    """-40 °C is what a blind decode of an unpopulated register (raw 0) gives: no sensor."""
    return None if stated == -t.TEMP_OFFSET else float(stated)


def _flag(value: Any) -> Callable[[Any], Any]:
    return bool if isinstance(value, bool) else int


def _same(ours: Any, stated: Any) -> bool:
    """Booleans compare as truth values, anything else as numbers/lists (approximately)."""
    if isinstance(stated, bool):
        return bool(ours) is stated
    if stated is None or isinstance(stated, (str, set, dict)):
        return bool(ours == stated)
    return bool(ours == pytest.approx(stated))


def _fault_value(d: Decoded) -> int:
    return int(d.snap["raw"]["fault_registers"], 16)


def _fault_names(d: Decoded) -> set[str]:
    text = d.snap["raw"].get("fault_bits", "")
    return set(text.split(",")) if text else set()


def _alarm_sets(text: str) -> dict[str, set[str]]:
    wanted: dict[str, set[str]] = {"alarms": set(), "warnings": set()}
    for part in text.split(";"):
        which, alarm = ESPHOME_ALARM_TEXTS[part]
        wanted[which].add(str(alarm))
    return wanted


#: Source spelling -> (what we decoded, how the stated value converts to it).
KEY_MAP: dict[str, tuple[Callable[[Decoded], Any], Callable[[Any], Any]]] = {
    "voltage": (lambda d: d.snap["voltage"], float),
    "voltage_V": (lambda d: d.snap["voltage"], float),
    "total_voltage_V": (lambda d: d.snap["voltage"], float),
    "current": (lambda d: d.snap["current"], float),  # + = charging in source and model alike
    "current_A": (lambda d: d.snap["current"], float),
    "current_raw": (lambda d: d.block.values["current"], int),
    "battery_level": (lambda d: d.snap["soc"], float),
    "soc_pct": (lambda d: d.snap["soc"], float),
    "cycles": (lambda d: d.snap["cycles"], int),
    "cycle_charge": (lambda d: d.snap["remaining_capacity"], float),
    "capacity_remaining_Ah": (lambda d: d.snap["remaining_capacity"], float),
    "remaining_Ah": (lambda d: d.snap["remaining_capacity"], float),
    "cell_voltages": (lambda d: d.snap["cell_voltages"], list),
    "cells_V": (lambda d: d.snap["cell_voltages"], list),
    "cell_mV": (lambda d: [round(v * 1000) for v in d.snap["cell_voltages"]], list),
    "cell1_V": (lambda d: d.snap["cell_voltages"][0], float),
    "cell7_V": (lambda d: d.snap["cell_voltages"][6], float),
    "cell11_V": (lambda d: d.snap["cell_voltages"][10], float),
    "cell16_V": (lambda d: d.snap["cell_voltages"][15], float),
    "cell_count": (lambda d: len(d.snap["cell_voltages"]), int),
    "temp_sensors": (lambda d: len(d.cell_temps()), int),
    "temp_sensor_count": (lambda d: len(d.cell_temps()), int),
    "temps_C": (lambda d: d.cell_temps(), list),
    "temp_values_without_mos": (lambda d: d.cell_temps(), list),
    "mos_temp_C": (lambda d: d.temp("mosfet"), _sensor),
    "mosfet_temp_C": (lambda d: d.temp("mosfet"), _sensor),
    "board_temp_C": (lambda d: d.temp("board"), _sensor),
    "max_temp_C": (lambda d: d.snap["raw"]["temp_max_c"], float),
    "min_temp_C": (lambda d: d.snap["raw"]["temp_min_c"], float),
    "max_temp_probe": (lambda d: d.snap["raw"]["temp_max_no"], int),
    "min_temp_probe": (lambda d: d.snap["raw"]["temp_min_no"], int),
    "max_cell_mV": (lambda d: d.snap["raw"]["cell_max_mv"], int),  # the unit's own register
    "min_cell_mV": (lambda d: d.snap["raw"]["cell_min_mv"], int),
    "max_cell_no": (lambda d: d.snap["raw"]["cell_max_no"], int),
    "max_cell_V": (lambda d: d.snap["cell_max"], float),  # P81: also what the model derives from the cells
    "min_cell_V": (lambda d: d.snap["cell_min"], float),
    "delta_V": (lambda d: d.snap["cell_delta"], float),
    "delta_voltage": (lambda d: d.snap["raw"]["cell_delta_mv"] / 1000, float),  # the unit's register
    "delta_cell_V": (lambda d: d.snap["raw"]["cell_delta_mv"] / 1000, float),
    "delta_cell_mV": (lambda d: d.snap["raw"]["cell_delta_mv"], int),
    "avg_cell_mV": (lambda d: d.snap["raw"]["cell_average_mv"], int),
    "status": (lambda d: d.snap["raw"]["charge_state"], str.lower),
    "balancer": (lambda d: d.snap["raw"]["balancer_state"], lambda v: v),
    "balancing": (lambda d: d.snap["raw"]["balancer_state"] != 0, bool),
    "chrg_mosfet": (lambda d: d.snap["charge_mosfet"], bool),
    "dischrg_mosfet": (lambda d: d.snap["discharge_mosfet"], bool),
    "chg_mos": (lambda d: d.snap["charge_mosfet"], bool),
    "dsg_mos": (lambda d: d.snap["discharge_mosfet"], bool),
    "charging": (lambda d: d.snap["charge_mosfet"], bool),  # esphome's binary sensor = MOSFET state
    "discharging": (lambda d: d.snap["discharge_mosfet"], bool),
    "charging_mosfet": (lambda d: d.snap["charge_mosfet"], bool),
    "discharging_mosfet": (lambda d: d.snap["discharge_mosfet"], bool),
    "precharging": (lambda d: d.snap["raw"]["precharge_mosfet"] != 0, bool),
    "precharge_mos": (lambda d: d.snap["raw"]["precharge_mosfet"], int),
    "heating_mos": (lambda d: d.snap["raw"]["heating_mosfet"], int),
    "heartbeat": (lambda d: d.snap["raw"]["heartbeat"], int),
    "energy_Wh": (lambda d: d.snap["raw"]["energy"], int),
    "power_raw": (lambda d: d.snap["raw"]["power_w"], int),
    "power_W": (lambda d: d.snap["raw"]["power_w"], int),
    "registers": (lambda d: d.block.registers, int),
    "balance_mask_1_16": (lambda d: d.block.values["balance_mask_1"], int),
    "balance_mask_17_32": (lambda d: d.block.values["balance_mask_2"], int),
    "balance_current_A": (lambda d: d.snap["raw"]["balance_current_ma"] / 1000, float),
    "reg_0x41": (lambda d: int.from_bytes(d.image[0x82:0x84], "big"), int),  # not decoded: the register itself
    "error_bitmask": (_fault_value, int),
    "problem_code": (_fault_value, int),
    "alarm_u64": (_fault_value, int),
    "alarm_regs_0x3A_0x3D_hex": (lambda d: d.snap["raw"]["fault_registers"], str),
    "alarm_flags": (_fault_names, lambda v: {FLAG_NAMES[f] for f in v}),
    "errors_text": (lambda d: {"alarms": set(d.snap["alarms"]), "warnings": set(d.snap["warnings"])}, _alarm_sets),
}


def _compare(entry: dict[str, Any], decoded: Decoded) -> int:
    checked = 0
    for source in ("expected", "decoded_here"):
        stated_values = entry.get(source) or {}
        for key, stated in stated_values.items():
            assert key in KEY_MAP, f"{entry['id']}: stated key {key!r} has no mapping in this test"
            ours, convert = KEY_MAP[key]
            assert _same(ours(decoded), convert(stated)), f"{entry['id']} {source}.{key}: {ours(decoded)!r}"
            checked += 1
    if decoded.block.family == "d2" and _fault_value(decoded) == 0:
        assert decoded.snap["alarms"] == [] and decoded.snap["warnings"] == []
    return checked


def _payload(hex_frame: str) -> bytes:
    return d2.parse_frame(bytes.fromhex(hex_frame)).payload


def decode_d2(raw: bytes) -> Decoded:
    """A D2 status reply (62 or 80 registers from 0)."""
    frame = d2.parse_frame(raw)
    image = d2.check_read(frame, len(frame.payload) // 2)
    block = d2.decode_status("d2", image)
    return Decoded(block, image, d2.to_snapshot(block).to_dict())


def decode_p81() -> Decoded:
    """The P81 capture: RT1 and RT2 of one session form one snapshot."""
    rt1 = _payload(vector(FILE, "p81_rt1_cells")["response_hex"])
    rt2 = _payload(vector(FILE, "p81_rt2_status")["response_hex"])
    image = d2.p81_image(rt1, rt2)
    block = d2.decode_status("p81", image)
    return Decoded(block, image, d2.to_snapshot(block).to_dict())


def _request_of(entry: dict[str, Any]) -> Frame | None:
    return d2.parse_frame(bytes.fromhex(entry["request_hex"]), request=True) if entry["request_hex"] else None


def _read_range(request: Frame | None) -> tuple[int, int] | None:
    if request is None or request.command != t.FC_READ:
        return None
    return int.from_bytes(request.payload[:2], "big"), int.from_bytes(request.payload[2:4], "big")


def kind_of(entry: dict[str, Any]) -> str:
    """How a vector is checked (every vector has exactly one kind)."""
    if entry["response_hex"] is None:
        return "request only"
    if entry["checksum_recomputed"]["response"] == "FAIL":
        return "rejected (bad CRC)"
    frame = d2.parse_frame(bytes.fromhex(entry["response_hex"]))
    if frame.command == t.FC_WRITE:
        return "write echo"
    read = _read_range(_request_of(entry))
    start = read[0] if read else None
    if frame.address == t.P81_RESPONSE_DEVICE:
        return {
            t.P81_RT1_START: "p81 status",
            t.P81_RT2_START: "p81 status",
            t.P81_VERSION_START: "version",
            t.D2_REG_BALANCER_SWITCH: "balancer switch (out of scope)",
            0xA4: "p81 alarm block (undecoded)",
        }[start]
    if len(frame.payload) in (2 * t.D2_STATUS_REGS, 2 * t.D2_STATUS_REGS_EXTENDED):
        return "d2 status"
    return {
        t.D2_VERSION_START: "version",
        0xC9: "password (out of scope)",
        t.D2_REG_RATED_CAPACITY: "settings",
        t.D2_REG_BALANCER_SWITCH: "balancer switch (out of scope)",
        0x3E: "d2 block 0x3E",
    }[start]


#: esphome-daly-bms reads the version block as two 32-byte fields; its faker frames put the "hardware" string at
#: byte 32. The vendor map (0xB1-0xB8 hardware, 0xB9-0xC8 machine code), aiobmsble and the real Daly-app capture
#: btsnoop_daly_version all place the hardware string at byte 16. The bytes of these two frames are decoded with the
#: vendor map: their byte-32 string is the machine code, and their hardware slot is empty.
VERSION_LAYOUT_CONFLICT = {"esphome_version1", "esphome_version2"}

SETTINGS_IN_SCOPE = {
    "rated_capacity_Ah": (t.D2_REG_RATED_CAPACITY, lambda raw: raw / 10),
    "charging_switch(0xA5)": (t.D2_REG_CHARGE_SWITCH, bool),  # the control registers this plugin writes
    "discharging_switch(0xA6)": (t.D2_REG_DISCHARGE_SWITCH, bool),
}


def _check_version(entry: dict[str, Any], family: str, payload: bytes) -> int:
    version = d2.decode_version(family, payload)
    names = {"sw_version": "software", "software_version": "software", "sw": "software"}
    names |= {"hw_version": "hardware", "hardware_version": "hardware", "hw": "hardware"}
    checked = 0
    for key, stated in entry["expected"].items():
        name = names[key]
        if entry["id"] in VERSION_LAYOUT_CONFLICT and name == "hardware":
            assert version["hardware"] is None
            assert version["machine_code"] == stated
        else:
            assert version[name] == stated, f"{entry['id']}: {key}"
        checked += 1
    info = d2.to_device_info(family, version, None)
    assert info.software_version == version["software"] and info.family == family
    return checked


def _check_settings(entry: dict[str, Any], payload: bytes) -> int:
    checked = 0
    for key, stated in entry["expected"].items():
        if key in SETTINGS_IN_SCOPE:
            register, convert = SETTINGS_IN_SCOPE[key]
            offset = 2 * (register - t.D2_REG_RATED_CAPACITY)
            assert convert(int.from_bytes(payload[offset : offset + 2], "big")) == stated, key
            checked += 1
    assert len(payload) == 2 * 41  # the other thresholds are settings, outside this scope
    return checked


def _check_other(kind: str, entry: dict[str, Any], frame: Frame) -> int:
    stated = entry["expected"]
    if kind == "version":
        return _check_version(entry, "p81" if frame.address == t.P81_RESPONSE_DEVICE else "d2", frame.payload)
    if kind == "settings":
        return _check_settings(entry, frame.payload)
    if kind == "d2 block 0x3E":  # aiobmsble's MOSFET-temperature read: the same table, placed at 0x3E
        image = bytes(2 * 0x3E) + frame.payload  # registers 0x3E-0x46
        values = unpack(t.D2_EXTENDED_FIELDS, image)
        assert values["mosfet_temp"] - t.TEMP_OFFSET == stated["mos_temp_C"]
        assert values["board_temp"] in t.NO_SENSOR
        return 1
    if kind == "write echo":
        request = bytes.fromhex(entry["request_hex"])
        d2.check_echo(frame, request)  # the same acknowledgement the MOSFET switch writes get
        assert d2.build_write(t.D2_DEVICE, int(str(stated["register"]), 16), stated["value"]) == request
        return 2
    if kind == "password (out of scope)":
        assert frame.payload.decode("ascii") == stated["password"]
        return 1
    if kind == "balancer switch (out of scope)":
        value = int.from_bytes(frame.payload, "big")
        assert bool(value) is stated["balancer"]
        if "raw" in stated:
            assert value == int(stated["raw"], 16)
        return 1
    assert kind == "p81 alarm block (undecoded)"
    assert len(d2.check_read(frame, 10)) == 20  # framing and CRC only: no source decodes these registers
    return 1


def _check_request(entry: dict[str, Any]) -> int:
    request = bytes.fromhex(entry["request_hex"])
    frame = d2.parse_frame(request, request=True)
    if entry["request_hex"] in PRODUCT_REQUESTS:
        start, count = _read_range(frame) or (0, 0)
        assert d2.build_read(frame.address or 0, start, count) == request
    elif frame.command == t.FC_WRITE_MULTI:  # the app setting the clock (DALY's FC16 has no byte count)
        stated = entry["expected"]
        assert frame.payload[:4] == bytes.fromhex(f"{int(stated['start_register'], 16):04x}{stated['count']:04x}")
    elif frame.command == t.FC_READ:
        start, count = _read_range(frame) or (0, 0)
        assert d2.build_read(frame.address or 0, start, count) == request
    meaning = (entry["expected"] or {}).get("meaning")
    if meaning:
        match = re.match(r"read (\d+) regs? (?:from )?0x([0-9A-Fa-f]+)", meaning)
        assert match, meaning
        assert _read_range(frame) == (int(match[2], 16), int(match[1]))
    return 1


@pytest.mark.parametrize("vid", IDS)
def test_vector(vid: str) -> None:
    """Rebuild the request / decode the response of one vector and compare every stated value."""
    entry = vector(FILE, vid)
    checked = _check_request(entry) if entry["request_hex"] else 0
    kind = kind_of(entry)
    if kind == "rejected (bad CRC)":
        raw = bytes.fromhex(entry["response_hex"])
        with pytest.raises(ChecksumError):
            d2.parse_frame(raw)
        assert d2.ModbusAssembler().feed(raw) == []
        checked += 1
    elif kind == "d2 status":
        checked += _compare(entry, decode_d2(bytes.fromhex(entry["response_hex"])))
    elif kind == "p81 status":
        checked += _compare(entry, decode_p81())
    elif kind != "request only":
        raw = bytes.fromhex(entry["response_hex"])
        assert [f.raw for f in d2.ModbusAssembler().feed(raw)] == [raw]
        checked += _check_other(kind, entry, d2.parse_frame(raw))
    assert checked > 0, f"{vid}: nothing asserted"


def test_every_vector_is_accounted_for() -> None:
    """Report how many vectors were checked, by kind; fail if the file holds one this test cannot place."""
    entries = load_vectors(FILE)
    kinds: dict[str, int] = {}
    for entry in entries:
        kinds[kind_of(entry)] = kinds.get(kind_of(entry), 0) + 1
    print(f"DALY D2/P81 vectors checked: {len(entries)} {kinds}")
    assert len(entries) == 49 == sum(kinds.values())
    assert kinds == {
        "request only": 8,
        "d2 status": 23,
        "p81 status": 2,
        "d2 block 0x3E": 1,
        "version": 5,
        "password (out of scope)": 2,
        "settings": 1,
        "balancer switch (out of scope)": 3,
        "write echo": 2,
        "rejected (bad CRC)": 1,
        "p81 alarm block (undecoded)": 1,
    }


def test_current_sign_is_charge_positive_as_the_real_captures_show() -> None:
    """The vendor sheet says charge is negative; every real capture says otherwise.

    esphome_status80_frame2 (real, issue #55): status register 0x2F = 2 "discharging", raw 29969, and its source
    states -3.1 A. The other blue-series captures (esphome_status80_frame1, esphome_pdus_blue80_2…8) show the same
    with remaining capacity falling. p81_rt1_cells + p81_rt2_status (real ESS-DL-BMS): "Discharging", raw 29911,
    stated -8.9 A. So raw < 30000 is a discharge: model current = (raw - 30000) / 10, + = charging.
    """
    frame2 = decode_d2(bytes.fromhex(vector(FILE, "esphome_status80_frame2")["response_hex"]))
    assert frame2.block.values["current"] == 29969 and frame2.snap["raw"]["charge_state"] == "discharging"
    assert frame2.snap["current"] == -3.1 == vector(FILE, "esphome_status80_frame2")["expected"]["current_A"]
    p81 = decode_p81()
    assert p81.block.values["current"] == 29911 and p81.snap["raw"]["charge_state"] == "discharging"
    assert p81.snap["current"] == -8.9
    blue = ["esphome_status80_frame1", *(f"esphome_pdus_blue80_{n}" for n in range(2, 9))]
    for vid in blue:
        decoded = decode_d2(bytes.fromhex(vector(FILE, vid)["response_hex"]))
        assert decoded.snap["raw"]["charge_state"] == "discharging", vid
        assert decoded.snap["current"] < 0 and decoded.snap["power"] < 0, vid


def test_the_product_sends_exactly_the_captured_requests() -> None:
    """Every read the D2/P81 sessions send is a captured request, byte for byte."""
    captured = {e["request_hex"] for e in load_vectors(FILE) if e["request_hex"]}
    assert set(PRODUCT_REQUESTS) <= captured, set(PRODUCT_REQUESTS) - captured


def test_fault_register_byte_order() -> None:
    """Register 0x3A's low byte is legacy byte 0: ``00 01`` is cell over-voltage L1, ``01 00`` charge over-temp L1."""
    assert faults.decode(faults.legacy_from_registers([0x0001, 0, 0])).names == {"cell_overvoltage_l1"}
    assert faults.decode(faults.legacy_from_registers([0x0100, 0, 0])).names == {"charge_overtemp_l1"}

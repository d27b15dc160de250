"""Every vector of ../shared/protocols/vectors/daly_uart_legacy.json, checked against what its source states.

Each vector is classified once (``kind_of``) so none is silently skipped: responses are decoded and every stated
value (``expected`` and ``decoded_here``) is compared; every request the product sends is rebuilt byte for byte.

Conventions (protocols/README.md): the legacy sources state current as ``raw - 30000`` in 0.1 A, **positive =
discharging**. The model's current is + = charging, so every stated current is **negated** before comparing
(``KEY_MAP["current_A"]``). mAh become Ah. Single answers (0x90, 0x93, …) are turned into a snapshot together with
neutral answers for the other commands, so the comparison goes through the same conversion a read uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.vectors import load_vectors, vector, vector_ids
from vendor_plugins.daly import codec_a5 as a5
from vendor_plugins.daly import table as t
from vendor_plugins.framing import Frame
from vendor_plugins.model import Switch

FILE = "daly_uart_legacy"
IDS = vector_ids(FILE)

#: Requests the product sends (the A5 read sequence at either host address): hex -> (command, host address).
PRODUCT_REQUESTS: dict[str, tuple[int, int]] = {
    a5.build_request(cmd, host).hex(): (cmd, host) for cmd in t.A5_READ_SEQUENCE for host in t.HOST_PROBE_ORDER
}

NEUTRAL_PACK = {"voltage": 0, "gather_voltage": 0, "current": t.CURRENT_OFFSET, "soc": 0}
NEUTRAL_MOSFET = {"charge_state": 0, "charge_mosfet": 0, "discharge_mosfet": 0, "life": 0, "remaining_capacity": 0}
NEUTRAL_STATUS = {"cell_count": 0, "temp_count": 0, "charger": 0, "load": 0, "dio": 0, "cycles": 0}

STATE_NAMES = {"stationary": 0, "idle": 0, "charging": 1, "charge": 1, "discharge": 2, "discharging": 2}


@dataclass
class Decoded:
    """One response vector decoded: its frames, the raw fields of a single answer, and the model view."""

    frames: list[Frame]
    fields: dict[str, int]
    snap: dict[str, Any]


def _decode_single(frame: Frame) -> Decoded:
    fields = a5.decode_fields(frame.command, frame.payload)
    mosfet = fields if frame.command == t.CMD_MOSFET else NEUTRAL_MOSFET
    status = fields if frame.command == t.CMD_STATUS else NEUTRAL_STATUS
    # the stand-in cells are 3.3 V each: a stand-in 0x90 agrees with them (the codec checks the pack voltage)
    pack = fields if frame.command == t.CMD_PACK else {**NEUTRAL_PACK, "voltage": 33 * status["cell_count"]}
    reading = a5.A5Reading(
        pack=pack,
        mosfet=mosfet,
        status=status,
        cells_mv=(3300,) * status["cell_count"],
        temps_raw=(65,) * status["temp_count"],
    )
    return Decoded([frame], fields, a5.to_snapshot(reading).to_dict())


def _flip(amps: float) -> float:
    """Legacy sources: + = discharging. Model: + = charging."""
    return -amps


#: Source spelling -> (what we decoded, how the stated value converts to it). Single-answer vectors only.
KEY_MAP: dict[str, tuple[Callable[[Decoded], Any], Callable[[Any], Any]]] = {
    "voltage_V": (lambda d: d.snap["voltage"], float),
    "current_A": (lambda d: d.snap["current"], _flip),  # convention flipped: source discharge-positive
    "current_raw": (lambda d: d.fields["current"], int),
    "soc_pct": (lambda d: d.snap["soc"], float),
    "acquisition_V": (lambda d: d.fields["gather_voltage"] / 10, float),
    "gather_voltage_V": (lambda d: d.fields["gather_voltage"] / 10, float),
    "max_cell_V": (lambda d: d.fields["cell_max"] / 1000, float),
    "max_cell_mV": (lambda d: d.fields["cell_max"], int),
    "max_cell_no": (lambda d: d.fields["cell_max_no"], int),
    "min_cell_V": (lambda d: d.fields["cell_min"] / 1000, float),
    "min_cell_mV": (lambda d: d.fields["cell_min"], int),
    "min_cell_no": (lambda d: d.fields["cell_min_no"], int),
    "max_temp_C": (lambda d: a5.temp_from_raw(d.fields["temp_max"]), float),
    "max_temp_no": (lambda d: d.fields["temp_max_no"], int),
    "min_temp_C": (lambda d: a5.temp_from_raw(d.fields["temp_min"]), float),
    "min_temp_no": (lambda d: d.fields["temp_min_no"], int),
    "cells": (lambda d: len(d.snap["cell_voltages"]), int),
    "temp_sensors": (lambda d: len(d.snap["temperatures"]), int),
    "cycles": (lambda d: d.snap["cycles"], int),
    "charger": (lambda d: d.snap["raw"]["charger"], lambda v: {"disconnected": 0, "connected": 1}.get(v, v)),
    "load": (lambda d: d.snap["raw"]["load"], lambda v: {"disconnected": 0, "connected": 1}.get(v, v)),
    "dio_flags": (lambda d: d.snap["raw"]["dio"], lambda v: int(v, 16)),
    "dio_bits": (lambda d: d.snap["raw"]["dio"], int),
    "reserved": (lambda d: a5.reserved_bytes(t.A5_LAYOUTS[t.CMD_STATUS], d.frames[0].payload).hex(), str),
    "state": (lambda d: d.fields["charge_state"], lambda v: STATE_NAMES[v]),
    "chg_mos": (lambda d: d.snap["charge_mosfet"], bool),
    "dsg_mos": (lambda d: d.snap["discharge_mosfet"], bool),
    "bms_life": (lambda d: d.snap["raw"]["bms_life"], int),
    "residual_capacity_Ah": (lambda d: d.snap["remaining_capacity"], float),
    "remain_capacity_mAh": (lambda d: d.snap["remaining_capacity"], lambda v: v / 1000),
    "checksum": (lambda d: d.frames[0].raw[-1], lambda v: int(v, 16)),
    "address": (lambda d: d.frames[0].address, int),
    "cmd": (lambda d: d.frames[0].command, int),
}


def _compare(entry: dict[str, Any], decoded: Decoded) -> int:
    checked = 0
    for source in ("expected", "decoded_here"):
        stated_values = entry.get(source) or {}
        assert isinstance(stated_values, dict)
        for key, stated in stated_values.items():
            assert key in KEY_MAP, f"{entry['id']}: stated key {key!r} has no mapping in this test"
            ours, convert = KEY_MAP[key]
            assert ours(decoded) == pytest.approx(convert(stated)), f"{entry['id']} {source}.{key}"
            checked += 1
    return checked


def _check_cells_16_frames(entry: dict[str, Any], frames: list[Frame]) -> int:
    """mpp-solar's 16-frame 0x95 answer: 16 cells stated, frames 7-16 (cells 17-48) all zero."""
    assert a5.frame_numbers(frames) == list(range(1, 17))  # 1-based on the wire
    cells = a5.decode_cells(frames, 16)
    assert [mv / 1000 for mv in cells] == pytest.approx(entry["expected"]["cell_V_1_to_16"])
    assert all(mv / 1000 == entry["expected"]["cells_17_to_48"] for mv in a5.decode_cells(frames, 48)[16:])
    for stated, frame in zip(entry["decoded_here"], frames, strict=True):
        assert frame.payload[0] == stated["frame_no"] and frame.command == stated["cmd"]
        assert frame.address == stated["address"]
        assert [int.from_bytes(frame.payload[1 + 2 * i : 3 + 2 * i], "big") for i in range(3)] == stated["cell_mV"]
    return 2 + len(frames)


def _check_temp_frames(entry: dict[str, Any], frames: list[Frame]) -> int:
    """mpp-solar's 0x96 answer: 2 frames for 1 sensor (a unit sending more frames than needed)."""
    assert a5.frame_numbers(frames) == entry["expected"]["frame_numbers"]
    assert [a5.temp_from_raw(r) for r in a5.decode_temps(frames, 1)] == [entry["expected"]["temp1_C"]]
    # decoded_here decodes every slot blindly (unused 0x00 slots read as -40 C): the same bytes, all 14 slots.
    blind = [a5.temp_from_raw(r) for r in a5.decode_temps(frames, 14)]
    assert blind == [c for stated in entry["decoded_here"] for c in stated["temps_C"]]
    assert [f.payload[0] for f in frames] == [s["frame_no"] for s in entry["decoded_here"]]
    return 3


def _check_single_cell_frame(entry: dict[str, Any], frame: Frame) -> int:
    """One 0x95 frame of a real 16S log: frame 1 with cells 1-3."""
    checked = 0
    for source in ("expected", "decoded_here"):
        stated = entry[source]
        assert frame.payload[0] == stated["frame_no"]
        assert list(a5.decode_cells([frame], 3)) == stated["cell_mV"]
        checked += 2
    return checked


def kind_of(entry: dict[str, Any]) -> str:
    """How a vector is checked (every vector has exactly one kind)."""
    if entry.get("payload_hex"):
        return "payload only"
    if entry["response_hex"] is None:
        return "request"
    return f"response 0x{bytes.fromhex(entry['response_hex'])[2]:02X}"


@pytest.mark.parametrize("vid", IDS)
def test_vector(vid: str) -> None:
    """Decode the response / rebuild the request of one vector and compare every stated value."""
    entry = vector(FILE, vid)
    checked = 0
    if entry["request_hex"]:
        request = bytes.fromhex(entry["request_hex"])
        frame = a5.parse_frame(request, request=True)
        assert frame.address is not None
        if entry["request_hex"] in PRODUCT_REQUESTS:
            command, host = PRODUCT_REQUESTS[entry["request_hex"]]
            assert a5.build_request(command, host) == request
        else:  # 0x91/0x92 (not needed by a read) and the Daly app's probe 0x02: the builder still matches them
            assert a5.build_request(frame.command, frame.address, frame.payload) == request
        if "checksum" in entry["expected"]:
            assert request[-1] == int(entry["expected"]["checksum"], 16)
        checked += 1
    if entry["response_hex"]:
        raw = bytes.fromhex(entry["response_hex"])
        frames = a5.A5Assembler().feed(raw)
        assert b"".join(f.raw for f in frames) == raw, "every byte belongs to a valid frame"
        if frames[0].command == t.CMD_CELLS and len(frames) > 1:
            checked += _check_cells_16_frames(entry, frames)
        elif frames[0].command == t.CMD_CELLS:
            checked += _check_single_cell_frame(entry, frames[0])
        elif frames[0].command == t.CMD_TEMPS:
            checked += _check_temp_frames(entry, frames)
        else:
            assert len(frames) == 1
            checked += _compare(entry, _decode_single(frames[0]))
    if entry.get("payload_hex"):
        checked += _check_payload_only(entry)
    assert checked > 0, f"{vid}: nothing asserted"


def _check_payload_only(entry: dict[str, Any]) -> int:
    payload = entry["payload_hex"]
    if entry["id"] == "batmon_payload_93_dsg_on":
        frame = a5.parse_frame(a5.build_response(t.CMD_MOSFET, bytes.fromhex(payload)))
        decoded = _decode_single(frame)
        stated = entry["expected"]
        assert decoded.snap["raw"]["charge_state"] == stated["mode"]
        assert decoded.snap["charge_mosfet"] is stated["charging_mosfet"]
        assert decoded.snap["discharge_mosfet"] is stated["discharging_mosfet"]
        assert decoded.snap["remaining_capacity"] == pytest.approx(stated["capacity_ah"])
        return 4
    # dreadnought: replies to 0xD9 (discharge switch); byte 0 echoes the requested state.
    for state, on in (("on", True), ("off", False)):
        reply = a5.parse_frame(a5.build_response(t.CMD_DISCHARGE_SWITCH, bytes.fromhex(payload[state])))
        assert a5.check_answer(reply, t.CMD_DISCHARGE_SWITCH)[0] == int(on)
        request = a5.build_switch(Switch.DISCHARGE, on, t.HOST_UART_BLE)
        assert request[4] == int(on) and request[2] == reply.command
    return 2


def test_every_vector_is_accounted_for() -> None:
    """Report how many vectors were checked, by kind; fail if the file holds one this test cannot place."""
    entries = load_vectors(FILE)
    kinds: dict[str, int] = {}
    for entry in entries:
        kinds[kind_of(entry)] = kinds.get(kind_of(entry), 0) + 1
    print(f"DALY legacy vectors checked: {len(entries)} {kinds}")
    assert len(entries) == 34 == sum(kinds.values())
    assert kinds == {
        "request": 11,
        "response 0x90": 7,
        "response 0x91": 2,
        "response 0x92": 2,
        "response 0x93": 5,
        "response 0x94": 2,
        "response 0x95": 2,
        "response 0x96": 1,
        "payload only": 2,
    }


def test_current_sign_follows_the_real_discharge_log() -> None:
    """tomatensaus_log_0 (0x90, raw 30500) and tomatensaus_log_2 (0x93 state 2 = discharge) are one real 16S pack
    under discharge, SoC falling: on legacy firmware raw > 30000 is a discharge, so the model current is negative.
    """
    current = _decode_single(a5.parse_frame(bytes.fromhex(vector(FILE, "tomatensaus_log_0")["response_hex"])))
    state = _decode_single(a5.parse_frame(bytes.fromhex(vector(FILE, "tomatensaus_log_2")["response_hex"])))
    assert current.fields["current"] == 30500
    assert current.snap["current"] == -50.0
    assert current.snap["power"] < 0
    assert state.snap["raw"]["charge_state"] == "discharging"
    for vid in ("tomatensaus_log_6", "tomatensaus_log_8"):
        later = _decode_single(a5.parse_frame(bytes.fromhex(vector(FILE, vid)["response_hex"])))
        assert later.snap["current"] < 0


def test_the_product_sends_exactly_the_captured_requests() -> None:
    """The read sequence at host 0x40 is maland16's captured requests; 0x95 at 0x80 is dreadnought's."""
    captured = {e["request_hex"] for e in load_vectors(FILE) if e["request_hex"]}
    sent_rs485 = {a5.build_request(cmd, t.HOST_RS485).hex() for cmd in t.A5_READ_SEQUENCE}
    assert sent_rs485 <= captured
    assert a5.build_request(t.CMD_CELLS, t.HOST_UART_BLE).hex() in captured

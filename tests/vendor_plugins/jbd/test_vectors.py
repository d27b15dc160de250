"""Every JBD vector in ../shared/protocols/vectors/jbd.json, checked against what its source states.

Each vector is classified once (``CLASSES``) so none is silently skipped: responses are decoded and every stated
value compared in the model's units; every request the product sends is compared byte for byte with the capture;
frames that fail their checksum/length are rejected. Conventions (PROTOCOLS.md, protocols/README.md): JBD current
is already + = charging (no flip); mAh values become Ah; where a source's arithmetic slipped, the bytes win.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.vectors import load_vectors, vector, vector_ids
from vendor_plugins.errors import ChecksumError, FrameError
from vendor_plugins.jbd import codec
from vendor_plugins.jbd import table as t
from vendor_plugins.model import Alarm

IDS = vector_ids("jbd")

#: Requests the product itself sends, and how it builds them.
PRODUCT_REQUESTS = {
    "dda50300fffd77": lambda: codec.build_read(t.REG_BASIC),
    "dda50400fffc77": lambda: codec.build_read(t.REG_CELLS),
    "dda50500fffb77": lambda: codec.build_read(t.REG_HARDWARE),
    "dd5ae1020000ff1d77": lambda: codec.build_write(t.REG_MOS, codec.mos_value(True, True)),
    "dd5ae1020001ff1c77": lambda: codec.build_write(t.REG_MOS, codec.mos_value(False, True)),
    "dd5ae1020002ff1b77": lambda: codec.build_write(t.REG_MOS, codec.mos_value(True, False)),
    "dd5ae1020003ff1a77": lambda: codec.build_write(t.REG_MOS, codec.mos_value(False, False)),
    "dd5a00025678ff3077": lambda: codec.build_write(t.REG_FACTORY_ENTER, t.FACTORY_ENTER_KEY),
    "dd5a01020000fffd77": lambda: codec.build_write(t.REG_FACTORY_EXIT, t.FACTORY_EXIT_NO_SAVE),
}

#: Source spellings → (model field, conversion). Temperatures and cells are lists.
KEY_MAP: dict[str, tuple[str, Any]] = {
    "voltage_V": ("voltage", float),
    "total_voltage_V": ("voltage", float),
    "voltage": ("voltage", float),
    "current_A": ("current", float),
    "current": ("current", float),
    "remaining_mAh": ("remaining_capacity", lambda v: v / 1000),
    "remaining_Ah": ("remaining_capacity", float),
    "capacity_remaining_Ah": ("remaining_capacity", float),
    "cycle_charge": ("remaining_capacity", float),
    "cycle_charge_Ah": ("remaining_capacity", float),
    "nominal_mAh": ("design_capacity", lambda v: v / 1000),
    "nominal_Ah": ("design_capacity", float),
    "nominal_capacity_Ah": ("design_capacity", float),
    "design_capacity": ("design_capacity", float),
    "design_Ah": ("design_capacity", float),
    "cycles": ("cycles", int),
    "rsoc_pct": ("soc", float),
    "soc_pct": ("soc", float),
    "battery_level": ("soc", float),
    "temps_C": ("temperatures", list),
    "temp_values": ("temperatures", list),
    "chrg_mosfet": ("charge_mosfet", bool),
    "dischrg_mosfet": ("discharge_mosfet", bool),
}

#: Where PROTOCOLS.md §3.7 documents an arithmetic slip in the source, the bytes win.
SOURCE_SLIPS = {("jbd_doc_basic_17s", "temp1_C"): 23.7, ("jbd_doc_cells_17s", "cell1_mV"): 3784}

REJECTED = {"aiobmsble_chins_example"}  # declares 34 data bytes, carries 32 (a document copy error)
NOT_JBD_FRAMING = {"aiobmsble_auth_ack"}  # FF AA password frame (newer BLE firmware), not a DD frame


def _basic_snapshot(payload: bytes) -> tuple[codec.BasicInfo, dict[str, Any]]:
    basic = codec.decode_basic(payload)
    snap = codec.to_snapshot(basic, (3.3,) * basic.cell_count)
    return basic, snap.to_dict()


def _temps(snap: dict[str, Any]) -> list[float]:
    return [temp["celsius"] for temp in snap["temperatures"]]


def _check_basic(entry: dict[str, Any], payload: bytes) -> int:
    """Compare every stated value; return how many were compared."""
    basic, snap = _basic_snapshot(payload)
    checked = 0
    for source in ("expected", "decoded_here"):
        for key, stated in (entry.get(source) or {}).items():
            checked += _compare_basic_key(entry["id"], key, stated, basic, snap)
    return checked


def _compare_basic_key(vid: str, key: str, stated: Any, basic: codec.BasicInfo, snap: dict[str, Any]) -> int:
    stated = SOURCE_SLIPS.get((vid, key), stated)
    if key in KEY_MAP:
        field, convert = KEY_MAP[key]
        got = _temps(snap) if field == "temperatures" else snap[field]
        assert got == pytest.approx(convert(stated)), f"{vid}: {key}"
        return 1
    match key:
        case "temp1_C" | "temp_C":
            assert _temps(snap)[0] == pytest.approx(stated), f"{vid}: {key}"
        case "cells" | "battery_strings" | "cell_count":
            assert basic.cell_count == stated
        case "ntc" | "ntc_count" | "temperature_sensors":
            assert len(snap["temperatures"]) == stated
        case "sw_version" | "software_version" | "version":
            expected = f"{int(stated, 16) >> 4}.{int(stated, 16) & 15}" if str(stated).startswith("0x") else stated
            assert snap["raw"]["software_version"] == f"{float(expected):.1f}"
        case "mos" | "fet" | "operation_status_bitmask" | "operation_status":
            value = int(str(stated).split()[0], 16) if isinstance(stated, str) else stated
            assert snap["charge_mosfet"] is bool(value & 1) and snap["discharge_mosfet"] is bool(value & 2)
        case "chg_fet_on":
            assert snap["charge_mosfet"] is stated
        case "dsg_fet_on":
            assert snap["discharge_mosfet"] is stated
        case "protection" | "errors_bitmask" | "problem_code":
            value = int(str(stated).split()[0], 16) if isinstance(stated, str) else stated
            assert snap["raw"]["protection_status"] == value
            expected_alarms = {str(a) for bit, a in t.PROTECTION_BITS.items() if value >> bit & 1}
            assert set(snap["alarms"]) == expected_alarms
            for bit in range(13, 16):
                assert snap["raw"].get(f"protection_bit{bit}") == (1 if value >> bit & 1 else None)
        case "protection_flags":
            names = {"mos_software_lock": Alarm.SOFTWARE_LOCK}
            wanted = {str(names.get(f, f)) for f in stated if not f.startswith("bit")}
            assert wanted <= set(snap["alarms"])
        case "balancer_bitmask" | "balancer" | "balance_low" | "balance_high":
            mask = sum(1 << (cell - 1) for cell in snap["balancing"])
            part = {"balance_low": mask & 0xFFFF, "balance_high": mask >> 16}.get(key, mask)
            assert part == stated
        case "production_date" | "date_of_manufacture":
            y, m, d = (int(x) for x in stated.replace(".", "-").split("-"))
            assert basic.manufacture_date == dt.date(y, m, d)
        case "extended_tail_hex" | "extra_bytes_after_ntc":
            assert basic.extension.hex() == stated
            assert basic.coarse_units is False
        case "cmd" | "status":
            return 0
        case _:
            raise AssertionError(f"{vid}: stated key {key!r} has no mapping in this test")
    return 1


def _check_cells(entry: dict[str, Any], payload: bytes) -> int:
    cells = codec.decode_cells(payload)
    checked = 0
    for source in ("expected", "decoded_here"):
        for key, stated in (entry.get(source) or {}).items():
            stated = SOURCE_SLIPS.get((entry["id"], key), stated)
            match key:
                case "cell_mV":
                    assert [round(c * 1000) for c in cells] == stated
                case "cells_V" | "cell_voltages":
                    assert list(cells) == pytest.approx(stated)
                case "cells":
                    assert len(cells) == stated
                case "cell1_mV":
                    assert round(cells[0] * 1000) == stated
                case "delta_V":
                    snap = codec.to_snapshot(_basic_for(len(cells)), cells)
                    assert snap.cell_delta == pytest.approx(stated)
                case "cells_1_15_V":
                    assert all(c == pytest.approx(stated) for c in cells[:15])
                case "cell16_V":
                    assert cells[15] == pytest.approx(stated)
                case "average_V":
                    snap = codec.to_snapshot(_basic_for(len(cells)), cells)
                    assert snap.cell_average == pytest.approx(stated)
                case "cmd" | "status":
                    continue
                case _:
                    raise AssertionError(f"{entry['id']}: stated key {key!r} has no mapping in this test")
            checked += 1
    return checked


def _basic_for(cell_count: int) -> codec.BasicInfo:
    return codec.BasicInfo(
        voltage=0,
        current=0,
        remaining_capacity=0,
        design_capacity=0,
        cycles=0,
        production_date=0,
        balancing=frozenset(),
        protection=0,
        software_version=0,
        soc=0,
        fet=0,
        cell_count=cell_count,
        temperatures=(),
    )


@pytest.mark.parametrize("vid", IDS)
def test_vector(vid: str) -> None:
    """Decode (or reject) the response and rebuild the request of one vector."""
    entry = vector("jbd", vid)
    checked = 0
    if entry["request_hex"]:
        request = bytes.fromhex(entry["request_hex"])
        if entry["request_hex"] in PRODUCT_REQUESTS:
            assert PRODUCT_REQUESTS[entry["request_hex"]]() == request
        elif vid not in NOT_JBD_FRAMING:
            frame = codec.parse_frame(request, request=True)  # requests the product does not send: still valid
            assert frame.raw == request
        checked += 1
    response_hex = entry["response_hex"]
    if response_hex:
        raw = bytes.fromhex(response_hex)
        if vid in REJECTED:
            with pytest.raises((ChecksumError, FrameError)):
                codec.parse_frame(raw)
            assert codec.JbdAssembler().feed(raw) == []
            checked += 1
        elif vid in NOT_JBD_FRAMING:
            assert codec.JbdAssembler().feed(raw) == []
            checked += 1
        else:
            frame = codec.parse_frame(raw)
            assert frame.status == t.STATUS_OK
            if frame.command == t.REG_BASIC:
                checked += _check_basic(entry, frame.payload)
            elif frame.command == t.REG_CELLS:
                checked += _check_cells(entry, frame.payload)
            elif frame.command == t.REG_HARDWARE:
                model = codec.decode_hardware(frame.payload)
                stated = entry["expected"].get("hw_version") or entry["expected"]["device_model"]
                assert model == stated
                checked += 1
            elif frame.payload == b"":  # write acknowledgement
                assert frame.raw[-3:-1] == b"\x00\x00"
                checked += 1
            else:  # registers outside this scope (0xAA counters, 0x10 design capacity): framing only
                assert len(frame.payload) == frame.raw[3]
                checked += 1
    assert checked > 0, f"{vid}: nothing asserted"


def test_every_vector_is_accounted_for() -> None:
    """Report how many vectors were checked, by kind, and fail if the file grew entries this test cannot place."""
    entries = load_vectors("jbd")
    kinds: dict[str, int] = {}
    for entry in entries:
        if entry["id"] in REJECTED:
            kind = "rejected"
        elif entry["response_hex"] is None:
            kind = "request only"
        elif entry["id"] in NOT_JBD_FRAMING:
            kind = "not JBD framing"
        else:
            kind = f"response 0x{bytes.fromhex(entry['response_hex'])[1]:02X}"
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"JBD vectors checked: {len(entries)} {kinds}")
    assert sum(kinds.values()) == len(entries) == 37
    assert kinds["rejected"] == 1
    assert kinds["response 0x03"] == 13


def test_doc_17s_example_in_model_units() -> None:
    """The vendor's annotated 17S example: -20.12 A is a discharge (negative = discharging, no flip needed)."""
    entry = vector("jbd", "jbd_doc_basic_17s")
    basic, snap = _basic_snapshot(codec.parse_frame(bytes.fromhex(entry["response_hex"])).payload)
    assert snap["current"] == -20.12
    assert snap["power"] == pytest.approx(66.23 * -20.12, abs=0.01)
    assert snap["remaining_capacity"] == 34.93 and snap["design_capacity"] == 40.0
    assert snap["temperatures"][0] == {"name": "cell_1", "kind": "cell", "celsius": 23.7}
    assert basic.manufacture_date == dt.date(2018, 4, 17)


def test_software_lock_capture_maps_to_alarm_and_fet_state() -> None:
    """Real BLE capture after the discharge MOSFET was switched off: protection 0x1000, FET 0x01."""
    entry = vector("jbd", "btsnoop_basic_mos_lock_chg_only")
    _, snap = _basic_snapshot(codec.parse_frame(bytes.fromhex(entry["response_hex"])).payload)
    assert snap["alarms"] == ["software_lock"]
    assert snap["charge_mosfet"] is True and snap["discharge_mosfet"] is False

"""Property tests of the PACEEX codec: frames, the stream assembler, and records round-tripping through the encoders.

The simulator answers with the same encoders, so a record that round-trips here is one the simulator sends right.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vendor_plugins.errors import BmsError, ChecksumError, FrameError
from vendor_plugins.framing import frames_from
from vendor_plugins.model import Alarm
from vendor_plugins.pace import codec_paceex as codec
from vendor_plugins.pace import table_paceex as t
from vendor_plugins.pace.table import Severity

from .test_paceex_codec import REAL

#: Alarms the status record can carry (protections / faults) and warnings (warn bits), from the shared bit tables.
ALARMS = sorted(
    {b.alarm for _, table, sev in t.STATE_BYTES if sev == Severity.ALARM for b in table.values() if b.alarm}
)
WARNINGS = sorted(
    {b.alarm for _, tab, sev in t.STATE_BYTES if sev == Severity.WARNING for b in tab.values() if b.alarm}
)


@st.composite
def images(draw: st.DrawFn) -> codec.PackImage:
    count = draw(st.integers(1, 16))
    cells = [draw(st.integers(2500, 3650)) / 1000 for _ in range(count)]
    sensor = st.one_of(st.none(), st.integers(-300, 800).map(lambda x: x / 10))
    full = draw(st.integers(1000, 30000)) / 100
    remaining = draw(st.integers(0, round(full * 100))) / 100
    return codec.PackImage(
        cells=cells,
        cell_temps=[draw(sensor) for _ in range(count)],
        mosfet_temp=draw(sensor),
        ambient_temp=draw(sensor),
        current=draw(st.integers(-20000, 20000)) / 100,
        voltage=round(sum(cells), 2),
        remaining_capacity=remaining,
        full_capacity=full,
        design_capacity=draw(st.integers(round(full * 100), 30000)) / 100,
        soc=draw(st.integers(0, 100)),
        soh=draw(st.integers(0, 100)),
        cycles=draw(st.integers(0, 65535)),
        charge_mosfet=draw(st.booleans()),
        discharge_mosfet=draw(st.booleans()),
        balancing=draw(st.sets(st.integers(1, count))),
        alarms=draw(st.sets(st.sampled_from(ALARMS))),
        warnings=draw(st.sets(st.sampled_from(WARNINGS))),
    )


@given(images())
@settings(max_examples=150)
def test_records_round_trip(img: codec.PackImage) -> None:
    pack = codec.decode_pack(codec.encode_pack(img))
    cells = codec.decode_cells(codec.encode_cells(img))
    status = codec.decode_status(codec.encode_status(img))
    snap = codec.to_snapshot(pack, cells, status)
    assert snap.cell_voltages == tuple(img.cells)
    assert snap.voltage == img.voltage and snap.current == img.current
    assert (snap.remaining_capacity, snap.full_capacity, snap.design_capacity) == (
        img.remaining_capacity,
        img.full_capacity,
        img.design_capacity,
    )
    assert (snap.soc, snap.soh, snap.cycles) == (img.soc, img.soh, img.cycles)
    assert (snap.charge_mosfet, snap.discharge_mosfet) == (img.charge_mosfet, img.discharge_mosfet)
    assert snap.balancing == img.balancing
    assert snap.alarms == img.alarms and snap.warnings == img.warnings
    expected_temps = {f"cell_{n}": v for n, v in enumerate(img.cell_temps, 1) if v is not None}
    expected_temps |= {k: v for k, v in (("mosfet", img.mosfet_temp), ("ambient", img.ambient_temp)) if v is not None}
    assert {x.name: x.celsius for x in snap.temperatures} == pytest.approx(expected_temps)


@given(st.integers(0, 0xFFFFFFFFFFFF), st.binary(max_size=255))
def test_frames_round_trip(frame_type: int, data: bytes) -> None:
    raw = codec.build_frame(frame_type, data)
    frame = codec.parse_frame(raw)
    assert (frame.command, frame.payload, frame.raw) == (frame_type, data, raw)


@given(st.binary(max_size=300))
def test_parse_frame_raises_only_protocol_errors(raw: bytes) -> None:
    with contextlib.suppress(FrameError, ChecksumError):
        codec.parse_frame(raw)


@given(st.binary(max_size=120))
def test_record_decoders_raise_only_bms_errors(data: bytes) -> None:
    for decode in (codec.decode_pack, codec.decode_cells, codec.decode_status, codec.decode_system):
        with contextlib.suppress(BmsError):
            decode(data)
    with contextlib.suppress(BmsError):
        codec.decode_texts(data, 3, 1)


@given(st.lists(st.sampled_from(list(REAL)), min_size=1, max_size=4), st.binary(max_size=30), st.integers(1, 40))
def test_assembler_finds_every_frame_in_any_chunking(names: list[str], junk: bytes, chunk: int) -> None:
    frames = [bytes.fromhex(REAL[n]) for n in names]
    stream = junk.replace(b"\x9a", b"") + b"".join(frames)
    assembler = codec.PaceexAssembler()
    got = []
    for start in range(0, len(stream), chunk):
        got += [f.raw for f in assembler.feed(stream[start : start + chunk])]
    assert got == frames


@given(st.sampled_from(list(REAL)), st.data())
def test_a_flipped_byte_never_yields_a_frame(name: str, data: st.DataObject) -> None:
    raw = bytearray.fromhex(REAL[name])
    pos = data.draw(st.integers(1, len(raw) - 2))
    raw[pos] ^= data.draw(st.integers(1, 255))
    assert all(f.raw != bytes.fromhex(REAL[name]) for f in frames_from(codec.PaceexAssembler(), bytes(raw)))
    with pytest.raises((FrameError, ChecksumError)):
        codec.parse_frame(bytes(raw))


def test_alarm_lists_are_not_empty() -> None:
    assert Alarm.CELL_OVERVOLTAGE in ALARMS and Alarm.LOW_SOC in WARNINGS

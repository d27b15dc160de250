"""Property tests of DALY frame assembly and decoding (A5 and D2/P81) on hostile input.

Arbitrary bytes never raise anything but ``BmsError``; a valid frame split anywhere reassembles to the same frame;
junk around frames is skipped; a corrupted frame is never decoded; a missing 0x95 frame is an error naming it,
never a short cell list.
"""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.vectors import load_vectors
from vendor_plugins.crc import crc16_modbus, crc16_modbus_bytes
from vendor_plugins.daly import codec_a5 as a5
from vendor_plugins.daly import codec_d2 as d2
from vendor_plugins.daly import codec_faults as faults
from vendor_plugins.daly import table as t
from vendor_plugins.daly.simulator import A5Simulator, ModbusSimulator
from vendor_plugins.daly.simulator_state import DalyState
from vendor_plugins.errors import BmsError, ChecksumError, FrameError
from vendor_plugins.framing import FrameAssembler

# Real frames (daly_uart_legacy.json: mpp_solar_soc, tomatensaus_log_4; daly_ble_modbus.json: blue80_7, p81 RT1).
A5_SOC = bytes.fromhex("a5019008021400007545037889")
A5_CELLS = bytes.fromhex("a5019508010caa0c950c59c0c0")


def _real_modbus() -> list[bytes]:
    frames = []
    for entry in load_vectors("daly_ble_modbus"):
        if entry["id"] in ("esphome_pdus_blue80_7", "p81_rt1_cells", "btsnoop_daly_write_balancer_on"):
            frames.append(bytes.fromhex(entry["response_hex"]))
    assert len(frames) == 3
    return frames


def _assemblers() -> list[tuple[FrameAssembler, object]]:
    return [
        (a5.A5Assembler(), lambda raw: a5.parse_frame(raw)),
        (a5.A5Assembler(request=True), lambda raw: a5.parse_frame(raw, request=True)),
        (d2.ModbusAssembler(), lambda raw: d2.parse_frame(raw)),
        (d2.ModbusAssembler((0xD2, 0x81), request=True), lambda raw: d2.parse_frame(raw, request=True)),
    ]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_bms_errors(data: bytes) -> None:
    """Assemblers, strict parsers and every decoder: a ``BmsError`` or a result, never anything else."""
    for assembler, parse in _assemblers():
        for frame in assembler.feed(data):
            assert parse(frame.raw) == frame  # type: ignore[operator]
        with contextlib.suppress(BmsError):
            parse(data)  # type: ignore[operator]
    padded = (data + bytes(8))[:8]
    for command in t.A5_LAYOUTS:
        a5.decode_fields(command, padded)
    a5.decode_balance(padded)
    faults.decode(padded)
    for family in ("d2", "p81"):
        with contextlib.suppress(BmsError):
            d2.to_snapshot(d2.decode_status(family, data))
    with contextlib.suppress(BmsError):
        d2.decode_version("d2", data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=12))
def test_arbitrary_chunks_never_raise(chunks: list[bytes]) -> None:
    """Feeding many chunks never raises and never yields a frame that fails strict parsing."""
    for assembler, parse in _assemblers():
        for chunk in chunks:
            for frame in assembler.feed(chunk):
                assert parse(frame.raw) == frame  # type: ignore[operator]
        assert assembler.pending <= assembler.max_buffer


def test_every_split_point_of_real_frames_reassembles() -> None:
    """Real frames cut in two at every possible point give exactly those frames."""
    cases: list[tuple[type[FrameAssembler], bytes]] = [(a5.A5Assembler, A5_SOC), (a5.A5Assembler, A5_CELLS)]
    cases += [(d2.ModbusAssembler, raw) for raw in _real_modbus()]
    for make, raw in cases:
        whole = make().feed(raw)
        assert len(whole) == 1
        for cut in range(len(raw) + 1):
            assembler = make()
            assert assembler.feed(raw[:cut]) + assembler.feed(raw[cut:]) == whole, cut


def test_a_16_frame_answer_byte_by_byte_like_a_slow_uart() -> None:
    """mpp-solar's 16-frame 0x95 answer, one byte at a time: 16 frames, in order."""
    entry = next(e for e in load_vectors("daly_uart_legacy") if e["id"] == "mpp_solar_cellvoltages_16frames")
    raw = bytes.fromhex(entry["response_hex"])
    assembler = a5.A5Assembler()
    frames = [f for b in raw for f in assembler.feed(bytes([b]))]
    assert a5.frame_numbers(frames) == list(range(1, 17))


@st.composite
def _split(draw: st.DrawFn, data: bytes) -> list[bytes]:
    cuts = sorted(draw(st.sets(st.integers(0, len(data)), max_size=10)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_random_chunking_of_simulated_answers_gives_the_same_frames(data: st.DataObject) -> None:
    """Any answer the simulators produce, in any chunking, assembles to the same frames as unsplit."""
    cells = data.draw(st.lists(st.integers(2500, 4200).map(lambda v: v / 1000), min_size=1, max_size=32))
    state = DalyState(cell_voltages=cells, current=data.draw(st.integers(-3000, 3000)) / 10)
    answers = [
        (a5.A5Assembler, A5Simulator(state, extra_frames=True).handle(a5.build_request(0x95, 0x80)) or b""),
        (d2.ModbusAssembler, ModbusSimulator(state).handle(d2.build_read(0xD2, 0, 80)) or b""),
    ]
    for make, raw in answers:
        expected = make().feed(raw)
        assembler = make()
        assert [f for chunk in data.draw(_split(raw)) for f in assembler.feed(chunk)] == expected


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60), st.binary(max_size=60), st.binary(max_size=4).map(lambda b: bytes(x & 0xFF for x in b)))
def test_junk_before_and_after_is_skipped(before: bytes, after: bytes, idle_len: bytes) -> None:
    """The real frame is found whatever junk precedes it, and whatever follows it in a later chunk.

    In the same chunk, A5 accepts after a frame only another frame or idle-line bytes (0x00/0xFF): anything else
    is what a byte-shifted window looks like (tests/reliability/test_a5_shifted_window.py).
    """
    idle = bytes(0xFF if b & 1 else 0x00 for b in idle_len)
    assert a5.parse_frame(A5_SOC) in a5.A5Assembler().feed(before + A5_SOC + idle + A5_SOC)
    assembler = a5.A5Assembler()
    assert a5.parse_frame(A5_SOC) in assembler.feed(before + A5_SOC + idle)
    assembler.feed(after)
    for raw in _real_modbus():
        assert d2.parse_frame(raw) in d2.ModbusAssembler().feed(before + raw + after)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=20).filter(lambda b: b.lstrip(b"\x00\xff")[:1] not in (b"", b"\xa5")))
def test_a5_frame_followed_by_junk_is_refused(junk: bytes) -> None:
    """A frame followed in the same chunk by bytes that cannot start a frame is a shifted window: refused.

    In a later chunk, the frame was already returned: ``straddled`` says so and the reader refuses the answer.
    """
    assert a5.parse_frame(A5_SOC) not in a5.A5Assembler().feed(A5_SOC + junk)
    assembler = a5.A5Assembler()
    assert assembler.feed(A5_SOC) == [a5.parse_frame(A5_SOC)]
    assembler.feed(junk)
    assert assembler.straddled == 1


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_corrupted_byte_is_never_decoded(data: st.DataObject) -> None:
    """Flip bits in any one byte: the sum checksum (A5) and the CRC (D2/P81) both catch it."""
    raw = data.draw(st.sampled_from([A5_SOC, A5_CELLS, *_real_modbus()]))
    position = data.draw(st.integers(0, len(raw) - 1))
    corrupted = bytearray(raw)
    corrupted[position] ^= data.draw(st.integers(1, 255))
    assume(bytes(corrupted) != raw)
    modbus = raw[0] != t.A5_START
    parse = d2.parse_frame if modbus else a5.parse_frame
    with pytest.raises((ChecksumError, FrameError)):
        parse(bytes(corrupted))
    assembler: FrameAssembler = d2.ModbusAssembler() if modbus else a5.A5Assembler()
    assert assembler.feed(bytes(corrupted)) == []


def test_the_corrupted_real_notification_is_never_decoded() -> None:
    """btsnoop_daly_bad_crc_notify (real, CRC FAIL) yields nothing in a stream, between two good frames too."""
    bad = [e for e in load_vectors("daly_ble_modbus") if e["checksum_recomputed"]["response"] == "FAIL"]
    assert [e["id"] for e in bad] == ["btsnoop_daly_bad_crc_notify"]
    raw = bytes.fromhex(bad[0]["response_hex"])
    good = _real_modbus()[2]
    frames = d2.ModbusAssembler().feed(good + raw + good)
    assert [f.raw for f in frames] == [good, good]


def test_a_missing_cell_frame_is_an_error_naming_it() -> None:
    """16 cells need frames 1-6: without frame 3 the decoder names it instead of returning 13 cells."""
    sim = A5Simulator()
    frames = a5.A5Assembler().feed(sim.handle(a5.build_request(t.CMD_CELLS, t.HOST_RS485)) or b"")
    without_3 = [f for f in frames if f.payload[0] != 3]
    with pytest.raises(FrameError, match=r"frame\(s\) 3 of 6 missing \(received 1, 2, 4, 5, 6\)"):
        a5.decode_cells(without_3, 16)
    with pytest.raises(FrameError, match="frame"):
        a5.decode_temps([], 2)
    assert len(a5.decode_cells(frames, 16)) == 16


def test_a_late_reply_after_a_junk_header_is_not_lost() -> None:
    """A junk A5 header and a truncated Modbus header must not swallow the real reply that follows."""
    assembler = a5.A5Assembler()
    assert assembler.feed(bytes.fromhex("a501900801")) == []
    assert [f.raw for f in assembler.feed(A5_SOC)] == [A5_SOC]
    modbus = d2.ModbusAssembler()
    good = _real_modbus()[0]
    assert modbus.feed(bytes.fromhex("d203a00ccf")) == []
    assert [f.raw for f in modbus.feed(good)] == [good]


def test_requests_and_replies_are_told_apart() -> None:
    """An echoed request on an RS485 adapter is never taken for a reply (and the other way round)."""
    request = a5.build_request(t.CMD_PACK, t.HOST_RS485)
    assert a5.A5Assembler().feed(request) == []
    assert a5.A5Assembler(request=True).feed(A5_SOC) == []
    read = d2.build_read(t.D2_DEVICE, 0, 62)
    assert d2.ModbusAssembler().feed(read) == []  # a byte count of 0 is no reply


def test_crc_helper() -> None:
    """CRC-16/MODBUS check value, low byte first on the wire, the vendor sheet's ``D2 03 02 00 01 FC 56``."""
    assert crc16_modbus(b"123456789") == 0x4B37
    assert crc16_modbus_bytes(bytes.fromhex("d203020001")) == bytes.fromhex("fc56")
    assert d2.parse_frame(bytes.fromhex("d203020001fc56")).payload == b"\x00\x01"

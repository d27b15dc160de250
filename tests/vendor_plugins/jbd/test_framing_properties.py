"""Property tests of JBD frame assembly and decoding on hostile input.

Arbitrary bytes never raise anything but ``BmsError``; a valid frame split anywhere reassembles to the same frame
(and the same snapshot); junk before and after a frame is skipped; a corrupted frame is never decoded.
"""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.vectors import load_vectors
from vendor_plugins.errors import BmsError, ChecksumError, FrameError
from vendor_plugins.jbd import codec
from vendor_plugins.jbd import table as t
from vendor_plugins.jbd.simulator import JbdSimulator, JbdState

REAL_BASIC = bytes.fromhex("dd03001d0618000001f201f400002c7c00000000000080640304030b8b0b8a0b84fa8d77")
REAL_CELLS = bytes.fromhex("dd0400080f450f3d0f370f3dfec677")


def _real_frames() -> list[bytes]:
    return [REAL_BASIC, REAL_CELLS]


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_bms_errors(data: bytes) -> None:
    """Assembler, strict parser and decoders: BmsError or a result, never anything else."""
    assembler = codec.JbdAssembler()
    for frame in assembler.feed(data):
        assert codec.parse_frame(frame.raw) == frame
    for parse in (codec.parse_frame, lambda d: codec.parse_frame(d, request=True)):
        with contextlib.suppress(BmsError):
            parse(data)
    for decode in (codec.decode_basic, codec.decode_cells, codec.decode_hardware):
        with contextlib.suppress(BmsError):
            decode(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=12))
def test_arbitrary_chunks_to_the_assembler_never_raise(chunks: list[bytes]) -> None:
    """Feeding many chunks never raises and never yields a frame that fails strict parsing."""
    assembler = codec.JbdAssembler()
    for chunk in chunks:
        for frame in assembler.feed(chunk):
            assert codec.parse_frame(frame.raw) == frame
    assert assembler.pending <= assembler.max_buffer


def test_every_split_point_of_real_frames_reassembles() -> None:
    """A real frame cut in two at every possible point gives exactly that frame."""
    for raw in _real_frames():
        whole = codec.parse_frame(raw)
        for cut in range(len(raw) + 1):
            assembler = codec.JbdAssembler()
            frames = assembler.feed(raw[:cut]) + assembler.feed(raw[cut:])
            assert frames == [whole], cut


def test_byte_by_byte_like_a_slow_uart() -> None:
    """One byte at a time (a serial port at 9600 baud)."""
    assembler = codec.JbdAssembler()
    frames = [f for b in REAL_BASIC + REAL_CELLS for f in assembler.feed(bytes([b]))]
    assert [f.raw for f in frames] == [REAL_BASIC, REAL_CELLS]


@st.composite
def _split(draw: st.DrawFn, data: bytes) -> list[bytes]:
    cuts = sorted(draw(st.sets(st.integers(0, len(data)), max_size=8)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_chunking_of_simulated_frames_gives_the_same_snapshot(data: st.DataObject) -> None:
    """Any frame the simulator can produce, in any chunking, decodes to the same snapshot as unsplit."""
    cells = data.draw(st.lists(st.integers(2500, 4200).map(lambda v: v / 1000), min_size=1, max_size=24))
    sim = JbdSimulator(JbdState(cell_voltages=cells, current=data.draw(st.integers(-5000, 5000)) / 100))
    basic_raw = sim.handle(codec.build_read(t.REG_BASIC)) or b""
    cells_raw = sim.handle(codec.build_read(t.REG_CELLS)) or b""
    expected = codec.to_snapshot(
        codec.decode_basic(codec.parse_frame(basic_raw).payload),
        codec.decode_cells(codec.parse_frame(cells_raw).payload),
    )
    assembler = codec.JbdAssembler()
    frames = [f for chunk in data.draw(_split(basic_raw + cells_raw)) for f in assembler.feed(chunk)]
    assert [f.command for f in frames] == [t.REG_BASIC, t.REG_CELLS]
    snap = codec.to_snapshot(codec.decode_basic(frames[0].payload), codec.decode_cells(frames[1].payload))
    assert snap == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.binary(max_size=80))
def test_junk_before_and_after_is_skipped(before: bytes, after: bytes) -> None:
    """The real frame is found whatever junk surrounds it (junk could only add frames that are themselves valid)."""
    assembler = codec.JbdAssembler()
    frames = assembler.feed(before + REAL_BASIC + after)
    assert codec.parse_frame(REAL_BASIC) in frames


@settings(max_examples=300, deadline=None)
@given(st.integers(1, len(REAL_BASIC) - 2), st.integers(1, 255))
def test_a_corrupted_byte_is_never_decoded(position: int, flip: int) -> None:
    """Flip bits in any byte after the start: the frame is rejected (checksum, length or end byte)."""
    corrupted = bytearray(REAL_BASIC)
    corrupted[position] ^= flip
    assume(bytes(corrupted) != REAL_BASIC)
    if position == 1:
        # The response's register byte is outside the JBD checksum (a protocol fact): the frame parses, but as an
        # answer for another register, which the session refuses.
        with_other_register = codec.parse_frame(bytes(corrupted))
        with pytest.raises(FrameError):
            codec.check_response(with_other_register, t.REG_BASIC)
        return
    try:
        frame = codec.parse_frame(bytes(corrupted))
    except ChecksumError, FrameError:
        frame = None
    # The JBD sum checksum cannot catch two compensating changes, but a single changed byte always shows.
    assert frame is None
    assert codec.JbdAssembler().feed(bytes(corrupted)) == []


def test_real_failing_vectors_never_decode() -> None:
    """The vectors marked FAIL in jbd.json give no frame in a stream and an error when parsed strictly."""
    failing = [e for e in load_vectors("jbd") if e["checksum_recomputed"].get("response") == "FAIL"]
    assert failing
    for entry in failing:
        raw = bytes.fromhex(entry["response_hex"])
        assert codec.JbdAssembler().feed(raw) == []
        try:
            codec.parse_frame(raw)
        except ChecksumError, FrameError:
            continue
        raise AssertionError(f"{entry['id']} decoded")


def test_late_reply_after_junk_header_is_not_lost() -> None:
    """A junk header claiming 255 bytes must not swallow the real reply that follows it."""
    assembler = codec.JbdAssembler()
    assert assembler.feed(bytes.fromhex("dd0300ff0102")) == []
    assert [f.raw for f in assembler.feed(REAL_CELLS)] == [REAL_CELLS]

"""Property tests of PACE ASCII and Modbus RTU assembly and decoding on hostile input.

Arbitrary bytes never raise anything but ``BmsError``; a real frame split at every point reassembles to the same
frame; junk around a frame is skipped; a corrupted frame is never decoded.
"""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.vectors import load_vectors, vector
from vendor_plugins.errors import BmsError, ChecksumError, FrameError
from vendor_plugins.pace import codec_ascii as codec
from vendor_plugins.pace import codec_ascii_layout as layout
from vendor_plugins.pace import codec_modbus as mb
from vendor_plugins.pace import table as t
from vendor_plugins.pace.simulator_modbus import RtuRequestAssembler

REAL_ANALOG = bytes.fromhex(
    "7e3235303134363030463037413030303131303043433730434338304343373043433730434337304343353043433630434337304343"
    "373043433630434337304343363043433630434337304343363043433730363042394230423939304239393042393930424233304242"
    "434646314643434344313244333033323836413030384332373130453145340d"
)
REAL_STATUS = bytes.fromhex(
    "7e3235303134363030303034433030303131303030303030303030303030303030303030303030303030303030303030303030303630"
    "3030303030303030303030303030303030303030303045303030303030303030303030454633410d"
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_bms_errors(data: bytes) -> None:
    """Assembler, strict parser and INFO decoders: a result or a BmsError, never anything else."""
    for frame in codec.AsciiAssembler().feed(data):
        assert codec.to_frame(codec.parse_frame(frame.raw)) == frame
    with contextlib.suppress(BmsError):
        codec.parse_frame(data)
    for version in (t.VER_25, t.VER_20):
        for decode in (
            lambda d, v=version: layout.decode_analog(d, v),
            lambda d, v=version: layout.decode_analog(d, v, all_packs=True),
            lambda d, v=version: layout.decode_warn(d, v),
        ):
            with contextlib.suppress(BmsError):
                decode(data)
    with contextlib.suppress(BmsError):
        mb.parse_read_response(data, 1)
    with contextlib.suppress(BmsError):
        mb.decode_registers(data)
    RtuRequestAssembler().feed(data)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="~0123456789ABCDEF\r", max_size=300))
def test_plausible_ascii_noise_never_yields_an_invalid_frame(text: str) -> None:
    """Noise made of the protocol's own characters: every frame the assembler yields parses strictly."""
    assembler = codec.AsciiAssembler()
    for frame in assembler.feed(text.encode()):
        assert codec.parse_frame(frame.raw).raw == frame.raw


def test_every_split_point_of_real_frames_reassembles() -> None:
    """A real frame cut in two anywhere gives exactly that frame."""
    for raw in (REAL_ANALOG, REAL_STATUS):
        whole = codec.to_frame(codec.parse_frame(raw))
        for cut in range(len(raw) + 1):
            assembler = codec.AsciiAssembler()
            assert assembler.feed(raw[:cut]) + assembler.feed(raw[cut:]) == [whole], cut


def test_byte_by_byte_like_a_slow_uart() -> None:
    """One byte at a time (9600 baud serial)."""
    assembler = codec.AsciiAssembler()
    frames = [f for b in REAL_ANALOG + REAL_STATUS for f in assembler.feed(bytes([b]))]
    assert [f.raw for f in frames] == [REAL_ANALOG, REAL_STATUS]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, len(REAL_ANALOG) + len(REAL_STATUS)), max_size=10))
def test_random_chunking_reassembles(cuts: list[int]) -> None:
    """Any chunking of two consecutive frames gives both."""
    stream = REAL_ANALOG + REAL_STATUS
    bounds = [0, *sorted(cuts), len(stream)]
    assembler = codec.AsciiAssembler()
    frames = [f for a, b in itertools.pairwise(bounds) for f in assembler.feed(stream[a:b])]
    assert [f.raw for f in frames] == [REAL_ANALOG, REAL_STATUS]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.binary(max_size=80))
def test_junk_before_and_after_is_skipped(before: bytes, after: bytes) -> None:
    """The real frame is found whatever junk surrounds it."""
    frames = codec.AsciiAssembler().feed(before + REAL_ANALOG + after)
    assert REAL_ANALOG in [f.raw for f in frames]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, len(REAL_ANALOG) - 2), st.sampled_from(b"0123456789ABCDEF"))
def test_a_changed_character_is_never_decoded(position: int, char: int) -> None:
    """Any single changed hex character is caught (LCHKSUM, CHKSUM or length)."""
    corrupted = bytearray(REAL_ANALOG)
    assume(corrupted[position] != char)
    corrupted[position] = char
    with pytest.raises((ChecksumError, FrameError)):
        codec.parse_frame(bytes(corrupted))
    assert REAL_ANALOG not in [f.raw for f in codec.AsciiAssembler().feed(bytes(corrupted))]
    assert codec.AsciiAssembler().feed(bytes(corrupted)) == []


def test_junk_header_claiming_a_long_frame_does_not_hide_the_real_one() -> None:
    """A '~' followed by a valid-looking long LENGTH must not swallow the next real frame."""
    assembler = codec.AsciiAssembler()
    assert assembler.feed(b"~25014600FFFE") == []
    assert [f.raw for f in assembler.feed(REAL_STATUS)] == [REAL_STATUS]


def test_real_modbus_frames_split_everywhere() -> None:
    """The RTU request assembler (simulator side) reassembles the real requests at every split point."""
    for entry in load_vectors("pace_modbus"):
        raw = bytes.fromhex(entry["request_hex"])
        for cut in range(len(raw) + 1):
            assembler = RtuRequestAssembler()
            frames = assembler.feed(raw[:cut]) + assembler.feed(raw[cut:])
            assert [f.raw for f in frames] == [raw]


def test_vector_frames_are_used() -> None:
    """The frames above are the real captures of pace_ascii.json (not retyped by hand)."""
    assert bytes.fromhex(vector("pace_ascii", "nkinnan_v25_analog")["response_hex"]) == REAL_ANALOG
    assert bytes.fromhex(vector("pace_ascii", "nkinnan_v25_status")["response_hex"]) == REAL_STATUS

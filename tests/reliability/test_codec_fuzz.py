"""Hypothesis fuzzing of every codec entry point that takes wire bytes: a result or a ``BmsError``, nothing else.

Bounded for the default run (``FUZZ_EXAMPLES`` per target); ``fuzz/run.py`` runs the same targets for as long as
wanted. Inputs are arbitrary bytes plus mutations of real frames (so checksums and headers are often right and the
decoders behind them are reached).
"""

from __future__ import annotations

import contextlib
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.targets import TARGETS, seeds
from vendor_plugins.errors import BmsError

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))


@st.composite
def wire_bytes(draw: st.DrawFn) -> bytes:
    """Arbitrary bytes, or a real frame with a few bytes changed, cut or appended."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=400))
    data = bytearray(draw(st.sampled_from(seeds())))
    for _ in range(draw(st.integers(0, 3))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut] if draw(st.booleans()) else data) + draw(st.binary(max_size=8))


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_codec_entry_point_raises_only_bms_errors(name: str) -> None:
    target = TARGETS[name]

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(wire_bytes())
    def run(data: bytes) -> None:
        with contextlib.suppress(BmsError):
            target(data)

    run()


def test_regression_daly_a5_short_balance_payload_is_a_frame_error() -> None:
    """Found by this fuzzer: ``a5.decode_balance(b"")`` raised IndexError instead of a BmsError."""
    from vendor_plugins.daly import codec_a5 as a5
    from vendor_plugins.errors import FrameError

    with pytest.raises(FrameError):
        a5.decode_balance(b"\x01\x02")
    assert a5.decode_balance(bytes([0b101]) + bytes(7)) == frozenset({1, 3})

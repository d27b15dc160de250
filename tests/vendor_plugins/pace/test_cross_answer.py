"""PACE answers do not name the command they answer: a late 0x42 reply must never be combined as a 0x44 answer.

Regression for the soak run of issue 9 (9 wrong snapshots, each after a delayed reply on a PACE bus).
"""

from __future__ import annotations

import pytest

from vendor_plugins.errors import BmsError
from vendor_plugins.pace import codec_ascii as codec
from vendor_plugins.pace import codec_ascii_layout as layout
from vendor_plugins.pace import table as t
from vendor_plugins.pace.simulator_ascii import PaceAsciiSimulator


def _info(sim: PaceAsciiSimulator, cid2: int) -> bytes:
    reply = sim.handle(codec.build_read(codec.V25, sim.address, cid2, sim.address)) or b""
    return codec.parse_frame(reply).info


def test_matching_answers_combine() -> None:
    sim = PaceAsciiSimulator(address=1)
    analog = layout.decode_analog(_info(sim, t.Cid2.ANALOG))
    warn = layout.decode_warn(_info(sim, t.Cid2.WARN))
    snap = layout.to_snapshot(analog.blocks[0], warn)
    assert snap.cell_voltages == tuple(sim.state.cells)


def test_an_analog_answer_taken_as_the_warn_answer_is_refused() -> None:
    sim = PaceAsciiSimulator(address=1)
    analog_info = _info(sim, t.Cid2.ANALOG)
    analog = layout.decode_analog(analog_info)
    with pytest.raises(BmsError):
        layout.to_snapshot(analog.blocks[0], layout.decode_warn(analog_info))

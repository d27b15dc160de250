"""Capture traffic from a simulator, write it in the vectors shape, and replay it through the codec."""

from __future__ import annotations

from pathlib import Path

import pytest

from vendor_plugins.capture import CaptureRecorder, ReplayLink, load_capture
from vendor_plugins.errors import DeviceTimeout
from vendor_plugins.jbd.plugin import PLUGIN
from vendor_plugins.jbd.simulator import JbdSimulator, JbdState
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import TcpLink


async def test_capture_round_trip_through_the_file_format(tmp_path: Path) -> None:
    """The snapshot decoded from a replayed capture equals the one read live."""
    sim = JbdSimulator(JbdState(current=-3.21, cycles=77, temperatures=[20.1, 22.2, 19.9]))
    recorder = CaptureRecorder(vendor="jbd")
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=1.0) as link:
        recorder.attach(link)
        session = PLUGIN.open_session(link)
        live = await session.read()
        recorder.note_decoded({"snapshot": live.to_dict()})
        info = await session.device_info()
        recorder.note_decoded({"device": info.to_dict()})
    path = tmp_path / "capture.json"
    assert recorder.write(path, family="jbd") == 4  # 0x03, 0x04, then 0x05 and 0x03 for device info

    entries = load_capture(path)
    assert [e["request_hex"] for e in entries] == [
        "dda50300fffd77",
        "dda50400fffc77",
        "dda50500fffb77",
        "dda50300fffd77",
    ]
    assert entries[0]["response_hex"].startswith("dd0300")
    assert {t["dir"] for t in entries[0]["traffic"]} == {"tx", "rx"}
    assert entries[1]["decoded_here"]["snapshot"]["cycles"] == 77
    assert entries[3]["decoded_here"]["device"]["model"] == sim.state.model
    for key in ("id", "source", "capture_type", "request_hex", "response_hex", "expected", "checksum_recomputed"):
        assert key in entries[0]

    async with ReplayLink(entries) as replay:
        replayed = await PLUGIN.open_session(replay).read()
    assert replayed == live


async def test_replay_of_an_unrecorded_request_times_out() -> None:
    """A capture cannot invent answers."""
    async with ReplayLink([], timeout=0.1) as replay:
        with pytest.raises(DeviceTimeout):
            await PLUGIN.open_session(replay).read()

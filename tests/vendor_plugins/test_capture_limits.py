"""``bmsgw capture`` against hostile conditions: caps on what is recorded, unwritable output (the flood and signals:
``test_cli_flood.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vendor_plugins import cli
from vendor_plugins.capture import CaptureRecorder, ReplayLink


def test_a_capture_is_capped_and_says_so() -> None:
    """Past the byte cap nothing more is recorded, only counted; the last entry and the summary say it."""
    recorder = CaptureRecorder(vendor="v", max_bytes=100, max_pieces=1000)
    link = ReplayLink([])
    recorder.attach(link)
    assert link.tap is not None
    link.tap("rx", b"before any request")  # nothing asked for it: never recorded
    link.tap("tx", b"\x01" * 10)
    link.tap("rx", b"\x02" * 80)
    link.tap("tx", b"\x01" * 10)
    link.tap("rx", b"\x03" * 20)  # 120 > 100: from here on only counted
    link.tap("tx", b"\x01" * 10)
    link.tap("rx", b"\x04" * 5)
    recorder.note_decoded({"snapshot": {}})  # belongs to exchanges not recorded: dropped
    entries = recorder.entries()
    assert [e["response_hex"] for e in entries] == [(b"\x02" * 80).hex(), None]
    assert all(e["decoded_here"] == {} for e in entries)
    assert "capture_truncated" not in entries[0]
    assert entries[-1]["capture_truncated"] == {
        "reason": "capture capped at 100 bytes / 1000 pieces of traffic",
        "bytes_not_recorded": 35,
        "pieces_not_recorded": 3,
        "requests_not_recorded": 1,
    }


def test_a_capture_is_capped_in_pieces_too() -> None:
    """A flood of tiny chunks (BLE notifications) stops at the piece cap, whatever their bytes."""
    recorder = CaptureRecorder(vendor="v", max_pieces=50)
    link = ReplayLink([])
    recorder.attach(link)
    assert link.tap is not None
    link.tap("tx", b"\x01")
    for _ in range(1000):
        link.tap("rx", b"\x00")
    assert len(recorder.events) == 50
    assert recorder.pieces_not_recorded == 951
    assert recorder.entries()[-1]["capture_truncated"]["bytes_not_recorded"] == 951


def test_capture_to_an_unwritable_file_names_it_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """``--out /dev/full``: one error line naming the file; exit 2 (the output is unusable, not the device)."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    code = cli.main(["capture", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--out", "/dev/full", "--timeout", "0.2"])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, err
    assert lines == ["bmsgw: error: cannot write the capture to /dev/full: No space left on device"]
    assert "captured" not in out

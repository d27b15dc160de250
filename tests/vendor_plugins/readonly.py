"""Classify request frames sent to a BMS as reads or writes, by their bytes alone (for "probing never writes").

Every request family the library can send is recognised; anything else fails the test (an unknown frame could be a
write). The rules are the protocols' own: JBD mode byte 0xA5 read / 0x5A write (PROTOCOLS.md §3), DALY A5 commands
0x90-0x98 read, 0xD9/0xDA and the rest writes (§1), DALY D2/P81 function 0x03 read, 0x06/0x10 write (§2), PACE ASCII
CID2 0x42/0x44/… read, 0x99/0x9A/0x9B/0x9C/0xB2 write (§4), PACEEX (0x9A…0x9D) the bank/pack/cell/status/version/serial
queries read, any other type counted as a write (§4.8).
"""

from __future__ import annotations

from collections.abc import Iterable

PACE_READS = frozenset({0x42, 0x44, 0x47, 0x4F, 0x51, 0x90, 0xA1, 0xA6, 0xB1, 0xC1, 0xC2})
PACE_WRITES = frozenset({0x49, 0x99, 0x9A, 0x9B, 0x9C, 0xB2})
PACEEX_READS = frozenset({0x0A000000, 0x0A010000, 0x0A020000, 0x0A030000, 0x00010000, 0x00020000})  # 6-byte types


def request_kind(frame: bytes) -> tuple[str, str]:
    """``(family, "read" | "write")`` of one request frame; ``AssertionError`` for an unknown frame."""
    assert frame, "an empty request"
    first = frame[0]
    if first == 0xDD:
        assert frame[-1] == 0x77 and frame[1] in (0xA5, 0x5A), frame.hex()
        return "jbd", "read" if frame[1] == 0xA5 else "write"
    if first == 0xA5:
        assert len(frame) == 13, frame.hex()
        return "daly-a5", "read" if 0x90 <= frame[2] <= 0x98 else "write"
    if first in (0xD2, 0x81):
        assert len(frame) >= 8, frame.hex()
        return "daly-modbus", "read" if frame[1] in (0x03, 0x04) else "write"
    if first == ord("~"):
        assert frame.endswith(b"\r"), frame
        cid2 = int(frame[7:9], 16)
        assert cid2 in PACE_READS | PACE_WRITES, frame
        return "pace-ascii", "read" if cid2 in PACE_READS else "write"
    if first == 0x9A:
        assert frame[-1] == 0x9D and len(frame) == 11 + frame[7], frame.hex()
        return "paceex", "read" if int.from_bytes(frame[1:7], "big") in PACEEX_READS else "write"
    raise AssertionError(f"not a request frame of any known family: {frame.hex()}")


def assert_read_only(requests: Iterable[bytes]) -> int:
    """Every request is a read; returns how many were checked (so a test can insist something was sent)."""
    checked = 0
    for request in requests:
        family, kind = request_kind(request)
        assert kind == "read", f"a {family} write was sent: {request.hex()}"
        checked += 1
    return checked

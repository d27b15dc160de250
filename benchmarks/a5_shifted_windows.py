"""DALY A5: how many one-byte slips (a byte lost or inserted on the wire) the framing still lets through.

The A5 checksum is an 8-bit sum, so a 13-byte window shifted by a lost or inserted byte passes it about one time in
256. This enumerates every single dropped byte and every inserted byte value (0..255) at every position of every
reply of the A5 read sequence, for several live simulator states. It feeds each result to :class:`A5Assembler` in
one chunk and in 13-byte chunks (so a shifted window ends a chunk and the byte after it starts the next), and counts
frames returned that the simulator never sent. Frames the assembler flags (``straddled``: the reader refuses the
answer) are not counted.

    .venv/bin/python benchmarks/a5_shifted_windows.py [--states 6]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator

from vendor_plugins.daly import codec_a5 as a5
from vendor_plugins.daly import table as t
from vendor_plugins.daly.simulator import A5Simulator


def replies(seed: int) -> list[bytes]:
    """One live simulator state's replies to the whole read sequence."""
    sim = A5Simulator(live=True, seed=seed, extra_frames=bool(seed % 2))
    sim.advance(37.0 * (seed + 1))
    return [sim.handle(a5.build_request(cmd, t.HOST_UART_BLE)) or b"" for cmd in t.A5_READ_SEQUENCE]


def slips(reply: bytes) -> Iterator[tuple[str, bytes]]:
    """Every one-byte drop and every one-byte insert of ``reply``."""
    for i in range(len(reply)):
        yield "drop", reply[:i] + reply[i + 1 :]
    for i in range(len(reply) + 1):
        for value in range(256):
            yield "insert", reply[:i] + bytes((value,)) + reply[i:]


def wrong_frames(stream: bytes, sent: set[bytes], *, split: bool) -> int:
    """Frames the assembler returns that were never sent, unless it flagged the answer as shifted."""
    assembler = a5.A5Assembler()
    step = t.A5_FRAME_LEN if split else len(stream)
    chunks = [stream[i : i + step] for i in range(0, len(stream), step)]
    frames = [f for chunk in chunks for f in assembler.feed(chunk)]
    if assembler.straddled:
        return 0
    return sum(f.raw not in sent for f in frames)


def main() -> None:
    """Enumerate and print counts (``--json`` for the raw figures)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=6, help="live simulator states to enumerate")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    counts = {kind: {"cases": 0, "wrong_one_chunk": 0, "wrong_split": 0} for kind in ("drop", "insert")}
    for seed in range(args.states):
        for reply in replies(seed):
            sent = {reply[k : k + t.A5_FRAME_LEN] for k in range(0, len(reply), t.A5_FRAME_LEN)}
            for kind, stream in slips(reply):
                row = counts[kind]
                row["cases"] += 1
                row["wrong_one_chunk"] += wrong_frames(stream, sent, split=False) > 0
                row["wrong_split"] += wrong_frames(stream, sent, split=True) > 0
    result = {"states": args.states, "seconds": round(time.perf_counter() - started, 1), **counts}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for kind in ("drop", "insert"):
        row = counts[kind]
        print(
            f"{kind:6} {row['cases']:7} cases: wrong frame accepted {row['wrong_one_chunk']} (one chunk),"
            f" {row['wrong_split']} (13-byte chunks)"
        )
    print(f"{result['seconds']} s")


if __name__ == "__main__":
    main()

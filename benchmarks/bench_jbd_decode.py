"""Micro-benchmark: JBD frames decoded per second (assembler + strict parse + decode into a snapshot).

Run: ``.venv/bin/python benchmarks/bench_jbd_decode.py`` — prints frames/s for the assembler path (a stream of
real frames fed in 20-byte BLE-sized chunks) and for the direct parse+decode path. Not a timed test.
"""

from __future__ import annotations

import time

from vendor_plugins.jbd import codec

# Real UART capture of a JBD-SP04S034 (PROTOCOLS.md §3.7): basic info and cell voltages.
BASIC = bytes.fromhex("dd03001d0618000001f201f400002c7c00000000000080640304030b8b0b8a0b84fa8d77")
CELLS = bytes.fromhex("dd0400080f450f3d0f370f3dfec677")


def bench_direct(rounds: int) -> float:
    """Frames per second through parse_frame + decode + to_snapshot (one snapshot per 2 frames)."""
    start = time.perf_counter()
    for _ in range(rounds):
        basic = codec.decode_basic(codec.parse_frame(BASIC).payload)
        cells = codec.decode_cells(codec.parse_frame(CELLS).payload)
        codec.to_snapshot(basic, cells)
    return 2 * rounds / (time.perf_counter() - start)


def bench_stream(rounds: int, chunk: int = 20) -> float:
    """Frames per second when the bytes arrive in BLE-notification-sized chunks."""
    stream = (BASIC + CELLS) * 50
    chunks = [stream[i : i + chunk] for i in range(0, len(stream), chunk)]
    assembler = codec.JbdAssembler()
    frames = 0
    start = time.perf_counter()
    for _ in range(rounds):
        for piece in chunks:
            frames += len(assembler.feed(piece))
    elapsed = time.perf_counter() - start
    assert frames == 100 * rounds
    return frames / elapsed


def main() -> None:
    """Print the numbers."""
    bench_direct(2000)  # warm-up
    print(f"direct parse+decode+snapshot: {bench_direct(50_000):,.0f} frames/s")
    print(f"stream assembly (20-byte chunks) + strict parse: {bench_stream(500):,.0f} frames/s")


if __name__ == "__main__":
    main()

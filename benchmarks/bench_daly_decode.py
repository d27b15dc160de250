"""Micro-benchmark: DALY frames decoded per second, A5 (legacy) and D2 (Modbus-style).

Run: ``.venv/bin/python benchmarks/bench_daly_decode.py`` — prints frames/s for

* A5: strict parse + field decode of real single answers, a whole 16S reading (13 frames: 0x90, 0x93, 0x94,
  six 0x95, three 0x96, 0x97, 0x98) into a snapshot, and stream assembly of those frames in 20-byte chunks;
* D2: strict parse (CRC-16) + decode of the real 80-register status frame into a snapshot, and stream assembly.

Not a timed test.
"""

from __future__ import annotations

import time

from vendor_plugins.daly import codec_a5 as a5
from vendor_plugins.daly import codec_d2 as d2
from vendor_plugins.daly import table as t
from vendor_plugins.daly.simulator import A5Simulator
from vendor_plugins.daly.simulator_state import DalyState
from vendor_plugins.framing import Frame

# Real frames (PROTOCOLS.md §1.5, §2.6): mpp-solar 0x90 and tomatensaus 0x93; esphome-daly-bms 80-register status.
A5_PACK = bytes.fromhex("a5019008021400007545037889")
A5_MOSFET = bytes.fromhex("a501930802010171000486c000")
D2_STATUS = bytes.fromhex(
    "d203a00ccf0cd10cd10cd10cd10cd10cd20cd20cd20cd20cd00cd10cd20cd20cd20cd100000000000000000000000000000000000000"
    "0000000000000000000000000000370037003700370000000000000000020d751102120cd20ccf003700370002045900100004003900"
    "00000100010cd1000300a200000000000000000000000075300000003700000000000000000000000000000000000000000000000000"
    "004482"
)


def _a5_reading_stream() -> bytes:
    sim = A5Simulator(DalyState(temperatures=[24.0] * 15))  # 16 cells (6 frames), 15 sensors (3 frames)
    return b"".join(sim.handle(a5.build_request(cmd, t.HOST_UART_BLE)) or b"" for cmd in t.A5_READ_SEQUENCE)


def _a5_snapshot(frames: list[Frame]) -> None:
    by_cmd: dict[int, list[Frame]] = {}
    for frame in frames:
        by_cmd.setdefault(frame.command, []).append(frame)
    status = a5.decode_fields(t.CMD_STATUS, by_cmd[t.CMD_STATUS][0].payload)
    reading = a5.A5Reading(
        pack=a5.decode_fields(t.CMD_PACK, by_cmd[t.CMD_PACK][0].payload),
        mosfet=a5.decode_fields(t.CMD_MOSFET, by_cmd[t.CMD_MOSFET][0].payload),
        status=status,
        cells_mv=a5.decode_cells(by_cmd[t.CMD_CELLS], status["cell_count"]),
        temps_raw=a5.decode_temps(by_cmd[t.CMD_TEMPS], status["temp_count"]),
        balance=by_cmd[t.CMD_BALANCE][0].payload,
        failure=by_cmd[t.CMD_FAILURE][0].payload,
    )
    a5.to_snapshot(reading)


def bench_a5_single(rounds: int) -> float:
    """Frames per second: strict parse + field decode of single answers."""
    start = time.perf_counter()
    for _ in range(rounds):
        for raw in (A5_PACK, A5_MOSFET):
            frame = a5.parse_frame(raw)
            a5.decode_fields(frame.command, frame.payload)
    return 2 * rounds / (time.perf_counter() - start)


def bench_a5_reading(rounds: int) -> float:
    """Frames per second: a whole 16S reading (13 frames) parsed and combined into a snapshot."""
    frames = a5.A5Assembler().feed(_a5_reading_stream())
    raws = [f.raw for f in frames]
    start = time.perf_counter()
    for _ in range(rounds):
        _a5_snapshot([a5.parse_frame(raw) for raw in raws])
    return len(raws) * rounds / (time.perf_counter() - start)


def bench_stream(assembler: a5.A5Assembler | d2.ModbusAssembler, stream: bytes, rounds: int, chunk: int = 20) -> float:
    """Frames per second when the bytes arrive in BLE-notification-sized chunks."""
    chunks = [stream[i : i + chunk] for i in range(0, len(stream), chunk)]
    frames = 0
    start = time.perf_counter()
    for _ in range(rounds):
        for piece in chunks:
            frames += len(assembler.feed(piece))
    return frames / (time.perf_counter() - start)


def bench_d2(rounds: int) -> float:
    """Frames per second: strict parse (CRC-16) + status decode + snapshot of the real 80-register frame."""
    start = time.perf_counter()
    for _ in range(rounds):
        frame = d2.parse_frame(D2_STATUS)
        d2.to_snapshot(d2.decode_status("d2", frame.payload))
    return rounds / (time.perf_counter() - start)


def main() -> None:
    """Print the numbers."""
    bench_a5_single(2000)  # warm-up
    a5_stream = _a5_reading_stream() * 20
    rows = (
        ("A5 parse+decode (single answers)", bench_a5_single(50_000)),
        ("A5 16S reading -> snapshot (13 frames)", bench_a5_reading(5_000)),
        ("A5 stream assembly (20-byte chunks)", bench_stream(a5.A5Assembler(), a5_stream, 200)),
        ("D2 parse+decode+snapshot (80 registers)", bench_d2(10_000)),
        ("D2 stream assembly (20-byte chunks)", bench_stream(d2.ModbusAssembler(), D2_STATUS * 50, 100)),
    )
    for label, rate in rows:
        print(f"{label + ':':<42}{rate:>10,.0f} frames/s")


if __name__ == "__main__":
    main()

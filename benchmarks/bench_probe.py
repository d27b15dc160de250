"""Wall time of a full ``bmsgw probe`` on a 9600-baud serial line, worst case first.

Run: ``.venv/bin/python benchmarks/bench_probe.py`` — serves each device on a pseudo-terminal paced at 9600 baud
(every reply delayed by its transmission time) and times ``bmsgw probe --serial PTY --address 1`` as a real
process (interpreter start-up included), default timeouts:

* a device that answers nothing — every plugin's every request times out (the worst case);
* a simulated unit of each vendor and family — probing, then reading the winner.

Not a timed test (tests/vendor_plugins/test_detect.py asserts the worst case stays under 5 s in-process).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from vendor_plugins.framing import FrameAssembler
from vendor_plugins.jbd.codec import JbdAssembler
from vendor_plugins.plugin import SimulatorOptions
from vendor_plugins.registry import load_registry
from vendor_plugins.sim.base import Simulator
from vendor_plugins.sim.pty import serve_pty

ROOT = Path(__file__).resolve().parents[1]
BAUD = 9600


class Silent(Simulator):
    """A device that answers nothing."""

    vendor = "silent"

    def request_assembler(self) -> FrameAssembler:
        """Any framing: nothing is answered anyway."""
        return JbdAssembler(request=True)

    def handle(self, request: bytes) -> bytes | None:
        """Stay silent."""
        return None


async def _probe(path: str) -> tuple[float, int, str]:
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vendor_plugins.cli",
        "probe",
        "--serial",
        path,
        "--baud",
        str(BAUD),
        "--address",
        "1",
        "--json",
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await proc.communicate()
    elapsed = time.monotonic() - started
    text = (out or err).decode().strip()
    return elapsed, proc.returncode or 0, text[:100]


async def main() -> None:
    """Time every case."""
    registry = load_registry(include_third_party=False)
    cases: list[tuple[str, Simulator]] = [("nothing answers", Silent())]
    for vendor, family in (
        ("jbd", "jbd"),
        ("daly", "d2"),
        ("daly", "a5"),
        ("daly", "p81"),
        ("pace", "ascii-25"),
        ("hiximi", "daly-a5"),
    ):
        options = SimulatorOptions(family=family, address=1, profile="static")
        cases.append((f"{vendor} {family}", registry.get(vendor).create_simulator(options)))
    for name, sim in cases:
        async with await serve_pty(sim, baud=BAUD) as server:
            elapsed, code, text = await _probe(server.path)
        print(f"{name:16s} {elapsed:5.2f} s  exit {code}  {text}")


if __name__ == "__main__":
    asyncio.run(main())

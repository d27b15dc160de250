"""Bus outage benchmark: cycles until every pack of a 15-pack bus has fresh data after a link outage.

Run: ``.venv/bin/python benchmarks/bench_bus_outage.py [--baseline path/to/old_poller.py] [--lengths 1,2,3]``.
Not a timed test: the scenarios come from :mod:`tests.support.bus_outage`, which
``tests/reliability/test_bus_outage.py`` asserts on.

For each outage kind — the TCP bridge refusing connections, the bus silent behind a live bridge, silence starting
in the middle of a cycle — and for every bus the registry's multi-address plugins make (frames, and Modbus RTU
through the bridge; rows named by protocol family), a :class:`BusPoller` polls through an outage of 1, 2, 3 ...
cycles, then the outage ends and the cycles until every present pack (the seventh is missing all along) was read in
that same cycle are counted, with the reads attempted per outage cycle and the
CPU time (process time) per cycle. ``--baseline`` loads another ``poller.py`` (e.g. saved from ``git show
<commit>:vendor_plugins/poller.py``) and measures it the same way, for a before/after table.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.bus_outage import ABSENT, SCENARIOS, run_outage
from vendor_plugins import poller as current
from vendor_plugins.plugin import Session


def load(path: str) -> ModuleType:
    """Import a poller module from ``path`` (as a submodule of vendor_plugins, for its relative imports)."""
    spec = importlib.util.spec_from_file_location("vendor_plugins._baseline_poller", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def measure(module: ModuleType, lengths: list[int]) -> dict[str, Any]:
    """Per case: cycles to recovery after outages of each length (max and mean), reads per outage cycle, CPU s."""
    out: dict[str, Any] = {}
    for bus, kind in SCENARIOS:
        packs = tuple(a for a in bus.addresses if a is not None)

        def make(session: Session, packs: tuple[int, ...] = packs) -> Any:
            return module.BusPoller(session, packs, absent_timeout=ABSENT, max_backoff=32)

        factory: Callable[[Session], Any] = make
        cycles, reads, cpu = [], [], []
        for length in lengths:
            began = time.process_time()
            n, attempts, _ = await run_outage(factory, bus, kind, outage_cycles=length)
            cpu.append((time.process_time() - began) / (length + n))
            cycles.append(n)
            reads.append(statistics.mean(attempts))
        out[f"{bus.family or bus.name}/{kind}"] = {
            "recovery_cycles": cycles,
            "max": max(cycles),
            "mean": round(statistics.mean(cycles), 2),
            "reads_per_outage_cycle": round(statistics.median(reads), 1),
            "cpu_ms_per_cycle": round(1000 * statistics.median(cpu), 1),
        }
    return out


def main() -> None:
    """Measure the current poller (and a baseline) and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="another poller.py to compare with")
    parser.add_argument("--lengths", default="1,2,3,4,5,7,10", help="outage lengths in cycles")
    args = parser.parse_args()
    modules = {"current": current}
    if args.baseline:
        modules["baseline"] = load(args.baseline)
    for name, module in modules.items():
        report = asyncio.run(measure(module, [int(x) for x in args.lengths.split(",")]))
        for case, row in report.items():
            print(f"{name:9s} {case:28s} " + " ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()

"""``bmsgw read --vendor pace --address all`` against a simulated 15-pack bus (the issue's end-to-end check).

The bus runs on a private event loop in a thread of this process; ``bmsgw`` runs as a real process reading it
over loopback TCP. ``--address all`` scans addresses 0-15 and lists one pack per address that answered; with
``--watch``, a pack unplugged mid-run turns into an error entry while the other 14 keep updating.
"""

from __future__ import annotations

import asyncio
import json
import selectors
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.vendor_plugins.cli_runner import bmsgw, spawn, stop
from vendor_plugins.pace.plugin import PLUGIN
from vendor_plugins.pace.simulator_ascii import PaceAsciiSimulator
from vendor_plugins.plugin import SimulatorOptions
from vendor_plugins.sim.tcp import SimServer, serve_tcp

pytestmark = pytest.mark.timeout(40)


@pytest.fixture
def bus() -> Iterator[tuple[str, list[PaceAsciiSimulator]]]:
    """15 live packs at addresses 1-15 behind one TCP port, served from a thread."""
    sims = []
    for address in range(1, 16):
        sim = PLUGIN.create_simulator(SimulatorOptions(address=address, seed=address))
        assert isinstance(sim, PaceAsciiSimulator)
        sims.append(sim)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server: SimServer = asyncio.run_coroutine_threadsafe(serve_tcp(sims), loop).result(timeout=5)
    try:
        yield f"{server.host}:{server.port}", sims
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def test_read_all_shows_every_pack(bus: tuple[str, list[PaceAsciiSimulator]]) -> None:
    """One JSON document with 15 pack entries (1-15), each with its own snapshot and device info."""
    target, sims = bus
    proc = bmsgw(
        "read", "--vendor", "pace", "--tcp", target, "--address", "all", "--json", "--timeout", "0.5", timeout=30
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    doc = json.loads(proc.stdout)
    assert doc["vendor"] == "pace" and doc["family"] == "ascii-25"
    assert [p["address"] for p in doc["packs"]] == list(range(1, 16))
    for pack, sim in zip(doc["packs"], sims, strict=True):
        assert pack["error"] is None
        assert len(pack["snapshot"]["cell_voltages"]) == 16
        assert pack["device"]["serial_number"] == sim.state.serial_number


def _documents(proc: subprocess.Popen[str], count: int, timeout: float) -> list[dict[str, Any]]:
    assert proc.stdout is not None
    docs = []
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while len(docs) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"only {len(docs)} of {count} documents in {timeout} s"
            if selector.select(remaining):
                line = proc.stdout.readline()
                assert line, "bmsgw exited early"
                docs.append(json.loads(line))
    return docs


def test_watch_survives_a_pack_removed_mid_run(bus: tuple[str, list[PaceAsciiSimulator]]) -> None:
    """Unplug pack 7 while watching: it reports an error, the other 14 keep new readings in every document."""
    target, sims = bus
    argv = ["read", "--vendor", "pace", "--tcp", target, "--address", "all", "--json", "--timeout", "0.3"]
    proc = spawn(*argv, "--watch", "0.2")
    try:
        before = _documents(proc, 2, 15)
        assert all(p["error"] is None for doc in before for p in doc["packs"])
        sims[6].present = False
        after = _documents(proc, 6, 20)[1:]  # the first may have been read before the removal
    finally:
        stop(proc)
    assert proc.returncode == 0
    for doc in after:
        by_address = {p["address"]: p for p in doc["packs"]}
        assert sorted(by_address) == list(range(1, 16))
        assert by_address[7]["snapshot"] is None and by_address[7]["error"]
        assert all(by_address[a]["snapshot"] is not None for a in by_address if a != 7)
    currents = {a: {doc["packs"][a - 1]["snapshot"]["current"] for doc in after} for a in range(1, 16) if a != 7}
    assert sum(len(v) > 1 for v in currents.values()) >= 12  # the live packs keep changing

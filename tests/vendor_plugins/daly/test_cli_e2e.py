"""End to end: ``bmsgw read/set`` against ``bmsgw simulate --vendor daly``, as separate processes.

Every family (a5, d2, p81) over loopback TCP and over a pseudo-terminal (``--pty`` / ``--serial``), with the
family given and detected; MOSFET control round-trips with read-back; without ``--allow-control`` it is refused
(exit 4) and the pack is untouched. The simulators run the "static" profile, so the values are known exactly.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from vendor_plugins.daly.simulator_state import DalyState

ROOT = Path(__file__).resolve().parents[3]
CLI = [sys.executable, "-m", "vendor_plugins.cli"]
FAMILIES = ("a5", "d2", "p81")
STATIC = DalyState()  # what "--profile static" serves


@dataclass
class Served:
    """A running ``bmsgw simulate`` process and the transport arguments that reach it."""

    proc: subprocess.Popen[str]
    transport: list[str]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def simulate(family: str, where: str) -> Served:
    """Start ``bmsgw simulate --vendor daly --family F`` on TCP port 0 or a pty; its first stdout line says where."""
    place = ["--tcp", "127.0.0.1:0"] if where == "tcp" else ["--pty"]
    args = [*CLI, "simulate", "--vendor", "daly", "--family", family, *place, "--profile", "static"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    if not first:
        proc.kill()
        raise AssertionError(f"simulate printed nothing: {proc.stderr.read() if proc.stderr else ''}")
    if where == "tcp":
        assert first.startswith("tcp://127.0.0.1:"), first
        return Served(proc, ["--tcp", first.removeprefix("tcp://")])
    assert first.startswith("/dev/"), first
    return Served(proc, ["--serial", first])


def bmsgw(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion."""
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def read_args(served: Served, *options: str) -> list[str]:
    """``read … --vendor daly [options] --json --timeout 3``."""
    return ["read", *served.transport, "--vendor", "daly", *options, "--json", "--timeout", "3"]


def parse_json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON document of a successful ``read``."""
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def snapshot(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The one pack's snapshot of a successful ``read``."""
    result: dict[str, Any] = parse_json(done)["packs"][0]["snapshot"]
    return result


Runs = dict[str, subprocess.CompletedProcess[str]]
SET_CASES = [("a5", "tcp"), ("a5", "pty"), ("d2", "tcp"), ("d2", "pty")]


def _chains(
    shared: dict[tuple[str, str], Served], own: dict[tuple[str, str], Served]
) -> list[list[tuple[str, list[str]]]]:
    """Commands to run: each chain in order (a pty admits one client at a time), the chains concurrently."""
    chains: list[list[tuple[str, list[str]]]] = []
    for (family, where), served in shared.items():
        reads = [
            (f"read {family} {where} {explicit}", read_args(served, *(["--family", family] if explicit else [])))
            for explicit in (True, False)
        ]
        chains += [reads] if where == "pty" else [[r] for r in reads]
    a5_tcp = shared["a5", "tcp"]
    chains.append([("host-0x40", read_args(a5_tcp, "--family", "a5", "--host-address", "0x40"))])
    wrong = ["read", *a5_tcp.transport, "--vendor", "daly", "--family", "d2", "--timeout", "0.3"]
    chains.append([("wrong-family", wrong)])
    for (family, where), served in own.items():
        if family == "p81":
            base = ["set", *served.transport, "--vendor", "daly", "--family", "p81", "--timeout", "1"]
            chains.append(
                [
                    ("p81 set", [*base, "--switch", "charge", "--off", "--allow-control"]),
                    ("p81 read", read_args(served, "--family", "p81")),
                ]
            )
            continue
        base = ["set", *served.transport, "--vendor", "daly", "--timeout", "3"]
        discharge = [*base, "--switch", "discharge"]
        chain = [
            (f"{family} {where} refused", [*discharge, "--off"]),
            (f"{family} {where} off", [*discharge, "--off", "--allow-control", "--family", family]),
            (f"{family} {where} read off", read_args(served, "--family", family)),
            (f"{family} {where} on", [*discharge, "--on", "--allow-control"]),  # family detected this time
        ]
        if (family, where) == ("a5", "tcp"):  # the charge MOSFET too, at the RS485 host address
            charge = ["--switch", "charge", "--off", "--allow-control", "--family", "a5", "--host-address", "0x40"]
            chain.append(("a5 tcp charge off", [*base, *charge]))
        chains.append(chain)
    return chains


def _run_chain(chain: list[tuple[str, list[str]]]) -> Runs:
    return {key: bmsgw(*args) for key, args in chain}


@pytest.fixture(scope="module")
def runs() -> Iterator[Runs]:
    """Every CLI run of this module, against static simulators: one per family and transport for the reads
    (reads change nothing), and a fresh one per control scenario. Chains run concurrently so that their
    detection time-outs overlap instead of adding up."""
    places = [(f, w) for f in FAMILIES for w in ("tcp", "pty")]
    servers: list[Served] = []
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            shared_f = {place: pool.submit(simulate, *place) for place in places}
            own_f = {place: pool.submit(simulate, *place) for place in [*SET_CASES, ("p81", "tcp")]}
            shared = {place: f.result() for place, f in shared_f.items()}
            own = {place: f.result() for place, f in own_f.items()}
            servers = [*shared.values(), *own.values()]
            results: Runs = {}
            for done in pool.map(_run_chain, _chains(shared, own)):
                results |= done
        yield results
    finally:
        for served in servers:  # signal them all first: they shut down in parallel
            if served.proc.poll() is None:
                served.proc.send_signal(signal.SIGINT)
        for served in servers:
            served.stop()


@pytest.mark.parametrize("explicit", [True, False], ids=["family-given", "detected"])
@pytest.mark.parametrize("where", ["tcp", "pty"])
@pytest.mark.parametrize("family", FAMILIES)
def test_read(runs: Runs, family: str, where: str, explicit: bool) -> None:
    """``bmsgw read --json`` reports the family spoken and the simulated pack's values."""
    document = parse_json(runs[f"read {family} {where} {explicit}"])
    assert document["vendor"] == "daly"
    assert document["family"] == family
    (pack,) = document["packs"]
    assert pack["error"] is None
    assert pack["device"]["family"] == family and pack["device"]["cell_count"] == len(STATIC.cell_voltages)
    snap = pack["snapshot"]
    assert snap["voltage"] == STATIC.pack_voltage == 52.8
    assert snap["current"] == STATIC.current == -5.2  # discharging, in every family's wire convention
    assert snap["power"] < 0
    assert snap["soc"] == STATIC.state_of_charge
    assert snap["remaining_capacity"] == STATIC.remaining_capacity
    assert snap["cycles"] == STATIC.cycles
    assert snap["cell_voltages"] == list(STATIC.cell_voltages)
    cell_temps = [x["celsius"] for x in snap["temperatures"] if x["kind"] == "cell"]
    assert cell_temps == STATIC.temperatures
    assert snap["charge_mosfet"] is True and snap["discharge_mosfet"] is True
    assert snap["alarms"] == [] and snap["warnings"] == []
    if family == "a5":
        assert snap["raw"]["host_address"] == "0x80"


def test_read_with_a_host_address(runs: Runs) -> None:
    """``--host-address 0x40`` (RS485) is used as given."""
    assert snapshot(runs["host-0x40"])["raw"]["host_address"] == "0x40"


def test_wrong_family_is_a_device_error(runs: Runs) -> None:
    """Asking an A5 pack for D2: exit 3 and one line on stderr, no traceback."""
    done = runs["wrong-family"]
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize(("family", "where"), SET_CASES)
def test_set_round_trip_and_refusal(runs: Runs, family: str, where: str) -> None:
    """Refused without ``--allow-control`` (exit 4); with it: off, read back, on again (family detected)."""
    step = {name: runs[f"{family} {where} {name}"] for name in ("refused", "off", "read off", "on")}
    assert step["refused"].returncode == 4 and "--allow-control" in step["refused"].stderr
    assert step["off"].returncode == 0, step["off"].stderr
    assert "discharge MOSFET off, confirmed by read-back (charge on, discharge off)" in step["off"].stdout
    assert snapshot(step["read off"])["discharge_mosfet"] is False
    assert step["on"].returncode == 0, step["on"].stderr
    assert "discharge MOSFET on, confirmed by read-back (charge on, discharge on)" in step["on"].stdout
    if (family, where) == ("a5", "tcp"):
        charge = runs["a5 tcp charge off"]
        assert charge.returncode == 0, charge.stderr
        assert "charge MOSFET off, confirmed by read-back (charge off, discharge on)" in charge.stdout


def test_p81_control_is_refused(runs: Runs) -> None:
    """P81 has no documented switch registers: exit 4 even with ``--allow-control``; the pack is untouched."""
    done = runs["p81 set"]
    assert done.returncode == 4 and "P81" in done.stderr
    assert snapshot(runs["p81 read"])["charge_mosfet"] is True

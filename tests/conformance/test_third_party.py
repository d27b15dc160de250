"""A minimal third-party plugin (``third_party/acme_bms``: its own framed protocol with a checksum, a codec, a session,
a simulator and a ``VendorPlugin``), installed into a temp dir with a ``bms_gateway.vendors`` entry point, is a vendor
like the built-ins: it passes the conformance suite, and ``bmsgw`` lists, simulates, reads, probes and switches it.
(Home Assistant: ``tests/custom_components/bms_gateway/test_third_party_plugin.py``.) No product file knows it.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.vendor_plugins.cli_runner import BMSGW, ROOT, first_line, stop
from vendor_plugins.plugin import SimulatorOptions, VendorPlugin
from vendor_plugins.registry import load_registry

from . import acme, fuzzing, suite

SEED = 5


def _bmsgw(site: Path, *args: str, timeout: float = 15.0) -> subprocess.CompletedProcess[str]:
    """Run ``bmsgw ARGS`` with the plugin installed in ``site``."""
    return subprocess.run(
        [*BMSGW, *args],
        cwd=ROOT,
        env=acme.process_env(site),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def _simulated(site: Path) -> Iterator[str]:
    """``bmsgw simulate --vendor acme`` (static, seeded) running for the block; yields its ``HOST:PORT``."""
    proc = subprocess.Popen(
        [*BMSGW, "simulate", "--vendor", "acme", "--tcp", "127.0.0.1:0", "--profile", "static", "--seed", str(SEED)],
        cwd=ROOT,
        env=acme.process_env(site),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        where = first_line(proc)
        assert where.startswith("tcp://127.0.0.1:"), where
        yield where.removeprefix("tcp://")
    finally:
        stop(proc)


async def _expected(plugin: VendorPlugin) -> dict[str, Any]:
    """The ``packs[0]`` element ``bmsgw read --json`` must print for the seeded static simulator (read in-process)."""
    sim = plugin.create_simulator(SimulatorOptions(seed=SEED, profile="static"))
    [result] = await suite.read_once(plugin, suite.options_for(None), sim, "tcp")
    return result.to_dict()


# --- the conformance suite ---------------------------------------------------------------------------------------
def test_it_is_found_through_its_entry_point_only(acme_plugin: VendorPlugin) -> None:
    assert type(acme_plugin).__module__ == "acme_bms.plugin"
    assert acme.NAME in load_registry()
    assert acme.NAME not in load_registry(include_third_party=False)
    suite.check_declarations(acme_plugin)


async def test_round_trips_over_every_declared_link_kind(acme_plugin: VendorPlugin) -> None:
    cases = suite.round_trip_cases(acme_plugin)
    assert [route for _, route in cases] == ["tcp", "pty", "ble"]
    snapshots = [await suite.check_round_trip(acme_plugin, family, route) for family, route in cases]
    assert snapshots[0] == snapshots[1] == snapshots[2]
    assert suite.assert_matches_truth(snapshots[0], suite.simulator(acme_plugin, None)) >= 5


async def test_random_states(acme_plugin: VendorPlugin) -> None:
    reference = await suite.check_round_trip(acme_plugin, None, "tcp")
    for seed in suite.RANDOM_SEEDS:
        await suite.check_random_state(acme_plugin, None, seed, reference)


async def test_control(acme_plugin: VendorPlugin) -> None:
    await suite.check_control_refused(acme_plugin, None)
    assert await suite.check_control_verified(acme_plugin, None) == 4  # each switch off and on again


async def test_probe_is_read_only(acme_plugin: VendorPlugin) -> None:
    await suite.check_probe_read_only(acme_plugin, None)


def test_fuzz_entry_points(acme_plugin: VendorPlugin) -> None:
    assert fuzzing.check_fuzz(acme_plugin) >= 4 * 300


async def test_reliability_rig(acme_plugin: VendorPlugin) -> None:
    cases = suite.rig_cases(acme_plugin)
    assert [transport for _, transport in cases] == ["tcp", "pty", "ble"]
    for spec, transport in cases:
        await suite.check_reliability(acme_plugin, spec, transport)


# --- bmsgw ---------------------------------------------------------------------------------------------------------
def test_bmsgw_vendors_lists_it(acme_site: Path) -> None:
    done = _bmsgw(acme_site, "vendors")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[2:] if line.strip()}
    assert "ACME demo BMS" in rows["acme"]
    assert {"daly", "jbd", "pace", "hiximi"} <= set(rows)  # next to the built-ins, not instead of them


async def test_bmsgw_simulates_and_reads_it(acme_site: Path, acme_plugin: VendorPlugin) -> None:
    expected = await _expected(acme_plugin)
    with _simulated(acme_site) as where:
        done = _bmsgw(acme_site, "read", "--tcp", where, "--vendor", "acme", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document == {"vendor": "acme", "family": None, "transport": f"tcp://{where}", "packs": [expected]}
    assert document["packs"][0]["device"]["model"] == "ACME-4S-SIM"


def test_bmsgw_probe_finds_it_among_every_plugin(acme_site: Path) -> None:
    with _simulated(acme_site) as where:
        done = _bmsgw(acme_site, "probe", "--tcp", where, timeout=30.0)
    assert done.returncode == 0, done.stderr
    assert "winner: ACME demo BMS" in done.stdout


def test_bmsgw_switches_it_only_when_allowed(acme_site: Path) -> None:
    with _simulated(acme_site) as where:
        switch = ("set", "--tcp", where, "--vendor", "acme", "--switch", "discharge", "--off")
        refused = _bmsgw(acme_site, *switch)
        assert refused.returncode == 4, refused.stderr
        done = _bmsgw(acme_site, *switch, "--allow-control")
        assert done.returncode == 0, done.stderr
        after = json.loads(_bmsgw(acme_site, "read", "--tcp", where, "--vendor", "acme", "--json").stdout)
    snapshot = after["packs"][0]["snapshot"]
    assert snapshot["discharge_mosfet"] is False and snapshot["charge_mosfet"] is True

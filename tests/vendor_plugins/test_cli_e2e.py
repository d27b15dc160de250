"""End-to-end tests of ``bmsgw`` with real processes: a simulator served by ``bmsgw simulate``, read by ``bmsgw read``.

Every process is started as ``python -m vendor_plugins.cli`` so the tests do not depend on PATH.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.vendor_plugins.cli_runner import bmsgw, running, spawn
from vendor_plugins.jbd.simulator import JbdState

pytestmark = pytest.mark.timeout(20)


def simulate(
    *args: str, stop: signal.Signals = signal.SIGTERM
) -> contextlib.AbstractContextManager[tuple[str, subprocess.Popen[str]]]:
    """Run ``bmsgw simulate --vendor jbd ARGS``; yield the first stdout line (where it listens) and the process."""
    return running("simulate", "--vendor", "jbd", *args, sig=stop)


@contextlib.contextmanager
def static_tcp_simulator() -> Iterator[str]:
    """A static-profile JBD simulator on TCP; yields ``HOST:PORT``."""
    with simulate("--tcp", "127.0.0.1:0", "--profile", "static", "--seed", "1") as (url, _):
        assert url.startswith("tcp://127.0.0.1:")
        yield url.removeprefix("tcp://")


def read_json(*transport: str) -> dict[str, Any]:
    result = bmsgw("read", *transport, "--vendor", "jbd", "--json", "--timeout", "3")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def assert_default_static_state(doc: dict[str, Any]) -> None:
    """The document shows exactly the simulator's default state (built from ``JbdState()``, not copied)."""
    state = JbdState()
    assert doc["vendor"] == "jbd"
    assert doc["family"] == "jbd"
    (pack,) = doc["packs"]
    assert pack["error"] is None
    snap = pack["snapshot"]
    assert snap["cell_voltages"] == state.cell_voltages
    assert snap["voltage"] == pytest.approx(sum(state.cell_voltages), abs=0.005)
    assert snap["current"] == state.current
    assert snap["power"] == pytest.approx(snap["voltage"] * state.current, abs=0.001)
    assert [t["celsius"] for t in snap["temperatures"]] == state.temperatures
    assert [t["name"] for t in snap["temperatures"]] == [f"cell_{i}" for i in range(1, len(state.temperatures) + 1)]
    assert {t["kind"] for t in snap["temperatures"]} == {"cell"}
    assert snap["charge_mosfet"] is state.charge_mosfet
    assert snap["discharge_mosfet"] is state.discharge_mosfet
    assert snap["remaining_capacity"] == state.remaining_capacity
    assert snap["design_capacity"] == state.design_capacity
    assert snap["full_capacity"] is None  # JBD reports no full-charge capacity: null, not a made-up value
    assert snap["soc"] == round(100 * state.remaining_capacity / state.design_capacity)
    assert snap["cycles"] == state.cycles
    assert snap["balancing"] == sorted(state.balancing)
    assert snap["alarms"] == sorted(str(a) for a in state.alarms)
    assert snap["warnings"] == []
    assert snap["cell_min"] == min(state.cell_voltages)
    assert snap["cell_max"] == max(state.cell_voltages)
    device = pack["device"]
    assert device["model"] == state.model
    assert device["manufacture_date"] == state.production_date.isoformat()
    assert device["cell_count"] == len(state.cell_voltages)


def test_read_over_tcp_shows_the_simulated_state() -> None:
    with static_tcp_simulator() as target:
        doc = read_json("--tcp", target)
    assert doc["transport"] == f"tcp://{target}"
    assert_default_static_state(doc)


def test_read_over_a_pty_shows_the_simulated_state() -> None:
    with simulate("--pty", "--profile", "static", "--seed", "1") as (path, _):
        assert path.startswith("/dev/pts/")
        doc = read_json("--serial", path)
    assert doc["transport"].startswith(f"serial://{path}")
    assert_default_static_state(doc)


def test_read_table_over_tcp() -> None:
    with static_tcp_simulator() as target:
        result = bmsgw("read", "--tcp", target, "--vendor", "jbd", "--timeout", "3")
    assert result.returncode == 0, result.stderr
    state = JbdState()
    assert state.model in result.stdout
    assert f"{min(state.cell_voltages):.3f} V" in result.stdout


def test_set_switches_discharge_off_and_refuses_without_allow_control() -> None:
    with static_tcp_simulator() as target:
        common = ["--tcp", target, "--vendor", "jbd", "--timeout", "3"]
        result = bmsgw("set", *common, "--switch", "discharge", "--off", "--allow-control")
        assert result.returncode == 0, result.stderr
        assert "discharge MOSFET off" in result.stdout

        snap = read_json(*common[:2])["packs"][0]["snapshot"]
        assert snap["discharge_mosfet"] is False
        assert snap["charge_mosfet"] is True
        assert "software_lock" in snap["alarms"]

        refused = bmsgw("set", *common, "--switch", "discharge", "--on")
        assert refused.returncode == 4
        assert refused.stdout == ""
        assert len(refused.stderr.splitlines()) == 1
        assert "--allow-control" in refused.stderr

        unchanged = read_json(*common[:2])["packs"][0]["snapshot"]
        assert unchanged["discharge_mosfet"] is False
        assert "software_lock" in unchanged["alarms"]

        result = bmsgw("set", *common, "--switch", "discharge", "--on", "--allow-control")
        assert result.returncode == 0, result.stderr
        restored = read_json(*common[:2])["packs"][0]["snapshot"]
        assert restored["discharge_mosfet"] is True
        assert restored["alarms"] == []


def test_watch_json_until_sigint() -> None:
    with simulate("--tcp", "127.0.0.1:0", "--profile", "live", "--seed", "3") as (url, _):
        target = url.removeprefix("tcp://")
        watcher = spawn("read", "--tcp", target, "--vendor", "jbd", "--json", "--watch", "0.2", "--timeout", "1")
        try:
            time.sleep(1.2)
            watcher.send_signal(signal.SIGINT)
            out, err = watcher.communicate(timeout=5)
        finally:
            if watcher.poll() is None:
                watcher.kill()
                watcher.communicate()
    assert watcher.returncode == 0, err
    assert "Traceback" not in err
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) >= 2
    for doc in docs:
        (pack,) = doc["packs"]
        assert pack["error"] is None
        assert len(pack["snapshot"]["cell_voltages"]) == len(JbdState().cell_voltages)
    assert docs[0]["packs"][0]["device"] is not None


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_simulate_stops_cleanly_on_signals(stop: signal.Signals) -> None:
    with simulate("--tcp", "127.0.0.1:0", stop=stop) as (url, proc):
        assert url.startswith("tcp://")
        proc.send_signal(stop)
        assert proc.wait(timeout=5) == 0
        assert proc.stderr is not None
        assert "Traceback" not in proc.stderr.read()


def test_unreachable_port_is_one_line_and_exit_3() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        target = f"127.0.0.1:{sock.getsockname()[1]}"
    result = bmsgw("read", "--tcp", target, "--vendor", "jbd", "--timeout", "3")
    assert result.returncode == 3
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("bmsgw: error: ")
    assert "Traceback" not in result.stderr

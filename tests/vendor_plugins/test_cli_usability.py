"""``bmsgw`` as a new user meets it (issue 17): every point with its exit code and message.

``--tcp tcp://…`` (what ``simulate`` prints), the wrong vendor for a device, ``probe`` on a bus, one ``--timeout``
default in ``probe --help``, BLE without BlueZ, capture labels for simulator traffic, a mistyped option, progress
on a terminal only.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.vendor_plugins.cli_runner import bmsgw, running
from tests.vendor_plugins.sim_links import Silent, threaded_tcp
from vendor_plugins import cli
from vendor_plugins.capture import CAPTURE_TYPE, SIMULATOR_CAPTURE_TYPE, load_capture
from vendor_plugins.cli import progress, sim_registry
from vendor_plugins.cli.cmd_simulate import listen_address
from vendor_plugins.jbd.codec import JbdAssembler
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.pace.simulator_ascii import PaceAsciiSimulator


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("bmsgw: error: ")
    return lines[0]


class Tty(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Chatty(Silent):
    """A device that answers every JBD request with another protocol's frame."""

    vendor = "chatty"

    def request_assembler(self) -> JbdAssembler:
        return JbdAssembler(request=True)

    def handle(self, request: bytes) -> bytes | None:
        self.seen.append(request)
        return b"~22014A00D0000FFD\r"


@pytest.fixture(autouse=True)
def private_simulator_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Simulators announce themselves in a directory of this test only."""
    folder = tmp_path / "simulators"
    monkeypatch.setenv(sim_registry.DIR_VARIABLE, str(folder))
    return folder


# --- --tcp tcp://HOST:PORT ----------------------------------------------------------------------------------
def test_tcp_accepts_what_simulate_prints(capsys: pytest.CaptureFixture[str]) -> None:
    with threaded_tcp(JbdSimulator()) as target:
        code, out, err = run(capsys, "read", "--tcp", f"tcp://{target}", "--vendor", "jbd", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["transport"] == f"tcp://{target}"


def test_simulate_listens_on_a_tcp_url_too() -> None:
    assert listen_address("tcp://127.0.0.1:0") == ("127.0.0.1", 0)
    assert listen_address("TCP://[::1]:4196/") == ("::1", 4196)


def test_another_scheme_is_still_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "read", "--tcp", "udp://127.0.0.1:4196", "--vendor", "jbd")
    assert (code, out) == (2, "")
    assert "has a scheme (udp://)" in one_error_line(err)


def test_simulate_then_read_with_the_printed_url() -> None:
    """End to end: the first line ``simulate`` prints is a valid ``--tcp``."""
    with running("simulate", "--vendor", "jbd", "--tcp", "127.0.0.1:0", "--profile", "static") as (where, _):
        assert where.startswith("tcp://")
        done = bmsgw("read", "--tcp", where, "--vendor", "jbd", "--json")
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["packs"][0]["snapshot"]["cell_voltages"]


# --- the wrong vendor ------------------------------------------------------------------------------------------
def test_wrong_vendor_says_what_was_asked_that_nothing_answered_and_suggests_probe(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with threaded_tcp(JbdSimulator()) as target:
        code, out, err = run(capsys, "read", "--tcp", target, "--vendor", "pace", "--timeout", "0.3")
    assert (code, out) == (3, "")
    line = one_error_line(err)
    assert f"asked tcp://{target} for a PACE pack (family ascii-25, address 1)" in line
    assert "nothing answered within 0.3 s" in line
    assert f"'bmsgw probe --tcp {target} --timeout 0.3' shows which vendor answers" in line
    assert "7e" not in line  # no request hex


def test_another_protocol_answering_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    with threaded_tcp(Chatty()) as target:
        code, out, err = run(capsys, "read", "--tcp", target, "--vendor", "jbd", "--timeout", "0.3")
    assert (code, out) == (3, "")
    line = one_error_line(err)
    assert "byte(s) came back but no valid JBD answer (another protocol, or another baud rate?)" in line
    assert "bmsgw probe" in line


def test_wrong_vendor_with_family_detection_fails_within_the_configured_timeout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """DALY tries four families; together they wait about --timeout, not one timeout each (was 8.4 s at 2 s)."""
    with threaded_tcp(JbdSimulator()) as target:
        started = time.monotonic()
        code, out, err = run(capsys, "read", "--tcp", target, "--vendor", "daly", "--timeout", "2")
        elapsed = time.monotonic() - started
    assert (code, out) == (3, "")
    assert elapsed < 3.0
    line = one_error_line(err)
    assert f"asked tcp://{target} for a DALY" in line and "nothing answered" in line and "bmsgw probe" in line


def test_capture_of_the_wrong_vendor_says_it_too(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with threaded_tcp(JbdSimulator()) as target:
        code, out, err = run(
            capsys, "capture", "--tcp", target, "--vendor", "pace", "--timeout", "0.2", "--out", str(tmp_path / "c")
        )
    assert code == 3
    assert out.startswith("captured ")
    assert "nothing answered within 0.2 s" in one_error_line(err)


# --- probe ---------------------------------------------------------------------------------------------------
def test_probe_lists_every_pack_of_a_bus(capsys: pytest.CaptureFixture[str]) -> None:
    bus = [PaceAsciiSimulator(address=a) for a in (1, 2, 3, 4)]
    with threaded_tcp(bus) as target:  # type: ignore[arg-type]
        code, out, err = run(capsys, "probe", "--tcp", target, "--json", "--timeout", "0.2")
        table_code, table, _ = run(capsys, "probe", "--tcp", target, "--timeout", "0.2")
    assert (code, err, table_code) == (0, "", 0)
    docs = json.loads(out)
    assert [(d["vendor"], d["address"]) for d in docs] == [("pace", 1), ("pace", 2), ("pace", 3), ("pace", 4)]
    assert [d["winner"] for d in docs] == [True, False, False, False]
    assert sum(line.startswith("pace ") for line in table.splitlines()) == 4


def test_probe_help_states_one_timeout_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "probe", "--help")
    assert code == 0
    text = " ".join(out.split())
    timeouts = re.findall(r"(?:wait|timeout)[^.;)]*?default (\d[\d.]*)", text)
    assert timeouts == ["0.5"]  # the description no longer states another one
    assert "--timeout S per-request timeout in seconds while probing (default 0.5; over --ble 1.5)" in text
    assert "default 2" not in text


# --- BLE without BlueZ -----------------------------------------------------------------------------------------
class _NoBluez:
    @staticmethod
    async def find_device_by_address(*_args: Any, **_kwargs: Any) -> None:
        raise FileNotFoundError(2, "No such file or directory")

    @staticmethod
    async def discover(*_args: Any, **_kwargs: Any) -> None:
        raise FileNotFoundError(2, "No such file or directory")


def test_read_ble_without_bluez_says_it_as_scan_does(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bleak

    from vendor_plugins.transports import ble

    monkeypatch.setattr(ble, "BleakScanner", _NoBluez)
    monkeypatch.setattr(bleak, "BleakScanner", _NoBluez)
    code, out, err = run(capsys, "read", "--ble", "AA:BB:CC:DD:EE:FF", "--vendor", "jbd")
    scan_code, _, scan_err = run(capsys, "scan", "--timeout", "0.1")
    hint = "(no Bluetooth service: is BlueZ running, with D-Bus?)"
    assert (code, out, scan_code) == (3, "", 3)
    assert one_error_line(err).endswith(hint)
    assert one_error_line(scan_err).endswith(hint)


# --- capture labels ------------------------------------------------------------------------------------------
def _capture(capsys: pytest.CaptureFixture[str], target: str, out: Path, *extra: str) -> tuple[int, str, str]:
    return run(capsys, "capture", "--tcp", target, "--vendor", "jbd", "--out", str(out), "--timeout", "0.3", *extra)


def test_capture_of_an_announced_simulator_is_labelled_simulator(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with threaded_tcp(JbdSimulator()) as target:
        with sim_registry.announced(f"tcp://{target}", "jbd"):
            code, out, err = _capture(capsys, target, tmp_path / "sim.json")
        plain = _capture(capsys, target, tmp_path / "plain.json")
        labelled = _capture(capsys, target, tmp_path / "flag.json", "--simulator")
    assert (code, err) == (0, "")
    assert f"from tcp://{target}, a simulator (family jbd)" in out
    assert {e["capture_type"] for e in load_capture(tmp_path / "sim.json")} == {SIMULATOR_CAPTURE_TYPE}
    assert plain[0] == 0 and ", a simulator" not in plain[1]
    assert {e["capture_type"] for e in load_capture(tmp_path / "plain.json")} == {CAPTURE_TYPE}
    assert labelled[0] == 0
    assert {e["capture_type"] for e in load_capture(tmp_path / "flag.json")} == {SIMULATOR_CAPTURE_TYPE}


def test_a_stale_announcement_is_ignored(private_simulator_dir: Path) -> None:
    private_simulator_dir.mkdir()
    dead = 2**22 + 12345  # above the default pid_max: no such process
    (private_simulator_dir / "x.json").write_text(json.dumps({"where": "tcp://127.0.0.1:4196", "pid": dead}))
    assert not sim_registry.serves("tcp://127.0.0.1:4196")
    (private_simulator_dir / "y.json").write_text(json.dumps({"where": "tcp://0.0.0.0:4196", "pid": os.getpid()}))
    assert sim_registry.serves("tcp://127.0.0.1:4196")
    assert not sim_registry.serves("tcp://127.0.0.1:4197")
    assert not sim_registry.serves("tcp://192.168.1.50:4196")
    with sim_registry.announced("tcp://127.0.0.1:5000", "jbd"):  # a new simulator clears what a killed one left
        assert not (private_simulator_dir / "x.json").exists()
        assert sim_registry.serves("tcp://localhost:5000")
    assert not sim_registry.serves("tcp://127.0.0.1:5000")


def test_capture_from_bmsgw_simulate_is_labelled_simulator(tmp_path: Path) -> None:
    """End to end: a running ``bmsgw simulate`` is recognised; when it stopped, it no longer is."""
    out = tmp_path / "c.json"
    with running("simulate", "--vendor", "jbd", "--tcp", "127.0.0.1:0", "--profile", "static") as (where, _):
        done = bmsgw("capture", "--tcp", where, "--vendor", "jbd", "--out", str(out))
    assert (done.returncode, done.stderr) == (0, "")
    assert ", a simulator (family jbd)" in done.stdout
    assert {e["capture_type"] for e in load_capture(out)} == {SIMULATOR_CAPTURE_TYPE}
    assert not sim_registry.serves(where)


# --- a mistyped option --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["read", "--tcp", "127.0.0.1:1", "--vendr", "jbd"], "unknown option --vendr (did you mean --vendor?)"),
        (["read", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--jsn"], "unknown option --jsn (did you mean --json?)"),
        (["probe", "--tcp", "127.0.0.1:1", "--timout", "1"], "unknown option --timout (did you mean --timeout?)"),
        (["read", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--zzzzzz"], "unknown option --zzzzzz (see"),
    ],
)
def test_a_mistyped_option_is_named_with_a_suggestion(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    line = one_error_line(err)
    assert expected in line
    assert f"(see 'bmsgw {argv[0]} --help')" in line


def test_a_mistyped_command_is_suggested(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "rea", "--tcp", "127.0.0.1:1")
    assert code == 2
    assert "maybe you meant 'read'?" in one_error_line(err)


# --- progress ------------------------------------------------------------------------------------------------
async def _tick(stream: io.StringIO, *, enabled: bool = True) -> None:
    import asyncio

    with progress.ticker(lambda: "probing jbd (3 requests)", enabled=enabled, stream=stream):
        await asyncio.sleep(progress.DELAY + 3 * progress.INTERVAL)


def test_progress_shows_on_a_terminal_only() -> None:
    import asyncio

    tty, pipe, json_tty = Tty(), io.StringIO(), Tty()
    asyncio.run(_tick(tty))
    asyncio.run(_tick(pipe))
    asyncio.run(_tick(json_tty, enabled=False))
    assert "probing jbd (3 requests)… 0 s" in tty.getvalue() or "probing jbd (3 requests)… 1 s" in tty.getvalue()
    assert tty.getvalue().endswith("\r\x1b[K")  # the line is erased at the end
    assert pipe.getvalue() == "" and json_tty.getvalue() == ""


def test_probe_shows_progress_on_a_terminal_but_not_with_json(monkeypatch: pytest.MonkeyPatch) -> None:
    silent = Silent()
    with threaded_tcp(silent) as target:
        for as_json in (False, True):
            err = Tty()
            monkeypatch.setattr("sys.stderr", err)
            code = cli.main(["probe", "--tcp", target, "--timeout", "0.3", *(["--json"] if as_json else [])])
            assert code == 3
            assert ("probing " in err.getvalue()) is not as_json
            assert err.getvalue().rstrip().splitlines()[-1].lstrip("\r\x1b[K").startswith("bmsgw: error: ")


class _QuietAir:
    @staticmethod
    async def discover(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        import asyncio

        await asyncio.sleep(1.0)
        return {}


def test_ble_scan_shows_progress_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import bleak

    monkeypatch.setattr(bleak, "BleakScanner", _QuietAir)
    for as_json in (False, True):
        err, out = Tty(), io.StringIO()
        monkeypatch.setattr("sys.stderr", err)
        monkeypatch.setattr("sys.stdout", out)
        assert cli.main(["scan", "--timeout", "1", *(["--json"] if as_json else [])]) == 0
        assert ("scanning for BLE devices (1 s)…" in err.getvalue()) is not as_json
        assert "scanning" not in out.getvalue()


def test_hiximi_detection_on_a_silent_link_fails_within_the_configured_timeout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Four read-only probes (JBD, D2, A5 at two host addresses) share --timeout (was 4 x 2 s = 9.3 s)."""
    with threaded_tcp(Silent()) as target:
        started = time.monotonic()
        code, _, err = run(capsys, "read", "--tcp", target, "--vendor", "hiximi", "--timeout", "2")
        elapsed = time.monotonic() - started
    assert code == 3
    assert elapsed < 3.0
    assert "nothing answered within 2 s" in one_error_line(err)

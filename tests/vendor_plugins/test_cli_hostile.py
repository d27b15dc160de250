"""``bmsgw`` against hostile or faulty devices: a bus scan that keeps failing, device-supplied control characters."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.vendor_plugins.sim_links import Silent, threaded_tcp
from vendor_plugins import cli
from vendor_plugins.cli import cmd_scan, common
from vendor_plugins.cli.app import logging_to_stderr
from vendor_plugins.cli.format import printable
from vendor_plugins.jbd.simulator import JbdSimulator, JbdState
from vendor_plugins.plugin import Advertisement
from vendor_plugins.reader import PackReader, PackResult

#: A model string that clears the screen, retitles the terminal, returns the carriage and forges an error line.
HOSTILE = "M\x1b[2J\x1b]0;owned\x07\rX\nbmsgw: error: forged\x7f\tZ"
_CONTROLS = [chr(c) for c in (*range(0x20), 0x7F)]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("as_json", [False, True])
def test_watch_on_a_bus_keeps_scanning_after_a_failed_scan(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    """``read --address all --watch``: a scan that finds no pack is one error line, and the next round scans again."""
    rounds = 0
    original = PackReader.read_round

    async def read_round(self: PackReader) -> list[PackResult]:
        nonlocal rounds
        rounds += 1
        if rounds == 4:
            raise KeyboardInterrupt  # Ctrl-C after three rounds
        return await original(self)

    monkeypatch.setattr(PackReader, "read_round", read_round)
    silent = Silent()
    argv = ["read", "--vendor", "pace", "--address", "all", "--watch", "0.01", "--timeout", "0.02"]
    with threaded_tcp(silent) as target:
        code, out, err = run(capsys, *argv, "--tcp", target, *(["--json"] if as_json else []))
    assert rounds == 4
    assert code == 0, err
    lines = err.splitlines()
    assert len(lines) == 3, err
    assert all(line.startswith("bmsgw: error: no pack answered on the bus") for line in lines)
    assert out == ""  # nothing was read: no document, no table


def _assert_harmless(text: str) -> None:
    """No control character but newlines of our own; no forged error line."""
    assert not [c for c in text if c in _CONTROLS and c != "\n"], repr(text)
    assert not any(line.startswith("bmsgw: error: forged") for line in text.splitlines())


def test_printable_escapes_controls_and_keeps_plain_text() -> None:
    assert printable("Bätterie 電池 ok") == "Bätterie 電池 ok"
    assert printable("a\x1b[31mb\x00\x7f\x9b\tc\n") == "a\\x1b[31mb\\x00\\x7f\\x9b\\x09c\\x0a"
    assert printable("\u202eevil\u2028x\ud800") == "\\u202eevil\\u2028x\\ud800"


@pytest.mark.parametrize("command", ["read", "probe"])
def test_a_hostile_model_string_is_escaped_in_tables(capsys: pytest.CaptureFixture[str], command: str) -> None:
    """``read`` and ``probe`` show the device's model with its control characters escaped."""
    with threaded_tcp(JbdSimulator(JbdState(model=HOSTILE))) as target:
        code, out, err = run(capsys, command, "--tcp", target, "--vendor", "jbd", "--timeout", "1")
    assert code == 0, err
    _assert_harmless(out + err)
    assert printable(HOSTILE) in out


@pytest.mark.parametrize("command", ["read", "probe"])
def test_json_output_carries_the_model_escaped_by_json(capsys: pytest.CaptureFixture[str], command: str) -> None:
    """``--json`` keeps the exact string (it is data), escaped the JSON way: no raw control character on stdout."""
    with threaded_tcp(JbdSimulator(JbdState(model=HOSTILE))) as target:
        code, out, err = run(capsys, command, "--tcp", target, "--vendor", "jbd", "--json", "--timeout", "1")
    assert code == 0, err
    _assert_harmless(out)
    doc: Any = json.loads(out)
    device = doc["packs"][0]["device"] if command == "read" else doc[0]["device"]
    assert device["model"] == HOSTILE


def test_a_hostile_ble_name_is_escaped_in_the_scan_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An advertiser's name with controls (C0, C1) is shown escaped; plain Unicode names stay readable."""
    names = ["\x1b]0;owned\x07\x9b2J\nbmsgw: error: forged", "Bätterie 電池"]

    async def fake_scan(seconds: float, registry: object) -> list[cmd_scan.ScanResult]:
        return [
            cmd_scan.ScanResult(Advertisement(address=f"AA:00:00:00:00:0{i}", local_name=n), -60, ())
            for i, n in enumerate(names)
        ]

    monkeypatch.setattr(cmd_scan, "ble_scan", fake_scan)
    code, out, err = run(capsys, "scan", "--timeout", "0.1")
    assert code == 0, err
    _assert_harmless(out)
    assert "\x9b" not in out
    assert printable(names[0]) in out
    assert "Bätterie 電池" in out
    code, out, _ = run(capsys, "scan", "--timeout", "0.1", "--json")
    _assert_harmless(out)
    assert [d["name"] for d in json.loads(out)] == names


def test_error_lines_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    """An error quoting a device stays one harmless line."""
    common.error("unexpected model " + HOSTILE)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    _assert_harmless(err)


def test_log_lines_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    """A library warning quoting a device is shown escaped, one line."""
    with logging_to_stderr(debug=False):
        logging.getLogger("vendor_plugins.test").warning("odd model %s", HOSTILE)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    _assert_harmless(err)
    assert printable(HOSTILE) in err

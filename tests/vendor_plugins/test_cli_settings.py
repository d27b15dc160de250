"""``bmsgw`` with bad settings: one clear line naming the option, the value and what is allowed; exit 2; nothing opened.

In-process for every flag, plus real subprocesses (no traceback reaches the terminal). A link that is never opened
is proven by a listening socket that sees no connection.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vendor_plugins import cli
from vendor_plugins.cli import cmd_simulate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def listener() -> Iterator[tuple[str, socket.socket]]:
    """A listening socket (``127.0.0.1:PORT``); a test checks nothing connected to it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sock.setblocking(False)
        yield f"127.0.0.1:{sock.getsockname()[1]}", sock


def _nobody_connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


BAD = [
    # (argv after the command, words the one line must contain)
    # tcp://HOST:PORT is accepted (what `bmsgw simulate` prints); other schemes are refused by name
    (["--tcp", "udp://127.0.0.1:4196", "--vendor", "jbd"], ["--tcp", "'udp://127.0.0.1:4196'", "scheme"]),
    (["--tcp", "bridge one:4196", "--vendor", "jbd"], ["--tcp", "spaces"]),
    (["--tcp", "127.0.0.1:0", "--vendor", "jbd"], ["--tcp", "port 0", "1-65535"]),
    (["--tcp", "127.0.0.1:70000", "--vendor", "jbd"], ["--tcp", "70000", "1-65535"]),
    (["--tcp", "::1:4196", "--vendor", "jbd"], ["--tcp", "brackets"]),
    (["--tcp", "x" * 64 + ".lan:1", "--vendor", "jbd"], ["--tcp", "63 characters"]),
    (["--modbus-tcp", "[fd00::1", "--vendor", "pace"], ["--modbus-tcp", "']'"]),
    (["--modbus-tcp", "gw:0", "--vendor", "pace"], ["--modbus-tcp", "port 0"]),
    (["--serial", "ttyUSB0", "--vendor", "jbd"], ["--serial", "'ttyUSB0'", "absolute path"]),
    (["--serial", "", "--vendor", "jbd"], ["--serial", "empty"]),
    (["--serial", "/dev/ttyUSB0", "--baud", "9601", "--vendor", "jbd"], ["--baud", "'9601'", "1200", "230400"]),
    (["--serial", "/dev/ttyUSB0", "--baud", "fast", "--vendor", "jbd"], ["--baud", "'fast'", "not a number"]),
    (["--ble", "C8:47:8C:12:34", "--vendor", "jbd"], ["--ble", "'C8:47:8C:12:34'", "AA:BB:CC:DD:EE:FF"]),
    (["--tcp", "127.0.0.1:1", "--vendor", "jbd", "--timeout", "0"], ["--timeout", "0 s", "at most 120"]),
    (["--tcp", "127.0.0.1:1", "--vendor", "jbd", "--timeout", "999"], ["--timeout", "999 s", "at most 120"]),
    (["--tcp", "127.0.0.1:1", "--vendor", "jbd", "--timeout", "nan"], ["--timeout", "not a number"]),
    (["--tcp", "127.0.0.1:1", "--vendor", "jbd", "--address", "3"], ["--address", "'jbd'", "one pack per link"]),
    (["--tcp", "127.0.0.1:1", "--vendor", "pace", "--address", "16"], ["--address", "16", "'pace'", "0-15"]),
    (["--modbus-tcp", "127.0.0.1:1", "--vendor", "pace", "--address", "0"], ["--address", "0", "1-16"]),
    (["--tcp", "127.0.0.1:1", "--vendor", "pace", "--protocol", "modbus", "--address", "17"], ["--address", "1-16"]),
    (["--tcp", "127.0.0.1:1", "--vendor", "pace", "--family", "modbus", "--address", "0"], ["--address", "1-16"]),
]


@pytest.mark.parametrize(("argv", "words"), BAD)
def test_bad_settings_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: list[str]
) -> None:
    code = cli.main(["read", *argv])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bmsgw: error: "), err
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.mark.parametrize("command", ["read", "probe", "set", "capture"])
def test_bad_address_is_refused_before_connecting(
    capsys: pytest.CaptureFixture[str], listener: tuple[str, socket.socket], command: str, tmp_path: Path
) -> None:
    where, sock = listener
    argv = [command, "--tcp", where, "--vendor", "pace", "--address", "20", "--timeout", "0.2"]
    if command == "set":
        argv += ["--switch", "charge", "--on", "--allow-control"]
    if command == "capture":
        argv += ["--out", str(tmp_path / "c.json")]
    assert cli.main(argv) == 2
    assert "--address: 20 is not a valid address for vendor 'pace'; expected 0-15" in capsys.readouterr().err
    assert _nobody_connected(sock)


def test_good_settings_still_reach_the_device(
    capsys: pytest.CaptureFixture[str], listener: tuple[str, socket.socket]
) -> None:
    """The validators let a correct target through: the link connects (and times out on the silent socket)."""
    where, sock = listener
    code = cli.main(["read", "--tcp", f" {where} ", "--vendor", "pace", "--address", "15", "--timeout", "0.2"])
    assert code == 3
    assert not _nobody_connected(sock)


def test_simulate_listen_address_and_baud(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["simulate", "--vendor", "jbd", "--pty", "--baud", "1234"]) == 2
    assert "--baud: '1234' is not a standard baud rate" in capsys.readouterr().err
    assert cli.main(["simulate", "--vendor", "jbd", "--tcp", "http://0.0.0.0:0"]) == 2
    assert "scheme" in capsys.readouterr().err
    assert cmd_simulate.listen_address("0.0.0.0:0") == ("0.0.0.0", 0)


@pytest.mark.parametrize(
    "argv",
    [
        ["read", "--tcp", "127.0.0.1:0", "--vendor", "jbd"],
        ["read", "--serial", "COM3", "--vendor", "jbd"],
        ["read", "--serial", "/dev/ttyUSB0", "--baud", "0", "--vendor", "jbd"],
        ["read", "--modbus-tcp", "gw", "--vendor", "pace", "--address", "99"],
    ],
)
def test_subprocess_prints_one_line_no_traceback(argv: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vendor_plugins.cli", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bmsgw: error: "), proc.stderr
    assert "Traceback" not in proc.stderr

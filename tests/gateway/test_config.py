"""The config file: every error names file, line and key; exit 2 before anything is connected; secrets stay out."""

from __future__ import annotations

import json
import os
import socket
import textwrap
from pathlib import Path

import pytest

from vendor_plugins.cli import main
from vendor_plugins.gateway.config import GatewayConfigError

from .conftest import load

GOOD = """\
gateway:
  id: shed
  poll_interval: 5
broker:
  host: 127.0.0.1
  port: 1883
connections:
  - name: rack
    vendor: pace
    tcp: 127.0.0.1:4196
    address: all
  - name: single
    vendor: jbd
    serial: /dev/ttyUSB0
    baudrate: 9600
    control: true
"""


def _write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(textwrap.dedent(text))
    os.chmod(path, mode)
    return path


def _error(tmp_path: Path, text: str) -> GatewayConfigError:
    path = _write(tmp_path, text)
    with pytest.raises(GatewayConfigError) as caught:
        load(path)
    return caught.value


def test_good_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    config = load(_write(tmp_path, GOOD))
    assert config.gateway_id == "shed"
    assert [c.name for c in config.connections] == ["rack", "single"]
    assert config.connections[0].addresses is None  # all: scanned
    assert config.connections[0].poll_interval == 5
    assert config.connections[1].control is True
    assert config.connections[0].control is False
    assert config.connections[1].settings_interval == 300  # battery settings: every 5 minutes and after writes
    assert config.state_file == tmp_path / "bmsgw-state.json"


@pytest.mark.parametrize(
    ("old", "new", "line", "key", "reason"),
    [
        ("  port: 1883", "  port: 70000", 6, "broker.port", "out of range"),
        ("  port: 1883", "  prot: 1883", 6, "broker.prot", "did you mean 'port'"),
        ("    tcp: 127.0.0.1:4196", "    tcp: 127.0.0.1", 10, "connections[0].tcp", "HOST:PORT"),
        ("    vendor: pace", "    vendor: acme", 9, "connections[0].vendor", "unknown vendor 'acme'"),
        ("    address: all", "    address: 99", 11, "connections[0].address", "not a valid address"),
        ("    baudrate: 9600", "    baudrate: 9601", 15, "connections[1].baudrate", "standard baud rate"),
        ("    serial: /dev/ttyUSB0", "    ble: nonsense", 14, "connections[1].ble", "not a Bluetooth address"),
        ("  poll_interval: 5", "  poll_interval: 0.1", 3, "gateway.poll_interval", "out of range"),
        ("    control: true", "    control: maybe", 16, "connections[1].control", "expected bool"),
        (
            "    control: true",
            "    control: true\n    settings_interval: 5",
            17,
            "connections[1].settings_interval",
            "out of range",
        ),
        ("  - name: single", "  - name: rack", 12, "connections[1].name", "duplicate"),
        ("    tcp: 127.0.0.1:4196", "    tcp: 127.0.0.1:4196\n    serial: /dev/ttyS0", 8, "connections[0]", "several"),
        ("  host: 127.0.0.1", "  host: 'bad host'", 5, "broker.host", ""),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, old: str, new: str, line: int, key: str, reason: str) -> None:
    assert old in GOOD
    err = _error(tmp_path, GOOD.replace(old, new))
    assert err.line == line, str(err)
    assert err.key == key, str(err)
    assert reason in err.reason, str(err)
    assert str(err).startswith(f"{tmp_path / 'gateway.yaml'}:{line}: {key}: ")


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    err = _error(tmp_path, GOOD.replace("    vendor: jbd", "    vendor: [jbd"))
    assert err.line >= 13
    assert err.key == "(YAML)"


def test_missing_sections(tmp_path: Path) -> None:
    err = _error(tmp_path, "broker:\n  host: 127.0.0.1\n")
    assert err.key == "connections"
    assert "required" in err.reason


def test_cli_exits_2_before_connecting_anything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as listener:  # a "broker" and a "bridge" that must never see a connection
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        text = GOOD.replace("port: 1883", f"port: {port}").replace("tcp: 127.0.0.1:4196", f"tcp: 127.0.0.1:{port}")
        path = _write(tmp_path, text.replace("    address: all", "    address: 300"))
        assert main(["serve", "--config", str(path)]) == 2
        with pytest.raises(BlockingIOError):
            listener.accept()
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{path}:11: connections[0].address:" in err


PASSWORD = "s3cret-Pa55"
WITH_PASSWORD = GOOD.replace("  port: 1883", f"  port: 1883\n  username: gw\n  password: {PASSWORD}")


def test_world_readable_config_with_a_password_is_refused(tmp_path: Path) -> None:
    load(_write(tmp_path, WITH_PASSWORD, 0o640))  # owner and group only: fine
    path = _write(tmp_path, WITH_PASSWORD, 0o644)
    with pytest.raises(GatewayConfigError) as caught:
        load(path)
    assert caught.value.key == "broker.password"
    assert caught.value.line == 8
    assert "chmod o-rwx" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    load(_write(tmp_path, GOOD, 0o644))  # no password in it: a readable file is fine


def test_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text(PASSWORD + "\n")
    os.chmod(secret, 0o600)
    text = GOOD.replace("  port: 1883", "  port: 1883\n  username: gw\n  password_file: mqtt-password")
    config = load(_write(tmp_path, text, 0o644))
    assert config.broker.password == PASSWORD
    assert PASSWORD not in repr(config)
    os.chmod(secret, 0o604)
    err = _error(tmp_path, text)
    assert err.key == "broker.password_file"
    assert "readable by other users" in err.reason


def test_check_json_has_no_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, WITH_PASSWORD)
    assert main(["serve", "--config", str(path), "--check", "--json"]) == 0
    out = capsys.readouterr().out
    assert PASSWORD not in out
    document = json.loads(out)
    assert document["broker"]["password"] == "**REDACTED**"
    assert [c["name"] for c in document["connections"]] == ["rack", "single"]


def test_vendor_auto(tmp_path: Path) -> None:
    config = load(
        _write(tmp_path, GOOD.replace("    vendor: jbd", "    vendor: auto").replace("    baudrate: 9600\n", ""))
    )
    assert config.connections[1].plugin is None
    assert config.connections[1].vendor == "auto"
    assert config.connections[1].candidates
    err = _error(tmp_path, GOOD.replace("    vendor: jbd", "    vendor: auto\n    family: a5"))
    assert err.key == "connections[1].family"
    assert "vendor-specific" in err.reason


def test_state_file_defaults_to_systemds_state_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/bmsgw")
    assert load(_write(tmp_path, GOOD)).state_file == Path("/var/lib/bmsgw/state.json")

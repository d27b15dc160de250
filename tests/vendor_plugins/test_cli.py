"""In-process tests of ``bmsgw``: argument handling, exit codes, output shapes, against a threaded simulator."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import socket
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import pytest

from vendor_plugins import cli, connect
from vendor_plugins.cli import cmd_simulate, common, parser
from vendor_plugins.cli import format as cli_format
from vendor_plugins.errors import ConfigError, ControlRefused, TransportError, one_line
from vendor_plugins.jbd import codec as jbd_codec
from vendor_plugins.jbd import table as jbd_table
from vendor_plugins.jbd.simulator import JbdSimulator, JbdState
from vendor_plugins.model import Alarm, BmsSnapshot, DeviceInfo, Temperature, TemperatureKind
from vendor_plugins.plugin import SimulatorOptions
from vendor_plugins.reader import PackReader, PackResult
from vendor_plugins.registry import Registry, default_registry
from vendor_plugins.sim.base import Simulator
from vendor_plugins.sim.tcp import SimServer, serve_tcp

# --- helpers --------------------------------------------------------------------------------------


@dataclass
class Served:
    """A simulator served over TCP from a background event loop."""

    simulator: Any  # the simulator (or the bus of simulators) served
    server: SimServer

    @property
    def target(self) -> str:
        return f"{self.server.host}:{self.server.port}"


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start simulators on a private event loop in a thread (``main`` runs its own loop in this thread)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    servers: list[SimServer] = []

    def start(simulator: Simulator | list[Simulator] | None = None) -> Served:
        sim = simulator if simulator is not None else JbdSimulator(seed=1)
        future: Future[SimServer] = asyncio.run_coroutine_threadsafe(serve_tcp(sim), loop)
        server = future.result(timeout=5)
        servers.append(server)
        return Served(sim, server)

    try:
        yield start
    finally:
        for server in servers:
            asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


@pytest.fixture
def dead_port() -> str:
    """``127.0.0.1:PORT`` with nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("bmsgw: error: ")
    assert "Traceback" not in err


# --- usage errors (exit 2) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["read", "--vendor", "jbd"],  # no transport
        ["read", "--tcp", "127.0.0.1:1"],  # no vendor
        ["read", "--tcp", "127.0.0.1:1", "--serial", "/dev/null", "--vendor", "jbd"],  # two transports
        ["read", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--timeout", "0"],
        ["read", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--timeout", "soon"],
        ["read", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--watch", "-1"],
        ["read", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--address", "x"],
        ["read", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--host-address", "0x400"],
        ["probe"],
        ["set", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--switch", "charge"],  # no --on/--off
        ["set", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--switch", "charge", "--on", "--off"],
        ["set", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--switch", "heater", "--on"],
        ["simulate", "--vendor", "jbd"],  # neither --tcp nor --pty
        ["simulate", "--tcp", "127.0.0.1:0"],  # no vendor
        ["scan", "--timeout", "-3"],
    ],
)
def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert_one_error_line(err)


def test_version_prints_the_installed_distribution_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--version")
    assert code == 0
    assert err == ""
    assert out == f"bmsgw {importlib.metadata.version('bms-gateway')}\n"
    assert parser.installed_version() == importlib.metadata.version("bms-gateway")


def test_version_of_an_uninstalled_tree_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(parser.metadata, "version", missing)
    assert parser.installed_version() == "unknown"


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "read", "--help")
    assert code == 0
    assert "--allow-control" not in out  # only `set` has it
    assert "--tcp" in out
    assert "--watch" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["read", "--tcp", "localhost", "--vendor", "jbd"],  # no port
        ["read", "--tcp", "127.0.0.1:99999", "--vendor", "jbd"],
        ["read", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--baud", "9600"],  # --baud without --serial
        ["read", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--family", "d2"],  # not a JBD family
        ["simulate", "--vendor", "jbd", "--tcp", "127.0.0.1:0", "--packs", "2"],  # JBD: one pack per link
        ["simulate", "--vendor", "jbd", "--tcp", "127.0.0.1:0", "--baud", "9600"],
        ["simulate", "--vendor", "jbd", "--tcp", "127.0.0.1:0", "--profile", "chaotic"],
        ["simulate", "--vendor", "jbd", "--tcp", "nowhere"],
    ],
)
def test_bad_configuration_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert_one_error_line(err)


def test_unknown_vendor_exits_2_with_the_registry_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "read", "--tcp", "127.0.0.1:1", "--vendor", "acme")
    assert code == 2
    assert_one_error_line(err)
    with pytest.raises(ConfigError) as expected:
        default_registry().get("acme")
    assert err.strip() == f"bmsgw: error: {expected.value}"


@pytest.mark.parametrize(
    "transport",
    [["--modbus-tcp", "127.0.0.1:502"], ["--tcp", "127.0.0.1:502", "--protocol", "modbus"]],
)
def test_modbus_needs_a_vendor_that_speaks_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, transport: list[str]
) -> None:
    monkeypatch.setattr(connect, "open_link", _no_connection)
    code, _, err = run(capsys, "read", *transport, "--vendor", "jbd")
    assert code == 2
    assert_one_error_line(err)
    assert "does not support Modbus" in err


def test_modbus_without_a_modbus_link_is_not_supported_yet(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pace = _pace_registry(monkeypatch)
    monkeypatch.setitem(sys.modules, "vendor_plugins.transports.modbus", None)  # as if it were not installed
    code, _, err = run(capsys, "read", "--modbus-tcp", "127.0.0.1:1", "--vendor", pace)
    assert code == 2
    assert_one_error_line(err)
    assert "not supported yet" in err


def _pace_registry(monkeypatch: pytest.MonkeyPatch) -> str:
    """Make sure the CLI's registry holds the PACE plugin (Modbus-capable, multi-address); return its name."""
    pace = pytest.importorskip("vendor_plugins.pace.plugin").PLUGIN
    registry = Registry([pace, *(p for p in default_registry() if p.name != pace.name)])
    monkeypatch.setattr(common, "registry", lambda: registry)
    return str(pace.name)


def test_modbus_rtu_through_a_tcp_bridge(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, serve: Any
) -> None:
    pace = _pace_registry(monkeypatch)
    plugin = common.registry().get(pace)
    bus = [plugin.create_simulator(SimulatorOptions(family="modbus", address=a, profile="static")) for a in (1, 2)]
    served = serve(bus)
    argv = ["read", "--tcp", served.target, "--protocol", "modbus", "--vendor", pace, "--address", "2"]
    code, out, err = run(capsys, *argv, "--json", "--timeout", "1")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["family"] == "modbus"
    assert doc["transport"] == f"modbus-rtu+tcp://{served.target}"
    (pack,) = doc["packs"]
    assert pack["address"] == 2
    assert pack["error"] is None
    assert pack["snapshot"]["cell_voltages"]


def test_modbus_tcp_unreachable_exits_3(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, dead_port: str
) -> None:
    pace = _pace_registry(monkeypatch)
    code, out, err = run(capsys, "read", "--modbus-tcp", dead_port, "--vendor", pace, "--timeout", "1")
    assert code == 3
    assert out == ""
    assert_one_error_line(err)


def test_simulate_a_bus_of_packs(monkeypatch: pytest.MonkeyPatch) -> None:
    pace = _pace_registry(monkeypatch)
    args = parser.build_parser().parse_args(["simulate", "--vendor", pace, "--pty", "--packs", "3", "--address", "4"])
    simulators = cmd_simulate.build_simulators(args, common.registry().get(pace))
    assert [getattr(s, "address", None) for s in simulators] == [4, 5, 6]


def _no_connection(*args: object) -> None:
    raise AssertionError("a connection was attempted")


# --- vendors --------------------------------------------------------------------------------------


def test_vendors_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "vendors")
    assert code == 0
    assert err == ""
    header, rule, *rows = out.splitlines()
    assert header.split()[:2] == ["NAME", "TITLE"]
    assert set(rule) <= {"-", " "}
    names = [row.split()[0] for row in rows]
    assert names == default_registry().names()
    jbd_row = rows[names.index("jbd")]
    assert "JBD (Jiabaida / Xiaoxiang)" in jbd_row
    assert "ble, serial, tcp" in jbd_row
    assert "charge, discharge" in jbd_row
    assert jbd_row.rstrip().endswith(str(len(jbd_table.BLE_MATCHERS)))


def test_vendors_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "vendors", "--json")
    assert code == 0
    vendors = json.loads(out)
    assert [v["name"] for v in vendors] == default_registry().names()
    jbd = next(v for v in vendors if v["name"] == "jbd")
    assert jbd == {
        "name": "jbd",
        "title": "JBD (Jiabaida / Xiaoxiang)",
        "link_kinds": ["ble", "serial", "tcp"],
        "families": ["jbd", "daren"],
        "switches": ["charge", "discharge"],
        "multi_address": False,
        "ble_matchers": len(jbd_table.BLE_MATCHERS),
    }


# --- read -----------------------------------------------------------------------------------------


def test_unreachable_tcp_port_exits_3_with_one_line(capsys: pytest.CaptureFixture[str], dead_port: str) -> None:
    code, out, err = run(capsys, "read", "--tcp", dead_port, "--vendor", "jbd", "--timeout", "1")
    assert code == 3
    assert out == ""
    assert_one_error_line(err)
    assert dead_port in err


def test_unreachable_tcp_port_json_reports_the_pack_error(capsys: pytest.CaptureFixture[str], dead_port: str) -> None:
    code, out, err = run(capsys, "read", "--tcp", dead_port, "--vendor", "jbd", "--json", "--timeout", "1")
    assert code == 3
    assert_one_error_line(err)
    doc = json.loads(out)
    assert doc["vendor"] == "jbd"
    assert doc["transport"] == f"tcp://{dead_port}"
    (pack,) = doc["packs"]
    assert pack["snapshot"] is None
    assert pack["device"] is None
    assert isinstance(pack["error"], str)
    assert "\n" not in pack["error"]


@pytest.mark.parametrize("before", [True, False])
def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str], before: bool) -> None:
    argv = ["read", "--tcp", "nowhere", "--vendor", "jbd"]
    code, _, err = run(capsys, *(["--debug", *argv] if before else [*argv, "--debug"]))
    assert code == 2
    assert "Traceback" in err
    assert err.rstrip().splitlines()[-1].startswith("bmsgw: error: ")


def test_read_json_shape(capsys: pytest.CaptureFixture[str], serve: Any) -> None:
    served = serve(JbdSimulator(JbdState(current=-4.1, alarms={Alarm.CELL_OVERVOLTAGE}, balancing={3})))
    code, out, err = run(capsys, "read", "--tcp", served.target, "--vendor", "jbd", "--json", "--timeout", "1")
    assert (code, err) == (0, "")
    assert out.count("\n") == 1  # one document, one line
    doc = json.loads(out)
    assert set(doc) == {"vendor", "family", "transport", "packs"}
    assert doc["vendor"] == "jbd"
    assert doc["family"] == "jbd"
    assert doc["transport"] == f"tcp://{served.target}"
    (pack,) = doc["packs"]
    assert set(pack) == {"address", "device", "snapshot", "error"}
    assert pack["error"] is None
    assert pack["device"]["model"] == served.simulator.state.model
    assert pack["device"]["manufacture_date"] == served.simulator.state.production_date.isoformat()
    snapshot = pack["snapshot"]
    assert set(snapshot) >= {f for f in BmsSnapshot.__dataclass_fields__}
    assert snapshot == BmsSnapshot.from_dict(snapshot).to_dict()
    assert snapshot["current"] == -4.1
    assert snapshot["alarms"] == ["cell_overvoltage"]
    assert snapshot["balancing"] == [3]


class NoHardwareInfo(JbdSimulator):
    """A board that answers 0x03/0x04 but refuses the hardware-info register."""

    def _read(self, register: int) -> bytes:
        if register == jbd_table.REG_HARDWARE:
            return jbd_codec.build_response(register, b"", jbd_table.STATUS_ERROR)
        return super()._read(register)


def test_device_info_failure_does_not_prevent_the_snapshot(capsys: pytest.CaptureFixture[str], serve: Any) -> None:
    served = serve(NoHardwareInfo())
    code, out, err = run(capsys, "read", "--tcp", served.target, "--vendor", "jbd", "--json", "--timeout", "1")
    assert (code, err) == (0, "")
    (pack,) = json.loads(out)["packs"]
    assert pack["device"] is None
    assert pack["error"] is None
    assert pack["snapshot"]["cell_voltages"] == served.simulator.state.cell_voltages


def test_read_table(capsys: pytest.CaptureFixture[str], serve: Any) -> None:
    state = JbdState(current=-4.1, alarms={Alarm.CELL_OVERVOLTAGE}, balancing={1})
    served = serve(JbdSimulator(state))
    code, out, err = run(capsys, "read", "--tcp", served.target, "--vendor", "jbd", "--address", "all")
    assert (code, err) == (0, "")
    assert f"via tcp://{served.target}" in out
    assert state.model in out
    assert "discharging" in out
    assert "cell_overvoltage" in out
    assert "charge on, discharge on" in out
    lowest = min(state.cell_voltages)
    low_line = next(line for line in out.splitlines() if line.strip().startswith("3 "))
    assert f"{lowest:.3f} V" in low_line
    assert "min" in low_line
    high_line = next(line for line in out.splitlines() if line.strip().startswith("1 "))
    assert "max" in high_line
    assert "balancing" in high_line
    assert "delta 7 mV" in out
    assert "cell_1" in out
    assert "24.5 °C" in out


def test_watch_keeps_going_after_failed_rounds(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, dead_port: str
) -> None:
    rounds = 0
    original = PackReader.read_round

    async def read_round(self: PackReader) -> list[PackResult]:
        nonlocal rounds
        rounds += 1
        if rounds == 3:
            raise KeyboardInterrupt  # what Ctrl-C looks like when no signal handler could be installed
        return await original(self)

    monkeypatch.setattr(PackReader, "read_round", read_round)
    code, out, err = run(capsys, "read", "--tcp", dead_port, "--vendor", "jbd", "--json", "--watch", "0.01")
    assert code == 0
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) == 2
    assert all(doc["packs"][0]["snapshot"] is None for doc in docs)
    assert len(err.splitlines()) == 2
    assert all(line.startswith("bmsgw: error: ") for line in err.splitlines())


# --- probe ----------------------------------------------------------------------------------------


def test_probe_finds_jbd(capsys: pytest.CaptureFixture[str], serve: Any) -> None:
    served = serve()
    code, out, err = run(capsys, "probe", "--tcp", served.target, "--timeout", "0.3")  # others stay silent
    assert (code, err) == (0, "")
    assert "jbd" in out
    assert served.simulator.state.model in out


def test_probe_json(capsys: pytest.CaptureFixture[str], serve: Any) -> None:
    served = serve()
    code, out, _ = run(capsys, "probe", "--tcp", served.target, "--vendor", "jbd", "--json", "--timeout", "1")
    assert code == 0
    (found,) = json.loads(out)
    assert found["vendor"] == "jbd"
    assert found["family"] == "jbd"
    assert found["device"]["model"] == served.simulator.state.model


def test_probe_with_nothing_answering_exits_3(capsys: pytest.CaptureFixture[str], dead_port: str) -> None:
    code, out, err = run(capsys, "probe", "--tcp", dead_port, "--timeout", "1")
    assert code == 3
    assert out == ""
    assert_one_error_line(err)


# --- set ------------------------------------------------------------------------------------------


def test_set_without_allow_control_refuses_before_connecting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, serve: Any
) -> None:
    served = serve()
    monkeypatch.setattr(connect, "open_link", _no_connection)
    code, out, err = run(capsys, "set", "--tcp", served.target, "--vendor", "jbd", "--switch", "discharge", "--off")
    assert code == 4
    assert out == ""
    assert_one_error_line(err)
    assert "--allow-control" in err
    assert served.server.connections == 0
    assert served.simulator.requests == []
    assert served.simulator.state.discharge_mosfet


def test_set_with_allow_control_switches_and_confirms(capsys: pytest.CaptureFixture[str], serve: Any) -> None:
    served = serve()
    argv = ["set", "--tcp", served.target, "--vendor", "jbd", "--switch", "charge", "--off", "--allow-control"]
    code, out, err = run(capsys, *argv, "--timeout", "1")
    assert (code, err) == (0, "")
    assert "charge MOSFET off" in out
    assert "confirmed" in out
    assert not served.simulator.state.charge_mosfet
    assert served.simulator.state.discharge_mosfet
    assert Alarm.SOFTWARE_LOCK in served.simulator.state.alarms


class StuckMosfets(JbdSimulator):
    """A board that acknowledges MOSFET writes but never changes state."""

    def _write(self, register: int, data: bytes) -> bytes:
        if register == jbd_table.REG_MOS:
            return jbd_codec.build_response(register, b"")  # acknowledged, ignored
        return super()._write(register, data)


def test_set_not_confirmed_exits_4(capsys: pytest.CaptureFixture[str], serve: Any) -> None:
    served = serve(StuckMosfets())
    argv = ["set", "--tcp", served.target, "--vendor", "jbd", "--switch", "discharge", "--off", "--allow-control"]
    code, out, err = run(capsys, *argv, "--timeout", "1")
    assert code == 4
    assert out == ""
    assert_one_error_line(err)
    assert served.simulator.state.discharge_mosfet


def test_set_unreachable_exits_3(capsys: pytest.CaptureFixture[str], dead_port: str) -> None:
    argv = ["set", "--tcp", dead_port, "--vendor", "jbd", "--switch", "discharge", "--on", "--allow-control"]
    code, _, err = run(capsys, *argv, "--timeout", "1")
    assert code == 3
    assert_one_error_line(err)


# --- scan -----------------------------------------------------------------------------------------


def test_scan_lists_devices_with_matching_plugins(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bleak import BleakScanner
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

    def device(address: str, name: str | None, uuids: list[str], rssi: int) -> tuple[BLEDevice, AdvertisementData]:
        adv = AdvertisementData(
            local_name=name,
            manufacturer_data={},
            service_data={},
            service_uuids=uuids,
            tx_power=None,
            rssi=rssi,
            platform_data=(),
        )
        return BLEDevice(address, name, None), adv

    found = {
        "AA:BB:CC:00:00:01": device("AA:BB:CC:00:00:01", "Fitness band", [], -40),
        "AA:BB:CC:00:00:02": device(
            "AA:BB:CC:00:00:02", "JBD-SP04S034-L4S-200A", [jbd_table.BLE_PROFILE.service_uuid], -70
        ),
    }
    seen: dict[str, object] = {}

    async def discover(**kwargs: object) -> dict[str, Any]:
        seen.update(kwargs)
        return found

    monkeypatch.setattr(BleakScanner, "discover", staticmethod(discover))
    code, out, err = run(capsys, "scan", "--timeout", "0.5")
    assert (code, err) == (0, "")
    assert seen == {"timeout": 0.5, "return_adv": True}
    rows = out.splitlines()[2:]
    assert rows[0].split()[0] == "AA:BB:CC:00:00:02"  # matching devices first
    assert rows[0].split()[-1] == "jbd"
    assert rows[1].split()[-1] == "-"

    code, out, _ = run(capsys, "scan", "--json")
    assert code == 0
    by_address = {d["address"]: d for d in json.loads(out)}
    assert by_address["AA:BB:CC:00:00:02"]["vendors"] == ["jbd"]
    assert by_address["AA:BB:CC:00:00:02"]["rssi"] == -70
    assert by_address["AA:BB:CC:00:00:01"]["vendors"] == []


def test_scan_without_adapter_exits_3(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from bleak import BleakScanner
    from bleak.exc import BleakError

    async def discover(*args: object, **kwargs: object) -> None:
        raise BleakError("No Bluetooth adapters found.\nIs bluetoothd running?")

    monkeypatch.setattr(BleakScanner, "discover", staticmethod(discover))
    code, out, err = run(capsys, "scan", "--timeout", "0.1")
    assert code == 3
    assert out == ""
    assert_one_error_line(err)
    assert "No Bluetooth adapters found" in err


# --- helpers of the module ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:0", ("127.0.0.1", 0)), ("0.0.0.0:4196", ("0.0.0.0", 4196)), ("[::1]:0", ("::1", 0))],
)
def test_listen_address_allows_port_zero(text: str, expected: tuple[str, int]) -> None:
    assert cmd_simulate.listen_address(text) == expected


def test_exit_codes_of_errors() -> None:
    assert common.exit_code_for(ConfigError("x")) == 2
    assert common.exit_code_for(ControlRefused("x")) == 4
    assert common.exit_code_for(TransportError("x")) == 3
    assert one_line(TransportError("a\n  b")) == "a b"
    assert one_line(TransportError()) == "TransportError"


def test_render_pack_unknown_values_and_errors() -> None:
    text = cli_format.render_pack(7, DeviceInfo(vendor="ACME", serial_number="X1"), BmsSnapshot(voltage=51.2), None)
    assert text.splitlines()[0] == "Pack 7: ACME, s/n X1"
    assert "51.20 V" in text
    assert "SoC              -" in text  # unknown: never a made-up 0
    assert "Cells            -" in text
    failed = cli_format.render_pack(None, None, None, "no answer within 1 s")
    assert failed.splitlines() == ["Pack", "  Error            no answer within 1 s"]
    temps = cli_format.render_snapshot(
        BmsSnapshot(temperatures=(Temperature("mosfet", TemperatureKind.MOSFET, 31.0),), cell_voltages=(3.3, 3.3))
    )
    assert any("mosfet" in line and "31.0 °C" in line for line in temps)
    assert not any(line.endswith(("min", "max")) for line in temps)  # equal cells: no extremes marked

"""The settings validators: table tests of good and bad values (with their translation keys) and properties."""

from __future__ import annotations

import ipaddress
import string

import pytest
import voluptuous as vol
from hypothesis import given
from hypothesis import strategies as st

from vendor_plugins import schemas, settings
from vendor_plugins.errors import ConfigError
from vendor_plugins.pace.plugin import PLUGIN as PACE
from vendor_plugins.plugin import LinkKind, SessionOptions
from vendor_plugins.registry import default_registry
from vendor_plugins.settings import InvalidSetting


def refused(validator: object, value: object) -> InvalidSetting:
    with pytest.raises(InvalidSetting) as caught:
        validator(value)  # type: ignore[operator]
    err = caught.value
    assert isinstance(err, ConfigError) and isinstance(err, vol.Invalid)
    assert "\n" not in str(err)
    return err


def outcome(validator: object, value: object) -> tuple[object, InvalidSetting | None]:
    """``(result, None)`` or ``(None, error)``."""
    try:
        return validator(value), None  # type: ignore[operator]
    except InvalidSetting as err:
        return None, err


# --- hosts and ports --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.168.1.50:4196", ("192.168.1.50", 4196)),
        (" bridge.local:8899 ", ("bridge.local", 8899)),
        ("bridge.local.:8899", ("bridge.local", 8899)),  # the root dot is dropped
        ("[::1]:502", ("::1", 502)),
        ("[fe80::1%eth0]:502", ("fe80::1%eth0", 502)),
        ("my-bms-1:1", ("my-bms-1", 1)),
        ("x:65535", ("x", 65535)),
        ("a" * 63 + ".lan:80", ("a" * 63 + ".lan", 80)),
    ],
)
def test_host_port_accepts(text: str, expected: tuple[str, int]) -> None:
    assert settings.HostPort()(text) == expected


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("", "bad_host", "empty"),
        ("   ", "bad_host", "empty"),
        ("tcp://10.0.0.2:4196", "bad_host", "scheme"),
        ("http://bridge:80", "bad_host", "scheme"),
        ("my bridge:4196", "bad_host", "spaces"),
        ("a" * 64 + ".lan:80", "bad_host", "63"),
        (".".join(["abcdefgh"] * 30) + ":80", "bad_host", "253"),
        ("-bridge:80", "bad_host", "invalid name part"),
        ("bridge-:80", "bad_host", "invalid name part"),
        ("br!dge:80", "bad_host", "invalid name part"),
        ("a..b:80", "bad_host", "empty part"),
        ("256.1.1.1:80", "bad_host", "IPv4"),
        ("::1:502", "bad_host", "brackets"),
        ("[::1:502", "bad_host", "']'"),
        ("[not-v6]:502", "bad_host", "IPv6"),
        ("[::1]x502", "bad_host", "after ']'"),
        ("bridge", "bad_port", "no port"),
        ("bridge:", "bad_port", "not a port number"),
        ("bridge:http", "bad_port", "not a port number"),
        ("bridge:-1", "bad_port", "not a port number"),
        ("bridge:0", "bad_port", "port 0"),
        ("bridge:65536", "bad_port", "65535"),
        (4196, "bad_host", "not text"),
    ],
)
def test_host_port_refuses_with_key_and_reason(text: object, key: str, words: str) -> None:
    err = refused(settings.HostPort("--tcp"), text)
    assert err.key == key
    assert err.setting == "--tcp"
    assert str(err).startswith("--tcp: ")
    assert words in err.reason, err.reason


def test_port_zero_message_says_why() -> None:
    err = refused(settings.Port(), 0)
    assert "port 0" in str(err) and "listening" in str(err) and "1-65535" in str(err)
    assert settings.Port(listen=True)(0) == 0
    assert settings.HostPort(listen=True)("[::1]:0") == ("::1", 0)


def test_default_port() -> None:
    modbus = settings.HostPort(default_port=502)
    assert modbus("gateway.lan") == ("gateway.lan", 502)
    assert modbus("gateway.lan:1502") == ("gateway.lan", 1502)
    assert modbus("fd00::5") == ("fd00::5", 502)  # a bare IPv6 address: no port to split off
    assert modbus("[fd00::5]") == ("fd00::5", 502)
    assert "port 502 by default" in refused(modbus, "modbus://gw").reason


@pytest.mark.parametrize("value", [True, 1.5, "1e3", "", None, 70000, -5, " 80x"])
def test_port_refuses(value: object) -> None:
    assert refused(settings.Port(), value).key == "bad_port"


def test_host_alone() -> None:
    host = settings.Host()
    assert host("192.168.1.5") == "192.168.1.5"
    assert host("[::1]") == "::1"
    assert host("2001:db8::1") == "2001:db8::1"
    assert host("Bridge.LAN") == "Bridge.LAN"
    for bad in ("", "tcp://bridge", "br idge", "a" * 64, "1.2.3", "[zz]", "bridge:4196"):
        assert refused(host, bad).key == "bad_host", bad


_label = st.text(string.ascii_letters + string.digits, min_size=1, max_size=10).filter(lambda s: not s.isdigit())


@given(
    labels=st.lists(_label, min_size=1, max_size=4),
    port=st.integers(1, 65535),
)
def test_any_hostname_and_port_round_trip(labels: list[str], port: int) -> None:
    host = ".".join(labels)
    assert settings.HostPort()(f"{host}:{port}") == (host, port)


@given(address=st.ip_addresses(), port=st.integers(1, 65535))
def test_any_ip_address_round_trips(address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> None:
    text = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
    host, got = settings.HostPort()(text)
    assert ipaddress.ip_address(host) == address and got == port


@given(text=st.text(max_size=40))
def test_host_port_never_crashes(text: str) -> None:
    """Any text is accepted as a pair or refused with a ConfigError carrying a key, never another exception."""
    pair, err = outcome(settings.HostPort(), text)
    if err is not None:
        assert err.key in {"bad_host", "bad_port"}
        assert str(err).startswith("host: ")
        return
    assert isinstance(pair, tuple)
    host, port = pair
    assert 1 <= port <= 65535
    assert host and not any(c.isspace() for c in host) and "://" not in host


@given(port=st.integers().filter(lambda p: not 1 <= p <= 65535))
def test_ports_out_of_range_are_refused(port: int) -> None:
    assert refused(settings.HostPort(), f"h:{port}").key == "bad_port"


# --- serial -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", ["/dev/ttyUSB0", "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0", " /dev/pts/3 "])
def test_serial_device_accepts_absolute_paths(device: str) -> None:
    assert settings.SerialDevice(platform="linux")(device) == device.strip()


@pytest.mark.parametrize("device", ["", "  ", "ttyUSB0", "dev/ttyUSB0", "/dev/", "/dev/tty\0USB0", None, 3])
def test_serial_device_refuses(device: object) -> None:
    err = refused(settings.SerialDevice("--serial", platform="linux"), device)
    assert err.key == "bad_serial_device" and "/dev/ttyUSB0" in err.reason


def test_serial_device_on_windows() -> None:
    windows = settings.SerialDevice(platform="win32")
    assert windows("com3") == "COM3"
    assert windows("\\\\.\\COM12") == "COM12"
    for bad in ("/dev/ttyUSB0", "COM", "COM0", "LPT1"):
        assert refused(windows, bad).key == "bad_serial_device", bad


# --- baud rates -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [*settings.BAUD_RATES, "9600", " 115200 "])
def test_standard_baud_rates(rate: int | str) -> None:
    assert settings.BAUD(rate) == int(rate)


@given(rate=st.one_of(st.integers(), st.text(max_size=8), st.booleans(), st.floats()))
def test_other_baud_rates_are_refused(rate: object) -> None:
    value, err = outcome(settings.BAUD, rate)
    if err is not None:
        assert err.key == "bad_baudrate" and "9600" in err.reason
    else:
        assert value in settings.BAUD_RATES


# --- addresses --------------------------------------------------------------------------------------------------
def test_allowed_addresses_per_vendor_and_link() -> None:
    registry = default_registry()
    assert settings.allowed_addresses(PACE, LinkKind.TCP) == tuple(range(16))  # ASCII DIP-switch addresses
    assert settings.allowed_addresses(PACE, LinkKind.SERIAL, SessionOptions(extra={"protocol": "modbus"})) == tuple(
        range(1, 17)
    )
    assert settings.allowed_addresses(PACE, LinkKind.MODBUS) == tuple(range(1, 17))
    for single in ("jbd", "daly", "hiximi"):
        assert settings.allowed_addresses(registry.get(single), LinkKind.TCP) == ()


@pytest.mark.parametrize(("value", "expected"), [(0, 0), ("15", 15), ("0x0f", 15), (" 7 ", 7)])
def test_bus_address_accepts(value: object, expected: int) -> None:
    assert settings.BusAddress(allowed=tuple(range(16)))(value) == expected


@pytest.mark.parametrize(("value", "words"), [(16, "0-15"), (-1, "0-15"), ("x", "not a number"), (True, "number")])
def test_bus_address_refuses(value: object, words: str) -> None:
    err = refused(settings.BusAddress("--address", allowed=tuple(range(16)), vendor="pace"), value)
    assert err.key == "bad_address" and words in err.reason and "pace" in err.reason


def test_single_pack_vendor_has_no_address() -> None:
    err = refused(settings.BusAddress("--address", allowed=(), vendor="jbd"), 1)
    assert "one pack per link" in err.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", list(range(1, 17))), ("3", [3]), ("1-4, 7", [1, 2, 3, 4, 7]), ("7;2-3,2", [2, 3, 7]), ("16", [16])],
)
def test_parse_addresses(text: str, expected: list[int]) -> None:
    assert settings.parse_addresses(text, range(1, 17)) == expected


@pytest.mark.parametrize("text", ["0", "17", "1-17", "4-2", "a", "1,,2", "1-", "-3"])
def test_parse_addresses_refuses(text: str) -> None:
    assert refused(lambda t: settings.parse_addresses(t, range(1, 17)), text).key == "bad_address"


@given(units=st.sets(st.integers(1, 16), min_size=1))
def test_parse_addresses_round_trips(units: set[int]) -> None:
    assert settings.parse_addresses(", ".join(map(str, units)), range(1, 17)) == sorted(units)


# --- times ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [(5, 5.0), (600, 600.0), ("30", 30.0), (15.0, 15.0)])
def test_scan_interval_accepts(value: object, expected: float) -> None:
    assert settings.SCAN_INTERVAL(value) == expected


@pytest.mark.parametrize("value", [4, 601, 7.5, "soon", float("nan"), float("inf"), None, True])
def test_scan_interval_refuses(value: object) -> None:
    err = refused(settings.SCAN_INTERVAL, value)
    assert err.key == "bad_scan_interval" and "5-600" in err.reason


@given(seconds=st.floats(allow_nan=True, allow_infinity=True))
def test_timeout_bounds(seconds: float) -> None:
    value, err = outcome(settings.TIMEOUT, seconds)
    if err is not None:
        assert err.key == "bad_timeout"
        assert not 0 < seconds <= 120
    else:
        assert value == seconds and 0 < seconds <= 120


# --- Bluetooth --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a4:c1:38:00:00:01", "A4:C1:38:00:00:01"),
        ("A4-C1-38-00-00-01", "A4:C1:38:00:00:01"),
        ("0f0e5b36-2b2a-4c47-9a1b-6f4d6b1e1a2c", "0F0E5B36-2B2A-4C47-9A1B-6F4D6B1E1A2C"),
    ],
)
def test_ble_address_accepts(value: str, expected: str) -> None:
    assert settings.BleAddress()(value) == expected


@pytest.mark.parametrize("value", ["", "A4:C1:38:00:00", "A4:C1:38:00:00:0G", "A4:C1-38:00:00:01", "A4C138000001", 5])
def test_ble_address_refuses(value: object) -> None:
    assert refused(settings.BleAddress("--ble"), value).key == "bad_ble_address"


# --- schemas ----------------------------------------------------------------------------------------------------
def test_schemas_validate_and_report_every_field() -> None:
    data = schemas.validate(schemas.modbus_tcp_schema(range(1, 17)), {"host": "gw", "units": "2-3"})
    assert data == {"host": ("gw", 502), "units": [2, 3]}
    assert schemas.validate(schemas.tcp_bridge_schema(), {"host": "[::1]:8899"})["host"] == ("::1", 8899)
    checked, errors = schemas.field_errors(schemas.serial_schema(), {"device": "x", "baudrate": "1"})
    assert checked == {} and errors == {"device": "bad_serial_device", "baudrate": "bad_baudrate"}
    with pytest.raises(InvalidSetting) as caught:
        schemas.validate(schemas.options_schema(), {"scan_interval": 3})
    assert caught.value.key == "bad_scan_interval" and str(caught.value).startswith("scan_interval: ")
    # A field missing altogether is still one ConfigError with a key.
    with pytest.raises(InvalidSetting) as missing:
        schemas.validate(schemas.serial_schema(), {"device": "/dev/ttyUSB0"})
    assert missing.value.key == "bad_baudrate"


def test_modbus_rtu_serial_schema() -> None:
    """Modbus RTU on a serial port: the serial checks plus the unit list (empty: every allowed unit)."""
    schema = schemas.modbus_serial_schema(range(1, 17))
    data = schemas.validate(schema, {"device": " /dev/ttyUSB0 ", "baudrate": "19200", "units": "1-3, 7"})
    assert data == {"device": "/dev/ttyUSB0", "baudrate": 19200, "units": [1, 2, 3, 7]}
    assert schemas.validate(schema, {"device": "/dev/ttyUSB0", "baudrate": 9600})["units"] == list(range(1, 17))
    checked, errors = schemas.field_errors(schema, {"device": "ttyUSB0", "baudrate": "9601", "units": "0"})
    assert checked == {}
    assert errors == {"device": "bad_serial_device", "baudrate": "bad_baudrate", "units": "bad_address"}
    _, errors = schemas.field_errors(schema, {"device": "/dev/ttyUSB0", "baudrate": "9600", "units": "17"})
    assert errors == {"units": "bad_address"}


def test_modbus_rtu_over_tcp_schema_needs_the_port() -> None:
    """A transparent bridge has no standard port: ``HOST`` alone is refused (unlike a Modbus-TCP gateway's 502)."""
    schema = schemas.modbus_rtu_tcp_schema(range(1, 17))
    assert schemas.validate(schema, {"host": "[fd00::5]:4196", "units": "2"}) == {
        "host": ("fd00::5", 4196),
        "units": [2],
    }
    for host, key in (("10.0.0.5", "bad_port"), ("10.0.0.5:0", "bad_port"), ("tcp://10.0.0.5:4196", "bad_host")):
        _, errors = schemas.field_errors(schema, {"host": host, "units": ""})
        assert errors == {"host": key}, host
    _, errors = schemas.field_errors(schema, {"host": "bad host", "units": "4-2"})
    assert errors == {"host": "bad_host", "units": "bad_address"}

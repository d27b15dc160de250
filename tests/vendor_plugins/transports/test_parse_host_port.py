"""parse_host_port: the user's HOST:PORT text."""

from __future__ import annotations

import pytest

from vendor_plugins.errors import ConfigError
from vendor_plugins.transports import parse_host_port


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("192.168.1.50:4196", None, ("192.168.1.50", 4196)),
        ("bridge.local:502", None, ("bridge.local", 502)),
        ("  bridge:1  ", None, ("bridge", 1)),
        ("bridge:65535", None, ("bridge", 65535)),
        ("[::1]:502", None, ("::1", 502)),
        ("[fe80::1%eth0]:8899", None, ("fe80::1%eth0", 8899)),
        ("tcp://10.0.0.2:4196", None, ("10.0.0.2", 4196)),
        ("bridge", 4196, ("bridge", 4196)),
        ("[::1]", 502, ("::1", 502)),
        ("bridge:8080", 4196, ("bridge", 8080)),
    ],
)
def test_good(text: str, default: int | None, expected: tuple[str, int]) -> None:
    """Valid forms parse to (host, port)."""
    assert parse_host_port(text, default) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "missing host"),
        (":4196", "missing host"),
        ("bridge", "missing port"),
        ("bridge:", "port must be a number"),
        ("bridge:abc", "port must be a number"),
        ("bridge:-1", "port must be a number"),
        ("bridge:0", "port must be 1-65535"),
        ("bridge:65536", "port must be 1-65535"),
        ("bridge:\uff14\uff11\uff19\uff16", "port must be a number"),  # full-width digits
        ("::1:502", "brackets"),
        ("[::1:502", "missing ']'"),
        ("[::1]502", "unexpected text"),
        ("[bridge]:502", "not an IPv6 address"),
        ("host name:1", "invalid host"),
        ("http://bridge:1", "only a tcp:// prefix"),
    ],
)
def test_bad(text: str, reason: str) -> None:
    """Invalid input raises ConfigError quoting the input and saying why."""
    with pytest.raises(ConfigError, match="expected HOST:PORT, got") as err:
        parse_host_port(text)
    assert reason in str(err.value)
    assert repr(text) in str(err.value)


def test_default_port_out_of_range() -> None:
    """A bad default is rejected too."""
    with pytest.raises(ConfigError):
        parse_host_port("bridge", 0)

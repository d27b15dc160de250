"""An echoing RS485 line (issue 21 item 10): some adapters hand every request back before the pack answers.

The ASCII session must not take its own request for the reply ("refused 0x42: RTN 0x42", exit 4): the echo is
ignored, the real answer used, and a line that only echoes is a silent pack (exit 3, a link/protocol error).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import pytest

from vendor_plugins import cli
from vendor_plugins.pace.simulator_ascii import PaceAsciiSimulator
from vendor_plugins.pace.simulator_state import PaceState
from vendor_plugins.sim.base import Simulator
from vendor_plugins.sim.tcp import SimServer, serve_tcp

pytestmark = pytest.mark.timeout(30)


class Echoing(PaceAsciiSimulator):
    """The pack behind an adapter that echoes: every request comes back first, then the pack's answer."""

    def handle(self, request: bytes) -> bytes | None:
        return request + (super().handle(request) or b"")


class EchoOnly(PaceAsciiSimulator):
    """An echoing adapter with no pack behind it: only the echo comes back."""

    def handle(self, request: bytes) -> bytes | None:
        return request


@pytest.fixture
def serve() -> Iterator[Callable[[Simulator], str]]:
    """Serve a simulator over loopback TCP from a private event loop in a thread; returns ``host:port``."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    servers: list[SimServer] = []

    def start(simulator: Simulator) -> str:
        server = asyncio.run_coroutine_threadsafe(serve_tcp(simulator), loop).result(timeout=5)
        servers.append(server)
        return f"{server.host}:{server.port}"

    try:
        yield start
    finally:
        for server in servers:
            asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_set_over_an_echoing_line_switches_and_confirms(
    capsys: pytest.CaptureFixture[str], serve: Callable[[Simulator], str]
) -> None:
    sim = Echoing(PaceState(), address=1)
    target = serve(sim)
    argv = ("set", "--vendor", "pace", "--tcp", target, "--address", "1", "--switch", "charge", "--off")
    code, out, err = _run(capsys, *argv, "--allow-control", "--timeout", "1")
    assert (code, err) == (0, ""), err
    assert "confirmed" in out
    assert not sim.state.charge_mosfet and sim.state.discharge_mosfet


def test_read_over_an_echoing_line(capsys: pytest.CaptureFixture[str], serve: Callable[[Simulator], str]) -> None:
    target = serve(Echoing(PaceState(), address=1))
    code, _out, err = _run(capsys, "read", "--vendor", "pace", "--tcp", target, "--address", "1", "--timeout", "1")
    assert (code, err) == (0, ""), err


def test_a_line_that_only_echoes_is_a_silent_pack_exit_3(
    capsys: pytest.CaptureFixture[str], serve: Callable[[Simulator], str]
) -> None:
    sim = EchoOnly(PaceState(), address=1)
    target = serve(sim)
    argv = ("set", "--vendor", "pace", "--tcp", target, "--address", "1", "--switch", "charge", "--off")
    code, out, err = _run(capsys, *argv, "--allow-control", "--timeout", "0.5")
    assert code == 3, err
    assert out == "" and "RTN" not in err
    assert sim.state.charge_mosfet

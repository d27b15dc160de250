"""SerialLink against the simulator served on a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import time

import pytest
import serialx

from vendor_plugins.errors import DeviceTimeout, TransportError
from vendor_plugins.plugin import LinkKind
from vendor_plugins.sim.pty import serve_pty
from vendor_plugins.transports import SerialLink

from .line_protocol import LineSim, answer, expect, request


async def test_exchange_over_pty(sim: LineSim) -> None:
    """Open the pty slave as a serial port and exchange requests with the simulator."""
    async with await serve_pty(sim) as server, SerialLink(server.path, baudrate=9600, timeout=0.3) as link:
        assert server.path.startswith("/dev/pts/")
        assert link.description == f"serial://{server.path}@9600"
        assert link.kind is LinkKind.SERIAL
        for ident in (1, 2, 0x51):
            frames = await link.exchange(request(ident), expect(ident))
            assert [f.raw for f in frames] == [answer(ident)]
    assert sim.handled == [request(1), request(2), request(0x51)]


async def test_timeout_over_pty(sim: LineSim) -> None:
    """A silent pack on the serial line: DeviceTimeout, and the port keeps working."""
    async with await serve_pty(sim) as server, SerialLink(server.path, timeout=0.3) as link:
        with pytest.raises(DeviceTimeout):
            await link.exchange(request(0xEE), expect(0xEE, timeout=0.15))
        assert (await link.exchange(request(4), expect(4)))[0].address == 4


async def test_baud_pacing_delays_replies() -> None:
    """With ``baud`` the reply takes as long as its bytes would on the wire (10 bits per byte)."""
    sim = LineSim(reply_size=56)  # 60-byte answers: 0.25 s at 2400 baud
    async with await serve_pty(sim, baud=2400) as server, SerialLink(server.path, baudrate=2400) as link:
        started = time.monotonic()
        frames = await link.exchange(request(3), expect(3, timeout=1.0))
        elapsed = time.monotonic() - started
        assert frames[0].raw == answer(3, bytes(range(3, 59)))
        assert 0.24 <= elapsed < 0.8
        with pytest.raises(DeviceTimeout):  # the paced reply cannot make a shorter deadline
            await link.exchange(request(4), expect(4, timeout=0.1))


async def test_stale_bytes_on_the_line_are_discarded(sim: LineSim) -> None:
    """A late answer sitting in the port is not taken as the next answer."""
    async with await serve_pty(sim) as server, SerialLink(server.path, timeout=0.3) as link:
        await link.exchange(request(1), expect(1))
        server.inject(answer(0x63))
        await asyncio.sleep(0.05)
        frames = await link.exchange(request(7), expect())
        assert [f.address for f in frames] == [7]


async def test_multi_address_bus_over_pty() -> None:
    """A bus of packs on one virtual serial port; the link serialises concurrent requests."""
    packs = [LineSim(address=a) for a in (1, 2, 3, 4)]
    async with await serve_pty(packs) as server, SerialLink(server.path, timeout=0.5) as link:
        results = await asyncio.gather(*(link.exchange(request(a), expect(a)) for a in (1, 2, 3, 4)))
        assert [frames[0].address for frames in results] == [1, 2, 3, 4]


async def test_close_and_reopen(sim: LineSim) -> None:
    """Closing releases the port (exclusive lock); the next exchange opens it again."""
    async with await serve_pty(sim) as server:
        link = SerialLink(server.path, timeout=0.3)
        await link.exchange(request(1), expect(1))
        await link.close()
        assert not link.connected
        other = SerialLink(server.path, timeout=0.3)  # would fail if the lock were still held
        await other.exchange(request(2), expect(2))
        await other.close()
        await link.exchange(request(3), expect(3))
        await link.close()


async def test_port_in_use(sim: LineSim) -> None:
    """A second link on a port held by the first: TransportError saying so."""
    async with await serve_pty(sim) as server, SerialLink(server.path, timeout=0.3) as first:
        await first.exchange(request(1), expect(1))
        with pytest.raises(TransportError, match="in use"):
            await SerialLink(server.path).exchange(request(2), expect(2))


async def test_missing_device() -> None:
    """A port that does not exist: one-line TransportError naming it."""
    link = SerialLink("/dev/ttyDOES-NOT-EXIST", timeout=0.3)
    with pytest.raises(TransportError, match="no such serial port /dev/ttyDOES-NOT-EXIST") as err:
        await link.exchange(request(1), expect(1))
    assert "\n" not in str(err.value)
    assert link.description == "serial:///dev/ttyDOES-NOT-EXIST@9600"


async def test_not_a_serial_port() -> None:
    """A file that is not a tty: TransportError."""
    with pytest.raises(TransportError, match="/dev/null is not a serial port"):
        await SerialLink("/dev/null").exchange(request(1), expect(1))


async def test_permission_denied(monkeypatch: pytest.MonkeyPatch) -> None:
    """A port we may not open: TransportError hinting at the dialout group (faked: tests may run as root)."""

    async def denied(*args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(serialx, "create_serial_connection", denied)
    with pytest.raises(TransportError, match=r"permission denied opening /dev/ttyUSB0 .*dialout"):
        await SerialLink("/dev/ttyUSB0").exchange(request(1), expect(1))


async def test_server_gone_mid_exchange(sim: LineSim) -> None:
    """The pty disappears while waiting (adapter unplugged): TransportError, not a hang."""
    server = await serve_pty(sim)
    link = SerialLink(server.path, timeout=2)
    await link.exchange(request(1), expect(1))
    pending = asyncio.create_task(link.exchange(request(0xEE), expect(0xEE, timeout=2)))
    await asyncio.sleep(0.05)
    await server.close()
    started = time.monotonic()
    with pytest.raises(TransportError):
        await pending
    assert time.monotonic() - started < 1.0
    with pytest.raises(TransportError):  # the port is gone for good
        await link.exchange(request(2), expect(2))
    await link.close()

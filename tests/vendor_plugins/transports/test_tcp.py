"""TcpLink against the TCP simulator server over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest

from vendor_plugins.errors import DeviceTimeout, TransportError
from vendor_plugins.plugin import LinkKind
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import TcpLink

from .line_protocol import LineSim, answer, expect, request


def free_port() -> int:
    """A loopback port nobody listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_exchange_over_loopback(sim: LineSim) -> None:
    """A request goes out, the simulator's answer comes back as a frame."""
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=0.3) as link:
        assert server.url == f"tcp://127.0.0.1:{server.port}"
        assert link.description == server.url
        assert link.kind is LinkKind.TCP
        frames = await link.exchange(request(7), expect(7))
        assert [f.raw for f in frames] == [answer(7)]
        frames = await link.exchange(request(8), expect(8))
        assert frames[0].address == 8
        assert link.bytes_sent == 6
        assert link.bytes_received == 2 * len(answer(0))
        assert server.connections == 1
    assert sim.handled == [request(7), request(8)]


async def test_simulator_is_advanced_by_elapsed_time(sim: LineSim) -> None:
    """Before each request the simulator moves forward by the time since the previous one."""
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=0.3) as link:
        await link.exchange(request(1), expect(1))
        await asyncio.sleep(0.1)
        await link.exchange(request(2), expect(2))
    assert len(sim.advanced) == 2
    assert sim.advanced[1] >= 0.09


async def test_stale_bytes_are_discarded_before_a_request(sim: LineSim) -> None:
    """A late answer that arrived while idle is not taken as the answer to the next request."""
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=0.3) as link:
        await link.exchange(request(1), expect(1))
        server.inject(answer(0x63) + b"junk")
        await asyncio.sleep(0.05)
        frames = await link.exchange(request(7), expect())  # no match: only the drain protects us
        assert [f.address for f in frames] == [7]
        assert link.bytes_received == 2 * len(answer(0)) + len(answer(0x63)) + 4


async def test_timeout_raises_device_timeout(sim: LineSim) -> None:
    """A silent device fails the exchange after the timeout; the link stays usable."""
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=5) as link:
        started = time.monotonic()
        with pytest.raises(DeviceTimeout, match=r"within 0\.2 s"):
            await link.exchange(request(0xEE), expect(0xEE, timeout=0.2))
        assert 0.19 <= time.monotonic() - started < 1.0
        assert (await link.exchange(request(3), expect(3)))[0].address == 3
        assert server.connections == 1


async def test_default_timeout_of_the_link_applies() -> None:
    """Without a timeout in ``expect`` the link's own timeout is used."""
    async with await serve_tcp(LineSim(silent={5})) as server, TcpLink(server.host, server.port, timeout=0.2) as link:
        with pytest.raises(DeviceTimeout):
            await link.exchange(request(5), expect(5, timeout=None))


async def test_connection_refused() -> None:
    """Nobody listening: a one-line TransportError naming host:port."""
    port = free_port()
    link = TcpLink("127.0.0.1", port, timeout=0.3)
    with pytest.raises(TransportError, match=f"127.0.0.1:{port}: cannot connect: connection refused") as err:
        await link.exchange(request(1), expect(1))
    assert "\n" not in str(err.value)
    await link.close()


async def test_unresolvable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host that does not resolve: TransportError naming it (DNS is faked: tests never use the network)."""

    def no_such_host(host: object, *args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    link = TcpLink("no-such-host.invalid", 4196, timeout=0.3, connect_timeout=1.5)
    with pytest.raises(TransportError, match=r"no-such-host\.invalid:4196: cannot resolve host") as err:
        await link.exchange(request(1), expect(1))
    assert "Name or service not known" in str(err.value)


async def test_connect_timeout() -> None:
    """A connect that hangs ends with TransportError after ``connect_timeout``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        # Fill the accept backlog so the next connect stays pending (Linux drops the SYN).
        for _ in range(8):
            s = socket.socket()
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.1", port))
            fillers.append(s)
        link = TcpLink("127.0.0.1", port, connect_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(TransportError, match=f"127.0.0.1:{port}"):
            await link.exchange(request(1), expect(1))
        assert time.monotonic() - started < 1.5
    finally:
        for s in fillers:
            s.close()
        listener.close()


async def test_server_closing_mid_exchange_then_reconnect(sim: LineSim) -> None:
    """The bridge drops the connection while we wait: TransportError now, a new connection next time."""
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=2) as link:
        await link.exchange(request(1), expect(1))
        pending = asyncio.create_task(link.exchange(request(0xEE), expect(0xEE, timeout=2)))
        await asyncio.sleep(0.05)
        server.drop_clients()
        started = time.monotonic()
        with pytest.raises(TransportError, match="connection lost"):
            await pending
        assert time.monotonic() - started < 0.5
        assert not link.connected
        assert (await link.exchange(request(2), expect(2)))[0].address == 2
        assert server.connections == 2


async def test_drop_while_idle_reconnects_lazily(sim: LineSim) -> None:
    """A drop between exchanges is noticed and the next exchange simply reconnects."""
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=0.3) as link:
        await link.exchange(request(1), expect(1))
        server.drop_clients()
        await asyncio.sleep(0.05)
        assert not link.connected
        assert (await link.exchange(request(2), expect(2)))[0].address == 2
        assert server.connections == 2


async def test_server_restart_on_same_port(sim: LineSim) -> None:
    """Bridge gone: TransportError; bridge back: the link works again without being recreated."""
    server = await serve_tcp(sim)
    port = server.port
    link = TcpLink("127.0.0.1", port, timeout=0.3)
    await link.exchange(request(1), expect(1))
    await server.close()
    await asyncio.sleep(0.02)
    with pytest.raises(TransportError):
        await link.exchange(request(2), expect(2))
    async with await serve_tcp(sim, port=port):
        assert (await link.exchange(request(3), expect(3)))[0].address == 3
    await link.close()


async def test_close_is_idempotent_and_reconnects(sim: LineSim) -> None:
    """close() twice is fine; the next exchange opens a new connection."""
    async with await serve_tcp(sim) as server:
        link = TcpLink(server.host, server.port, timeout=0.3)
        await link.close()
        await link.exchange(request(1), expect(1))
        await link.close()
        await link.close()
        assert not link.connected
        await link.exchange(request(2), expect(2))
        await link.close()
        assert server.connections == 2


async def test_multi_address_bus() -> None:
    """Several simulators on one bus: each answers only its own address, all see every request."""
    packs = [LineSim(address=1), LineSim(address=2), LineSim(address=3)]
    async with await serve_tcp(packs) as server, TcpLink(server.host, server.port, timeout=0.3) as link:
        for address in (1, 2, 3):
            frames = await link.exchange(request(address), expect(address))
            assert [f.address for f in frames] == [address]
        with pytest.raises(DeviceTimeout):
            await link.exchange(request(9), expect(9, timeout=0.1))
    for pack in packs:
        assert len(pack.handled) == 4
        assert len(pack.advanced) == 4


async def test_bus_answers_in_order() -> None:
    """When several packs answer one request, their answers come in bus order."""
    packs = [LineSim(), LineSim(reply_size=2)]
    async with await serve_tcp(packs) as server, TcpLink(server.host, server.port, timeout=0.3) as link:
        frames = await link.exchange(request(4), expect(count=2))
        assert [f.raw for f in frames] == [answer(4), answer(4, b"\x04\x05")]


async def test_requests_split_across_segments(sim: LineSim) -> None:
    """The server assembles a request that arrives byte by byte."""
    async with await serve_tcp(sim) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        for byte in request(9):
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.01)
        assert await asyncio.wait_for(reader.readexactly(len(answer(9))), 1) == answer(9)
        writer.close()
        await writer.wait_closed()


def test_description_brackets_ipv6() -> None:
    """IPv6 hosts are bracketed in the description."""
    assert TcpLink("::1", 502).description == "tcp://[::1]:502"
    assert TcpLink("bridge.local", 4196).description == "tcp://bridge.local:4196"

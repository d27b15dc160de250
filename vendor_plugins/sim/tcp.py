"""Serve a simulator (or a multi-address bus of them) over TCP, like an RS485-to-Ethernet bridge.

Each connection gets its own request assembler; all connections share the simulators and their clock. Test hooks:
:meth:`SimServer.inject` pushes unsolicited bytes to the clients (noise, a late reply) and
:meth:`SimServer.drop_clients` closes their connections while the server keeps listening. :class:`TcpServerBase`
holds what every simulator TCP server shares (listening, ``url``, closing), the tests' faulty bridge too.
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod

from ..closing import AsyncClosing
from .serving import SimEndpoint, Simulators

_LOGGER = logging.getLogger(__name__)


class _SimProtocol(asyncio.Protocol):
    """One client connection: bytes in, simulator answers out."""

    def __init__(self, server: SimServer) -> None:
        self._server = server
        self._endpoint = server.endpoint.fork()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server.clients.add(transport)
        self._server.connections += 1

    def data_received(self, data: bytes) -> None:
        reply = self._endpoint.feed(data)
        if reply and self._transport is not None and not self._transport.is_closing():
            self._transport.write(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._server.clients.discard(self._transport)
        self._transport = None


class TcpServerBase(AsyncClosing):
    """What every simulator TCP server shares: its address, its listener, and closing both with the clients.

    A subclass says how to serve a connection (:meth:`_protocol`) and how to drop its clients (:meth:`drop_clients`).
    """

    def __init__(self, endpoint: SimEndpoint, host: str = "", port: int = 0) -> None:
        """Create an unstarted server for ``endpoint`` that will listen on ``host:port`` (0 = any free port)."""
        self.endpoint = endpoint
        #: How many connections were accepted so far.
        self.connections = 0
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    @abstractmethod
    def _protocol(self) -> asyncio.Protocol:
        """A protocol for one new client connection."""

    @abstractmethod
    def drop_clients(self) -> None:
        """Close every client connection; the server keeps accepting new ones."""

    async def _listen(self) -> None:
        """Listen on ``host:port``; then both name the bound address (the free port picked for port 0)."""
        self._server = await asyncio.get_running_loop().create_server(self._protocol, self.host, self.port)
        self.host, self.port = self._server.sockets[0].getsockname()[:2]

    def _stop_listening(self) -> asyncio.Server | None:
        """Close the listener, if any (clients stay connected); return it, to wait for it."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        return server

    @property
    def url(self) -> str:
        """``tcp://host:port`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"

    async def close(self) -> None:
        """Stop listening and close every client connection (idempotent)."""
        self.drop_clients()
        server = self._stop_listening()
        if server is not None:
            await server.wait_closed()


class SimServer(TcpServerBase):
    """A listening simulator server; ``url`` is what ``--tcp`` / :class:`~vendor_plugins.transports.TcpLink` use."""

    def __init__(self, endpoint: SimEndpoint) -> None:
        """Create an unstarted server for ``endpoint`` (use :func:`serve_tcp`)."""
        super().__init__(endpoint)
        self.clients: set[asyncio.Transport] = set()

    async def _start(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        await self._listen()

    def _protocol(self) -> asyncio.Protocol:
        return _SimProtocol(self)

    def inject(self, data: bytes) -> None:
        """Send unsolicited ``data`` to every connected client (test hook: noise, a late reply)."""
        for transport in list(self.clients):
            if not transport.is_closing():
                transport.write(data)

    def drop_clients(self) -> None:
        """Close every client connection; the server keeps accepting new ones."""
        for transport in list(self.clients):
            transport.close()
        self.clients.clear()


async def serve_tcp(simulator: Simulators, host: str = "127.0.0.1", port: int = 0) -> SimServer:
    """Start serving ``simulator`` (or a bus: a sequence of simulators) on ``host:port`` (0 = any free port)."""
    server = SimServer(SimEndpoint(simulator))
    await server._start(host, port)
    _LOGGER.debug("simulator listening on %s", server.url)
    return server

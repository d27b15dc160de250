"""Serve a simulator (or a multi-address bus of them) over TCP, like an RS485-to-Ethernet bridge.

Each connection gets its own request assembler; all connections share the simulators and their clock. Test hooks:
:meth:`SimServer.inject` pushes unsolicited bytes to the clients (noise, a late reply) and
:meth:`SimServer.drop_clients` closes their connections while the server keeps listening.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Self

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


class SimServer:
    """A listening simulator server; ``url`` is what ``--tcp`` / :class:`~vendor_plugins.transports.TcpLink` use."""

    def __init__(self, endpoint: SimEndpoint) -> None:
        """Create an unstarted server for ``endpoint`` (use :func:`serve_tcp`)."""
        self.endpoint = endpoint
        self.clients: set[asyncio.Transport] = set()
        #: How many connections were accepted so far.
        self.connections = 0
        self.host = ""
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _SimProtocol(self), host, port)
        sockname = self._server.sockets[0].getsockname()
        self.host, self.port = sockname[0], sockname[1]

    @property
    def url(self) -> str:
        """``tcp://host:port`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"

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

    async def close(self) -> None:
        """Stop listening and close every client connection (idempotent)."""
        server, self._server = self._server, None
        self.drop_clients()
        if server is not None:
            server.close()
            await server.wait_closed()

    async def __aenter__(self) -> Self:
        """Use the server as an async context manager (closed on exit)."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close on exit."""
        await self.close()


async def serve_tcp(simulator: Simulators, host: str = "127.0.0.1", port: int = 0) -> SimServer:
    """Start serving ``simulator`` (or a bus: a sequence of simulators) on ``host:port`` (0 = any free port)."""
    server = SimServer(SimEndpoint(simulator))
    await server._start(host, port)
    _LOGGER.debug("simulator listening on %s", server.url)
    return server

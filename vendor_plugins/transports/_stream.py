"""What the stream links (TCP and serial) share: the asyncio protocol and the connection bookkeeping.

:class:`StreamProtocol` forwards received chunks and the end of the connection to a :class:`~.base.BufferedByteLink`'s
``_on_data`` and ``_on_lost`` callbacks. A link *detaches* the protocol before closing the transport itself, so
the callbacks of a connection the link already gave up (a late ``connection_lost`` after our own ``close()``)
never reach the link and are never mistaken for the failure of a newer connection.

:class:`StreamLink` is a :class:`~.base.BufferedByteLink` over one asyncio transport: subclasses only say how to open it
(``_open``) and which write errors their transport raises.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Callable

from ..errors import TransportError
from .base import DEFAULT_TIMEOUT, BufferedByteLink

_LOGGER = logging.getLogger(__name__)


class StreamProtocol(asyncio.Protocol):
    """Forward data and connection loss of one transport to a link until detached."""

    def __init__(
        self,
        on_data: Callable[[bytes], None],
        on_lost: Callable[[BaseException | None], None],
    ) -> None:
        """Remember the callbacks of the link that owns this connection."""
        self._on_data = on_data
        self._on_lost = on_lost
        self.detached = False

    def detach(self) -> None:
        """Stop forwarding anything (the link is closing this connection on purpose)."""
        self.detached = True

    def data_received(self, data: bytes) -> None:
        """Forward a received chunk."""
        if not self.detached:
            self._on_data(data)

    def eof_received(self) -> bool:
        """The peer closed its side: let the transport close (``connection_lost`` follows)."""
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """Forward the end of the connection once."""
        if not self.detached:
            self.detached = True
            self._on_lost(exc)


class StreamLink(BufferedByteLink):
    """A byte link over one asyncio transport, opened on the first exchange and reopened after a drop."""

    #: Exceptions the transport's ``write`` may raise (turned into :class:`TransportError`).
    write_errors: tuple[type[BaseException], ...] = (OSError, RuntimeError)

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT, connect_timeout: float = 5.0) -> None:
        """Nothing is opened until the first exchange."""
        super().__init__(timeout=timeout)
        self.connect_timeout = connect_timeout
        self._transport: asyncio.WriteTransport | None = None
        self._protocol: StreamProtocol | None = None

    @abc.abstractmethod
    async def _open(self, protocol: StreamProtocol) -> asyncio.WriteTransport:
        """Open the transport feeding ``protocol`` (raise :class:`TransportError` with a clear reason)."""

    @property
    def connected(self) -> bool:
        """Whether the transport is open."""
        return self._transport is not None and not self._transport.is_closing()

    async def _connect(self) -> None:
        protocol = StreamProtocol(self._on_data, self._connection_lost)
        self._transport = await self._open(protocol)
        self._protocol = protocol
        _LOGGER.debug("%s: connected", self.description)

    def _connection_lost(self, exc: BaseException | None) -> None:
        """The connection went away: forget it (the next exchange reopens) and tell the exchange."""
        self._transport = None
        self._protocol = None
        self._on_lost(exc)

    async def _write(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            raise TransportError(f"{self.description}: not connected")
        try:
            transport.write(data)
        except self.write_errors as exc:
            raise TransportError(f"{self.description}: write failed: {exc}") from exc

    async def _disconnect(self) -> None:
        transport, protocol = self._transport, self._protocol
        self._transport = None
        self._protocol = None
        if protocol is not None:
            protocol.detach()
        if transport is not None:
            await self._close_transport(transport)

    async def _close_transport(self, transport: asyncio.WriteTransport) -> None:
        """Close ``transport`` (never raises)."""
        transport.close()

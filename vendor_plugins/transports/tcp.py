"""Raw TCP link to an RS485/UART-to-Ethernet (or Wi-Fi) bridge.

The bridge forwards bytes unchanged between the socket and the serial bus, so this link is a plain byte stream:
the request/response mechanism is :class:`~.base.BufferedByteLink`'s. The connection is opened on the first exchange and
reopened lazily on the next exchange after it dropped. Connection failures (refused, unresolvable host, timeout)
become a one-line :class:`~vendor_plugins.errors.TransportError` naming ``host:port``.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket

from ..errors import TransportError
from ..kinds import LinkKind
from ._stream import StreamLink, StreamProtocol
from .base import DEFAULT_TIMEOUT

_LOGGER = logging.getLogger(__name__)


def format_host_port(host: str, port: int) -> str:
    """``host:port``, with an IPv6 literal in brackets (``[::1]:4196``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _flatten(exc: BaseException) -> list[BaseException]:
    """The leaf exceptions of a (possibly nested) exception group."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _flatten(sub)]
    return [exc]


def _connect_failure(exc: BaseException) -> str:
    """A short reason for a failed connect (one address or every address tried)."""
    leaves = _flatten(exc)
    if all(
        isinstance(e, ConnectionRefusedError) or (isinstance(e, OSError) and e.errno == errno.ECONNREFUSED)
        for e in leaves
    ):
        return "connection refused"
    reasons: list[str] = []
    for e in leaves:
        text = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__
        if text not in reasons:
            reasons.append(text)
    return "; ".join(reasons)


class TcpLink(StreamLink):
    """A raw socket to a serial-to-Ethernet bridge: ``TcpLink("192.168.1.50", 4196)``."""

    kind = LinkKind.TCP

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = 5.0,
    ) -> None:
        """Describe the bridge; nothing is opened until the first exchange."""
        super().__init__(timeout=timeout, connect_timeout=connect_timeout)
        self.host = host
        self.port = port

    @property
    def description(self) -> str:
        """``tcp://host:port``."""
        return f"tcp://{format_host_port(self.host, self.port)}"

    async def _open(self, protocol: StreamProtocol) -> asyncio.WriteTransport:
        """Open the socket (raises :class:`TransportError` naming host:port on failure)."""
        where = format_host_port(self.host, self.port)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                if isinstance(loop, asyncio.BaseEventLoop):  # every address's own error, not one merged text
                    transport, _ = await loop.create_connection(lambda: protocol, self.host, self.port, all_errors=True)
                else:
                    transport, _ = await loop.create_connection(lambda: protocol, self.host, self.port)
        except TimeoutError:
            raise TransportError(f"{where}: no connection within {self.connect_timeout:g} s") from None
        except socket.gaierror as exc:
            raise TransportError(f"{where}: cannot resolve host {self.host!r} ({exc.strerror})") from None
        except (OSError, ExceptionGroup) as exc:
            raise TransportError(f"{where}: cannot connect: {_connect_failure(exc)}") from None
        return transport

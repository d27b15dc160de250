"""Serial link (UART, RS485, RS232 adapters) over ``serialx``, Home Assistant's asyncio serial library.

A serial port is a byte stream like TCP: the exchange mechanism is :class:`~.base.ByteLink`'s, one request at a
time, so several packs on one RS485 bus share the link safely. The port is opened (exclusively locked, 8N1) on
the first exchange and reopened on the next exchange after it disappeared (a USB adapter unplugged). A missing
port, a permission problem or a busy port becomes a one-line :class:`~vendor_plugins.errors.TransportError`.
``device`` may also be any URL ``serialx`` understands (``socket://host:port``, ``esphome://…``).
"""

from __future__ import annotations

import asyncio
import errno
import logging

import serialx

from ..errors import TransportError
from ..plugin import LinkKind
from ._stream import StreamProtocol
from .base import DEFAULT_TIMEOUT, ByteLink

_LOGGER = logging.getLogger(__name__)

_CLOSE_TIMEOUT = 2.0


def _open_failure(device: str, exc: BaseException) -> str:
    """A short, actionable reason why opening ``device`` failed."""
    if isinstance(exc, FileNotFoundError):
        return f"no such serial port {device}"
    if isinstance(exc, PermissionError):
        return f"permission denied opening {device} (is the user in the 'dialout' group?)"
    if isinstance(exc, OSError):
        if exc.errno == errno.EBUSY:
            return f"{device} is in use by another process"
        if exc.errno == errno.ENOTTY:
            return f"{device} is not a serial port"
        if exc.errno in (errno.ENXIO, errno.ENODEV):
            return f"{device} is not connected (device missing)"
        return f"cannot open {device}: {exc.strerror or exc}"
    return f"cannot open {device}: {exc}"


class SerialLink(ByteLink):
    """A serial port: ``SerialLink("/dev/ttyUSB0", baudrate=9600)``."""

    kind = LinkKind.SERIAL

    def __init__(
        self,
        device: str,
        *,
        baudrate: int = 9600,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = 5.0,
    ) -> None:
        """Describe the port; nothing is opened until the first exchange."""
        super().__init__(timeout=timeout)
        self.device = device
        self.baudrate = baudrate
        self.connect_timeout = connect_timeout
        self._transport: serialx.BaseSerialTransport | None = None
        self._protocol: StreamProtocol | None = None

    @property
    def description(self) -> str:
        """``serial://<device>@<baud>``."""
        return f"serial://{self.device}@{self.baudrate}"

    @property
    def connected(self) -> bool:
        """Whether the port is open."""
        return self._transport is not None and not self._transport.is_closing()

    async def _connect(self) -> None:
        """Open the port (raises :class:`TransportError` with a clear reason on failure)."""
        loop = asyncio.get_running_loop()
        protocol = StreamProtocol(self._on_data, self._connection_lost)
        try:
            async with asyncio.timeout(self.connect_timeout):
                transport, _ = await serialx.create_serial_connection(
                    loop, lambda: protocol, self.device, baudrate=self.baudrate
                )
        except TimeoutError:
            raise TransportError(f"{self.description}: port did not open within {self.connect_timeout:g} s") from None
        except (OSError, serialx.SerialException, ValueError) as exc:
            raise TransportError(f"{self.description}: {_open_failure(self.device, exc)}") from None
        self._transport = transport
        self._protocol = protocol
        _LOGGER.debug("%s: opened", self.description)

    def _connection_lost(self, exc: BaseException | None) -> None:
        """The port went away: forget it (the next exchange reopens) and tell the exchange."""
        self._transport = None
        self._protocol = None
        self._on_lost(exc)

    async def _write(self, data: bytes) -> None:
        """Write ``data`` to the port."""
        transport = self._transport
        if transport is None or transport.is_closing():
            raise TransportError(f"{self.description}: not open")
        try:
            transport.write(data)
        except (OSError, RuntimeError, serialx.SerialException) as exc:
            raise TransportError(f"{self.description}: write failed: {exc}") from exc

    async def _disconnect(self) -> None:
        """Close the port and wait until it is released (never raises)."""
        transport, protocol = self._transport, self._protocol
        self._transport = None
        self._protocol = None
        if protocol is not None:
            protocol.detach()
        if transport is None:
            return
        try:
            transport.close()
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await transport.wait_closed()
        except Exception as exc:  # closing must not raise
            _LOGGER.debug("%s: error while closing: %s", self.description, exc)

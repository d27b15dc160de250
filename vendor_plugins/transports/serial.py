"""Serial link (UART, RS485, RS232 adapters) over ``serialx``, Home Assistant's asyncio serial library.

A serial port is a byte stream like TCP: the exchange mechanism is :class:`~.base.BufferedByteLink`'s, one request at a
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
from ..kinds import LinkKind
from ._stream import StreamLink, StreamProtocol
from .base import DEFAULT_TIMEOUT

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


class SerialLink(StreamLink):
    """A serial port: ``SerialLink("/dev/ttyUSB0", baudrate=9600)``."""

    kind = LinkKind.SERIAL
    write_errors = (OSError, RuntimeError, serialx.SerialException)

    def __init__(
        self,
        device: str,
        *,
        baudrate: int = 9600,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = 5.0,
    ) -> None:
        """Describe the port; nothing is opened until the first exchange."""
        super().__init__(timeout=timeout, connect_timeout=connect_timeout)
        self.device = device
        self.baudrate = baudrate

    @property
    def description(self) -> str:
        """``serial://<device>@<baud>``."""
        return f"serial://{self.device}@{self.baudrate}"

    async def _open(self, protocol: StreamProtocol) -> asyncio.WriteTransport:
        """Open the port (raises :class:`TransportError` with a clear reason on failure)."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                transport, _ = await serialx.create_serial_connection(
                    loop, lambda: protocol, self.device, baudrate=self.baudrate
                )
        except TimeoutError:
            raise TransportError(f"{self.description}: port did not open within {self.connect_timeout:g} s") from None
        except (OSError, serialx.SerialException, ValueError) as exc:
            raise TransportError(f"{self.description}: {_open_failure(self.device, exc)}") from None
        return transport

    async def _close_transport(self, transport: asyncio.WriteTransport) -> None:
        """Close the port and wait until it is released (never raises)."""
        try:
            transport.close()
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await transport.wait_closed()  # type: ignore[attr-defined]
        except Exception as exc:  # closing must not raise
            _LOGGER.debug("%s: error while closing: %s", self.description, exc)

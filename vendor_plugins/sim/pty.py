"""Serve a simulator (or a multi-address bus) on a pseudo-terminal: a virtual serial port.

The server owns the pty master and keeps a handle on the slave open for its whole life (so the master never
reports end-of-file while no client has the port open). Clients open :attr:`PtyServer.path` (``/dev/pts/N``) as
a serial port, e.g. with :class:`~vendor_plugins.transports.SerialLink`. With ``baud`` set, each reply is
delayed by the time its bytes would take on a real 8N1 line (10 bits per byte), so timeouts can be tested
realistically. POSIX only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tty

from ..closing import AsyncClosing
from .serving import SimEndpoint, Simulators

_LOGGER = logging.getLogger(__name__)

_READ_SIZE = 4096


class PtyServer(AsyncClosing):
    """A simulator behind a pseudo-terminal; open :attr:`path` as a serial port."""

    def __init__(self, endpoint: SimEndpoint, *, baud: int | None = None) -> None:
        """Open the pseudo-terminal (use :func:`serve_pty`, which also starts serving)."""
        if baud is not None and baud <= 0:
            raise ValueError(f"baud must be positive, got {baud}")
        self.endpoint = endpoint
        self.baud = baud
        self._master, self._slave = os.openpty()
        try:
            tty.setraw(self._master)
            tty.setraw(self._slave)
            os.set_blocking(self._master, False)
            #: The slave device path (``/dev/pts/N``).
            self.path: str = os.ttyname(self._slave)
        except BaseException:
            os.close(self._master)
            os.close(self._slave)
            raise
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._master, self._readable)
        self._writer = self._loop.create_task(self._write_replies(), name=f"pty-sim {self.path}")

    @property
    def url(self) -> str:
        """``serial://<path>`` (what a user would pass as ``--serial``)."""
        return f"serial://{self.path}"

    def _readable(self) -> None:
        try:
            data = os.read(self._master, _READ_SIZE)
        except BlockingIOError, InterruptedError:
            return
        except OSError as exc:  # EIO cannot happen while we hold the slave; stop rather than spin
            _LOGGER.warning("%s: read failed (%s); no longer serving", self.path, exc)
            if self._loop is not None:
                self._loop.remove_reader(self._master)
            return
        reply = self.endpoint.feed(data)
        if reply:
            self._outbox.put_nowait(reply)

    def inject(self, data: bytes) -> None:
        """Queue unsolicited ``data`` for the client (test hook: noise, a late reply); paced like replies."""
        self._outbox.put_nowait(bytes(data))

    async def _write_replies(self) -> None:
        while True:
            data = await self._outbox.get()
            if self.baud:
                await asyncio.sleep(len(data) * 10 / self.baud)
            await self._write_all(data)

    async def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._master, view)
            except BlockingIOError, InterruptedError:
                await self._wait_writable()
                continue
            view = view[written:]

    async def _wait_writable(self) -> None:
        assert self._loop is not None
        ready: asyncio.Future[None] = self._loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        self._loop.add_writer(self._master, wake)
        try:
            await ready
        finally:
            self._loop.remove_writer(self._master)

    async def close(self) -> None:
        """Stop serving and close the pseudo-terminal (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._loop is not None:
            self._loop.remove_reader(self._master)
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        os.close(self._master)
        os.close(self._slave)


async def serve_pty(simulator_or_sims: Simulators, *, baud: int | None = None) -> PtyServer:
    """Serve a simulator (or a bus of them) on a new pseudo-terminal; open the returned ``.path``."""
    server = PtyServer(SimEndpoint(simulator_or_sims), baud=baud)
    server._start()
    _LOGGER.debug("simulator serving on %s", server.path)
    return server

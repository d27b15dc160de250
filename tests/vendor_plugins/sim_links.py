"""Serving a simulator over TCP or a pseudo-terminal and connecting a link to it (HiXiMi and detection tests)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator

from vendor_plugins.framing import FrameAssembler
from vendor_plugins.jbd.codec import JbdAssembler
from vendor_plugins.sim.base import Simulator
from vendor_plugins.sim.pty import serve_pty
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import SerialLink, TcpLink
from vendor_plugins.transports.base import ByteLink

TRANSPORTS = ("tcp", "pty")


@contextlib.asynccontextmanager
async def served(
    simulator: Simulator, transport: str, *, request_timeout: float = 0.2, baud: int | None = None
) -> AsyncIterator[ByteLink]:
    """A link to ``simulator`` served over ``transport`` ("tcp" or "pty"); closed afterwards."""
    link: ByteLink
    if transport == "tcp":
        async with await serve_tcp(simulator) as server:
            link = TcpLink(server.host, server.port, timeout=request_timeout)
            async with link:
                yield link
    else:
        async with await serve_pty(simulator, baud=baud) as pty:
            link = SerialLink(pty.path, baudrate=baud or 9600, timeout=request_timeout)
            async with link:
                yield link


class Silent(Simulator):
    """A device that answers nothing (whatever it is sent)."""

    vendor = "silent"

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def request_assembler(self) -> FrameAssembler:
        return JbdAssembler(request=True)

    def handle(self, request: bytes) -> bytes | None:
        self.seen.append(request)
        return None


@contextlib.contextmanager
def threaded_tcp(simulator: Simulator) -> Iterator[str]:
    """Serve ``simulator`` over TCP from a private event loop in a thread (for in-process ``cli.main`` runs).

    Yields ``HOST:PORT``.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        server = asyncio.run_coroutine_threadsafe(serve_tcp(simulator), loop).result(timeout=5)
        try:
            yield f"{server.host}:{server.port}"
        finally:
            asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=5)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()

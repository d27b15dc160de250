"""A bridge that floods an idle link: memory stays bounded, the event loop keeps running, the next exchange works.

The link runs in a subprocess (so its peak RSS is its own), the flooding bridge in a thread here: it answers the
first request, then sends junk as fast as it can (up to ``_RATE``) until the second request comes, and answers it.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from vendor_plugins.errors import TransportError
from vendor_plugins.transports import TcpLink
from vendor_plugins.transports._inbox import Inbox

from .line_protocol import answer, expect, request

_FLOOD_SECONDS = 10.0
#: Flood rate cap (bytes/s): at least the 50 MB/s asked for, but an unbounded queue must not eat the machine.
_RATE = 80_000_000
_CHUNK = b"\0" * 65536
_ROOT = Path(__file__).resolve().parents[3]


class _Flooder(threading.Thread):
    """Answer ``Q 1``, flood until ``Q 2`` arrives, answer it; count what was sent."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.flooded = 0
        self.flood_seconds = 0.0
        self.error: BaseException | None = None
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            self._serve()
        except BaseException as err:  # reported by the test
            self.error = err

    def _serve(self) -> None:
        self.server.settimeout(20)
        conn, _ = self.server.accept()
        with conn:
            conn.settimeout(20)
            assert conn.recv(3) == b"Q\x01\n"
            conn.sendall(answer(1))
            time.sleep(0.3)  # the answer arrives alone (an assembler keeps only the last few kB of one big chunk)
            conn.setblocking(False)
            started = time.monotonic()
            ends = started + 3 * _FLOOD_SECONDS  # a safety stop if the client never asks again
            pending = memoryview(_CHUNK)
            while time.monotonic() < ends and not self.stopped.is_set():
                readable, writable, _ = select.select([conn], [conn], [], 0.5)
                if readable:
                    break
                if not writable:
                    continue
                ahead = self.flooded - _RATE * (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead / _RATE)
                sent = conn.send(pending)
                self.flooded += sent
                pending = pending[sent:] or memoryview(_CHUNK)
            self.flood_seconds = time.monotonic() - started
            conn.settimeout(20)
            got = b""
            while not got.endswith(b"\n") and (piece := conn.recv(3)):
                got += piece
            assert got == b"Q\x02\n"
            conn.sendall(answer(2))
            conn.recv(1)  # until the client closes


def test_an_idle_link_under_a_flood_stays_bounded() -> None:
    """10 s of junk at ≥ 50 MB/s to an idle TCP link: peak RSS grows ≤ 20 MB, the next exchange is answered."""
    flooder = _Flooder()
    flooder.start()
    env = {**os.environ, "PYTHONPATH": str(_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "tests.vendor_plugins.transports.flood_client", str(flooder.port), str(_FLOOD_SECONDS)],
        cwd=_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    flooder.stopped.set()
    flooder.join(25)
    flooder.server.close()
    assert not flooder.is_alive()
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    rate = flooder.flooded / flooder.flood_seconds
    growth_mb = (report["rss_after_kb"] - report["rss_before_kb"]) / 1024
    print(f"flood: {flooder.flooded / 1e6:.0f} MB in {flooder.flood_seconds:.1f} s ({rate / 1e6:.0f} MB/s); {report}")
    assert flooder.error is None
    assert report["answers"] == [1, 2]
    assert flooder.flooded >= 0.9 * _FLOOD_SECONDS * 50e6 or rate >= 20e6, "the machine could not flood at all"
    assert growth_mb <= 20, f"peak RSS grew by {growth_mb:.0f} MB"
    assert report["dropped"] >= flooder.flooded - report["received"] or report["dropped"] > 0
    assert report["max_lag"] < 1.0


def test_the_receive_buffer_keeps_the_newest_bytes_and_every_marker() -> None:
    """Beyond the limit the oldest bytes go (counted); a connection marker is never dropped; order is kept."""
    inbox = Inbox(limit=10)
    lost = TransportError("lost")
    inbox.put(b"0123456789")
    inbox.put(lost)
    inbox.put(b"abcdef")
    assert inbox.dropped == 6
    assert [inbox.get_nowait() for _ in range(3)] == [b"6789", lost, b"abcdef"]
    assert inbox.empty()
    inbox.put(b"x" * 25)
    assert inbox.dropped == 6 + 15
    assert inbox.drain() == 10
    assert inbox.empty()


async def test_a_link_under_a_burst_keeps_the_latest_reply() -> None:
    """A burst bigger than the limit before the answer: the answer (newest bytes) still completes the exchange."""

    class _Burst(TcpLink):
        async def _write(self, data: bytes) -> None:
            self._on_data(b"\0" * 5000)
            self._on_data(answer(data[1]))

        async def _connect(self) -> None:
            self.up = True

        @property
        def connected(self) -> bool:
            return getattr(self, "up", False)

    link = _Burst("127.0.0.1", 1)
    link.receive_limit = 1024
    frames = await link.exchange(request(5), expect(5))
    assert [f.address for f in frames] == [5]
    assert link.bytes_dropped == 5000 + len(answer(5)) - 1024

"""``bmsgw read --watch`` and ``bmsgw capture --watch`` under a flooding bridge: bounded memory, prompt stop.

A bridge in a thread here accepts, waits while the command starts, then sends junk at ~80 MB/s (ignoring requests);
the command runs in a subprocess (its own peak RSS, an address-space limit so an unbounded buffer fails here instead
of taking the machine down) and is stopped by a signal after 5 s of flood.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from vendor_plugins.capture import load_capture

_ROOT = Path(__file__).resolve().parents[2]
_FLOOD_SECONDS = 5.0


class _Flood(threading.Thread):
    """A bridge that accepts, waits ``delay`` s (the capture's start-up), then floods junk, ignoring requests."""

    def __init__(self, delay: float, rate: float) -> None:
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.delay, self.rate = delay, rate
        self.flooding = threading.Event()
        self.stopped = threading.Event()
        self.sent = 0
        self.seconds = 0.0

    def run(self) -> None:
        self.server.settimeout(20)
        conn, _ = self.server.accept()
        chunk = memoryview(b"\0" * 65536)
        with conn:
            time.sleep(self.delay)
            conn.setblocking(False)
            self.flooding.set()
            started = time.monotonic()
            while not self.stopped.is_set():
                readable, writable, _ = select.select([conn], [conn], [], 0.2)
                try:
                    if readable and not conn.recv(65536):
                        break  # the client closed
                    if writable:
                        ahead = self.sent - self.rate * (time.monotonic() - started)
                        if ahead > 0:
                            time.sleep(ahead / self.rate)
                        self.sent += conn.send(chunk)
                except BlockingIOError, InterruptedError:
                    continue
                except OSError:
                    break
            self.seconds = time.monotonic() - started


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _limit_memory() -> None:  # an unbounded capture must fail here, not take the machine down
    resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))


_CLI = (
    "import atexit, sys\n"
    "from pathlib import Path\n"
    "atexit.register(lambda: print([l for l in Path('/proc/self/status').read_text().splitlines()"
    " if l.startswith('VmHWM:')][0], file=sys.stderr))\n"
    "from vendor_plugins.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _run_flooded(argv: list[str], stop: signal.Signals) -> tuple[int, str, str, float, float, _Flood]:
    """Run ``bmsgw argv`` against a flood, stop it with ``stop``: exit code, stdout, stderr, RSS growth (MB),
    seconds from the signal to the exit, and the flood."""
    flood = _Flood(delay=1.5, rate=80e6)
    flood.start()
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLI, argv[0], "--tcp", f"127.0.0.1:{flood.port}", *argv[1:]],
        cwd=_ROOT,
        env={**os.environ, "PYTHONPATH": str(_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_limit_memory,
    )
    try:
        assert flood.flooding.wait(10)
        before = _peak_rss_kb(proc.pid)
        time.sleep(_FLOOD_SECONDS)
        proc.send_signal(stop)
        signalled = time.monotonic()
        out, err = proc.communicate(timeout=20)
        took = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        flood.stopped.set()
        flood.join(5)
        flood.server.close()
    assert not flood.is_alive()
    after = int(err.strip().splitlines()[-1].split()[1])
    growth_mb = (after - before) / 1024
    print(f"{argv[0]} flood: {flood.sent / 1e6:.0f} MB in {flood.seconds:.1f} s; RSS +{growth_mb:.1f} MB; {took:.2f} s")
    return proc.returncode, out, err, growth_mb, took, flood


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_capture_under_a_flood_stays_bounded_and_writes_its_file_on_sigterm(tmp_path: Path) -> None:
    """5 s of junk at ~80 MB/s into ``capture --watch``: SIGTERM ends it promptly, the (capped) file is written,
    peak RSS grows ≤ 20 MB."""
    out_file = tmp_path / "c.json"
    argv = ["capture", "--vendor", "jbd", "--out", str(out_file), "--watch", "0.5", "--timeout", "0.5"]
    _, out, err, growth_mb, took, _ = _run_flooded(argv, signal.SIGTERM)
    assert took < 5, "SIGTERM was not honoured promptly"
    assert out.startswith("captured "), err
    assert "(capped: " in out
    entries = load_capture(out_file)
    assert entries and "capture_truncated" in entries[-1]
    assert growth_mb <= 20, f"peak RSS grew by {growth_mb:.0f} MB"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_read_watch_under_a_flood_stays_bounded_and_ends_on_sigint() -> None:
    """5 s of junk at ~80 MB/s into ``read --watch``: every round fails cleanly, Ctrl-C ends it (exit 0), peak RSS
    grows ≤ 20 MB."""
    argv = ["read", "--vendor", "jbd", "--watch", "2", "--timeout", "0.5"]  # idle 1.5 s between rounds
    code, _, err, growth_mb, took, _ = _run_flooded(argv, signal.SIGINT)
    assert took < 5, "SIGINT was not honoured promptly"
    assert code == 0, err
    assert err.count("bmsgw: error: ") >= 2  # one line per failed round
    assert growth_mb <= 20, f"peak RSS grew by {growth_mb:.0f} MB"

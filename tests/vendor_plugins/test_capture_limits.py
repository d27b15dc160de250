"""``bmsgw capture`` against hostile conditions: caps on what is recorded, signals, unwritable output, a flood."""

from __future__ import annotations

import json
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

from vendor_plugins import cli
from vendor_plugins.capture import CaptureRecorder, ReplayLink, load_capture

_ROOT = Path(__file__).resolve().parents[2]


def test_a_capture_is_capped_and_says_so() -> None:
    """Past the byte cap nothing more is recorded, only counted; the last entry and the summary say it."""
    recorder = CaptureRecorder(vendor="v", max_bytes=100, max_pieces=1000)
    link = ReplayLink([])
    recorder.attach(link)
    assert link.tap is not None
    link.tap("rx", b"before any request")  # nothing asked for it: never recorded
    link.tap("tx", b"\x01" * 10)
    link.tap("rx", b"\x02" * 80)
    link.tap("tx", b"\x01" * 10)
    link.tap("rx", b"\x03" * 20)  # 120 > 100: from here on only counted
    link.tap("tx", b"\x01" * 10)
    link.tap("rx", b"\x04" * 5)
    recorder.note_decoded({"snapshot": {}})  # belongs to exchanges not recorded: dropped
    entries = recorder.entries()
    assert [e["response_hex"] for e in entries] == [(b"\x02" * 80).hex(), None]
    assert all(e["decoded_here"] == {} for e in entries)
    assert "capture_truncated" not in entries[0]
    assert entries[-1]["capture_truncated"] == {
        "reason": "capture capped at 100 bytes / 1000 pieces of traffic",
        "bytes_not_recorded": 35,
        "pieces_not_recorded": 3,
        "requests_not_recorded": 1,
    }


def test_a_capture_is_capped_in_pieces_too() -> None:
    """A flood of tiny chunks (BLE notifications) stops at the piece cap, whatever their bytes."""
    recorder = CaptureRecorder(vendor="v", max_pieces=50)
    link = ReplayLink([])
    recorder.attach(link)
    assert link.tap is not None
    link.tap("tx", b"\x01")
    for _ in range(1000):
        link.tap("rx", b"\x00")
    assert len(recorder.events) == 50
    assert recorder.pieces_not_recorded == 951
    assert recorder.entries()[-1]["capture_truncated"]["bytes_not_recorded"] == 951


def test_capture_to_an_unwritable_file_names_it_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """``--out /dev/full``: one error line naming the file; exit 2 (the output is unusable, not the device)."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    code = cli.main(["capture", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--out", "/dev/full", "--timeout", "0.2"])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, err
    assert lines == ["bmsgw: error: cannot write the capture to /dev/full: No space left on device"]
    assert "captured" not in out


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


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_capture_under_a_flood_stays_bounded_and_writes_its_file_on_sigterm(tmp_path: Path) -> None:
    """5 s of junk at ~80 MB/s into ``capture --watch``: SIGTERM ends it promptly, the (capped) file is written,
    peak RSS grows ≤ 20 MB."""
    flood = _Flood(delay=1.5, rate=80e6)
    flood.start()
    out_file = tmp_path / "c.json"
    argv = ["capture", "--tcp", f"127.0.0.1:{flood.port}", "--vendor", "jbd", "--out", str(out_file)]
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLI, *argv, "--watch", "0.5", "--timeout", "0.5"],
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
        time.sleep(5)
        proc.send_signal(signal.SIGTERM)
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
    after = int(err.strip().splitlines()[-1].split()[1])
    growth_mb = (after - before) / 1024
    print(f"capture flood: {flood.sent / 1e6:.0f} MB in {flood.seconds:.1f} s; RSS +{growth_mb:.1f} MB; {took:.2f} s")
    assert not flood.is_alive()
    assert took < 5, "SIGTERM was not honoured promptly"
    assert out.startswith("captured "), err
    assert "(capped: " in out
    entries = load_capture(out_file)
    assert entries and "capture_truncated" in entries[-1]
    assert growth_mb <= 20, f"peak RSS grew by {growth_mb:.0f} MB"
    assert json.loads(out_file.read_text()) == entries

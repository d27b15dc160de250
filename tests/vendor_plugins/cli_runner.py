"""Run ``bmsgw`` as a real process for end-to-end tests (``python -m vendor_plugins.cli``: no dependence on PATH).

:func:`bmsgw` runs one command to completion; :func:`running` keeps a long-lived one (``simulate``) up for the
duration of a ``with`` block and yields the first line it printed (where it listens).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BMSGW = [sys.executable, "-m", "vendor_plugins.cli"]
STARTUP_TIMEOUT = 5.0


def bmsgw_env() -> dict[str, str]:
    """The environment for a ``bmsgw`` process: unbuffered output, no inherited warning filters."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONWARNINGS", None)
    return env


def bmsgw(*args: str, timeout: float = 5.0) -> subprocess.CompletedProcess[str]:
    """Run one ``bmsgw`` command to completion."""
    return subprocess.run(
        [*BMSGW, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False, env=bmsgw_env()
    )


def spawn(*args: str) -> subprocess.Popen[str]:
    """Start ``bmsgw ARGS`` with its stdout and stderr piped (text)."""
    return subprocess.Popen(
        [*BMSGW, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=bmsgw_env()
    )


def first_line(proc: subprocess.Popen[str], timeout: float = STARTUP_TIMEOUT) -> str:
    """The first line ``proc`` prints (stripped); fails if it prints nothing in time or exits first."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"{proc.args!r} printed nothing within {timeout} s")
    line = proc.stdout.readline().strip()
    if not line:
        assert proc.stderr is not None
        raise AssertionError(f"{proc.args!r} exited with {proc.wait(1)}: {proc.stderr.read()}")
    return line


def stop(proc: subprocess.Popen[str], sig: signal.Signals = signal.SIGTERM) -> None:
    """Stop ``proc`` with ``sig`` if it still runs (killed after 3 s), then close its pipes."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=3)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


@contextlib.contextmanager
def running(*args: str, sig: signal.Signals = signal.SIGTERM) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Run ``bmsgw ARGS`` for the block; yield its first stdout line and the process; stop it with ``sig`` after."""
    proc = spawn(*args)
    try:
        yield first_line(proc), proc
    finally:
        stop(proc, sig)

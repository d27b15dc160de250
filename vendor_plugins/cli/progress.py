"""Progress of long operations (probe, bus scan, BLE scan) on a terminal — and only there.

:func:`ticker` rewrites one status line on stderr (``probing <plugin> (12 requests)… 3 s``) a few times a second while
an ``await`` runs, and erases it when the block ends. It shows only when stderr is a terminal and the command is
not writing ``--json``: piped or redirected output, logs and machine-readable output never contain it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import TextIO

#: Seconds between two updates of the status line.
INTERVAL = 0.25
#: Seconds an operation runs before its status line first appears (quick ones show none).
DELAY = 0.5


def wanted(stream: TextIO | None = None, *, enabled: bool = True) -> bool:
    """Whether progress goes to ``stream`` (default stderr): enabled and a terminal."""
    stream = stream if stream is not None else sys.stderr
    if not enabled:
        return False
    try:
        return stream.isatty()
    except AttributeError, ValueError:  # a closed or replaced stream
        return False


def status_line(label: str, elapsed: float) -> str:
    """The line shown: ``label… N s``."""
    return f"{label}… {elapsed:.0f} s"


@contextlib.contextmanager
def ticker(label: Callable[[], str], *, enabled: bool = True, stream: TextIO | None = None) -> Iterator[None]:
    """Show ``label()`` and the elapsed time on ``stream`` (stderr) while the block runs, if :func:`wanted`.

    Must be used inside a running event loop (the line is refreshed by a task).
    """
    out = stream if stream is not None else sys.stderr
    if not wanted(out, enabled=enabled):
        yield
        return
    started = time.monotonic()
    shown = False

    async def refresh() -> None:
        nonlocal shown
        await asyncio.sleep(DELAY)
        while True:
            out.write("\r\x1b[K" + status_line(label(), time.monotonic() - started))
            out.flush()
            shown = True
            await asyncio.sleep(INTERVAL)

    task = asyncio.get_running_loop().create_task(refresh())
    try:
        yield
    finally:
        task.cancel()
        if shown:
            out.write("\r\x1b[K")
            out.flush()

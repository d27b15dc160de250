"""What every ``bmsgw`` command shares: exit codes, one-line errors, the registry, running, stop signals.

Exit codes (INTERFACES.md §4): 0 ok · 2 usage error · 3 device error (unreachable, timeout, protocol error) ·
4 control refused or not confirmed. Every error is one line on stderr (``bmsgw: error: …``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import BmsError, ConfigError, ControlError
from ..registry import Registry, default_registry
from .format import printable

if TYPE_CHECKING:
    from ..transports.base import Link

PROG = "bmsgw"

EXIT_OK = 0
EXIT_FAILURE = 1  # an unexpected internal error (a bug): not part of the contract
EXIT_USAGE = 2
EXIT_DEVICE = 3
EXIT_CONTROL = 4
EXIT_INTERRUPTED = 130

_LOGGER = logging.getLogger(__name__)


class UsageError(Exception):
    """A command line argparse refused (reported as one line, exit 2)."""


def exit_code_for(err: BaseException) -> int:
    """The documented exit code for a library error: 2 configuration, 4 control, 3 everything else."""
    if isinstance(err, ConfigError):
        return EXIT_USAGE
    if isinstance(err, ControlError):
        return EXIT_CONTROL
    return EXIT_DEVICE


def error(message: str) -> None:
    """Print ``message`` as the one ``bmsgw: error:`` line on stderr (made printable: it may quote a device)."""
    print(f"{PROG}: error: {printable(message)}", file=sys.stderr, flush=True)


def registry() -> Registry:
    """The vendor plugins ``bmsgw`` knows (tests replace this function)."""
    return default_registry()


def run[T](coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine in a fresh event loop."""
    return asyncio.run(coro)


async def close_quietly(link: Link) -> None:
    """Close ``link``; a failure to close is only logged (the command's own outcome is what counts)."""
    try:
        await link.close()
    except (BmsError, OSError) as err:
        _LOGGER.debug("closing %s failed: %s", link.description, err)


@contextlib.contextmanager
def on_stop_signals(callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback`` on SIGINT or SIGTERM while the block runs (inside the running event loop)."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, callback)
        except NotImplementedError, RuntimeError, ValueError:  # not the main thread / no signal support
            continue
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


class StopRequest:
    """Ctrl-C / SIGTERM as a clean end of a repeating command: the running task is cancelled once.

    A second signal does nothing, so it cannot cancel the clean-up. The command catches the cancellation and asks
    :meth:`absorbed` whether it was this stop (then it ends normally) or a real cancellation (re-raise).
    """

    def __init__(self, task: asyncio.Task[Any]) -> None:
        """Stop ``task`` when asked."""
        self.task = task
        self.requested = False

    def __call__(self) -> None:
        """Stop the task (the first time only)."""
        if not self.requested:
            self.requested = True
            self.task.cancel()

    def absorbed(self) -> bool:
        """Whether the cancellation being handled was this stop (then it is withdrawn from the task)."""
        if not self.requested:
            return False
        self.task.uncancel()
        return True


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """A :class:`StopRequest` for the current task, triggered by SIGINT/SIGTERM while the block runs.

    It works even when SIGINT is ignored (a background job): the handlers are the event loop's own.
    """
    task = asyncio.current_task()
    assert task is not None
    stop = StopRequest(task)
    with on_stop_signals(stop):
        yield stop
